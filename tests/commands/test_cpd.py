"""The cpd service's use cases on an in-memory database (no broker, no HTTP):
publishing, capacity and the waitlist, promotion on cancellation, approval by
the school's CPD lead, attendance to certificate, and the calendar fields the
booking and session events carry (issue 15)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.common.auth import Principal
from services.common.errors import Conflict, NotAllowed, NotFound
from services.contracts import parse_event
from services.cpd import domain
from services.cpd.commands import attendance, bookings, courses, sessions
from services.cpd.models import Base, CourseSession
from services.cpd.queries import certificates as certificate_reads
from services.cpd.schemas import CourseCreateSchema, SessionCreateSchema
from tests.commands.conftest import emitted

HUB = Principal(sub="hub-admin", org="trust", roles=frozenset({"cpd_admin"}), org_kind="trust")
LEAD_A = Principal(sub="lead@school-a.example", org="school-a",
                   roles=frozenset({"cpd_admin"}), org_kind="trust_school")
LEAD_B = Principal(sub="lead@school-b.example", org="school-b",
                   roles=frozenset({"cpd_admin"}), org_kind="partner_school")
CALENDAR_FIELDS = {"calendar_sequence", "calendar_status", "course_summary", "cpd_hours"}


def staff(n, org="school-a"):
    return Principal(sub=f"staff{n}@{org}.example", org=org, roles=frozenset({"teacher"}),
                     org_kind="trust_school")


def attendee(n, org="school-a"):
    return {"name": f"Staff {n}", "email": f"staff{n}@{org}.example"}


def now():
    return datetime.now(UTC)


@pytest.fixture
def db(memory_db):
    return memory_db("cpd", Base.metadata)


def new_course(db, sessions_=1, capacity=1, publish=True, **overrides):
    body = CourseCreateSchema().load({
        "title": "Autism basics", "summary": "Autism in the classroom.",
        "audience": "Teachers", "area_of_need": "communication_and_interaction",
        "cpd_hours": 3, **overrides})
    course = courses.create_course(db, HUB, body, now())
    ids = []
    for i in range(sessions_):
        start = (now() + timedelta(days=7 + i)).replace(microsecond=0)
        session = courses.add_session(db, HUB, course.id, SessionCreateSchema().load({
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat(),
            "venue": "Hub, Room 2", "facilitator": "Dr A. Khan", "capacity": capacity}), now())
        ids.append(session.id)
    if publish:
        courses.publish_course(db, HUB, course.id)
    return course, ids


def book(db, session_id, n, org="school-a"):
    return bookings.create_booking(db, staff(n, org), session_id, attendee(n, org), now(),
                                   default_limit=0)


def data(db, event_type):
    """The data of each event of `event_type`, read back as a consumer reads it."""
    return [parse_event(e)["data"] for e in emitted(db, event_type)]


def test_a_course_is_published_once_it_has_a_session(db):
    course, _ = new_course(db, sessions_=0, publish=False)
    with pytest.raises(Conflict, match="at least one scheduled session"):
        courses.publish_course(db, HUB, course.id)
    with pytest.raises(NotFound):  # another organisation's draft
        courses.publish_course(db, LEAD_A, course.id)
    start = now() + timedelta(days=3)
    courses.add_session(db, HUB, course.id, SessionCreateSchema().load({
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
        "online_url": "https://meet.example/x", "facilitator": "Dr A. Khan",
        "capacity": 5}), now())
    published = courses.publish_course(db, HUB, course.id)
    assert published.status == domain.CourseStatus.PUBLISHED
    (event,) = data(db, "course.published")
    assert event["title"] == "Autism basics" and len(event["sessions"]) == 1
    assert event["sessions"][0]["facilitator"] == "Dr A. Khan"
    with pytest.raises(Conflict, match="already published"):
        courses.publish_course(db, HUB, course.id)
    with pytest.raises(NotAllowed):  # published, but not LEAD_A's to change
        courses.update_course(db, LEAD_A, course.id, {"title": "Mine now"})


def test_a_full_session_waitlists_and_a_cancellation_promotes_the_first_waiting(db):
    _, (session_id,) = new_course(db, capacity=1)
    first = book(db, session_id, 1)
    second = book(db, session_id, 2)
    third = book(db, session_id, 3)
    assert (first.status, second.status, third.status) == ("confirmed", "waitlisted",
                                                          "waitlisted")
    assert (second.waitlist_position, third.waitlist_position) == (1, 2)

    (confirmed,) = data(db, "booking.confirmed")
    assert confirmed["booking_id"] == first.id
    assert confirmed["calendar_status"] == "CONFIRMED" and confirmed["calendar_sequence"] == 0
    assert confirmed["course_summary"] == "Autism in the classroom."
    assert confirmed["cpd_hours"] == 3
    assert confirmed["session"]["facilitator"] == "Dr A. Khan"
    assert confirmed["session"]["venue"] == "Hub, Room 2"
    waitlisted = data(db, "booking.waitlisted")
    assert [(w["waitlist_position"], w["calendar_status"]) for w in waitlisted] == [
        (1, "TENTATIVE"), (2, "TENTATIVE")]

    cancelled = bookings.cancel_booking(db, staff(1), first.id)
    assert cancelled.status == "cancelled"
    (gone,) = data(db, "booking.cancelled")
    assert gone["reason"] == "cancelled_by_attendee"
    assert (gone["calendar_status"], gone["calendar_sequence"]) == ("CANCELLED", 1)
    (promoted,) = data(db, "booking.promoted")
    assert promoted["booking_id"] == second.id  # first come, first served
    assert (promoted["calendar_status"], promoted["calendar_sequence"]) == ("CONFIRMED", 1)
    with db.session() as s:
        assert s.get(CourseSession, session_id).seats_taken == 1
    with pytest.raises(Conflict, match="no longer active"):
        bookings.cancel_booking(db, staff(1), first.id)
    with pytest.raises(NotFound):  # another school's booking
        bookings.cancel_booking(db, staff(9, "school-b"), second.id)


def test_a_self_booking_on_an_approval_course_waits_for_the_school_cpd_lead(db):
    _, (session_id,) = new_course(db, capacity=1, requires_approval=True)
    pending = book(db, session_id, 1)
    other = book(db, session_id, 2)
    assert pending.status == other.status == domain.BookingStatus.PENDING
    requested = data(db, "booking.approval_requested")
    assert [r["calendar_status"] for r in requested] == ["TENTATIVE", "TENTATIVE"]
    assert not emitted(db, "booking.confirmed")

    with pytest.raises(NotAllowed):  # the provider does not approve for a school
        bookings.decide(db, HUB, pending.id, approve=True)
    with pytest.raises(NotFound):  # another school's lead does not see it
        bookings.decide(db, LEAD_B, pending.id, approve=True)
    approved = bookings.decide(db, LEAD_A, pending.id, approve=True)
    assert approved.status == "confirmed"
    (confirmed,) = data(db, "booking.confirmed")
    assert confirmed["calendar_sequence"] == 1  # the approval changed the booking
    declined = bookings.decide(db, LEAD_A, other.id, approve=False)
    assert declined.status == "declined"
    (refused,) = data(db, "booking.cancelled")
    assert refused["reason"] == "declined" and refused["calendar_status"] == "CANCELLED"
    with pytest.raises(Conflict, match="not waiting"):
        bookings.decide(db, LEAD_A, other.id, approve=True)

    by_lead = bookings.create_booking(db, LEAD_A, session_id, attendee(3), now(),
                                      default_limit=0)
    assert by_lead.status == "waitlisted"  # no approval, and the one place is taken


def start_now(db, session_id):
    with db.unit_of_work() as uow:
        uow.session.execute(update(CourseSession).where(CourseSession.id == session_id)
                            .values(starts_at=now() - timedelta(minutes=5)))


def test_attending_every_session_issues_the_certificate_and_the_record(db):
    course, (day1, day2) = new_course(db, sessions_=2, capacity=3, cpd_hours=6)
    b1, b2 = book(db, day1, 1), book(db, day2, 1)
    with pytest.raises(Conflict, match="not started"):
        attendance.mark_attendance(db, HUB, day1, [{"booking_id": b1.id, "attended": True}])
    start_now(db, day1)
    with pytest.raises(NotAllowed):  # only the provider marks attendance
        attendance.mark_attendance(db, LEAD_A, day1, [{"booking_id": b1.id, "attended": True}])
    first = attendance.mark_attendance(db, HUB, day1, [{"booking_id": b1.id, "attended": True}])
    assert first["certificates_issued"] == [] and first["bookings"][0].attended is True
    start_now(db, day2)
    second = attendance.mark_attendance(db, HUB, day2, [{"booking_id": b2.id, "attended": True}])
    (cert_id,) = second["certificates_issued"]

    (issued,) = data(db, "certificate.issued")
    assert issued["certificate_id"] == cert_id and issued["cpd_hours"] == 6
    assert issued["attendee"] == attendee(1)
    assert issued["verify_path"].endswith(issued["verification_code"])
    record = certificate_reads.my_record(db, staff(1))
    assert record["total_hours"] == 6 and record["courses"][0].course_id == course.id
    with pytest.raises(Conflict, match="certificate was issued"):
        attendance.mark_attendance(db, HUB, day2, [{"booking_id": b2.id, "attended": False}])


def test_session_events_carry_each_attendee_invitation(db):
    _, (session_id,) = new_course(db, capacity=1)
    first, second = book(db, session_id, 1), book(db, session_id, 2)
    sessions.update_session(db, HUB, session_id, {"venue": "Elsewhere"}, now())
    (moved,) = data(db, "session.rescheduled")
    assert moved["session"]["venue"] == "Elsewhere" and moved["previous"]["venue"] == "Hub, Room 2"
    assert moved["course_summary"] == "Autism in the classroom." and moved["cpd_hours"] == 3
    assert [(a["booking_id"], a["calendar_status"], a["calendar_sequence"])
            for a in moved["attendees"]] == [(first.id, "CONFIRMED", 1),
                                             (second.id, "TENTATIVE", 1)]
    sessions.cancel_session(db, HUB, session_id, now())
    (cancelled,) = data(db, "session.cancelled")
    assert [(a["calendar_status"], a["calendar_sequence"]) for a in cancelled["attendees"]] == [
        ("CANCELLED", 3), ("CANCELLED", 3)]  # session 2 (moved, cancelled) + revision 1
    assert all(a["calendar_path"].endswith(".ics") for a in cancelled["attendees"])


def test_the_default_places_per_organisation_applies_where_the_course_says_none(db):
    _, (session_id,) = new_course(db, capacity=5)
    bookings.create_booking(db, staff(1), session_id, attendee(1), now(), default_limit=1)
    with pytest.raises(Conflict, match="already holds 1 of its 1 places"):
        bookings.create_booking(db, staff(2), session_id, attendee(2), now(), default_limit=1)
    other = bookings.create_booking(db, staff(1, "school-b"), session_id, attendee(1, "school-b"),
                                    now(), default_limit=1)
    assert other.status == "confirmed"  # the limit is per organisation
