"""The web form end to end in headless Chromium: a SENCO signs in with the one-time
link from their email, fills and submits a referral (first with mistakes, to see
the error summary), answers a request for more information and follows the
referral to closure while the trust works it through the API; notify's emails
at each step are read from the SMTP server.

Needs Debian's `chromium` and `chromium-driver`, the Python package `selenium`, and
`npm ci --prefix services/referrals/web` (GOV.UK Frontend)."""

import hashlib
import os
import re
import shutil
from datetime import UTC, date, datetime

import pytest

from services.referrals import domain, web
from tests.conftest import bearer, wait_until

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# `make test` installs them; in CI (CI=true) a missing one is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER and web.assets_ready()) and not os.environ.get("CI"),
    reason="needs Debian chromium + chromium-driver and npm ci --prefix services/referrals/web")

SENCO = "senco@riverside.example"
REFERRER = "jo.smith@riverside.example"
PRACTITIONER = {"sub": "pat@trust.example", "name": "Pat Lee", "email": "pat@trust.example"}


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def shows(browser, by, what, text):
    """Wait until the element's text contains `text` (the page may still be navigating)."""
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: text in d.find_element(by, what).text)


def fill(browser, field_id, value):
    element = browser.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


def fill_date(browser, name, day):
    for part, value in (("day", day.day), ("month", day.month), ("year", day.year)):
        fill(browser, f"{name}-{part}", str(value))


