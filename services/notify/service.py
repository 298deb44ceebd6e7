"""Notify service entrypoints: turn events into messages and send them."""

from nameko.timer import timer

from services.common import settings
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider
from services.common.outbox import OutboxRelay
from services.common.service import PlatformService

from . import delivery, domain
from .models import Base, Organisation


class NotifyService(PlatformService):
    name = "notify"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()

    @subscribe("pupils", "organisation.onboarded")
    def on_organisation_onboarded(self, event, uow):
        data = event["data"]
        org = uow.session.get(Organisation, data["org_id"]) or Organisation(org_id=data["org_id"])
        org.name, org.kind, org.contact_email = data["name"], data["kind"], data["contact_email"]
        uow.session.add(org)

    @subscribe("referrals", "referral.submitted")
    def on_referral_submitted(self, event, uow):
        data = event["data"]
        school = uow.session.get(Organisation, data["school_org_id"])
        context = {
            "reference": data["reference"],
            "school_name": school.name if school else "a partner school",
            "submitted_on": data["submitted_at"].strftime("%-d %B %Y"),
            "contact_name": data["contact"]["name"],
            "link": f"{settings.get('PUBLIC_BASE_URL')}/api/v1/referrals/{data['referral_id']}",
            "trust_name": settings.get("TRUST_NAME", default="SEN Trust"),
        }
        messages = domain.plan_messages(event, context,
                                        outreach_inbox=settings.get("OUTREACH_INBOX"))
        ids = delivery.record(uow, event, messages)
        uow.after_commit(lambda: [delivery.deliver(self.db, i) for i in ids])

    @timer(interval=float(settings.get("DELIVERY_SWEEP_SECONDS")))
    def sweep(self):
        """Send what is due: retries, and anything a crash left unsent."""
        for delivery_id in delivery.due(self.db):
            delivery.deliver(self.db, delivery_id)
