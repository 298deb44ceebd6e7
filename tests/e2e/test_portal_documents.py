"""Documents and charts through the portal (issue 15), against the real platform: four
services, the portal and the local OpenID provider as processes, seeded by `senctl demo`
and then through the services' APIs (a class 4B at Oakfield with provision, targets
reviewed, an APDR cycle, a passport, an EHC plan; a referral from Riverside with its
report; a pupil at Brook, the other school).

Requests download each document through the portal with a signed-in person's session
and read it back: pypdf text (names, dates, totals), page 1 rendered by pdftoppm, the
footer, title and language; csv/openpyxl columns name, UPN, year and class. A person
of another school gets the API's 404, never the document. The browser test visits every
page with a chart in headless Chromium: axe-core, the chart's SVG inline with its
colours applied under the portal's CSP, screenshots in var/screenshots/.
"""

import csv
import io
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
import requests
from stdnum.gb.upn import calc_check_digit

from services.cli.demo_people import DEMO_REFERRAL
from services.common.db import open_database
from services.contracts import names
from services.documents.labels import label
from services.documents.pdf import long_date
from services.portal.adapters import localidp, web
from services.portal.commands import sessions
from services.portal.models import Base as PortalBase
from tests.conftest import bearer, make_token
from tests.documents_check import check_footer, contains, first_page_png, read_pdf
from tests.e2e.conftest import Platform
from tests.e2e.portal_kit import (
    axe_check,
    browser,  # noqa: F401 - fixture
    needs_browser,
    reserve_portal,
    start_portal,
)

TODAY = date.today()
PRINTED = f"Printed {long_date(TODAY)}"
LEVELS = list(names.PROGRESS_NAMES)
CLASS = "4B"
ENTRY = {"name": "Reading catch-up", "description": "Small-group phonics", "tier": "targeted",
         "area_of_need": "cognition_and_learning", "delivered_by": "teaching_assistant",
         "group_size": 3, "session_minutes": 30, "cost_basis": "per_session",
         "cost_amount": "20.00", "evidence_notes": "EEF: +4 months"}


def upn(serial):
    body = f"801200005{serial:03d}"
    return calc_check_digit(body) + body


def monday_weeks_ago(weeks):
    d = TODAY - timedelta(weeks=weeks)
    return d - timedelta(days=d.weekday())


class Api:
    """The services' APIs with tokens minted like the portal's (tests/conftest keys)."""

    def __init__(self, platform, orgs):
        self.platform, self.orgs = platform, orgs

    def who(self, org, role, sub=None):
        kind = {"trust": "trust", "oakfield": "trust_school", "brook": "arb",
                "riverside": "partner_school"}[org]
        return bearer(make_token(self.orgs[org], role, kind=kind, sub=sub or f"{role}@{org}"))

    def call(self, method, service, path, who, body=None, expect=(200, 201), **params):
        resp = requests.request(method, self.platform.url(service) + path, json=body,
                                params=params or None, headers=who, timeout=30)
        assert resp.status_code in expect, (path, resp.status_code, resp.text[:500])
        return resp.json() if resp.content else None


