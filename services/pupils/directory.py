"""The staff directory (who holds which roles at which organisation) and the
portal's sign-in lookup (an address's memberships and the pupils it is a guardian
of). Reads are scoped to the caller; every change emits its event."""

import uuid

from sqlalchemy import func, select

from services.common.db import utcnow
from services.common.problems import Conflict, NotFound, Unprocessable

from .models import Guardian, Organisation, Pupil, StaffMember

TRUST_WIDE = "trust_admin"


def _roles(value):
    return ",".join(sorted(set(value)))


def _event(member, **extra):
    return {"member_id": member.id, "org_id": member.org_id, "email": member.email,
            "name": member.name, "roles": [r for r in member.roles.split(",") if r],
            "active": member.active, **extra}


def _scope(principal):
    """A trust_admin sees the whole directory; anyone else (a school's senco) their
    own organisation's staff."""
    return [] if TRUST_WIDE in principal.roles else [StaffMember.org_id == principal.org]


def list_members(session, principal, query):
    where = _scope(principal)
    if query.get("org_id"):
        where.append(StaffMember.org_id == query["org_id"])
    if query.get("email"):
        where.append(StaffMember.email == query["email"].strip().lower())
    total = session.execute(select(func.count()).select_from(StaffMember).where(*where)
                            ).scalar_one()
    items = session.execute(select(StaffMember).where(*where).order_by(
        StaffMember.name, StaffMember.email, StaffMember.id)
        .limit(query["limit"]).offset(query["offset"])).scalars().all()
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


def get_member(session, principal, member_id, *, lock=False):
    stmt = select(StaffMember).where(StaffMember.id == member_id, *_scope(principal))
    if lock:
        stmt = stmt.with_for_update()
    member = session.execute(stmt).scalar_one_or_none()
    if member is None:
        raise NotFound("No such staff member")
    return member


def add_member(uow, data, *, actor):
    session = uow.session
    org = session.get(Organisation, data["org_id"])
    if org is None:
        raise Unprocessable("No such organisation", errors={"org_id": ["No such organisation"]})
    if session.execute(select(StaffMember.id).where(
            StaffMember.email == data["email"], StaffMember.org_id == org.id)).first():
        raise Conflict("This person already has a membership at this organisation",
                       errors={"email": ["Already in the directory at this organisation"]})
    now = utcnow()
    member = StaffMember(id=str(uuid.uuid4()), email=data["email"], name=data["name"],
                         org_id=org.id, roles=_roles(data["roles"]), active=data["active"],
                         created_at=now, created_by=actor, updated_at=now)
    session.add(member)
    session.flush()
    uow.emit("staff.member_added", _event(member), org_id=org.id, actor=actor)
    return member


def _is_active_admin(member):
    return member.active and TRUST_WIDE in member.roles.split(",")


def _keep_an_admin(session, member, field):
    """Refuse to leave the directory without an active trust admin (nobody could then
    sign in to manage it); `senctl staff add` restores one if it ever happens."""
    others = session.execute(select(func.count()).select_from(StaffMember).where(
        StaffMember.id != member.id, StaffMember.active.is_(True),
        StaffMember.roles.like(f"%{TRUST_WIDE}%"))).scalar_one()
    if not others:
        raise Conflict("This is the last active trust admin; add another first",
                       errors={field: ["The directory must keep an active trust admin"]})


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
        uow.emit("staff.member_changed", _event(member, changed=changed),
                 org_id=member.org_id, actor=actor)
    return member


def remove_member(uow, member, *, actor):
    if _is_active_admin(member):
        _keep_an_admin(uow.session, member, "id")
    uow.session.delete(member)
    uow.session.flush()
    uow.emit("staff.member_removed", {"member_id": member.id, "org_id": member.org_id,
                                      "email": member.email},
             org_id=member.org_id, actor=actor)


def sign_in_lookup(session, email):
    """Who an address is: its active memberships and the pupils it is a guardian (with
    parental responsibility) of. Empty lists for an address nobody knows."""
    email = (email or "").strip().lower()
    staff = session.execute(
        select(StaffMember, Organisation).join(Organisation,
                                               Organisation.id == StaffMember.org_id)
        .where(StaffMember.email == email, StaffMember.active.is_(True))
        .order_by(Organisation.name, StaffMember.id)).all()
    guardians = session.execute(
        select(Pupil, Organisation).join(Guardian, Guardian.pupil_id == Pupil.id)
        .join(Organisation, Organisation.id == Pupil.org_id)
        .where(func.lower(Guardian.email) == email,
               Guardian.parental_responsibility.is_(True),
               Pupil.anonymised_at.is_(None))
        .order_by(Pupil.forename, Pupil.legal_surname, Pupil.id)).all()
    seen, guardian_of = set(), []
    for pupil, org in guardians:
        if pupil.id in seen:
            continue
        seen.add(pupil.id)
        guardian_of.append({"pupil_id": pupil.id, "org_id": org.id, "org_name": org.name,
                            "pupil_name": f"{pupil.forename} {pupil.legal_surname}"})
    return {
        "staff": [{"org_id": org.id, "org_name": org.name, "org_kind": org.kind,
                   "roles": [r for r in m.roles.split(",") if r], "name": m.name}
                  for m, org in staff],
        "guardian_of": guardian_of,
    }


def is_guardian(session, email, pupil_id):
    """Whether this address is (still) a guardian with parental responsibility."""
    return session.execute(select(Guardian.id).where(
        Guardian.pupil_id == pupil_id, func.lower(Guardian.email) == email.strip().lower(),
        Guardian.parental_responsibility.is_(True))).first() is not None
