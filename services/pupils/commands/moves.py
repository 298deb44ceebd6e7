"""A pupil's move to another school or ARB of the trust, with the consent recorded."""

from services.common.access import PUPIL_SCHOOLS
from services.common.db import utcnow
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads, queries
from ..models import Move, Organisation


def move_pupil(uow, pupil, data, *, actor):
    session = uow.session
    to_org = session.get(Organisation, data["to_org_id"])
    domain.check_move(to_org is not None and to_org.kind in PUPIL_SCHOOLS, data["to_org_id"],
                      pupil.org_id)
    move = Move(id=new_id(), pupil_id=pupil.id, from_org_id=pupil.org_id, to_org_id=to_org.id,
                moved_on=data["moved_on"], consent_given_by=data["consent"]["given_by"],
                consent_date=data["consent"]["date"], recorded_by=actor, recorded_at=utcnow())
    session.add(move)
    pupil.org_id = to_org.id
    pupil.updated_at = utcnow()
    session.flush()
    uow.emit(events.PUPIL_MOVED, payloads.pupil_moved(move), org_id=move.to_org_id,
             actor=actor)
    return move


def move(db, principal, pupil_id, data):
    with db.unit_of_work() as uow:
        pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
        return move_pupil(uow, pupil, data, actor=principal.sub)
