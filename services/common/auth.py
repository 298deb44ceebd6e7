"""Bearer tokens: JWTs signed by the trust's private key (RS256) and verified
by every service with the public key alone (docs/architecture.md, "Tenancy").

Claims: `sub` (the user), `org` (the organisation id the user acts for),
`org_kind` (that organisation's kind: trust, trust_school, arb, partner_school),
`roles` (list), `pupils` (a parent's pupil ids), plus `iss`, `aud`, `iat`,
`exp`, `jti`. A token whose lifetime (`exp - iat`) exceeds JWT_MAX_TTL_SECONDS,
or that has no `iat`, is refused; so is one on the revocation list
(JWT_REVOCATION_FILE, written by `senctl token revoke`).
"""

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import settings
from .access import ORG_KINDS, ROLES, check_held
from .problems import Forbidden, Unauthorized

ALGORITHM = "RS256"
DEFAULT_MAX_TTL_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Principal:
    sub: str
    org: str
    roles: frozenset
    org_kind: str | None = None
    pupils: frozenset = frozenset()

    def has_any(self, roles):
        return bool(self.roles & set(roles))


def generate_key_pair():
    """Return (private_pem, public_pem) as bytes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def default_key_dir():
    return settings.VAR_DIR / "keys"


def _read_key(kind):
    value = settings.get(f"JWT_{kind}_KEY")
    if value:
        return value.replace("\\n", "\n")
    path = settings.get(f"JWT_{kind}_KEY_FILE") or str(
        default_key_dir() / f"jwt_{kind.lower()}.pem")
    if not os.path.exists(path):
        return None
    return Path(path).read_text()


_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


@lru_cache(maxsize=4)
def _load_public(pem):
    """Every public key in the PEM text: during a key rotation the old and the
    new key are published together, and a token signed by either verifies."""
    return tuple(serialization.load_pem_public_key(block.encode())
                 for block in _PEM_BLOCK.findall(pem))


def _public_pem_and_keys():
    pem = _read_key("PUBLIC")
    keys = _load_public(pem) if pem else ()
    if not keys:
        raise Unauthorized("The service has no public key configured to verify tokens")
    return pem, keys


def public_keys():
    return _public_pem_and_keys()[1]


def private_key():
    pem = _read_key("PRIVATE")
    if pem is None:
        raise RuntimeError("No private key: run `senctl keys create` or set JWT_PRIVATE_KEY_FILE")
    return pem


def max_ttl_seconds():
    return int(settings.get("JWT_MAX_TTL_SECONDS", str(DEFAULT_MAX_TTL_SECONDS)))


def issue_token(sub, org, roles, ttl=timedelta(hours=8), key=None, *, org_kind, pupils=None,
                now=None):
    """A signed token. `org_kind` comes from the organisation's own record (the
    pupils service's organisations): it decides which roles the token may carry
    and whether they are trust-wide (services/common/access.py)."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    if org_kind not in ORG_KINDS:
        raise ValueError(f"unknown organisation kind: {org_kind}")
    now = now or datetime.now(UTC)
    claims = {
        "sub": sub, "org": org, "org_kind": org_kind, "roles": sorted(roles),
        "iss": settings.get("JWT_ISSUER"), "aud": settings.get("JWT_AUDIENCE"),
        "iat": now, "nbf": now, "exp": now + ttl, "jti": str(uuid.uuid4()),
    }
    if pupils is not None:
        claims["pupils"] = sorted(map(str, pupils))
    return jwt.encode(claims, key or private_key(), algorithm=ALGORITHM)


# -- revocation ----------------------------------------------------------------------

def revocation_file():
    return Path(settings.get("JWT_REVOCATION_FILE") or default_key_dir() / "revoked.jsonl")


_revoked_cache = {}


def revocations():
    """(jtis, {sub: revoked_before_epoch}) from the revocation file: JSON lines
    {"jti": ...} or {"sub": ..., "before": epoch}. Re-read when the file changes."""
    path = revocation_file()
    try:
        stat = path.stat()
    except OSError:
        return frozenset(), {}
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if _revoked_cache.get("key") != key:
        jtis, subs = set(), {}
        for line in path.read_text().splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if not isinstance(item, dict):
                continue
            if item.get("jti"):
                jtis.add(str(item["jti"]))
            if item.get("sub"):
                sub = str(item["sub"]).strip().lower()
                subs[sub] = max(subs.get(sub, 0), float(item.get("before") or 0))
        _revoked_cache.update(key=key, value=(frozenset(jtis), subs))
    return _revoked_cache["value"]


