"""Staff sign-in over OpenID Connect (authorization code + PKCE), with Authlib.

Configured by OIDC_DISCOVERY_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (the
trust's Entra ID or Google Workspace app registration; the local oidc-provider
in development and tests). The ID token is verified with the provider's
published keys (joserfc, Authlib's JOSE library): issuer, audience, expiry, nonce.
"""

import time

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.common import settings

TIMEOUT = 10
_cache = {}


class SignInFailed(Exception):
    """The provider's answer could not be trusted; the person is asked to try again."""


def configured():
    return bool(settings.get("OIDC_DISCOVERY_URL") and settings.get("OIDC_CLIENT_ID"))


def _cached(key, fetch, ttl=3600):
    hit = _cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    value = fetch()
    _cache[key] = (time.monotonic() + ttl, value)
    return value


def metadata():
    url = settings.get("OIDC_DISCOVERY_URL")
    return _cached(("meta", url), lambda: requests.get(url, timeout=TIMEOUT).json())


def _keys(refresh=False):
    uri = metadata()["jwks_uri"]
    if refresh:
        _cache.pop(("jwks", uri), None)
    return _cached(("jwks", uri), lambda: KeySet.import_key_set(
        requests.get(uri, timeout=TIMEOUT).json()))


def issuer_origin():
    """The provider's origin, for the CSP form-action of the sign-in page."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(metadata()["authorization_endpoint"])
    except Exception:  # noqa: BLE001 - the page still renders; sign-in reports the fault
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _client(redirect_uri):
    return OAuth2Session(settings.get("OIDC_CLIENT_ID"), settings.get("OIDC_CLIENT_SECRET"),
                         scope="openid email profile", redirect_uri=redirect_uri,
                         code_challenge_method="S256")


def start(redirect_uri):
    """(authorization URL, state, nonce, code_verifier) for a new sign-in."""
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    url, _ = _client(redirect_uri).create_authorization_url(
        metadata()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier)
    return url, state, nonce, verifier


def finish(redirect_uri, code, nonce, code_verifier):
    """Exchange the code; verify the ID token; return {"email", "name"}."""
    meta = metadata()
    try:
        token = _client(redirect_uri).fetch_token(
            meta["token_endpoint"], grant_type="authorization_code", code=code,
            code_verifier=code_verifier, timeout=TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - the provider refused the code
        raise SignInFailed(type(exc).__name__) from None
    id_token = token.get("id_token")
    if not id_token:
        raise SignInFailed("no id_token")
    claims = _verify(id_token, meta)
    if claims.get("nonce") != nonce:
        raise SignInFailed("nonce")
    email = claims.get("email") or claims.get("preferred_username") or claims.get("upn")
    if not email and meta.get("userinfo_endpoint"):
        info = requests.get(meta["userinfo_endpoint"], timeout=TIMEOUT, headers={
            "Authorization": f"Bearer {token['access_token']}"}).json()
        email = info.get("email")
        claims.setdefault("name", info.get("name"))
    if not email or "@" not in email:
        raise SignInFailed("no email claim")
    return {"email": email.strip().lower(), "name": claims.get("name")}


def _verify(id_token, meta):
    algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in algorithms if a != "none"]
    for refresh in (False, True):  # the provider may have rotated its keys
        try:
            decoded = jwt.decode(id_token, _keys(refresh), algorithms=algorithms)
            break
        except JoseError:
            if refresh:
                raise SignInFailed("signature") from None
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": settings.get("OIDC_CLIENT_ID")},
        exp={"essential": True}, sub={"essential": True}, leeway=60)
    try:
        registry.validate(decoded.claims)
    except JoseError:
        raise SignInFailed("claims") from None
    return decoded.claims
