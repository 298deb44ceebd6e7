"""CPD rules, in plain Python (no SQLAlchemy, nameko or HTTP): statuses,
booking rules, charging, completion, verification codes, the calendar state of a
booking, evaluation summaries and the need/training trend. Refusals are the
kit's domain errors (services/common/errors.py).

- A course is one unit of training made of one or more sessions (day 1, day 2,
  ...). Each session is booked separately; attending every session of the
  course that was not cancelled completes it and issues the certificate.
- People are staff, identified by email within their organisation; the token's
  `sub` is linked to that person the first time they book for themselves.
"""

import secrets
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from services.common.errors import Conflict, RuleBroken
from services.contracts.school_calendar import (  # noqa: F401  (one definition, re-exported)
    TERMS,
    academic_year_of,
    term_dates,
    term_of,
)
from services.contracts.sen import AREAS_OF_NEED


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class BookingStatus(StrEnum):
    PENDING = "pending_approval"  # waits for the school's CPD lead
    CONFIRMED = "confirmed"  # holds a place
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    DECLINED = "declined"


class CancelReason(StrEnum):
    BY_ATTENDEE = "cancelled_by_attendee"
    BY_CPD_LEAD = "cancelled_by_cpd_lead"
    BY_PROVIDER = "cancelled_by_provider"
    DECLINED = "declined"
    SESSION_CANCELLED = "session_cancelled"


class CalendarStatus(StrEnum):
    """A booking's iCalendar STATUS."""

    CONFIRMED = "CONFIRMED"
    TENTATIVE = "TENTATIVE"
    CANCELLED = "CANCELLED"


# Bookings that hold (or wait for) a place.
ACTIVE = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)

# Organisations whose staff train free: the trust and its own settings.
TRUST_KINDS = ("trust", "trust_school", "arb")


# -- terms (the same definition as the referrals service's traded hours) ----------

def term_label(day):
    year, term = term_of(day)
    return f"{year} {term}"


def previous_terms(day, count):
    """Labels of the `count` terms ending with the one `day` falls in, oldest first."""
    labels, current = [], day
    for _ in range(count):
        year, term = term_of(current)
        labels.append(f"{year} {term}")
        first, _last = term_dates(year, term)
        current = first - timedelta(days=1)
    return list(reversed(labels))


def first_day_of_terms(day, count):
    """The first day of the oldest of the `count` terms ending with `day`'s."""
    year, term = previous_terms(day, count)[0].split(" ")
    return term_dates(year, term)[0]


# -- courses and sessions ------------------------------------------------------------

def check_session_times(starts_at, ends_at, now, *, allow_past=False):
    """RuleBroken (422, naming the field) unless the times make a session."""
    problem = None
    if ends_at <= starts_at:
        problem = ("ends_at", "Must be after starts_at")
    elif ends_at - starts_at > timedelta(hours=12):
        problem = ("ends_at", "A session lasts at most 12 hours")
    elif not allow_past and starts_at <= now:
        problem = ("starts_at", "Must be in the future")
    if problem:
        field, message = problem
        raise RuleBroken("The session's times are not valid", errors={field: [message]})


def can_publish(course, sessions):
    if course.status == CourseStatus.PUBLISHED:
        raise Conflict("The course is already published")
    if not any(s.status == SessionStatus.SCHEDULED for s in sessions):
        raise Conflict("A course needs at least one scheduled session before it is published")


def bookable(course, session, now):
    """Conflict (409) unless a new booking may be made on `session`."""
    if course.status != CourseStatus.PUBLISHED:
        raise Conflict("The course is not published")
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict("The session is cancelled")
    if session.starts_at <= now:
        raise Conflict("The session has already started")


def missing_prerequisites(prerequisites, completed_course_ids):
    return [c for c in prerequisites if c not in set(completed_course_ids)]


def places_per_org(course, default_limit):
    """The per-organisation limit of places per session, or None for no limit."""
    limit = course.places_per_org if course.places_per_org is not None else default_limit
    return limit if limit and limit > 0 else None


def initial_status(course, booked_by_lead):
    """A booking needs the CPD lead's approval when the course says so, unless the
    lead made it."""
    return BookingStatus.PENDING if course.requires_approval and not booked_by_lead else None


