"""Bounces and delivery receipts: what the mail system says after it accepted
a message (a bounce report in the bounce mailbox, GOV.UK Notify's status
callback)."""

from sqlalchemy import select, update

from services.common.db import utcnow
from services.common.errors import NotFound

from .. import domain
from ..adapters import SendFailed, mailbox
from ..models import Delivery
from . import deliveries


def read_bounces(post):
    """Handle every report in the bounce mailbox; return how many deliveries failed."""
    failed = 0

    def handle(reports):
        nonlocal failed
        for delivery_id, action, status in reports:
            if action == "failed" and status.startswith("5") and \
                    apply_bounce(post, delivery_id, status):
                failed += 1
    mailbox.read(post.config.notify_bounce_dir, handle)
    return failed


def apply_bounce(post, delivery_id, dsn_status):
    """A bounce (RFC 3464 report, adapters/mailbox.py) for a delivery the SMTP server had
    accepted: permanently failed, `notification.failed`, fallback. Returns
    whether it acted (False: unknown, or not delivered: already settled)."""
    with post.db.session() as s:
        found = s.get(Delivery, delivery_id)
        if found is None or found.status != domain.DELIVERED:
            return False
        won = s.execute(update(Delivery).where(
            Delivery.id == delivery_id, Delivery.status == domain.DELIVERED).values(
            status=domain.SENDING, claimed_at=utcnow())).rowcount
        s.commit()
    if won == 1:
        deliveries.failed(post, found, SendFailed(f"bounced: DSN status {dsn_status[:20]}",
                                      status=domain.PERMANENT_FAILURE))
    return won == 1


def apply_receipt(post, reference, provider_ref, status):
    """A delivery receipt from GOV.UK Notify (its status callback) for a
    delivery it had accepted. Returns False if no such delivery.

    `delivered` confirms; `permanent-failure` (an email that bounced, a number
    that does not exist) falls back to the other channel or fails for good;
    `temporary-failure` (inbox full, phone off) is retried with backoff, as
    Notify's documentation advises; `technical-failure` is final."""
    with post.db.session() as s:
        found = s.execute(select(Delivery).where(
            Delivery.id == reference, Delivery.provider_ref == provider_ref)).scalar_one_or_none()
    if found is None:
        return False
    if status == domain.DELIVERED or found.status != domain.DELIVERED:
        return True  # a confirmation, or a receipt for something already settled
    with post.db.session() as s:  # only one receipt acts on an accepted delivery
        won = s.execute(update(Delivery).where(
            Delivery.id == found.id, Delivery.status == domain.DELIVERED).values(
            status=domain.SENDING, claimed_at=utcnow())).rowcount
        s.commit()
    if won == 1:
        deliveries.failed(post, found, SendFailed(f"Notify receipt: {status}", status=status))
    return True


def apply_receipt_or_fail(post, reference, provider_ref, status):
    """apply_receipt for the callback: NotFound when there is no such delivery."""
    if not reference or not apply_receipt(post, reference, provider_ref, status):
        raise NotFound("No such notification")
