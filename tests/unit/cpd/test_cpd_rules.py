"""CPD rules as plain functions: terms, charging, completion, limits, codes,
evaluation summaries, the need/training trend and the iCalendar builder."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from icalendar import Calendar

from services.common.errors import Conflict, RuleBroken
from services.cpd import domain
from services.cpd.adapters import calendar

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def course(**kw):
    defaults = {"id": "c-1", "provider_org_id": "trust", "price_pence": 7500,
                "places_per_org": None, "requires_approval": False, "status": "published",
                "title": "Autism basics", "summary": "What autism is", "cpd_hours": 3.0}
    return SimpleNamespace(**{**defaults, **kw})


def session(**kw):
    defaults = {"id": "s-1", "status": "scheduled", "starts_at": NOW + timedelta(days=3),
                "ends_at": NOW + timedelta(days=3, hours=3), "venue": "Hub",
                "online_url": None, "facilitator": "Dr Khan", "sequence": 0}
    return SimpleNamespace(**{**defaults, **kw})


@pytest.mark.parametrize("day, label", [
    (date(2026, 9, 1), "2026/27 autumn"),
    (date(2026, 12, 31), "2026/27 autumn"),
    (date(2027, 3, 28), "2026/27 spring"),   # Easter Sunday 2027
    (date(2027, 3, 29), "2026/27 summer"),   # Easter Monday
    (date(2027, 8, 31), "2026/27 summer"),
])
def test_terms_match_the_referrals_definition(day, label):
    assert domain.term_label(day) == label


def test_previous_terms_are_oldest_first():
    assert domain.previous_terms(date(2027, 1, 10), 3) == [
        "2025/26 summer", "2026/27 autumn", "2026/27 spring"]


def test_partners_pay_and_the_trust_trains_free():
    c = course()
    assert domain.charge_for(c, "school-a", "partner_school") == 7500
    assert domain.charge_for(c, "school-x", None) == 7500  # not onboarded yet: a partner
    assert domain.charge_for(c, "oak", "trust_school") == 0
    assert domain.charge_for(c, "arb-1", "arb") == 0
    assert domain.charge_for(c, "trust", None) == 0  # the provider's own staff
    assert domain.charge_for(course(price_pence=0), "school-a", "partner_school") == 0


def test_completion_needs_every_session_that_went_ahead():
    assert domain.course_completed(["s1", "s2"], ["s1", "s2"])
    assert not domain.course_completed(["s1", "s2"], ["s1"])
    assert not domain.course_completed([], [])


def test_places_per_org_comes_from_the_course_or_the_setting():
    assert domain.places_per_org(course(places_per_org=2), 5) == 2
    assert domain.places_per_org(course(), 5) == 5
    assert domain.places_per_org(course(), 0) is None


def test_approval_is_needed_only_for_self_bookings_on_approval_courses():
    assert domain.initial_status(course(requires_approval=True), booked_by_lead=False) == \
        domain.BookingStatus.PENDING
    assert domain.initial_status(course(requires_approval=True), booked_by_lead=True) is None
    assert domain.initial_status(course(), booked_by_lead=False) is None


def test_bookable_refuses_drafts_cancelled_and_started_sessions():
    domain.bookable(course(), session(), NOW)
    for c, s in [(course(status="draft"), session()), (course(), session(status="cancelled")),
                 (course(), session(starts_at=NOW - timedelta(minutes=1)))]:
        with pytest.raises(Conflict):
            domain.bookable(c, s, NOW)


def test_session_times():
    with pytest.raises(RuleBroken) as exc:
        domain.check_session_times(NOW + timedelta(hours=2), NOW + timedelta(hours=1), NOW)
    assert list(exc.value.errors) == ["ends_at"]
    with pytest.raises(RuleBroken) as exc:
        domain.check_session_times(NOW - timedelta(hours=2), NOW - timedelta(hours=1), NOW)
    assert list(exc.value.errors) == ["starts_at"]
    with pytest.raises(RuleBroken) as exc:
        domain.check_session_times(NOW + timedelta(hours=1), NOW + timedelta(hours=14), NOW)
    assert "12 hours" in exc.value.errors["ends_at"][0]


def test_verification_codes_are_unique_and_forgiving_to_type():
    codes = {domain.new_verification_code() for _ in range(1000)}
    assert len(codes) == 1000
    code = "CPD-AB01-0000-1111"
    assert domain.normalise_code(" cpd-abo1-oooo-iiil ") == code


def test_evaluation_summary():
    summary = domain.evaluation_summary([(5, "a"), (4, "b"), (4, "c")])
    assert summary["count"] == 3 and summary["average_rating"] == 4.33
    assert summary["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}
    assert domain.evaluation_summary([])["average_rating"] is None


def test_need_trend_flags_rising_areas_that_training_did_not_follow():
    terms = ["2026/27 autumn", "2026/27 spring"]
    autumn, spring = date(2026, 10, 1), date(2027, 2, 1)
    result = {r["area_of_need"]: r for r in domain.need_trend(
        terms,
        [("communication_and_interaction", autumn), ("communication_and_interaction", spring),
         ("communication_and_interaction", spring), ("sensory_and_physical", spring),
         ("sensory_and_physical", date(2020, 1, 1))],  # outside the window: ignored
        [("sensory_and_physical", spring)],
        [("sensory_and_physical", spring, 3.0)])}
    ci, sp = result["communication_and_interaction"], result["sensory_and_physical"]
    assert [t["referrals"] for t in ci["terms"]] == [1, 2]
    assert ci["rising"] and ci["under_trained"]
    assert sp["rising"] and not sp["under_trained"]
    assert sp["terms"][1]["cpd_hours"] == 3.0
    assert not result["cognition_and_learning"]["rising"]


def test_invitation_and_cancellation_keep_the_uid_and_raise_the_sequence():
    booking = SimpleNamespace(id="b-1", status="confirmed", revision=0)
    person = SimpleNamespace(name="Jo Smith", email="jo@school.example")
    invite = Calendar.from_ical(calendar.invitation(booking, session(), course(), person,
                                                    "cpd@trust.example", now=NOW))
    assert invite["METHOD"] == "REQUEST"
    (event,) = invite.walk("VEVENT")
    assert str(event["UID"]) == "b-1@cpd.sen-trust.example"
    assert event.decoded("DTSTART") == NOW + timedelta(days=3)
    assert event["SEQUENCE"] == 0 and event["STATUS"] == "CONFIRMED"
    assert str(event["ATTENDEE"]) == "mailto:jo@school.example"

    booking.status, booking.revision = "cancelled", 1
    cancel = Calendar.from_ical(calendar.invitation(booking, session(sequence=2), course(),
                                                    person, "cpd@trust.example", now=NOW))
    (event,) = cancel.walk("VEVENT")
    assert cancel["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert str(event["UID"]) == "b-1@cpd.sen-trust.example" and event["SEQUENCE"] == 3


def test_waiting_bookings_are_tentative():
    booking = SimpleNamespace(id="b-2", status="waitlisted", revision=0)
    person = SimpleNamespace(name="Jo Smith", email="jo@school.example")
    cal = Calendar.from_ical(calendar.invitation(booking, session(), course(), person,
                                                 "cpd@trust.example", now=NOW))
    (event,) = cal.walk("VEVENT")
    assert cal["METHOD"] == "REQUEST" and event["STATUS"] == "TENTATIVE"
    assert event["ATTENDEE"].params["PARTSTAT"] == "TENTATIVE"
