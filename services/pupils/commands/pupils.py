"""Pupils and the SEN register: registration, details, guardians, SEN provision, the
link of an accepted referral, and erasure."""

from sqlalchemy import delete, select

from services.common.db import utcnow
from services.common.errors import RuleBroken
from services.common.ids import new_id
from services.contracts import events
from services.contracts.sen import validate_upn

from .. import domain, payloads, queries
from ..models import (
    EhcPause,
    EhcPlan,
    EhcReminderSent,
    Guardian,
    Move,
    PassportVersion,
    Pupil,
    ReferralLink,
    SenRegisterEntry,
    UpnChange,
)

PERSON_FIELDS = ("legal_surname", "forename", "date_of_birth", "year_group",
                 "nc_not_followed", "registration_group")


# -- steps on a unit of work ---------------------------------------------------------

def create_pupil(uow, org_id, data, *, actor, today):
    session = uow.session
    if queries.upn_taken(session, data["upn"]):
        raise domain.upn_unavailable()
    now = utcnow()
    pupil = Pupil(id=new_id(), org_id=org_id, upn=data["upn"],
                  legal_surname=data["legal_surname"], forename=data["forename"],
                  date_of_birth=data["date_of_birth"], year_group=data["year_group"],
                  sen_status=data["sen_status"], primary_need=data.get("primary_need"),
                  secondary_need=data.get("secondary_need"), created_at=now, updated_at=now,
                  nc_not_followed=bool(data.get("nc_not_followed")),
                  registration_group=data.get("registration_group"))
    session.add(pupil)
    session.add(SenRegisterEntry(
        pupil_id=pupil.id, org_id=org_id, status=pupil.sen_status,
        primary_need=pupil.primary_need, secondary_need=pupil.secondary_need,
        starts_on=data.get("sen_effective_date") or today, ends_on=None,
        recorded_by=actor, recorded_at=now))
    session.flush()
    uow.emit(events.PUPIL_REGISTERED, payloads.pupil_registered(pupil), org_id=org_id,
             actor=actor)
    if data.get("guardians"):
        replace_guardians(uow, pupil, data["guardians"], actor=actor)
    return pupil


def update_pupil(uow, pupil, data, *, actor):
    session = uow.session
    changed = []
    if "upn" in data and data["upn"] != pupil.upn:
        domain.check_upn_replacement(pupil.upn, data["upn"])
        if queries.upn_taken(session, data["upn"], exclude_id=pupil.id):
            raise domain.upn_unavailable()
        session.add(UpnChange(pupil_id=pupil.id, old_upn=pupil.upn, new_upn=data["upn"],
                              changed_at=utcnow(), changed_by=actor))
        pupil.upn = data["upn"]
        changed.append("upn")
    for field in PERSON_FIELDS:
        if field in data and data[field] != getattr(pupil, field):
            setattr(pupil, field, data[field])
            changed.append(field)
    if changed:
        pupil.updated_at = utcnow()
        session.flush()
        uow.emit(events.PUPIL_UPDATED, payloads.pupil_updated(pupil, changed),
                 org_id=pupil.org_id, actor=actor)
    return changed


def change_sen_status(uow, pupil, data, *, actor, today):
    """Close the open register entry and open the new one; emit the change."""
    session = uow.session
    effective = data.get("effective_date") or today
    current = queries.open_entry(session, pupil.id)
    new = (data["sen_status"], data.get("primary_need"), data.get("secondary_need"))
    if current is not None:
        domain.check_sen_change(current, new, effective)
        current.ends_on = effective
        session.flush()  # the open entry closes before the new one opens
    previous = pupil.sen_status
    pupil.sen_status, pupil.primary_need, pupil.secondary_need = new
    pupil.updated_at = utcnow()
    session.add(SenRegisterEntry(
        pupil_id=pupil.id, org_id=pupil.org_id, status=new[0], primary_need=new[1],
        secondary_need=new[2], starts_on=effective, ends_on=None, recorded_by=actor,
        recorded_at=utcnow()))
    session.flush()
    uow.emit(events.PUPIL_SEN_STATUS_CHANGED,
             payloads.pupil_sen_status_changed(pupil, previous, effective),
             org_id=pupil.org_id, actor=actor)


