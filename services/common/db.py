"""Database access: one engine per URL, a unit of work, and a nameko
DependencyProvider that hands each worker a `Database` (docs/architecture.md, "Layout").

The unit of work is the only way a service writes: state changes, the events
they cause (outbox) and the record that an event was handled (inbox) commit
in one transaction, or not at all.
"""

import copy
import json
import logging
import threading
from contextlib import contextmanager
from datetime import UTC, datetime

import eventlet
from nameko.extensions import DependencyProvider
from opentelemetry.propagate import inject
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.pool import QueuePool

from services.contracts import make_event

from . import idempotency, outbox_signal, settings

log = logging.getLogger(__name__)

_engines = {}
_engines_lock = threading.Lock()


def utcnow():
    return datetime.now(UTC)


def get_engine(url):
    """One engine per URL per process.

    SQLite (development) gets one pooled connection, so that greenthreads of
    one process queue for it instead of deadlocking on SQLite's file lock, WAL
    mode and a busy timeout for other processes (senctl). PostgreSQL gets a
    normal pool; psycopg2 cooperates with eventlet once monkey-patched.
    Statement parameters are hidden from logs and error messages (personal data).
    """
    with _engines_lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        if url.startswith("sqlite"):
            engine = create_engine(
                url, hide_parameters=True, poolclass=QueuePool, pool_size=1, max_overflow=0, pool_timeout=60,
                connect_args={"check_same_thread": False, "timeout": 30},
            )

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
        else:
            engine = create_engine(url, hide_parameters=True, pool_pre_ping=True,
                                   pool_size=settings.get_int("DB_POOL_SIZE"),
                                   max_overflow=settings.get_int("DB_MAX_OVERFLOW"))
        _engines[url] = engine
        return engine


def dispose_engines():
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


_claim_statements = {}


def _claim_statement(inbox, dialect):
    """INSERT ... ON CONFLICT DO NOTHING into `inbox`, built once per table and dialect
    (values bound at execution: SQLAlchemy's compiled cache does the rest)."""
    key = (inbox, dialect)
    stmt = _claim_statements.get(key)
    if stmt is None:
        if dialect == "postgresql":  # the dialect modules only where they are used
            from sqlalchemy.dialects import postgresql
            stmt = postgresql.insert(inbox).on_conflict_do_nothing()
        elif dialect == "sqlite":
            from sqlalchemy.dialects import sqlite
            stmt = sqlite.insert(inbox).on_conflict_do_nothing()
        else:  # pragma: no cover - other engines are not supported
            return None
        _claim_statements[key] = stmt
    return stmt


class UnitOfWork:
    """A session plus the events it will publish and the work to do after commit."""

    def __init__(self, session, service, outbox, inbox):
        self.session = session
        self.service = service
        self._outbox = outbox
        self._inbox = inbox
        self._after_commit = []
        self.emitted = []

    def emit(self, event_type, data, *, org_id, actor, version=None):
        """Record an event in the outbox, in this transaction."""
        return self.emit_many(event_type, [data], org_id=org_id, actor=actor,
                              version=version)[0]

    def emit_many(self, event_type, datas, *, org_id, actor, version=None):
        """Record many events of one type with one executemany (bulk imports)."""
        carrier = {}
        inject(carrier)  # W3C traceparent of the current span, if any
        headers, now = json.dumps(carrier), utcnow()
        bodies, rows = [], []
        for data in datas:
            body = make_event(event_type, data, org_id=org_id, actor=actor, version=version)
            bodies.append(body)
            rows.append({"event_id": body["event_id"], "exchange": f"{self.service}.events",
                         "routing_key": event_type, "body": json.dumps(body),
                         "headers": headers, "created_at": now, "attempts": 0})
        if rows:
            self.session.execute(self._outbox.insert(), rows)
        self.emitted.extend(bodies)
        return bodies

    def claim(self, event_id, handler) -> bool:
        """Record that `handler` processes `event_id`; False if it already has."""
        values = {"event_id": event_id, "handler": handler, "processed_at": utcnow()}
        stmt = _claim_statement(self._inbox, self.session.get_bind().dialect.name)
        if stmt is None:  # pragma: no cover - other engines are not supported
            exists = self.session.execute(select(self._inbox.c.event_id).where(
                self._inbox.c.event_id == event_id, self._inbox.c.handler == handler)).first()
            if exists:
                return False
            stmt = self._inbox.insert()
        return self.session.execute(stmt, values).rowcount == 1

    def claim_many(self, event_ids, handler) -> set:
        """Record that `handler` processes each of `event_ids` (a consumer's batch);
        return the ids it had not processed before. One INSERT ... ON CONFLICT DO
        NOTHING RETURNING for the batch: what comes back is what this transaction
        claimed (a claim committed meanwhile by another process is not returned, so
        its event is not handled twice)."""
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return set()
        now = utcnow()
        rows = [{"event_id": i, "handler": handler, "processed_at": now} for i in ids]
        dialect = self.session.get_bind().dialect.name
        stmt = _claim_statement(self._inbox, dialect)
        if stmt is None:  # pragma: no cover - other engines are not supported
            inbox = self._inbox
            seen = set(self.session.execute(select(inbox.c.event_id).where(
                inbox.c.handler == handler, inbox.c.event_id.in_(ids))).scalars())
            new = [r for r in rows if r["event_id"] not in seen]
            if new:
                self.session.execute(inbox.insert(), new)
            return {r["event_id"] for r in new}
        key = (self._inbox, dialect, "returning")
        returning = _claim_statements.get(key)
        if returning is None:
            returning = _claim_statements[key] = stmt.returning(self._inbox.c.event_id)
        return set(self.session.execute(returning, rows).scalars())

    def after_commit(self, fn):
        """Run `fn()` once the transaction has committed (for I/O such as sending)."""
        self._after_commit.append(fn)


