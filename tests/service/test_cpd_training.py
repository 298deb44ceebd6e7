"""CPD after booking, on a running container: iCalendar invitations and feeds
(read back with vobject, a second parser), attendance, certificates (PDF read
back with pypdf) and their public verification, CPD records and CSV, charges,
evaluations and the need/training report."""

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import vobject
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import worker_factory
from pypdf import PdfReader

from services.common.config import load
from services.common.db import open_database
from services.contracts import make_event
from services.cpd import domain
from services.cpd.config import CpdConfig
from services.cpd.models import Base
from services.cpd.service import CpdService
from tests.conftest import wait_until
from tests.service.test_cpd_api import (
    API,
    SCHOOL_A,
    SCHOOL_B,
    TRUST,
    Cpd,
    attend,
    outbox,
    soon,
    sql,
)


@pytest.fixture
def api(run_service, database_urls, engine_name):
    base, container, db_url = run_service(CpdService, db_url=database_urls("cpd", engine_name))
    return base, db_url


@pytest.fixture
def cpd(api, http, token):
    client = Cpd(api[0], http, token)
    client.db_url = api[1]
    return client


@pytest.fixture
def events_in(api):
    """Feed consumed events to the handlers, on the running container's database."""
    db = open_database("cpd", Base.metadata, api[1])
    return worker_factory(CpdService, db=db, config=load(CpdConfig, "cpd"))


def onboarded(org_id, kind, name):
    return make_event("organisation.onboarded", {
        "org_id": org_id, "name": name, "urn": "100001", "laestab": "2021001", "kind": kind,
        "contact_email": f"office@{org_id}.example"}, org_id=org_id, actor="senctl")


def me(cpd, n, org=SCHOOL_A):
    return cpd.h(org, "teacher", sub=f"staff{n}@{org}.example")


# -- iCalendar ---------------------------------------------------------------------

def test_invitation_is_rfc5545_read_back_by_a_second_parser_and_follows_changes(cpd, api):
    course_id, (session_id,) = cpd.course(capacity=1,
                                       session_kw={"online_url": "https://meet.example/x"})
    booking = cpd.book_self(session_id, 1).json()
    waiting = cpd.book_self(session_id, 2).json()
    (confirmed,) = outbox(api[1], "booking.confirmed")
    assert confirmed["data"]["calendar_path"] == booking["calendar_path"]

    resp = cpd.http.get(cpd.base + booking["calendar_path"])
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/calendar")
    cal = vobject.readOne(resp.text)
    assert cal.method.value == "REQUEST" and cal.version.value == "2.0"
    event = cal.vevent
    assert event.uid.value == f"{booking['id']}@cpd.sen-trust.example"
    assert event.dtstart.value == soon(7) and event.dtend.value == soon(7, 12)
    assert event.summary.value.startswith("Autism")
    assert event.sequence.value == "0" and event.status.value == "CONFIRMED"
    assert event.attendee.value == "mailto:staff1@school-a.example"
    assert event.attendee.params["CN"] == ["Staff 1"]
    assert cpd.http.get(cpd.base + f"{API}/calendar/{'x' * 32}.ics").status_code == 404
    # on the waitlist: a tentative hold, with the same UID scheme
    tentative = vobject.readOne(cpd.http.get(cpd.base + waiting["calendar_path"]).text)
    assert tentative.method.value == "REQUEST"
    assert tentative.vevent.status.value == "TENTATIVE"
    assert tentative.vevent.uid.value == f"{waiting['id']}@cpd.sen-trust.example"

    moved = cpd.http.patch(cpd.base + API + f"/sessions/{session_id}", headers=cpd.admin,
                           json={"starts_at": soon(9).isoformat(),
                                 "ends_at": soon(9, 12).isoformat()})
    assert moved.status_code == 200 and moved.json()["sequence"] == 1
    (rescheduled,) = outbox(api[1], "session.rescheduled")
    assert {a["email"] for a in rescheduled["data"]["attendees"]} == {
        "staff1@school-a.example", "staff2@school-a.example"}
    updated = vobject.readOne(cpd.http.get(cpd.base + booking["calendar_path"]).text).vevent
    assert updated.uid.value == event.uid.value
    assert updated.sequence.value == "1" and updated.dtstart.value == soon(9)

    cpd.post(f"/bookings/{booking['id']}/cancel", me(cpd, 1))
    cancelled = vobject.readOne(cpd.http.get(cpd.base + booking["calendar_path"]).text)
    assert cancelled.method.value == "CANCEL"
    assert cancelled.vevent.status.value == "CANCELLED"
    assert cancelled.vevent.sequence.value == "2"
    # the waitlisted booking was promoted: its tentative event becomes confirmed
    promoted = vobject.readOne(cpd.http.get(cpd.base + waiting["calendar_path"]).text).vevent
    assert promoted.status.value == "CONFIRMED"
    assert promoted.attendee.params["PARTSTAT"] == ["ACCEPTED"]
    assert int(promoted.sequence.value) > int(tentative.vevent.sequence.value)


