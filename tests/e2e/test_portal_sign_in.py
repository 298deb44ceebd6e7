"""The portal's sign-in page in headless Chromium against a real OpenID provider
(npm oidc-provider): axe-core on every page, the GOV.UK error summary, the email
form done with the keyboard alone, the provider refusing a wrong password and a
first sign-in by someone not in the staff directory."""

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.e2e.portal_kit import (
    axe_check,
    browser,  # noqa: F401 - fixture
    frontdoor_ready,
    needs_browser,
    shows,
    start_portal,
)

pytestmark = needs_browser
STRANGER = {"email": "new.starter@demo-trust.example", "name": "New Starter", "password": "pw-1"}


def test_sign_in_page_keyboard_errors_and_the_openid_provider(platform_factory, browser):  # noqa: F811
    platform = platform_factory("pupils", "notify")
    trust = platform.senctl("org", "onboard", "--name", "Demo Trust", "--kind", "trust")
    portal = start_portal(platform, [STRANGER], trust)

    # headers every page carries
    resp = requests.get(portal + "/sign-in", timeout=10)
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert "HttpOnly" in resp.headers["Set-Cookie"]
    # a POST without the CSRF token does nothing
    assert requests.post(portal + "/sign-in/email", data={"email": "a@b.example"},
                         allow_redirects=False, timeout=10).status_code == 303
    # a page that needs sign-in sends you to sign in; unknown pages are GOV.UK 404 pages
    assert requests.get(portal + "/referrals", allow_redirects=False,
                        timeout=10).headers["Location"] == "/sign-in"
    missing = requests.get(portal + "/no-such-page", timeout=10)
    assert missing.status_code == 404 and "Page not found" in missing.text

    browser.get(portal + "/")
    assert browser.current_url.endswith("/sign-in")
    header = browser.find_element(By.CSS_SELECTOR, ".govuk-generic-header")
    assert "Demo Special Schools Trust" in header.text
    axe_check(browser, "sign-in")

    # -- the keyboard alone: tab to the email field, mistakes, then a good address ------
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert "govuk-skip-link" in browser.switch_to.active_element.get_attribute("class")
    for _ in range(30):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.get_attribute("id") == "email":
            break
    assert browser.switch_to.active_element.get_attribute("id") == "email"
    browser.switch_to.active_element.send_keys("not-an-email", Keys.ENTER)
    shows(browser, By.CSS_SELECTOR, ".govuk-error-summary", "There is a problem")
    summary = browser.find_element(By.CSS_SELECTOR, ".govuk-error-summary")
    assert browser.switch_to.active_element == summary  # GOV.UK Frontend focuses it
    assert browser.title.startswith("Error: ")
    link = summary.find_element(By.CSS_SELECTOR, "a[href='#email']")
    assert link.text == "Enter an email address in the correct format, like name@example.com"
    message = browser.find_element(By.ID, "email-error").get_attribute("textContent")
    assert " ".join(message.split()).startswith("Error: Enter an email address")
    axe_check(browser, "sign-in-error")
    link.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "email"
    field = browser.switch_to.active_element
    field.clear()
    field.send_keys("someone@nowhere.example", Keys.ENTER)
    shows(browser, By.TAG_NAME, "h1", "Check your email")
    axe_check(browser, "check-your-email")

    # -- staff: the trust's OpenID provider --------------------------------------------
    browser.get(portal + "/sign-in")
    browser.find_element(By.XPATH, "//button[text()='Sign in with your work account']").click()
    browser.find_element(By.NAME, "login").send_keys(STRANGER["email"])
    browser.find_element(By.NAME, "password").send_keys("wrong", Keys.ENTER)
    assert browser.find_elements(By.NAME, "password")  # the provider asks again
    assert frontdoor_ready(platform), "pupils' POST /api/v1/sign-in/lookup is not served"
    browser.find_element(By.NAME, "login").send_keys(STRANGER["email"])
    browser.find_element(By.NAME, "password").send_keys(STRANGER["password"], Keys.ENTER)
    shows(browser, By.TAG_NAME, "h1", "Ask your trust admin for access")
    axe_check(browser, "ask-your-trust-admin")
    assert platform.senctl("deadletters", "list", "pupils", "notify") == ""
