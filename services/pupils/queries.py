"""The pupils service's reads, scoped to the caller (services/common/access.py), and
the views the entrypoints return. Every read of a pupil's record is audited (ids
only) in the same transaction as the read."""

from types import SimpleNamespace

from sqlalchemy import func, insert, or_, select

from services.common import access
from services.common.access import Role
from services.common.db import utcnow
from services.common.errors import NotAllowed, NotFound, RuleBroken
from services.documents.responses import pupil_summary

from . import domain
from .models import (
    AuditEntry,
    EhcPause,
    EhcPlan,
    Guardian,
    Move,
    Organisation,
    PassportVersion,
    Pupil,
    ReferralLink,
    SenRegisterEntry,
    StaffMember,
    UpnChange,
)

# -- the caller's scope --------------------------------------------------------------

def scope(principal):
    """WHERE clauses limiting pupils to what the caller may see."""
    return access.org_clause(principal, Pupil.org_id)


def is_parent(principal):
    """A guardian reading their own child's record (and no staff role that reads it)."""
    return Role.PARENT in principal.roles and not principal.has_any(access.PUPIL_READERS)


def get_pupil(session, principal, pupil_id, *, lock=False):
    """The pupil, or 404 when it does not exist or belongs to another organisation."""
    stmt = select(Pupil).where(Pupil.id == pupil_id, Pupil.anonymised_at.is_(None),
                               *scope(principal))
    if lock:
        stmt = stmt.with_for_update()
    pupil = session.execute(stmt).scalar_one_or_none()
    if pupil is None:
        raise NotFound("No such pupil")
    return pupil


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
        if org is None or org.kind not in domain.PUPIL_ORG_KINDS:
            raise RuleBroken("Not a school or ARB of the trust",
                             errors={field: ["Not a school or ARB of the trust"]})
        return org
    if org_id and org_id != principal.org:
        org = find_org(session, org_id)
        if org is None or org.id != principal.org:
            raise RuleBroken("You can only act for your own organisation",
                             errors={field: ["Not your organisation"]})
    org = session.get(Organisation, principal.org)
    if org is None or org.kind not in domain.PUPIL_ORG_KINDS:
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


# -- pupils and the SEN register -----------------------------------------------------

def upn_taken(session, upn, exclude_id=None):
    stmt = select(Pupil.id).where(Pupil.upn == upn)
    if exclude_id:
        stmt = stmt.where(Pupil.id != exclude_id)
    return session.execute(stmt).first() is not None


def open_entry(session, pupil_id):
    return session.execute(select(SenRegisterEntry).where(
        SenRegisterEntry.pupil_id == pupil_id, SenRegisterEntry.ends_on.is_(None))
    ).scalar_one_or_none()


def sen_history(session, pupil_id):
    return session.execute(select(SenRegisterEntry).where(
        SenRegisterEntry.pupil_id == pupil_id).order_by(
        SenRegisterEntry.starts_on, SenRegisterEntry.id)).scalars().all()


def guardians_of(session, pupil_id):
    return session.execute(select(Guardian).where(Guardian.pupil_id == pupil_id)
                           .order_by(Guardian.position)).scalars().all()


def upn_history(session, pupil_id):
    return session.execute(select(UpnChange).where(UpnChange.pupil_id == pupil_id)
                           .order_by(UpnChange.id)).scalars().all()


def referrals_of(session, pupil_id):
    return session.execute(select(ReferralLink).where(ReferralLink.pupil_id == pupil_id)
                           .order_by(ReferralLink.linked_at)).scalars().all()


def moves_of(session, pupil_id):
    return session.execute(select(Move).where(Move.pupil_id == pupil_id)
                           .order_by(Move.recorded_at)).scalars().all()


def detail(session, pupil):
    """A pupil with its guardians, UPN history and linked referrals (PupilDetailSchema)."""
    row = {c.key: getattr(pupil, c.key) for c in pupil.__table__.columns}
    return SimpleNamespace(**row, guardians=guardians_of(session, pupil.id),
                           upn_history=upn_history(session, pupil.id),
                           referrals=referrals_of(session, pupil.id))


