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

from nameko.extensions import DependencyProvider
from opentelemetry.propagate import inject
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
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
        dialect = self.session.get_bind().dialect.name
        values = {"event_id": event_id, "handler": handler, "processed_at": utcnow()}
        if dialect == "postgresql":
            stmt = postgresql.insert(self._inbox).values(**values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite.insert(self._inbox).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - other engines are not supported
            exists = self.session.execute(select(self._inbox.c.event_id).where(
                self._inbox.c.event_id == event_id, self._inbox.c.handler == handler)).first()
            if exists:
                return False
            stmt = self._inbox.insert().values(**values)
        return self.session.execute(stmt).rowcount == 1

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
    def unit_of_work(self):
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
        for fn in uow._after_commit:
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

    def get_dependency(self, worker_ctx):
        return self.database.for_request(idempotency.claim_of(worker_ctx))


def open_database(service, metadata, url=None):
    """A Database for `service`, outside nameko (senctl, tests, benchmarks)."""
    url = url or settings.database_url(service)
    return Database(service, url, metadata.tables["outbox"], metadata.tables["inbox"],
                    metadata.tables.get(idempotency.TABLE))
