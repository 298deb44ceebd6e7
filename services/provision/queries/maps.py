"""Provision maps: one pupil's (provision, targets, cycles, cost), and the class /
year-group map a local authority asks for with an EHC needs assessment request."""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from services.common import access, errors
from services.contracts.names import label

from .. import domain
from ..models import (
    Assignment,
    AssignmentPupil,
    AssignmentTarget,
    CatalogueEntry,
    Cycle,
    Organisation,
    Pupil,
    Target,
)
from . import assignments as assignment_views
from . import cycles as cycle_views
from . import reports, scope
from . import targets as target_views


def pupil_map(db, principal, pupil_id, fmt, today, documents):
    """GET /pupils/{id}/map: JSON, or the costed provision map as PDF, CSV or xlsx."""
    with db.session() as s:
        pupil = scope.pupil(s, principal, pupil_id)
        assignments = s.execute(select(Assignment).where(Assignment.id.in_(
            select(AssignmentPupil.assignment_id).where(
                AssignmentPupil.pupil_id == pupil_id)))
            .order_by(Assignment.start_date, Assignment.id)).scalars().all()
        targets = s.execute(select(Target).where(Target.pupil_id == pupil_id)
                            .order_by(Target.created_at, Target.id)).scalars().all()
        cycles = s.execute(select(Cycle).where(Cycle.pupil_id == pupil_id)
                           .order_by(Cycle.number)).scalars().all()
        report, _, _ = reports.load_report_data(s, today, pupil_id=pupil_id,
                                                include_planned=True)
        cost = sum((a.costs.get(pupil_id, domain.PupilCost()) for a in report),
                   domain.PupilCost())
        views = assignment_views.views(s, assignments)
        own_targets = {t.id for t in targets}
        for view in views:
            if view["org_id"] != pupil.org_id:  # a group at a school they left:
                view["members"] = [m for m in view["members"] if m.pupil_id == pupil_id]
                view["target_ids"] = [t for t in view["target_ids"] if t in own_targets]
        result = {"pupil": pupil, "assignments": views,
                  "targets": target_views.views(s, targets),
                  "cycles": [cycle_views.view(c, today) for c in cycles],
                  "cost": {"to_date": domain.money(cost.to_date),
                           "projected": domain.money(cost.projected)}}
        if fmt == "json":
            return result
        per = {a.assignment_id: a.costs.get(pupil_id) for a in report}
        entries = {e.id: e for e in s.execute(select(CatalogueEntry).where(
            CatalogueEntry.id.in_({a.catalogue_id for a in assignments}))).scalars()}
        org = s.get(Organisation, pupil.org_id)
        return documents.pupil_map(result, per, entries, fmt, today, org.name if org else None)


def class_map(db, principal, query, today):
    """GET /map: per pupil of a school's class or year group (or the whole school), the
    provision (frequency, staff, cost, dates, the outcomes it serves), APDR cycles and
    totals, as a local authority asks for them with an EHC needs assessment request.
    Identifiers only: the portal adds names and UPNs from the pupils service. Ten
    statements whatever the number of pupils."""
    as_of = query.get("as_of") or today
    requested = query.get("org") or query.get("org_id")
    org_id = access.scoped_org(principal, requested)
    if org_id is None:
        raise errors.RuleBroken("Name the school", field="org")
    with db.session() as s:
        q = select(Pupil).where(Pupil.org_id == org_id)
        if "registration_group" in query:
            q = q.where(Pupil.registration_group == query["registration_group"])
        if "year_group" in query:
            q = q.where(Pupil.year_group == query["year_group"])
        pupils = s.execute(q).scalars().all()
        pupils.sort(key=lambda p: (p.registration_group is None, p.registration_group or "",
                                   p.year_group is None, p.year_group or 0, p.pupil_id))
        ids = [p.pupil_id for p in pupils]
        places = defaultdict(list)
        for place, a, e in (s.execute(
                select(AssignmentPupil, Assignment, CatalogueEntry)
                .join(Assignment, Assignment.id == AssignmentPupil.assignment_id)
                .join(CatalogueEntry, CatalogueEntry.id == Assignment.catalogue_id)
                .where(AssignmentPupil.pupil_id.in_(ids))
                .order_by(Assignment.start_date, Assignment.id)).all() if ids else []):
            places[place.pupil_id].append((place, a, e))
        assignment_ids = {a.id for rows in places.values() for _, a, _ in rows}
        group_sizes = dict(s.execute(
            select(AssignmentPupil.assignment_id, func.count())
            .where(AssignmentPupil.assignment_id.in_(assignment_ids),
                   AssignmentPupil.left_on.is_(None))
            .group_by(AssignmentPupil.assignment_id)).all()) if assignment_ids else {}
        served = defaultdict(set)
        for aid, tid in (s.execute(select(AssignmentTarget.assignment_id,
                                          AssignmentTarget.target_id)
                                   .where(AssignmentTarget.assignment_id.in_(assignment_ids)))
                         .all() if assignment_ids else []):
            served[aid].add(tid)
        targets = s.execute(select(Target).where(Target.pupil_id.in_(ids))
                            .order_by(Target.created_at, Target.id)).scalars().all() if ids else []
        owner = {t.id: t.pupil_id for t in targets}
        # a target is one pupil's: a group provision serves each pupil's own targets
        target_rows = {(owner[t["id"]], t["id"]): t
                       for t in target_views.views(s, targets)} if targets else {}
        cycles = defaultdict(list)
        for c in (s.execute(select(Cycle).where(Cycle.pupil_id.in_(ids))
                            .order_by(Cycle.pupil_id, Cycle.number)).scalars() if ids else []):
            cycles[c.pupil_id].append(cycle_views.view(c, today))
        report = reports.load_report_data(s, as_of, pupil_ids=ids,
                                          include_planned=True)[0] if ids else []
        org = s.get(Organisation, org_id)
    costs = {(a.assignment_id, p): c for a in report for p, c in a.costs.items()}
    rows = [_map_pupil(p, places[p.pupil_id], costs, served, target_rows,
                       cycles[p.pupil_id], group_sizes, as_of) for p in pupils]
    return {"as_of": as_of, "org_id": org_id, "organisation": org.name if org else None,
            "registration_group": query.get("registration_group"),
            "year_group": query.get("year_group"), "pupils": rows,
            "totals": {"pupils": len(rows), **_totals([r["totals"] for r in rows])}}


