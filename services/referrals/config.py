"""The referrals service's settings (services/common/config.py reads them once, at start)."""

from dataclasses import dataclass

from services.common.config import PlatformConfig, at_least, setting


@dataclass(frozen=True)
class ReferralsConfig(PlatformConfig):
    # REFERRALS_ACKNOWLEDGE_WORKING_DAYS: England working days from the first submission
    # to the acknowledgement
    acknowledge_working_days: int = setting(2, check=at_least(0))
    # REFERRALS_TRIAGE_WORKING_DAYS: from the latest submission to the triage decision
    triage_working_days: int = setting(10, check=at_least(0))
    # REFERRALS_OVERDUE_SCAN_SECONDS: how often the overdue timer looks
    overdue_scan_seconds: float = setting(300.0, check=at_least(0.01))