def charge_for(course, attendee_org_id, attendee_org_kind):
    """Traded places: partner schools pay the course's price; the provider's own
    staff and the trust's schools train free. An organisation we have not heard
    of (no organisation.onboarded yet) is treated as a partner."""
    if attendee_org_id == course.provider_org_id or attendee_org_kind in TRUST_KINDS:
        return 0
    return course.price_pence


def course_completed(scheduled_session_ids, attended_session_ids):
    """True when the person attended every session of the course that went ahead."""
    required = set(scheduled_session_ids)
    return bool(required) and required <= set(attended_session_ids)


def cancel_reason(access):
    """Why a booking ends, by who cancels it ("self", "lead" or "provider")."""
    return {"self": CancelReason.BY_ATTENDEE, "lead": CancelReason.BY_CPD_LEAD,
            "provider": CancelReason.BY_PROVIDER}[access]


# -- the calendar state of a booking ---------------------------------------------------

def calendar_status(booking, session):
    """TENTATIVE while the booking waits (approval, waitlist), CONFIRMED with a
    place, CANCELLED once it (or its session) is cancelled."""
    if (booking.status in (BookingStatus.CANCELLED, BookingStatus.DECLINED)
            or session.status == SessionStatus.CANCELLED):
        return CalendarStatus.CANCELLED
    if booking.status == BookingStatus.CONFIRMED:
        return CalendarStatus.CONFIRMED
    return CalendarStatus.TENTATIVE


def calendar_sequence(booking, session):
    """The invitation's SEQUENCE: the session's (bumped when its time or place
    changes, or it is cancelled) plus the booking's revision (bumped when its
    status changes), so a calendar takes every update."""
    return session.sequence + booking.revision


# Crockford's base32 without I, L, O, U: easy to read out and type.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_verification_code():
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(12))  # 60 bits
    return f"CPD-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def normalise_code(code):
    """Accept codes typed in lower case, with O for 0 or I/L for 1."""
    return code.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")


def new_key():
    """An unguessable key for a calendar URL (calendar apps cannot send tokens)."""
    return secrets.token_urlsafe(24)


# -- evaluation ---------------------------------------------------------------------

def evaluation_summary(ratings_and_changes):
    """{count, average, distribution, will_change} of (rating, will_change) pairs."""
    ratings = [r for r, _ in ratings_and_changes]
    distribution = {str(n): ratings.count(n) for n in range(1, 6)}
    average = round(sum(ratings) / len(ratings), 2) if ratings else None
    return {"count": len(ratings), "average_rating": average, "distribution": distribution,
            "will_change": [text for _, text in ratings_and_changes]}


# -- need against training -----------------------------------------------------------

def need_trend(terms, referral_rows, place_rows, hour_rows):
    """Per area of need and term: closed referrals that named the area, and the
    training delivered in it (session places attended, CPD hours certified).

    referral_rows: (area, day); place_rows: (area, day); hour_rows: (area, day,
    hours). An area is *rising* when its referrals grew in the latest term over
    the one before; *under_trained* when rising while places attended did not.
    """
    index = {t: i for i, t in enumerate(terms)}
    table = {a: {t: {"referrals": 0, "places_attended": 0, "cpd_hours": 0.0} for t in terms}
             for a in AREAS_OF_NEED}

    def cell(area, day):
        label = term_label(day)
        return table[area][label] if area in table and label in index else None

    for area, day in referral_rows:
        if (c := cell(area, day)) is not None:
            c["referrals"] += 1
    for area, day in place_rows:
        if (c := cell(area, day)) is not None:
            c["places_attended"] += 1
    for area, day, hours in hour_rows:
        if (c := cell(area, day)) is not None:
            c["cpd_hours"] += hours or 0.0
    result = []
    for area in AREAS_OF_NEED:
        per_term = [{"term": t, **table[area][t], "cpd_hours": round(table[area][t]["cpd_hours"], 2)}
                    for t in terms]
        last, before = per_term[-1], per_term[-2]
        rising = last["referrals"] > before["referrals"]
        result.append({"area_of_need": area, "terms": per_term, "rising": rising,
                       "under_trained": rising and last["places_attended"] <= before["places_attended"]})
    return result


def start_of(day):
    """Midnight UTC at the start of the day."""
    return datetime.combine(day, time.min, tzinfo=UTC)
