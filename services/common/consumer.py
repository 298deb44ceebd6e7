"""Event consumers that lose nothing and do nothing twice (DESIGN.md §3).

    @subscribe("referrals", "referral.submitted")
    def on_referral_submitted(self, event, uow):
        ...

For each message the decorated handler gets the validated envelope and a unit
of work. The inbox claim, the handler's writes and any events it emits commit
together; a redelivered event finds its claim and changes nothing.

A handler that raises is retried with exponential backoff (the message stays
unacked meanwhile, so a crash means redelivery, not loss); when the attempts
run out, or the message can never be handled (it fails validation, or the
handler raises `Permanent`), it goes to dlq.<service> with the reason and is
acked. Only if even that publish fails is the message requeued.
"""

import functools
import logging
import time

import eventlet
from kombu import Queue
from marshmallow import ValidationError
from nameko.events import EventHandler
from nameko.messaging import Consumer
from nameko.standalone.events import get_event_exchange

from services.contracts import parse_event

from . import messaging, metrics, settings
from .deadletters import dead_letter

log = logging.getLogger(__name__)


class Permanent(Exception):
    """Raised by a handler for a message that retrying cannot fix."""


class EventSubscriber(EventHandler):
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
        self.consumer_options.setdefault("prefetch_count", settings.get_int("PREFETCH_COUNT"))
        Consumer.setup(self)

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


def subscribe(source_service, event_type):
    """Decorate `handler(self, event, uow)` as an idempotent, retried consumer."""

    def decorator(fn):
        @functools.wraps(fn)
        def entry(self, body):
            return handle(self, source_service, event_type, fn, body)

        del entry.__wrapped__  # nameko checks the entrypoint's own (self, body) signature
        return EventSubscriber.decorator(source_service, event_type, requeue_on_error=True)(entry)

    return decorator


def handle(service, source_service, event_type, fn, body):
    service_name = service.name
    handler = f"{service_name}.{fn.__name__}"
    queue = queue_name(source_service, event_type, service_name, fn.__name__)
    started = time.monotonic()

    def to_dlq(reason, event_id=None):
        dead_letter(service_name, body=body, queue=queue, handler=handler, reason=reason,
                    event_type=event_type, event_id=event_id)
        metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type, "dead_lettered").inc()

    try:
        event = parse_event(body)
        if event["type"] != event_type:
            raise ValidationError({"type": [f"expected {event_type}"]})
    except ValidationError as exc:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        to_dlq(f"invalid event: {exc.messages}", event_id=str(event_id) if event_id else None)
        return

    max_attempts = settings.get_int("HANDLER_MAX_ATTEMPTS")
    backoff = settings.get_float("HANDLER_BACKOFF_SECONDS")
    for attempt in range(1, max_attempts + 1):
        try:
            with service.db.unit_of_work() as uow:
                if not uow.claim(event["event_id"], handler):
                    outcome = "duplicate"
                else:
                    fn(service, event, uow)
                    outcome = "processed"
            metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type, outcome).inc()
            metrics.EVENT_HANDLING.labels(service_name, handler).observe(
                time.monotonic() - started)
            return
        except Permanent as exc:
            to_dlq(f"{type(exc).__name__}: {exc}", event["event_id"])
            return
        except Exception as exc:  # noqa: BLE001 - retried, then dead-lettered
            if attempt == max_attempts:
                to_dlq(f"failed after {attempt} attempts: {type(exc).__name__}: {exc}",
                       event["event_id"])
                return
            log.warning("%s failed on event %s (attempt %d/%d): %s",
                        handler, event["event_id"], attempt, max_attempts, type(exc).__name__)
            metrics.EVENTS_CONSUMED.labels(service_name, handler, event_type, "retried").inc()
            eventlet.sleep(min(backoff * 2 ** (attempt - 1), 30))
