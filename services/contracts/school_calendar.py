"""The school year as every service counts it: academic years, terms (for
traded-service agreements, CPD charges and reports), England working days
(bank holidays from the `holidays` package) and school days (each school's term
dates and INSET days, defaults from the local authority's pattern): one calendar
for the whole platform."""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from dateutil.easter import easter

TERMS = ("autumn", "spring", "summer")


def academic_year_of(day):
    """'2026/27' for any day from 1 September 2026 to 31 August 2027."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def term_dates(academic_year, term):
    """(first day, last day) of a term. Autumn: 1 Sep–31 Dec; spring: 1 Jan–Easter
    Sunday; summer: Easter Monday–31 Aug (a simple, published definition)."""
    start_year = int(academic_year.split("/")[0])
    spring_year = start_year + 1
    if term == "autumn":
        return date(start_year, 9, 1), date(start_year, 12, 31)
    if term == "spring":
        return date(spring_year, 1, 1), easter(spring_year)
    if term == "summer":
        return easter(spring_year) + timedelta(days=1), date(spring_year, 8, 31)
    raise ValueError(f"unknown term {term!r}")


def term_of(day):
    """(academic_year, term) of a day."""
    year = academic_year_of(day)
    for term in TERMS:
        first, last = term_dates(year, term)
        if first <= day <= last:
            return year, term
    raise AssertionError("terms cover the whole year")  # pragma: no cover


@lru_cache(maxsize=32)
def _bank_holidays(year):
    import holidays  # ~9 MB: loaded the first time a working day is counted, not at start
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day):
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start, n):
    """The n-th England working day after `start` (weekends and bank holidays skipped)."""
    day, left = start, n
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


# -- school days: the one calendar of the whole platform ------------------------------
#
# Schools must be open to pupils for 190 days (380 sessions) a year (The Education
# (School Day and School Year) (England) Regulations 1999, reg. 3); teachers work 195,
# the other 5 being INSET days (School Teachers' Pay and Conditions Document). A school
# day is a weekday inside the school's term dates, outside its half terms, not an
# INSET or closure day and never an England bank holiday. A school may set its own
# term dates and INSET days; where it has not, the local authority's pattern below is
# used: each term of it lies inside the term period of `term_dates` above (the
# costing periods of agreements and charges), so both views agree on which term a
# day belongs to.

SCHOOL_DAYS_A_YEAR = 190
SESSIONS_A_DAY = 2  # morning and afternoon
TEACHER_DAYS_A_YEAR = 195
INSET_DAYS_A_YEAR = TEACHER_DAYS_A_YEAR - SCHOOL_DAYS_A_YEAR


@dataclass(frozen=True)
class SchoolTerm:
    term: str               # autumn | spring | summer
    starts_on: date         # first day of the term
    ends_on: date           # last day of the term
    half_term_starts_on: date | None = None   # first weekday of the half-term break
    half_term_ends_on: date | None = None     # last weekday of the half-term break

    def covers(self, day):
        if not self.starts_on <= day <= self.ends_on:
            return False
        return not (self.half_term_starts_on and
                    self.half_term_starts_on <= day <= self.half_term_ends_on)


def _weekday_on_or_after(day, weekday):
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _weekday_on_or_before(day, weekday):
    return day - timedelta(days=(day.weekday() - weekday) % 7)


@lru_cache(maxsize=32)
def la_pattern(academic_year):
    """(terms, INSET days) of the local authority's standard pattern for a year:
    autumn from 2 September (the Monday after, if that is a Friday or a weekend) to the
    Friday on or before
    20 December, half term in the week of the Monday on or before 27 October; spring
    from the first Monday on or after 2 January to the Friday before Holy Week, half
    term in the week of the third Monday of February; summer from the Monday after
    Easter week, half term in the week of the late May bank holiday, ending on the day
    that makes 195 days; INSET on the first two days of autumn, the first day of spring
    and of summer and the last day of summer: 190 days for pupils."""
    y = int(academic_year.split("/")[0])
    mon, fri = 0, 4
    autumn_half = _weekday_on_or_before(date(y, 10, 27), mon)
    spring_half = _weekday_on_or_after(date(y + 1, 2, 1), mon) + timedelta(weeks=2)
    good_friday = easter(y + 1) - timedelta(days=2)
    late_may = _weekday_on_or_before(date(y + 1, 5, 31), mon)
    autumn_start = _weekday_on_or_after(date(y, 9, 2), mon) if date(y, 9, 2).weekday() >= fri \
        else date(y, 9, 2)
    autumn = SchoolTerm("autumn", autumn_start,
                        _weekday_on_or_before(date(y, 12, 20), fri),
                        autumn_half, autumn_half + timedelta(days=4))
    spring = SchoolTerm("spring", _weekday_on_or_after(date(y + 1, 1, 2), mon),
                        good_friday - timedelta(days=7),
                        spring_half, spring_half + timedelta(days=4))
    summer_start = easter(y + 1) + timedelta(days=8)  # the Monday after Easter week
    summer = SchoolTerm("summer", summer_start, date(y + 1, 7, 31),
                        late_may, late_may + timedelta(days=4))
    days = sum(1 for t in (autumn, spring) for d in _days(t.starts_on, t.ends_on)
               if _open(t, d))
    end = summer_start
    for d in _days(summer_start, date(y + 1, 7, 31)):
        if _open(summer, d):
            days += 1
            end = d
            if days == TEACHER_DAYS_A_YEAR:
                break
    summer = SchoolTerm("summer", summer_start, end, late_may, late_may + timedelta(days=4))
    def first_open(term):
        return [d for d in _days(term.starts_on, term.ends_on) if _open(term, d)]
    autumn_days = first_open(autumn)
    inset = {autumn_days[0], autumn_days[1], first_open(spring)[0], first_open(summer)[0], end}
    return (autumn, spring, summer), frozenset(inset)


def _days(first, last):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _open(term, day):
    return term.covers(day) and is_working_day(day)


class SchoolCalendar:
    """The school days of one school: its own term dates and INSET days where it has set
    them (per academic year), the local authority's pattern where it has not, and never
    a weekend or an England bank holiday."""

    def __init__(self, terms=None, inset_days=None):
        self._terms = dict(terms or {})          # {academic year: (SchoolTerm, ...)}
        self._inset = dict(inset_days or {})     # {academic year: {date, ...}}
        self._days = {}

    def terms(self, academic_year):
        if academic_year in self._terms:
            return tuple(sorted(self._terms[academic_year], key=lambda t: t.starts_on))
        return la_pattern(academic_year)[0]

    def inset_days(self, academic_year):
        if academic_year in self._inset:
            return frozenset(self._inset[academic_year])
        return la_pattern(academic_year)[1]

    def days_of_year(self, academic_year):
        """The sorted school days of an academic year (cached)."""
        if academic_year not in self._days:
            inset = self.inset_days(academic_year)
            self._days[academic_year] = [
                d for t in self.terms(academic_year) for d in _days(t.starts_on, t.ends_on)
                if _open(t, d) and d not in inset]
        return self._days[academic_year]

    def is_school_day(self, day):
        days = self.days_of_year(academic_year_of(day))
        i = bisect_left(days, day)
        return i < len(days) and days[i] == day

    def school_days(self, start, end):
        """School days in [start, end] inclusive (0 when end < start)."""
        if end < start:
            return 0
        total = 0
        for year in _years(start, end):
            days = self.days_of_year(year)
            total += bisect_right(days, end) - bisect_left(days, start)
        return total

    def term_spans(self, start, end):
        """(first day, last day) of each of the school's terms that overlaps [start, end]
        (a term's span includes its half term; its school days do not)."""
        return [(t.starts_on, t.ends_on) for year in _years(start, end)
                for t in self.terms(year) if t.starts_on <= end and t.ends_on >= start]

    def year_end(self, day):
        """The last school-term day of the academic year containing `day`."""
        return self.terms(academic_year_of(day))[-1].ends_on


def _years(start, end):
    first = start.year if start.month >= 9 else start.year - 1
    last = end.year if end.month >= 9 else end.year - 1
    return [f"{y}/{(y + 1) % 100:02d}" for y in range(first, last + 1)]


LA_CALENDAR = SchoolCalendar()  # every school that has set no dates of its own


def calendar_errors(academic_year, terms, inset_days):
    """{field: [reason]} for term dates and INSET days a school sets for a year: three
    terms (autumn, spring, summer), each inside its term period (`term_dates`), half
    terms inside their term, INSET days on weekdays of the terms; {} when they fit."""
    errors = {}
    names = [t.term for t in terms]
    if sorted(names) != sorted(TERMS):
        return {"terms": [f"Give each of {', '.join(TERMS)} once; found {', '.join(names)}"]}
    for i, t in enumerate(sorted(terms, key=lambda t: TERMS.index(t.term))):
        first, last = term_dates(academic_year, t.term)
        field = f"terms.{i}"
        if t.ends_on < t.starts_on:
            errors[f"{field}.ends_on"] = ["Must not be before starts_on"]
        elif not (first <= t.starts_on and t.ends_on <= last):
            errors[f"{field}.starts_on"] = [
                f"The {t.term} term of {academic_year} falls within {first.isoformat()} to "
                f"{last.isoformat()}"]
        if (t.half_term_starts_on is None) != (t.half_term_ends_on is None):
            errors[f"{field}.half_term_ends_on"] = ["Give both half-term dates, or neither"]
        elif t.half_term_starts_on and not (
                t.starts_on < t.half_term_starts_on <= t.half_term_ends_on < t.ends_on):
            errors[f"{field}.half_term_starts_on"] = ["The half term falls inside the term"]
    cal = SchoolCalendar({academic_year: tuple(terms)}, {academic_year: frozenset()})
    for i, day in enumerate(sorted(inset_days)):
        if not cal.is_school_day(day):
            errors[f"inset_days.{i}"] = [f"{day.isoformat()} is not a school day of the terms "
                                         "(a weekend, half term, holiday or bank holiday)"]
    return errors
