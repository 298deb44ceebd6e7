"""The outbox relay: publishes what units of work committed, with publisher
confirms, and marks it sent (docs/architecture.md, "Events").

A row is marked published only after the broker confirmed it, so a crash
between commit and publish, or between publish and mark, loses nothing: the
event goes out again on the next pass and consumers' inboxes ignore the copy.
A pass publishes its rows one after another without waiting, then awaits their
confirms together (one broker round trip a pass, not one a row); only the rows
up to the first one not confirmed (nacked, or no answer in CONFIRM_TIMEOUT) are
marked, so the rest go out again, in order, on the next pass.
On PostgreSQL, replicas of a service share the work with
SELECT … FOR UPDATE SKIP LOCKED.
"""

import json
import logging
import time
from datetime import timedelta

import amqp
import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import delete, func, select, update

from . import messaging, metrics, outbox_signal, settings
from .db import DatabaseProvider, utcnow

log = logging.getLogger(__name__)

#: seconds a pass waits for the broker to confirm what it published
CONFIRM_TIMEOUT = 30.0

#: the running relay's shortest time between passes: under a stream of commits a
#: pass takes what several of them wrote (fewer turns of the database connection,
#: which SQLite has one of) at the cost of at most this much latency
MIN_PASS_INTERVAL = 0.01


class NotConfirmed(Exception):
    """The broker nacked a published event, or did not confirm it in time."""


class _Confirms:
    """The publisher confirms of one channel: delivery tags count from 1 after
    confirm.select; the broker acks (or nacks) each, or all up to one (multiple)."""

    def __init__(self, channel):
        self.published = 0  # the last delivery tag used
        self.acked_upto = 0  # every tag <= this is acked
        self.acked = set()  # tags acked one by one above acked_upto
        self.nacked = None  # the lowest nacked tag, if any
        channel.events["basic_ack"].add(self.on_ack)
        channel.events["basic_nack"].add(self.on_nack)
        channel.confirm_select()

    def on_ack(self, tag, multiple):
        if multiple:
            self.acked_upto = max(self.acked_upto, tag)
        else:
            self.acked.add(tag)
        while self.acked_upto + 1 in self.acked:
            self.acked_upto += 1
            self.acked.discard(self.acked_upto)
        self.acked = {t for t in self.acked if t > self.acked_upto}

    def on_nack(self, tag, multiple):
        first = self.acked_upto + 1 if multiple else tag
        self.nacked = first if self.nacked is None else min(self.nacked, first)

    def confirmed_upto(self):
        upto = self.acked_upto
        return upto if self.nacked is None else min(upto, self.nacked - 1)


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
        """The relay's channel (confirm-selected), connecting first if need be."""
        if self._producer is None:
            self._conn = messaging.connection(self.amqp_uri, confirm_each=False)
            # one try per address of a cluster (`;`-separated), then the next pass
            self._conn.ensure_connection(max_retries=len(self._conn.alt) or 1,
                                         interval_start=0, interval_step=0)
            channel = self._conn.channel()
            self._confirms = _Confirms(channel)
            self._producer = channel
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

    def _publish(self, row, headers_of):
        """Send one row (no wait); return its delivery tag."""
        channel = self._ensure_producer()
        exchange = row.exchange
        if exchange not in self._declared:
            messaging.event_exchange(exchange.removesuffix(".events")).declare(channel=channel)
            self._declared.add(exchange)
        message = amqp.Message(
            row.body.encode("utf-8"), content_type="application/json",
            content_encoding="utf-8", delivery_mode=2, message_id=row.event_id,
            application_headers=headers_of(row.headers))
        channel.basic_publish(message, exchange=exchange, routing_key=row.routing_key)
        self._confirms.published += 1
        return self._confirms.published

    def _await_confirms(self, last_tag, timeout=None):
        """Drain the connection until every tag up to `last_tag` is answered, a nack
        arrives, or `timeout` passes; return the last tag confirmed in order."""
        confirms = self._confirms
        ends = time.monotonic() + (CONFIRM_TIMEOUT if timeout is None else timeout)
        while confirms.acked_upto < last_tag and confirms.nacked is None:
            left = ends - time.monotonic()
            if left <= 0:
                break
            try:
                self._conn.drain_events(timeout=left)
            except TimeoutError:
                break
        return confirms.confirmed_upto()

    def _send(self, rows):
        """Publish `rows`, then await their confirms together; return how many of
        them, from the first, were confirmed, and the error that stopped the rest."""
        headers = {}

        def headers_of(text):  # the rows of one unit of work share their trace context
            if text not in headers:
                headers[text] = messaging.trace_headers(json.loads(text))
            return headers[text]

        tags, error = [], None
        for row in rows:
            try:
                tags.append(self._publish(row, headers_of))
            except Exception as exc:  # noqa: BLE001 - anything stops the batch
                error = exc
                break
        if not tags:
            return 0, error
        try:
            upto = self._await_confirms(tags[-1])
        except Exception as exc:  # noqa: BLE001 - the connection went: none confirmed
            return 0, exc
        confirmed = sum(1 for tag in tags if tag <= upto)
        if confirmed < len(tags):
            error = NotConfirmed("nacked by the broker" if self._confirms.nacked is not None
                                 else f"not confirmed within {CONFIRM_TIMEOUT:.0f} s")
        return confirmed, error

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
            confirmed, error = self._send(rows) if rows else (0, None)
            sent = rows[:confirmed]
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
        limit = settings.get_int("OUTBOX_BATCH")
        backoff = 0.5
        passes = 0
        checked = None
        last_pass = 0.0
        while self._running:
            wake = outbox_signal.waiter(service)
            pause = MIN_PASS_INTERVAL - (time.monotonic() - last_pass)
            if pause > 0:
                eventlet.sleep(pause)
            last_pass = time.monotonic()
            try:
                # a pass that publishes less than a full batch has drained the outbox
                # (what commits meanwhile kicks `wake`, so the next pass comes at once)
                while self._running and self.relay.publish_pending(limit) >= limit:
                    pass
                now = time.monotonic()
                if checked is None or now - checked >= poll:
                    # the backlog gauge and the broker's heartbeat once a poll interval,
                    # not after every commit's pass
                    checked = now
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
