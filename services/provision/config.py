"""The provision service's settings (services/common/config.py reads them)."""

from dataclasses import dataclass

from services.common.config import PlatformConfig, at_least, setting


@dataclass(frozen=True)
class ProvisionConfig(PlatformConfig):
    # provision.review_due is announced this many days before an APDR review
    review_lead_days: int = setting(14, check=at_least(0))
    # how often the review timer runs (it is idempotent: a review is announced once)
    review_timer_seconds: float = setting(3600.0, check=at_least(0.01))
