"""Provision rules, in plain Python (no nameko, no SQL).

Money is Decimal throughout and rounded to pence only when shown.

School days come from the platform's one calendar
(services/contracts/school_calendar.py): each school's term dates and INSET days,
the local authority's pattern where the school has set none (190 days, 380
sessions a year), never a weekend or an England bank holiday. Planned sessions
over a period are sessions per week × school days / 5; a per-term cost is spread
evenly over the school days of its term (the school's term, from its first to its
last day), so a part-term costs its share of school days.

Group provision: a session's cost is shared equally among the pupils on that
session's register; a per-term cost is spread over the term's school days and
each day's share is split among the pupils in the group that day; planned
future sessions likewise, among the pupils who will be in the group then (as
their membership dates stand today).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.common.csvexport import dict_csv_text
from services.common.errors import Conflict, RuleBroken
from services.contracts import school_calendar
from services.contracts.school_calendar import LA_CALENDAR


class Tier(StrEnum):
    """The graduated approach's waves of provision."""

    UNIVERSAL = "universal"
    TARGETED = "targeted"
    SPECIALIST = "specialist"


class CostBasis(StrEnum):
    """How a catalogue entry is priced."""

    PER_SESSION = "per_session"
    PER_HOUR = "per_hour"
    PER_TERM = "per_term"
    STAFF_RATE = "staff_rate"  # the delivering role's hourly rate × the session's length


class DeliveryRole(StrEnum):
    TEACHER = "teacher"
    TEACHING_ASSISTANT = "teaching_assistant"
    SENCO = "senco"
    SLT = "slt"
    THERAPIST = "therapist"
    SPECIALIST_TEACHER = "specialist_teacher"
    EXTERNAL = "external"


class EndReason(StrEnum):
    TARGET_MET = "target_met"
    NOT_EFFECTIVE = "not_effective"
    PUPIL_LEFT = "pupil_left"
    PUPIL_ABSENT = "pupil_absent"
    STAFFING = "staffing"
    REPLACED = "replaced"
    PARENT_REQUEST = "parent_request"
    OTHER = "other"


class Level(StrEnum):
    """Progress on a target at a review, in rank order (0 … 4)."""

    NOT_YET_STARTED = "not_yet_started"
    WORKING_TOWARDS = "working_towards"
    PARTIALLY_MET = "partially_met"
    MET = "met"
    EXCEEDED = "exceeded"


class AssignmentStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class CycleStatus(StrEnum):
    OPEN = "open"
    REVIEWED = "reviewed"


def _values(enum):
    return tuple(member.value for member in enum)


TIERS = _values(Tier)
COST_BASES = _values(CostBasis)
SESSION_BASES = (CostBasis.PER_SESSION.value, CostBasis.PER_HOUR.value,
                 CostBasis.STAFF_RATE.value)
DELIVERY_ROLES = _values(DeliveryRole)
END_REASONS = _values(EndReason)

# Progress on a target at a review: named levels, stored with their rank (0-4) so
# reports can count and average them; names for people in services/contracts/names.py.
LEVELS = _values(Level)
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
MET = LEVEL_RANK[Level.MET]  # a rank at or above this is "met or exceeded"
# The old scale (-2 much worse … 0 no change, 1 met, 2 exceeded), still accepted on input
# and given on output as `progress`; migration 0003 moved stored values to levels.
LEGACY_PROGRESS = {-2: "working_towards", -1: "working_towards", 0: "working_towards",
                   1: "met", 2: "exceeded"}
LEVEL_TO_LEGACY = {"not_yet_started": 0, "working_towards": 0, "partially_met": 0, "met": 1,
                   "exceeded": 2}
PROGRESS = {-2: "much_worse", -1: "worse", 0: "no_change", 1: "met", 2: "exceeded"}


def level_of_rank(rank):
    return None if rank is None else LEVELS[rank]


def check_level_against_score(level, score, target_score, baseline_score=None):
    """Where the review has a score and the target a target score, the level must agree:
    met means the target score was reached, exceeded that it was passed, and a level
    below met that it was not. Direction from the baseline (a target below it means
    lower is better, e.g. incidents a week). Raises RuleBroken naming `level`."""
    if score is None or target_score is None:
        return
    score, target = Decimal(score), Decimal(target_score)
    lower_is_better = baseline_score is not None and target < Decimal(baseline_score)
    reached = score <= target if lower_is_better else score >= target
    passed = score < target if lower_is_better else score > target
    shown = f"{money(score).normalize():f} against a target of {money(target).normalize():f}"
    if level == "exceeded" and not passed:
        raise RuleBroken(f"A score of {shown} does not exceed the target", field="level")
    if level == "met" and not reached:
        raise RuleBroken(f"A score of {shown} has not met the target", field="level")
    if LEVEL_RANK[level] < MET and reached:
        raise RuleBroken(f"A score of {shown} meets the target: record met or exceeded",
                         field="level")