def wait_for(check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError("the event did not arrive in time")


def seed(api):
    """Class 4B at Oakfield: Amara (provision, two reviews, a cycle, a passport, an EHC
    plan) and Ben (the same group provision); Cara at Brook; a referral with a report."""
    senco, brook = api.who("oakfield", "senco"), api.who("brook", "senco")
    made = {}
    for key, who, body in (
            ("amara", senco, {"forename": "Amara", "legal_surname": "Okafor", "upn": upn(701),
                              "year_group": 4, "sen_status": "E", "primary_need": "SLCN"}),
            ("ben", senco, {"forename": "Ben", "legal_surname": "Adeyemi", "upn": upn(702),
                            "year_group": 4, "sen_status": "K", "primary_need": "SPLD"}),
            ("cara", brook, {"forename": "Cara", "legal_surname": "Lindqvist",
                             "upn": upn(703), "year_group": 4, "sen_status": "K",
                             "primary_need": "ASD"})):
        made[key] = api.call("POST", "pupils", "/api/v1/pupils", who, {
            "date_of_birth": "2017-02-01", "registration_group": CLASS, **body})["id"]
    amara, ben = made["amara"], made["ben"]
    P = "/api/v1/provision"
    for pupil_id in made.values():
        wait_for(lambda pid=pupil_id: requests.get(
            api.platform.url("provision") + f"{P}/pupils/{pid}/map",
            headers=api.who("trust", "trust_admin"), timeout=10).status_code == 200)
    api.call("PUT", "provision", f"{P}/organisations/{api.orgs['oakfield']}/settings",
             api.who("trust", "trust_admin"), {"sen_budget": "12000.00"})
    entry = api.call("POST", "provision", f"{P}/catalogue", senco, ENTRY)["id"]
    target = api.call("POST", "provision", f"{P}/targets", senco, {
        "pupil_id": amara, "description": "Read 40 high-frequency words",
        "area_of_need": "cognition_and_learning", "baseline": "Reads 12 of 100 words",
        "expected_outcome": "Reads 40 of 100 words", "measure": "HFW check, termly",
        "due_date": (TODAY + timedelta(days=60)).isoformat()})
    start, end = monday_weeks_ago(3), TODAY + timedelta(days=10)
    assignment = api.call("POST", "provision", f"{P}/assignments", senco, {
        "catalogue_id": entry, "pupil_ids": [amara, ben], "start_date": start.isoformat(),
        "end_date": end.isoformat(), "sessions_per_week": "2", "staff": "=Ms Reed",
        "target_ids": [target["id"]]})
    for days in (1, 2, 8):
        api.call("POST", "provision", f"{P}/assignments/{assignment['id']}/sessions", senco, {
            "held_on": (start + timedelta(days=days)).isoformat(),
            "attendance": [{"pupil_id": p, "attended": True} for p in (amara, ben)]})
    for weeks, level in ((2, LEVELS[1]), (1, LEVELS[3])):
        api.call("POST", "provision", f"{P}/targets/{target['id']}/outcomes", senco, {
            "reviewed_on": (TODAY - timedelta(weeks=weeks)).isoformat(), "level": level})
    api.call("POST", "provision", f"{P}/cycles", senco, {
        "pupil_id": amara, "started_on": start.isoformat(),
        "review_date": (TODAY + timedelta(days=5)).isoformat(), "plan": "Daily reading"})
    passport = f"/api/v1/pupils/{amara}/passport"
    api.call("POST", "pupils", passport + "/versions", senco, {
        "about_me": "I love drawing maps.", "strengths": "Memory for detail.",
        "needs": "Time to process instructions.", "what_helps": "A visual timetable.",
        "what_does_not_help": "Sudden noise.", "pupil_voice": "Please tell me first, Miss."})
    api.call("POST", "pupils", passport + "/versions/1/publish", senco)
    api.call("PUT", "pupils", f"/api/v1/pupils/{amara}/guardians", senco, {"guardians": [{
        "name": "Ngozi Okafor", "relationship": "Mother", "email": "parent@oakfield.example",
        "preferred_channel": "email", "parental_responsibility": True}]})
    plan = api.call("POST", "pupils", f"/api/v1/pupils/{amara}/ehc-plans", senco, {
        "request_date": (TODAY - timedelta(days=30)).isoformat()})
    made.update(plan=plan, target=target["id"], referral=referral_with_report(api),
                certificate=cpd_record(api))
    return made


def cpd_record(api):
    """Oakfield's teacher completes a course of the trust's: a CPD record with a certificate."""
    lead = api.who("trust", "cpd_admin", sub="cpd.lead@demo-trust.example")
    course = api.call("POST", "cpd", "/api/v1/cpd/courses", lead, {
        "title": "Autism: understanding transitions", "summary": "Practical strategies.",
        "audience": "Teachers", "area_of_need": "communication_and_interaction", "cpd_hours": 3})
    starts = datetime.now(UTC) + timedelta(days=7)
    session = api.call("POST", "cpd", f"/api/v1/cpd/courses/{course['id']}/sessions", lead, {
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "venue": "Oakfield hall", "facilitator": "Grace Okafor", "capacity": 10})
    api.call("POST", "cpd", f"/api/v1/cpd/courses/{course['id']}/publish", lead)
    booking = api.call("POST", "cpd", f"/api/v1/cpd/sessions/{session['id']}/bookings",
                       api.who("oakfield", "teacher", sub="teacher@oakfield.example"),
                       {"attendee": {"name": "Mia Evans", "email": "teacher@oakfield.example"}})
    with sqlite3.connect(api.platform.database("cpd")) as conn:  # the session has begun
        begun = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.execute("UPDATE sessions SET starts_at=? WHERE id=?", (begun, session["id"]))
    api.call("PUT", "cpd", f"/api/v1/cpd/sessions/{session['id']}/attendance", lead,
             {"records": [{"booking_id": booking["id"], "attended": True}]})
    return course["title"]


def referral_with_report(api):
    partner = api.who("riverside", "partner_referrer", sub="jo.smith@riverside.example")
    lead = api.who("trust", "outreach_lead", sub="outreach.lead@demo-trust.example")
    tom = api.who("trust", "outreach", sub="outreach@demo-trust.example")
    rid = api.call("POST", "referrals", "/api/v1/referrals", partner, DEMO_REFERRAL)["id"]
    base = f"/api/v1/referrals/{rid}"
    api.call("POST", "referrals", base + "/accept", lead, {})
    api.call("POST", "referrals", base + "/allocate", lead, {"practitioner": {
        "sub": "outreach@demo-trust.example", "name": "Tom Hughes",
        "email": "outreach@demo-trust.example"}})
    api.call("POST", "referrals", base + "/visits", tom, {
        "visit_date": (TODAY - timedelta(days=1)).isoformat(), "minutes": 90,
        "seen": ["pupil", "senco"], "observations": "Observed in two lessons.",
        "recommendations": "A now-and-next board at every change."})
    api.call("POST", "referrals", base + "/report", tom, {
        "summary": "Riley settles with warning of changes.",
        "recommendations": [{"text": "Use a now-and-next board.",
                             "provision": "Visual timetable"}]})
    api.call("POST", "referrals", base + "/close", lead, {"outcome": "continued_sen_support"})
    return rid


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("documents"),
                        ("pupils", "provision", "cpd", "referrals"))
    reserve_portal(platform)
    platform.start()
    try:
        seeded = platform.senctl("demo")
        orgs = {line.split("\t")[3]: line.split("\t")[1] for line in seeded.splitlines()
                if line.count("\t") == 3}
        keys = {"trust": "Demo Special Schools Trust", "oakfield": "Oakfield Special School",
                "brook": "Brook Resource Base", "riverside": "Riverside Primary School"}
        orgs = {k: orgs[v] for k, v in keys.items()}
        portal = start_portal(platform, localidp.demo_accounts(), orgs["trust"])
        db = open_database("portal", PortalBase.metadata,
                           f"sqlite:///{platform.database('portal')}")
        api = Api(platform, orgs)
        yield {"platform": platform, "portal": portal, "orgs": orgs, "names": keys, "db": db,
               "api": api, "ids": seed(api)}
    finally:
        platform.stop()


