"""Bearer tokens: JWTs signed by the trust's private key (RS256) and verified
by every service with the public key alone (DESIGN.md §4).

Claims: `sub` (the user), `org` (the organisation id the user acts for),
`roles` (list), plus `iss`, `aud`, `iat`, `exp`.
"""

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
from .problems import Forbidden, Unauthorized

ROLES = frozenset({
    "trust_admin", "senco", "teacher", "outreach", "outreach_lead",
    "partner_referrer", "cpd_admin", "auditor", "parent", "portal",
})
ALGORITHM = "RS256"


@dataclass(frozen=True)
class Principal:
    sub: str
    org: str
    roles: frozenset
    pupils: frozenset = frozenset()  # a parent's children (the `pupils` claim)

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


def public_keys():
    pem = _read_key("PUBLIC")
    keys = _load_public(pem) if pem else ()
    if not keys:
        raise Unauthorized("The service has no public key configured to verify tokens")
    return keys


def private_key():
    pem = _read_key("PRIVATE")
    if pem is None:
        raise RuntimeError("No private key: run `senctl keys create` or set JWT_PRIVATE_KEY_FILE")
    return pem


def issue_token(sub, org, roles, ttl=timedelta(hours=8), key=None, pupils=None):
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    now = datetime.now(UTC)
    claims = {
        "sub": sub, "org": org, "roles": sorted(roles),
        "iss": settings.get("JWT_ISSUER"), "aud": settings.get("JWT_AUDIENCE"),
        "iat": now, "nbf": now, "exp": now + ttl, "jti": str(uuid.uuid4()),
    }
    if pupils is not None:
        claims["pupils"] = sorted(map(str, pupils))
    return jwt.encode(claims, key or private_key(), algorithm=ALGORITHM)


def _decode(token, key):
    return jwt.decode(
        token, key, algorithms=[ALGORITHM],
        audience=settings.get("JWT_AUDIENCE"), issuer=settings.get("JWT_ISSUER"),
        options={"require": ["exp", "sub", "iss", "aud"]}, leeway=30,
    )


def verify_token(token) -> Principal:
    claims = None
    for key in public_keys():
        try:
            claims = _decode(token, key)
            break
        except jwt.InvalidSignatureError:
            continue  # perhaps signed by the other key of a rotation
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("The token is not valid") from None
    if claims is None:
        raise Unauthorized("The token is not valid")
    org, roles = claims.get("org"), claims.get("roles")
    if not isinstance(org, str) or not org or not isinstance(roles, list):
        raise Unauthorized("The token lacks the org or roles claim")
    pupils = claims.get("pupils") or []
    if not isinstance(pupils, list):
        raise Unauthorized("The token's pupils claim is not a list")
    return Principal(sub=str(claims["sub"]), org=org, roles=frozenset(map(str, roles)),
                     pupils=frozenset(map(str, pupils)))


def authenticate(request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send a bearer token in the Authorization header")
    return verify_token(token.strip())


def authorise(principal, roles):
    if roles and not principal.has_any(roles):
        raise Forbidden("Your role does not allow this")
