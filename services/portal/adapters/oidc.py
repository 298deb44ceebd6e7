"""Staff sign-in over OpenID Connect (authorization code + PKCE), with Authlib.

Configured by PortalConfig's oidc_discovery_url, oidc_client_id and oidc_client_secret
(OIDC_DISCOVERY_URL, ...: the trust's Entra ID or Google Workspace app registration; the
local oidc-provider in development and tests). The ID token is verified with the
provider's published keys (joserfc, Authlib's JOSE library): issuer, audience, expiry,
nonce. `OpenIdProvider` gives the entrypoints an `OpenId` for the portal's settings.
"""

import time
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from nameko.extensions import DependencyProvider

from services.common.config import load

from ..config import PortalConfig

_cache = {}


class SignInFailed(Exception):
    """The provider's answer could not be trusted; the person is asked to try again."""


def _cached(key, fetch, ttl=3600):
    hit = _cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    value = fetch()
    _cache[key] = (time.monotonic() + ttl, value)
    return value


class OpenId:
    """Sign-in with the trust's OpenID provider, for one set of settings."""

    def __init__(self, config):
        self.config = config
        self.timeout = config.oidc_timeout_seconds

    def configured(self):
        return self.config.oidc_configured

    def metadata(self):
        url = self.config.oidc_discovery_url
        return _cached(("meta", url), lambda: requests.get(url, timeout=self.timeout).json())

    def _keys(self, refresh=False):
        uri = self.metadata()["jwks_uri"]
        if refresh:
            _cache.pop(("jwks", uri), None)
        return _cached(("jwks", uri), lambda: KeySet.import_key_set(
            requests.get(uri, timeout=self.timeout).json()))

    def issuer_origin(self):
        """The provider's origin, for the CSP form-action of the sign-in page (None when
        sign-in with a work account is not set up)."""
        if not self.configured():
            return None
        try:
            parts = urlsplit(self.metadata()["authorization_endpoint"])
        except Exception:  # noqa: BLE001 - the page still renders; sign-in reports the fault
            return None
        return f"{parts.scheme}://{parts.netloc}"

    def _client(self, redirect_uri):
        return OAuth2Session(self.config.oidc_client_id, self.config.oidc_client_secret,
                             scope="openid email profile", redirect_uri=redirect_uri,
                             code_challenge_method="S256")

    def start(self, redirect_uri):
        """(authorization URL, state, nonce, code_verifier) for a new sign-in."""
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url, _ = self._client(redirect_uri).create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, nonce=nonce,
            code_verifier=verifier)
        return url, state, nonce, verifier

    def finish(self, redirect_uri, code, nonce, code_verifier):
        """Exchange the code; verify the ID token; return {"email", "name"}."""
        meta = self.metadata()
        try:
            token = self._client(redirect_uri).fetch_token(
                meta["token_endpoint"], grant_type="authorization_code", code=code,
                code_verifier=code_verifier, timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - the provider refused the code
            raise SignInFailed(type(exc).__name__) from None
        id_token = token.get("id_token")
        if not id_token:
            raise SignInFailed("no id_token")
        claims = self._verify(id_token, meta)
        if claims.get("nonce") != nonce:
            raise SignInFailed("nonce")
        email = claims.get("email") or claims.get("preferred_username") or claims.get("upn")
        if not email and meta.get("userinfo_endpoint"):
            info = requests.get(meta["userinfo_endpoint"], timeout=self.timeout, headers={
                "Authorization": f"Bearer {token['access_token']}"}).json()
            email = info.get("email")
            claims.setdefault("name", info.get("name"))
        if not email or "@" not in email:
            raise SignInFailed("no email claim")
        return {"email": email.strip().lower(), "name": claims.get("name")}

    def _verify(self, id_token, meta):
        algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in algorithms if a != "none"]
        for refresh in (False, True):  # the provider may have rotated its keys
            try:
                decoded = jwt.decode(id_token, self._keys(refresh), algorithms=algorithms)
                break
            except JoseError:
                if refresh:
                    raise SignInFailed("signature") from None
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": meta["issuer"]},
            aud={"essential": True, "value": self.config.oidc_client_id},
            exp={"essential": True}, sub={"essential": True}, leeway=60)
        try:
            registry.validate(decoded.claims)
        except JoseError:
            raise SignInFailed("claims") from None
        return decoded.claims


class OpenIdProvider(DependencyProvider):
    """`oidc = OpenIdProvider()`: an `OpenId` for the portal's settings."""

    def setup(self):
        self.value = OpenId(load(PortalConfig, self.container.service_name))

    def get_dependency(self, worker_ctx):
        return self.value