def pupil(db, principal, pupil_id):
    with db.unit_of_work() as uow:
        found = get_pupil(uow.session, principal, pupil_id)
        audit(uow.session, principal, [found], "get_pupil")
        return detail(uow.session, found)


def sen_register(db, principal, pupil_id):
    with db.unit_of_work() as uow:
        found = get_pupil(uow.session, principal, pupil_id)
        audit(uow.session, principal, [found], "sen_register")
        return {"items": sen_history(uow.session, found.id)}


def list_pupils(session, principal, query):
    where = [*scope(principal), Pupil.anonymised_at.is_(None)]
    if query.get("org_id"):
        if not access.trust_wide(principal) and query["org_id"] != principal.org:
            return [], 0
        where.append(Pupil.org_id == query["org_id"])
    if "year_group" in query:
        where.append(Pupil.year_group == query["year_group"])
    if "sen_status" in query:
        where.append(Pupil.sen_status == query["sen_status"])
    if "registration_group" in query:
        where.append(Pupil.registration_group == query["registration_group"])
    if query.get("nc_not_followed") is not None:
        where.append(Pupil.nc_not_followed == query["nc_not_followed"])
    if "need_type" in query:
        where.append(or_(Pupil.primary_need == query["need_type"],
                         Pupil.secondary_need == query["need_type"]))
    if "area_of_need" in query:
        codes = domain.need_types_of_area(query["area_of_need"])
        where.append(or_(Pupil.primary_need.in_(codes), Pupil.secondary_need.in_(codes)))
    if "q" in query:
        term = query["q"].strip()
        like = f"%{term.lower()}%"
        where.append(or_(Pupil.upn == term.upper().replace(" ", ""),
                         func.lower(Pupil.legal_surname).like(like),
                         func.lower(Pupil.forename).like(like)))
    total = session.execute(select(func.count()).select_from(Pupil).where(*where)).scalar_one()
    items = session.execute(select(Pupil).where(*where)
                            .order_by(Pupil.legal_surname, Pupil.forename, Pupil.id)
                            .limit(query["limit"]).offset(query["offset"])).scalars().all()
    return items, total


def list_and_audit(db, principal, query, endpoint="list_pupils"):
    """A page of pupils, with the read of each recorded (one transaction)."""
    with db.unit_of_work() as uow:
        items, total = list_pupils(uow.session, principal, query)
        audit(uow.session, principal, items, endpoint)
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


# -- census readiness ----------------------------------------------------------------

def census_report(session, org_id, today):
    pupils = session.execute(select(Pupil).where(
        Pupil.org_id == org_id, Pupil.anonymised_at.is_(None)).order_by(
        Pupil.legal_surname, Pupil.id)).scalars().all()
    issued = set(session.execute(select(EhcPlan.pupil_id).join(Pupil).where(
        Pupil.org_id == org_id, EhcPlan.issued_on.is_not(None))).scalars())
    census_date = domain.next_census_date(today)
    failing, warnings = [], []
    for p in pupils:
        issues = domain.census_issues(p, has_issued_plan=p.id in issued,
                                      census_date=census_date)
        errors = [i for i in issues if i["severity"] == domain.Severity.ERROR]
        warned = [i for i in issues if i["severity"] != domain.Severity.ERROR]
        if issues:
            (failing if errors else warnings).append(
                {"pupil_id": p.id, "upn": p.upn, "issues": errors, "warnings": warned})
    return {"org_id": org_id, "census_date": census_date,
            "checked": len(pupils), "failing": failing, "warnings": warnings}


def census_readiness(db, principal, org_id, today):
    with db.unit_of_work() as uow:
        org_id = scoped_org_id(uow.session, principal, org_id)
        report = census_report(uow.session, org_id, today)
        listed = [SimpleNamespace(id=f["pupil_id"], org_id=org_id)
                  for f in report["failing"] + report["warnings"]]
        audit(uow.session, principal, listed, "census_readiness")
    return report


# -- passports -----------------------------------------------------------------------

def passport_versions(session, pupil_id):
    return session.execute(select(PassportVersion).where(
        PassportVersion.pupil_id == pupil_id).order_by(PassportVersion.version)).scalars().all()


