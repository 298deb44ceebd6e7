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

The rules live in four modules, all re-exported here (`from services.provision
import domain; domain.assignment_costs(...)`): `codes` (code sets, levels, money),
`costs` (the cost arithmetic), `reviews` (targets, reviews, cycles, ending) and
`reports` (cost summaries and impact reports).
"""

from decimal import ROUND_HALF_UP, Decimal  # noqa: F401  (domain.Decimal, as before)

from services.common.errors import Conflict, RuleBroken  # noqa: F401  (what the rules raise)

from .codes import (  # noqa: F401
    ACTIVE,
    COST_BASES,
    DELIVERY_ROLES,
    END_REASONS,
    ENDED,
    LEGACY_PROGRESS,
    LEVEL_RANK,
    LEVEL_TO_LEGACY,
    LEVELS,
    MET,
    OPEN,
    PENNY,
    PROGRESS,
    REVIEWED,
    SESSION_BASES,
    TIERS,
    ZERO,
    AssignmentStatus,
    CostBasis,
    CycleStatus,
    DeliveryRole,
    EndReason,
    Level,
    Tier,
    _values,
    check_level_against_score,
    level_of_rank,
    money,
)
from .costs import (  # noqa: F401
    CostInput,
    Membership,
    PupilCost,
    _per_term_costs,
    _segments,
    academic_year_end,
    academic_year_start,
    assignment_costs,
    group_cost_to_date,
    per_term_group_cost,
    planned_group_cost,
    planned_sessions,
    school_days,
    session_cost,
    terms_between,
    weekdays,
)
from .reports import (  # noqa: F401
    GROUPINGS,
    ImpactRow,
    ReportAssignment,
    cost_summary,
    cost_totals,
    costs_by,
    impact_report,
    impact_row,
    to_csv,
)
from .reviews import (  # noqa: F401
    check_can_end,
    check_review_date,
    is_met,
    overdue_reviews,
    reviews_to_announce,
    score_gain,
)
