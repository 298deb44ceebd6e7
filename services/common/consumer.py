"""Event consumers that lose nothing and do nothing twice (DESIGN.md §3).

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

import amqp
import eventlet
from kombu import Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from marshmallow import ValidationError
from nameko.amqp.consume import Consumer as NamekoAmqpConsumer
from nameko.events import EventHandler
from nameko.messaging import Consumer
from nameko.standalone.events import get_event_exchange
from sqlalchemy import exc as sa_exc

from services.contracts import parse_event
from services.contracts.registry import EventType
from services.contracts.registry import handle as event_handle

from . import messaging, metrics, settings
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


class EventSubscriber(_RawMixin, EventHandler):
    """nameko's service-pool event handler, on a quorum queue where configured."""

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

    def handle_message_processed(self, message, result=None, exc_info=None):
        """Ack (or requeue) the message, surviving a connection that died meanwhile.

        nameko 3.0.0rc11 catches only amqp's ConnectionError there, so a socket
        error (the broker node went away while the handler ran) killed the whole
        container. The unacked message is redelivered by the broker anyway, and
        the inbox makes the redelivery change nothing; the consumer reconnects
        (to another node of a cluster, AMQP_URI listing them `;`-separated)."""
        try:
            super().handle_message_processed(message, result, exc_info)
        except OSError as exc:
            log.warning("%s: the broker connection closed before the ack (%s); the message "
                        "will be redelivered", self.method_name, type(exc).__name__)


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


def _config(service):
    """The container's settings (PlatformService.config), or the platform's own for a
    worker that has none."""
    config = getattr(service, "config", None)
    return config if isinstance(config, PlatformConfig) else load(PlatformConfig, service.name)


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


def handle(service, source_service, event_type, fn, body, raw=None):
    service_name = service.name
    handler = f"{service_name}.{fn.__name__}"
    queue = queue_name(source_service, event_type, service_name, fn.__name__)

    try:
        event = parse_event(body)
        if event["type"] != event_type:
            raise ValidationError({"type": [f"expected {event_type}"]})
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

    return _run(service, queue, handler, event_type, body, raw, work, event["event_id"])


def _to_dlq(service_name, handler, queue, event_type, body, raw, reason, kind, event_id=None,
            transient=False):
    dead_letter(service_name, body=body, queue=queue, handler=handler, reason=reason,
                event_type=event_type, event_id=event_id, kind=kind, transient=transient,
                raw=raw)
    metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type or "",
                                   "dead_lettered").inc()


def _run(service, queue, handler, event_type, body, raw, work, event_id):
    service_name = service.name
    started = time.monotonic()
    config = _config(service)
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
            delays = retry_delays(service)
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
