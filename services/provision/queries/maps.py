"""Provision maps: one pupil's (provision, targets, cycles, cost), and the class /
year-group map a local authority asks for with an EHC needs assessment request."""

from sqlalchemy import select

from .. import domain
from ..models import Assignment, AssignmentPupil, CatalogueEntry, Cycle, Organisation, Target
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
