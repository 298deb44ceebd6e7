"""Reading and writing provision's tables for the entrypoints, the timer and the
bench. Reports load everything they need in a fixed number of queries (one per
table they touch, whatever the number of pupils) and leave the arithmetic to
domain.py."""

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import case, delete, func, literal, null, select, union_all, update

from . import domain
from .models import (
    Assignment,
    AssignmentPupil,
    AssignmentTarget,
    Attendance,
    CatalogueEntry,
    Cycle,
    DeliveredSession,
    Organisation,
    Outcome,
    Pupil,
    RoleRate,
    SchoolInsetDay,
    SchoolTermDates,
    Target,
)


def _scoped(query, column, where):
    """Limit a query on a child table to the assignments `where` selects (a join, or
    nothing at all for the whole trust)."""
    if not where:
        return query
    return query.join(Assignment, Assignment.id == column).where(*where)


def load_report_data(session, as_of, *, org_id=None, catalogue_id=None, pupil_id=None,
                     include_planned=False):
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
    school_calendars = calendars(session, None if org_id is None else [org_id])
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
        if r.cost_basis == "staff_rate" and rate is None:
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


KEY_COLUMNS = {
    "provision": ("catalogue_id",),
    "provision_org": ("catalogue_id", "org_id"),
    "org": ("org_id",),
    "trust": (),
}


def impact(session, as_of, *, group_by="provision", org_id=None, catalogue_id=None):
    """(impact rows, entries by id): the figures of domain.impact_report, counted by the
    database so that a trust-wide report reads a few hundred rows, not a million.

    Six queries whatever the number of pupils: the catalogue, role rates, sessions
    delivered per provision and school, per-term assignments with their pupils,
    distinct pupils per row, and targets per row with their latest progress (a window
    function). Session-priced provision costs its sessions delivered × the session
    price; per-term provision is costed assignment by assignment (domain.py)."""
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

    per_session = list(domain.SESSION_BASES)
    for catalogue, org, n in session.execute(
            select(Assignment.catalogue_id, Assignment.org_id, func.count())
            .join(DeliveredSession, DeliveredSession.assignment_id == Assignment.id)
            .join(CatalogueEntry, CatalogueEntry.id == Assignment.catalogue_id)
            .where(*where, DeliveredSession.held_on <= as_of,
                   CatalogueEntry.cost_basis.in_(per_session))
            .group_by(Assignment.catalogue_id, Assignment.org_id)).all():
        e = entries[catalogue]
        cost[key_of(catalogue, org)] += domain.session_cost(
            e.cost_basis, e.cost_amount, e.session_minutes, rate(catalogue, org)) * n

    termly = defaultdict(list)
    for row in session.execute(
            select(Assignment.id, Assignment.catalogue_id, Assignment.org_id,
                   Assignment.start_date, Assignment.end_date, Assignment.ended_on,
                   Assignment.sessions_per_week, AssignmentPupil.pupil_id,
                   AssignmentPupil.joined_on, AssignmentPupil.left_on)
            .join(AssignmentPupil, AssignmentPupil.assignment_id == Assignment.id)
            .join(CatalogueEntry, CatalogueEntry.id == Assignment.catalogue_id)
            .where(*where, CatalogueEntry.cost_basis == "per_term")).all():
        termly[row[:7]].append(domain.Membership(row.pupil_id, row.joined_on, row.left_on))
    school_calendars = calendars(session, None if org_id is None else [org_id])
    for (_, catalogue, org, start, end, ended_on, spw), members in termly.items():
        e = entries[catalogue]
        cost[key_of(catalogue, org)] += domain.group_cost_to_date(domain.CostInput(
            basis="per_term", amount=e.cost_amount, session_minutes=e.session_minutes,
            start=start, end=end, ended_on=ended_on, sessions_per_week=spw,
            members=members, calendar=school_calendars.get(org)), None, as_of)

    pupils = {tuple(r[:-1]): r[-1] for r in session.execute(
        select(*keys, func.count(AssignmentPupil.pupil_id.distinct())).select_from(Assignment)
        .join(AssignmentPupil, AssignmentPupil.assignment_id == Assignment.id)
        .where(*where).group_by(*keys)).all()}

    latest = (select(Outcome.target_id, Outcome.progress,
                     func.row_number().over(partition_by=Outcome.target_id,
                                            order_by=(Outcome.reviewed_on.desc(),
                                                      Outcome.recorded_at.desc(),
                                                      Outcome.id.desc())).label("rn"))
              .where(Outcome.reviewed_on <= as_of).subquery())
    linked = (select(*keys, AssignmentTarget.target_id).select_from(Assignment)
              .join(AssignmentTarget, AssignmentTarget.assignment_id == Assignment.id)
              .where(*where).distinct().subquery())
    lkeys = [linked.c[n] for n in names]
    progress = latest.c.progress
    stats = {tuple(r[:-4]): r[-4:] for r in session.execute(
        select(*lkeys, func.count(), func.count(progress),
               func.coalesce(func.sum(case((progress >= domain.MET, 1), else_=0)), 0),
               func.coalesce(func.sum(progress), 0))
        .select_from(linked)
        .outerjoin(latest, (latest.c.target_id == linked.c.target_id) & (latest.c.rn == 1))
        .group_by(*lkeys)).all()}

    rows = []
    for key in sorted(pupils):
        targets, reviewed, met, progress_sum = stats.get(key, (0, 0, 0, 0))
        rows.append(domain.impact_row(key, pupils=pupils[key], targets=targets,
                                      reviewed=reviewed, met=int(met),
                                      progress_sum=int(progress_sum), cost=cost[key]))
    return rows, {k: {"name": e.name, "tier": e.tier} for k, e in entries.items()}


