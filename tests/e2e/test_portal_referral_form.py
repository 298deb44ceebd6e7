"""Issue 15: the partner referral form as the GOV.UK Design System has it, walked in
headless Chromium by a partner school's SENCO: a draft saved and finished later, the
answers checked (and one changed) before sending, the error summary in the order of
the page, a warning (not a block) when the school already has an open referral for
the same pupil, and the confirmation page. axe-core on every page; screenshots in
var/screenshots/."""

from datetime import date, timedelta

import pytest
from selenium.webdriver.common.by import By

from services.cli.demo_people import DEMO_REFERRAL
from tests.e2e.portal_kit import (
    axe_check,
    browser,  # noqa: F401 - fixture
    demo_world,
    fill,
    fill_date,
    needs_browser,
    shows,
)
from tests.e2e.test_portal_journeys import (
    PARTNER_SENCO,
    api_as,
    click,
    sign_in_by_email,
    wait_mail,
)

pytestmark = needs_browser
CHECK = "Check your answers before sending your referral"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    # one sign-in by email link per test: more than the default 5 an address may ask for
    with demo_world(tmp_path_factory.mktemp("referral_form"),
                    env={"PORTAL_EMAIL_LINK_LIMIT": "50"}) as (platform, portal, trust, _):
        yield {"platform": platform, "portal": portal, "trust": trust, "state": {}}


def start_form(browser, world):  # noqa: F811
    sign_in_by_email(browser, world, PARTNER_SENCO)
    shows(browser, By.TAG_NAME, "h1", "Riverside Primary School")
    browser.find_element(By.LINK_TEXT, "New referral").click()
    shows(browser, By.TAG_NAME, "h1", "Make an outreach referral")


def fill_pupil(browser, first, last, born):  # noqa: F811
    fill(browser, "pupil-first_name", first)
    fill(browser, "pupil-last_name", last)
    fill_date(browser, "pupil-date_of_birth", born)


def fill_the_rest(browser):  # noqa: F811
    """Everything but the pupil, from the demo referral."""
    r = DEMO_REFERRAL
    area = browser.find_element(
        By.CSS_SELECTOR, "input[name=areas_of_need][value=communication_and_interaction]")
    if not area.is_selected():
        area.click()
    fill(browser, "concerns", r["concerns"])
    fill(browser, "support_so_far", r["support_so_far"])
    for i, cycle in enumerate(r["graduated_approach"]):
        fill(browser, f"graduated_approach-{i}-provision", cycle["provision"])
        fill_date(browser, f"graduated_approach-{i}-started_on",
                  date.fromisoformat(cycle["started_on"]))
        fill_date(browser, f"graduated_approach-{i}-reviewed_on",
                  date.fromisoformat(cycle["reviewed_on"]))
        fill(browser, f"graduated_approach-{i}-outcome", cycle["outcome"])
    fill(browser, "contact-name", "Sam Carter")
    fill(browser, "contact-email", PARTNER_SENCO)
    fill(browser, "contact-phone", "01632 960000")
    consent = browser.find_element(By.ID, "parental_consent-given")
    if not consent.is_selected():
        consent.click()
    fill_date(browser, "parental_consent-date", date.today() - timedelta(days=3))
    fill(browser, "parental_consent-given_by", "Parent")


def back_link(browser):  # noqa: F811
    return browser.find_element(By.CSS_SELECTOR, "a.govuk-back-link").get_attribute("href")


def test_a_draft_is_saved_and_resumed(world, browser):  # noqa: F811
    start_form(browser, world)
    assert back_link(browser).endswith("/referrals")
    fill_pupil(browser, "Dana", "Draftson", date(2017, 5, 4))
    fill(browser, "concerns", "Struggles with noise in the hall.")
    click(browser, "Save as draft")
    shows(browser, By.CSS_SELECTOR, ".govuk-notification-banner",
          "Your draft referral has been saved")
    axe_check(browser, "referral-draft-saved")
    row = browser.find_element(By.XPATH, "//tr[td[contains(., 'Dana Draftson')]]")
    assert "draft" in row.text.lower()
    row.find_element(By.PARTIAL_LINK_TEXT, "Continue draft").click()

    shows(browser, By.TAG_NAME, "h1", "Make an outreach referral")
    assert "saved as a draft" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_element(By.ID, "pupil-first_name").get_attribute("value") == "Dana"
    assert browser.find_element(By.ID, "pupil-date_of_birth-year").get_attribute("value") == "2017"
    assert browser.find_element(By.ID, "concerns").get_attribute("value") == \
        "Struggles with noise in the hall."
    assert back_link(browser).endswith("/referrals")
    axe_check(browser, "referral-draft-resumed")
    fill_the_rest(browser)
    click(browser, "Continue")
    shows(browser, By.TAG_NAME, "h1", CHECK)
    world["state"]["draft_check"] = browser.current_url


def test_check_answers_and_change(world, browser):  # noqa: F811
    start_form(browser, world)
    fill_pupil(browser, "Casey", "Chekov", date(2016, 9, 9))
    fill_the_rest(browser)
    click(browser, "Continue")
    shows(browser, By.TAG_NAME, "h1", CHECK)
    check_url = browser.current_url
    axe_check(browser, "referral-check-answers")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Chekov" in main and "9 September 2016" in main
    assert "Autistic Spectrum Disorder" not in main  # no need type chosen: "Not given"
    assert "Communication and interaction" in main  # areas by their names, not codes
    assert back_link(browser).endswith("/edit")

    row = browser.find_element(By.XPATH, "//div[dt[normalize-space()='Last name']]")
    row.find_element(By.PARTIAL_LINK_TEXT, "Change").click()
    shows(browser, By.TAG_NAME, "h1", "Make an outreach referral")
    assert browser.current_url.split("#")[1] == "pupil-last_name"
    assert back_link(browser) == check_url  # back to the answers, not the list
    assert browser.find_element(By.ID, "pupil-last_name").get_attribute("value") == "Chekov"
    axe_check(browser, "referral-change-answer")
    fill(browser, "pupil-last_name", "Chekhov")
    browser.find_element(By.CSS_SELECTOR, "input[name=need_types][value=ASD]").click()
    click(browser, "Continue")
    shows(browser, By.TAG_NAME, "h1", CHECK)
    assert browser.current_url == check_url
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Chekhov" in main and "Chekov\n" not in main
    assert "Autistic Spectrum Disorder" in main  # a need type by its full name