class Database:
    """What a worker sees as `self.db`."""

    def __init__(self, service, url, outbox, inbox, idempotency=None):
        self.service = service
        self.url = url
        self.engine = get_engine(url)
        self.outbox = outbox
        self.inbox = inbox
        self.idempotency = idempotency  # the idempotency_keys table, where the service has it
        self._claim = None

    def for_request(self, claim):
        """This database for one HTTP request with an Idempotency-Key: its first
        unit of work records the key (idempotency.py)."""
        if claim is None or self.idempotency is None:
            return self
        bound = copy.copy(self)
        bound._claim = claim
        return bound

    def session(self):
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self, after_commit_concurrency=1):
        """One transaction: state changes, outbox, inbox (and an Idempotency-Key's
        record) commit together; then the after-commit steps, one by one, or up to
        `after_commit_concurrency` side by side (a consumer's batch, each message's
        sends), every one finished before this returns."""
        session = self.session()
        uow = UnitOfWork(session, self.service, self.outbox, self.inbox)
        claim = self._claim if self._claim is not None and not self._claim.recorded else None
        try:
            if claim is not None:
                idempotency.record(session, self.idempotency, claim, utcnow())
            yield uow
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if claim is not None:
            claim.recorded = True
        if uow.emitted:
            outbox_signal.kick(self.service)
        steps = uow._after_commit
        if after_commit_concurrency > 1 and len(steps) > 1:
            pile = eventlet.GreenPile(min(after_commit_concurrency, len(steps)))
            for fn in steps:
                pile.spawn(self._after_commit_step, fn)
            list(pile)  # every step done (a step's fault is logged, never raised)
        else:
            for fn in steps:
                self._after_commit_step(fn)

    def _after_commit_step(self, fn):
        try:
            fn()
        except Exception:  # the work is committed; sweepers retry what this missed
            log.exception("after-commit step failed in %s", self.service)

    def ping(self):
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


class DatabaseProvider(DependencyProvider):
    """`db = DatabaseProvider(metadata)` on a service class."""

    def __init__(self, metadata, **kwargs):
        self.metadata = metadata
        super().__init__(**kwargs)

    def setup(self):
        service = self.container.service_name
        self.database = open_database(service, self.metadata)
        configure_mappers()  # at start, not in the first request that builds a model

    def get_dependency(self, worker_ctx):
        return self.database.for_request(idempotency.claim_of(worker_ctx))


def open_database(service, metadata, url=None):
    """A Database for `service`, outside nameko (senctl, tests, benchmarks)."""
    url = url or settings.database_url(service)
    return Database(service, url, metadata.tables["outbox"], metadata.tables["inbox"],
                    metadata.tables.get(idempotency.TABLE))