ZERO = Decimal("0")
PENNY = Decimal("0.01")
ACTIVE, ENDED = AssignmentStatus.ACTIVE, AssignmentStatus.ENDED
OPEN, REVIEWED = CycleStatus.OPEN, CycleStatus.REVIEWED


def money(value):
    """Round to pence for display (half up, as a finance office would)."""
    return None if value is None else Decimal(value).quantize(PENNY, rounding=ROUND_HALF_UP)


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


# -- targets, reviews, cycles -----------------------------------------------------

def is_met(progress):
    return progress is not None and progress >= MET


def score_gain(baseline_score, latest_score, target_score=None):
    """Numeric progress (e.g. reading age in months): the gain, and the share of the
    expected gain achieved (None without a target score or an expected gain)."""
    if baseline_score is None or latest_score is None:
        return None, None
    gain = Decimal(latest_score) - Decimal(baseline_score)
    if target_score is None or Decimal(target_score) == Decimal(baseline_score):
        return gain, None
    expected = Decimal(target_score) - Decimal(baseline_score)
    return gain, (gain / expected * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def check_review_date(started_on, review_date):
    if review_date <= started_on:
        raise RuleBroken("The review must come after the cycle starts", field="review_date")


def reviews_to_announce(cycles, today, lead_days):
    """Open cycles whose review is within `lead_days` (or past) and not yet announced
    for that review date: [(cycle, overdue)]. Each cycle needs .status, .review_date
    and .announced_for (the review date last announced, or None)."""
    horizon = today + timedelta(days=lead_days)
    return [(c, c.review_date < today) for c in cycles
            if c.status == OPEN and c.review_date <= horizon
            and c.announced_for != c.review_date]


def overdue_reviews(cycles, today):
    return [c for c in cycles if c.status == OPEN and c.review_date < today]


def check_can_end(*, statutory, start, ended_on, planned_end, status, review=None):
    """May an assignment end on `ended_on`? `review` is (status, reviewed_on) of the
    APDR cycle named as the review that decided it, or None."""
    if status != ACTIVE:
        raise Conflict("This provision has already ended")
    if ended_on < start:
        raise RuleBroken("Provision cannot end before it starts", field="ended_on")
    if ended_on > planned_end:
        raise RuleBroken("Ending early must be on or before the planned end date",
                         field="ended_on")
    if statutory:
        if review is None:
            raise RuleBroken("EHC plan provision (section F) can only end after a review: "
                             "name the reviewed cycle", field="review_cycle_id")
        status, reviewed_on = review
        if status != REVIEWED or reviewed_on is None or reviewed_on < start:
            raise RuleBroken("The named cycle has not been reviewed since this provision began",
                             field="review_cycle_id")


# -- cost summaries and impact reports --------------------------------------------

@dataclass
class ReportAssignment:
    """One assignment as reports see it."""

    assignment_id: str
    org_id: str
    catalogue_id: str
    tier: str
    costs: dict          # {pupil_id: PupilCost}
    target_ids: set      # targets it serves


def costs_by(per_pupil, group_of):
    """Pupils' costs summed by a grouping of pupils (e.g. their class): {group: cost}."""
    out = {}
    for pupil_id, cost in per_pupil.items():
        key = group_of.get(pupil_id)
        out[key] = out.get(key, PupilCost()) + cost
    return out


def cost_summary(assignments, budget=None):
    """Costs per pupil, provision, tier and organisation, and in total, against a budget."""
    # sums as [to_date, projected] lists, made PupilCost once at the end
    per_pupil, per_provision, per_tier, per_org = ({} for _ in range(4))
    total = [ZERO, ZERO]

    def add(sums, key, to_date, projected):
        s = sums.get(key)
        if s is None:
            sums[key] = [to_date, projected]
        else:
            s[0] += to_date
            s[1] += projected

    for a in assignments:
        a_to_date = a_projected = ZERO
        for pupil_id, cost in a.costs.items():
            add(per_pupil, pupil_id, cost.to_date, cost.projected)
            a_to_date += cost.to_date
            a_projected += cost.projected
        add(per_provision, a.catalogue_id, a_to_date, a_projected)
        add(per_tier, a.tier, a_to_date, a_projected)
        add(per_org, a.org_id, a_to_date, a_projected)
        total[0] += a_to_date
        total[1] += a_projected

    def costs(sums):
        return {k: PupilCost(to_date, projected) for k, (to_date, projected) in sums.items()}

    total = PupilCost(*total)
    remaining = None if budget is None else Decimal(budget) - total.projected
    return {"per_pupil": costs(per_pupil), "per_provision": costs(per_provision),
            "per_tier": costs(per_tier), "per_org": costs(per_org), "total": total,
            "budget": budget,
            "remaining": remaining}


def cost_totals(totals, budget=None):
    """cost_summary's figures but per pupil, from the cost of each (catalogue entry,
    organisation, tier): {(catalogue_id, org_id, tier): PupilCost}."""
    per_provision, per_tier, per_org = {}, {}, {}
    total = PupilCost()
    for (catalogue_id, org_id, tier), cost in totals.items():
        for sums, key in ((per_provision, catalogue_id), (per_tier, tier), (per_org, org_id)):
            sums[key] = sums.get(key, PupilCost()) + cost
        total += cost
    remaining = None if budget is None else Decimal(budget) - total.projected
    return {"per_provision": per_provision, "per_tier": per_tier, "per_org": per_org,
            "total": total, "budget": budget, "remaining": remaining}


@dataclass
class ImpactRow:
    key: tuple
    pupils: int = 0
    targets: int = 0
    targets_reviewed: int = 0
    targets_met: int = 0
    share_met: Decimal | None = None
    average_progress: Decimal | None = None
    cost: Decimal = ZERO
    cost_per_pupil: Decimal | None = None
    cost_per_target_met: Decimal | None = None


GROUPINGS = {
    "provision": lambda a: (a.catalogue_id,),
    "provision_org": lambda a: (a.catalogue_id, a.org_id),
    "org": lambda a: (a.org_id,),
    "trust": lambda a: (),
}


def impact_report(assignments, latest_progress, group_by="provision"):
    """Impact per group: share of targets met or exceeded (of those reviewed), average
    latest progress, cost to date, cost per pupil and per target met.

    `latest_progress` maps target_id → the latest review's level rank (0 not yet started …
    4 exceeded, LEVELS); average progress is the average rank; a target
    not in it has not been reviewed. A target served by several provisions counts once
    in each of their rows, and once in an organisation's or the trust's row."""
    key_of = GROUPINGS[group_by]
    pupils, targets, cost = defaultdict(set), defaultdict(set), defaultdict(lambda: ZERO)
    for a in assignments:
        key = key_of(a)
        pupils[key].update(a.costs)
        targets[key].update(a.target_ids)
        cost[key] += sum((c.to_date for c in a.costs.values()), ZERO)
    rows = []
    for key in sorted(pupils):
        reviewed = [latest_progress[t] for t in targets[key] if t in latest_progress]
        rows.append(impact_row(key, pupils=len(pupils[key]), targets=len(targets[key]),
                               reviewed=len(reviewed), met=sum(1 for p in reviewed if is_met(p)),
                               progress_sum=sum(reviewed), cost=cost[key]))
    return rows


def impact_row(key, *, pupils, targets, reviewed, met, progress_sum, cost):
    """The figures of one row of an impact report from its counts and cost."""
    row = ImpactRow(key=key, pupils=pupils, targets=targets, targets_reviewed=reviewed,
                    targets_met=met, cost=cost)
    if reviewed:
        row.share_met = Decimal(met) / reviewed
        row.average_progress = Decimal(progress_sum) / reviewed
    if pupils:
        row.cost_per_pupil = cost / pupils
    if met:
        row.cost_per_target_met = cost / met
    return row


def group_cost_to_date(a: CostInput, sessions_delivered, as_of):
    """What one assignment has cost the school to a day: every session delivered costs
    its full price whoever was there; a per-term cost counts the school days on which
    the group had at least one pupil. Equals the sum of its pupils' shares."""
    if a.basis == CostBasis.PER_TERM:
        return sum((c.to_date for c in _per_term_costs(a, as_of, as_of).values()), ZERO)
    return session_cost(a.basis, a.amount, a.session_minutes, a.role_rate) * sessions_delivered


def to_csv(rows, columns):
    """CSV text of dict rows (one header line, then a line per row), every cell through
    the kit's formula-safe writer."""
    return dict_csv_text(columns, rows)
