"""The CPD HTTP API on a running container (real HTTP, real RabbitMQ vhost, a
migrated database): courses, sessions, bookings under capacity, waitlist and
promotion, approval, limits, roles and tenancy, bad input, concurrency."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, create_engine, text

from services.common.tables import UTCDateTime
from services.cpd.service import CpdService
from tests.conftest import bearer

API = "/api/v1/cpd"
TRUST = "trust-1"
SCHOOL_A = "school-a"
SCHOOL_B = "school-b"


@pytest.fixture
def api(run_service, database_urls, engine_name):
    base, container, db_url = run_service(CpdService, db_url=database_urls("cpd", engine_name))
    return base, db_url


def sql(db_url, query, **params):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text(query), params).all()
    engine.dispose()
    return rows


def outbox(db_url, event_type=None):
    rows = sql(db_url, "SELECT routing_key, body FROM outbox ORDER BY id")
    return [json.loads(body) for key, body in rows if event_type in (None, key)]


def soon(days=7, hour=9):
    day = datetime.now(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


COURSE = {
    "title": "Autism: understanding and supporting pupils",
    "summary": "Two sessions on autism in the classroom.",
    "audience": "Teachers and teaching assistants",
    "area_of_need": "communication_and_interaction",
    "cpd_hours": 6,
    "price_pence": 7500,
}


def session_body(days=7, capacity=3, **kw):
    return {"starts_at": soon(days).isoformat(), "ends_at": soon(days, 12).isoformat(),
            "venue": "Autism Education Hub, Room 2", "facilitator": "Dr A. Khan",
            "capacity": capacity, **kw}


class Cpd:
    """Small client for the tests: tokens per (org, role, sub)."""

    def __init__(self, base, http, token):
        self.base, self.http, self.token = base, http, token

    def h(self, org, *roles, sub="user@example.org"):
        return bearer(self.token(org, *roles, sub=sub))

    @property
    def admin(self):
        return self.h(TRUST, "cpd_admin", sub="hub-admin")

    def post(self, path, headers, body=None):
        return self.http.post(self.base + API + path, json=body, headers=headers)

    def get(self, path, headers=None, **params):
        return self.http.get(self.base + API + path, headers=headers or {}, params=params)

    def course(self, sessions=1, capacity=3, publish=True, session_kw=None, **overrides):
        resp = self.post("/courses", self.admin, {**COURSE, **overrides})
        assert resp.status_code == 201, resp.text
        course = resp.json()
        ids = []
        for i in range(sessions):
            r = self.post(f"/courses/{course['id']}/sessions", self.admin,
                          session_body(days=7 + i, capacity=capacity, **(session_kw or {})))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        if publish:
            r = self.post(f"/courses/{course['id']}/publish", self.admin)
            assert r.status_code == 200, r.text
        return course["id"], ids

    def book_self(self, session_id, n, org=SCHOOL_A, role="teacher"):
        return self.post(f"/sessions/{session_id}/bookings",
                         self.h(org, role, sub=f"staff{n}@{org}.example"),
                         {"attendee": {"name": f"Staff {n}", "email": f"staff{n}@{org}.example"}})


@pytest.fixture
def cpd(api, http, token):
    client = Cpd(api[0], http, token)
    client.db_url = api[1]
    return client


def start_session(db_url, session_id, ago=timedelta(minutes=1)):
    """Move a session's start into the past (attendance is marked once it has begun)."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET starts_at=:t WHERE id=:id AND starts_at>:t")
                     .bindparams(bindparam("t", type_=UTCDateTime())),
                     {"t": datetime.now(UTC) - ago, "id": session_id})
    engine.dispose()


def attend(cpd, session_id, *booking_ids, attended=True):
    start_session(cpd.db_url, session_id)
    return cpd.http.put(cpd.base + API + f"/sessions/{session_id}/attendance",
                        json={"records": [{"booking_id": b, "attended": attended}
                                          for b in booking_ids]}, headers=cpd.admin)


# -- courses and sessions ----------------------------------------------------------

