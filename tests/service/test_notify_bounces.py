"""Delivered must be true (issue 17): an RFC 3464 bounce read from the bounce
mailbox turns an accepted email into a permanent failure, with
notification.failed, and the recipient's other channel acts."""

from nameko import config as nameko_config

from services.notify import domain
from services.notify.adapters import mailbox as bounces
from tests.helpers import organisation_onboarded
from tests.service.test_notify_channels import (  # noqa: F401
    deliveries,
    guardians_changed,
    notify,
    outbox_types,
    passport_published,
    servers,
)

DSN = """From: MAILER-DAEMON@mx.home.example
To: bounces@sen-trust.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.home.example

Final-Recipient: rfc822; pat@home.example
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--b1
Content-Type: text/rfc822-headers

From: SEN Trust <no-reply@sen-trust.example>
To: Pat Parent <pat@home.example>
Message-ID: <{delivery_id}@notify.sen-trust.example>
Subject: A pupil passport

--b1--
"""


def test_a_bounce_fails_the_delivery_and_the_other_channel_acts(
        notify, servers, tmp_path):  # noqa: F811
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded())
    service.on_guardians_changed(guardians_changed())
    service.on_passport_published(passport_published())
    [email] = deliveries(db, channel="email", audience="parent")
    assert email.status == domain.DELIVERED  # accepted by the SMTP server
    assert servers.emails("pat@home.example")

    box = tmp_path / "bounces"
    box.mkdir()
    (box / "delayed.eml").write_text(DSN.format(action="delayed", status="4.4.1",
                                                delivery_id=email.id))
    (box / "junk.eml").write_text("Subject: not a report\n\nhello\n")
    (box / "failed.eml").write_text(DSN.format(action="failed", status="5.1.1",
                                               delivery_id=email.id))
    assert bounces.parse_dsn((box / "failed.eml").read_bytes()) == [
        (email.id, "failed", "5.1.1")]
    with nameko_config.patch({"NOTIFY_BOUNCE_DIR": str(box)}):
        service.read_bounces()
        service.read_bounces()  # each report once
    [email] = deliveries(db, channel="email", audience="parent")
    assert email.status == domain.PERMANENT_FAILURE and "5.1.1" in email.last_error
    sms = deliveries(db, channel="sms")
    assert [(s.status, s.fallback_of) for s in sms] == [(domain.DELIVERED, email.id)]
    assert sorted(p.name for p in (box / "processed").iterdir()) == [
        "delayed.eml", "failed.eml", "junk.eml"]
    assert not list(box.glob("*.eml"))


def test_a_bounce_without_another_channel_is_notification_failed(
        notify, servers, tmp_path):  # noqa: F811
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded())
    service.on_guardians_changed(guardians_changed(mobile=None))
    service.on_passport_published(passport_published())
    [email] = deliveries(db, channel="email", audience="parent")
    box = tmp_path / "bounces"
    box.mkdir()
    (box / "failed.eml").write_text(DSN.format(action="failed", status="5.1.1",
                                               delivery_id=email.id))
    assert "notification.failed" not in outbox_types(db)
    with nameko_config.patch({"NOTIFY_BOUNCE_DIR": str(box)}):
        service.read_bounces()
    [email] = deliveries(db, channel="email", audience="parent")
    assert email.status == domain.PERMANENT_FAILURE
    assert "notification.failed" in outbox_types(db)
