"""The school year as every service counts it: academic years, terms (for
traded-service agreements, CPD charges and reports) and England working days
(bank holidays from the `holidays` package)."""

from datetime import date, timedelta
from functools import lru_cache

import holidays
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
