"""Assess-plan-do-review cycles: open one, review it, announce reviews coming due."""

from datetime import timedelta

from sqlalchemy import func, select

from services.common import errors
from services.common.db import utcnow
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..models import Cycle, Target
from ..queries import cycles as cycle_views
from ..queries import scope
from .targets import add_outcome


def open_cycle(db, principal, body):
    """A pupil's next cycle (one open at a time), numbered from 1."""
    domain.check_review_date(body["started_on"], body["review_date"])
    with db.unit_of_work() as uow:
        s = uow.session
        pupil = scope.pupil(s, principal, body["pupil_id"], field="pupil_id", write=True)
        if s.execute(select(Cycle.id).where(Cycle.pupil_id == pupil.pupil_id,
                                            Cycle.status == domain.OPEN)).first():
            raise errors.Conflict("Review the pupil's open cycle before starting another")
        number = (s.execute(select(func.max(Cycle.number)).where(
            Cycle.pupil_id == pupil.pupil_id)).scalar() or 0) + 1
        cycle = Cycle(id=new_id(), org_id=pupil.org_id, number=number, status=domain.OPEN,
                      created_by=principal.sub, created_at=utcnow(), **body)
        s.add(cycle)
        s.flush()
        uow.emit(events.APDR_CYCLE_OPENED, payloads.cycle_opened(cycle), org_id=cycle.org_id,
                 actor=principal.sub)
        return cycle_views.view(cycle)


def review_cycle(db, principal, cycle_id, body, today):
    """Review an open cycle, with an outcome for each target reviewed."""
    if body["reviewed_on"] > today:
        raise errors.RuleBroken("Must not be in the future", field="reviewed_on")
    with db.unit_of_work() as uow:
        s = uow.session
        cycle = scope.cycle(s, principal, cycle_id, write=True)
        if cycle.status != domain.OPEN:
            raise errors.Conflict("This cycle has already been reviewed")
        if body["reviewed_on"] < cycle.started_on:
            raise errors.RuleBroken("Must not be before the cycle started", field="reviewed_on")
        met = 0
        for i, row in enumerate(body["outcomes"]):
            target = s.get(Target, row["target_id"])
            if target is None or target.pupil_id != cycle.pupil_id:
                raise errors.RuleBroken("No such target for this pupil",
                                        field=f"outcomes.{i}.target_id")
            add_outcome(uow, principal, target, {**row, "reviewed_on": body["reviewed_on"],
                                                 "cycle_id": cycle.id},
                        today, field_prefix=f"outcomes.{i}.")
            met += domain.is_met(domain.LEVEL_RANK[row["level"]])
        cycle.status, cycle.reviewed_on = domain.REVIEWED, body["reviewed_on"]
        cycle.review_note = body["note"]
        uow.emit(events.APDR_CYCLE_REVIEWED,
                 payloads.cycle_reviewed(cycle, len(body["outcomes"]), met),
                 org_id=cycle.org_id, actor=principal.sub)
        return cycle_views.view(cycle)


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
            uow.emit(events.PROVISION_REVIEW_DUE, payloads.review_due(cycle, overdue),
                     org_id=cycle.org_id, actor="provision-timer")
    return len(due)
