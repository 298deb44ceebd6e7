"""The impact report: what works where (targets met, progress, cost), by provision,
provision and school, school or trust-wide, counted by the database so a
trust-wide report reads a few hundred rows, not a million."""

from collections import defaultdict

from sqlalchemy import case, func, select

from services.common import access
from services.contracts.names import label

from .. import domain
from ..models import (
    Assignment,
    AssignmentPupil,
    AssignmentTarget,
    CatalogueEntry,
    DeliveredSession,
    Outcome,
    RoleRate,
    Target,
)
from . import calendar, reports
from .costs import decimal, money_text, percent

IMPACT_COLUMNS = ["catalogue_id", "provision", "tier", "org_id", "organisation", "pupils",
                  "targets", "targets_reviewed", "targets_met", "share_met", "average_progress",
                  "average_level",
                  "cost_to_date", "cost_per_pupil", "cost_per_target_met"]


KEY_COLUMNS = {
    "provision": ("catalogue_id",),
    "provision_org": ("catalogue_id", "org_id"),
    "org": ("org_id",),
    "trust": (),
    "pupil": ("pupil_id",),  # pupil_impact, pupil by pupil
}


def impact(session, as_of, *, group_by="provision", org_id=None, catalogue_id=None):
    """(impact rows, entries by id): the figures of domain.impact_report, counted by the
    database so that a trust-wide report reads a few hundred rows, not a million.

    Seven statements whatever the number of pupils: the catalogue, role rates,
    sessions recorded per provision and school (the assignments' counters) less those
    held after the day, per-term assignments with their pupils, calendars, distinct
    pupils per row, and targets per row with their latest progress. Session-priced
    provision costs its sessions delivered × the session price; per-term provision is
    costed by assignments alike (domain/costs.py)."""
    names = KEY_COLUMNS[group_by]
    where = [Assignment.start_date <= as_of]
    if org_id is not None:
        where.append(Assignment.org_id == org_id)
    if catalogue_id is not None:
        where.append(Assignment.catalogue_id == catalogue_id)
    keys = [getattr(Assignment, n) for n in names]

    entries = {e.id: e for e in session.execute(select(CatalogueEntry)).scalars()}
    rates = {(r.org_id, r.role): r.hourly_rate for r in session.execute(
        select(RoleRate.org_id, RoleRate.role, RoleRate.hourly_rate)).all()}
    cost = defaultdict(lambda: domain.ZERO)

    def key_of(catalogue, org):
        return tuple({"catalogue_id": catalogue, "org_id": org}[n] for n in names)

    def rate(catalogue, org):
        entry = entries[catalogue]
        return rates.get((org, entry.delivered_by), domain.ZERO)

    # Sessions delivered to the day: those recorded (a counter on the assignment) less
    # those held after it (few, from the index on the day)
    later = (select(DeliveredSession.assignment_id, func.count().label("n"))
             .where(DeliveredSession.held_on > as_of)
             .group_by(DeliveredSession.assignment_id).subquery())
    delivered = dict(((catalogue, org), int(n or 0)) for catalogue, org, n in session.execute(
        select(Assignment.catalogue_id, Assignment.org_id,
               func.sum(Assignment.sessions_recorded - func.coalesce(later.c.n, 0)))
        .join(CatalogueEntry, CatalogueEntry.id == Assignment.catalogue_id)
        .outerjoin(later, later.c.assignment_id == Assignment.id)
        .where(*where, CatalogueEntry.cost_basis.in_(domain.SESSION_BASES))
        .group_by(Assignment.catalogue_id, Assignment.org_id)).all())
    for (catalogue, org), n in delivered.items():
        if n:
            e = entries[catalogue]
            cost[key_of(catalogue, org)] += domain.session_cost(
                e.cost_basis, e.cost_amount, e.session_minutes, rate(catalogue, org)) * n

    school_calendars = calendar.calendars(session, None if org_id is None else [org_id])
    for (catalogue, org, start, end, ended_on, spw, windows), n in reports.alike_assignments(
            session.connection(),
            [*where, CatalogueEntry.cost_basis == domain.CostBasis.PER_TERM]).items():
        cost[key_of(catalogue, org)] += domain.group_cost_to_date(reports.group_input(
            entries[catalogue], start, end, ended_on, spw, windows, None,
            school_calendars.get(org)), None, as_of) * n

    pupils = {tuple(r[:-1]): r[-1] for r in session.execute(
        select(*keys, func.count(AssignmentPupil.pupil_id.distinct())).select_from(Assignment)
        .join(AssignmentPupil, AssignmentPupil.assignment_id == Assignment.id)
        .where(*where).group_by(*keys)).all()}

    # A target's latest outcome to the day: the one it keeps (commands/targets.py), or,
    # for the targets reviewed since that day, the latest of their outcomes before it
    latest = (select(Outcome.target_id, Outcome.progress,
                     func.row_number().over(partition_by=Outcome.target_id,
                                            order_by=(Outcome.reviewed_on.desc(),
                                                      Outcome.recorded_at.desc(),
                                                      Outcome.id.desc())).label("rn"))
              .where(Outcome.reviewed_on <= as_of, Outcome.target_id.in_(
                  select(Target.id).where(Target.latest_reviewed_on > as_of)))
              .subquery())
    linked = (select(*keys, AssignmentTarget.target_id).select_from(Assignment)
              .join(AssignmentTarget, AssignmentTarget.assignment_id == Assignment.id)
              .where(*where).distinct().subquery())
    lkeys = [linked.c[n] for n in names]
    progress = case((Target.latest_reviewed_on <= as_of, Target.latest_progress),
                    else_=latest.c.progress)
    stats = {tuple(r[:-4]): r[-4:] for r in session.execute(
        select(*lkeys, func.count(), func.count(progress),
               func.coalesce(func.sum(case((progress >= domain.MET, 1), else_=0)), 0),
               func.coalesce(func.sum(progress), 0))
        .select_from(linked)
        .outerjoin(Target, Target.id == linked.c.target_id)
        .outerjoin(latest, (latest.c.target_id == linked.c.target_id) & (latest.c.rn == 1))
        .group_by(*lkeys)).all()}

    rows = []
    for key in sorted(pupils):
        targets, reviewed, met, progress_sum = stats.get(key, (0, 0, 0, 0))
        rows.append(domain.impact_row(key, pupils=pupils[key], targets=targets,
                                      reviewed=reviewed, met=int(met),
                                      progress_sum=int(progress_sum), cost=cost[key]))
    return rows, {k: {"name": e.name, "tier": e.tier} for k, e in entries.items()}