def test_each_member_of_staff_has_a_feed_of_their_bookings(cpd, api):
    _, (s1, s2) = cpd.course(sessions=2)
    b1 = cpd.book_self(s1, 1).json()
    cpd.book_self(s2, 1)
    cpd.book_self(s1, 2)  # someone else's booking is not in the feed
    cpd.post(f"/bookings/{b1['id']}/cancel", me(cpd, 1))

    assert cpd.get("/me/feed", me(cpd, 9)).status_code == 404
    path = cpd.get("/me/feed", me(cpd, 1)).json()["feed_path"]
    resp = cpd.http.get(cpd.base + path)
    assert resp.status_code == 200
    cal = vobject.readOne(resp.text)
    assert cal.method.value == "PUBLISH"
    events = {e.uid.value.split("@")[0]: e for e in cal.vevent_list}
    assert len(events) == 2
    assert events[b1["id"]].status.value == "CANCELLED"
    assert {e.attendee.value for e in events.values()} == {"mailto:staff1@school-a.example"}
    assert cpd.http.get(cpd.base + f"{API}/feeds/not-a-key.ics").status_code == 404


# -- attendance and certificates --------------------------------------------------------

def test_attending_every_session_issues_a_certificate_checked_publicly(cpd, api, events_in):
    events_in.on_organisation_onboarded(onboarded(TRUST, "trust", "Oak Trust Autism Hub"))
    course_id, (s1, s2) = cpd.course(sessions=2)
    b1 = cpd.book_self(s1, 1).json()
    b2 = cpd.book_self(s2, 1).json()
    other = cpd.book_self(s1, 2).json()

    first = attend(cpd, s1, b1["id"], other["id"])
    assert first.status_code == 200 and first.json()["certificates_issued"] == []
    assert all(b["attended"] for b in first.json()["bookings"])
    second = attend(cpd, s2, b2["id"])
    (cert_id,) = second.json()["certificates_issued"]

    (issued,) = outbox(api[1], "certificate.issued")
    code = issued["data"]["verification_code"]
    assert issued["data"]["attendee"] == {"name": "Staff 1", "email": "staff1@school-a.example"}
    assert issued["data"]["cpd_hours"] == 6

    cert = cpd.get(f"/certificates/{cert_id}", me(cpd, 1)).json()
    assert cert["verification_code"] == code and cert["cpd_hours"] == 6
    pdf = cpd.http.get(cpd.base + cert["pdf_path"], headers=me(cpd, 1))
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Staff 1" in text and code in text and "Oak Trust Autism Hub" in text

    check = cpd.http.get(cpd.base + cert["verify_path"])  # no token: anyone may check
    assert check.status_code == 200
    assert check.json() == {"valid": True, "verification_code": code, "holder_name": "Staff 1",
                            "course_title": cert["course_title"], "cpd_hours": 6.0,
                            "completed_on": cert["completed_on"],
                            "provider": "Oak Trust Autism Hub"}
    assert cpd.http.get(cpd.base + f"{API}/certificates/verify/{code.lower()}").status_code == 200
    forged = cpd.http.get(cpd.base + f"{API}/certificates/verify/CPD-0000-0000-0000")
    assert forged.status_code == 404

    # the certificate is the holder's, their lead's and the provider's; not anyone else's
    assert cpd.get(f"/certificates/{cert_id}", me(cpd, 2)).status_code == 404
    assert cpd.get(f"/certificates/{cert_id}", cpd.h(SCHOOL_B, "cpd_admin")).status_code == 404
    assert cpd.get(f"/certificates/{cert_id}", cpd.h(SCHOOL_A, "cpd_admin")).status_code == 200
    assert cpd.get(f"/certificates/{cert_id}", cpd.admin).status_code == 200
    # attendance behind a certificate cannot be taken back; marking again issues nothing new
    undo = attend(cpd, s2, b2["id"], attended=False)
    assert undo.status_code == 409
    assert attend(cpd, s2, b2["id"]).json()["certificates_issued"] == []
    assert len(outbox(api[1], "certificate.issued")) == 1


