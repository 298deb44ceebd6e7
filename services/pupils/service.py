"""Pupils service entrypoints: parse, authorise, call the domain, respond."""

from sqlalchemy import select

from services.common.db import DatabaseProvider
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.service import PlatformService

from . import onboarding
from .models import Base, Organisation
from .schemas import OrganisationCreateSchema, OrganisationPageSchema, OrganisationSchema


class PupilsService(PlatformService):
    name = "pupils"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()

    @api("POST", "/api/v1/organisations", roles=("trust_admin",),
         body=OrganisationCreateSchema, response=OrganisationSchema, status=201,
         summary="Onboard an organisation")
    def onboard_organisation(self, request, principal, body):
        return onboarding.onboard(self.db, body, actor=principal.sub)

    @api("GET", "/api/v1/organisations", roles=("trust_admin", "auditor"),
         response=OrganisationPageSchema, summary="List the trust's organisations")
    def list_organisations(self, request, principal):
        with self.db.session() as s:
            items = s.execute(select(Organisation).order_by(Organisation.name)).scalars().all()
        return {"items": items, "total": len(items)}
