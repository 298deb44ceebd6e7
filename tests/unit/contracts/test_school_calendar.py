"""School days: the one calendar of the platform (services/contracts/school_calendar.py).

Sources: The Education (School Day and School Year) (England) Regulations 1999 reg. 3
(190 days, 380 sessions, for pupils); the School Teachers' Pay and Conditions Document
(195 days, so 5 INSET days); England's bank holidays (gov.uk/bank-holidays, from the
`holidays` package)."""

from datetime import date

import pytest

from services.contracts import school_calendar as sc
from services.contracts.school_calendar import LA_CALENDAR, SchoolCalendar, SchoolTerm

YEAR = "2026/27"


@pytest.mark.parametrize("year", [f"{y}/{(y + 1) % 100:02d}" for y in range(2024, 2040)])
def test_the_la_pattern_gives_the_statutory_190_days_and_380_sessions(year):
    # reg. 3 of the 1999 Regulations: 380 sessions (190 days) a school year
    days = LA_CALENDAR.days_of_year(year)
    assert len(days) == sc.SCHOOL_DAYS_A_YEAR
    assert len(days) * sc.SESSIONS_A_DAY == 380
    assert len(LA_CALENDAR.inset_days(year)) == sc.INSET_DAYS_A_YEAR


@pytest.mark.parametrize("day,name", [
    (date(2026, 12, 25), "Christmas Day"), (date(2027, 1, 1), "New Year's Day"),
    (date(2027, 3, 26), "Good Friday"), (date(2027, 3, 29), "Easter Monday"),
    (date(2027, 5, 3), "Early May bank holiday"), (date(2027, 5, 31), "Spring bank holiday"),
    (date(2026, 8, 31), "Summer bank holiday"),
])
def test_no_bank_holiday_is_ever_a_school_day(day, name):
    # England and Wales bank holidays (gov.uk): never a school day
    assert not LA_CALENDAR.is_school_day(day), name


def test_a_bank_holiday_inside_a_schools_own_term_is_not_a_school_day():
    # a school's term that runs over the early May bank holiday (Mon 3 May 2027)
    la_terms = LA_CALENDAR.terms(YEAR)
    summer = SchoolTerm("summer", date(2027, 4, 12), date(2027, 7, 23))
    cal = SchoolCalendar({YEAR: (la_terms[0], la_terms[1], summer)}, {YEAR: set()})
    assert cal.is_school_day(date(2027, 4, 30))  # Friday before
    assert not cal.is_school_day(date(2027, 5, 3))  # the bank holiday, in term
    assert cal.is_school_day(date(2027, 5, 4))


def test_la_pattern_2026_27_by_hand():
    autumn, spring, summer = LA_CALENDAR.terms(YEAR)
    assert (autumn.starts_on, autumn.ends_on) == (date(2026, 9, 2), date(2026, 12, 18))
    assert (spring.starts_on, spring.ends_on) == (date(2027, 1, 4), date(2027, 3, 19))
    assert (summer.starts_on, summer.ends_on) == (date(2027, 4, 5), date(2027, 7, 21))
    # autumn: 78 weekdays − 5 half term − 2 INSET = 71; spring 55 − 5 − 1 = 49;
    # summer 78 − 5 half term − 1 bank holiday − 2 INSET = 70
    assert LA_CALENDAR.school_days(autumn.starts_on, autumn.ends_on) == 71
    assert LA_CALENDAR.school_days(spring.starts_on, spring.ends_on) == 49
    assert LA_CALENDAR.school_days(summer.starts_on, summer.ends_on) == 70
    assert not LA_CALENDAR.is_school_day(date(2026, 10, 28))  # half term
    assert not LA_CALENDAR.is_school_day(date(2026, 9, 2))  # INSET


def test_each_school_term_lies_in_the_costing_term_of_the_same_name():
    # one calendar: agreements' and charges' terms (term_dates) contain the school terms
    for year in ("2025/26", "2026/27", "2037/38"):
        for t in LA_CALENDAR.terms(year):
            first, last = sc.term_dates(year, t.term)
            assert first <= t.starts_on and t.ends_on <= last
            assert sc.term_of(t.starts_on) == (year, t.term)


def test_a_school_sets_its_own_dates_and_inset_days():
    terms = (SchoolTerm("autumn", date(2026, 9, 3), date(2026, 12, 18), date(2026, 10, 26),
                        date(2026, 11, 6)),  # a two-week half term
             SchoolTerm("spring", date(2027, 1, 5), date(2027, 3, 25), date(2027, 2, 15),
                        date(2027, 2, 19)),
             SchoolTerm("summer", date(2027, 4, 12), date(2027, 7, 23), date(2027, 5, 31),
                        date(2027, 6, 4)))
    inset = {date(2026, 9, 3), date(2026, 9, 4), date(2027, 1, 5), date(2027, 4, 12),
             date(2027, 7, 23)}
    assert sc.calendar_errors(YEAR, terms, inset) == {}
    cal = SchoolCalendar({YEAR: terms}, {YEAR: inset})
    assert not cal.is_school_day(date(2026, 11, 3))  # its own half term
    assert cal.is_school_day(date(2027, 3, 22))  # after the LA's spring term ends
    # another year falls back to the LA pattern
    assert cal.school_days(date(2027, 9, 1), date(2028, 8, 31)) == 190


def test_calendar_errors_name_the_field():
    autumn, spring, summer = LA_CALENDAR.terms(YEAR)
    late = SchoolTerm("spring", date(2027, 1, 4), date(2027, 4, 2))  # past Easter Sunday
    assert "terms.1.starts_on" in sc.calendar_errors(YEAR, (autumn, late, summer), set())
    assert "inset_days.0" in sc.calendar_errors(YEAR, (autumn, spring, summer),
                                                {date(2026, 12, 25)})
    assert "terms" in sc.calendar_errors(YEAR, (autumn, spring), set())
