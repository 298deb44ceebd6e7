"""Cost arithmetic: school days, planned sessions, each pupil's share of a session or a
term, and what an assignment costs the school as a whole."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from services.common.errors import RuleBroken
from services.contracts import school_calendar
from services.contracts.school_calendar import LA_CALENDAR

from .codes import ZERO, CostBasis

# -- school calendar ---------------------------------------------------------------

# Provision costs by the platform's one calendar: its academic year (1 September to
# 31 August, school_calendar.academic_year_of) and each school's terms (the LA pattern
# where a school has set none); projections run to the end of the academic year.

def academic_year_start(day):
    return date(int(school_calendar.academic_year_of(day)[:4]), 9, 1)


def academic_year_end(day):
    return date(academic_year_start(day).year + 1, 8, 31)


def terms_between(start, end, calendar=None):
    """(first day, last day) of every school term that overlaps [start, end]."""
    return (calendar or LA_CALENDAR).term_spans(start, end)


def weekdays(start, end):
    """Monday–Friday days in [start, end] inclusive (0 when end < start)."""
    if end < start:
        return 0
    days = (end - start).days + 1
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    first = start.weekday()
    count += sum(1 for i in range(rest) if (first + i) % 7 < 5)
    return count


def school_days(start, end, calendar=None):
    """School days in [start, end]: the school's calendar (the LA pattern by default),
    without weekends, half terms, INSET days or England bank holidays."""
    return (calendar or LA_CALENDAR).school_days(start, end)


def planned_sessions(sessions_per_week, start, end, calendar=None):
    return Decimal(sessions_per_week) * school_days(start, end, calendar) / 5


# -- cost arithmetic ---------------------------------------------------------------

def session_cost(basis, amount, session_minutes, role_rate=None):
    """Cost of one session for the whole group; None for a per-term cost."""
    hours = Decimal(session_minutes) / 60
    if basis == CostBasis.PER_SESSION:
        return Decimal(amount)
    if basis == CostBasis.PER_HOUR:
        return Decimal(amount) * hours
    if basis == CostBasis.STAFF_RATE:
        if role_rate is None:
            raise RuleBroken("No hourly rate is set for the role that delivers this provision",
                             field="delivered_by")
        return Decimal(role_rate) * hours
    if basis == CostBasis.PER_TERM:
        return None
    raise ValueError(f"unknown cost basis {basis}")


@dataclass
class Membership:
    pupil_id: str
    joined_on: date
    left_on: date | None = None


@dataclass
class CostInput:
    """What the cost of one assignment depends on."""

    basis: str
    amount: Decimal
    session_minutes: int
    start: date
    end: date                      # planned end
    sessions_per_week: Decimal
    members: list                  # [Membership]
    ended_on: date | None = None   # ended early
    role_rate: Decimal | None = None
    # sessions recorded (to the as-of date): {pupil_id: {register_size: count}}
    delivered: dict = field(default_factory=dict)
    calendar: object = None        # the school's SchoolCalendar (None: the LA pattern)

    @property
    def last_day(self):
        return min(self.end, self.ended_on) if self.ended_on else self.end

    def window(self, member):
        """The days this member is in the provision."""
        last = self.last_day if member.left_on is None else min(self.last_day, member.left_on)
        return max(self.start, member.joined_on), last


@dataclass
class PupilCost:
    to_date: Decimal = ZERO
    projected: Decimal = ZERO  # to date plus what is planned to the end of the academic year

    def __add__(self, other):
        return PupilCost(self.to_date + other.to_date, self.projected + other.projected)


def _segments(windows, lo, hi):
    """Split [lo, hi] where the group changes: yields (first, last, pupils present)."""
    if hi < lo:
        return
    if len(windows) == 1:  # provision for one pupil: one segment, where they are in it
        [(pupil, (first, last))] = windows.items()
        if first <= lo and last >= hi:
            yield lo, hi, [pupil]
            return
    one = timedelta(days=1)
    points = {lo, hi + one}
    for first, last in windows.values():
        points.update(d for d in (first, last + one) if lo < d <= hi)
    points = sorted(points)
    for seg_start, seg_next in zip(points, points[1:], strict=False):
        seg_end = seg_next - one
        present = [p for p, (first, last) in windows.items()
                   if first <= seg_start and last >= seg_end]
        if present:
            yield seg_start, seg_end, present


def assignment_costs(a: CostInput, as_of: date) -> dict:
    """{pupil_id: PupilCost} for one assignment as of a day."""
    year_end = academic_year_end(as_of)
    if a.basis == CostBasis.PER_TERM:
        return _per_term_costs(a, as_of, year_end)
    per_session = session_cost(a.basis, a.amount, a.session_minutes, a.role_rate)
    costs = {}
    for m in a.members:
        sizes = a.delivered.get(m.pupil_id, {})
        done = sum((per_session * count / size for size, count in sizes.items()), ZERO)
        costs[m.pupil_id] = PupilCost(done, done)
    windows = {m.pupil_id: a.window(m) for m in a.members}
    tomorrow = as_of + timedelta(days=1)
    for first, last, present in _segments(windows, max(a.start, tomorrow),
                                          min(a.last_day, year_end)):
        share = per_session * planned_sessions(a.sessions_per_week, first, last,
                                               a.calendar) / len(present)
        for p in present:
            costs[p].projected += share
    return costs


def _per_term_costs(a, as_of, year_end):
    """Each term's cost is spread evenly over its school days; each day's share is
    split among the pupils in the group that day."""
    costs = {m.pupil_id: PupilCost() for m in a.members}
    windows = {m.pupil_id: a.window(m) for m in a.members}
    cal = a.calendar
    for ts, te in terms_between(a.start, max(a.last_day, a.start), cal):
        term_days = school_days(ts, te, cal)
        if not term_days:
            continue
        day_rate = Decimal(a.amount) / term_days
        for first, last, present in _segments(windows, max(ts, a.start), min(te, a.last_day)):
            share = day_rate / len(present)
            to_date = school_days(first, min(last, as_of), cal)
            projected = school_days(first, min(last, year_end), cal)
            for p in present:
                costs[p].to_date += share * to_date
                costs[p].projected += share * projected
    return costs


def planned_group_cost(a: CostInput, as_of: date) -> Decimal:
    """What the sessions planned after `as_of` (to the end of the academic year) of one
    session-priced assignment cost the school: each planned session's full price while
    at least one pupil is in the group. Equals the sum of its pupils' projected shares
    beyond what was delivered (assignment_costs)."""
    per_session = session_cost(a.basis, a.amount, a.session_minutes, a.role_rate)
    windows = {i: a.window(m) for i, m in enumerate(a.members)}
    total = ZERO
    for first, last, _ in _segments(windows, max(a.start, as_of + timedelta(days=1)),
                                    min(a.last_day, academic_year_end(as_of))):
        total += per_session * planned_sessions(a.sessions_per_week, first, last, a.calendar)
    return total


def per_term_group_cost(a: CostInput, as_of: date) -> PupilCost:
    """To date and projected cost of one per-term assignment to the school: the sum of
    its pupils' shares (assignment_costs)."""
    costs = _per_term_costs(a, as_of, academic_year_end(as_of)).values()
    return PupilCost(sum((c.to_date for c in costs), ZERO),
                     sum((c.projected for c in costs), ZERO))


def group_cost_to_date(a: CostInput, sessions_delivered, as_of):
    """What one assignment has cost the school to a day: every session delivered costs
    its full price whoever was there; a per-term cost counts the school days on which
    the group had at least one pupil. Equals the sum of its pupils' shares."""
    if a.basis == CostBasis.PER_TERM:
        return sum((c.to_date for c in _per_term_costs(a, as_of, as_of).values()), ZERO)
    return session_cost(a.basis, a.amount, a.session_minutes, a.role_rate) * sessions_delivered
