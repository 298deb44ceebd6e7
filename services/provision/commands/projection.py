"""The other services' events, kept here: organisations (the kit's projection),
pupils (year group, class, SEN status and needs; moves and erasure) and the
provision outreach recommended when closing a school's referral."""

from datetime import timedelta

from sqlalchemy import delete, func, select, update

from services.common.consumer import Permanent
from services.common.projections import upsert_organisation

from .. import domain
from ..models import (
    Assignment,
    AssignmentPupil,
    AssignmentTarget,
    Attendance,
    Cycle,
    DeliveredSession,
    Organisation,
    Outcome,
    Pupil,
    Recommendation,
    Target,
)


def identifiers(data, *keys):
    """Identifiers in an event must fit the projection's columns, or retrying is futile."""
    for key in keys:
        if not data[key] or len(data[key]) > 36:
            raise Permanent(f"{key} is not an identifier this service can store")
    return data


def organisation_onboarded(uow, data):
    upsert_organisation(uow.session, Organisation, identifiers(data, "org_id"))


def pupil_registered(uow, data):
    upsert_pupil(uow.session, identifiers(data, "pupil_id", "org_id"))


def pupil_updated(uow, data):
    data = identifiers(data, "pupil_id", "org_id")
    pupil = uow.session.get(Pupil, data["pupil_id"])
    if pupil is None:  # registered event not seen (yet): keep what we know
        upsert_pupil(uow.session, data)
    else:
        pupil.year_group = data["year_group"]
        if "registration_group" in data:  # sent since the field was added
            pupil.registration_group = data["registration_group"]


def pupil_moved(uow, data):
    data = identifiers(data, "pupil_id", "to_org_id")
    if move_pupil(uow.session, data["pupil_id"], data["to_org_id"], data["moved_on"]) is None:
        upsert_pupil(uow.session, {"pupil_id": data["pupil_id"], "org_id": data["to_org_id"]})


def pupil_erased(uow, data):
    erase_pupil(uow.session, data["pupil_id"])


def referral_closed(uow, data, closed_at):
    data = identifiers(data, "referral_id", "school_org_id")
    rec = (uow.session.get(Recommendation, data["referral_id"])
           or Recommendation(referral_id=data["referral_id"]))
    rec.org_id, rec.reference, rec.outcome = (data["school_org_id"], data["reference"],
                                              data["outcome"][:100])
    rec.areas_of_need = list(data["areas_of_need"])
    rec.recommended_provision = list(data["recommended_provision"])
    rec.closed_at = closed_at
    uow.session.add(rec)


def upsert_pupil(session, data):
    pupil = session.get(Pupil, data["pupil_id"]) or Pupil(pupil_id=data["pupil_id"])
    pupil.org_id = data["org_id"]
    for key in ("year_group", "registration_group", "sen_status", "primary_need",
                "secondary_need"):
        if key in data:
            setattr(pupil, key, data[key])
    if "areas_of_need" in data:
        pupil.areas_of_need = list(data["areas_of_need"])
    session.add(pupil)
    return pupil


def move_pupil(session, pupil_id, to_org_id, moved_on):
    """The pupil's map follows them: their targets and cycles, and provision given to
    them alone while it runs; a place in a group at the old school ends the day before."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        return None
    pupil.org_id = to_org_id
    session.execute(update(Target).where(Target.pupil_id == pupil_id).values(org_id=to_org_id))
    session.execute(update(Cycle).where(Cycle.pupil_id == pupil_id).values(org_id=to_org_id))
    places = session.execute(
        select(AssignmentPupil, Assignment).join(Assignment)
        .where(AssignmentPupil.pupil_id == pupil_id, Assignment.status == domain.ACTIVE,
               AssignmentPupil.left_on.is_(None))).all()
    counts = dict(session.execute(
        select(AssignmentPupil.assignment_id, func.count())
        .where(AssignmentPupil.assignment_id.in_([a.id for _, a in places]))
        .group_by(AssignmentPupil.assignment_id)).all()) if places else {}
    for place, assignment in places:
        if counts[assignment.id] == 1:
            assignment.org_id = to_org_id
        else:
            place.left_on = max(moved_on - timedelta(days=1), place.joined_on)
    return pupil


def erase_pupil(session, pupil_id):
    """Forget a pupil: projection, places, attendance, targets, outcomes, cycles.
    Provision given to them alone goes too; a group keeps its other pupils and the
    register sizes its costs were shared by."""
    alone = select(AssignmentPupil.assignment_id).where(
        AssignmentPupil.pupil_id == pupil_id,
        ~AssignmentPupil.assignment_id.in_(
            select(AssignmentPupil.assignment_id).where(AssignmentPupil.pupil_id != pupil_id)))
    alone_ids = list(session.execute(alone).scalars())
    target_ids = select(Target.id).where(Target.pupil_id == pupil_id)
    session.execute(delete(Outcome).where(Outcome.target_id.in_(target_ids)))
    session.execute(delete(AssignmentTarget).where(AssignmentTarget.target_id.in_(target_ids)))
    session.execute(delete(Target).where(Target.pupil_id == pupil_id))
    session.execute(delete(Attendance).where(Attendance.pupil_id == pupil_id))
    session.execute(delete(AssignmentPupil).where(AssignmentPupil.pupil_id == pupil_id))
    session.execute(update(Outcome).where(Outcome.cycle_id.in_(
        select(Cycle.id).where(Cycle.pupil_id == pupil_id))).values(cycle_id=None))
    session.execute(delete(Cycle).where(Cycle.pupil_id == pupil_id))
    if alone_ids:
        sessions = select(DeliveredSession.id).where(DeliveredSession.assignment_id.in_(alone_ids))
        session.execute(delete(Attendance).where(Attendance.session_id.in_(sessions)))
        session.execute(delete(DeliveredSession).where(
            DeliveredSession.assignment_id.in_(alone_ids)))
        session.execute(delete(AssignmentTarget).where(
            AssignmentTarget.assignment_id.in_(alone_ids)))
        session.execute(delete(Assignment).where(Assignment.id.in_(alone_ids)))
    session.execute(delete(Pupil).where(Pupil.pupil_id == pupil_id))