def session(world, org, *roles, **choice):
    """A signed-in portal session (what sign-in makes) for a person of `org`."""
    kind = {"trust": "trust", "oakfield": "trust_school", "brook": "arb",
            "riverside": "partner_school"}[org]
    _, token = sessions.create_session(world["db"], f"{roles[0]}@{org}.example", "A Person",
                                      "email", [{"org_id": world["orgs"][org],
                                                 "org_name": world["names"][org],
                                                 "org_kind": kind, "roles": list(roles),
                                                 **choice}])
    return {web.SESSION_COOKIE: token}


def get(world, path, cookies, expect=200):
    resp = requests.get(world["portal"] + path, cookies=cookies, timeout=120,
                        allow_redirects=False)
    assert resp.status_code == expect, (path, resp.status_code, resp.text[:800])
    return resp


def pdf_pages(resp, name):
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Cache-Control"] == "no-store"
    reader, pages = read_pdf(resp.content)
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    first_page_png(resp.content, name)
    check_footer(pages, PRINTED)
    return reader, " ".join(pages)


def csv_rows(resp):
    assert resp.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))


def xlsx_rows(resp):
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_pupil_documents_carry_names_dates_and_totals(world):
    ids, senco = world["ids"], session(world, "oakfield", "senco")
    amara = ids["amara"]
    reader, text = pdf_pages(get(world, f"/pupils/{amara}/passport.pdf", senco), "portal_passport")
    assert len(reader.pages) == 1 and reader.metadata.title == "Pupil passport: Amara Okafor"
    for expected in ("Amara Okafor: pupil passport", upn(701), "Year 4, 4B",
                     "Oakfield Special School", "Please tell me first, Miss.", "version 1"):
        assert contains(text, expected), expected

    reader, text = pdf_pages(get(world, f"/pupils/{amara}/provision-map.pdf", senco),
                             "portal_pupil_provision_map")
    assert reader.metadata.title == "Costed provision map: Amara Okafor"
    start = monday_weeks_ago(3)
    for expected in ("Amara Okafor", upn(701), "Reading catch-up", "=Ms Reed",
                     "2 sessions a week, 30 minutes each", long_date(start),
                     "Reads 40 of 100 words", "Progress on target: Read 40 high-frequency words",
                     "Total for Amara Okafor £30.00"):
        assert contains(text, expected), expected

    rows = csv_rows(get(world, f"/pupils/{amara}/provision-map.csv", senco))
    assert rows[0][:5] == ["Pupil", "UPN", "Year", "Class", "Provision"]
    assert rows[1][:5] == ["Amara Okafor", upn(701), "Year 4", CLASS, "Reading catch-up"]
    assert rows[1][8] == "'=Ms Reed"            # a formula is text, never evaluated
    assert rows[-1][0] == "Total" and rows[-1][13] == "30.00"
    sheet = xlsx_rows(get(world, f"/pupils/{amara}/provision-map.xlsx", senco))
    assert sheet[1][:4] == ["Amara Okafor", upn(701), "Year 4", CLASS] and sheet[1][13] == 30.0

    plan = ids["plan"]
    reader, text = pdf_pages(get(world, f"/pupils/{amara}/ehc-plan.pdf?plan={plan['id']}",
                                 senco), "portal_ehc_timeline")
    assert contains(text, "Amara Okafor: EHC plan timeline")
    assert reader.metadata.title == "EHC plan timeline: Amara Okafor"
    assert contains(text, long_date(plan["request_date"]))
    due = plan["deadlines"]["decision_to_assess"]["due"]
    assert contains(text, long_date(due)) and contains(text, label("ehc_step",
                                                                     "decision_to_assess"))


