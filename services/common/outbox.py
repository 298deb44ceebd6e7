"""The outbox relay: publishes what units of work committed, with publisher
confirms, and marks it sent (DESIGN.md §3).

A row is marked published only after the broker confirmed it, so a crash
between commit and publish, or between publish and mark, loses nothing: the
event goes out again on the next pass and consumers' inboxes ignore the copy.
On PostgreSQL, replicas of a service share the work with
SELECT … FOR UPDATE SKIP LOCKED.
"""

import json
import logging
from datetime import timedelta

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import delete, func, select, update

from . import messaging, metrics, outbox_signal, settings
from .db import DatabaseProvider, utcnow

log = logging.getLogger(__name__)


class Relay:
    """Publishes a service's outbox. Usable inside nameko and outside (bench, tests)."""

    def __init__(self, database, amqp_uri=None):
        self.db = database
        self.service = database.service
        self.amqp_uri = amqp_uri
        self._conn = None
        self._producer = None
        self._declared = set()

    # -- broker -------------------------------------------------------------------
    def _ensure_producer(self):
        if self._producer is None:
            self._conn = messaging.connection(self.amqp_uri)
            # one try per address of a cluster (`;`-separated), then the next pass
            self._conn.ensure_connection(max_retries=len(self._conn.alt) or 1,
                                         interval_start=0, interval_step=0)
            self._producer = self._conn.Producer()
            self._declared = set()
        return self._producer

    def heartbeat(self):
        """Keep the connection alive (the broker drops it after two missed
        heartbeats) and find out whether the broker is there: a broken
        connection is dropped and reopened. The answer is the `broker_connected`
        metric (and /health/ready's information, never its verdict)."""
        try:
            self._ensure_producer()
            self._conn.heartbeat_check()
            try:  # reading notices a connection the broker has closed
                self._conn.drain_events(timeout=0.01)
            except TimeoutError:
                pass
            up = True
        except Exception:  # noqa: BLE001 - the broker is away; the outbox keeps the events
            self.close()
            up = False
        metrics.set_broker_connected(self.service, up)
        return up

    def close(self):
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self._conn = self._producer = None

    def _publish(self, row):
        producer = self._ensure_producer()
        exchange = row.exchange
        if exchange not in self._declared:
            messaging.event_exchange(exchange.removesuffix(".events")).declare(
                channel=producer.channel)
            self._declared.add(exchange)
        producer.publish(
            row.body,
            exchange=exchange,
            routing_key=row.routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=row.event_id,
            headers=messaging.trace_headers(json.loads(row.headers)),
            retry=False,
        )

    # -- database -----------------------------------------------------------------
    def backlog(self):
        outbox = self.db.outbox
        with self.db.session() as s:
            return s.execute(select(func.count()).select_from(outbox)
                             .where(outbox.c.published_at.is_(None))).scalar_one()

    def publish_pending(self, limit=None):
        """Publish one batch; return how many were published."""
        limit = limit or settings.get_int("OUTBOX_BATCH")
        outbox = self.db.outbox
        query = (select(outbox).where(outbox.c.published_at.is_(None))
                 .order_by(outbox.c.id).limit(limit))
        locking = self.db.engine.dialect.name == "postgresql"
        session = self.db.session()
        try:
            if locking:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not locking:
                # SQLite: release the one pooled connection while we talk to the broker.
                session.rollback()
            sent, error = [], None
            for row in rows:
                try:
                    self._publish(row)
                except Exception as exc:  # noqa: BLE001 - anything stops the batch
                    error = exc
                    break
                sent.append(row)
            if sent:
                session.execute(update(outbox).where(outbox.c.id.in_([r.id for r in sent]))
                                .values(published_at=utcnow()))
                for row in sent:
                    metrics.OUTBOX_PUBLISHED.labels(self.service, row.routing_key).inc()
            if error is not None:
                failed = rows[len(sent)]
                session.execute(update(outbox).where(outbox.c.id == failed.id).values(
                    attempts=outbox.c.attempts + 1,
                    last_error=type(error).__name__[:200]))
            session.commit()
        finally:
            session.close()
        if error is not None:
            metrics.OUTBOX_FAILURES.labels(self.service).inc()
            self.close()
            raise error
        return len(sent)

    def purge_published(self):
        hours = settings.get_int("OUTBOX_RETENTION_HOURS")
        outbox = self.db.outbox
        with self.db.session() as s:
            s.execute(delete(outbox).where(outbox.c.published_at.is_not(None),
                                           outbox.c.published_at < utcnow() - timedelta(hours=hours)))
            s.commit()


class OutboxRelay(DependencyProvider):
    """Runs the relay in the background of a service container.

    Wakes when a unit of work of this process commits events, and every
    OUTBOX_POLL_SECONDS for rows written elsewhere (senctl, a crashed process).
    """

    def setup(self):
        self._running = False
        self._thread = None

    def _database(self):
        for dep in self.container.dependencies:
            if isinstance(dep, DatabaseProvider):
                return dep.database
        raise RuntimeError("OutboxRelay needs a DatabaseProvider on the same service")

    def start(self):
        self.relay = Relay(self._database())
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self):
        self._running = False
        outbox_signal.kick(self.container.service_name)
        if self._thread is not None:
            self._thread.wait()
        self.relay.close()

    def kill(self):
        self._running = False
        if self._thread is not None:
            self._thread.kill()

    def _run(self):
        service = self.container.service_name
        poll = settings.get_float("OUTBOX_POLL_SECONDS")
        backoff = 0.5
        passes = 0
        while self._running:
            wake = outbox_signal.waiter(service)
            try:
                while self._running and self.relay.publish_pending():
                    pass
                metrics.OUTBOX_BACKLOG.labels(service).set(self.relay.backlog())
                self.relay.heartbeat()
                passes += 1
                if passes % 3600 == 0:
                    self.relay.purge_published()
                backoff = 0.5
            except Exception as exc:  # noqa: BLE001 - broker or database away: retry
                log.warning("outbox relay of %s: %s; retrying in %.1fs",
                            service, type(exc).__name__, backoff)
                self.relay.heartbeat()
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 10)
                continue
            wake.wait(timeout=poll)

    def get_dependency(self, worker_ctx):
        return self.relay
