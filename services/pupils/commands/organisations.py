"""Onboarding an organisation (the API and `senctl org onboard`). Pupils owns the
organisation record itself; the other services keep projections of its event."""

from sqlalchemy import or_, select

from services.common.db import utcnow
from services.common.errors import Conflict
from services.common.ids import new_id
from services.contracts import events

from .. import payloads
from ..models import Organisation


def onboard(db, data, *, actor):
    """Store the organisation and its `organisation.onboarded` event together."""
    with db.unit_of_work() as uow:
        clauses = [Organisation.urn == data[k] if k == "urn" else Organisation.laestab == data[k]
                   for k in ("urn", "laestab") if data.get(k)]
        if clauses:
            existing = uow.session.execute(select(Organisation).where(or_(*clauses))).first()
            if existing:
                raise Conflict("An organisation with this URN or LAESTAB is already onboarded",
                               errors={k: ["Already onboarded"] for k in ("urn", "laestab")
                                       if data.get(k)})
        org = Organisation(id=new_id(), name=data["name"].strip(), kind=data["kind"],
                           urn=data.get("urn"), laestab=data.get("laestab"),
                           phase=data.get("phase"), contact_email=data.get("contact_email"),
                           onboarded_at=utcnow(), onboarded_by=actor)
        uow.session.add(org)
        uow.session.flush()
        uow.emit(events.ORGANISATION_ONBOARDED, payloads.organisation_onboarded(org),
                 org_id=org.id, actor=actor)
    return org
