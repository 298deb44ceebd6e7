"""The dead-letter queue: what a handler could not process, with the reason,
kept in RabbitMQ (`dlq.<service>`) until an operator replays it (docs/architecture.md, "Events").

A dead letter keeps the original message: its bytes, content type, encoding
and headers (the trace context among them), plus ours: `x-reason`,
`x-handler`, `x-queue` (where it failed, and where a replay sends it),
`x-kind` (undecodable, invalid, permanent, exhausted, transient, delivery)
and `x-transient` (the fault may clear by itself: `replay --transient`).

Replay is lossless: it takes only the messages in the queue when it starts,
publishes each with a confirm and `mandatory` to its queue (through the
default exchange, so only that handler sees it again; its inbox makes a second
delivery harmless), with the original properties and headers, and acks the
dead letter only once the broker has confirmed the copy. A message that no
consumer could ever handle (undecodable), or whose queue does not exist, is
refused with the reason and stays where it is.
"""

import json
import logging
import time
from collections import namedtuple
from datetime import UTC, datetime

import amqp
from amqp.exceptions import ChannelError, InternalError, NotFound

from . import messaging, metrics

log = logging.getLogger(__name__)

#: The original message, as it arrived: bytes, content type, encoding, headers.
Raw = namedtuple("Raw", "body content_type content_encoding headers message_id",
                 defaults=(None, None, None, None))

#: Our headers on a dead letter; removed again when it is replayed.
OWN_HEADERS = ("x-reason", "x-handler", "x-queue", "x-event-type", "x-event-id",
               "x-failed-at", "x-kind", "x-transient", "x-retry-attempt")
#: What the broker adds when it dead-letters or expires a message.
BROKER_HEADERS = ("x-death", "x-first-death-queue", "x-first-death-reason",
                  "x-first-death-exchange", "x-last-death-queue", "x-last-death-reason",
                  "x-last-death-exchange")

KINDS_NEVER_REPLAYED = {"undecodable": "its bytes cannot be decoded by any consumer"}


def as_bytes(body, encoding=None):
    """The body's bytes (py-amqp hands a body with a content encoding over decoded)."""
    if isinstance(body, bytes):
        return body
    try:
        return str(body).encode(encoding or "utf-8")
    except LookupError:
        return str(body).encode("utf-8")


def original_headers(headers):
    return {k: v for k, v in (headers or {}).items()
            if k not in OWN_HEADERS and k not in BROKER_HEADERS}


def dead_letter(service, *, body=None, queue, handler, reason, event_type=None, event_id=None,
                kind="failed", transient=False, raw=None, amqp_uri=None):
    """Publish a dead letter to dlq.<service> with the reason in its headers
    (confirmed). `raw` (a Raw) is the original message, kept byte for byte;
    without it `body` (a dict or str) is sent as JSON."""
    if raw is not None:
        payload = as_bytes(raw.body, raw.content_encoding)
        properties = {"content_type": raw.content_type, "content_encoding": raw.content_encoding}
        headers = original_headers(raw.headers)
        message_id = raw.message_id
    else:
        text = body if isinstance(body, str) else json.dumps(body)
        payload = text.encode()
        properties = {"content_type": "application/json", "content_encoding": "utf-8"}
        headers, message_id = {}, None
    headers.update({
        "x-reason": reason[:2000],
        "x-handler": handler,
        "x-queue": queue,
        "x-event-type": event_type or "",
        "x-event-id": event_id or "",
        "x-failed-at": datetime.now(UTC).isoformat(),
        "x-kind": kind,
        "x-transient": bool(transient),
    })
    properties = {k: v for k, v in properties.items() if v}
    if message_id or event_id:
        properties["message_id"] = message_id or event_id
    dlq = messaging.dead_letter_queue(service)
    message = amqp.Message(payload, delivery_mode=2, application_headers=headers, **properties)
    for attempt in range(4):
        try:
            with messaging.connection(amqp_uri) as conn:
                channel = conn.channel()
                dlq(channel).declare()
                channel.basic_publish(message, exchange="", routing_key=dlq.name)
                channel.close()
            break
        except Exception:  # noqa: BLE001 - the broker briefly away: try again
            if attempt == 3:
                raise
            time.sleep(0.2 * 2 ** attempt)
    metrics.DEAD_LETTERS.labels(service, handler).inc()
    log.error("dead-lettered event %s for %s (%s): %s", event_id, handler, kind,
              reason.split(":")[0])


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
            "kind": h.get("x-kind") or "failed",
            "transient": bool(h.get("x-transient")),
            "content_type": message.properties.get("content_type"),
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
        "kind": "broker",
        # a delivery limit is reached by crash loops as well as poison: worth a retry
        "transient": True,
        "content_type": message.properties.get("content_type"),
    }


def _plan(info, exists):
    """(queue, None) to replay to `queue`, or (None, why) to refuse."""
    why = KINDS_NEVER_REPLAYED.get(info["kind"])
    if why:
        return None, why
    queue = info["queue"]
    if not queue:
        return None, "it names no queue to return to"
    if not exists(queue):
        return None, f"queue {queue} does not exist (no consumer to handle it)"
    return queue, None


@_retrying
def replay_dead_letters(service, amqp_uri=None, event_id=None, transient_only=False,
                        dry_run=False):
    """Replay dead letters (all; those of one event; or only the transient ones).

    Returns one item per dead letter considered, with `action`: "replayed"
    (or "would replay" in a dry run) and `to`, or "refused" and `why`.
    """
    results = []
    dlq = messaging.dead_letter_queue(service)
    with messaging.connection(amqp_uri) as conn:
        channel = conn.channel()
        dlq(channel).declare()
        # only what is there now: what fails again during this run waits for the next
        _, present, _ = channel.queue_declare(dlq.name, passive=True)
        known = {}
        checker = [None]

        def exists(queue):
            if queue not in known:
                if checker[0] is None or not checker[0].is_open:
                    checker[0] = conn.channel()
                try:
                    checker[0].queue_declare(queue, passive=True)
                    known[queue] = True
                except NotFound:
                    known[queue] = False
                    checker[0] = None  # a failed passive declare closes the channel
            return known[queue]

        returned = []
        channel.events["basic_return"].add(
            lambda exc, exchange, routing_key, message: returned.append(routing_key))
        for _ in range(present):
            message = channel.basic_get(dlq.name, no_ack=False)
            if message is None:
                break
            info = _describe_raw(message)
            if event_id and info["event_id"] != event_id:
                continue  # left unacked: returns to the queue when the channel closes
            if transient_only and not info["transient"]:
                continue
            queue, why = _plan(info, exists)
            if queue is None:
                results.append({**info, "action": "refused", "why": why})
                continue
            if dry_run:
                results.append({**info, "action": "would replay", "to": queue})
                continue
            properties = {k: v for k, v in message.properties.items()
                          if k != "application_headers"}
            headers = original_headers(message.headers)
            headers["x-replayed-from"] = dlq.name
            copy = amqp.Message(as_bytes(message.body, properties.get("content_encoding")),
                                application_headers=headers, **properties)
            copy.properties.setdefault("delivery_mode", 2)
            returned.clear()
            channel.basic_publish(copy, exchange="", routing_key=queue, mandatory=True)
            if returned:  # unroutable: the broker handed it back
                results.append({**info, "action": "refused", "why": f"{queue} is unroutable"})
                continue
            channel.basic_ack(message.delivery_tag)
            results.append({**info, "action": "replayed", "to": queue})
        channel.close()
    return results
