"""Sign-in's writes: sessions, one-time link tokens, OpenID Connect login states
and rate limits (their reads: queries.py). Secrets arrive here in clear and are
stored only as SHA-256 hashes; nothing here logs them. The durations are
PortalConfig's defaults; the entrypoints pass the configured ones."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from services.common.db import utcnow
from services.common.ids import new_id

from ..models import link_tokens, login_states, rate_limits, sessions

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=10)
LINK_TTL = timedelta(minutes=15)
STATE_TTL = timedelta(minutes=10)


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret():
    return secrets.token_urlsafe(32)


# -- sessions ------------------------------------------------------------------------

def create_session(db, sub, name, method, choices):
    """A new session for a person who has proved who they are; returns (row id, cookie value).
    The person still has to choose among `choices` when there are several."""
    token, now = new_secret(), utcnow()
    row = {"id": new_id(), "token_hash": digest(token), "csrf_token": new_secret(),
           "sub": sub, "name": name, "method": method, "choices": choices, "org_id": None,
           "org_name": None, "org_kind": None, "roles": [], "pupils": [], "created_at": now,
           "last_seen_at": now, "ended_at": None}
    with db.unit_of_work() as uow:
        uow.session.execute(sessions.insert().values(**row))
    if len(choices) == 1:
        choose(db, row["id"], 0)
    return row["id"], token


def choose(db, session_id, index):
    with db.unit_of_work() as uow:
        row = uow.session.execute(select(sessions).where(sessions.c.id == session_id)).first()
        if row is None or not 0 <= index < len(row.choices):
            return False
        c = row.choices[index]
        uow.session.execute(update(sessions).where(sessions.c.id == session_id).values(
            org_id=c["org_id"], org_name=c["org_name"], org_kind=c["org_kind"],
            roles=c["roles"], pupils=c.get("pupils", [])))
    return True


def end_session(db, session_id):
    with db.unit_of_work() as uow:
        uow.session.execute(update(sessions).where(
            sessions.c.id == session_id, sessions.c.ended_at.is_(None)).values(ended_at=utcnow()))


def end_all_sessions(db, sub):
    """Sign out everywhere: every live session of this person."""
    with db.unit_of_work() as uow:
        result = uow.session.execute(update(sessions).where(
            sessions.c.sub == sub, sessions.c.ended_at.is_(None)).values(ended_at=utcnow()))
    return result.rowcount


# -- one-time links ------------------------------------------------------------------

def create_link(db, email, now=None, ttl=LINK_TTL):
    """A one-time sign-in link token for an address; returns (token, expires_at)."""
    token, now = new_secret(), now or utcnow()
    expires = now + ttl
    with db.unit_of_work() as uow:
        uow.session.execute(link_tokens.insert().values(
            token_hash=digest(token), email=email, created_at=now, expires_at=expires))
        uow.session.execute(delete(link_tokens).where(
            link_tokens.c.expires_at < now - timedelta(days=1)))
    return token, expires


def use_link(db, token, now=None):
    """Spend a link: the address it was sent to, or None when unknown, used or expired.
    One UPDATE guarded by used_at IS NULL, so two clicks cannot both win."""
    now = now or utcnow()
    with db.unit_of_work() as uow:
        result = uow.session.execute(update(link_tokens).where(
            link_tokens.c.token_hash == digest(token), link_tokens.c.used_at.is_(None),
            link_tokens.c.expires_at > now).values(used_at=now))
        if result.rowcount != 1:
            return None
        return uow.session.execute(select(link_tokens.c.email).where(
            link_tokens.c.token_hash == digest(token))).scalar_one()


# -- OpenID Connect login states ----------------------------------------------------------

def save_login_state(db, state, nonce, code_verifier, ttl=STATE_TTL):
    now = utcnow()
    with db.unit_of_work() as uow:
        uow.session.execute(login_states.insert().values(
            state_hash=digest(state), nonce=nonce, code_verifier=code_verifier, created_at=now))
        uow.session.execute(delete(login_states).where(
            login_states.c.created_at < now - ttl))


def take_login_state(db, state, ttl=STATE_TTL):
    """The (nonce, code_verifier) saved for a state, once; None when unknown or stale."""
    if not state:
        return None
    with db.unit_of_work() as uow:
        row = uow.session.execute(select(login_states).where(
            login_states.c.state_hash == digest(state))).first()
        if row is None:
            return None
        uow.session.execute(delete(login_states).where(
            login_states.c.state_hash == row.state_hash))
    if utcnow() - row.created_at > ttl:
        return None
    return row.nonce, row.code_verifier


# -- rate limits ---------------------------------------------------------------------

def hit(db, kind, value, limit, window=timedelta(minutes=15), now=None):
    """Count one attempt for (kind, value); False when the window's limit is spent."""
    now = now or utcnow()
    key = f"{kind}:{digest(value.lower())}"
    with db.unit_of_work() as uow:
        row = uow.session.execute(select(rate_limits).where(rate_limits.c.key == key)
                                  .with_for_update()).first()
        if row is None:
            uow.session.execute(rate_limits.insert().values(key=key, window_start=now, count=1))
            return True
        if now - row.window_start > window:
            uow.session.execute(update(rate_limits).where(rate_limits.c.key == key)
                                .values(window_start=now, count=1))
            return True
        if row.count >= limit:
            return False
        uow.session.execute(update(rate_limits).where(rate_limits.c.key == key)
                            .values(count=rate_limits.c.count + 1))
        return True
