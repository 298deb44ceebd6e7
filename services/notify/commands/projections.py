"""Notify's copies of other services' records: organisations, pupils and their
guardians, the staff directory; a pupil's erasure."""

from sqlalchemy import delete, update

from services.common.projections import upsert_organisation

from .. import domain
from ..models import Delivery, Guardian, Organisation, Pupil, StaffMember


def organisation_onboarded(uow, data):
    upsert_organisation(uow.session, Organisation, data)


def pupil_at(uow, pupil_id, org_id):
    pupil = uow.session.get(Pupil, pupil_id) or Pupil(pupil_id=pupil_id)
    pupil.org_id = org_id
    uow.session.add(pupil)


def guardians_changed(uow, data):
    pupil_at(uow, data["pupil_id"], data["org_id"])
    uow.session.execute(delete(Guardian).where(Guardian.pupil_id == data["pupil_id"]))
    for g in data["guardians"]:
        uow.session.add(Guardian(
            pupil_id=data["pupil_id"], guardian_id=g["guardian_id"], org_id=data["org_id"],
            name=g["name"], email=g["email"], mobile=g["mobile"],
            preferred_channel=g["preferred_channel"],
            preferred_language=g["preferred_language"],
            parental_responsibility=g["parental_responsibility"]))


def pupil_moved(uow, data):
    pupil_at(uow, data["pupil_id"], data["to_org_id"])
    uow.session.execute(update(Guardian).where(
        Guardian.pupil_id == data["pupil_id"]).values(org_id=data["to_org_id"]))


def pupil_erased(uow, data):
    """Forget the pupil's family; keep the receipts (template, channel, status,
    times) without addresses, names or message text."""
    pupil_id = data["pupil_id"]
    uow.session.execute(delete(Guardian).where(Guardian.pupil_id == pupil_id))
    uow.session.execute(delete(Pupil).where(Pupil.pupil_id == pupil_id))
    uow.session.execute(update(Delivery).where(
        Delivery.subject_kind == domain.SubjectKind.PUPIL, Delivery.subject_ref == pupil_id)
        .values(recipient="erased", recipient_name=None, alt_address=None, body_text="",
                body_html=None, context_json="{}", calendar_ics=None))


def staff_member(uow, data):
    member = uow.session.get(StaffMember, data["member_id"]) or StaffMember(
        member_id=data["member_id"])
    member.org_id, member.email, member.name = data["org_id"], data["email"], data["name"]
    member.roles, member.active = ",".join(data["roles"]), data["active"]
    uow.session.add(member)


def staff_member_removed(uow, data):
    uow.session.execute(delete(StaffMember).where(StaffMember.member_id == data["member_id"]))
