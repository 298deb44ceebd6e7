"""Onboarding an organisation: used by the API and by `senctl org onboard`."""

from sqlalchemy import or_, select

from services.common.db import utcnow
from services.common.problems import Conflict

from . import domain
from .models import Organisation


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
        org = Organisation(**domain.new_organisation(data, actor=actor, now=utcnow()))
        uow.session.add(org)
        uow.session.flush()
        uow.emit("organisation.onboarded", domain.onboarded_event(org), org_id=org.id,
                 actor=actor)
    return org


def find(db, key):
    """An organisation by id, URN or LAESTAB."""
    with db.session() as s:
        return s.execute(select(Organisation).where(or_(
            Organisation.id == key, Organisation.urn == key, Organisation.laestab == key
        ))).scalars().first()