def test_cancelled_sessions_do_not_count_towards_completion(cpd, api):
    _, (s1, s2) = cpd.course(sessions=2)
    b1 = cpd.book_self(s1, 1).json()
    attend(cpd, s1, b1["id"])
    assert outbox(api[1], "certificate.issued") == []
    cpd.post(f"/sessions/{s2}/cancel", cpd.admin)
    (issued,) = outbox(api[1], "certificate.issued")
    assert issued["data"]["attendee"]["email"] == "staff1@school-a.example"


def test_attendance_is_refused_for_bookings_without_a_place_and_for_others(cpd, api):
    _, (session_id,) = cpd.course(capacity=1)
    cpd.book_self(session_id, 1)
    waiting = cpd.book_self(session_id, 2).json()
    resp = attend(cpd, session_id, waiting["id"], "no-such-booking")
    assert resp.status_code == 422
    assert set(resp.json()["errors"]) == {"records.0.booking_id", "records.1.booking_id"}
    bad = cpd.http.put(cpd.base + API + f"/sessions/{session_id}/attendance",
                       json={"records": [{"booking_id": waiting["id"], "attended": "yes"}]},
                       headers=cpd.admin)
    assert bad.status_code == 422 and "records.0.attended" in bad.json()["errors"]
    lead = cpd.http.put(cpd.base + API + f"/sessions/{session_id}/attendance",
                        json={"records": [{"booking_id": waiting["id"], "attended": True}]},
                        headers=cpd.h(SCHOOL_A, "cpd_admin"))
    assert lead.status_code == 403
    assert [r[0] for r in sql(api[1], "SELECT attended FROM bookings")] == [None, None]


# -- records, charges, evaluation -------------------------------------------------------

def test_cpd_records_per_person_and_organisation_with_csv(cpd, api, events_in):
    events_in.on_organisation_onboarded(onboarded(SCHOOL_A, "partner_school", "Riverside"))
    course_id, (s1,) = cpd.course(cpd_hours=3, title="=HYPERLINK(evil)")
    lead = cpd.h(SCHOOL_A, "cpd_admin", sub="lead-a")
    pat = cpd.post(f"/sessions/{s1}/bookings", lead,
                   {"attendee": {"name": "Pat Jones", "email": "pat@school-a.example"}}).json()
    mine = cpd.book_self(s1, 1).json()
    attend(cpd, s1, pat["id"], mine["id"])

    record = cpd.get("/records/me", me(cpd, 1)).json()
    assert record["total_hours"] == 3 and record["courses"][0]["course_id"] == course_id
    assert len(record["certificates"]) == 1
    assert cpd.get("/records/me", me(cpd, 5)).json()["total_hours"] == 0

    org = cpd.get("/records", lead).json()
    assert org["org_id"] == SCHOOL_A and org["total_hours"] == 6
    assert {p["email"] for p in org["people"]} == {"pat@school-a.example",
                                                  "staff1@school-a.example"}
    person_id = next(p["person_id"] for p in org["people"] if p["name"] == "Pat Jones")
    assert cpd.get(f"/records/people/{person_id}", lead).json()["total_hours"] == 3
    assert cpd.get(f"/records/people/{person_id}",
                   cpd.h(SCHOOL_B, "cpd_admin")).status_code == 404
    assert cpd.get("/records", me(cpd, 1)).status_code == 403
    assert cpd.get("/records", cpd.h(SCHOOL_B, "auditor")).json()["people"] == []

    exported = cpd.get("/records", lead, format="csv")
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {r["Email"] for r in rows} == {"pat@school-a.example", "staff1@school-a.example"}
    assert {r["Name"] for r in rows} == {"Pat Jones", "Staff 1"}
    assert {r["School"] for r in rows} == {"Riverside"}
    assert all(r["CPD hours"] == "3" and r["Certificate code"].startswith("CPD-") for r in rows)
    assert {r["Completed on"] for r in rows} == {soon(7, 12).date().isoformat()}
    assert rows[0]["Course"].startswith("'=")  # not run as a formula in a spreadsheet
    other = cpd.get("/records", cpd.h(SCHOOL_B, "auditor"), format="csv")
    assert list(csv.reader(io.StringIO(other.content.decode("utf-8-sig"))))[1:] == []

    workbook = cpd.get("/records", lead, format="xlsx")
    assert workbook.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    header, *cells = [list(r) for r in sheet.iter_rows()]
    assert [c.value for c in header] == ["Name", "Email", "School", "Course", "Area of need",
                                        "CPD hours", "Completed on", "Certificate code"]
    assert {r[0].value for r in cells} == {"Pat Jones", "Staff 1"}
    assert {r[2].value for r in cells} == {"Riverside"}
    assert all(r[5].value == 3 and r[6].value.date() == soon(7, 12).date() for r in cells)
    assert all(r[3].value == "=HYPERLINK(evil)" and r[3].data_type == "s" for r in cells)
    assert cpd.get("/records", lead, format="xml").status_code == 422


