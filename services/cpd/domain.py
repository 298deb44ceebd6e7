"""CPD rules, in plain Python (no nameko, no SQL).

Decisions (documented in the service's docstring too):
- A course is one unit of training made of one or more sessions (day 1, day 2,
  ...). Each session is booked separately; attending every session of the
  course that was not cancelled completes it and issues the certificate.
- People are staff, identified by email within their organisation; the token's
  `sub` is linked to that person the first time they book for themselves.
"""

import secrets
from datetime import UTC, datetime, time, timedelta

from services.common.csvexport import csv_text
from services.contracts.school_calendar import (  # noqa: F401  (one definition, re-exported)
    TERMS,
    academic_year_of,
    term_dates,
    term_of,
)
from services.contracts.sen import AREAS_OF_NEED

DRAFT, PUBLISHED = "draft", "published"
SCHEDULED, CANCELLED = "scheduled", "cancelled"

PENDING = "pending_approval"
CONFIRMED = "confirmed"
WAITLISTED = "waitlisted"
DECLINED = "declined"
# CANCELLED (above) is also a booking status.
ACTIVE = (PENDING, CONFIRMED, WAITLISTED)  # hold (or wait for) a place

# Roles: who does what.
COURSE_ADMIN = "cpd_admin"  # manages the courses its organisation provides; CPD lead of its school
STAFF_ROLES = ("senco", "teacher", "outreach", "outreach_lead", "trust_admin")  # self-book
RECORD_READERS = ("cpd_admin", "trust_admin", "auditor")  # an organisation's CPD records

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


# -- courses and sessions ------------------------------------------------------------

class RuleBroken(Exception):
    """A request that is well formed but breaks a rule (HTTP 409)."""

    def __init__(self, detail, field=None):
        super().__init__(detail)
        self.detail = detail
        self.field = field


def check_session_times(starts_at, ends_at, now, *, allow_past=False):
    if ends_at <= starts_at:
        raise ValueError("ends_at: Must be after starts_at")
    if ends_at - starts_at > timedelta(hours=12):
        raise ValueError("ends_at: A session lasts at most 12 hours")
    if not allow_past and starts_at <= now:
        raise ValueError("starts_at: Must be in the future")


def can_publish(sessions):
    if not any(s.status == SCHEDULED for s in sessions):
        raise RuleBroken("A course needs at least one scheduled session before it is published")


def bookable(course, session, now):
    """Raise RuleBroken unless a new booking may be made on `session`."""
    if course.status != PUBLISHED:
        raise RuleBroken("The course is not published")
    if session.status != SCHEDULED:
        raise RuleBroken("The session is cancelled")
    if session.starts_at <= now:
        raise RuleBroken("The session has already started")


def missing_prerequisites(prerequisites, completed_course_ids):
    return [c for c in prerequisites if c not in set(completed_course_ids)]


def places_per_org(course, default_limit):
    """The per-organisation limit of places per session, or None for no limit."""
    limit = course.places_per_org if course.places_per_org is not None else default_limit
    return limit if limit and limit > 0 else None


def initial_status(course, booked_by_lead):
    """A booking needs the CPD lead's approval when the course says so, unless the
    lead made it."""
    return PENDING if course.requires_approval and not booked_by_lead else None


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


# -- CSV export -----------------------------------------------------------------------

def records_csv(records):
    """An organisation's CPD records (as built by records.person_records) as CSV text,
    every cell through the kit's formula-safe writer."""
    rows = []
    for rec in records:
        codes = {c.course_id: c.verification_code for c in rec["certificates"]}
        rows.extend([rec["name"], rec["email"], line.course_title, line.area_of_need,
                     f"{line.cpd_hours:g}", line.completed_on.isoformat(),
                     codes.get(line.course_id, "")] for line in rec["courses"])
    return csv_text(["name", "email", "course", "area_of_need", "cpd_hours",
                     "completed_on", "verification_code"], rows)