def test_another_school_gets_not_found_not_the_document(world):
    ids, brook = world["ids"], session(world, "brook", "senco")
    amara = ids["amara"]
    for path in (f"/pupils/{amara}/passport.pdf", f"/pupils/{amara}/provision-map.pdf",
                 f"/pupils/{amara}/provision-map.xlsx", f"/pupils/{amara}/ehc-plan.pdf",
                 f"/referrals/{ids['referral']}/report.pdf"):
        resp = requests.get(world["portal"] + path, cookies=brook, timeout=60,
                            allow_redirects=False)
        assert resp.status_code in (403, 404), (path, resp.status_code)
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "Amara" not in resp.text and "Riley" not in resp.text
    # Brook's class 4B is Brook's own: Cara only, never Oakfield's pupils
    rows = csv_rows(get(world, f"/provision-map.csv?registration_group={CLASS}", brook))
    assert {r[0] for r in rows[1:]} <= {"Total"}  # Cara has no provision rows
    page = get(world, f"/provision-map?registration_group={CLASS}", brook).text
    assert "Cara Lindqvist" in page and "Amara" not in page
    # a format the portal does not make is a 404 page
    resp = get(world, f"/pupils/{amara}/provision-map.docx", session(world, "oakfield", "senco"),
               expect=404)
    assert resp.headers["Content-Type"].startswith("text/html")


