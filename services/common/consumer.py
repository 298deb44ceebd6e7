"""Event consumers that lose nothing and do nothing twice (docs/architecture.md, "Events").

    @subscribe("referrals", "referral.submitted")
    def on_referral_submitted(self, event, uow):
        ...

For each message the decorated handler gets the validated envelope and a unit
of work. The inbox claim, the handler's writes and any events it emits commit
together; a redelivered event finds its claim and changes nothing.

What cannot work goes to dlq.<service> at once, with the reason and the
original bytes and headers (`deadletters.py`): a message that cannot be decoded
(not JSON, not UTF-8, another content type; nothing of its body is logged), an
event that fails validation, a handler that raises `Permanent`.

A handler that raises is tried again a few times at once (HANDLER_MAX_ATTEMPTS,
with a short backoff). If the fault is transient (the database locked, full or
away, a connection lost: `is_transient`), the message is then redelivered later
instead of holding a worker asleep: it is republished, confirmed, to a delay
queue of the service (`retry.<service>.<ms>ms`, whose TTL dead-letters it back to
the handler's queue) and acked, on the schedule HANDLER_RETRY_DELAYS (minutes
in all). Only when that schedule runs out is it dead-lettered, marked
transient, so `senctl deadletters replay --transient` (or the service's own
timer) puts it back once the fault has cleared. Any other error is
dead-lettered after the quick attempts. Only if even that publish fails is the
message requeued.

The kit's AMQP consumer also survives a broker reset: nameko's `ack_message`
catches only amqp's ConnectionError, so a ConnectionResetError on basic.ack
during a broker stop would kill the container; `SafeConsumer` treats every
connection fault on ack/requeue as the broker having reclaimed the message.
"""

import functools
import logging
import socket
import sqlite3
import time
from collections import deque

import amqp
import eventlet
from eventlet.event import Event
from kombu import Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from marshmallow import ValidationError
from nameko.amqp.consume import Consumer as NamekoAmqpConsumer
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer
from nameko.standalone.events import get_event_exchange
from sqlalchemy import exc as sa_exc

from services.contracts import parse_event
from services.contracts.registry import EventType
from services.contracts.registry import handle as event_handle

from . import messaging, metrics, settings, tracing
from .config import PlatformConfig, load
from .deadletters import Raw, as_bytes, dead_letter, original_headers

log = logging.getLogger(__name__)


class Permanent(Exception):
    """Raised by a handler for a message that retrying cannot fix."""


class Transient(Exception):
    """Raised by a handler for a fault that will clear by itself."""


_CONNECTION_FAULTS = (OSError, amqp.exceptions.ConnectionError,
                      amqp.exceptions.RecoverableConnectionError, KombuOperationalError,
                      socket.timeout)