def org_names(session, org_ids=None):
    q = select(Organisation.org_id, Organisation.name)
    if org_ids is not None:
        q = q.where(Organisation.org_id.in_(list(org_ids)))
    return dict(session.execute(q).all())


# -- projection of pupils events ----------------------------------------------------

def upsert_pupil(session, data):
    pupil = session.get(Pupil, data["pupil_id"]) or Pupil(pupil_id=data["pupil_id"])
    pupil.org_id = data["org_id"]
    for key in ("year_group", "registration_group", "sen_status", "primary_need",
                "secondary_need"):
        if key in data:
            setattr(pupil, key, data[key])
    if "areas_of_need" in data:
        pupil.areas_of_need = list(data["areas_of_need"])
    session.add(pupil)
    return pupil


def registration_groups(session, pupil_ids):
    """{pupil_id: class / registration group (None if not recorded)}, in one statement."""
    ids = list(pupil_ids)
    if not ids:
        return {}
    return dict(session.execute(select(Pupil.pupil_id, Pupil.registration_group)
                                .where(Pupil.pupil_id.in_(ids))).all())


def move_pupil(session, pupil_id, to_org_id, moved_on):
    """The pupil's map follows them: their targets and cycles, and provision given to
    them alone while it runs; a place in a group at the old school ends the day before."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        return None
    pupil.org_id = to_org_id
    session.execute(update(Target).where(Target.pupil_id == pupil_id).values(org_id=to_org_id))
    session.execute(update(Cycle).where(Cycle.pupil_id == pupil_id).values(org_id=to_org_id))
    places = session.execute(
        select(AssignmentPupil, Assignment).join(Assignment)
        .where(AssignmentPupil.pupil_id == pupil_id, Assignment.status == domain.ACTIVE,
               AssignmentPupil.left_on.is_(None))).all()
    counts = dict(session.execute(
        select(AssignmentPupil.assignment_id, func.count())
        .where(AssignmentPupil.assignment_id.in_([a.id for _, a in places]))
        .group_by(AssignmentPupil.assignment_id)).all()) if places else {}
    for place, assignment in places:
        if counts[assignment.id] == 1:
            assignment.org_id = to_org_id
        else:
            place.left_on = max(moved_on - timedelta(days=1), place.joined_on)
    return pupil


def erase_pupil(session, pupil_id):
    """Forget a pupil: projection, places, attendance, targets, outcomes, cycles.
    Provision given to them alone goes too; a group keeps its other pupils and the
    register sizes its costs were shared by."""
    alone = select(AssignmentPupil.assignment_id).where(
        AssignmentPupil.pupil_id == pupil_id,
        ~AssignmentPupil.assignment_id.in_(
            select(AssignmentPupil.assignment_id).where(AssignmentPupil.pupil_id != pupil_id)))
    alone_ids = list(session.execute(alone).scalars())
    target_ids = select(Target.id).where(Target.pupil_id == pupil_id)
    session.execute(delete(Outcome).where(Outcome.target_id.in_(target_ids)))
    session.execute(delete(AssignmentTarget).where(AssignmentTarget.target_id.in_(target_ids)))
    session.execute(delete(Target).where(Target.pupil_id == pupil_id))
    session.execute(delete(Attendance).where(Attendance.pupil_id == pupil_id))
    session.execute(delete(AssignmentPupil).where(AssignmentPupil.pupil_id == pupil_id))
    session.execute(update(Outcome).where(Outcome.cycle_id.in_(
        select(Cycle.id).where(Cycle.pupil_id == pupil_id))).values(cycle_id=None))
    session.execute(delete(Cycle).where(Cycle.pupil_id == pupil_id))
    if alone_ids:
        sessions = select(DeliveredSession.id).where(DeliveredSession.assignment_id.in_(alone_ids))
        session.execute(delete(Attendance).where(Attendance.session_id.in_(sessions)))
        session.execute(delete(DeliveredSession).where(
            DeliveredSession.assignment_id.in_(alone_ids)))
        session.execute(delete(AssignmentTarget).where(
            AssignmentTarget.assignment_id.in_(alone_ids)))
        session.execute(delete(Assignment).where(Assignment.id.in_(alone_ids)))
    session.execute(delete(Pupil).where(Pupil.pupil_id == pupil_id))


# -- review timer ---------------------------------------------------------------------

def announce_reviews(db, today, lead_days):
    """Emit provision.review_due once per cycle and review date; return how many."""
    horizon = today + timedelta(days=lead_days)
    with db.unit_of_work() as uow:
        q = (select(Cycle).where(Cycle.status == domain.OPEN, Cycle.review_date <= horizon)
             .order_by(Cycle.review_date, Cycle.id))
        if uow.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)  # two replicas never announce one review
        cycles = uow.session.execute(q).scalars().all()
        due = domain.reviews_to_announce(cycles, today, lead_days)
        for cycle, overdue in due:
            cycle.announced_for = cycle.review_date
            uow.emit("provision.review_due", {
                "cycle_id": cycle.id, "pupil_id": cycle.pupil_id, "org_id": cycle.org_id,
                "review_date": cycle.review_date, "overdue": overdue,
            }, org_id=cycle.org_id, actor="provision-timer")
    return len(due)


def pupils_by_id(session, ids):
    """{pupil_id: Pupil} of the projection, for documents that show year and SEN status."""
    ids = list(ids)
    return {p.pupil_id: p for p in session.execute(
        select(Pupil).where(Pupil.pupil_id.in_(ids))).scalars()} if ids else {}


# -- school calendars ------------------------------------------------------------------

def calendars(session, org_ids=None):
    """{org_id: SchoolCalendar} of the schools that have set term dates or INSET days
    (any other school follows the LA pattern: domain's default)."""
    from services.contracts.school_calendar import SchoolCalendar, SchoolTerm
    terms, inset = defaultdict(lambda: defaultdict(list)), defaultdict(lambda: defaultdict(set))
    t, d = SchoolTermDates, SchoolInsetDay
    q = select(t.org_id, t.academic_year, t.term, t.starts_on, t.ends_on,
               t.half_term_starts_on, t.half_term_ends_on)
    i = select(d.org_id, d.academic_year, literal("inset"), d.day, d.day, null(), null())
    if org_ids is not None:
        q, i = q.where(t.org_id.in_(org_ids)), i.where(d.org_id.in_(org_ids))
    for org, year, term, first, last, half_first, half_last in session.execute(
            union_all(q, i)).all():  # one statement: the reports count theirs
        if term == "inset":
            inset[org][year].add(first)
        else:
            terms[org][year].append(SchoolTerm(term, first, last, half_first, half_last))
    out = {}
    for org in set(terms) | set(inset):
        years = set(terms[org]) | set(inset[org])
        out[org] = SchoolCalendar({y: tuple(terms[org][y]) for y in years if terms[org][y]},
                                  {y: inset[org][y] for y in years
                                   if y in inset[org] or y in terms[org]})
    return out


def set_calendar(session, org_id, academic_year, terms, inset_days):
    """Replace a school's term dates and INSET days for one academic year."""
    session.execute(delete(SchoolTermDates).where(SchoolTermDates.org_id == org_id,
                                                  SchoolTermDates.academic_year == academic_year))
    session.execute(delete(SchoolInsetDay).where(SchoolInsetDay.org_id == org_id,
                                                 SchoolInsetDay.academic_year == academic_year))
    for t in terms:
        session.add(SchoolTermDates(org_id=org_id, academic_year=academic_year, term=t.term,
                                    starts_on=t.starts_on, ends_on=t.ends_on,
                                    half_term_starts_on=t.half_term_starts_on,
                                    half_term_ends_on=t.half_term_ends_on))
    for day in sorted(set(inset_days)):
        session.add(SchoolInsetDay(org_id=org_id, day=day, academic_year=academic_year))
    session.flush()