def _hours(spw, minutes):
    return (Decimal(spw) * minutes / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _map_pupil(pupil, places, costs, served, targets, cycles, group_sizes, as_of):
    provisions, hours = [], domain.ZERO
    for place, a, e in places:
        cost = costs.get((a.id, pupil.pupil_id), domain.PupilCost())
        last = a.ended_on or a.end_date
        if place.left_on is not None:
            last = min(last, place.left_on)
        if max(a.start_date, place.joined_on) <= as_of <= last:
            hours += _hours(a.sessions_per_week, e.session_minutes)
        provisions.append({
            "assignment_id": a.id, "catalogue_id": e.id, "provision": e.name, "tier": e.tier,
            "area_of_need": e.area_of_need, "delivered_by": e.delivered_by, "staff": a.staff,
            "group_size": group_sizes.get(a.id, 0),
            "frequency": {"sessions_per_week": a.sessions_per_week,
                          "session_minutes": e.session_minutes,
                          "hours_per_week": _hours(a.sessions_per_week, e.session_minutes)},
            "start_date": max(a.start_date, place.joined_on), "end_date": last,
            "status": a.status, "end_reason": a.end_reason, "statutory": a.statutory,
            "cost": {"to_date": domain.money(cost.to_date),
                     "projected": domain.money(cost.projected)},
            "outcomes": [_outcome(targets[(pupil.pupil_id, t)]) for t in sorted(served[a.id])
                         if (pupil.pupil_id, t) in targets]})
    totals = {"provisions": len(provisions), "hours_per_week": hours,
              "cost_to_date": domain.money(sum((p["cost"]["to_date"] for p in provisions),
                                               domain.ZERO)),
              "cost_projected": domain.money(sum((p["cost"]["projected"] for p in provisions),
                                                 domain.ZERO))}
    return {"pupil_id": pupil.pupil_id, "year_group": pupil.year_group,
            "registration_group": pupil.registration_group, "sen_status": pupil.sen_status,
            "primary_need": pupil.primary_need, "secondary_need": pupil.secondary_need,
            "provisions": provisions, "cycles": cycles, "totals": totals}


def _outcome(t):
    latest = t["outcomes"][-1] if t["outcomes"] else None
    return {"target_id": t["id"], "description": t["description"],
            "expected_outcome": t["expected_outcome"], "due_date": t["due_date"],
            "latest_level": t["latest_level"],
            "latest_level_name": label(t["latest_level"]) if t["latest_level"] else None,
            "latest_reviewed_on": latest.reviewed_on if latest else None, "met": t["met"]}


def _totals(rows):
    return {"provisions": sum(r["provisions"] for r in rows),
            "hours_per_week": sum((r["hours_per_week"] for r in rows), domain.ZERO),
            "cost_to_date": sum((r["cost_to_date"] for r in rows), domain.ZERO),
            "cost_projected": sum((r["cost_projected"] for r in rows), domain.ZERO)}
