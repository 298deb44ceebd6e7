"""AMQP helpers shared by the relay, the consumers and the dead-letter queue."""

from kombu import Connection, Exchange, Queue

from . import settings


def connection(uri=None, confirm_each=True):
    """A kombu connection whose publishes wait for the broker's confirm, each one
    (`confirm_each`), or none: the caller selects confirms on its channel and awaits
    them itself (the relay: many publishes, then their confirms together)."""
    options = {"confirm_publish": True} if confirm_each else {}
    return Connection(uri or settings.amqp_uri(), transport_options=options,
                      heartbeat=30, connect_timeout=5)


def queue_arguments():
    """Quorum queues where the broker supports them (QUEUE_TYPE=quorum, the default)."""
    if settings.get("QUEUE_TYPE") == "quorum":
        return {"x-queue-type": "quorum"}
    return {}


def event_exchange(service):
    """The exchange nameko's @event_handler(service, ...) binds to."""
    return Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2,
                    auto_delete=False)


def dead_letter_queue(service):
    return Queue(f"dlq.{service}", exchange=Exchange(""), routing_key=f"dlq.{service}",
                 durable=True, queue_arguments=queue_arguments())


def trace_headers(carrier):
    """AMQP headers for a W3C trace context: plain `traceparent` for any consumer,
    and nameko's `nameko.`-prefixed copy, which its OpenTelemetry
    instrumentation reads back as the consumer's parent context."""
    headers = {}
    for key, value in carrier.items():
        headers[key] = value
        headers[f"nameko.{key}"] = value
    return headers