def replace_guardians(uow, pupil, guardians, *, actor):
    session = uow.session
    session.execute(delete(Guardian).where(Guardian.pupil_id == pupil.id))
    rows = []
    for position, g in enumerate(guardians):
        row = Guardian(id=new_id(), pupil_id=pupil.id, position=position, **g)
        session.add(row)
        rows.append(row)
    session.flush()
    uow.emit(events.PUPIL_GUARDIANS_CHANGED, payloads.pupil_guardians_changed(pupil, rows),
             org_id=pupil.org_id, actor=actor)
    return rows


def link_referral(session, data):
    """Link an accepted referral to the pupil with its UPN in the referring school, if
    there is one; a referral without a match links nothing. Returns the link or None."""
    try:
        upn = validate_upn(data.get("pupil_upn") or "")
    except ValueError:
        return None
    pupil = session.execute(select(Pupil).where(
        Pupil.upn == upn, Pupil.org_id == data["school_org_id"])).scalar_one_or_none()
    if pupil is None or session.get(ReferralLink, data["referral_id"]) is not None:
        return None
    link = ReferralLink(referral_id=data["referral_id"], reference=data["reference"],
                        pupil_id=pupil.id, school_org_id=data["school_org_id"],
                        linked_at=utcnow())
    session.add(link)
    session.flush()
    return link


def erase_pupil(uow, pupil, *, actor):
    """Erase the pupil, or anonymise where the SEN record must be kept; emit pupil.erased."""
    session = uow.session
    mode = domain.erasure_mode(sen_status=pupil.sen_status,
                               has_plan=queries.has_plan(session, pupil.id))
    pupil_id, org_id = pupil.id, pupil.org_id
    for model in (Guardian, PassportVersion, UpnChange, ReferralLink):
        session.execute(delete(model).where(model.pupil_id == pupil_id))
    if mode == domain.ErasureMode.ERASED:
        plan_ids = select(EhcPlan.id).where(EhcPlan.pupil_id == pupil_id)
        session.execute(delete(EhcReminderSent).where(EhcReminderSent.plan_id.in_(plan_ids)))
        session.execute(delete(EhcPause).where(EhcPause.plan_id.in_(plan_ids)))
        for model in (EhcPlan, SenRegisterEntry, Move):
            session.execute(delete(model).where(model.pupil_id == pupil_id))
        session.delete(pupil)
    else:  # keep the SEN register and the plan's dates, nothing that identifies the child
        pupil.upn, pupil.legal_surname, pupil.forename = None, "", ""
        pupil.date_of_birth = None
        pupil.anonymised_at = pupil.updated_at = utcnow()
        session.execute(Move.__table__.update().where(Move.pupil_id == pupil_id).values(
            consent_given_by=""))
    session.flush()
    uow.emit(events.PUPIL_ERASED, payloads.pupil_erased(pupil_id, org_id, mode),
             org_id=org_id, actor=actor)
    return mode


# -- use cases -----------------------------------------------------------------------

def register(db, principal, data, *, today):
    """A new pupil at the caller's organisation (a trust admin: the one named)."""
    data = dict(data)
    with db.unit_of_work() as uow:
        org = queries.target_org(uow.session, principal, data.pop("org_id", None))
        pupil = create_pupil(uow, org.id, data, actor=principal.sub, today=today)
        return queries.detail(uow.session, pupil)


def update(db, principal, pupil_id, data):
    with db.unit_of_work() as uow:
        pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
        update_pupil(uow, pupil, data, actor=principal.sub)
        return queries.detail(uow.session, pupil)


def set_guardians(db, principal, pupil_id, guardians):
    with db.unit_of_work() as uow:
        pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
        replace_guardians(uow, pupil, guardians, actor=principal.sub)
        return queries.detail(uow.session, pupil)


def set_sen_status(db, principal, pupil_id, data, *, today):
    with db.unit_of_work() as uow:
        pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
        change_sen_status(uow, pupil, data, actor=principal.sub, today=today)
        return queries.detail(uow.session, pupil)


def erase(db, principal, pupil_id, confirm_pupil_id):
    """Erase (or anonymise) a pupil the caller names twice; {"pupil_id", "mode"}."""
    if confirm_pupil_id != pupil_id:
        raise RuleBroken("Confirm the pupil id",
                         errors={"confirm_pupil_id": ["Does not match the pupil"]})
    with db.unit_of_work() as uow:
        pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
        mode = erase_pupil(uow, pupil, actor=principal.sub)
    return {"pupil_id": pupil_id, "mode": mode}