def pupil_impact(s, as_of, *, org_id=None, catalogue_id=None):
    """Impact rows per pupil (key: (pupil_id,)): their targets served by the provision,
    reviewed and met, and their share of its cost to date, pupil by pupil
    (queries/reports.py), for a school's map of what works for whom."""
    report, _, latest = reports.load_report_data(s, as_of, org_id=org_id,
                                                 catalogue_id=catalogue_id)
    served = {t for a in report for t in a.target_ids}
    owner = dict(s.execute(select(Target.id, Target.pupil_id)
                           .where(Target.id.in_(served))).all()) if served else {}
    costs, targets = defaultdict(lambda: domain.ZERO), defaultdict(set)
    for a in report:
        for pupil_id, cost in a.costs.items():
            costs[pupil_id] += cost.to_date
            targets[pupil_id].update(t for t in a.target_ids if owner.get(t) == pupil_id)
    rows = []
    for pupil_id in sorted(costs):
        reviewed = [latest[t] for t in targets[pupil_id] if t in latest]
        rows.append(domain.impact_row(
            (pupil_id,), pupils=1, targets=len(targets[pupil_id]), reviewed=len(reviewed),
            met=sum(1 for p in reviewed if domain.is_met(p)), progress_sum=sum(reviewed),
            cost=costs[pupil_id]))
    return rows


def impact_rows(s, as_of, *, group_by="provision", org_id=None, catalogue_id=None):
    """Impact report rows, ready for JSON or CSV (the API's and the bench's). Every row
    has pupil_id, year_group and registration_group: a pupil's (group_by=pupil), else
    None."""
    if group_by == "pupil":
        rows = pupil_impact(s, as_of, org_id=org_id, catalogue_id=catalogue_id)
        entries = {}
        pupils = reports.pupils_by_id(s, [row.key[0] for row in rows])
    else:
        rows, entries = impact(s, as_of, group_by=group_by, org_id=org_id,
                               catalogue_id=catalogue_id)
        pupils = {}
    names = reports.org_names(s)
    out = []
    for row in rows:
        key = dict(zip(KEY_COLUMNS[group_by], row.key, strict=True))
        cid, oid, pid = key.get("catalogue_id"), key.get("org_id"), key.get("pupil_id")
        pupil = pupils.get(pid)
        if pupil is not None:
            oid = pupil.org_id
        out.append({
            "catalogue_id": cid, "provision": entries[cid]["name"] if cid else None,
            "tier": entries[cid]["tier"] if cid else None,
            "org_id": oid, "organisation": names.get(oid) if oid else None,
            "pupil_id": pid, "year_group": getattr(pupil, "year_group", None),
            "registration_group": getattr(pupil, "registration_group", None),
            "pupils": row.pupils, "targets": row.targets,
            "targets_reviewed": row.targets_reviewed, "targets_met": row.targets_met,
            "share_met": None if row.share_met is None else str(percent(row.share_met)),
            # the average level rank (0 not yet started … 4 exceeded) and the level it
            # has reached (rounded down: an average of 2.5 is "partially met")
            "average_progress": None if row.average_progress is None
            else str(decimal(row.average_progress)),
            "average_level": None if row.average_progress is None else label(
                domain.LEVELS[int(row.average_progress)]),
            "cost_to_date": money_text(row.cost),
            "cost_per_pupil": money_text(row.cost_per_pupil),
            "cost_per_target_met": money_text(row.cost_per_target_met),
        })
    return out


def report(db, principal, query, today, documents):
    """GET /reports/impact: JSON, or its rows as CSV or xlsx."""
    as_of = query.get("as_of") or today
    with db.session() as s:
        org_id = access.scoped_org(principal, query.get("org_id"))
        rows = impact_rows(s, as_of, group_by=query["group_by"], org_id=org_id,
                           catalogue_id=query.get("catalogue_id"))
    if query["format"] == "xlsx":
        return documents.impact_sheet(rows, "xlsx", query["group_by"])
    if query["format"] == "csv":
        columns = IMPACT_COLUMNS if query["group_by"] != "pupil" else [
            "pupil_id", "year_group", "registration_group", *IMPACT_COLUMNS[3:]]
        return documents.csv(rows, columns, f"impact-{query['group_by']}")
    return {"as_of": as_of.isoformat(), "group_by": query["group_by"], "org_id": org_id,
            "rows": rows}
