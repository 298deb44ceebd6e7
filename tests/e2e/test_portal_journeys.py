"""The issue's journeys, walked in headless Chromium through the portal alone: the
five services, the portal, the local OpenID provider (npm oidc-provider) and an
SMTP catcher as processes, seeded by `senctl demo`. One platform for the module;
each person gets a fresh browser. axe-core runs on every page visited (no serious
or critical violation) and each kind of page is screenshotted to var/screenshots/.

  1. a partner school's SENCO signs in with the link from their email and submits
     a referral;
  2. the outreach lead signs in with OpenID Connect, accepts it at triage,
     allocates, logs a visit, issues the report and closes it;
  3. a trust school's SENCO registers a pupil, publishes a passport, plans
     provision with a target and reviews it;
  4. a parent opens the link in the passport email and reads the passport.
"""

import re
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from stdnum.gb.upn import calc_check_digit

from services.cli.demo_people import DEMO_PASSWORD, DEMO_REFERRAL
from services.contracts import links
from tests.e2e.portal_kit import (
    axe_check,
    browser,  # noqa: F401 - fixture
    demo_world,
    fill,
    fill_date,
    needs_browser,
    shows,
)

pytestmark = needs_browser
PARTNER_SENCO = "senco@riverside.example"
OUTREACH_LEAD = "outreach.lead@demo-trust.example"
TRUST_SENCO = "senco@oakfield.example"
PARENT = "parent.taylor@example.com"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The whole platform once for the module, seeded with the demo trust."""
    with demo_world(tmp_path_factory.mktemp("journeys")) as (platform, portal, trust, seeded):
        orgs = {line.split("\t")[3]: line.split("\t")[1] for line in seeded.splitlines()
                if line.count("\t") == 3}
        yield {"platform": platform, "portal": portal, "trust": trust,
               "state": {"oakfield": orgs["Oakfield Special School"]}}


def mails_to(platform, address, subject_part=None):
    """The messages to an address, oldest first (by arrival, not by file name)."""
    out = []
    files = sorted(platform.mailbox.dir.glob("*.eml"), key=lambda f: f.stat().st_mtime_ns)
    for m in (message_from_bytes(f.read_bytes(), policy=policy.default) for f in files):
        if address in str(m["To"]) and (subject_part is None or subject_part in str(m["Subject"])):
            out.append(m)
    return out


def wait_mail(platform, address, subject_part, already=0, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = mails_to(platform, address, subject_part)
        if len(found) > already:
            return found[-1]
        time.sleep(0.2)
    raise AssertionError(f"no mail '{subject_part}' arrived; have: "
                         f"{[str(m['Subject']) for m in platform.mailbox.messages()]}")


def wait_for_body(platform, address, text, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in mails_to(platform, address):
            if text in body_of(m):
                return m
        time.sleep(0.2)
    raise AssertionError(f"no mail to the parent saying {text!r}")


def body_of(message):
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def link_in(message, pattern):
    found = re.search(pattern, body_of(message))
    assert found, body_of(message)
    return found.group(0)


def sign_in_by_email(browser, world, email, start=None):  # noqa: F811
    """Ask for a link on the sign-in page, read it from the SMTP catcher, follow it."""
    platform, portal = world["platform"], world["portal"]
    before = len(mails_to(platform, email, "sign-in link"))
    browser.get(start or portal + "/sign-in")
    assert browser.current_url.endswith("/sign-in")
    fill(browser, "email", email)
    browser.find_element(By.XPATH, "//button[text()='Email me a sign-in link']").click()
    shows(browser, By.TAG_NAME, "h1", "Check your email")
    message = wait_mail(platform, email, "sign-in link", already=before)
    url = link_in(message, re.escape(portal) + r"/sign-in/link/\S+")
    browser.get(url)
    shows(browser, By.TAG_NAME, "h1", "Sign in")
    axe_check(browser, "sign-in-link")
    browser.find_element(By.XPATH, "//button[text()='Continue']").click()


def sign_in_by_oidc(browser, world, email):  # noqa: F811
    browser.get(world["portal"] + "/sign-in")
    browser.find_element(By.XPATH, "//button[text()='Sign in with your work account']").click()
    browser.find_element(By.NAME, "login").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.NAME, "password").submit()
    shows(browser, By.TAG_NAME, "body", "Signed in as")


def click(browser, text):  # noqa: F811
    browser.find_element(By.XPATH, f"//button[normalize-space()='{text}']").click()


def done(browser, text):  # noqa: F811
    shows(browser, By.CSS_SELECTOR, ".govuk-notification-banner", text)


def test_1_partner_senco_signs_in_by_email_and_submits_a_referral(world, browser):  # noqa: F811
    sign_in_by_email(browser, world, PARTNER_SENCO)
    shows(browser, By.TAG_NAME, "h1", "Riverside Primary School")
    axe_check(browser, "home-partner")
    nav = browser.find_element(By.TAG_NAME, "nav").text
    assert "New referral" in nav and "Triage" not in nav and "Pupils" not in nav

    browser.find_element(By.LINK_TEXT, "New referral").click()
    shows(browser, By.TAG_NAME, "h1", "Make an outreach referral")
    axe_check(browser, "referral-new")
    click(browser, "Continue")  # empty: the GOV.UK error summary
    shows(browser, By.CSS_SELECTOR, ".govuk-error-summary", "There is a problem")
    assert browser.title.startswith("Error: ")
    axe_check(browser, "referral-new-errors")

    r = DEMO_REFERRAL
    fill(browser, "pupil-first_name", r["pupil"]["first_name"])
    fill(browser, "pupil-last_name", r["pupil"]["last_name"])
    fill_date(browser, "pupil-date_of_birth", date.fromisoformat(r["pupil"]["date_of_birth"]))
    browser.find_element(By.CSS_SELECTOR, "input[name=areas_of_need][value=communication_and_interaction]").click()
    fill(browser, "concerns", r["concerns"])
    fill(browser, "support_so_far", r["support_so_far"])
    for i, cycle in enumerate(r["graduated_approach"]):
        fill(browser, f"graduated_approach-{i}-provision", cycle["provision"])
        fill_date(browser, f"graduated_approach-{i}-started_on", date.fromisoformat(cycle["started_on"]))
        fill_date(browser, f"graduated_approach-{i}-reviewed_on", date.fromisoformat(cycle["reviewed_on"]))
        fill(browser, f"graduated_approach-{i}-outcome", cycle["outcome"])
    fill(browser, "contact-name", "Sam Carter")
    fill(browser, "contact-email", PARTNER_SENCO)
    fill(browser, "contact-phone", "01632 960000")
    browser.find_element(By.ID, "parental_consent-given").click()
    fill_date(browser, "parental_consent-date", date.today() - timedelta(days=3))
    fill(browser, "parental_consent-given_by", "Parent")
    click(browser, "Continue")  # the answers to check (issue 15), then send
    shows(browser, By.TAG_NAME, "h1", "Check your answers before sending your referral")
    click(browser, "Submit referral")
    shows(browser, By.CSS_SELECTOR, ".govuk-panel", "Referral submitted")
    reference = browser.find_element(By.ID, "reference").text
    assert reference
    assert browser.find_element(By.ID, "status").text == "submitted"
    assert not browser.find_elements(By.ID, "actions")  # a school sees no triage buttons
    axe_check(browser, "referral-submitted")
    world["state"]["referral_url"] = browser.current_url.split("?")[0]
    world["state"]["reference"] = reference

    browser.find_element(By.LINK_TEXT, "Your referrals").click()
    shows(browser, By.TAG_NAME, "table", reference)
    axe_check(browser, "referrals-partner")


def test_2_outreach_triages_allocates_visits_reports_and_closes(world, browser):  # noqa: F811
    state = world["state"]
    if "referral_url" not in state:
        pytest.skip("needs the referral of journey 1")
    # the outreach inbox's alert links to the referral's page in the portal
    alert = wait_mail(world["platform"], "outreach@trust.example", state["reference"])
    assert state["referral_url"] in body_of(alert)

    sign_in_by_oidc(browser, world, OUTREACH_LEAD)
    axe_check(browser, "home-outreach")
    browser.find_element(By.LINK_TEXT, "Triage").click()
    shows(browser, By.TAG_NAME, "main", state["reference"])
    axe_check(browser, "triage")
    browser.find_element(By.LINK_TEXT, state["reference"]).click()
    shows(browser, By.ID, "criteria", "Met")
    assert "Not met" not in browser.find_element(By.ID, "criteria").text
    axe_check(browser, "referral-outreach")

    click(browser, "Accept referral")
    done(browser, "Referral accepted")
    assert browser.find_element(By.ID, "status").text == "accepted"
    click(browser, "Allocate")  # prefilled with the person signed in
    done(browser, "Practitioner allocated")

    click(browser, "Log visit")  # empty: errors as the Design System writes them
    shows(browser, By.CSS_SELECTOR, ".govuk-error-summary", "Enter the date of the visit")
    axe_check(browser, "referral-visit-errors")
    fill_date(browser, "visit_date", date.today())
    fill(browser, "minutes", "90")
    browser.find_element(By.CSS_SELECTOR, "input[name=seen][value=pupil]").click()
    fill(browser, "observations", "Calm in the morning; distressed at the lunch transition.")
    fill(browser, "visit_recommendations", "Now-and-next board at lunch; a quiet exit route.")
    click(browser, "Log visit")
    done(browser, "Visit logged")

    fill(browser, "summary", "Transitions are the main barrier; advice given to staff.")
    fill(browser, "report_recommendations", "Social stories before changes\nQuiet space at lunch")
    click(browser, "Issue report")
    done(browser, "Report issued")
    assert "Transitions are the main barrier" in browser.find_element(By.ID, "report").text

    Select(browser.find_element(By.ID, "outcome")).select_by_value("needs_met_in_school")
    click(browser, "Close referral")
    done(browser, "Referral closed")
    assert browser.find_element(By.ID, "status").text == "closed"
    assert not browser.find_elements(By.ID, "actions")
    axe_check(browser, "referral-closed")

    # a referral that misses a criterion (one cycle of two): accepted by panel override,
    # which needs its reason; the reason is kept on the referral
    short = {**DEMO_REFERRAL, "graduated_approach": DEMO_REFERRAL["graduated_approach"][:1]}
    other = api_as(world, PARTNER_SENCO, "100001", "partner_referrer", "POST", "referrals",
                   "/api/v1/referrals", short)
    browser.get(world["portal"] + links.path("referral", referral_id=other["id"]))
    assert "Not met" in browser.find_element(By.ID, "criteria").text
    click(browser, "Accept referral")
    shows(browser, By.CSS_SELECTOR, ".govuk-error-summary",
          "Enter the reason the panel accepted a referral that does not meet the criteria")
    axe_check(browser, "referral-override-error")
    fill(browser, "override_reason", "Risk of exclusion this term: the panel agreed to see him.")
    click(browser, "Accept referral")
    done(browser, "Referral accepted")
    assert browser.find_element(By.ID, "override-reason").text == \
        "Risk of exclusion this term: the panel agreed to see him."


def test_3_trust_senco_registers_a_pupil_and_plans_provision(world, browser):  # noqa: F811
    sign_in_by_oidc(browser, world, TRUST_SENCO)
    shows(browser, By.TAG_NAME, "h1", "Oakfield Special School")
    browser.find_element(By.LINK_TEXT, "Pupils").click()
    shows(browser, By.TAG_NAME, "h1", "Pupils")
    axe_check(browser, "pupils")

    browser.get(world["portal"] + "/pupils/new")
    axe_check(browser, "pupil-new")
    body = "8017010" + "26" + f"{500 + int(time.time()) % 500:03d}"  # demo pupils use 001-004
    fill(browser, "forename", "Robin")
    fill(browser, "legal_surname", "Ashby")
    fill_date(browser, "date_of_birth", date(2016, 10, 4))
    fill(browser, "upn", calc_check_digit(body) + body)
    fill(browser, "year_group", "5")
    Select(browser.find_element(By.ID, "sen_status")).select_by_value("K")
    Select(browser.find_element(By.ID, "primary_need")).select_by_value("SLCN")
    click(browser, "Register pupil")
    done(browser, "Pupil registered")
    assert browser.find_element(By.ID, "pupil-name").text == "Robin Ashby"
    world["state"]["pupil_url"] = browser.current_url.split("?")[0]
    axe_check(browser, "pupil")

    browser.find_element(By.XPATH, "//span[text()='Write a new passport version']").click()
    for key in ("about_me", "strengths", "needs", "what_helps", "what_does_not_help", "pupil_voice"):
        fill(browser, key, f"Robin's {key.replace('_', ' ')}.")
    click(browser, "Save draft")
    done(browser, "Passport draft saved")
    click(browser, "Publish version 1")
    done(browser, "Passport published")
    assert "published" in browser.find_element(By.ID, "passport-versions").text

    # the provision service learns of the pupil from pupils' events
    browser.find_element(By.XPATH, "//span[text()='Add a target']").click()
    fill(browser, "description", "Ask for help using a help card")
    Select(browser.find_element(By.ID, "area_of_need")).select_by_value("communication_and_interaction")
    fill(browser, "baseline", "Waits without asking")
    fill(browser, "expected_outcome", "Uses the help card in 4 of 5 lessons")
    fill(browser, "measure", "Teacher tally each lesson")
    fill_date(browser, "due_date", date.today() + timedelta(days=60))
    for _ in range(20):
        click(browser, "Add target")
        if browser.find_elements(By.CSS_SELECTOR, ".govuk-notification-banner"):
            break
        time.sleep(0.5)  # pupil.registered not yet projected: the form comes back
    done(browser, "Target added")
    assert "help card" in browser.find_element(By.ID, "targets").text

    browser.find_element(By.XPATH, "//span[text()='Start a cycle']").click()
    fill_date(browser, "started_on", date.today() - timedelta(days=30))
    fill_date(browser, "review_date", date.today() + timedelta(days=5))
    fill(browser, "plan", "Help card on the desk; adults model asking.")
    click(browser, "Start cycle")
    done(browser, "Cycle started")

    browser.get(world["portal"] + "/reviews-due")
    shows(browser, By.TAG_NAME, "main", "Robin Ashby")
    axe_check(browser, "reviews-due")
    browser.find_element(By.LINK_TEXT, "Robin Ashby").click()

    fill_date(browser, "reviewed_on", date.today())
    fill(browser, "note", "Uses the card most lessons; keep going.")
    target_select = browser.find_element(By.CSS_SELECTOR, "select[id^=progress-]")
    Select(target_select).select_by_visible_text("Met")
    click(browser, "Record review")
    done(browser, "Cycle reviewed")
    assert "Review: Uses the card" in browser.find_element(By.TAG_NAME, "main").text
    assert "(due " in browser.find_element(By.ID, "targets").text
    assert browser.find_element(By.ID, "targets").text.endswith(": met")  # the named level
    axe_check(browser, "pupil-reviewed")

    # a new passport version for Sam Taylor, whose parent journey 4 follows
    browser.get(world["portal"] + "/pupils")
    browser.find_element(By.LINK_TEXT, "Sam Taylor").click()
    browser.find_element(By.XPATH, "//span[text()='Write a new passport version']").click()
    for key in ("about_me", "strengths", "needs", "what_helps", "what_does_not_help", "pupil_voice"):
        fill(browser, key, f"Sam's {key.replace('_', ' ')}, this term.")
    click(browser, "Save draft")
    done(browser, "Passport draft saved")
    click(browser, "Publish version 2")
    done(browser, "Passport published")


def test_4_parent_opens_the_passport_email_and_reads_the_passport(world, browser):  # noqa: F811
    platform = world["platform"]
    # journey 3 published version 2 of Sam Taylor's passport: notify told his parent
    mail = wait_for_body(platform, PARENT, "version 2")
    link = link_in(mail, re.escape(world["portal"]) + r"/pupils/[^/\s]+/passport")
    browser.get(link)  # not signed in yet: the sign-in page, then back to the passport
    sign_in_by_email(browser, world, PARENT, start=link)
    shows(browser, By.TAG_NAME, "h1", "Pupil passport")
    assert browser.current_url == link
    assert "Sam" in browser.find_element(By.CSS_SELECTOR, ".govuk-caption-l").text
    assert browser.find_element(By.ID, "passport-about_me").text == "Sam's about me, this term."
    axe_check(browser, "passport-parent")
    nav = browser.find_element(By.TAG_NAME, "nav").text
    assert "Message preferences" in nav and "Pupils" not in nav and "Triage" not in nav

    browser.get(world["portal"] + "/")
    browser.find_element(By.PARTIAL_LINK_TEXT, "EHC plan dates").click()
    shows(browser, By.TAG_NAME, "h1", "EHC plan")
    # Sam (the demo's child of this parent) has no EHC plan: the page says so
    assert "There is no EHC plan on record" in browser.find_element(By.TAG_NAME, "main").text
    axe_check(browser, "ehc-plan-parent")
    browser.find_element(By.LINK_TEXT, "Message preferences").click()
    axe_check(browser, "preferences")
    fill(browser, "quiet_from", "21:00")
    fill(browser, "quiet_to", "07:00")
    browser.find_element(By.CSS_SELECTOR, "input[name=opt_outs][value=cpd]").click()
    click(browser, "Save preferences")
    done(browser, "Preferences saved")  # notify keeps them for the parent's own address
    assert browser.find_element(By.ID, "quiet_from").get_attribute("value") == "21:00"
    assert browser.find_element(By.CSS_SELECTOR, "input[name=opt_outs][value=cpd]").is_selected()
    # a parent cannot open a pupil's staff page
    browser.get(link.rsplit("/passport", 1)[0])
    shows(browser, By.TAG_NAME, "h1", "You cannot see this page")
    assert platform.senctl("deadletters", "list") == ""


def api_as(world, sub, org, roles, method, service, path, body=None):
    """Test set-up through a service's API, with a token for that person."""
    platform = world["platform"]
    token = platform.senctl("token", "--sub", sub, "--org", org, "--roles", roles)
    resp = requests.request(method, platform.url(service) + path, json=body, timeout=15,
                            headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code < 300, (path, resp.status_code, resp.text[:500])
    return resp.json() if resp.content else None


def opens(browser, url, heading=None):  # noqa: F811
    """A page for its reader: a GOV.UK page with a heading, never an error page."""
    browser.get(url)
    h1 = browser.find_element(By.TAG_NAME, "h1").text
    assert h1 not in ("Page not found", "You cannot see this page",
                      "Sorry, there is a problem with the service"), (url, h1)
    if heading:
        assert heading in h1, (url, h1)
    return h1


def test_5_every_page_an_email_links_to_opens_for_its_reader(world, browser):  # noqa: F811
    """Each path in links.py, opened by the person its emails go to; the CPD pages with a
    course the trust's CPD lead set up (through the cpd API)."""
    state, portal = world["state"], world["portal"]
    if "pupil_url" not in state or "referral_url" not in state:
        pytest.skip("needs journeys 1 and 3")
    trust = world["trust"]
    lead = ("cpd.lead@demo-trust.example", trust, "cpd_admin")
    course = api_as(world, *lead, "POST", "cpd", "/api/v1/cpd/courses", {
        "title": "Autism: understanding transitions", "summary": "Practical strategies.",
        "audience": "SENCOs and teachers", "area_of_need": "communication_and_interaction",
        "cpd_hours": 3})
    starts = datetime.now(UTC) + timedelta(days=7)
    session = api_as(world, *lead, "POST", "cpd", f"/api/v1/cpd/courses/{course['id']}/sessions", {
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "venue": "Oakfield hall", "facilitator": "Grace Okafor", "capacity": 10})
    api_as(world, *lead, "POST", "cpd", f"/api/v1/cpd/courses/{course['id']}/publish")

    # the trust school's SENCO: pupils, passport, EHC plan, provision, reviews, training
    sign_in_by_oidc(browser, world, TRUST_SENCO)
    pupil_id = state["pupil_url"].rsplit("/", 1)[1]
    for name in ("pupils", "reviews_due", "cpd_catalogue", "cpd_bookings", "notifications"):
        opens(browser, portal + links.path(name))
        axe_check(browser, name)
    for name in ("pupil", "passport", "ehc_plan", "pupil_provision"):
        opens(browser, portal + links.path(name, pupil_id=pupil_id))
        axe_check(browser, f"{name}-senco")
    opens(browser, portal + links.path("passport", pupil_id=pupil_id), "Pupil passport")
    assert browser.find_element(By.ID, "passport-about_me").text == "Robin's about me."
    browser.get(portal + links.path("pupils") + "?q=Khan")  # the demo's pupil with an EHC plan
    browser.find_element(By.LINK_TEXT, "Amira Khan").click()
    browser.find_element(By.LINK_TEXT, "EHC plan dates and statutory deadlines").click()
    shows(browser, By.TAG_NAME, "h1", "EHC plan")
    plan = browser.find_element(By.TAG_NAME, "main").text
    assert "Next annual review" in plan and "19 April 2027" in plan  # s.44(1): within 12 months of the last review
    assert "Final EHC plan (20 weeks)" in plan and "Issued 1 May 2025" in plan
    axe_check(browser, "ehc-plan-senco")
    opens(browser, portal + links.path("notifications") + f"?pupil_id={pupil_id}", "Messages sent")
    shows(browser, By.ID, "messages", "Pupil passport version 1 published")
    for name in ("/costs", "/impact"):
        opens(browser, portal + name)
        axe_check(browser, name.strip("/"))

    opens(browser, portal + links.path("cpd_session", session_id=session["id"]), course["title"])
    axe_check(browser, "cpd-session")
    click(browser, "Book a place")
    done(browser, "Place booked")
    axe_check(browser, "cpd-bookings")
    booking = api_as(world, TRUST_SENCO, state["oakfield"], "senco", "GET", "cpd",
                     "/api/v1/cpd/me/bookings")[0]
    # the calendar link: an iCalendar file for the person signed in
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    ics = requests.get(portal + links.path("cpd_booking_calendar", booking_id=booking["id"]),
                       cookies=cookies, timeout=10)
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.text and course["title"] in ics.text.replace("\r\n ", "")
    with sqlite3.connect(world["platform"].database("cpd")) as conn:  # the session has begun
        begun = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.execute("UPDATE sessions SET starts_at=? WHERE id=?", (begun, session["id"]))
    browser.delete_all_cookies()

    # the CPD lead records attendance on the session's page; the certificate is issued
    sign_in_by_oidc(browser, world, lead[0])
    opens(browser, portal + links.path("cpd_session", session_id=session["id"]), course["title"])
    shows(browser, By.TAG_NAME, "legend", "Record attendance")
    axe_check(browser, "cpd-attendance")
    browser.find_element(By.CSS_SELECTOR, f"input[name='attended'][value='{booking['id']}']").click()
    click(browser, "Record attendance")
    done(browser, "Attendance recorded: 1 certificate issued")
    axe_check(browser, "cpd-attendance-recorded")
    browser.delete_all_cookies()

    sign_in_by_oidc(browser, world, TRUST_SENCO)
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    record = api_as(world, TRUST_SENCO, state["oakfield"], "senco", "GET", "cpd",
                    "/api/v1/cpd/records/me")
    [certificate_id] = [c["id"] for c in record["certificates"]]
    opens(browser, portal + links.path("cpd_certificate", certificate_id=certificate_id),
          course["title"])
    axe_check(browser, "cpd-certificate")
    pdf = requests.get(portal + f"/cpd/certificates/{certificate_id}/certificate.pdf",
                       cookies=cookies, timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    browser.delete_all_cookies()

    # the trust admin: organisations and the staff directory
    sign_in_by_oidc(browser, world, "admin@demo-trust.example")
    opens(browser, portal + "/admin/organisations", "Organisations")
    assert "Riverside Primary School" in browser.find_element(By.TAG_NAME, "main").text
    axe_check(browser, "admin-organisations")
    opens(browser, portal + "/admin/staff", "Staff directory")
    assert OUTREACH_LEAD in browser.find_element(By.TAG_NAME, "main").text
    axe_check(browser, "admin-staff")
    browser.delete_all_cookies()

    # the CPD lead: approvals (nothing waiting: the course needs no approval)
    sign_in_by_oidc(browser, world, lead[0])
    opens(browser, portal + links.path("cpd_approvals"), "Bookings to approve")
    axe_check(browser, "cpd-approvals")
    assert "Approvals" in browser.find_element(By.TAG_NAME, "nav").text
    browser.delete_all_cookies()

    # the outreach lead: triage, the referral, the agreement, messages about the referral
    sign_in_by_oidc(browser, world, OUTREACH_LEAD)
    referral_id = state["referral_url"].rsplit("/", 1)[1]
    for name in ("triage", "referrals"):
        opens(browser, portal + links.path(name))
    opens(browser, portal + links.path("referral", referral_id=referral_id))
    browser.find_element(By.PARTIAL_LINK_TEXT, "agreement and statement of hours").click()
    shows(browser, By.TAG_NAME, "h1", "Agreement")
    axe_check(browser, "agreement")
    opens(browser, portal + links.path("referral", referral_id=referral_id))
    browser.find_element(By.LINK_TEXT, "Messages sent about this referral").click()
    shows(browser, By.ID, "messages", "New outreach referral")
    axe_check(browser, "notifications-referral")
    browser.delete_all_cookies()

    # the partner school: its referral, the answer page, a new referral
    sign_in_by_email(browser, world, PARTNER_SENCO)
    for name in ("referrals", "new_referral", "notifications"):
        opens(browser, portal + links.path(name))
    for name in ("referral", "referral_respond"):
        opens(browser, portal + links.path(name, referral_id=referral_id), "Referral")
    for name in ("triage", "pupils", "cpd_approvals"):  # not theirs: a clear page, not JSON
        browser.get(portal + links.path(name))
        assert browser.find_element(By.TAG_NAME, "h1").text
        assert "application/json" not in browser.page_source[:200]
