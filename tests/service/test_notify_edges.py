"""Notify's edges (issue 17): a header-unsafe name is sent safely, a delivery
that can never be sent fails at once and for good with notification.failed, and
one failing delivery never stops the sweeper's other work."""

from nameko import config as nameko_config
from sqlalchemy import update

from services.notify import domain
from services.notify.commands import deliveries as delivery_mod
from services.notify.models import Delivery
from tests.helpers import referral_submitted
from tests.service.test_notify_channels import (  # noqa: F401
    deliveries,
    notify,
    outbox_types,
    servers,
)


def test_a_name_with_a_line_break_is_delivered_on_one_line(notify, servers):  # noqa: F811
    service, db = notify
    event = referral_submitted()
    event["data"]["contact"]["name"] = "Jo\r\nBcc: someone@elsewhere.example"
    service.on_referral_submitted(event)
    sent = deliveries(db, recipient="jo.smith@riverside.example")
    assert [d.status for d in sent] == [domain.DELIVERED]
    [mail] = servers.emails("jo.smith@riverside.example")
    assert mail["Bcc"] is None and "\n" not in str(mail["To"])
    assert all(d.status == domain.DELIVERED for d in deliveries(db))


def test_a_delivery_that_can_never_be_sent_fails_at_once_and_for_good(
        notify, servers):  # noqa: F811
    service, db = notify
    event = referral_submitted(email="later@riverside.example")
    orig = delivery_mod.deliver
    delivery_mod.deliver = lambda post, i: None  # record only; send below
    try:
        service.on_referral_submitted(event)
    finally:
        delivery_mod.deliver = orig
    [bad] = deliveries(db, recipient="later@riverside.example")
    with db.session() as s:
        s.execute(update(Delivery).where(Delivery.id == bad.id).values(
            recipient="later@riverside.example\r\nBcc: x@elsewhere.example"))
        s.commit()
    assert delivery_mod.deliver(service._post(), bad.id) == domain.PERMANENT_FAILURE
    [after] = [d for d in deliveries(db) if d.id == bad.id]
    assert after.status == domain.PERMANENT_FAILURE and after.attempts == 1
    assert "notification.failed" in outbox_types(db)
    assert servers.emails("later@riverside.example") == []


def test_one_failing_delivery_never_stops_the_sweep(notify, servers, monkeypatch):  # noqa: F811
    service, db = notify
    monkeypatch.setattr(delivery_mod, "deliver", lambda post, i: None)  # record only
    service.on_referral_submitted(referral_submitted(email="first@riverside.example"))
    service.on_referral_submitted(referral_submitted(referral_id="r-2", reference="REF-2",
                                                     email="second@riverside.example"))
    monkeypatch.undo()
    with db.session() as s:
        s.execute(update(Delivery).values(next_attempt_at=Delivery.created_at))
        s.commit()
    [first] = deliveries(db, recipient="first@riverside.example")
    real_claim = delivery_mod._claim

    def claim(post, delivery_id):
        if delivery_id == first.id:
            raise RuntimeError("this one breaks")
        return real_claim(post, delivery_id)
    monkeypatch.setattr(delivery_mod, "_claim", claim)
    with nameko_config.patch({"DELIVERY_LEASE_SECONDS": "0"}):
        service.sweep()
    assert [d.status for d in deliveries(db, recipient="second@riverside.example")] == [
        domain.DELIVERED]
    assert len(servers.emails("second@riverside.example")) == 1


def test_a_kill_after_the_server_accepted_does_not_send_again(notify, servers):  # noqa: F811
    from services.common.db import utcnow
    service, db = notify
    service.on_referral_submitted(referral_submitted(email="once@riverside.example"))
    [sent] = deliveries(db, recipient="once@riverside.example")
    assert sent.status == domain.DELIVERED
    # as if notify had been killed between the server's 250 and recording it
    with db.session() as s:
        s.execute(update(Delivery).where(Delivery.id == sent.id).values(
            status=domain.SENDING, claimed_at=utcnow().replace(year=2020)))
        s.commit()
    service.sweep()
    [after] = deliveries(db, recipient="once@riverside.example")
    assert after.status == domain.DELIVERED
    attempts = [a for a in servers.smtp_attempts() if "once@" in a]
    assert len(attempts) == 1, attempts  # one SMTP transaction on the wire
