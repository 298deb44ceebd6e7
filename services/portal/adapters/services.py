"""A thin client of the five services' HTTP APIs. Every call carries a
short-lived RS256 token minted for the person signed in (or, for the sign-in
lookups alone, for the portal's own `portal` principal), so each service keeps
enforcing its own tenancy and role rules. The portal never opens their databases.

Base URLs come from PortalConfig (PUPILS_URL, PROVISION_URL, CPD_URL, REFERRALS_URL,
NOTIFY_URL; defaults: the dev ports on localhost).
"""

from datetime import timedelta

import requests
from nameko.extensions import DependencyProvider

from services.common import auth
from services.common.access import OrgKind, Role
from services.common.config import load

from ..config import PortalConfig, default

_http = requests.Session()


class ApiError(Exception):
    """A 4xx/5xx answer: the problem document is kept for the page to show."""

    def __init__(self, status, problem):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.problem = problem if isinstance(problem, dict) else {}

    @property
    def field_errors(self):
        return self.problem.get("errors") or {}

    @property
    def detail(self):
        return self.problem.get("detail")


def mint(sub, org, roles, pupils=(), ttl=timedelta(minutes=15), *, org_kind):
    """A token for one person acting at one organisation, signed with the trust's key.
    `org_kind` comes from the pupils service's organisation record (the sign-in lookup):
    the services decide with it which roles the token may carry, and where."""
    return auth.issue_token(sub, org, sorted(roles), ttl=ttl, org_kind=org_kind,
                            pupils=sorted(pupils) or None)


class Client:
    """client.get("referrals", "/api/v1/referrals", params=...) → the decoded JSON."""

    def __init__(self, token, config=None):
        self.token = token
        self.config = config or default()

    @classmethod
    def for_session(cls, session, config=None):
        config = config or default()
        return cls(mint(session.sub, session.org_id, session.roles, session.pupils or (),
                        ttl=timedelta(minutes=config.user_token_minutes),
                        org_kind=session.org_kind), config)

    @classmethod
    def for_portal(cls, config=None):
        config = config or default()
        return cls(mint(Role.PORTAL, config.trust_org_id or "", [Role.PORTAL],
                        org_kind=OrgKind.TRUST), config)

    def call(self, method, service, path, json=None, params=None, raw=False, headers=None):
        resp = _http.request(method, self.config.base_url(service) + path, json=json,
                             params=params, timeout=self.config.api_timeout_seconds,
                             headers={**(headers or {}), "Authorization": f"Bearer {self.token}"})
        if resp.status_code >= 400:
            try:
                problem = resp.json()
            except ValueError:
                problem = {}
            raise ApiError(resp.status_code, problem)
        if raw:
            return resp
        return resp.json() if resp.content else None

    def get(self, service, path, **params):
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return self.call("GET", service, path, params=clean or None)

    def post(self, service, path, body=None, idempotency_key=None):
        """`idempotency_key`: sent as Idempotency-Key, so a form sent twice (a double
        click, a retry after a broken connection) creates one thing and answers the same."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self.call("POST", service, path, json=body if body is not None else {},
                         headers=headers)

    def put(self, service, path, body):
        return self.call("PUT", service, path, json=body)

    def patch(self, service, path, body):
        return self.call("PATCH", service, path, json=body)

    def try_get(self, service, path, default=None, **params):
        """For the parts of a page that the reader may not be allowed to see."""
        try:
            return self.get(service, path, **params)
        except ApiError:
            return default

    def items(self, service, path, **params):
        """The `items` of a list the reader may not be allowed to see (else [])."""
        return (self.try_get(service, path, {}, **params) or {}).get("items", [])


class Services:
    """The services as the portal calls them: as a person, or as `portal` itself."""

    def __init__(self, config):
        self.config = config

    def as_person(self, session):
        return Client.for_session(session, self.config)

    def as_portal(self):
        return Client.for_portal(self.config)

    def sign_in_lookup(self, email):
        """Who is this address? {"staff": [...], "guardian_of": [...]} (pupils, as `portal`)."""
        return self.as_portal().post("pupils", "/api/v1/sign-in/lookup", {"email": email})

    def send_sign_in_link(self, email, url, expires_at):
        """Ask notify to email a one-time sign-in link (as `portal`)."""
        return self.as_portal().post("notify", "/api/v1/sign-in-links", {
            "email": email, "url": url, "expires_at": expires_at.isoformat()})


class ServicesProvider(DependencyProvider):
    """`services = ServicesProvider()`: the services' APIs with the portal's settings."""

    def setup(self):
        self.value = Services(load(PortalConfig, self.container.service_name))

    def get_dependency(self, worker_ctx):
        return self.value
