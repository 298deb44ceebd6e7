"""The inputs of the per-pupil cost arithmetic (domain.assignment_costs), loaded in a
fixed number of statements whatever the number of pupils, and the projection's
lookups the reports share. The pupil-by-pupil path is what a pupil's map costs by,
and the reference the aggregated reports (costs.py, impact.py) are tested against."""

from collections import defaultdict

from sqlalchemy import func, select

from .. import domain
from ..models import (
    Assignment,
    AssignmentPupil,
    AssignmentTarget,
    Attendance,
    CatalogueEntry,
    DeliveredSession,
    Organisation,
    Outcome,
    Pupil,
    RoleRate,
)
from . import calendar


def _scoped(query, column, where):
    """Limit a query on a child table to the assignments `where` selects (a join, or
    nothing at all for the whole trust)."""
    if not where:
        return query
    return query.join(Assignment, Assignment.id == column).where(*where)


def load_report_data(session, as_of, *, org_id=None, catalogue_id=None, pupil_id=None,
                     pupil_ids=None, include_planned=False):
    """(report assignments, entries by id, latest progress by target id) as of a day.

    Six queries in all, whatever the number of pupils: assignments with their
    catalogue entry, role rates, members, delivered sessions counted by register
    size, targets served, latest outcomes. Provision that starts after `as_of` is left
    out unless `include_planned` (projections count it; impact to date does not)."""
    where = []
    if org_id is not None:
        where.append(Assignment.org_id == org_id)
    if catalogue_id is not None:
        where.append(Assignment.catalogue_id == catalogue_id)
    if pupil_id is not None:
        where.append(Assignment.id.in_(select(AssignmentPupil.assignment_id)
                                       .where(AssignmentPupil.pupil_id == pupil_id)))
    if pupil_ids is not None:  # the assignments of any of these pupils (a class's map)
        where.append(Assignment.id.in_(select(AssignmentPupil.assignment_id)
                                       .where(AssignmentPupil.pupil_id.in_(list(pupil_ids)))))
    # Core rows (session.connection()): the ORM's row processing cost more than the query
    conn = session.connection()
    rows = conn.execute(
        select(Assignment.id, Assignment.org_id, Assignment.catalogue_id, Assignment.start_date,
               Assignment.end_date, Assignment.ended_on, Assignment.sessions_per_week,
               CatalogueEntry.tier, CatalogueEntry.cost_basis, CatalogueEntry.cost_amount,
               CatalogueEntry.session_minutes, CatalogueEntry.delivered_by, CatalogueEntry.name)
        .join(CatalogueEntry, CatalogueEntry.id == Assignment.catalogue_id)
        .where(*where, *([] if include_planned else [Assignment.start_date <= as_of]))).all()
    rates = {(r.org_id, r.role): r.hourly_rate for r in conn.execute(
        select(RoleRate.org_id, RoleRate.role, RoleRate.hourly_rate)).all()}
    school_calendars = calendar.calendars(session, None if org_id is None else [org_id])
    members = defaultdict(list)
    Membership = domain.Membership
    for aid, pid, joined, left in conn.execute(_scoped(
            select(AssignmentPupil.assignment_id, AssignmentPupil.pupil_id,
                   AssignmentPupil.joined_on, AssignmentPupil.left_on),
            AssignmentPupil.assignment_id, where)).all():
        members[aid].append(Membership(pid, joined, left))
    delivered = defaultdict(lambda: defaultdict(dict))
    for aid, pid, size, n in conn.execute(_scoped(
            select(DeliveredSession.assignment_id, Attendance.pupil_id,
                   DeliveredSession.register_size, func.count())
            .join(Attendance, Attendance.session_id == DeliveredSession.id)
            .where(DeliveredSession.held_on <= as_of),
            DeliveredSession.assignment_id, where)
            .group_by(DeliveredSession.assignment_id, Attendance.pupil_id,
                      DeliveredSession.register_size)).all():
        delivered[aid][pid][size] = n
    targets = defaultdict(set)
    for aid, tid in conn.execute(_scoped(
            select(AssignmentTarget.assignment_id, AssignmentTarget.target_id),
            AssignmentTarget.assignment_id, where)).all():
        targets[aid].add(tid)
    latest = {}
    outcomes = select(Outcome.target_id, Outcome.progress).where(Outcome.reviewed_on <= as_of)
    if where:
        outcomes = outcomes.where(Outcome.target_id.in_(_scoped(
            select(AssignmentTarget.target_id), AssignmentTarget.assignment_id, where)))
    for tid, progress in conn.execute(outcomes.order_by(
            Outcome.target_id, Outcome.reviewed_on, Outcome.recorded_at)).all():
        latest[tid] = progress  # the last one wins
    out, entries = [], {}
    for r in rows:
        entries[r.catalogue_id] = {"name": r.name, "tier": r.tier}
        rate = rates.get((r.org_id, r.delivered_by))
        if r.cost_basis == domain.CostBasis.STAFF_RATE and rate is None:
            rate = domain.ZERO  # a rate never set costs nothing (shown as 0)
        cost_input = domain.CostInput(
            basis=r.cost_basis, amount=r.cost_amount, session_minutes=r.session_minutes,
            start=r.start_date, end=r.end_date, ended_on=r.ended_on,
            sessions_per_week=r.sessions_per_week, members=members[r.id],
            role_rate=rate, delivered=delivered[r.id], calendar=school_calendars.get(r.org_id))
        out.append(domain.ReportAssignment(
            assignment_id=r.id, org_id=r.org_id, catalogue_id=r.catalogue_id, tier=r.tier,
            costs=domain.assignment_costs(cost_input, as_of), target_ids=targets[r.id]))
    return out, entries, latest


