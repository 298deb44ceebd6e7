"""Recording and sending deliveries, exactly once per (event, recipient,
channel, template).

A delivery is created in the same transaction as the inbox claim of its event.
Sending claims it first (`created` → `sending`, a conditional UPDATE only one
worker can win), talks to the channel with no transaction open, then records
the outcome and its event (`notification.delivered` / `.failed`) in one
transaction. A process killed mid-send leaves a `sending` row whose lease runs
out; the sweeper then sends it again with the same Message-ID (SMTP) or first
asks GOV.UK Notify whether it already has it (by our reference).

A permanent failure falls back to the recipient's other channel (a new
delivery, itself unique per event, recipient, channel and template); what
still fails, or runs out of retries, is recorded, announced with
`notification.failed` and dead-lettered with its reason. Deliveries held for
quiet hours wait in `created` until their `next_attempt_at`; those for a daily
digest are gathered by `compose_digests` into one message.
"""

import json
import logging
import uuid
from datetime import timedelta

from prometheus_client import Counter, Histogram
from sqlalchemy import exists, false, or_, select, update

from services.common import settings
from services.common.db import utcnow
from services.common.deadletters import dead_letter

from . import channels, domain
from .channels import SendFailed
from .models import Delivery

log = logging.getLogger(__name__)

SENT = Counter("notifications_total", "Notification send attempts by outcome",
               ["channel", "template", "status"])
LATENCY = Histogram("notification_latency_seconds",
                    "From the event's creation to the channel accepting the message",
                    ["channel"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600,
                                          43200))
HELD = Counter("notifications_held_total",
               "Messages held instead of sent at once, by reason (quiet_hours, digest)",
               ["channel", "template", "reason"])
FALLBACKS = Counter("notification_fallbacks_total",
                    "Permanent failures retried on the recipient's other channel",
                    ["from_channel", "to_channel"])

#: Where a replayed delivery dead letter goes: notify's `redeliver` consumes it.
DLQ_QUEUE = "notify.deliveries"
DLQ_HANDLER = "notify.redeliver"


def _due_clause(now, lease, grace=timedelta(0)):
    """Due to send. `grace` leaves a new delivery to the worker that created it
    (it sends right after its commit) so the sweeper only picks up what that
    worker did not get to: a crash, or a hold that has ended."""
    return (Delivery.digest == false()) & or_(
        (Delivery.status == domain.CREATED) & (Delivery.next_attempt_at <= now - grace),
        (Delivery.status == domain.TEMPORARY_FAILURE) & (Delivery.next_attempt_at <= now),
        (Delivery.status == domain.SENDING) & (Delivery.claimed_at < now - lease),
    )


def _lease():
    return timedelta(seconds=settings.get_float("DELIVERY_LEASE_SECONDS"))


def record(uow, event, messages, *, subject_kind=None, subject_ref=None):
    """Create one delivery per message; return the ids to send now."""
    now = utcnow()
    data = event["data"]
    if subject_ref is None:
        subject_ref = data.get("referral_id") or data.get("pupil_id")
        subject_kind = "referral" if data.get("referral_id") else (
            "pupil" if data.get("pupil_id") else None)
    ids, held = [], []
    for m in messages:
        delivery = Delivery(
            id=str(uuid.uuid4()), source_event_id=event["event_id"],
            source_event_type=event["type"], org_id=event["org_id"],
            subject_ref=subject_ref, subject_kind=subject_kind,
            template_id=m.template.id, template_version=m.template.version,
            audience=m.recipient.audience, channel=m.recipient.channel,
            recipient=m.recipient.address, recipient_name=m.recipient.name,
            alt_address=m.recipient.alt_address, language=m.language,
            category=m.template.category, statutory=m.template.statutory,
            urgent=m.template.urgent, context_json=json.dumps(m.context, default=str),
            subject=m.subject, body_text=m.text, body_html=m.html,
            status=domain.CREATED, attempts=0, created_at=event["occurred_at"],
            next_attempt_at=m.not_before or now, held=m.held, digest=m.digest,
        )
        uow.session.add(delivery)
        if m.digest:
            held.append((m, "digest"))
        elif m.held:
            held.append((m, "quiet_hours"))
        else:
            ids.append(delivery.id)
    if held:
        uow.after_commit(lambda: [HELD.labels(m.recipient.channel, m.template.id, reason).inc()
                                  for m, reason in held])
    return ids


