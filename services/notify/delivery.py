"""Recording and sending deliveries, exactly once per (event, recipient,
channel, template).

A delivery is created in the same transaction as the inbox claim of its event.
Sending claims it first (`created` → `sending`, a conditional UPDATE only one
worker can win), talks to the channel with no transaction open, then records
the outcome and its event (`notification.delivered` / `.failed`) in one
transaction. A process killed mid-send leaves a `sending` row whose lease runs
out; the sweeper then sends it again with the same Message-ID.
"""

import logging
import uuid
from datetime import timedelta

from prometheus_client import Counter, Histogram
from sqlalchemy import or_, select, update

from services.common import settings
from services.common.db import utcnow

from . import domain
from .channels import SendFailed, SmtpChannel
from .models import Delivery

log = logging.getLogger(__name__)

SENT = Counter("notifications_total", "Notification send attempts by outcome",
               ["channel", "template", "status"])
LATENCY = Histogram("notification_latency_seconds",
                    "From the event's creation to the channel accepting the message",
                    ["channel"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))

CHANNELS = {"email": SmtpChannel()}


def record(uow, event, messages):
    """Create one delivery per message; return their ids."""
    now = utcnow()
    ids = []
    for m in messages:
        delivery = Delivery(
            id=str(uuid.uuid4()), source_event_id=event["event_id"],
            source_event_type=event["type"], org_id=event["org_id"],
            subject_ref=event["data"].get("referral_id") or event["data"].get("pupil_id"),
            template_id=m.template.id, template_version=m.template.version,
            audience=m.recipient.audience, channel=m.recipient.channel,
            recipient=m.recipient.address, recipient_name=m.recipient.name,
            subject=m.subject, body_text=m.text, body_html=m.html,
            status=domain.CREATED, attempts=0, created_at=event["occurred_at"],
            next_attempt_at=now,
        )
        uow.session.add(delivery)
        ids.append(delivery.id)
    return ids


def _claim(db, delivery_id):
    now = utcnow()
    lease = timedelta(seconds=settings.get_float("DELIVERY_LEASE_SECONDS"))
    with db.session() as s:
        result = s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, or_(
                Delivery.status.in_((domain.CREATED, domain.TEMPORARY_FAILURE))
                & (Delivery.next_attempt_at <= now),
                (Delivery.status == domain.SENDING) & (Delivery.claimed_at < now - lease),
            ))
            .values(status=domain.SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
        )
        s.commit()
        if result.rowcount != 1:
            return None
        return s.get(Delivery, delivery_id)


def deliver(db, delivery_id):
    """Send one delivery if it is due and nobody else is sending it."""
    delivery = _claim(db, delivery_id)
    if delivery is None:
        return None
    channel = CHANNELS[delivery.channel]
    try:
        channel.send(delivery)
    except SendFailed as exc:
        return _failed(db, delivery, exc)
    with db.unit_of_work() as uow:
        uow.session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
            status=domain.DELIVERED, sent_at=utcnow(), last_error=None))
        uow.emit("notification.delivered", {
            "notification_id": delivery.id, "source_event_id": delivery.source_event_id,
            "template_id": delivery.template_id, "channel": delivery.channel,
        }, org_id=delivery.org_id, actor="notify")
    SENT.labels(delivery.channel, delivery.template_id, domain.DELIVERED).inc()
    LATENCY.labels(delivery.channel).observe(
        (utcnow() - delivery.created_at).total_seconds())
    return domain.DELIVERED


def _failed(db, delivery, exc):
    status = domain.classify_smtp_failure(exc.code)
    if status == domain.TEMPORARY_FAILURE and delivery.attempts >= settings.get_int(
            "DELIVERY_MAX_ATTEMPTS"):
        status = domain.TECHNICAL_FAILURE
    delay = domain.retry_delay(delivery.attempts, settings.get_float("DELIVERY_BACKOFF_SECONDS"))
    with db.unit_of_work() as uow:
        uow.session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
            status=status, last_error=str(exc)[:300], next_attempt_at=utcnow() + delay))
        if status in domain.FINAL:
            uow.emit("notification.failed", {
                "notification_id": delivery.id, "source_event_id": delivery.source_event_id,
                "template_id": delivery.template_id, "channel": delivery.channel,
                "status": status,
            }, org_id=delivery.org_id, actor="notify")
    SENT.labels(delivery.channel, delivery.template_id, status).inc()
    log.warning("delivery %s: %s (%s)", delivery.id, status, exc)
    return status


def due(db, limit=100):
    """Ids of deliveries to (re)send now: new, retry due, or a lapsed lease."""
    now = utcnow()
    lease = timedelta(seconds=settings.get_float("DELIVERY_LEASE_SECONDS"))
    with db.session() as s:
        return s.execute(
            select(Delivery.id).where(or_(
                Delivery.status.in_((domain.CREATED, domain.TEMPORARY_FAILURE))
                & (Delivery.next_attempt_at <= now),
                (Delivery.status == domain.SENDING) & (Delivery.claimed_at < now - lease),
            )).order_by(Delivery.next_attempt_at).limit(limit)
        ).scalars().all()