def is_transient(exc):
    """A fault that retrying later can fix: the database locked, full, read-only
    or unreachable; a connection lost; a timeout."""
    if isinstance(exc, (Transient, sa_exc.OperationalError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError, sqlite3.OperationalError, OSError,
                        KombuOperationalError, eventlet.Timeout)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return False


class SafeConsumer(NamekoAmqpConsumer):
    """nameko's AMQP consumer, hardened at the two edges it leaves open."""

    #: callable(message, exc) for a message that cannot be decoded
    undecodable = None

    def on_decode_error(self, message, exc):
        # kombu's default logs the raw body (personal data) and acks it (lost)
        if self.undecodable is not None:
            self.undecodable(message, exc)
        else:
            log.error("undecodable message (%s, content type %r) rejected",
                      type(exc).__name__, message.content_type)
            self.requeue_message(message)

    def ack_message(self, message):
        try:
            super().ack_message(message)
        except _CONNECTION_FAULTS as exc:
            # the broker reclaims an unacked message when the connection drops;
            # the inbox makes its redelivery harmless
            log.warning("ack lost with the broker connection (%s); it will be redelivered",
                        type(exc).__name__)

    def ack_many(self, messages):
        """Ack the messages of one batch with one basic.ack (multiple) per channel, for
        the last of them. Every earlier delivery of that channel is settled by then:
        a subscriber hands out one batch at a time, in delivery order, and requeues
        what it does not ack before it acks (`EventSubscriber._settle`)."""
        last = {}
        for message in messages:
            last[id(message.channel)] = message
        for message in last.values():
            try:
                if message.channel.connection:
                    message.ack(multiple=True)
            except _CONNECTION_FAULTS as exc:
                log.warning("ack lost with the broker connection (%s); it will be redelivered",
                            type(exc).__name__)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except _CONNECTION_FAULTS as exc:
            log.warning("requeue lost with the broker connection (%s)", type(exc).__name__)


def _raw(message):
    return Raw(message.body, message.content_type, message.content_encoding,
               dict(message.headers or {}), message.properties.get("message_id"))


class _RawMixin:
    """Hand the handler the original message (bytes and headers) along with the
    decoded body, for a dead letter that keeps it whole; dead-letter what cannot
    be decoded."""

    consumer_cls = SafeConsumer

    def _setup_consumer(self):
        self.consumer_options.setdefault("prefetch_count", settings.get_int("PREFETCH_COUNT"))
        Consumer.setup(self)
        self.consumer.undecodable = self._undecodable

    def handle_message(self, body, message):
        Consumer.handle_message(self, {"__body__": body, "__raw__": _raw(message)}, message)

    def _undecodable(self, message, exc):
        service = self.container.service_name
        handler = f"{service}.{self.method_name}"
        reason = (f"undecodable: {type(exc).__name__} "
                  f"(content type {message.content_type!r}, encoding {message.content_encoding!r})")
        try:
            dead_letter(service, queue=self.queue.name, handler=handler, reason=reason,
                        event_type=getattr(self, "event_type", None),
                        event_id=message.properties.get("message_id"), kind="undecodable",
                        raw=_raw(message))
        except Exception as err:  # noqa: BLE001 - keep it: the broker will offer it again
            log.warning("could not dead-letter an undecodable message for %s: %s",
                        handler, type(err).__name__)
            self.consumer.requeue_message(message)
            return
        metrics.EVENTS_CONSUMED.labels(service, handler, getattr(self, "event_type", ""),
                                       "undecodable").inc()
        self.consumer.ack_message(message)


class Batch(list):
    """What one worker of an EventSubscriber handles: [(body, Raw)], in delivery
    order, and the platform settings of a service that declares none of its own."""

    def __init__(self, items, config=None):
        super().__init__(items)
        self.config = config


class EventSubscriber(_RawMixin, EventHandler):
    """nameko's service-pool event handler, on a quorum queue where configured.

    It hands one worker every message prefetch already holds (up to half the
    prefetch count, so the next ones arrive while a batch is handled), one batch
    at a time, in delivery order: one transaction for the batch's inbox claims
    and effects, its acks after the commit (`handle_batch`). A graceful stop
    takes no new batch, waits for the one in hand to be committed and acked,
    requeues what it had not taken, and only then stops the AMQP consumer: every
    committed message is acked before the connection closes, and no batch is
    left running while the container stops its dependencies.
    """

    def setup(self):
        service_name = self.container.service_name
        self.queue = Queue(
            queue_name(self.source_service, self.event_type, service_name, self.method_name),
            exchange=get_event_exchange(self.source_service),
            routing_key=self.event_type,
            durable=True,
            auto_delete=False,
            queue_arguments=messaging.queue_arguments(),
        )
        self._setup_consumer()
        prefetch = self.consumer.prefetch_count or 1
        self.batch_max = max(1, prefetch // 2)
        self._pending = deque()
        self._drainer = None
        self._stopping = False
        self._config = None

    def handle_message(self, body, message):
        if self._stopping:
            self.consumer.requeue_message(message)
            return
        self._pending.append((body, message))
        if self._drainer is None:
            self._drainer = self.container.spawn_managed_thread(
                self._drain, identifier=f"EventSubscriber.batches[{self.method_name}]")

    def stop(self):
        self._stopping = True
        drainer = self._drainer
        if drainer is not None:
            try:
                drainer.wait()  # the batch in hand: committed and acked, or requeued
            except BaseException:  # noqa: BLE001 - killed meanwhile: the broker keeps them
                pass
        self._requeue_pending()
        super().stop()

    def _requeue_pending(self):
        while self._pending:
            _, message = self._pending.popleft()
            self.consumer.requeue_message(message)

    def _drain(self):
        try:
            while self._pending and not self._stopping:
                taken = []
                while self._pending and len(taken) < self.batch_max:
                    taken.append(self._pending.popleft())
                self._run_batch(taken)
        except Exception:  # noqa: BLE001 - never kill the container
            log.exception("%s: a batch could not be handed to a worker", self.method_name)
            self._requeue_pending()  # offered again by the broker, not held here
        finally:
            self._drainer = None
            if self._stopping:
                self._requeue_pending()

    def _run_batch(self, taken):
        if self._config is None:
            self._config = load(PlatformConfig, self.container.service_name)
        batch = Batch([(body, _raw(message)) for body, message in taken], self._config)
        messages = [message for _, message in taken]
        done = Event()

        def handle_result(worker_ctx, result=None, exc_info=None):
            try:
                if exc_info is not None or not isinstance(result, list) or \
                        len(result) != len(messages):
                    result = ["requeue"] * len(messages)
                self._settle(messages, result)
            finally:
                done.send(None)
            return result, exc_info

        try:
            self.container.spawn_worker(self, (batch,), {}, context_data={},
                                        handle_result=handle_result)
        except BaseException as exc:
            # not handed out (the container is being killed, or worse): back to the
            # queue now, not held unacked until the connection closes
            for message in messages:
                self.consumer.requeue_message(message)
            if isinstance(exc, ContainerBeingKilled):
                return
            raise
        done.wait()

    def _settle(self, messages, results):
        """Requeue what is not to be acked first, then ack the rest at once."""
        for message, outcome in zip(messages, results, strict=True):
            if outcome != "ack":
                self.consumer.requeue_message(message)
        self.consumer.ack_many([m for m, outcome in zip(messages, results, strict=True)
                                if outcome == "ack"])


class QueueSubscriber(_RawMixin, Consumer):
    """A consumer of one named queue of this service (a replay target such as
    notify.deliveries), with the same dead-lettering as event subscribers."""

    def __init__(self, queue_name, **kwargs):
        super().__init__(queue=None, requeue_on_error=True, **kwargs)
        self.queue_name = queue_name

    def setup(self):
        self.queue = named_queue(self.queue_name)
        self._setup_consumer()


def named_queue(name):
    return Queue(name, exchange=Exchange(""), routing_key=name, durable=True,
                 auto_delete=False, queue_arguments=messaging.queue_arguments())


def queue_name(source_service, event_type, service_name, method_name):
    return f"evt-{source_service}-{event_type}--{service_name}.{method_name}"


def _unwrap(body):
    if isinstance(body, dict) and "__raw__" in body and "__body__" in body:
        return body["__body__"], body["__raw__"]
    return body, None


def subscribe(event_type, *legacy):
    """Decorate `handler(self, event, uow)` as an idempotent, retried consumer of
    `event_type`, a handle of the catalogue (`events.REFERRAL_SUBMITTED`): a type
    the catalogue does not have fails here, at import."""
    if legacy:  # the old spelling subscribe("referrals", "referral.submitted")
        source_service, event_type = event_type, legacy[0]
    if not isinstance(event_type, EventType):
        event_type = event_handle(event_type)  # KeyError: not in the catalogue
    source_service = event_type.producer
    event_type = str(event_type)

    def decorator(fn):
        @functools.wraps(fn)
        def entry(self, body):
            if isinstance(body, Batch):
                return handle_batch(self, source_service, event_type, fn, body)
            body, raw = _unwrap(body)
            return handle(self, source_service, event_type, fn, body, raw)

        del entry.__wrapped__  # nameko checks the entrypoint's own (self, body) signature
        return EventSubscriber.decorator(source_service, event_type, requeue_on_error=True)(entry)

    return decorator


def subscribe_queue(name):
    """Decorate `handler(self, body)` as the consumer of the service's queue
    `name` (a JSON body); failures are dead-lettered back with that queue."""

    def decorator(fn):
        @functools.wraps(fn)
        def entry(self, body):
            body, raw = _unwrap(body)
            return _run(self, name, f"{self.name}.{fn.__name__}", None, body, raw,
                        lambda: fn(self, body), event_id=None)

        del entry.__wrapped__
        return QueueSubscriber.decorator(name)(entry)

    return decorator


def _config(service, fallback=None):
    """The container's settings (PlatformService.config), or the platform's own for a
    worker that has none (`fallback`, loaded once by the subscriber, else now)."""
    config = getattr(service, "config", None)
    if isinstance(config, PlatformConfig):
        return config
    return fallback if fallback is not None else load(PlatformConfig, service.name)


def retry_delays(service=None):
    """Delayed redeliveries of a transient failure, in seconds (HANDLER_RETRY_DELAYS)."""
    config = _config(service) if service is not None else load(PlatformConfig)
    return list(config.handler_retry_delays)


def _retry_attempt(raw):
    try:
        return int((raw.headers or {}).get("x-retry-attempt", 0)) if raw else 0
    except (TypeError, ValueError):
        return 0


def redeliver_later(service_name, queue, raw, attempt, delay, amqp_uri=None):
    """Republish `raw` (confirmed) to the service's delay queue for `delay`
    seconds; its expiry dead-letters it back to `queue` through the default
    exchange (the routing key it was published with)."""
    ms = max(int(delay * 1000), 1)
    name = f"retry.{service_name}.{ms}ms"
    exchange = Exchange(name, type="fanout", durable=True)
    delay_queue = Queue(name, exchange=exchange, durable=True, queue_arguments={
        "x-message-ttl": ms, "x-dead-letter-exchange": "", "x-queue-type": "classic"})
    headers = original_headers(raw.headers)
    headers["x-retry-attempt"] = attempt
    properties = {k: v for k, v in (("content_type", raw.content_type),
                                    ("content_encoding", raw.content_encoding),
                                    ("message_id", raw.message_id)) if v}
    message = amqp.Message(as_bytes(raw.body, raw.content_encoding), delivery_mode=2, application_headers=headers, **properties)
    with messaging.connection(amqp_uri) as conn:
        channel = conn.channel()
        delay_queue(channel).declare()  # idempotent; a broker reset may have lost it
        channel.basic_publish(message, exchange=name, routing_key=queue)
        channel.close()


def _parse(body, event_type):
    event = parse_event(body)
    if event["type"] != event_type:
        raise ValidationError({"type": [f"expected {event_type}"]})
    return event


def handle(service, source_service, event_type, fn, body, raw=None, config=None):
    service_name = service.name
    handler = f"{service_name}.{fn.__name__}"
    queue = queue_name(source_service, event_type, service_name, fn.__name__)

    try:
        event = _parse(body, event_type)
    except ValidationError as exc:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        _to_dlq(service_name, handler, queue, event_type, body, raw,
                f"invalid event: {exc.messages}", "invalid",
                event_id=str(event_id) if event_id else None)
        return

    def work():
        with service.db.unit_of_work() as uow:
            if not uow.claim(event["event_id"], handler):
                return "duplicate"
            fn(service, event, uow)
            return "processed"

    return _run(service, queue, handler, event_type, body, raw, work, event["event_id"],
                config=config)


def handle_batch(service, source_service, event_type, fn, batch):
    """Handle a Batch of messages in delivery order; return "ack" or "requeue" for each.

    Invalid events are dead-lettered first. The valid ones are handled in one
    unit of work: their inbox claims in two statements, the handler for each
    claimed one, one commit; the after-commit steps of the batch (a handler's
    sends) then run side by side, all finished before the acks. If anything in
    that transaction fails, it is rolled back and every message of the batch is
    handled alone, in order, through `handle`'s retries, delayed redelivery and
    dead-lettering, so one message's failure touches no other. A message that
    cannot even be settled that way is requeued with every one after it (their
    order kept).
    """
    service_name, method = service.name, fn.__name__
    handler = f"{service_name}.{method}"
    queue = queue_name(source_service, event_type, service_name, method)
    config = _config(service, batch.config)
    results = ["requeue"] * len(batch)
    valid = []  # (index, event, body, raw)
    stop = len(batch)
    for i, (body, raw) in enumerate(batch):
        try:
            valid.append((i, _parse(body, event_type), body, raw))
        except ValidationError as exc:
            event_id = body.get("event_id") if isinstance(body, dict) else None
            try:
                _to_dlq(service_name, handler, queue, event_type, body, raw,
                        f"invalid event: {exc.messages}", "invalid",
                        event_id=str(event_id) if event_id else None)
            except Exception as err:  # noqa: BLE001 - requeued, with what follows it
                log.warning("could not dead-letter an invalid event for %s: %s",
                            handler, type(err).__name__)
                stop = i
                break
            results[i] = "ack"
    valid = [v for v in valid if v[0] < stop]
    if not valid:
        return results
    started = time.monotonic()
    try:
        outcomes = _batch_transaction(service, handler, fn, valid)
    except Exception as exc:  # noqa: BLE001 - each message alone, below
        log.info("%s: a batch of %d failed (%s); handling each message alone",
                 handler, len(valid), type(exc).__name__)
        outcomes = None
    if outcomes is not None:
        elapsed = time.monotonic() - started
        timing = metrics.EVENT_HANDLING.labels(service_name, handler)
        for (index, *_), outcome in zip(valid, outcomes, strict=True):
            results[index] = "ack"
            metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type, outcome).inc()
            timing.observe(elapsed)
        return results
    for index, event, body, raw in valid:
        def work(event=event):
            with service.db.unit_of_work() as uow:
                if not uow.claim(event["event_id"], handler):
                    return "duplicate"
                fn(service, event, uow)
                return "processed"
        try:
            with tracing.message_span(handler, raw.headers if raw else None):
                _run(service, queue, handler, event_type, body, raw, work, event["event_id"],
                     config=config)
        except Exception as exc:  # noqa: BLE001 - requeued, with what follows it
            log.warning("%s: event %s could not be settled (%s); requeued",
                        handler, event["event_id"], type(exc).__name__)
            break
        results[index] = "ack"
    return results


#: a batch's after-commit steps (a handler's sends) at once, at most
AFTER_COMMIT_CONCURRENCY = 10


def _batch_transaction(service, handler, fn, valid):
    with service.db.unit_of_work(after_commit_concurrency=AFTER_COMMIT_CONCURRENCY) as uow:
        claimed = uow.claim_many([event["event_id"] for _, event, _, _ in valid], handler)
        outcomes = []
        for _, event, _, raw in valid:
            if event["event_id"] not in claimed:
                outcomes.append("duplicate")  # handled before, or earlier in this batch
                continue
            claimed.discard(event["event_id"])
            with tracing.message_span(handler, raw.headers if raw else None):
                fn(service, event, uow)
            outcomes.append("processed")
    return outcomes


def _to_dlq(service_name, handler, queue, event_type, body, raw, reason, kind, event_id=None,
            transient=False):
    dead_letter(service_name, body=body, queue=queue, handler=handler, reason=reason,
                event_type=event_type, event_id=event_id, kind=kind, transient=transient,
                raw=raw)
    metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type or "",
                                   "dead_lettered").inc()


