"""The dead-letter queue: what a handler could not process, with the reason,
kept in RabbitMQ (`dlq.<service>`) until an operator replays it (DESIGN.md §3).

Replay sends the message back to the queue of the handler that failed, through
the default exchange, so only that handler sees it again; its inbox makes a
second delivery harmless anyway.
"""

import json
import logging
import time
from datetime import UTC, datetime

from amqp.exceptions import ChannelError, InternalError
from kombu import Exchange

from . import messaging, metrics

log = logging.getLogger(__name__)


def dead_letter(service, *, body, queue, handler, reason, event_type=None, event_id=None,
                amqp_uri=None):
    """Publish `body` to dlq.<service> with the reason in its headers (confirmed)."""
    headers = {
        "x-reason": reason[:2000],
        "x-handler": handler,
        "x-queue": queue,
        "x-event-type": event_type or "",
        "x-event-id": event_id or "",
        "x-failed-at": datetime.now(UTC).isoformat(),
    }
    payload = body if isinstance(body, str) else json.dumps(body)
    dlq = messaging.dead_letter_queue(service)
    with messaging.connection(amqp_uri) as conn:
        producer = conn.Producer()
        dlq.declare(channel=producer.channel)
        producer.publish(payload, exchange="", routing_key=dlq.name,
                         content_type="application/json", content_encoding="utf-8",
                         delivery_mode=2, headers=headers, retry=True,
                         retry_policy={"max_retries": 3})
    metrics.DEAD_LETTERS.labels(service, handler).inc()
    log.error("dead-lettered event %s for %s: %s", event_id, handler, reason.split(":")[0])


def _retrying(fn):
    """A quorum queue declared a moment ago can answer `noproc` until its
    replica has started: try again briefly before giving up."""
    def call(*args, **kwargs):
        for attempt in range(10):
            try:
                return fn(*args, **kwargs)
            except (ChannelError, InternalError):  # "noproc": the queue is starting
                if attempt == 9:
                    raise
                time.sleep(0.2)
    return call


@_retrying
def list_dead_letters(service, amqp_uri=None, limit=100):
    """Read up to `limit` dead letters without removing them."""
    items = []
    dlq = messaging.dead_letter_queue(service)
    with messaging.connection(amqp_uri) as conn:
        channel = conn.channel()
        dlq(channel).declare()
        for _ in range(limit):
            message = channel.basic_get(dlq.name, no_ack=False)
            if message is None:
                break
            items.append(_describe_raw(message))
        channel.close()  # unacked messages return to the queue, in order
    return items


def _describe_raw(message):
    """Our own dead letters carry x-* headers; those the broker moved here by
    policy (a delivery limit reached) carry x-death / x-first-death-queue."""
    h = message.headers or {}
    if "x-queue" in h:
        return {
            "event_id": h.get("x-event-id"),
            "event_type": h.get("x-event-type"),
            "handler": h.get("x-handler"),
            "queue": h.get("x-queue"),
            "reason": h.get("x-reason"),
            "failed_at": h.get("x-failed-at"),
        }
    death = (h.get("x-death") or [{}])[0]
    queue = h.get("x-first-death-queue") or death.get("queue")
    return {
        "event_id": message.properties.get("message_id"),
        "event_type": (death.get("routing-keys") or [None])[0],
        "handler": queue.split("--", 1)[-1] if queue else None,
        "queue": queue,
        "reason": f"broker: {h.get('x-first-death-reason') or death.get('reason')}",
        "failed_at": str(death.get("time")) if death.get("time") else None,
    }


@_retrying
def replay_dead_letters(service, amqp_uri=None, event_id=None, limit=1000):
    """Send dead letters (all, or those of one event) back to their handler's queue.

    Each is republished with a confirm before it is removed from the DLQ.
    Returns the replayed items.
    """
    replayed = []
    dlq = messaging.dead_letter_queue(service)
    with messaging.connection(amqp_uri) as conn:
        channel = conn.channel()
        dlq(channel).declare()
        producer = conn.Producer(channel=channel)
        for _ in range(limit):
            message = channel.basic_get(dlq.name, no_ack=False)
            if message is None:
                break
            info = _describe_raw(message)
            if event_id and info["event_id"] != event_id:
                continue  # left unacked: returns to the queue when the channel closes
            producer.publish(message.body, exchange=Exchange(""), routing_key=info["queue"],
                             content_type="application/json", content_encoding="utf-8",
                             delivery_mode=2, headers={"x-replayed-from": dlq.name})
            channel.basic_ack(message.delivery_tag)
            replayed.append(info)
        channel.close()
    return replayed