def test_admin_creates_a_draft_course_that_others_cannot_see_until_published(cpd, api):
    course_id, (session_id,) = cpd.course(publish=False)
    teacher = cpd.h(SCHOOL_A, "teacher")
    assert cpd.get(f"/courses/{course_id}", teacher).status_code == 404
    assert cpd.get("/courses", teacher).json()["total"] == 0
    assert cpd.book_self(session_id, 1).status_code == 404
    other_admin = cpd.h(SCHOOL_B, "cpd_admin")
    assert cpd.post(f"/courses/{course_id}/publish", other_admin).status_code == 404

    published = cpd.post(f"/courses/{course_id}/publish", cpd.admin)
    assert published.status_code == 200 and published.json()["status"] == "published"
    seen = cpd.get(f"/courses/{course_id}", teacher).json()
    assert seen["sessions"][0]["places_left"] == 3
    assert cpd.post(f"/courses/{course_id}/publish", cpd.admin).status_code == 409
    (event,) = outbox(api[1], "course.published")
    assert event["data"]["course_id"] == course_id
    assert event["data"]["sessions"][0]["session_id"] == session_id
    # another provider's admin may read the published course but not change it
    assert cpd.post(f"/courses/{course_id}/sessions", other_admin,
                    session_body()).status_code == 403


def test_a_course_without_sessions_cannot_be_published(cpd, api):
    course_id, _ = cpd.course(sessions=0, publish=False)
    resp = cpd.post(f"/courses/{course_id}/publish", cpd.admin)
    assert resp.status_code == 409
    assert outbox(api[1]) == []


def test_only_cpd_admins_manage_courses(cpd, api):
    resp = cpd.post("/courses", cpd.h(TRUST, "teacher", "senco"), COURSE)
    assert resp.status_code == 403
    assert sql(api[1], "SELECT count(*) FROM courses")[0][0] == 0


BAD_COURSES = {
    "unknown area": ({**COURSE, "area_of_need": "maths"}, "area_of_need"),
    "no title": ({k: v for k, v in COURSE.items() if k != "title"}, "title"),
    "negative price": ({**COURSE, "price_pence": -5}, "price_pence"),
    "hours as text": ({**COURSE, "cpd_hours": "six"}, "cpd_hours"),
    "no such prerequisite": ({**COURSE, "prerequisites": ["nope"]}, "prerequisites"),
    "approval as string": ({**COURSE, "requires_approval": "yes"}, "requires_approval"),
}