def test_partner_places_are_charged_and_summarised_per_organisation_and_term(cpd, api,
                                                                            events_in):
    events_in.on_organisation_onboarded(onboarded(SCHOOL_A, "partner_school", "Riverside"))
    events_in.on_organisation_onboarded(onboarded("trust-school", "trust_school", "Oak School"))
    _, (s1,) = cpd.course(capacity=3, price_pence=7500)
    a1 = cpd.book_self(s1, 1).json()
    a2 = cpd.book_self(s1, 2).json()
    own = cpd.book_self(s1, 3, org="trust-school").json()
    waiting = cpd.book_self(s1, 4, org=SCHOOL_B).json()
    assert (a1["charge_pence"], own["charge_pence"], waiting["charge_pence"]) == (7500, 0, 0)
    term = domain.term_label(soon(7).date())
    assert a1["charge_term"] == term

    cpd.post(f"/bookings/{a2['id']}/cancel", me(cpd, 2))  # no charge; school-b moves up
    summary = cpd.get("/charges", cpd.admin).json()
    assert summary["rows"] == [
        {"org_id": SCHOOL_A, "org_name": "Riverside", "term": term, "places": 1,
         "total_pence": 7500},
        {"org_id": SCHOOL_B, "org_name": None, "term": term, "places": 1, "total_pence": 7500}]
    assert summary["total_pence"] == 15000
    school_view = cpd.get("/charges", cpd.h(SCHOOL_A, "cpd_admin")).json()
    assert [r["org_id"] for r in school_view["rows"]] == [SCHOOL_A]
    assert cpd.get("/charges", cpd.admin, term="2001/02 autumn").json()["rows"] == []
    assert cpd.get("/charges", cpd.admin, term="autumn").status_code == 422
    assert cpd.get("/charges", me(cpd, 1)).status_code == 403


def test_attendees_evaluate_a_course_and_the_provider_sees_results(cpd, api):
    course_id, (s1,) = cpd.course()
    bookings = [cpd.book_self(s1, n).json() for n in (1, 2, 3)]
    attend(cpd, s1, bookings[0]["id"], bookings[1]["id"])
    path = f"/courses/{course_id}/evaluations"
    assert cpd.post(path, me(cpd, 1), {"rating": 5, "will_change": "Visual timetables"}
                    ).status_code == 201
    assert cpd.post(path, me(cpd, 2), {"rating": 3, "will_change": "Quiet corner"}
                    ).status_code == 201
    assert cpd.post(path, me(cpd, 1), {"rating": 4, "will_change": "Again"}).status_code == 409
    assert cpd.post(path, me(cpd, 3), {"rating": 4, "will_change": "x"}).status_code == 409
    bad = cpd.post(path, me(cpd, 2), {"rating": 6, "will_change": ""})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"rating", "will_change"}

    results = cpd.get(path, cpd.admin).json()
    assert results["count"] == 2 and results["average_rating"] == 4.0
    assert results["distribution"]["5"] == 1 and results["distribution"]["3"] == 1
    assert sorted(results["will_change"]) == ["Quiet corner", "Visual timetables"]
    assert cpd.get(path, cpd.h(SCHOOL_A, "cpd_admin")).status_code == 403
    assert cpd.get(path, me(cpd, 1)).status_code == 403


# -- from need to training ----------------------------------------------------------------

def closed(referral_id, areas, courses=(), school=SCHOOL_A, when=None):
    return make_event("referral.closed", {
        "referral_id": referral_id, "reference": "REF-AAAA-0001", "school_org_id": school,
        "contact": {"name": "Jo Smith", "email": "jo@school-a.example"}, "outcome": "completed",
        "areas_of_need": list(areas), "recommended_course_ids": list(courses)},
        org_id=school, actor="outreach-1", occurred_at=when)


