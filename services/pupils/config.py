"""The pupils service's settings (services/common/config.py): each read from
`PUPILS_<NAME>`, else `<NAME>`, else the default here."""

from dataclasses import dataclass

from services.common.config import PlatformConfig, at_least, setting


@dataclass(frozen=True)
class PupilsConfig(PlatformConfig):
    # how many England working days ahead of an EHC deadline its reminder is emitted
    ehcp_lead_working_days: int = setting(10, check=at_least(0))
    # PUPILS_EHCP_TIMER_SECONDS (or EHCP_TIMER_SECONDS): the EHC reminders timer's interval
    ehcp_timer_seconds: float = setting(86400.0, check=at_least(0.01))
