"""Provision's closed code sets and progress levels, money, and the rule that a
review's level agrees with its score."""

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.common.errors import RuleBroken


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