def test_class_provision_map_as_page_pdf_and_spreadsheets(world):
    senco = session(world, "oakfield", "senco")
    page = get(world, f"/provision-map?registration_group={CLASS}", senco).text
    for expected in ("Amara Okafor", "Ben Adeyemi", upn(701), upn(702), "Total for 2 pupils",
                     "£60.00", "Assess, plan, do, review cycle 1"):
        assert expected in page, expected
    reader, text = pdf_pages(get(world, f"/provision-map.pdf?registration_group={CLASS}", senco),
                             "portal_class_provision_map")
    assert reader.metadata.title == f"Provision map: class {CLASS}"
    for expected in ("Amara Okafor", "Ben Adeyemi", upn(702), "Total for 2 pupils £60.00",
                     "Total for Ben Adeyemi £30.00", "Daily reading"):
        assert contains(text, expected), expected
    rows = csv_rows(get(world, f"/provision-map.csv?registration_group={CLASS}", senco))
    assert rows[0][:4] == ["Pupil", "UPN", "Year", "Class"]
    assert rows[0][-1] == "Assess, plan, do, review"
    assert [r[:4] for r in rows[1:3]] == [["Ben Adeyemi", upn(702), "Year 4", CLASS],
                                          ["Amara Okafor", upn(701), "Year 4", CLASS]]
    assert rows[-1][0] == "Total" and rows[-1][13] == "60.00"
    sheet = xlsx_rows(get(world, "/provision-map.xlsx?year_group=4", senco))
    assert sheet[0][:4] == ["Pupil", "UPN", "Year", "Class"]
    assert {r[0] for r in sheet[1:-1]} == {"Amara Okafor", "Ben Adeyemi"}
    assert sheet[-1][0] == "Total" and sheet[-1][13] == 60.0


def test_lists_as_spreadsheets_with_names(world):
    senco = session(world, "oakfield", "senco")
    costs = xlsx_rows(get(world, "/costs.xlsx", senco))
    assert costs[0] == ["Pupil", "UPN", "Year", "Class", "SEN provision", "Cost to date",
                        "Projected cost"]
    assert costs[2][:5] == ["Amara Okafor", upn(701), "Year 4", CLASS,
                            label("sen_status", "E")]
    assert costs[2][5] == 30.0 and costs[1][0] == "Ben Adeyemi"
    costs_csv = csv_rows(get(world, "/costs.csv", senco))
    assert costs_csv[1][:4] == ["Ben Adeyemi", upn(702), "Year 4", CLASS]

    # an auditor reads the costs but not the pupils: the export, without the names
    audited = xlsx_rows(get(world, "/costs.xlsx", session(world, "oakfield", "auditor")))
    assert audited[0] == costs[0] and {r[0] for r in audited[1:]} == {"Name not shown"}
    assert sorted(r[5] for r in audited[1:]) == sorted(r[5] for r in costs[1:])

    reviews = xlsx_rows(get(world, "/reviews-due.xlsx", senco))
    assert reviews[0][:5] == ["Pupil", "UPN", "Year", "Class", "Review"]
    assert ["Amara Okafor", upn(701), "Year 4", CLASS,
            "Assess, plan, do, review cycle 1"] in [r[:5] for r in reviews]

    impact = xlsx_rows(get(world, "/impact.xlsx?group_by=provision", senco))
    assert impact[0][0] == "Provision" and impact[1][0] == "Reading catch-up"

    for who in (session(world, "trust", "outreach_lead"), session(world, "trust", "trust_admin")):
        referrals = xlsx_rows(get(world, "/referrals.xlsx", who))
        assert referrals[0][:6] == ["Reference", "School", "Pupil", "UPN", "Year", "Class"]
        riley = next(r for r in referrals[1:] if r[2] == "Riley Jones")
        assert riley[3] == "B801200005001" and riley[9] == "Tom Hughes"
    assert riley[1] == "Riverside Primary School"  # the trust admin lists the organisations
    partner = session(world, "riverside", "partner_referrer")
    assert [r[2] for r in csv_rows(get(world, "/referrals.csv", partner))[1:]] == ["Riley Jones"]

    school_lead = session(world, "oakfield", "cpd_admin")
    records_sheet = xlsx_rows(get(world, "/cpd/records.xlsx", school_lead))
    assert records_sheet[0] == ["Name", "Email", "School", "Course", "Area of need", "CPD hours",
                                "Completed on", "Certificate code"]
    [mia] = [r for r in records_sheet[1:] if r[0] == "Mia Evans"]
    assert mia[1:6] == ["teacher@oakfield.example", "Oakfield Special School",
                        world["ids"]["certificate"], "Communication and interaction", 3]
    assert mia[7]  # the code that verifies the certificate
    assert csv_rows(get(world, "/cpd/records.csv", school_lead))[1][0] == "Mia Evans"
    brook_lead = csv_rows(get(world, "/cpd/records.csv", session(world, "brook", "cpd_admin")))
    assert "Mia Evans" not in {r[0] for r in brook_lead}


