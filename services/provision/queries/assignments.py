"""Assignments (provision given to a pupil or a group) as the API shows them."""

from collections import defaultdict

from sqlalchemy import func, select

from services.common import access

from ..models import (
    Assignment,
    AssignmentPupil,
    AssignmentTarget,
    CatalogueEntry,
    DeliveredSession,
)
from . import scope

FIELDS = ("id", "org_id", "catalogue_id", "start_date", "end_date", "sessions_per_week",
          "staff", "statutory", "status", "ended_on", "end_reason", "review_cycle_id")


def views(s, assignments):
    """Each assignment with its provision's name and tier, members, targets served and
    sessions delivered (four statements, whatever the number of assignments)."""
    ids = [a.id for a in assignments]
    members, targets = defaultdict(list), defaultdict(list)
    for m in s.execute(select(AssignmentPupil).where(AssignmentPupil.assignment_id.in_(ids))
                       .order_by(AssignmentPupil.pupil_id)).scalars():
        members[m.assignment_id].append(m)
    for t in s.execute(select(AssignmentTarget).where(
            AssignmentTarget.assignment_id.in_(ids))).scalars():
        targets[t.assignment_id].append(t.target_id)
    counts = dict(s.execute(select(DeliveredSession.assignment_id, func.count())
                            .where(DeliveredSession.assignment_id.in_(ids))
                            .group_by(DeliveredSession.assignment_id)).all())
    entries = {e.id: e for e in s.execute(select(CatalogueEntry).where(
        CatalogueEntry.id.in_({a.catalogue_id for a in assignments}))).scalars()}
    return [{
        **{k: getattr(a, k) for k in FIELDS},
        "provision": entries[a.catalogue_id].name, "tier": entries[a.catalogue_id].tier,
        "members": members[a.id], "target_ids": sorted(targets[a.id]),
        "sessions_delivered": counts.get(a.id, 0),
    } for a in assignments]


def list_assignments(db, principal, query):
    with db.session() as s:
        org_id = access.scoped_org(principal, query.get("org_id"))
        q = select(Assignment)
        if org_id is not None:
            q = q.where(Assignment.org_id == org_id)
        if "pupil_id" in query:
            q = q.where(Assignment.id.in_(select(AssignmentPupil.assignment_id).where(
                AssignmentPupil.pupil_id == query["pupil_id"])))
        if "status" in query:
            q = q.where(Assignment.status == query["status"])
        rows = s.execute(q.order_by(Assignment.start_date, Assignment.id)
                         .limit(query["limit"]).offset(query["offset"])).scalars().all()
        return views(s, rows)


def get_assignment(db, principal, assignment_id):
    with db.session() as s:
        return views(s, [scope.assignment(s, principal, assignment_id)])[0]