def _run(service, queue, handler, event_type, body, raw, work, event_id, config=None):
    service_name = service.name
    started = time.monotonic()
    config = _config(service, config)
    max_attempts = config.handler_max_attempts
    backoff = config.handler_backoff_seconds
    for attempt in range(1, max_attempts + 1):
        try:
            outcome = work() or "processed"
            metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type or "",
                                           outcome).inc()
            metrics.EVENT_HANDLING.labels(service_name, handler).observe(
                time.monotonic() - started)
            return
        except Permanent as exc:
            _to_dlq(service_name, handler, queue, event_type, body, raw,
                    f"{type(exc).__name__}: {exc}", "permanent", event_id)
            return
        except Exception as exc:  # noqa: BLE001 - retried, redelivered later or dead-lettered
            transient = is_transient(exc)
            # a transient fault gets one quick second try, then a delayed redelivery
            if attempt < (min(max_attempts, 2) if transient and raw is not None
                          else max_attempts):
                log.warning("%s failed on event %s (attempt %d/%d): %s", handler, event_id,
                            attempt, max_attempts, type(exc).__name__)
                metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type or "",
                                               "retried").inc()
                eventlet.sleep(min(backoff * 2 ** (attempt - 1), 30))
                continue
            error = f"{type(exc).__name__}: {exc}"[:1000]
            if not transient:
                _to_dlq(service_name, handler, queue, event_type, body, raw,
                        f"failed after {attempt} attempts: {error}", "exhausted", event_id)
                return
            redelivery = _retry_attempt(raw)
            delays = list(config.handler_retry_delays)
            if raw is not None and redelivery < len(delays):
                delay = delays[redelivery]
                log.warning("%s: transient %s on event %s; redelivery %d/%d in %.1fs",
                            handler, type(exc).__name__, event_id, redelivery + 1,
                            len(delays), delay)
                redeliver_later(service_name, queue, raw, redelivery + 1, delay)
                metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type or "",
                                               "redelivery_scheduled").inc()
                return
            _to_dlq(service_name, handler, queue, event_type, body, raw,
                    f"transient fault outlasted {redelivery} delayed redeliveries "
                    f"({sum(delays):.0f}s), failed after {attempt} attempts: {error}",
                    "transient", event_id, transient=True)
            return
