"""SMART targets and the outcomes recorded against them at reviews."""

from services.common import errors
from services.common.db import utcnow
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..models import Cycle, Outcome, Target
from ..queries import scope
from ..queries import targets as target_views


def create_target(db, principal, body):
    with db.unit_of_work() as uow:
        pupil = scope.pupil(uow.session, principal, body["pupil_id"], field="pupil_id",
                            write=True)
        target = Target(id=new_id(), org_id=pupil.org_id, created_by=principal.sub,
                        created_at=utcnow(), **body)
        uow.session.add(target)
        uow.session.flush()
        return target_views.views(uow.session, [target])[0]


def record_outcome(db, principal, target_id, body, today):
    with db.unit_of_work() as uow:
        target = scope.target(uow.session, principal, target_id, write=True)
        return add_outcome(uow, principal, target, body, today)


def add_outcome(uow, principal, target, body, today, field_prefix=""):
    """Record progress on `target` in the unit of work (a review records several);
    errors name the body's field under `field_prefix`."""
    if body["reviewed_on"] > today:
        raise errors.RuleBroken("Must not be in the future", field=f"{field_prefix}reviewed_on")
    if body.get("cycle_id"):
        cycle = uow.session.get(Cycle, body["cycle_id"])
        if cycle is None or cycle.pupil_id != target.pupil_id:
            raise errors.RuleBroken("No such cycle for this pupil",
                                    field=f"{field_prefix}cycle_id")
    try:
        domain.check_level_against_score(body["level"], body["score"], target.target_score,
                                         target.baseline_score)
    except errors.RuleBroken as exc:
        raise errors.RuleBroken(exc.detail, field=f"{field_prefix}level") from None
    outcome = Outcome(id=new_id(), target_id=target.id, cycle_id=body.get("cycle_id"),
                      reviewed_on=body["reviewed_on"], level=body["level"],
                      progress=domain.LEVEL_RANK[body["level"]], score=body["score"],
                      note=body["note"], recorded_by=principal.sub, recorded_at=utcnow())
    uow.session.add(outcome)
    if target.latest_reviewed_on is None or outcome.reviewed_on >= target.latest_reviewed_on:
        # the latest (by review day, then when recorded), as the reports read it
        target.latest_progress, target.latest_reviewed_on = outcome.progress, outcome.reviewed_on
    uow.emit(events.OUTCOME_RECORDED,
             payloads.outcome_recorded(outcome, target, domain.LEVEL_TO_LEGACY[outcome.level],
                                       domain.is_met(outcome.progress)),
             org_id=target.org_id, actor=principal.sub)
    return outcome
