"""The portal's settings (docs/architecture.md, "Configuration"): every value it reads,
typed, with its default. Loaded once when the container starts (`ConfigProvider`);
outside nameko, `load(PortalConfig, "portal")`.

A field `pupils_url` is read from PORTAL_PUPILS_URL, else PUPILS_URL, else its default."""

from dataclasses import dataclass
from functools import cache

from services.common import settings
from services.common.config import PlatformConfig, at_least, load, setting

SERVICES = ("pupils", "provision", "cpd", "referrals", "notify")


@dataclass(frozen=True)
class PortalConfig(PlatformConfig):
    # the services' base URLs (None: the dev port on localhost, settings.DEV_PORTS)
    pupils_url: str | None = None
    provision_url: str | None = None
    cpd_url: str | None = None
    referrals_url: str | None = None
    notify_url: str | None = None
    api_timeout_seconds: float = setting(15.0, check=at_least(1))
    user_token_minutes: int = setting(15, check=at_least(1))
    # the trust's organisation id: the `portal` principal's token names it
    trust_org_id: str | None = None
    # staff sign-in over OpenID Connect (unset: only email links)
    oidc_discovery_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_timeout_seconds: float = setting(10.0, check=at_least(1))
    # the first X-Forwarded-For hop is the client's address only behind our ingress
    trust_proxy_headers: bool = False
    # sign-in link requests per 15 minutes, per address and per client address
    email_link_limit: int = setting(5, check=at_least(1))
    ip_link_limit: int = setting(30, check=at_least(1))
    session_idle_minutes: int = setting(30, check=at_least(1))
    session_absolute_hours: int = setting(10, check=at_least(1))
    link_minutes: int = setting(15, check=at_least(1))
    login_state_minutes: int = setting(10, check=at_least(1))

    def base_url(self, service):
        """A service's API base URL (no trailing slash)."""
        configured = getattr(self, f"{service}_url")
        return (configured or f"http://127.0.0.1:{settings.DEV_PORTS[service]}").rstrip("/")

    @property
    def oidc_configured(self):
        return bool(self.oidc_discovery_url and self.oidc_client_id)


@cache
def default():
    """The settings outside a container (the portal's own process reads them the same way)."""
    return load(PortalConfig, "portal")