def _claim(db, delivery_id):
    now = utcnow()
    with db.session() as s:
        result = s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, _due_clause(now, _lease()))
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
    channels.share_rate_limit(db)
    try:
        channel = channels.for_channel(delivery.channel)
        provider_ref = channel.already_sent(delivery) if delivery.attempts > 1 else None
        if provider_ref is None:
            provider_ref = channel.send(delivery)
    except SendFailed as exc:
        return _failed(db, delivery, exc)
    except Exception as exc:  # noqa: BLE001 - never left in `sending`: retried, then failed
        log.warning("delivery %s: unexpected %s while sending", delivery.id,
                    type(exc).__name__)
        return _failed(db, delivery, SendFailed(f"unexpected {type(exc).__name__}",
                                                status=domain.TEMPORARY_FAILURE))
    sent_at = utcnow()
    with db.unit_of_work() as uow:
        uow.session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
            status=domain.DELIVERED, sent_at=sent_at, last_error=None,
            provider=channel.provider, provider_ref=provider_ref))
        if delivery.template_id == domain.DIGEST_TEMPLATE_ID:
            uow.session.execute(update(Delivery).where(Delivery.digest_id == delivery.id).values(
                status=domain.DELIVERED, sent_at=sent_at, provider=channel.provider))
        uow.emit("notification.delivered", {
            "notification_id": delivery.id, "source_event_id": delivery.source_event_id,
            "template_id": delivery.template_id, "channel": delivery.channel,
        }, org_id=delivery.org_id, actor="notify")
    SENT.labels(delivery.channel, delivery.template_id, domain.DELIVERED).inc()
    LATENCY.labels(delivery.channel).observe((sent_at - delivery.created_at).total_seconds())
    return domain.DELIVERED


def deliver_safely(db, delivery_id):
    """`deliver` for the sweeper: one delivery's fault never stops the others."""
    try:
        return deliver(db, delivery_id)
    except Exception as exc:  # noqa: BLE001 - logged; its lease brings it back
        log.warning("delivery %s: sweep failed (%s)", delivery_id, type(exc).__name__)
        return None


def redeliver(db, delivery_id):
    """A replayed dead letter: send a delivery that failed for good once more,
    from its first attempt. Returns whether there was one to send."""
    with db.session() as s:
        won = s.execute(update(Delivery).where(
            Delivery.id == delivery_id,
            Delivery.status.in_((domain.PERMANENT_FAILURE, domain.TECHNICAL_FAILURE))).values(
            status=domain.TEMPORARY_FAILURE, attempts=0, next_attempt_at=utcnow(),
            last_error=None)).rowcount
        s.commit()
    if won:
        deliver(db, delivery_id)
    return bool(won)


def _failed(db, delivery, exc):
    status = exc.status
    if status == domain.TEMPORARY_FAILURE and delivery.attempts >= settings.get_int(
            "DELIVERY_MAX_ATTEMPTS"):
        status = domain.TECHNICAL_FAILURE
    delay = domain.retry_delay(delivery.attempts, settings.get_float("DELIVERY_BACKOFF_SECONDS"))
    fallback_id = None
    with db.unit_of_work() as uow:
        uow.session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
            status=status, last_error=str(exc)[:300], next_attempt_at=utcnow() + delay))
        if status == domain.PERMANENT_FAILURE:
            fallback_id = _fallback(uow.session, delivery)
        if status in domain.FINAL and fallback_id is None:
            if delivery.template_id == domain.DIGEST_TEMPLATE_ID:
                uow.session.execute(update(Delivery).where(
                    Delivery.digest_id == delivery.id).values(status=status))
            uow.emit("notification.failed", {
                "notification_id": delivery.id, "source_event_id": delivery.source_event_id,
                "template_id": delivery.template_id, "channel": delivery.channel,
                "status": status,
            }, org_id=delivery.org_id, actor="notify")
            uow.after_commit(lambda: _dead_letter(delivery, status, exc))
    SENT.labels(delivery.channel, delivery.template_id, status).inc()
    log.warning("delivery %s: %s (%s)", delivery.id, status, exc)
    if fallback_id:
        FALLBACKS.labels(delivery.channel, domain.SMS if delivery.channel == domain.EMAIL
                         else domain.EMAIL).inc()
        deliver(db, fallback_id)
    return status