@pytest.mark.parametrize("case", BAD_COURSES)
def test_bad_course_input_is_422_naming_the_field_and_stores_nothing(cpd, api, case):
    body, field = BAD_COURSES[case]
    resp = cpd.post("/courses", cpd.admin, body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert field in resp.json()["errors"]
    assert sql(api[1], "SELECT count(*) FROM courses")[0][0] == 0


BAD_SESSIONS = {
    "ends before it starts": (session_body(ends_at=soon(7, 8).isoformat()), "ends_at"),
    "in the past": (session_body(starts_at=soon(-3).isoformat(),
                                 ends_at=soon(-3, 12).isoformat()), "starts_at"),
    "no place": ({k: v for k, v in session_body().items() if k != "venue"}, "venue"),
    "zero capacity": (session_body(capacity=0), "capacity"),
    "naive time": (session_body(starts_at="2030-01-01T09:00:00"), "starts_at"),
    "bad link": (session_body(online_url="javascript:alert(1)"), "online_url"),
}


@pytest.mark.parametrize("case", BAD_SESSIONS)
def test_bad_session_input_is_422(cpd, api, case):
    course_id, _ = cpd.course(sessions=0, publish=False)
    body, field = BAD_SESSIONS[case]
    resp = cpd.post(f"/courses/{course_id}/sessions", cpd.admin, body)
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["errors"]
    assert sql(api[1], "SELECT count(*) FROM sessions")[0][0] == 0


def test_courses_are_listed_filtered_and_changed_by_their_provider(cpd, api):
    course_id, _ = cpd.course()
    cpd.course(area_of_need="sensory_and_physical", title="Hearing impairment")
    cpd.course(publish=False, title="Draft")
    teacher = cpd.h(SCHOOL_A, "teacher")
    assert cpd.get("/courses", teacher).json()["total"] == 2
    assert cpd.get("/courses", cpd.admin).json()["total"] == 3
    only = cpd.get("/courses", teacher, area_of_need="sensory_and_physical").json()
    assert [c["title"] for c in only["items"]] == ["Hearing impairment"]
    assert cpd.get("/courses", teacher, area_of_need="maths").status_code == 422
    assert cpd.get("/courses", teacher, limit=0).status_code == 422

    path = cpd.base + API + f"/courses/{course_id}"
    changed = cpd.http.patch(path, json={"price_pence": 9000, "title": " New title "},
                             headers=cpd.admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["price_pence"], changed.json()["title"]) == (9000, "New title")
    assert cpd.http.patch(path, json={}, headers=cpd.admin).status_code == 422
    assert cpd.http.patch(path, json={"cpd_hours": -1},
                          headers=cpd.admin).json()["errors"].keys() == {"cpd_hours"}
    assert cpd.http.patch(path, json={"title": "Mine"},
                          headers=cpd.h(SCHOOL_B, "cpd_admin")).status_code == 403
    assert cpd.get(f"/courses/{course_id}", teacher).json()["title"] == "New title"


# -- bookings, capacity, waitlist, promotion -----------------------------------------

def test_full_session_waitlists_and_a_cancellation_promotes_the_first(cpd, api):
    _, (session_id,) = cpd.course(capacity=2)
    results = [cpd.book_self(session_id, n) for n in range(5)]
    assert [r.status_code for r in results] == [201] * 5
    statuses = [r.json()["status"] for r in results]
    assert statuses == ["confirmed", "confirmed", "waitlisted", "waitlisted", "waitlisted"]
    assert [r.json()["waitlist_position"] for r in results[2:]] == [1, 2, 3]
    assert results[0].json()["calendar_path"].endswith(".ics")

    first = results[0].json()["id"]
    me = cpd.h(SCHOOL_A, "teacher", sub="staff0@school-a.example")
    cancelled = cpd.post(f"/bookings/{first}/cancel", me)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cpd.post(f"/bookings/{first}/cancel", me).status_code == 409

    promoted = cpd.get(f"/bookings/{results[2].json()['id']}",
                       cpd.h(SCHOOL_A, "teacher", sub="staff2@school-a.example")).json()
    assert promoted["status"] == "confirmed"
    still = cpd.get(f"/bookings/{results[3].json()['id']}",
                    cpd.h(SCHOOL_A, "teacher", sub="staff3@school-a.example")).json()
    assert still["status"] == "waitlisted" and still["waitlist_position"] == 1

    db = api[1]
    assert sql(db, "SELECT seats_taken FROM sessions")[0][0] == 2
    types = [e["type"] for e in outbox(db) if e["type"].startswith("booking.")]
    assert types == ["booking.confirmed"] * 2 + ["booking.waitlisted"] * 3 + [
        "booking.cancelled", "booking.promoted"]
    promoted_event = outbox(db, "booking.promoted")[0]
    assert promoted_event["data"]["attendee"] == {"name": "Staff 2",
                                                  "email": "staff2@school-a.example"}
    assert promoted_event["data"]["session"]["session_id"] == session_id
    assert promoted_event["org_id"] == SCHOOL_A


def test_more_capacity_promotes_from_the_waitlist(cpd, api):
    _, (session_id,) = cpd.course(capacity=1)
    cpd.book_self(session_id, 0)
    waiting = [cpd.book_self(session_id, n).json() for n in (1, 2)]
    resp = cpd.http.patch(cpd.base + API + f"/sessions/{session_id}", json={"capacity": 2},
                          headers=cpd.admin)
    assert resp.status_code == 200 and resp.json()["seats_taken"] == 2
    statuses = {r[0]: r[1] for r in sql(api[1], "SELECT id, status FROM bookings")}
    assert statuses[waiting[0]["id"]] == "confirmed"
    assert statuses[waiting[1]["id"]] == "waitlisted"
    shrink = cpd.http.patch(cpd.base + API + f"/sessions/{session_id}", json={"capacity": 1},
                            headers=cpd.admin)
    assert shrink.status_code == 409 and "capacity" in shrink.json()["errors"]


def test_staff_see_their_own_bookings(cpd, api):
    _, (s1, s2) = cpd.course(sessions=2)
    cpd.book_self(s1, 1)
    cpd.book_self(s2, 1)
    cpd.book_self(s1, 2)
    mine = cpd.get("/me/bookings", cpd.h(SCHOOL_A, "teacher", sub="staff1@school-a.example")).json()
    assert sorted(b["session_id"] for b in mine) == sorted([s1, s2])
    assert {b["attendee"]["email"] for b in mine} == {"staff1@school-a.example"}
    assert cpd.get("/me/bookings", cpd.h(SCHOOL_B, "teacher",
                                         sub="staff1@school-a.example")).json() == []


def test_the_same_person_cannot_book_a_session_twice(cpd, api):
    _, (session_id,) = cpd.course()
    assert cpd.book_self(session_id, 1).status_code == 201
    again = cpd.book_self(session_id, 1)
    assert again.status_code == 409
    assert sql(api[1], "SELECT count(*) FROM bookings")[0][0] == 1


def test_a_self_booker_cannot_take_over_another_persons_email(cpd, api):
    _, (session_id,) = cpd.course()
    cpd.book_self(session_id, 1)
    impostor = cpd.post(f"/sessions/{session_id}/bookings",
                        cpd.h(SCHOOL_A, "teacher", sub="someone-else"),
                        {"attendee": {"name": "Staff 1", "email": "staff1@school-a.example"}})
    assert impostor.status_code == 409 and "attendee.email" in impostor.json()["errors"]


def test_a_colleagues_email_does_not_bind_their_record_to_someone_else(cpd, api):
    """Issue 11: a teacher self-booking with a colleague's email (before the colleague
    first signed in) took over the colleague's CPD identity."""
    _, (s1, s2) = cpd.course(sessions=2)
    attacker = cpd.h(SCHOOL_A, "teacher", sub="mallory@school-a.example")
    taken = cpd.post(f"/sessions/{s1}/bookings", attacker,
                     {"attendee": {"name": "Staff 1", "email": "staff1@school-a.example"}})
    assert taken.status_code == 409 and "attendee.email" in taken.json()["errors"]
    assert sql(api[1], "SELECT count(*) FROM people WHERE sub = 'mallory@school-a.example'"
               )[0][0] == 0
    # The school's CPD lead books for the colleague: a record, bound to nobody.
    lead = cpd.h(SCHOOL_A, "cpd_admin", sub="lead-a")
    assert cpd.post(f"/sessions/{s1}/bookings", lead, {"attendee": {
        "name": "Staff 1", "email": "staff1@school-a.example"}}).status_code == 201
    assert sql(api[1], "SELECT sub FROM people WHERE email = 'staff1@school-a.example'"
               ) == [(None,)]
    # The colleague themselves (sub = the address, any case) binds it, and sees it.
    me = cpd.h(SCHOOL_A, "teacher", sub="Staff1@School-A.example")
    assert cpd.post(f"/sessions/{s2}/bookings", me, {"attendee": {
        "name": "Staff 1", "email": "staff1@school-a.example"}}).status_code == 201
    assert len(cpd.get("/me/bookings", me).json()) == 2
    assert cpd.get("/me/bookings", attacker).json() == []


def test_per_organisation_limit_of_places(cpd, api):
    _, (session_id,) = cpd.course(capacity=10, places_per_org=2)
    assert [cpd.book_self(session_id, n).status_code for n in range(3)] == [201, 201, 409]
    assert cpd.book_self(session_id, 9, org=SCHOOL_B).status_code == 201


def test_per_organisation_limit_from_the_service_setting(run_service, database_urls, http,
                                                         token):
    base, _, _ = run_service(CpdService, db_url=database_urls("cpd"), CPD_PLACES_PER_ORG="1")
    client = Cpd(base, http, token)
    _, (session_id,) = client.course(capacity=10)
    assert [client.book_self(session_id, n).status_code for n in range(2)] == [201, 409]


def test_cpd_lead_books_for_staff_and_approves_staff_bookings(cpd, api):
    _, (session_id,) = cpd.course(capacity=5, requires_approval=True)
    lead = cpd.h(SCHOOL_A, "cpd_admin", sub="lead-a")
    by_lead = cpd.post(f"/sessions/{session_id}/bookings", lead,
                       {"attendee": {"name": "Pat Jones", "email": "pat@school-a.example"}})
    assert by_lead.status_code == 201 and by_lead.json()["status"] == "confirmed"

    own = cpd.book_self(session_id, 1)
    assert own.json()["status"] == "pending_approval"
    booking_id = own.json()["id"]
    (requested,) = outbox(api[1], "booking.approval_requested")
    assert requested["data"]["booking_id"] == booking_id
    # the member of staff may not approve themselves, nor another school's lead
    assert cpd.post(f"/bookings/{booking_id}/approve",
                    cpd.h(SCHOOL_A, "teacher", sub="staff1@school-a.example")).status_code == 403
    assert cpd.post(f"/bookings/{booking_id}/approve",
                    cpd.h(SCHOOL_B, "cpd_admin")).status_code == 404
    assert cpd.post(f"/bookings/{booking_id}/approve", cpd.admin).status_code == 403
    approved = cpd.post(f"/bookings/{booking_id}/approve", lead)
    assert approved.status_code == 200 and approved.json()["status"] == "confirmed"
    assert cpd.post(f"/bookings/{booking_id}/approve", lead).status_code == 409

    other = cpd.book_self(session_id, 2).json()
    declined = cpd.post(f"/bookings/{other['id']}/decline", lead)
    assert declined.json()["status"] == "declined"
    cancelled = outbox(api[1], "booking.cancelled")
    assert cancelled[-1]["data"]["reason"] == "declined"

    # the lead sees their own staff's bookings only; the provider sees all
    cpd.book_self(session_id, 7, org=SCHOOL_B)
    seen_by_lead = cpd.get(f"/sessions/{session_id}/bookings", lead).json()
    assert {b["org_id"] for b in seen_by_lead} == {SCHOOL_A}
    seen_by_provider = cpd.get(f"/sessions/{session_id}/bookings", cpd.admin).json()
    assert {b["org_id"] for b in seen_by_provider} == {SCHOOL_A, SCHOOL_B}


def test_bookings_of_other_organisations_are_not_found(cpd, api):
    _, (session_id,) = cpd.course()
    booking_id = cpd.book_self(session_id, 1).json()["id"]
    for headers in (cpd.h(SCHOOL_B, "cpd_admin"), cpd.h(SCHOOL_B, "teacher",
                                                          sub="staff1@school-a.example"),
                    cpd.h(SCHOOL_A, "teacher", sub="a-colleague")):
        assert cpd.get(f"/bookings/{booking_id}", headers).status_code == 404
        assert cpd.post(f"/bookings/{booking_id}/cancel", headers).status_code == 404
    assert sql(api[1], "SELECT status FROM bookings")[0][0] == "confirmed"
    assert cpd.get(f"/bookings/{booking_id}", cpd.h(SCHOOL_A, "cpd_admin")).status_code == 200
    assert cpd.get(f"/bookings/{booking_id}", cpd.admin).status_code == 200


def test_wrong_roles_and_missing_tokens(cpd, api):
    _, (session_id,) = cpd.course()
    body = {"attendee": {"name": "A", "email": "a@school-a.example"}}
    assert cpd.post(f"/sessions/{session_id}/bookings", {}, body).status_code == 401
    for role in ("auditor", "partner_referrer"):
        resp = cpd.post(f"/sessions/{session_id}/bookings", cpd.h(SCHOOL_A, role), body)
        assert resp.status_code == 403
    assert sql(api[1], "SELECT count(*) FROM bookings")[0][0] == 0


BAD_BOOKINGS = {
    "no attendee": ({}, "attendee"),
    "bad email": ({"attendee": {"name": "A", "email": "nope"}}, "attendee.email"),
    "empty name": ({"attendee": {"name": "", "email": "a@b.example"}}, "attendee.name"),
}


@pytest.mark.parametrize("case", BAD_BOOKINGS)
def test_bad_booking_input_is_422_and_stores_nothing(cpd, api, case):
    _, (session_id,) = cpd.course()
    body, field = BAD_BOOKINGS[case]
    resp = cpd.post(f"/sessions/{session_id}/bookings", cpd.h(SCHOOL_A, "teacher"), body)
    assert resp.status_code == 422 and field in resp.json()["errors"], resp.text
    assert sql(api[1], "SELECT count(*) FROM bookings")[0][0] == 0
    assert outbox(api[1], "booking.confirmed") == []


def test_prerequisites_must_be_completed_first(cpd, api):
    basic_id, _ = cpd.course(title="Autism basics")
    _, (session_id,) = cpd.course(title="Autism advanced", prerequisites=[basic_id])
    resp = cpd.book_self(session_id, 1)
    assert resp.status_code == 409 and resp.json()["errors"]["prerequisites"] == [basic_id]


def test_cancelling_a_session_ends_every_booking_and_tells_them(cpd, api):
    _, (session_id,) = cpd.course(capacity=1)
    first = cpd.book_self(session_id, 1).json()
    cpd.book_self(session_id, 2)
    resp = cpd.post(f"/sessions/{session_id}/cancel", cpd.admin)
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    assert {r[0] for r in sql(api[1], "SELECT status FROM bookings")} == {"cancelled"}
    (event,) = outbox(api[1], "session.cancelled")
    assert [a["email"] for a in event["data"]["attendees"]] == [
        "staff1@school-a.example", "staff2@school-a.example"]
    assert cpd.book_self(session_id, 3).status_code == 409
    assert cpd.post(f"/sessions/{session_id}/cancel", cpd.admin).status_code == 409
    assert cpd.post(f"/sessions/{session_id}/cancel",
                    cpd.h(SCHOOL_A, "cpd_admin")).status_code == 403
    ics = cpd.http.get(cpd.base + first["calendar_path"])
    assert b"METHOD:CANCEL" in ics.content and b"STATUS:CANCELLED" in ics.content


# -- concurrency -------------------------------------------------------------------------

def test_many_simultaneous_bookings_never_overbook_and_keep_the_waitlist_order(cpd, api):
    capacity, attempts = 5, 40
    _, (session_id,) = cpd.course(capacity=capacity)

    def book(n):
        return cpd.book_self(session_id, n, org=f"school-{n % 4}")

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        responses = list(pool.map(book, range(attempts)))

    assert [r.status_code for r in responses] == [201] * attempts
    bodies = [r.json() for r in responses]
    confirmed = [b for b in bodies if b["status"] == "confirmed"]
    waitlisted = [b for b in bodies if b["status"] == "waitlisted"]
    assert len(confirmed) == capacity and len(waitlisted) == attempts - capacity
    assert sorted(b["waitlist_position"] for b in waitlisted) == list(
        range(1, attempts - capacity + 1))

    db = api[1]
    assert sql(db, "SELECT seats_taken, capacity FROM sessions")[0] == (capacity, capacity)
    rows = sql(db, "SELECT id, status, seq FROM bookings ORDER BY seq")
    assert [r[2] for r in rows] == list(range(1, attempts + 1))  # one number each
    assert [r[1] for r in rows].count("confirmed") == capacity
    # the waitlist is in order of arrival: the positions given follow the numbers
    by_id = {b["id"]: b for b in waitlisted}
    assert [by_id[r[0]]["waitlist_position"] for r in rows if r[1] == "waitlisted"] == list(
        range(1, attempts - capacity + 1))
    # the first `capacity` arrivals hold the places
    assert all(r[1] == "confirmed" for r in rows[:capacity])
    assert len(outbox(db, "booking.confirmed")) == capacity
    assert len(outbox(db, "booking.waitlisted")) == attempts - capacity

    # cancel three places at once: the first three on the waitlist move up, in order
    def cancel(b):
        n = bodies.index(b)
        return cpd.post(f"/bookings/{b['id']}/cancel",
                        cpd.h(f"school-{n % 4}", "teacher", sub=f"staff{n}@school-{n % 4}.example"))

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert [r.status_code for r in pool.map(cancel, confirmed[:3])] == [200] * 3
    rows = sql(db, "SELECT id, status FROM bookings ORDER BY seq")
    waiting_ids = [i for _, i in sorted((b["waitlist_position"], b["id"]) for b in waitlisted)]
    status = dict(rows)
    assert [status[i] for i in waiting_ids[:3]] == ["confirmed"] * 3
    assert all(status[i] == "waitlisted" for i in waiting_ids[3:])
    assert sql(db, "SELECT seats_taken FROM sessions")[0][0] == capacity
    assert sum(1 for s in status.values() if s == "confirmed") == capacity


# -- platform skeleton --------------------------------------------------------------------

def test_openapi_health_and_unknown_routes(cpd, api):
    doc = cpd.get("/openapi.json").json()
    assert "/api/v1/cpd/sessions/{session_id}/bookings" in doc["paths"]
    assert cpd.http.get(cpd.base + "/health/ready").json()["checks"]["database"] == "ok"
    missing = cpd.get("/courses/nope", cpd.h(SCHOOL_A, "teacher"))
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"


def test_another_organisation_reaches_nothing_of_school_a(cpd, api):
    """Every endpoint that names a record of school A (or the hub's draft), called
    by school B in each of its roles: refused (403/404), and nothing changes."""
    draft_id, (draft_session,) = cpd.course(publish=False)
    course_id, (session_id,) = cpd.course(capacity=1)
    booking = cpd.book_self(session_id, 1).json()
    pending = cpd.book_self(session_id, 2).json()  # waitlisted
    cert_id = attend(cpd, session_id, booking["id"]).json()["certificates_issued"][0]
    person_id = cpd.get(f"/bookings/{booking['id']}", cpd.admin).json()["person_id"]
    before = sql(api[1], "SELECT id, status, attended FROM bookings ORDER BY id")
    events = len(outbox(api[1]))

    calls = [
        ("get", f"/courses/{draft_id}", None),
        ("patch", f"/courses/{course_id}", {"title": "x"}),
        ("post", f"/courses/{draft_id}/publish", None),
        ("post", f"/courses/{course_id}/sessions", session_body()),
        ("patch", f"/sessions/{session_id}", {"capacity": 9}),
        ("post", f"/sessions/{session_id}/cancel", None),
        ("post", f"/sessions/{draft_session}/bookings",
         {"attendee": {"name": "B", "email": "b@school-b.example"}}),
        ("put", f"/sessions/{session_id}/attendance",
         {"records": [{"booking_id": booking["id"], "attended": True}]}),
        ("get", f"/bookings/{booking['id']}", None),
        ("post", f"/bookings/{booking['id']}/cancel", None),
        ("post", f"/bookings/{pending['id']}/approve", None),
        ("post", f"/bookings/{pending['id']}/decline", None),
        ("get", f"/certificates/{cert_id}", None),
        ("get", f"/certificates/{cert_id}/pdf", None),
        ("get", f"/records/people/{person_id}", None),
        ("get", f"/courses/{course_id}/evaluations", None),
    ]
    roles = ("cpd_admin", "teacher", "senco", "trust_admin", "auditor", "partner_referrer")
    for role in roles:
        headers = cpd.h(SCHOOL_B, role, sub="staff1@school-a.example")  # even with the same sub
        for method, path, body in calls:
            resp = cpd.http.request(method, cpd.base + API + path, json=body, headers=headers)
            assert resp.status_code in (403, 404), (role, method, path, resp.status_code)
            assert resp.headers["Content-Type"] == "application/problem+json"
        listed = cpd.get(f"/sessions/{session_id}/bookings", cpd.h(SCHOOL_B, "cpd_admin"))
        assert listed.json() == []
    assert sql(api[1], "SELECT id, status, attended FROM bookings ORDER BY id") == before
    assert len(outbox(api[1])) == events


# -- found by schemathesis: malformed input must be a 422, never a 500 ---------------

def test_attendance_item_without_a_booking_is_422(cpd, api):
    _, (session_id,) = cpd.course()
    resp = cpd.http.put(cpd.base + API + f"/sessions/{session_id}/attendance",
                        json={"records": [{"attended": False}]}, headers=cpd.admin)
    assert resp.status_code == 422 and "records.0.booking_id" in resp.json()["errors"]


def test_an_offset_beyond_any_database_integer_is_422(cpd, api):
    resp = cpd.get("/courses?offset=6128171837146351818353147904", cpd.h(SCHOOL_A, "teacher"))
    assert resp.status_code == 422 and "offset" in resp.json()["errors"]


def test_attendance_cannot_be_marked_before_the_session_starts(cpd, api):
    """Issue 11: attendance was accepted (and certificates issued) for a session next week."""
    _, (session_id,) = cpd.course()
    booking = cpd.book_self(session_id, 1).json()
    early = cpd.http.put(cpd.base + API + f"/sessions/{session_id}/attendance",
                         json={"records": [{"booking_id": booking["id"], "attended": True}]},
                         headers=cpd.admin)
    assert early.status_code == 409, early.text
    assert "not started" in early.json()["detail"]
    assert sql(api[1], "SELECT attended FROM bookings") == [(None,)]
    assert outbox(api[1], "certificate.issued") == []
    marked = attend(cpd, session_id, booking["id"])  # once it has started
    assert marked.status_code == 200 and marked.json()["certificates_issued"]


def test_need_trend_dates_far_in_the_past_or_future_are_422(cpd, api):
    """Issue 11: as_of=0002-01-01 overflowed the term arithmetic (a 500)."""
    for as_of in ("0002-01-01", "9999-12-31"):
        resp = cpd.get("/reports/need-trend", cpd.admin, as_of=as_of)
        assert resp.status_code == 422 and "as_of" in resp.json()["errors"], resp.text
    course_id, _ = cpd.course(sessions=0, publish=False)
    bad = cpd.post(f"/courses/{course_id}/sessions", cpd.admin,
                   session_body(starts_at="0001-01-01T09:00:00+00:00"))
    assert bad.status_code == 422 and "starts_at" in bad.json()["errors"], bad.text
