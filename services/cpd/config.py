"""The cpd service's settings (read once, when the container starts)."""

from dataclasses import dataclass

from services.common.config import PlatformConfig, at_least, setting


@dataclass(frozen=True)
class CpdConfig(PlatformConfig):
    # CPD_PLACES_PER_ORG: places one organisation may hold on a session when the
    # course does not say (0 = no limit)
    places_per_org: int = setting(0, check=at_least(0))
    # CPD_OFFER_SESSIONS: upcoming sessions offered per course after referral.closed
    offer_sessions: int = setting(3, check=at_least(0))
    # CPD_ORGANISER_EMAIL: the ORGANIZER of calendar invitations
    organiser_email: str = "cpd@sen-trust.example"
    # CPD_VERIFY_BASE_URL: where a certificate says to check it
    verify_base_url: str = "http://localhost:8003"
