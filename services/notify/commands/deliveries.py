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
digest are gathered by `digests.compose` into one message; those about a
referral or a booking wait for the earlier ones to the same recipient
(ordering.py).

Every function takes a `Post`: the database, the settings (NotifyConfig) and the
mailer (adapters).
"""

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter, Histogram
from sqlalchemy import exists, false, or_, select, update

from services.common.db import utcnow
from services.common.deadletters import dead_letter
from services.common.errors import Conflict, NotFound
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads, queries
from ..adapters import SendFailed
from ..models import Delivery
from . import digests, ordering

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


@dataclass(frozen=True)
class Post:
    """What sending needs: the database, the settings and the mailer."""

    db: object
    config: object
    mailer: object

    @property
    def lease(self):
        return timedelta(seconds=self.config.delivery_lease_seconds)


def _due_clause(now, lease, grace=timedelta(0)):
    """Due to send. `grace` leaves a new delivery to the worker that created it
    (it sends right after its commit) so the sweeper only picks up what that
    worker did not get to: a crash, or a hold that has ended."""
    return (Delivery.digest == false()) & or_(
        (Delivery.status == domain.CREATED) & (Delivery.next_attempt_at <= now - grace),
        (Delivery.status == domain.CREATED) & (Delivery.waiting == True)  # noqa: E712
        & (Delivery.next_attempt_at <= now),
        (Delivery.status == domain.TEMPORARY_FAILURE) & (Delivery.next_attempt_at <= now),
        (Delivery.status == domain.SENDING) & (Delivery.claimed_at < now - lease),
    )


def record(uow, event, messages, *, subject_kind=None, subject_ref=None, order=None,
           wait_seconds=30.0):
    """Create one delivery per message; return the ids to send now. `order` is
    (key, sequence or None): the subject whose messages go out in order."""
    now = utcnow()
    order_key, order_seq = order or (None, None)
    if order_key is not None and order_seq is not None:
        ordering.seen(uow.session, order_key, order_seq)
    data = event["data"]
    if subject_ref is None:
        subject_ref = data.get("referral_id") or data.get("pupil_id")
        subject_kind = "referral" if data.get("referral_id") else (
            "pupil" if data.get("pupil_id") else None)
    ids, held = [], []
    for m in messages:
        delivery = Delivery(
            id=new_id(), source_event_id=event["event_id"],
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
            calendar_method=m.calendar[0] if m.calendar else None,
            calendar_ics=m.calendar[1] if m.calendar else None,
            order_key=order_key, order_seq=order_seq, waiting=False,
            order_deadline=now + timedelta(seconds=wait_seconds) if order_key else None,
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


def _claim(post, delivery_id):
    now = utcnow()
    with post.db.session() as s:
        if ordering.must_wait(s, delivery_id, now, poll=post.config.delivery_sweep_seconds):
            s.commit()
            return None
        result = s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, _due_clause(now, post.lease))
            .values(status=domain.SENDING, claimed_at=now, attempts=Delivery.attempts + 1,
                    waiting=False)
        )
        s.commit()
        if result.rowcount != 1:
            return None
        return s.get(Delivery, delivery_id)


def deliver(post, delivery_id):
    """Send one delivery if it is due and nobody else is sending it; then the
    next one waiting for it (ordering.py)."""
    delivery = _claim(post, delivery_id)
    if delivery is None:
        return None
    post.mailer.db = post.db  # where the shared rate limit is held
    config = post.config
    calendar = (delivery.calendar_method, delivery.calendar_ics) \
        if delivery.calendar_ics else None
    try:
        channel = post.mailer.for_channel(delivery.channel, config)
        provider_ref = channel.already_sent(delivery, config) if delivery.attempts > 1 \
            else None
        if provider_ref is None:
            provider_ref = channel.send(delivery, config, calendar=calendar)
    except SendFailed as exc:
        return failed(post, delivery, exc)
    except Exception as exc:  # noqa: BLE001 - never left in `sending`: retried, then failed
        log.warning("delivery %s: unexpected %s while sending", delivery.id,
                    type(exc).__name__)
        return failed(post, delivery, SendFailed(f"unexpected {type(exc).__name__}",
                                                  status=domain.TEMPORARY_FAILURE))
    sent_at = utcnow()
    with post.db.unit_of_work() as uow:
        uow.session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
            status=domain.DELIVERED, sent_at=sent_at, last_error=None,
            provider=channel.provider, provider_ref=provider_ref))
        if delivery.template_id == domain.DIGEST_TEMPLATE_ID:
            uow.session.execute(update(Delivery).where(Delivery.digest_id == delivery.id).values(
                status=domain.DELIVERED, sent_at=sent_at, provider=channel.provider))
        uow.emit(events.NOTIFICATION_DELIVERED, payloads.delivered(delivery),
                 org_id=delivery.org_id, actor="notify")
    SENT.labels(delivery.channel, delivery.template_id, domain.DELIVERED).inc()
    LATENCY.labels(delivery.channel).observe((sent_at - delivery.created_at).total_seconds())
    _next_in_order(post, delivery)
    return domain.DELIVERED


def _next_in_order(post, delivery):
    """The message that waited for this one (same subject and recipient), now."""
    if delivery.order_key is None:
        return
    with post.db.session() as s:
        following = ordering.waiting_after(s, delivery, utcnow())
        s.commit()
    for delivery_id in following:
        deliver_safely(post, delivery_id)


def deliver_safely(post, delivery_id):
    """`deliver` for the sweeper: one delivery's fault never stops the others."""
    try:
        return deliver(post, delivery_id)
    except Exception as exc:  # noqa: BLE001 - logged; its lease brings it back
        log.warning("delivery %s: sweep failed (%s)", delivery_id, type(exc).__name__)
        return None


