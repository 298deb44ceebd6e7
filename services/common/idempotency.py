"""`Idempotency-Key` on POSTs that create something (IETF httpapi draft
"The Idempotency-Key HTTP Header Field").

A client that retries a POST with the same key and the same body gets the
first answer again (status, body, Location), marked `Idempotent-Replayed:
true`; the same key with another body is a 422; a retry while the first is
still in flight is a 409 with Retry-After. Keys are scoped to the principal
(its organisation and subject), so two schools cannot collide.

The key is written to the service's own database (`idempotency_keys`, a kit
table of every service) in the same transaction as what the request creates:
the first unit of work the request opens records it before anything else, so
either both commit or neither, and a concurrent twin finds the row and stops
(409) instead of creating a second referral. The answer is stored right after.
Rows are kept for IDEMPOTENCY_RETENTION_HOURS (24 by default).

If the process dies between the commit and storing the answer, the effect is
there once but its answer is not: after IDEMPOTENCY_INFLIGHT_SECONDS (60) a
retry gets a 409 of type `idempotency-answer-lost` (never a second creation).
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Column, Integer, String, Table, Text, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from . import settings
from .auth import authenticate
from .problems import Conflict, Problem, Unprocessable

HEADER = "Idempotency-Key"
ENVIRON_KEY = "sen.idempotency"
TABLE = "idempotency_keys"
_KEY = re.compile(r'^[\x21\x23-\x5b\x5d-\x7e]{1,255}$')  # visible ASCII, no quote or backslash
KEPT_HEADERS = ("Location", "Content-Type")


class AnswerLost(Conflict):
    slug = "idempotency-answer-lost"


def table(metadata):
    from .tables import UTCDateTime
    return Table(
        TABLE, metadata,
        Column("scope", String(300), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status", Integer, nullable=True),
        Column("headers", Text, nullable=True),
        Column("body", Text, nullable=True),
        Column("created_at", UTCDateTime(), nullable=False, index=True),
    )


@dataclass
class Claim:
    scope: str
    key: str
    fingerprint: str
    recorded: bool = False


def parse_key(raw):
    """The key from the header: an sf-string ("...") as the draft writes it, or
    a bare token. None if it is not a valid key."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value if _KEY.match(value) else None


def fingerprint(request):
    raw = request.get_data(cache=True) or b""
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        body = raw
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(),
                 request.query_string or b"", body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _database(container):
    from .db import DatabaseProvider
    for dep in container.dependencies:
        if isinstance(dep, DatabaseProvider):
            return getattr(dep, "database", None)
    return None


def _problem(problem):
    from .http import problem_response
    return problem_response(problem)


def before(entrypoint, request):
    """A stored answer (or a 409/422) for a repeated key, or None to go on; a
    first request gets its Claim in the WSGI environ for the unit of work."""
    if request.method != "POST" or entrypoint.public or HEADER not in request.headers:
        return None
    key = parse_key(request.headers[HEADER])
    if key is None:
        return _problem(Unprocessable(
            f"{HEADER} must be 1 to 255 visible ASCII characters",
            errors={HEADER: ["1 to 255 visible ASCII characters (a UUID is ideal)"]}))
    db = _database(entrypoint.container)
    if db is None or db.idempotency is None:
        return None
    from .http import MAX_BODY_BYTES
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        return None  # the normal path refuses it
    request.shallow = False  # as nameko's handler does before reading the body
    try:
        principal = authenticate(request)
    except Problem:
        return None  # the normal path answers 401
    claim = Claim(f"{principal.org}|{principal.sub}", key, fingerprint(request))
    found = _find(db, claim)
    if found is not None:
        return _answer(found, claim)
    request.environ[ENVIRON_KEY] = claim
    return None


def _find(db, claim):
    t = db.idempotency
    with db.engine.connect() as conn:
        return conn.execute(select(t).where(t.c.scope == claim.scope,
                                            t.c.key == claim.key)).first()