def apply_bounce(db, delivery_id, dsn_status):
    """A bounce (RFC 3464 report, bounces.py) for a delivery the SMTP server had
    accepted: permanently failed, `notification.failed`, fallback. Returns
    whether it acted (False: unknown, or not delivered: already settled)."""
    with db.session() as s:
        found = s.get(Delivery, delivery_id)
        if found is None or found.status != domain.DELIVERED:
            return False
        won = s.execute(update(Delivery).where(
            Delivery.id == delivery_id, Delivery.status == domain.DELIVERED).values(
            status=domain.SENDING, claimed_at=utcnow())).rowcount
        s.commit()
    if won == 1:
        _failed(db, found, SendFailed(f"bounced: DSN status {dsn_status[:20]}",
                                      status=domain.PERMANENT_FAILURE))
    return won == 1


def apply_receipt(db, reference, provider_ref, status):
    """A delivery receipt from GOV.UK Notify (its status callback) for a
    delivery it had accepted. Returns False if no such delivery.

    `delivered` confirms; `permanent-failure` (an email that bounced, a number
    that does not exist) falls back to the other channel or fails for good;
    `temporary-failure` (inbox full, phone off) is retried with backoff, as
    Notify's documentation advises; `technical-failure` is final."""
    with db.session() as s:
        found = s.execute(select(Delivery).where(
            Delivery.id == reference, Delivery.provider_ref == provider_ref)).scalar_one_or_none()
    if found is None:
        return False
    if status == domain.DELIVERED or found.status != domain.DELIVERED:
        return True  # a confirmation, or a receipt for something already settled
    with db.session() as s:  # only one receipt acts on an accepted delivery
        won = s.execute(update(Delivery).where(
            Delivery.id == found.id, Delivery.status == domain.DELIVERED).values(
            status=domain.SENDING, claimed_at=utcnow())).rowcount
        s.commit()
    if won == 1:
        _failed(db, found, SendFailed(f"Notify receipt: {status}", status=status))
    return True


def _fallback(session, delivery):
    """Create the delivery on the recipient's other channel, once; its id or None."""
    template = domain.BY_ID.get(delivery.template_id)
    if template is None:
        return None
    other = domain.fallback(delivery.channel, delivery.alt_address, template)
    if other == domain.SMS and not channels.sms_available():
        return None
    if other is None:
        return None
    taken = session.execute(select(exists().where(
        Delivery.source_event_id == delivery.source_event_id,
        Delivery.recipient == delivery.alt_address, Delivery.channel == other,
        Delivery.template_id == delivery.template_id))).scalar()
    if taken:
        return None
    context = json.loads(delivery.context_json or "{}")
    ctx = {**context, "recipient": {"name": delivery.recipient_name or "",
                                    "audience": delivery.audience}}
    subject, text, html = domain.render(template, ctx, other, delivery.language)
    new = Delivery(
        id=str(uuid.uuid4()), source_event_id=delivery.source_event_id,
        source_event_type=delivery.source_event_type, org_id=delivery.org_id,
        subject_ref=delivery.subject_ref, subject_kind=delivery.subject_kind,
        template_id=template.id, template_version=template.version,
        audience=delivery.audience, channel=other, recipient=delivery.alt_address,
        recipient_name=delivery.recipient_name, alt_address=None,
        language=delivery.language, category=delivery.category,
        statutory=delivery.statutory, urgent=delivery.urgent,
        context_json=delivery.context_json, subject=subject, body_text=text, body_html=html,
        status=domain.CREATED, attempts=0, created_at=delivery.created_at,
        next_attempt_at=utcnow(), held=False, digest=False, fallback_of=delivery.id,
    )
    session.add(new)
    return new.id