def passport(db, principal, pupil_id):
    """A pupil's passport versions and the current published one, with the pupil block
    its document shows: {"items", "current", "pupil"}."""
    with db.unit_of_work() as uow:
        found = readable_pupil(uow.session, principal, pupil_id)
        audit(uow.session, principal, [found], "get_passport")
        items = passport_versions(uow.session, found.id)
        school = uow.session.get(Organisation, found.org_id)
        summary = pupil_summary(found, school.name if school else None)
    published = [v for v in items if v.status == domain.PassportStatus.PUBLISHED]
    return {"items": items, "current": published[-1] if published else None,
            "pupil": summary}


# -- EHC plans -----------------------------------------------------------------------

def pauses_of(session, plan_id):
    return session.execute(select(EhcPause).where(EhcPause.plan_id == plan_id)
                           .order_by(EhcPause.starts_on)).scalars().all()


def as_pauses(rows):
    return [domain.Pause(p.starts_on, p.ends_on) for p in rows]


def plan_view(session, plan):
    pauses = pauses_of(session, plan.id)
    return {**{c.key: getattr(plan, c.key) for c in EhcPlan.__table__.columns},
            "pauses": pauses, "deadlines": domain.plan_deadlines(plan, as_pauses(pauses))}


def get_plan(session, pupil, plan_id):
    plan = session.execute(select(EhcPlan).where(
        EhcPlan.id == plan_id, EhcPlan.pupil_id == pupil.id)).scalar_one_or_none()
    if plan is None:
        raise NotFound("No such EHC plan")
    return plan


def has_plan(session, pupil_id):
    return session.execute(select(EhcPlan.id).where(
        EhcPlan.pupil_id == pupil_id)).first() is not None


def plans(db, principal, pupil_id):
    """A pupil's EHC plans with their deadlines (a parent: their own child's)."""
    with db.unit_of_work() as uow:
        found = readable_pupil(uow.session, principal, pupil_id)
        audit(uow.session, principal, [found], "list_plans")
        rows = uow.session.execute(select(EhcPlan).where(
            EhcPlan.pupil_id == found.id)).scalars().all()
        return {"items": [plan_view(uow.session, p) for p in rows]}


def plan_timeline(db, principal, pupil_id, plan_id, endpoint="get_plan"):
    """One EHC plan's view with the pupil block and school its document shows:
    {"organisation", "pupil", "plan"} (the view of services/documents' ehc_timeline)."""
    with db.unit_of_work() as uow:
        found = readable_pupil(uow.session, principal, pupil_id)
        audit(uow.session, principal, [found], endpoint)
        plan = get_plan(uow.session, found, plan_id)
        school = uow.session.get(Organisation, found.org_id)
        summary = pupil_summary(found, school.name if school else None)
        summary["class_name"] = found.registration_group
        return {"organisation": summary["school"], "pupil": summary,
                "plan": plan_view(uow.session, plan)}


def overdue_plans(session, org_ids, today):
    """Every open statutory deadline already past, of the plans of pupils in `org_ids`
    (None: the whole trust), oldest first."""
    q = (select(EhcPlan, Pupil.org_id).join(Pupil, Pupil.id == EhcPlan.pupil_id)
         .where(Pupil.anonymised_at.is_(None)))
    if org_ids is not None:
        q = q.where(Pupil.org_id.in_(org_ids))
    rows = session.execute(q).all()
    pauses = {}
    if rows:
        for p in session.execute(select(EhcPause).where(
                EhcPause.plan_id.in_([plan.id for plan, _ in rows]))).scalars():
            pauses.setdefault(p.plan_id, []).append(domain.Pause(p.starts_on, p.ends_on))
    items = []
    for plan, org_id in rows:
        for step, due in domain.overdue_deadlines(plan, pauses.get(plan.id, []), today):
            items.append({"plan_id": plan.id, "pupil_id": plan.pupil_id, "org_id": org_id,
                          "deadline": step, "due": due, "days_overdue": (today - due).days})
    return sorted(items, key=lambda i: (i["due"], i["plan_id"], i["deadline"]))