def test_error_summary_in_page_order(world, browser):  # noqa: F811
    start_form(browser, world)
    fill(browser, "pupil-last_name", "Ordway")  # first name left out
    fill(browser, "graduated_approach-0-provision", "Now-and-next board")
    fill_date(browser, "graduated_approach-0-started_on", date(2026, 1, 12))
    for part, value in (("day", "31"), ("month", "2"), ("year", "2026")):  # no such day
        fill(browser, f"graduated_approach-0-reviewed_on-{part}", value)
    fill(browser, "contact-email", "not an address")
    click(browser, "Continue")
    shows(browser, By.CSS_SELECTOR, ".govuk-error-summary", "There is a problem")
    assert browser.title.startswith("Error: ")
    axe_check(browser, "referral-error-summary")
    links = browser.find_elements(By.CSS_SELECTOR, ".govuk-error-summary__list a")
    messages = [a.text for a in links]
    assert "Enter the date the first review happened" in messages
    review = links[messages.index("Enter the date the first review happened")]
    assert review.get_attribute("href").endswith("#graduated_approach-0-reviewed_on-day")
    assert "Enter the pupil's first name" == messages[0]
    targets = [a.get_attribute("href").split("#")[1] for a in links]
    order = browser.execute_script(
        "return Array.from(document.querySelectorAll('main form [id]')).map(e => e.id)")
    positions = [order.index(t) for t in targets]  # every link lands on a field of the form
    assert positions == sorted(positions), list(zip(targets, positions, strict=True))
    # each message stands by its field, too
    assert "Enter the date the first review happened" in browser.find_element(
        By.ID, "graduated_approach-0-reviewed_on-error").text
    review.click()  # GOV.UK Frontend's error summary moves focus to the day input
    assert browser.switch_to.active_element.get_attribute("id") == \
        "graduated_approach-0-reviewed_on-day"
    # and what was typed is kept
    assert browser.find_element(By.ID, "pupil-last_name").get_attribute("value") == "Ordway"
    # put right, the same form goes on to the answers to check
    fill(browser, "pupil-first_name", "Olly")
    fill_date(browser, "pupil-date_of_birth", date(2016, 6, 6))
    fill_the_rest(browser)
    click(browser, "Continue")
    shows(browser, By.TAG_NAME, "h1", CHECK)
    assert "Ordway" in browser.find_element(By.TAG_NAME, "main").text


def test_duplicate_warning(world, browser):  # noqa: F811
    born = date(2015, 11, 20)
    first = {**DEMO_REFERRAL, "pupil": {"first_name": "Morgan", "last_name": "Twice",
                                        "date_of_birth": born.isoformat()}}
    sent = api_as(world, PARTNER_SENCO, "100001", "partner_referrer", "POST", "referrals",
                  "/api/v1/referrals", first)
    start_form(browser, world)
    fill_pupil(browser, "morgan", "Twice ", born)  # the same child, typed differently
    fill_the_rest(browser)
    click(browser, "Continue")
    shows(browser, By.TAG_NAME, "h1", CHECK)
    warning = browser.find_element(By.CSS_SELECTOR, ".govuk-warning-text")
    assert "already has an open referral for this pupil" in warning.text
    assert sent["reference"] in warning.text
    axe_check(browser, "referral-duplicate-warning")
    click(browser, "Submit referral")  # a warning, not a block
    shows(browser, By.CSS_SELECTOR, ".govuk-panel", "Referral submitted")

    # another pupil at the school: no warning
    browser.find_element(By.LINK_TEXT, "New referral").click()
    fill_pupil(browser, "Morgan", "Once", born)
    fill_the_rest(browser)
    click(browser, "Continue")
    shows(browser, By.TAG_NAME, "h1", CHECK)
    assert not browser.find_elements(By.CSS_SELECTOR, ".govuk-warning-text")


def test_confirmation_page(world, browser):  # noqa: F811
    platform = world["platform"]
    start_form(browser, world)
    fill_pupil(browser, "Jamie", "Sent", date(2016, 2, 2))
    fill_the_rest(browser)
    click(browser, "Continue")
    shows(browser, By.TAG_NAME, "h1", CHECK)
    click(browser, "Submit referral")
    shows(browser, By.CSS_SELECTOR, ".govuk-panel", "Referral submitted")
    reference = browser.find_element(By.ID, "reference").text
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "What happens next" in main
    assert f"We have sent a confirmation email to {PARTNER_SENCO}" in main
    assert browser.find_element(By.ID, "status").text == "submitted"
    axe_check(browser, "referral-confirmation")
    # and the email it promises arrives
    message = wait_mail(platform, PARTNER_SENCO, reference)
    assert "We have received your outreach referral" in str(message["Subject"])
    # sending the same draft again is refused as already sent, not a second referral
    browser.back()
    shows(browser, By.TAG_NAME, "h1", CHECK)  # the browser's copy of the page
    click(browser, "Submit referral")
    shows(browser, By.TAG_NAME, "h1", "This referral has already been sent")
