"""School calendars: each school's own term dates and INSET days, or the local
authority's pattern (services/contracts/school_calendar.py, the platform's one
calendar, which provision's costs count by)."""

from collections import defaultdict

from sqlalchemy import literal, null, select, union_all

from services.common import errors
from services.contracts import school_calendar
from services.contracts.school_calendar import SchoolCalendar, SchoolTerm

from ..models import SchoolInsetDay, SchoolTermDates
from . import scope


def academic_year(text):
    """'2026-27' (as in a URL) → '2026/27'; not found for anything else."""
    start, _, end = text.partition("-")
    if not (start.isdigit() and len(start) == 4 and end == f"{(int(start) + 1) % 100:02d}"):
        raise errors.NotFound("No such academic year (write it as 2026-27)")
    return f"{start}/{end}"


def calendars(session, org_ids=None):
    """{org_id: SchoolCalendar} of the schools that have set term dates or INSET days
    (any other school follows the LA pattern: domain's default)."""
    terms, inset = defaultdict(lambda: defaultdict(list)), defaultdict(lambda: defaultdict(set))
    t, d = SchoolTermDates, SchoolInsetDay
    q = select(t.org_id, t.academic_year, t.term, t.starts_on, t.ends_on,
               t.half_term_starts_on, t.half_term_ends_on)
    i = select(d.org_id, d.academic_year, literal("inset"), d.day, d.day, null(), null())
    if org_ids is not None:
        q, i = q.where(t.org_id.in_(org_ids)), i.where(d.org_id.in_(org_ids))
    for org, year, term, first, last, half_first, half_last in session.execute(
            union_all(q, i)).all():  # one statement: the reports count theirs
        if term == "inset":
            inset[org][year].add(first)
        else:
            terms[org][year].append(SchoolTerm(term, first, last, half_first, half_last))
    out = {}
    for org in set(terms) | set(inset):
        years = set(terms[org]) | set(inset[org])
        out[org] = SchoolCalendar({y: tuple(terms[org][y]) for y in years if terms[org][y]},
                                  {y: inset[org][y] for y in years
                                   if y in inset[org] or y in terms[org]})
    return out


def calendar_view(s, org_id, year):
    cal = calendars(s, [org_id]).get(org_id) or school_calendar.LA_CALENDAR
    days = len(cal.days_of_year(year))
    own = cal is not school_calendar.LA_CALENDAR
    warnings = [] if days == school_calendar.SCHOOL_DAYS_A_YEAR else [
        f"{days} school days: the statutory school year is "
        f"{school_calendar.SCHOOL_DAYS_A_YEAR} days (380 sessions)"]
    return {"org_id": org_id, "academic_year": year,
            "source": "school" if own else "local_authority_pattern",
            "terms": cal.terms(year), "inset_days": sorted(cal.inset_days(year)),
            "school_days": days, "sessions": days * school_calendar.SESSIONS_A_DAY,
            "warnings": warnings}


def get_calendar(db, principal, org_id, year_text):
    year = academic_year(year_text)
    with db.session() as s:
        scope.organisation(principal, org_id)
        return calendar_view(s, org_id, year)
