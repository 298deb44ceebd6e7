"""The staff directory: who holds which roles at which organisation. Every change
emits its event; the directory always keeps an active trust admin."""

from services.common.access import Role
from services.common.db import utcnow
from services.common.errors import Conflict, RuleBroken
from services.common.ids import new_id
from services.contracts import events

from .. import payloads, queries
from ..models import Organisation, StaffMember


def _roles(value):
    return ",".join(sorted(set(value)))


def _is_active_admin(member):
    return member.active and Role.TRUST_ADMIN in member.roles.split(",")


def _keep_an_admin(session, member, field):
    """Refuse to leave the directory without an active trust admin (nobody could then
    sign in to manage it); `senctl staff add` restores one if it ever happens."""
    if not queries.other_active_admins(session, member):
        raise Conflict("This is the last active trust admin; add another first",
                       errors={field: ["The directory must keep an active trust admin"]})


def add_member(uow, data, *, actor):
    session = uow.session
    org = session.get(Organisation, data["org_id"])
    if org is None:
        raise RuleBroken("No such organisation", errors={"org_id": ["No such organisation"]})
    if queries.membership_exists(session, data["email"], org.id):
        raise Conflict("This person already has a membership at this organisation",
                       errors={"email": ["Already in the directory at this organisation"]})
    now = utcnow()
    member = StaffMember(id=new_id(), email=data["email"], name=data["name"],
                         org_id=org.id, roles=_roles(data["roles"]), active=data["active"],
                         created_at=now, created_by=actor, updated_at=now)
    session.add(member)
    session.flush()
    uow.emit(events.STAFF_MEMBER_ADDED, payloads.staff_member_added(member), org_id=org.id,
             actor=actor)
    return member


def change_member(uow, member, data, *, actor):
    was_admin = _is_active_admin(member)
    changed = []
    if "name" in data and data["name"].strip() != member.name:
        member.name = data["name"].strip()
        changed.append("name")
    if "roles" in data and _roles(data["roles"]) != member.roles:
        member.roles = _roles(data["roles"])
        changed.append("roles")
    if "active" in data and data["active"] != member.active:
        member.active = data["active"]
        changed.append("active")
    if was_admin and not _is_active_admin(member):
        _keep_an_admin(uow.session, member, "active" if "active" in changed else "roles")
    if changed:
        member.updated_at = utcnow()
        uow.session.flush()
        uow.emit(events.STAFF_MEMBER_CHANGED, payloads.staff_member_changed(member, changed),
                 org_id=member.org_id, actor=actor)
    return member


def remove_member(uow, member, *, actor):
    if _is_active_admin(member):
        _keep_an_admin(uow.session, member, "id")
    uow.session.delete(member)
    uow.session.flush()
    uow.emit(events.STAFF_MEMBER_REMOVED, payloads.staff_member_removed(member),
             org_id=member.org_id, actor=actor)


# -- use cases -----------------------------------------------------------------------

def add(db, principal, data):
    with db.unit_of_work() as uow:
        return add_member(uow, data, actor=principal.sub)


def change(db, principal, member_id, data):
    with db.unit_of_work() as uow:
        member = queries.get_member(uow.session, principal, member_id, lock=True)
        return change_member(uow, member, data, actor=principal.sub)


def remove(db, principal, member_id):
    with db.unit_of_work() as uow:
        member = queries.get_member(uow.session, principal, member_id, lock=True)
        remove_member(uow, member, actor=principal.sub)
