"""Notify's handlers at the service layer: worker_factory with the real
database and a real SMTP server; only nameko's plumbing is bypassed."""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.common.db import open_database
from services.notify import domain
from services.notify.adapters import Mailer
from services.notify.models import Base, Delivery, Organisation
from services.notify.service import NotifyService
from tests.helpers import organisation_onboarded, referral_submitted


@pytest.fixture
def notify(database_urls, mailbox):
    db = open_database("notify", Base.metadata, database_urls("notify"))
    return worker_factory(NotifyService, db=db, mailer=Mailer()), db


def deliveries(db):
    with db.session() as s:
        return s.execute(select(Delivery)).scalars().all()


def test_referral_submitted_sends_acknowledgement_and_alert(notify, mailbox):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded("school-1", "Riverside Primary"))
    service.on_referral_submitted(referral_submitted(school="school-1"))

    messages = mailbox.wait_for(2)
    by_to = {m["To"].addresses[0].addr_spec: m for m in messages}
    assert set(by_to) == {"jo.smith@riverside.example", "outreach@sen-trust.example"}
    alert = by_to["outreach@sen-trust.example"]
    assert alert["Subject"] == "New outreach referral REF-AAAA-0001 from Riverside Primary"
    assert alert.get_body(("plain",)).get_content().startswith("A new outreach referral")
    assert alert.get_body(("html",)) is not None
    assert {d.status for d in deliveries(db)} == {domain.DELIVERED}


def test_the_same_event_twice_sends_one_email_per_recipient(notify, mailbox):
    service, db = notify
    event = referral_submitted()
    service.on_referral_submitted(event)
    service.on_referral_submitted(event)  # a redelivery
    mailbox.wait_for(2)
    service.sweep()
    assert len(mailbox.transactions()) == 2
    assert len(deliveries(db)) == 2


def test_projection_is_updated_not_duplicated(notify):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded("school-1", "Old name"))
    service.on_organisation_onboarded(organisation_onboarded("school-1", "New name"))
    with db.session() as s:
        orgs = s.execute(select(Organisation)).scalars().all()
    assert [o.name for o in orgs] == ["New name"]


def test_smtp_down_then_up_is_retried_until_delivered(database_urls, tmp_path):
    from nameko import config as nameko_config

    from tests.conftest import Mailbox, free_port, start_mailcatcher, wait_until
    port = free_port()
    db = open_database("notify", Base.metadata, database_urls("notify"))
    service = worker_factory(NotifyService, db=db, mailer=Mailer())
    with nameko_config.patch({"SMTP_PORT": str(port), "SMTP_TIMEOUT": "1"}):
        service.on_referral_submitted(referral_submitted())  # nobody listening yet
        assert {d.status for d in deliveries(db)} == {domain.TEMPORARY_FAILURE}
        proc = start_mailcatcher(tmp_path / "mail", port)
        try:
            def swept():
                service.sweep()
                return {d.status for d in deliveries(db)} == {domain.DELIVERED}
            assert wait_until(swept, timeout=10)
            assert len(Mailbox(tmp_path / "mail", port).messages()) == 2
            assert all(d.attempts == 2 for d in deliveries(db))
        finally:
            proc.terminate()
