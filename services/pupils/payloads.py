"""The data of every event the pupils service emits, shaped here and nowhere else
(the schemas are in services/contracts/events/pupils.py). Identifiers and codes only:
never a pupil's name, date of birth or free text (docs/architecture.md, "Events");
the staff directory's events carry the member's own name and address, which notify
needs to write to them."""

from services.contracts import events

from .domain import areas_of_need


def organisation_onboarded(org):
    return {"org_id": org.id, "name": org.name, "urn": org.urn, "laestab": org.laestab,
            "kind": org.kind, "contact_email": org.contact_email}


def _sen(pupil_id, org_id, sen_status, primary_need, secondary_need):
    return {"pupil_id": pupil_id, "org_id": org_id, "sen_status": sen_status,
            "primary_need": primary_need, "secondary_need": secondary_need,
            "areas_of_need": areas_of_need(primary_need, secondary_need)}


def pupil_registered(pupil):
    return {**_sen(pupil.id, pupil.org_id, pupil.sen_status, pupil.primary_need,
                   pupil.secondary_need),
            "year_group": pupil.year_group, "registration_group": pupil.registration_group}


def pupil_registered_row(pupil_id, org_id, data):
    """pupil.registered of a pupil inserted in bulk (the import) from its row's data."""
    return {**_sen(pupil_id, org_id, data["sen_status"], data["primary_need"],
                   data["secondary_need"]),
            "year_group": data["year_group"],
            "registration_group": data.get("registration_group")}


def pupil_updated(pupil, changed):
    return {"pupil_id": pupil.id, "org_id": pupil.org_id, "year_group": pupil.year_group,
            "changed": changed, "registration_group": pupil.registration_group}


def pupil_sen_status_changed(pupil, previous, effective):
    return {**_sen(pupil.id, pupil.org_id, pupil.sen_status, pupil.primary_need,
                   pupil.secondary_need),
            "previous_status": previous, "effective_date": effective.isoformat()}


def pupil_guardians_changed(pupil, guardians):
    return {"pupil_id": pupil.id, "org_id": pupil.org_id, "guardians": [
        {"guardian_id": g.id, "name": g.name, "relationship": g.relationship,
         "email": g.email, "mobile": g.mobile, "preferred_channel": g.preferred_channel,
         "preferred_language": g.preferred_language,
         "parental_responsibility": g.parental_responsibility} for g in guardians]}


def passport_published(pupil, version):
    return {"pupil_id": pupil.id, "org_id": pupil.org_id, "passport_id": version.id,
            "version": version.version}


def pupil_moved(move):
    return {"pupil_id": move.pupil_id, "from_org_id": move.from_org_id,
            "to_org_id": move.to_org_id, "moved_on": move.moved_on.isoformat()}


def pupil_erased(pupil_id, org_id, mode):
    return {"pupil_id": pupil_id, "org_id": org_id, "mode": mode}


def ehcp_reminder_type(reminder):
    """ehcp.review_due for the annual review, ehcp.deadline_at_risk for every other step."""
    return events.EHCP_REVIEW_DUE if reminder.is_annual_review else events.EHCP_DEADLINE_AT_RISK


def ehcp_reminder(reminder):
    data = {"pupil_id": reminder.pupil_id, "org_id": reminder.org_id,
            "plan_id": reminder.plan_id, "due_date": reminder.due_date.isoformat()}
    if not reminder.is_annual_review:
        data["deadline"] = reminder.deadline
    return data


def _roles(member):
    return [r for r in member.roles.split(",") if r]


def staff_member_added(member):
    return {"member_id": member.id, "org_id": member.org_id, "email": member.email,
            "name": member.name, "roles": _roles(member), "active": member.active}


def staff_member_changed(member, changed):
    return {**staff_member_added(member), "changed": changed}


def staff_member_removed(member):
    return {"member_id": member.id, "org_id": member.org_id, "email": member.email}