def send_all(post, ids):
    for delivery_id in ids:
        deliver(post, delivery_id)


def redeliver(post, delivery_id):
    """A replayed dead letter: send a delivery that failed for good once more,
    from its first attempt. Returns whether there was one to send."""
    with post.db.session() as s:
        won = s.execute(update(Delivery).where(
            Delivery.id == delivery_id,
            Delivery.status.in_((domain.PERMANENT_FAILURE, domain.TECHNICAL_FAILURE))).values(
            status=domain.TEMPORARY_FAILURE, attempts=0, next_attempt_at=utcnow(),
            last_error=None)).rowcount
        s.commit()
    if won:
        deliver(post, delivery_id)
    return bool(won)


def failed(post, delivery, exc):
    """Record a failed send: retry later, fall back, or fail for good."""
    status = exc.status
    if status == domain.TEMPORARY_FAILURE and \
            delivery.attempts >= post.config.delivery_max_attempts:
        status = domain.TECHNICAL_FAILURE
    delay = domain.retry_delay(delivery.attempts, post.config.delivery_backoff_seconds)
    fallback_id = None
    with post.db.unit_of_work() as uow:
        uow.session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
            status=status, last_error=str(exc)[:300], next_attempt_at=utcnow() + delay))
        if status == domain.PERMANENT_FAILURE:
            fallback_id = _fallback(uow.session, delivery,
                                    sms_available=post.mailer.sms_available(post.config))
        if status in domain.FINAL and fallback_id is None:
            if delivery.template_id == domain.DIGEST_TEMPLATE_ID:
                uow.session.execute(update(Delivery).where(
                    Delivery.digest_id == delivery.id).values(status=status))
            uow.emit(events.NOTIFICATION_FAILED, payloads.failed(delivery, status),
                     org_id=delivery.org_id, actor="notify")
            uow.after_commit(lambda: _dead_letter(delivery, status, exc))
    SENT.labels(delivery.channel, delivery.template_id, status).inc()
    log.warning("delivery %s: %s (%s)", delivery.id, status, exc)
    if fallback_id:
        FALLBACKS.labels(delivery.channel, domain.SMS if delivery.channel == domain.EMAIL
                         else domain.EMAIL).inc()
        deliver(post, fallback_id)
    if status in domain.FINAL:
        _next_in_order(post, delivery)
    return status


def _fallback(session, delivery, *, sms_available):
    """Create the delivery on the recipient's other channel, once; its id or None."""
    template = domain.BY_ID.get(delivery.template_id)
    if template is None:
        return None
    other = domain.fallback(delivery.channel, delivery.alt_address, template)
    if other == domain.SMS and not sms_available:
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
        id=new_id(), source_event_id=delivery.source_event_id,
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


def resend(post, notification_id, *, visible, actor):
    """Send a notification again: a new delivery with the original's message, to
    the same recipient on the same channel (notification.resend_requested).
    `visible(org_id)` says whether the caller may see the original."""
    with post.db.unit_of_work() as uow:
        original = uow.session.get(Delivery, notification_id)
        if original is None or not visible(original.org_id):
            raise NotFound("No such notification")
        if original.recipient == "erased":
            raise Conflict("The recipient of this notification has been erased")
        if original.status not in domain.FINAL:
            raise Conflict("The notification is still being sent")
        new = _copy(uow, original)
        uow.emit(events.NOTIFICATION_RESEND_REQUESTED, payloads.resend_requested(new, original),
                 org_id=original.org_id, actor=actor)
        new_id_ = new.id
    deliver(post, new_id_)
    return new_id_


def _copy(uow, original):
    new = Delivery(
        id=new_id(), source_event_id=new_id(),
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
        calendar_method=original.calendar_method, calendar_ics=original.calendar_ics,
        waiting=False,
    )
    uow.session.add(new)
    return new


def due(post, limit=100):
    """Ids of deliveries to (re)send now: new, retry due, held until now, or a
    lapsed lease."""
    with post.db.session() as s:
        return s.execute(
            select(Delivery.id).where(_due_clause(utcnow(), post.lease, grace=post.lease))
            .order_by(Delivery.next_attempt_at).limit(limit)
        ).scalars().all()


def sweep(post, *, trust_name):
    """Send what is due: retries, messages held for quiet hours or for an earlier
    one, digests, and anything a crash left unsent; close idle SMTP connections."""
    for digest_id in digests.compose(post.db, trust_name=trust_name,
                                     reach_us=queries.reach_us(post.config)):
        deliver_safely(post, digest_id)
    for delivery_id in due(post):
        deliver_safely(post, delivery_id)
    post.mailer.close_idle()