def test_a_school_refers_through_the_web_form(platform_factory, http, browser):
    platform = platform_factory("pupils", "referrals", "notify")
    trust = platform.senctl("org", "onboard", "--name", "Demo Trust", "--kind", "trust")
    school = platform.senctl("org", "onboard", "--name", "Riverside Primary School",
                             "--kind", "partner_school", "--urn", "100001",
                             "--laestab", "2021001", "--contact-email", SENCO)

    def tok(sub, org, roles):
        return bearer(platform.senctl("token", "--sub", sub, "--org", org, "--roles", roles))

    lead = tok("lee@trust.example", trust, "outreach_lead")
    admin = tok("admin@trust.example", trust, "trust_admin")
    pat = tok(PRACTITIONER["sub"], trust, "outreach")
    api = platform.url("referrals") + "/api/v1"
    form = platform.url("referrals") + web.PREFIX
    year, term = domain.term_of(domain.london_date(datetime.now(UTC)))
    assert http.post(api + "/agreements", headers=admin, json={
        "school_org_id": school, "academic_year": year, "term": term,
        "hours_bought": 6}).status_code == 201

    seen = set()

    def key(message):
        return hashlib.sha256(message.as_bytes()).hexdigest()

    def mark():
        seen.update(key(m) for m in platform.mailbox.messages())

    def mail_to(address, subject_part, step):
        def arrived():
            return [m for m in platform.mailbox.messages() if key(m) not in seen
                    and m["To"].addresses[0].addr_spec == address
                    and subject_part in m["Subject"]]
        found = wait_until(arrived, timeout=20)
        assert found, (step, [m["Subject"] for m in platform.mailbox.messages()])
        return found[0]

    # the school's contact address reaches referrals through organisation.onboarded
    def referrals_knows_school():
        resp = http.post(form + "/sign-in", data={"email": SENCO})
        return resp.status_code == 200 and any(
            m["To"].addresses[0].addr_spec == SENCO for m in platform.mailbox.messages())
    # -- sign in with a one-time link -----------------------------------------------
    browser.get(form)
    assert browser.current_url.endswith("/sign-in")
    fill(browser, "email", "not-an-email")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    shows(browser, By.CSS_SELECTOR, ".govuk-error-summary", "correct format")
    assert wait_until(referrals_knows_school, timeout=20)  # the first link (via HTTP)
    mark()
    fill(browser, "email", SENCO.upper())
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").send_keys(Keys.ENTER)
    shows(browser, By.TAG_NAME, "h1", "Check your email")
    email = mail_to(SENCO, "sign-in link", "sign-in")
    link = re.search(r"https?://\S+/sign-in/(\S+)", email.get_content()).group(1)
    browser.get(f"{form}/sign-in/{link}")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    shows(browser, By.TAG_NAME, "h1", "Your school's outreach referrals")
    # the link works once
    assert http.post(f"{form}/sign-in/{link}", allow_redirects=False).status_code == 400

    # -- the form: every field labelled; mistakes shown in an error summary ------------
    browser.find_element(By.LINK_TEXT, "Make a new referral").click()
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]"
        ".filter(e => e.labels.length === 0).map(e => e.name)")
    assert unlabelled == []
    fill(browser, "pupil-first_name", "Sam")
    fill(browser, "contact-email", "jo at riverside")
    browser.find_element(By.XPATH, "//button[text()='Submit referral']").click()
    summary = browser.find_element(By.CSS_SELECTOR, ".govuk-error-summary")
    assert browser.switch_to.active_element == summary  # GOV.UK Frontend focuses it
    links = {a.get_attribute("href").split("#")[1]
             for a in summary.find_elements(By.TAG_NAME, "a")}
    assert {"pupil-last_name", "contact-email", "areas_of_need",
            "parental_consent-given"} <= links
    assert browser.find_element(By.ID, "pupil-first_name").get_attribute("value") == "Sam"
    summary.find_element(By.CSS_SELECTOR, "a[href='#pupil-last_name']").click()
    assert browser.switch_to.active_element.get_attribute("id") == "pupil-last_name"

    fill(browser, "pupil-last_name", "Taylor")
    fill_date(browser, "pupil-date_of_birth", date(2016, 3, 1))
    fill(browser, "pupil-upn", "B801200005001")
    browser.find_element(By.ID, "areas_of_need").click()
    fill(browser, "concerns", "Finds transitions between lessons very hard.")
    fill(browser, "support_so_far", "Visual timetable and a quiet space.")
    for i, (start, review) in enumerate([(date(2026, 9, 7), date(2026, 10, 5)),
                                         (date(2026, 10, 6), date(2026, 11, 2))]):
        fill(browser, f"graduated_approach-{i}-provision", f"Provision {i + 1}")
        fill_date(browser, f"graduated_approach-{i}-started_on", start)
        fill_date(browser, f"graduated_approach-{i}-reviewed_on", review)
        fill(browser, f"graduated_approach-{i}-outcome", "Some progress")
    fill(browser, "contact-name", "Jo Smith")
    fill(browser, "contact-email", REFERRER)
    fill(browser, "contact-phone", "01632 960000")
    browser.find_element(By.ID, "parental_consent-given").send_keys(Keys.SPACE)  # keyboard
    fill_date(browser, "parental_consent-date", date(2026, 11, 1))
    fill(browser, "parental_consent-given_by", "Parent")
    mark()
    browser.find_element(By.XPATH, "//button[text()='Submit referral']").send_keys(Keys.ENTER)
    reference = browser.find_element(By.ID, "reference").text
    assert reference.startswith("REF-")
    mail_to(REFERRER, reference, "submitted")
    mail_to("outreach@trust.example", reference, "submitted")
    rid = browser.current_url.split("/r/")[1].split("?")[0]

    # -- the trust asks for more information; the school answers in the form ----------
    mark()
    assert http.post(f"{api}/referrals/{rid}/request-info", headers=lead,
                     json={"question": "Has an educational psychologist been involved?"}
                     ).status_code == 200
    mail_to(REFERRER, reference, "info_requested")
    browser.refresh()
    shows(browser, By.ID, "question", "psychologist")
    browser.find_element(By.XPATH, "//button[text()='Send answer']").click()
    shows(browser, By.CSS_SELECTOR, ".govuk-error-summary", "Answer the question")
    fill(browser, "info_answer", "Not yet; the request is with the LA.")
    mark()
    browser.find_element(By.XPATH, "//button[text()='Send answer']").click()
    shows(browser, By.ID, "status", "submitted")
    mail_to("outreach@trust.example", reference, "resubmitted")

    # -- triage to closure through the API, an email at each step ---------------------
    steps = [("accept", lead, {}, [REFERRER]),
             ("allocate", lead, {"practitioner": PRACTITIONER}, [PRACTITIONER["email"]]),
             ("visits", pat, {"visit_date": date.today().isoformat(), "minutes": 90,
                              "seen": ["pupil", "senco"], "observations": "Two lessons.",
                              "recommendations": "Now-and-next board."}, [REFERRER]),
             ("report", pat, {"summary": "Needs predictable transitions.",
                              "recommendations": [{"text": "Autism awareness training",
                                                   "course_id": "course-7"}]}, [REFERRER]),
             ("close", lead, {"outcome": "needs_met_in_school"}, [REFERRER])]
    for action, who, body, recipients in steps:
        mark()
        resp = http.post(f"{api}/referrals/{rid}/{action}", headers=who, json=body)
        assert resp.status_code in (200, 201), resp.text
        for address in recipients:
            mail_to(address, reference, action)

    browser.refresh()
    shows(browser, By.ID, "status", "closed")
    assert "Autism awareness training" in browser.page_source
    browser.get(form)
    assert reference in browser.find_element(By.TAG_NAME, "table").text
    # without the session cookie the form sends you to sign in
    assert http.get(f"{form}/r/{rid}", allow_redirects=False).status_code == 303
    assert platform.senctl("deadletters", "list", "referrals", "notify") == ""
