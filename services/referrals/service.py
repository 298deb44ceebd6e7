"""Referrals service entrypoints: parse, authorise, call the domain, respond."""

from sqlalchemy import func, select

from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.problems import NotFound
from services.common.service import PlatformService

from . import domain
from .models import Base, Organisation, Referral, Transition
from .schemas import ListQuerySchema, ReferralCreateSchema, ReferralPageSchema, ReferralSchema

READERS = ("partner_referrer",)


class ReferralsService(PlatformService):
    name = "referrals"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()

    @api("POST", "/api/v1/referrals", roles=("partner_referrer",), body=ReferralCreateSchema,
         response=ReferralSchema, status=201, summary="Submit an outreach referral")
    def create_referral(self, request, principal, body):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = Referral(**domain.new_referral(
                body, school_org_id=principal.org, actor=principal.sub, now=now))
            uow.session.add(referral)
            uow.session.add(Transition(referral_id=referral.id, from_status=None,
                                       to_status=referral.status, actor=principal.sub, at=now))
            uow.session.flush()
            uow.emit("referral.submitted", domain.submitted_event(referral),
                     org_id=principal.org, actor=principal.sub)
        return referral

    @api("GET", "/api/v1/referrals", roles=READERS, query=ListQuerySchema,
         response=ReferralPageSchema, summary="List your organisation's referrals")
    def list_referrals(self, request, principal, query):
        where = [Referral.school_org_id == principal.org]
        if "status" in query:
            where.append(Referral.status == query["status"])
        with self.db.session() as s:
            total = s.execute(select(func.count()).select_from(Referral).where(*where)).scalar_one()
            items = s.execute(select(Referral).where(*where)
                              .order_by(Referral.created_at.desc(), Referral.id)
                              .limit(query["limit"]).offset(query["offset"])).scalars().all()
        return {"items": items, "total": total, "limit": query["limit"],
                "offset": query["offset"]}

    @api("GET", "/api/v1/referrals/<string:referral_id>", roles=READERS,
         response=ReferralSchema, summary="Get one referral")
    def get_referral(self, request, principal, referral_id):
        with self.db.session() as s:
            referral = s.execute(select(Referral).where(
                Referral.id == referral_id,
                Referral.school_org_id == principal.org)).scalar_one_or_none()
        if referral is None:  # another organisation's referral is not found, not forbidden
            raise NotFound("No such referral")
        return referral

    @subscribe("pupils", "organisation.onboarded")
    def on_organisation_onboarded(self, event, uow):
        data = event["data"]
        org = uow.session.get(Organisation, data["org_id"]) or Organisation(org_id=data["org_id"])
        org.name, org.kind, org.urn = data["name"], data["kind"], data["urn"]
        uow.session.add(org)