def overdue(db, principal, org_id, today, *, named=False):
    """The overdue list of the caller's organisation (a trust admin: the one named, or
    the whole trust), its reads audited. `named`: each item also names its pupil (name,
    UPN, year group, class) and school, for a spreadsheet a person reads."""
    with db.unit_of_work() as uow:
        if access.trust_wide(principal) and not org_id:
            org_ids = None
        else:
            org_ids = [scoped_org_id(uow.session, principal, org_id)]
        items = overdue_plans(uow.session, org_ids, today)
        listed = {i["pupil_id"]: SimpleNamespace(id=i["pupil_id"], org_id=i["org_id"])
                  for i in items}
        audit(uow.session, principal, list(listed.values()), "overdue_plans")
        if named:
            items = _named(uow.session, items)
    return {"items": items}


def _named(session, items):
    ids = {i["pupil_id"] for i in items}
    found = {p.id: (p, o) for p, o in session.execute(
        select(Pupil, Organisation).join(Organisation, Organisation.id == Pupil.org_id)
        .where(Pupil.id.in_(ids))).all()} if ids else {}
    out = []
    for item in items:
        pupil, org = found[item["pupil_id"]]
        out.append({**item, "pupil_name": f"{pupil.forename} {pupil.legal_surname}",
                    "upn": pupil.upn, "year_group": pupil.year_group,
                    "class_name": pupil.registration_group, "school": org.name})
    return out


# -- audit ---------------------------------------------------------------------------

def audit_page(db, principal, query):
    where = []
    if not access.trust_wide(principal):  # an auditor of one school sees that school's
        where.append(or_(AuditEntry.pupil_org_id == principal.org,
                         AuditEntry.actor_org_id == principal.org))
    if query.get("pupil_id"):
        where.append(AuditEntry.pupil_id == query["pupil_id"])
    with db.session() as session:
        total = session.execute(select(func.count()).select_from(AuditEntry).where(*where)
                                ).scalar_one()
        items = session.execute(select(AuditEntry).where(*where)
                                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                .limit(query["limit"]).offset(query["offset"])).scalars().all()
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


# -- subject access ------------------------------------------------------------------

def _row(obj):
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def subject_access_export(session, pupil):
    """Everything this service holds about one pupil, as plain data."""
    plans = session.execute(select(EhcPlan).where(EhcPlan.pupil_id == pupil.id)).scalars().all()
    reads = session.execute(select(AuditEntry).where(AuditEntry.pupil_id == pupil.id)
                            .order_by(AuditEntry.id)).scalars().all()
    return {
        "pupil": _row(pupil),
        "upn_history": [_row(x) for x in upn_history(session, pupil.id)],
        "sen_register": [_row(x) for x in sen_history(session, pupil.id)],
        "guardians": [_row(x) for x in guardians_of(session, pupil.id)],
        "passport_versions": [_row(x) for x in passport_versions(session, pupil.id)],
        "ehc_plans": [{**_row(p), "pauses": [_row(x) for x in pauses_of(session, p.id)]}
                      for p in plans],
        "moves": [_row(x) for x in moves_of(session, pupil.id)],
        "referrals": [_row(x) for x in referrals_of(session, pupil.id)],
        "record_reads": [_row(x) for x in reads],
    }


def subject_access(db, principal, pupil_id):
    with db.unit_of_work() as uow:
        found = get_pupil(uow.session, principal, pupil_id)
        audit(uow.session, principal, [found], "export_pupil")
        return subject_access_export(uow.session, found)


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
    stmt = select(StaffMember).where(StaffMember.id == member_id, *staff_scope(principal))
    if lock:
        stmt = stmt.with_for_update()
    member = session.execute(stmt).scalar_one_or_none()
    if member is None:
        raise NotFound("No such staff member")
    return member


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


def is_guardian(session, email, pupil_id):
    """Whether this address is (still) a guardian with parental responsibility."""
    return session.execute(select(Guardian.id).where(
        Guardian.pupil_id == pupil_id, func.lower(Guardian.email) == email.strip().lower(),
        Guardian.parental_responsibility.is_(True))).first() is not None