def test_a_parent_downloads_their_childs_passport_and_plan_timeline(world):
    amara = world["ids"]["amara"]
    parent = session(world, "oakfield", "parent", pupils=[amara], children=[
        {"pupil_id": amara, "pupil_name": "Amara Okafor"}])
    page = get(world, f"/pupils/{amara}/passport", parent).text
    assert 'href="passport.pdf"' in page
    reader, text = pdf_pages(get(world, f"/pupils/{amara}/passport.pdf", parent),
                             "portal_passport_parent")
    assert contains(text, "Amara Okafor: pupil passport") and contains(text, "Please tell me first")
    plan = world["ids"]["plan"]
    assert f'href="ehc-plan.pdf?plan={plan["id"]}"' in get(
        world, f"/pupils/{amara}/ehc-plan", parent).text
    _, text = pdf_pages(get(world, f"/pupils/{amara}/ehc-plan.pdf?plan={plan['id']}", parent),
                        "portal_ehc_timeline_parent")
    assert contains(text, "Amara Okafor: EHC plan timeline")
    other = session(world, "oakfield", "parent", pupils=[world["ids"]["ben"]], children=[
        {"pupil_id": world["ids"]["ben"], "pupil_name": "Ben Adeyemi"}])
    resp = requests.get(world["portal"] + f"/pupils/{amara}/passport.pdf", cookies=other,
                        timeout=60)
    assert resp.status_code in (403, 404) and "Amara" not in resp.text


def test_outreach_report_pdf_from_the_referral_page(world):
    rid = world["ids"]["referral"]
    partner = session(world, "riverside", "partner_referrer")
    page = get(world, f"/referrals/{rid}", partner).text
    assert f'href="/referrals/{rid}/report.pdf"' in page
    reader, text = pdf_pages(get(world, f"/referrals/{rid}/report.pdf", partner),
                             "portal_outreach_report")
    assert reader.metadata.title.startswith("Outreach report: ")
    for expected in ("Riley Jones", "Riverside Primary School", "Observed in two lessons.",
                     "Use a now-and-next board.", long_date(TODAY - timedelta(days=1)),
                     "Total for this referral 1.5", "Communication and interaction"):
        assert contains(text, expected), expected
    other = requests.get(world["portal"] + f"/referrals/{rid}/report.pdf", timeout=60,
                         cookies=session(world, "oakfield", "senco"))
    assert other.status_code in (403, 404) and "Riley" not in other.text