def test_need_trend_report_compares_referrals_with_training(cpd, api, events_in):
    events_in.on_organisation_onboarded(onboarded(TRUST, "trust", "Oak Trust"))
    today = datetime.now(UTC)
    year, term = domain.term_of(today.date())
    previous = datetime.combine(domain.term_dates(year, term)[0] - timedelta(days=10),
                                datetime.min.time(), tzinfo=UTC)
    events_in.on_referral_closed(closed("r-1", ["communication_and_interaction"], when=previous))
    for n in (2, 3):
        events_in.on_referral_closed(closed(f"r-{n}", ["communication_and_interaction",
                                                       "sensory_and_physical"], when=today))
    resp = cpd.get("/reports/need-trend", cpd.admin, terms=2,
                   as_of=(today + timedelta(days=1)).date().isoformat())
    assert resp.status_code == 200, resp.text
    areas = {a["area_of_need"]: a for a in resp.json()["areas"]}
    ci = areas["communication_and_interaction"]
    assert [t["referrals"] for t in ci["terms"]] == [1, 2]
    assert ci["rising"] and ci["under_trained"]
    assert not areas["cognition_and_learning"]["rising"]
    assert cpd.get("/reports/need-trend", cpd.h(SCHOOL_A, "cpd_admin")).status_code == 403
    assert cpd.get("/reports/need-trend", cpd.h(TRUST, "outreach_lead")).status_code == 200
    assert cpd.get("/reports/need-trend", cpd.h(TRUST, "outreach")).status_code == 403
    assert cpd.get("/reports/need-trend", cpd.admin, terms=50).status_code == 422


def test_referral_closed_offers_the_next_sessions_to_the_school(cpd, api, events_in):
    events_in.on_organisation_onboarded(onboarded(SCHOOL_A, "partner_school", "Riverside"))
    course_id, sessions = cpd.course(sessions=4)
    draft_id, _ = cpd.course(publish=False)
    event = closed("r-9", ["communication_and_interaction"], courses=[course_id, draft_id,
                                                                      "unknown"])
    events_in.on_referral_closed(event)
    events_in.on_referral_closed(event)  # redelivered: nothing twice
    (offer,) = outbox(api[1], "course.offered")
    assert offer["org_id"] == SCHOOL_A
    data = offer["data"]
    assert data["course_id"] == course_id and data["contact_email"] == "office@school-a.example"
    assert [s["session_id"] for s in data["sessions"]] == sessions[:3]
    assert data["referral_contact"]["email"] == "jo@school-a.example"
    assert sql(api[1], "SELECT count(*) FROM referral_needs")[0][0] == 1

    lead = cpd.h(SCHOOL_A, "cpd_admin", sub="lead-a")
    (listed,) = cpd.get("/offers", lead).json()
    assert listed["course_id"] == course_id and listed["referral_id"] == "r-9"
    assert [x["id"] for x in listed["sessions"]] == sessions[:3]
    assert cpd.get("/offers", cpd.h(SCHOOL_B, "cpd_admin")).json() == []
    assert cpd.get("/offers", me(cpd, 1)).status_code == 403


def test_consumes_referral_closed_and_onboarding_through_the_broker(cpd, api):
    course_id, sessions = cpd.course(sessions=1)
    dispatch = event_dispatcher()
    dispatch("pupils", "organisation.onboarded", onboarded(SCHOOL_A, "partner_school", "Riverside"))
    dispatch("referrals", "referral.closed",
             closed("r-7", ["communication_and_interaction"], courses=[course_id]))
    offers = wait_until(lambda: outbox(api[1], "course.offered"), timeout=15)
    assert [o["data"]["course_id"] for o in offers] == [course_id]
    assert offers[0]["data"]["contact_email"] in ("office@school-a.example", None)
    assert wait_until(lambda: sql(api[1], "SELECT name FROM organisations")) == [("Riverside",)]


def test_invalid_consumed_events_change_nothing(cpd, api, events_in):
    bad = closed("r-1", ["communication_and_interaction"])
    bad["data"]["areas_of_need"] = ["maths"]
    events_in.on_referral_closed(bad)  # dead-lettered, not stored
    assert sql(api[1], "SELECT count(*) FROM referral_needs")[0][0] == 0
