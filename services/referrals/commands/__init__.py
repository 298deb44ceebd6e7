"""The referrals service's use cases, one module per aggregate: each opens the unit
of work, loads (scoped to the caller), asks the domain, writes and emits."""

from .agreements import create_agreement, grant_places, update_agreement
from .referrals import (
    accept,
    acknowledge,
    allocate,
    create_draft,
    decline,
    edit_referral,
    record_breach,
    request_info,
    scan_overdue,
    submit_existing,
    submit_new,
    withdraw,
)
from .visits import close, issue_report, log_visit

__all__ = ["accept", "acknowledge", "allocate", "close", "create_agreement", "create_draft",
           "decline", "edit_referral", "grant_places", "issue_report", "log_visit",
           "record_breach", "request_info", "scan_overdue", "submit_existing", "submit_new",
           "update_agreement", "withdraw"]