def revoke(jti=None, sub=None, before=None):
    """Append to the revocation file: one token (jti), or every token of a person
    issued up to `before` (default now). Services read it on the next request."""
    if not jti and not sub:
        raise ValueError("name a jti or a sub")
    item = {"jti": jti} if jti else {
        "sub": sub.strip().lower(),
        "before": before if before is not None else datetime.now(UTC).timestamp()}
    path = revocation_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(item) + "\n")
    return item


def _check_lifetime_and_revocation(claims):
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise Unauthorized("The token has no issue time (iat)")
    if exp - iat > max_ttl_seconds():
        raise Unauthorized("The token lives longer than the services allow")
    jtis, subs = revocations()
    if claims.get("jti") and str(claims["jti"]) in jtis:
        raise Unauthorized("The token has been revoked")
    before = subs.get(str(claims["sub"]).strip().lower())
    if before is not None and iat <= before:
        raise Unauthorized("The token has been revoked")


LEEWAY_SECONDS = 30


def _decode(token, key, audience, issuer):
    return jwt.decode(
        token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
        options={"require": ["exp", "iat", "sub", "iss", "aud"]}, leeway=LEEWAY_SECONDS,
    )


#: tokens whose signature, audience and issuer were verified, with their claims:
#: (token, public key PEM, audience, issuer) -> claims. A client sends the same
#: token with every request of a session; the RSA check is done once, the time
#: claims, the lifetime and the revocation list on every request.
_verified = {}
_VERIFIED_MAX = 4096


def _still_valid(claims):
    """PyJWT's checks of the time claims (exp, nbf, iat, with the same leeway), for a
    token verified before."""
    now = datetime.now(UTC).timestamp()
    if int(claims["exp"]) <= now - LEEWAY_SECONDS:
        raise Unauthorized("The token has expired")
    for claim in ("nbf", "iat"):
        if claim in claims and int(claims[claim]) > now + LEEWAY_SECONDS:
            raise Unauthorized("The token is not valid")


def _claims(token):
    pem, keys = _public_pem_and_keys()
    audience, issuer = settings.get("JWT_AUDIENCE"), settings.get("JWT_ISSUER")
    cache_key = (token, pem, audience, issuer)
    claims = _verified.get(cache_key)
    if claims is not None:
        _still_valid(claims)
        return claims
    for key in keys:
        try:
            claims = _decode(token, key, audience, issuer)
            break
        except jwt.InvalidSignatureError:
            continue  # perhaps signed by the other key of a rotation
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("The token is not valid") from None
    if claims is None:
        raise Unauthorized("The token is not valid")
    if len(_verified) >= _VERIFIED_MAX:
        _verified.pop(next(iter(_verified)))  # the oldest
    _verified[cache_key] = claims
    return claims


def verify_token(token) -> Principal:
    claims = _claims(token)
    org, roles = claims.get("org"), claims.get("roles")
    if not isinstance(org, str) or not org or not isinstance(roles, list):
        raise Unauthorized("The token lacks the org or roles claim")
    org_kind = claims.get("org_kind")
    if org_kind not in ORG_KINDS:
        raise Unauthorized("The token lacks the org_kind claim")
    pupils = claims.get("pupils") or []
    if not isinstance(pupils, list):
        raise Unauthorized("The token's pupils claim is not a list")
    _check_lifetime_and_revocation(claims)
    return Principal(sub=str(claims["sub"]), org=org, roles=frozenset(map(str, roles)),
                     org_kind=org_kind, pupils=frozenset(map(str, pupils)))


def authenticate(request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send a bearer token in the Authorization header")
    return verify_token(token.strip())


def authorise(principal, roles):
    check_held(principal)  # a role its organisation's kind may not hold: 403
    if roles and not principal.has_any(roles):
        raise Forbidden("Your role does not allow this")
