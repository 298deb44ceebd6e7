"""A consumer of this release handles an event from the next one: notify's
referral.submitted handler (v1) gets a v2 event with fields it does not know,
through the kit's consumer (parse, inbox, handler), and sends its two emails."""

from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.common.db import open_database
from services.notify.adapters import Mailer
from services.notify.models import Base, Delivery
from services.notify.service import NotifyService
from tests.helpers import organisation_onboarded, referral_submitted


def test_notify_of_v1_handles_a_v2_referral_submitted(database_urls, mailbox):
    db = open_database("notify", Base.metadata, database_urls("notify"))
    service = worker_factory(NotifyService, db=db, mailer=Mailer())
    service.on_organisation_onboarded(organisation_onboarded("school-1", "Riverside Primary"))
    v2 = referral_submitted(school="school-1")
    v2 = {**v2, "version": 2, "data": {**v2["data"], "urgency": "high",
                                       "referrer_role": "SENCO"}}
    service.on_referral_submitted(v2)
    messages = mailbox.wait_for(2)
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == [
        "jo.smith@riverside.example", "outreach@sen-trust.example"]
    with db.session() as s:
        assert len(s.execute(select(Delivery)).scalars().all()) == 2
