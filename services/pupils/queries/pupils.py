"""Reads of pupils: one pupil's record and SEN register, lists and searches, census
readiness, passports, the audit log and the subject access export."""

from types import SimpleNamespace

from sqlalchemy import func, or_, select

from services.common import access
from services.documents.responses import pupil_summary

from .. import domain
from ..models import (
    AuditEntry,
    EhcPlan,
    Guardian,
    Move,
    Organisation,
    PassportVersion,
    Pupil,
    ReferralLink,
    SenRegisterEntry,
    UpnChange,
)
from .ehc_plans import pauses_of
from .scope import audit, get_pupil, readable_pupil, scope, scoped_org_id

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


def rows_of(session, model, pupil_id, *order):
    """A pupil's rows of `model` (a table with a pupil_id), in `order`."""
    return session.execute(select(model).where(model.pupil_id == pupil_id)
                           .order_by(*order)).scalars().all()


def sen_history(session, pupil_id):
    return rows_of(session, SenRegisterEntry, pupil_id, SenRegisterEntry.starts_on,
                   SenRegisterEntry.id)


def guardians_of(session, pupil_id):
    return rows_of(session, Guardian, pupil_id, Guardian.position)


def upn_history(session, pupil_id):
    return rows_of(session, UpnChange, pupil_id, UpnChange.id)


def referrals_of(session, pupil_id):
    return rows_of(session, ReferralLink, pupil_id, ReferralLink.linked_at)


def moves_of(session, pupil_id):
    return rows_of(session, Move, pupil_id, Move.recorded_at)


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
    return rows_of(session, PassportVersion, pupil_id, PassportVersion.version)


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