def alike_assignments(conn, where):
    """{(catalogue_id, org_id, start, end, ended_on, sessions a week, member windows):
    how many assignments} of the assignments `where` selects, in one statement: the
    assignments alike in everything a group's cost depends on, to be costed once."""
    members = defaultdict(list)
    for row in conn.execute(
            select(Assignment.id, Assignment.catalogue_id, Assignment.org_id,
                   Assignment.start_date, Assignment.end_date, Assignment.ended_on,
                   Assignment.sessions_per_week, AssignmentPupil.joined_on,
                   AssignmentPupil.left_on)
            .join(AssignmentPupil, AssignmentPupil.assignment_id == Assignment.id)
            .join(CatalogueEntry, CatalogueEntry.id == Assignment.catalogue_id)
            .where(*where)).all():
        members[row[:7]].append((row.joined_on, row.left_on))
    alike = defaultdict(int)
    for (_, *terms), windows in members.items():
        alike[(*terms, tuple(sorted(windows)))] += 1
    return alike


def group_input(entry, start, end, ended_on, spw, windows, role_rate, calendar):
    """The domain's CostInput of an assignment of `alike_assignments` (its members
    numbered, since a group's cost does not depend on who they are)."""
    return domain.CostInput(
        basis=entry.cost_basis, amount=entry.cost_amount, session_minutes=entry.session_minutes,
        start=start, end=end, ended_on=ended_on, sessions_per_week=spw,
        members=[domain.Membership(i, joined, left) for i, (joined, left) in enumerate(windows)],
        role_rate=role_rate, calendar=calendar)


def org_names(session, org_ids=None):
    q = select(Organisation.org_id, Organisation.name)
    if org_ids is not None:
        q = q.where(Organisation.org_id.in_(list(org_ids)))
    return dict(session.execute(q).all())


def pupils_by_id(session, ids=None):
    """{pupil_id: Pupil} of the projection (all of them when `ids` is None), in one
    statement, for views that show year group, class and SEN status."""
    q = select(Pupil)
    if ids is not None:
        ids = list(ids)
        if not ids:
            return {}
        q = q.where(Pupil.pupil_id.in_(ids))
    return {p.pupil_id: p for p in session.execute(q).scalars()}
