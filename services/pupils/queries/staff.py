"""Reads of the staff directory, and the portal's sign-in lookup."""

from sqlalchemy import func, select

from services.common import access
from services.common.access import Role

from ..models import (
    Guardian,
    Organisation,
    Pupil,
    StaffMember,
)
from .scope import one_or_404

# -- the staff directory and the sign-in lookup --------------------------------------

STAFF_WIDE = (Role.TRUST_ADMIN,)  # who sees the whole directory


def staff_scope(principal):
    """A trust_admin sees the whole directory; anyone else (a school's senco) their
    own organisation's staff."""
    return access.org_clause(principal, StaffMember.org_id, roles=STAFF_WIDE)


def list_members(session, principal, query):
    where = staff_scope(principal)
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


def staff_page(db, principal, query):
    with db.session() as s:
        return list_members(s, principal, query)


def get_member(session, principal, member_id, *, lock=False):
    return one_or_404(session, select(StaffMember).where(
        StaffMember.id == member_id, *staff_scope(principal)), "staff member", lock=lock)


def staff_member(db, principal, member_id):
    with db.session() as s:
        return get_member(s, principal, member_id)


def other_active_admins(session, member):
    return session.execute(select(func.count()).select_from(StaffMember).where(
        StaffMember.id != member.id, StaffMember.active.is_(True),
        StaffMember.roles.like(f"%{Role.TRUST_ADMIN}%"))).scalar_one()


def membership_exists(session, email, org_id):
    return session.execute(select(StaffMember.id).where(
        StaffMember.email == email, StaffMember.org_id == org_id)).first() is not None


def sign_in_lookup(db, email):
    """Who an address is: its active memberships and the pupils it is a guardian (with
    parental responsibility) of. Empty lists for an address nobody knows."""
    email = (email or "").strip().lower()
    with db.session() as session:
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
    for child, org in guardians:
        if child.id in seen:
            continue
        seen.add(child.id)
        guardian_of.append({"pupil_id": child.id, "org_id": org.id, "org_name": org.name,
                            "org_kind": org.kind,
                            "pupil_name": f"{child.forename} {child.legal_surname}"})
    return {
        "staff": [{"org_id": org.id, "org_name": org.name, "org_kind": org.kind,
                   "roles": [r for r in m.roles.split(",") if r], "name": m.name}
                  for m, org in staff],
        "guardian_of": guardian_of,
    }

