"""Notify's use cases against an in-memory database and a real SMTP server (in
its own process): planning the deliveries of referral.submitted, a recipient's
opt-out, a resend, and a bounce."""

import pytest
from sqlalchemy import select

from services.common.auth import Principal
from services.common.config import load
from services.common.errors import Conflict
from services.contracts import events, parse_event
from services.notify import commands, domain
from services.notify.adapters import Mailer
from services.notify.commands import deliveries, preferences, receipts
from services.notify.config import NotifyConfig
from services.notify.models import Base, Delivery
from tests.commands.conftest import emitted
from tests.helpers import organisation_onboarded, referral_submitted
from tests.service.test_notify_channels import servers  # noqa: F401  (fixture)

OUTREACH = "outreach@sen-trust.example"
REFERRER = "jo.smith@riverside.example"


@pytest.fixture
def post(memory_db, servers):  # noqa: F811
    db = memory_db("notify", Base.metadata)
    mailer = Mailer()
    yield deliveries.Post(db, load(NotifyConfig, "notify"), mailer), servers
    mailer.close()


def handle(post, event):
    event = parse_event(event)
    with post.db.unit_of_work() as uow:
        commands.handle(post, event, uow)


def sent(db):
    with db.session() as s:
        return s.execute(select(Delivery).order_by(Delivery.template_id)).scalars().all()


def test_a_submitted_referral_plans_an_acknowledgement_and_an_alert(post):
    post, smtp = post
    handle(post, organisation_onboarded())
    handle(post, referral_submitted())
    rows = sent(post.db)
    assert [(d.template_id, d.recipient, d.status) for d in rows] == [
        ("referral-submitted-outreach", OUTREACH, domain.DELIVERED),
        ("referral-submitted-referrer", REFERRER, domain.DELIVERED)]
    assert {d.order_key for d in rows} == {"referral:r-1"}
    assert len(emitted(post.db, events.NOTIFICATION_DELIVERED)) == 2
    [ack] = smtp.emails(REFERRER)
    assert ack["Reply-To"] == OUTREACH
    assert ack["Subject"] == "We have received your outreach referral REF-AAAA-0001"


def test_an_opted_out_recipient_gets_nothing_but_the_others_do(post):
    post, smtp = post
    me = Principal(sub=REFERRER, org="school-1", roles=frozenset({"partner_referrer"}),
                   org_kind="partner_school")
    preferences.put(post.db, me, {"address": REFERRER, "opt_outs": ["referral"],
                                  "quiet_hours": None, "digest": False}, post.config)
    handle(post, referral_submitted())
    assert [d.recipient for d in sent(post.db)] == [OUTREACH]
    assert smtp.emails(REFERRER) == []


def test_a_resend_is_a_new_delivery_of_the_same_message(post):
    post, smtp = post
    handle(post, referral_submitted())
    [original] = [d for d in sent(post.db) if d.recipient == REFERRER]
    new_id = deliveries.resend(post, original.id, visible=lambda org: True, actor="lead@trust")
    with post.db.session() as s:
        new = s.get(Delivery, new_id)
    assert (new.resend_of, new.status, new.body_text) == (
        original.id, domain.DELIVERED, original.body_text)
    [requested] = emitted(post.db, events.NOTIFICATION_RESEND_REQUESTED)
    assert requested["data"]["resend_of"] == original.id
    assert len(smtp.emails(REFERRER)) == 2
    with pytest.raises(Conflict):  # an unsent one is not sent twice at once
        with post.db.session() as s:
            s.execute(Delivery.__table__.update().where(Delivery.id == new_id).values(
                status=domain.SENDING))
            s.commit()
        deliveries.resend(post, new_id, visible=lambda org: True, actor="lead@trust")


def test_a_bounce_fails_the_delivery_for_good(post):
    post, _ = post
    handle(post, referral_submitted())
    [ack] = [d for d in sent(post.db) if d.recipient == REFERRER]
    assert receipts.apply_bounce(post, ack.id, "5.1.1")
    with post.db.session() as s:
        assert s.get(Delivery, ack.id).status == domain.PERMANENT_FAILURE
    [failed] = emitted(post.db, events.NOTIFICATION_FAILED)
    assert failed["data"] == {"notification_id": ack.id, "source_event_id": ack.source_event_id,
                              "template_id": ack.template_id, "channel": "email",
                              "status": domain.PERMANENT_FAILURE}
    assert not receipts.apply_bounce(post, ack.id, "5.1.1")  # once only
