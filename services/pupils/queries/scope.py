"""Who the caller is and what they may see: the pupil they name (staff, or a parent's
own child), the organisation a report or a new record is about, and the audit of
every read of a pupil's record (ids only)."""


from sqlalchemy import func, insert, or_, select

from services.common import access
from services.common.access import Role
from services.common.db import utcnow
from services.common.errors import NotAllowed, NotFound, RuleBroken

from ..models import (
    AuditEntry,
    Guardian,
    Organisation,
    Pupil,
)

# -- the caller's scope --------------------------------------------------------------

def scope(principal):
    """WHERE clauses limiting pupils to what the caller may see."""
    return access.org_clause(principal, Pupil.org_id)


def is_parent(principal):
    """A guardian reading their own child's record (and no staff role that reads it)."""
    return Role.PARENT in principal.roles and not principal.has_any(access.PUPIL_READERS)


def one_or_404(session, stmt, what, *, lock=False):
    """The one row `stmt` selects (locked for update with `lock`), or 404 "No such
    `what`" (also when the caller may not see it)."""
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No such {what}")
    return row


def get_pupil(session, principal, pupil_id, *, lock=False):
    """The pupil, or 404 when it does not exist or belongs to another organisation."""
    return one_or_404(session, select(Pupil).where(
        Pupil.id == pupil_id, Pupil.anonymised_at.is_(None), *scope(principal)),
        "pupil", lock=lock)


def parent_pupil(session, principal, pupil_id):
    """A parent's child: named in the token's pupils claim and still in the pupils'
    guardians with this address and parental responsibility; 404 otherwise."""
    pupil = session.execute(select(Pupil).where(
        Pupil.id == pupil_id, Pupil.anonymised_at.is_(None))).scalar_one_or_none()
    if (pupil is None or not access.sees_pupil(principal, pupil.id, pupil.org_id)
            or not is_guardian(session, principal.sub, pupil_id)):
        raise NotFound("No such pupil")
    return pupil


def readable_pupil(session, principal, pupil_id):
    """The pupil as staff or (a parent) as their own child may read it."""
    if is_parent(principal):
        return parent_pupil(session, principal, pupil_id)
    return get_pupil(session, principal, pupil_id)


def audit(session, principal, pupils, endpoint):
    """Record that the caller read these pupils' records (ids only, no personal data)."""
    rows = [{"at": utcnow(), "actor": principal.sub, "actor_org_id": principal.org,
             "pupil_id": p.id, "pupil_org_id": p.org_id, "endpoint": endpoint} for p in pupils]
    if rows:
        session.execute(insert(AuditEntry), rows)


# -- organisations -------------------------------------------------------------------

def find_org(session, key):
    """An organisation by id or URN."""
    return session.execute(select(Organisation).where(or_(
        Organisation.id == key, Organisation.urn == key))).scalars().first()


def find_organisation(db, key):
    """An organisation by id, URN or LAESTAB (senctl, the demo)."""
    with db.session() as s:
        return s.execute(select(Organisation).where(or_(
            Organisation.id == key, Organisation.urn == key, Organisation.laestab == key
        ))).scalars().first()


def list_organisations(db, principal):
    with db.session() as s:
        items = s.execute(select(Organisation).where(
            *access.org_clause(principal, Organisation.id))  # a school's auditor: its own
            .order_by(Organisation.name)).scalars().all()
    return {"items": items, "total": len(items)}


def target_org(session, principal, org_id, field="org_id"):
    """The organisation a new pupil (or import) goes to: the caller's own, or for a
    trust_admin the one named. Only trust schools and ARBs keep pupils here."""
    if access.trust_wide(principal):
        if not org_id:
            raise RuleBroken("Name the organisation", errors={field: ["Required"]})
        org = find_org(session, org_id)
        if org is None or org.kind not in access.PUPIL_SCHOOLS:
            raise RuleBroken("Not a school or ARB of the trust",
                             errors={field: ["Not a school or ARB of the trust"]})
        return org
    if org_id and org_id != principal.org:
        org = find_org(session, org_id)
        if org is None or org.id != principal.org:
            raise RuleBroken("You can only act for your own organisation",
                             errors={field: ["Not your organisation"]})
    org = session.get(Organisation, principal.org)
    if org is None or org.kind not in access.PUPIL_SCHOOLS:
        raise NotAllowed("Your organisation keeps no pupil records here")
    return org


def import_target(db, principal, org_id):
    with db.session() as s:
        return target_org(s, principal, org_id, field="org")


def scoped_org_id(session, principal, org_id):
    """Which organisation a report (census) is about: the caller's, or any for trust_admin."""
    if not access.trust_wide(principal):
        if org_id and org_id != principal.org:
            raise NotFound("No such organisation")
        return principal.org
    if not org_id:
        raise RuleBroken("Name the organisation", errors={"org_id": ["Required"]})
    org = find_org(session, org_id)
    if org is None:
        raise NotFound("No such organisation")
    return org.id


def is_guardian(session, email, pupil_id):
    """Whether this address is (still) a guardian with parental responsibility."""
    return session.execute(select(Guardian.id).where(
        Guardian.pupil_id == pupil_id, func.lower(Guardian.email) == email.strip().lower(),
        Guardian.parental_responsibility.is_(True))).first() is not None