def _dead_letter(delivery, status, exc):
    """What could not be delivered goes to dlq.notify with its reason (no
    personal data: ids, template and channel only)."""
    dead_letter("notify", body={
        "notification_id": delivery.id, "source_event_id": delivery.source_event_id,
        "source_event_type": delivery.source_event_type, "template_id": delivery.template_id,
        "channel": delivery.channel, "status": status,
    }, queue=DLQ_QUEUE, handler=DLQ_HANDLER, reason=f"{status}: {exc}"[:300],
        event_type=delivery.source_event_type, event_id=delivery.source_event_id,
        kind="delivery", transient=status == domain.TECHNICAL_FAILURE)


def resend(uow, original, *, actor):
    """A new delivery with the original's message, to the same recipient."""
    new = Delivery(
        id=str(uuid.uuid4()), source_event_id=str(uuid.uuid4()),
        source_event_type=original.source_event_type, org_id=original.org_id,
        subject_ref=original.subject_ref, subject_kind=original.subject_kind,
        template_id=original.template_id, template_version=original.template_version,
        audience=original.audience, channel=original.channel, recipient=original.recipient,
        recipient_name=original.recipient_name, alt_address=original.alt_address,
        language=original.language, category=original.category,
        statutory=original.statutory, urgent=original.urgent,
        context_json=original.context_json, subject=original.subject,
        body_text=original.body_text, body_html=original.body_html,
        status=domain.CREATED, attempts=0, created_at=utcnow(), next_attempt_at=utcnow(),
        held=False, digest=False, resend_of=original.id,
    )
    uow.session.add(new)
    return new


def due(db, limit=100):
    """Ids of deliveries to (re)send now: new, retry due, held until now, or a
    lapsed lease."""
    with db.session() as s:
        return s.execute(
            select(Delivery.id).where(_due_clause(utcnow(), _lease(), grace=_lease()))
            .order_by(Delivery.next_attempt_at).limit(limit)
        ).scalars().all()


def compose_digests(db, *, trust_name):
    """Gather the digest deliveries now due into one message per recipient;
    return the ids of the digests to send."""
    now = utcnow()
    with db.session() as s:
        rows = s.execute(select(Delivery).where(
            Delivery.digest == True,  # noqa: E712
            Delivery.digest_id.is_(None), Delivery.status == domain.CREATED,
            Delivery.next_attempt_at <= now).order_by(Delivery.created_at)).scalars().all()
    groups = {}
    for row in rows:
        groups.setdefault((row.recipient, row.channel), []).append(row)
    ids = []
    for (recipient, channel), items in groups.items():
        member_ids = sorted(i.id for i in items)
        digest_id = str(uuid.uuid4())
        context = {"trust_name": trust_name, "items": [
            {"subject": i.subject, "link": json.loads(i.context_json or "{}").get("link", "")}
            for i in items]}
        ctx = {**context, "recipient": {"name": items[0].recipient_name or "",
                                        "audience": items[0].audience}}
        subject, text, html = domain.render(domain.DIGEST_TEMPLATE, ctx, domain.EMAIL)
        with db.unit_of_work() as uow:
            claimed = uow.session.execute(update(Delivery).where(
                Delivery.id.in_(member_ids), Delivery.digest_id.is_(None)
            ).values(digest_id=digest_id)).rowcount
            if claimed != len(member_ids):  # another sweeper got there first
                uow.session.rollback()
                continue
            uow.session.add(Delivery(
                id=digest_id,
                source_event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "digest:" + ",".join(
                    member_ids))),
                source_event_type="digest", org_id=items[0].org_id, subject_ref=None,
                template_id=domain.DIGEST_TEMPLATE_ID,
                template_version=domain.DIGEST_TEMPLATE.version, audience=items[0].audience,
                channel=channel, recipient=recipient, recipient_name=items[0].recipient_name,
                language="en", category="digest", statutory=False, urgent=False,
                context_json=json.dumps(context), subject=subject, body_text=text,
                body_html=html, status=domain.CREATED, attempts=0, created_at=now,
                next_attempt_at=now, held=False, digest=False))
        ids.append(digest_id)
    return ids
