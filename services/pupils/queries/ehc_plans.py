"""Reads of EHC plans: a pupil's plans and their deadlines, one plan's timeline
view, and the overdue list."""

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from services.common import access
from services.documents.responses import pupil_summary

from .. import domain
from ..models import (
    EhcPause,
    EhcPlan,
    Organisation,
    Pupil,
)
from .scope import audit, one_or_404, readable_pupil, scoped_org_id

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
    return one_or_404(session, select(EhcPlan).where(
        EhcPlan.id == plan_id, EhcPlan.pupil_id == pupil.id), "EHC plan")


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


def overdue_plans(session, org_ids, today, last_day=None):
    """Every open statutory deadline already past (or, with `last_day`, due on or before
    it), of the plans of pupils in `org_ids` (None: the whole trust), oldest first;
    `days_overdue` is negative for one still to come."""
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
        for step, due in domain.open_deadlines(plan, pauses.get(plan.id, []),
                                               last_day or today - timedelta(days=1)):
            items.append({"plan_id": plan.id, "pupil_id": plan.pupil_id, "org_id": org_id,
                          "deadline": step, "due": due, "days_overdue": (today - due).days})
    return sorted(items, key=lambda i: (i["due"], i["plan_id"], i["deadline"]))


def overdue(db, principal, org_id, today, *, within_days=None, named=False,
            endpoint="overdue_plans"):
    """The overdue list of the caller's organisation (a trust admin: the one named, or
    the whole trust), its reads audited; with `within_days`, also what falls due in the
    next so many days (the annual reviews among them). `named`: each item also names
    its pupil (name, UPN, year group, class) and school, for a spreadsheet a person
    reads."""
    last_day = today + timedelta(days=within_days) if within_days is not None else None
    with db.unit_of_work() as uow:
        if access.trust_wide(principal) and not org_id:
            org_ids = None
        else:
            org_ids = [scoped_org_id(uow.session, principal, org_id)]
        items = overdue_plans(uow.session, org_ids, today, last_day)
        listed = {i["pupil_id"]: SimpleNamespace(id=i["pupil_id"], org_id=i["org_id"])
                  for i in items}
        audit(uow.session, principal, list(listed.values()), endpoint)
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
