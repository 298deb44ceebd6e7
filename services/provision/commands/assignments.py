"""Assigning provision to a pupil or a group, recording sessions, ending it."""

from sqlalchemy import select

from services.common import errors
from services.common.db import utcnow
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..models import Assignment as AssignmentRow
from ..models import (
    AssignmentPupil,
    AssignmentTarget,
    Attendance,
    CatalogueEntry,
    Cycle,
    DeliveredSession,
    RoleRate,
    Target,
)
from ..queries import assignments as assignment_views
from ..queries import scope


def assign(db, principal, body):
    """Provision from the catalogue for one pupil or a group at one organisation."""
    now = utcnow()
    with db.unit_of_work() as uow:
        s = uow.session
        pupils = [scope.pupil(s, principal, p, field=f"pupil_ids.{i}", write=True)
                  for i, p in enumerate(body["pupil_ids"])]
        org_id = pupils[0].org_id
        if any(p.org_id != org_id for p in pupils):
            raise errors.RuleBroken("A group's pupils must be at one organisation",
                                    field="pupil_ids")
        entry = s.get(CatalogueEntry, body["catalogue_id"])
        if entry is None or entry.org_id not in (None, org_id) or not entry.active:
            raise errors.RuleBroken("No such provision in the catalogue", field="catalogue_id")
        if len(pupils) > entry.group_size:
            raise errors.RuleBroken(f"This provision takes at most {entry.group_size} pupils",
                                    field="pupil_ids")
        if entry.cost_basis == domain.CostBasis.STAFF_RATE and s.get(
                RoleRate, (org_id, entry.delivered_by)) is None:
            raise errors.RuleBroken(f"Set an hourly rate for {entry.delivered_by} first",
                                    field="catalogue_id")
        if body["statutory"] and any(p.sen_status != "E" for p in pupils):
            raise errors.RuleBroken("Statutory provision is for pupils with an EHC plan "
                                    "(section F)", field="statutory")
        if body["target_ids"]:
            found = s.execute(select(Target.id, Target.pupil_id)
                              .where(Target.id.in_(body["target_ids"]))).all()
            ok = {t.id for t in found if t.pupil_id in body["pupil_ids"]}
            for i, t in enumerate(body["target_ids"]):
                if t not in ok:
                    raise errors.RuleBroken("No such target for these pupils",
                                            field=f"target_ids.{i}")
        a = AssignmentRow(id=new_id(), org_id=org_id, catalogue_id=entry.id,
                          start_date=body["start_date"], end_date=body["end_date"],
                          sessions_per_week=body["sessions_per_week"], staff=body["staff"],
                          statutory=body["statutory"], status=domain.ACTIVE,
                          created_by=principal.sub, created_at=now)
        s.add(a)
        s.flush()
        s.add_all(AssignmentPupil(assignment_id=a.id, pupil_id=p.pupil_id,
                                  joined_on=body["start_date"]) for p in pupils)
        s.add_all(AssignmentTarget(assignment_id=a.id, target_id=t) for t in body["target_ids"])
        s.flush()
        uow.emit(events.PROVISION_ASSIGNED,
                 payloads.assigned(a, entry, body["pupil_ids"], body["target_ids"]),
                 org_id=org_id, actor=principal.sub)
        return assignment_views.views(s, [a])[0]


def record_session(db, principal, assignment_id, body, today):
    """A session delivered, with its register: who was in the group that day."""
    if body["held_on"] > today:
        raise errors.RuleBroken("Must not be in the future", field="held_on")
    with db.unit_of_work() as uow:
        s = uow.session
        a = scope.assignment(s, principal, assignment_id, write=True)
        last = a.ended_on or a.end_date
        if not a.start_date <= body["held_on"] <= last:
            raise errors.RuleBroken("Must fall while the provision runs", field="held_on")
        members = {m.pupil_id: m for m in s.execute(select(AssignmentPupil).where(
            AssignmentPupil.assignment_id == a.id)).scalars()}
        for i, row in enumerate(body["attendance"]):
            m = members.get(row["pupil_id"])
            if m is None or m.joined_on > body["held_on"] or (
                    m.left_on is not None and m.left_on < body["held_on"]):
                raise errors.RuleBroken("Not in this group on that day",
                                        field=f"attendance.{i}.pupil_id")
        entry = s.get(CatalogueEntry, a.catalogue_id)
        session = DeliveredSession(
            id=new_id(), assignment_id=a.id, held_on=body["held_on"],
            minutes=body["minutes"] or entry.session_minutes,
            register_size=len(body["attendance"]), note=body["note"],
            recorded_by=principal.sub, recorded_at=utcnow())
        s.add(session)
        a.sessions_recorded = (a.sessions_recorded or 0) + 1
        s.flush()
        s.add_all(Attendance(session_id=session.id, pupil_id=r["pupil_id"],
                             attended=r["attended"]) for r in body["attendance"])
    return {**{k: getattr(session, k) for k in ("id", "assignment_id", "held_on", "minutes",
                                                "register_size")},
            "attended": sum(1 for r in body["attendance"] if r["attended"])}


def end(db, principal, assignment_id, body):
    """End provision early with a reason; statutory provision needs a review since it
    began (domain.check_can_end)."""
    with db.unit_of_work() as uow:
        s = uow.session
        a = scope.assignment(s, principal, assignment_id, write=True)
        pupil_ids = list(s.execute(select(AssignmentPupil.pupil_id).where(
            AssignmentPupil.assignment_id == a.id)).scalars())
        review = None
        if body["review_cycle_id"]:
            cycle = s.get(Cycle, body["review_cycle_id"])
            if cycle is None or cycle.pupil_id not in pupil_ids:
                raise errors.RuleBroken("No such cycle for these pupils",
                                        field="review_cycle_id")
            review = (cycle.status, cycle.reviewed_on)
        domain.check_can_end(statutory=a.statutory, start=a.start_date,
                             ended_on=body["ended_on"], planned_end=a.end_date,
                             status=a.status, review=review)
        a.status, a.ended_on, a.end_reason = domain.ENDED, body["ended_on"], body["reason"]
        a.end_note, a.review_cycle_id = body["note"], body["review_cycle_id"]
        uow.emit(events.PROVISION_ENDED, payloads.ended(a, pupil_ids), org_id=a.org_id,
                 actor=principal.sub)
        s.flush()
        return assignment_views.views(s, [a])[0]