def _answer(row, claim):
    if row.fingerprint != claim.fingerprint:
        return _problem(Unprocessable(
            f"This {HEADER} was used for a different request",
            errors={HEADER: ["Already used with another request body or path"]}))
    if row.status is None:
        from .db import utcnow
        age = (utcnow() - row.created_at).total_seconds()
        if age > float(settings.get("IDEMPOTENCY_INFLIGHT_SECONDS", default="60")):
            # the first request took effect, then its process died before answering
            return _problem(AnswerLost(
                f"The first request with this {HEADER} took effect, but its answer was "
                "lost (the server stopped before replying); do not send it again: look "
                "the result up instead",
                errors={HEADER: ["Already used; the request took effect once"]}))
        return _problem(Conflict(
            f"A request with this {HEADER} is still being processed; retry shortly",
            headers={"Retry-After": "1"}))
    headers = json.loads(row.headers or "{}")
    headers["Idempotent-Replayed"] = "true"
    return Response(row.body, status=row.status, headers=headers)


def claim_of(worker_ctx):
    """The Claim of the HTTP request this worker serves, if any."""
    args = getattr(worker_ctx, "args", None) or ()
    environ = getattr(args[0], "environ", None) if args else None
    return environ.get(ENVIRON_KEY) if isinstance(environ, dict) else None


def record(session, t, claim, now):
    """In the request's first unit of work: the key, before anything else."""
    try:  # a twin that committed first (or holds the row) makes this fail: stop
        session.execute(insert(t).values(scope=claim.scope, key=claim.key,
                                         fingerprint=claim.fingerprint, created_at=now))
    except IntegrityError:
        raise Conflict(f"A request with this {HEADER} is already being processed or done; "
                       "retry to get its answer", headers={"Retry-After": "1"}) from None


def after(entrypoint, request, response):
    """Store the answer of the request that holds a Claim."""
    claim = request.environ.get(ENVIRON_KEY)
    if claim is None:
        return
    db = _database(entrypoint.container)
    t = db.idempotency
    values = {"status": response.status_code, "body": response.get_data(as_text=True),
              "headers": json.dumps({h: response.headers[h] for h in KEPT_HEADERS
                                     if h in response.headers})}
    from .db import utcnow
    with db.engine.begin() as conn:
        if claim.recorded:
            conn.execute(update(t).where(t.c.scope == claim.scope, t.c.key == claim.key)
                         .values(**values))
        elif response.status_code < 400:  # created without a unit of work: best effort
            try:
                conn.execute(insert(t).values(scope=claim.scope, key=claim.key,
                                              fingerprint=claim.fingerprint,
                                              created_at=utcnow(), **values))
            except IntegrityError:
                pass
    # an error answer that recorded nothing is not kept: a retry runs again


def purge(db):
    if db.idempotency is None:
        return
    from .db import utcnow
    hours = float(settings.get("IDEMPOTENCY_RETENTION_HOURS", default="24"))
    with db.engine.begin() as conn:
        conn.execute(delete(db.idempotency).where(
            db.idempotency.c.created_at < utcnow() - timedelta(hours=hours)))


# -- for pages (a form's hidden key) ------------------------------------------------

def claim_for(principal, key, payload, route):
    """A Claim for a key sent in a form rather than a header, or None."""
    key = parse_key(key or "")
    if key is None:
        return None
    digest = hashlib.sha256(route.encode() + b"\0" + json.dumps(
        payload, sort_keys=True, default=str).encode()).hexdigest()
    return Claim(f"{principal.org}|{principal.sub}", key, digest)


def find(db, claim):
    """The stored row for a claim (status None: still in flight), or None."""
    return _find(db, claim)


def remember(db, claim, status, headers=None, body=""):
    """Store a page's answer (its redirect) for its claim."""
    t = db.idempotency
    values = {"status": status, "body": body, "headers": json.dumps(headers or {})}
    with db.engine.begin() as conn:
        conn.execute(update(t).where(t.c.scope == claim.scope, t.c.key == claim.key)
                     .values(**values))
