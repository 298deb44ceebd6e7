"""A school's own term dates and INSET days for an academic year."""

from sqlalchemy import delete

from services.common import errors
from services.contracts import school_calendar
from services.contracts.school_calendar import SchoolTerm

from ..models import SchoolInsetDay, SchoolTermDates
from ..queries import calendar as calendar_views
from ..queries import scope


def set_calendar(db, principal, org_id, year_text, body):
    """Replace a school's term dates and INSET days for one academic year."""
    year = calendar_views.academic_year(year_text)
    scope.organisation(principal, org_id, write=True)
    terms = [SchoolTerm(**t) for t in body["terms"]]
    problems = school_calendar.calendar_errors(year, terms, body["inset_days"])
    if problems:
        raise errors.RuleBroken("The term dates do not fit the school year", errors=problems)
    with db.unit_of_work() as uow:
        s = uow.session
        s.execute(delete(SchoolTermDates).where(SchoolTermDates.org_id == org_id,
                                                SchoolTermDates.academic_year == year))
        s.execute(delete(SchoolInsetDay).where(SchoolInsetDay.org_id == org_id,
                                               SchoolInsetDay.academic_year == year))
        for t in terms:
            s.add(SchoolTermDates(org_id=org_id, academic_year=year, term=t.term,
                                  starts_on=t.starts_on, ends_on=t.ends_on,
                                  half_term_starts_on=t.half_term_starts_on,
                                  half_term_ends_on=t.half_term_ends_on))
        for day in sorted(set(body["inset_days"])):
            s.add(SchoolInsetDay(org_id=org_id, day=day, academic_year=year))
        s.flush()
        return calendar_views.calendar_view(s, org_id, year)
