"""Referral rules, in plain Python (no SQLAlchemy, nameko or HTTP), one module per
concern; everything is importable from `services.referrals.domain`.

- `lifecycle`: an explicit state machine (`TRANSITIONS`): an action moves a referral
  from one of its allowed states to its target state, or is refused with
  `errors.Conflict` (the API answers 409); who may act; what each principal reads.
- `intake`: the school's fields, references, completeness, the pupil's year.
- `clocks`: acknowledgement and triage clocks in England working days.
- `agreements`: triage criteria, the hours ledger and capacity.

Event payloads are shaped in payloads.py, not here.
"""

from services.contracts.school_calendar import (  # noqa: F401  (one definition, re-exported)
    TERMS,
    academic_year_of,
    add_working_days,
    is_working_day,
    term_dates,
    term_of,
)

from .agreements import (  # noqa: F401
    Criterion,
    check_acceptable,
    check_visit_minutes,
    has_place,
    hours,
    minutes_left,
    must_wait,
    places_to_grant,
    statement,
    triage,
    unmet,
)
from .clocks import (  # noqa: F401
    LONDON,
    Breach,
    Clock,
    breaches,
    clock_due_dates,
    london_date,
    overdue_items,
)
from .intake import (  # noqa: F401
    new_reference,
    new_referral,
    referral_fields,
    submission_body,
    year_group,
)
from .lifecycle import (  # noqa: F401
    ACCEPTED,
    ALLOCATED,
    AWAITING_TRIAGE,
    CLOSED,
    DECLINE_REASONS,
    DECLINED,
    DRAFT,
    EDITABLE,
    HOLDS_PLACE,
    IN_PROGRESS,
    INFO_REQUESTED,
    OUTCOMES,
    PRACTICE,
    REPORT_ISSUED,
    SCHOOL,
    SEEN,
    STATUSES,
    SUBMITTED,
    TRANSITIONS,
    TRIAGE,
    WITHDRAWN,
    Action,
    DeclineReason,
    Outcome,
    ReferralStatus,
    Scope,
    ScopeKind,
    Seen,
    allowed_actions,
    check_acknowledgeable,
    check_editable,
    check_info_answer,
    check_may,
    check_not_waiting,
    event_of,
    illegal,
    may,
    roles_for,
    scope_of,
    target,
    visible,
)
