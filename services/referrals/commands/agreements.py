"""Use cases of service-level agreements: create, change (a higher cap grants places),
and the places queue (waiting accepted referrals get places in the order they waited)."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common import errors
from services.common.db import utcnow
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..models import Agreement, Referral
from ..queries import agreement_usage, load_agreement
from .steps import emit, record


def _minutes(hours):
    return round(hours * 60)


def create_agreement(database, body, actor, now=None):
    """Add an agreement (`actor`: who agreed it); a second for the same school and term
    is errors.Conflict."""
    now = now or utcnow()
    try:
        with database.unit_of_work() as uow:
            agreement = Agreement(
                id=new_id(), school_org_id=body["school_org_id"],
                academic_year=body["academic_year"], term=body["term"],
                minutes_bought=_minutes(body["hours_bought"]), capacity=body["capacity"],
                min_cycles=body["min_cycles"], consent_required=body["consent_required"],
                upn_required=body["upn_required"], created_by=actor, created_at=now)
            uow.session.add(agreement)
    except IntegrityError:
        raise errors.Conflict("The school already has an agreement for that term",
                              errors={"term": ["Already agreed"]}) from None
    agreement.minutes_used = agreement.places_held = agreement.waiting_count = 0
    return agreement


def update_agreement(database, principal, agreement_id, body, now=None):
    """Change an agreement's hours, cap or criteria; a higher cap grants places."""
    now = now or utcnow()
    with database.unit_of_work() as uow:
        agreement = load_agreement(uow.session, principal, agreement_id, for_update=True)
        if "hours_bought" in body:
            agreement.minutes_bought = _minutes(body["hours_bought"])
        for key in ("capacity", "min_cycles", "consent_required", "upn_required"):
            if key in body:
                setattr(agreement, key, body[key])
        uow.session.flush()
        grant_places(uow, agreement, principal.sub, now)
        agreement_usage(uow.session, agreement)
    return agreement


def grant_places(uow, agreement, actor, now):
    """Give freed places to waiting referrals, in the order they started waiting."""
    agreement_usage(uow.session, agreement)
    n = domain.places_to_grant(agreement.capacity, agreement.places_held,
                               agreement.waiting_count)
    if n <= 0:
        return []
    queue = uow.session.execute(
        select(Referral).where(Referral.agreement_id == agreement.id,
                               Referral.status == domain.ACCEPTED,
                               Referral.waiting.is_(True))
        .order_by(Referral.waiting_since, Referral.id).limit(n).with_for_update()).scalars().all()
    for referral in queue:
        referral.waiting = False
        record(uow, referral, domain.Action.GRANT_PLACE, actor, now, before=referral.status)
        emit(uow, events.REFERRAL_PLACE_GRANTED, referral, payloads.place_granted, actor)
    return queue