@needs_browser
def test_pages_with_charts_in_the_browser(world, browser):  # noqa: F811
    portal, ids = world["portal"], world["ids"]

    def sign_in(cookies):
        browser.delete_all_cookies()
        browser.get(portal + "/sign-in")
        for name, value in cookies.items():
            browser.add_cookie({"name": name, "value": value, "path": "/"})

    def chart_shown(colour):
        svg = browser.find_element("css selector", "figure svg[role=img]")
        browser.execute_script("arguments[0].scrollIntoView()", svg)  # for the screenshot
        assert svg.find_element("tag name", "title").get_attribute("textContent")
        assert browser.find_element("css selector", "figure table caption").text
        fill = browser.execute_script(
            "const p = document.querySelector(`figure svg [fill='${arguments[0]}']`);"
            "return p && getComputedStyle(p).fill;", colour)
        assert fill and fill.startswith("rgb("), fill  # the colours apply under the CSP

    sign_in(session(world, "oakfield", "senco"))
    browser.get(portal + f"/pupils/{ids['amara']}")
    chart_shown("#1d70b8")
    assert browser.find_element("id", "passport-pdf")
    axe_check(browser, "pupil-progress-chart")
    browser.get(portal + "/impact")
    chart_shown("#1d70b8")
    axe_check(browser, "impact-chart")
    browser.get(portal + "/costs")
    chart_shown("#1d70b8")
    axe_check(browser, "costs-chart")
    browser.get(portal + f"/pupils?registration_group={CLASS}")
    browser.find_element("id", "class-map-link").click()
    assert "Total for 2 pupils" in browser.find_element("id", "class-map").text
    axe_check(browser, "class-provision-map")
    for path, name, link in ((f"/pupils?registration_group={CLASS}", "pupils-class", "class-map-link"),
                             ("/reviews-due", "reviews-due-downloads", "downloads")):
        browser.get(portal + path)
        assert browser.find_element("id", link)
        axe_check(browser, name)

    sign_in(session(world, "riverside", "partner_referrer"))
    browser.get(portal + f"/referrals/{ids['referral']}")
    assert browser.find_element("id", "report-pdf").get_attribute("href").endswith("/report.pdf")
    axe_check(browser, "referral-report-pdf-link")
    browser.get(portal + "/referrals")
    assert "Referrals as CSV" in browser.find_element("id", "downloads").text
    axe_check(browser, "referrals-downloads")

    sign_in(session(world, "oakfield", "parent", pupils=[ids["amara"]], children=[
        {"pupil_id": ids["amara"], "pupil_name": "Amara Okafor"}]))
    browser.get(portal + f"/pupils/{ids['amara']}/passport")
    assert browser.find_element("id", "passport-pdf")
    axe_check(browser, "passport-parent-pdf-link")

    sign_in(session(world, "trust", "cpd_admin"))
    browser.get(portal + "/cpd/courses")
    assert "CPD records as CSV" in browser.find_element("id", "downloads").text
    axe_check(browser, "cpd-courses-records-downloads")

    admin = world["api"].who("trust", "trust_admin")
    wait_for(lambda: any(t["referrals"] for a in world["api"].call(
        "GET", "cpd", "/api/v1/cpd/reports/need-trend", admin)["areas"]
        for t in a["terms"]))  # cpd has heard of the closed referral
    sign_in(session(world, "trust", "trust_admin"))
    browser.get(portal + "/trust/need-and-training")
    svg = browser.find_element("css selector", "figure svg[role=img]")
    assert "Referrals by area of need" in svg.find_element("tag name", "title").get_attribute(
        "textContent")
    row = browser.find_element("xpath", "//tr[th='Communication and interaction']").text
    assert row.split()[-2:] == ["1", "3"]  # one closed referral, three CPD hours
    axe_check(browser, "need-and-training-chart")

    # the outreach lead reads the trust's chart too, from the training page's link
    sign_in(session(world, "trust", "outreach_lead"))
    browser.get(portal + "/cpd/courses")
    browser.find_element("link text",
                         "Referrals by area of need against training delivered").click()
    row = browser.find_element("xpath", "//tr[th='Communication and interaction']").text
    assert row.split()[-2:] == ["1", "3"]
