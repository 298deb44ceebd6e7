"""EHC plans: the request, its recorded steps, lawful pauses of the clock, and the
daily reminders ahead of each statutory deadline."""

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.db import utcnow
from services.common.errors import NotFound
from services.common.ids import new_id

from .. import domain, payloads, queries
from ..models import EhcPause, EhcPlan, EhcReminderSent, Pupil

log = logging.getLogger(__name__)

TIMER_ACTOR = "pupils.ehcp-timer"


def create_plan(uow, pupil, data):
    now = utcnow()
    plan = EhcPlan(id=new_id(), pupil_id=pupil.id, request_date=data["request_date"],
                   phase_transfer_year=data.get("phase_transfer_year"),
                   phase_transfer_kind=data.get("phase_transfer_kind"),
                   phase_transfer_on=data.get("phase_transfer_on"),
                   assessment_refused=False, issue_refused=False, created_at=now,
                   updated_at=now)
    domain.check_new_plan(plan, queries.has_plan(uow.session, pupil.id))
    uow.session.add(plan)
    uow.session.flush()
    return plan


def update_plan(uow, plan, data):
    for key, value in data.items():
        setattr(plan, key, value)
    domain.check_plan(plan)
    plan.updated_at = utcnow()
    uow.session.flush()


def add_pause(uow, plan, data):
    others = queries.as_pauses(queries.pauses_of(uow.session, plan.id))
    domain.check_pause(data["reason"], data["starts_on"], data.get("ends_on"),
                       request_date=plan.request_date, issued_on=plan.issued_on,
                       others=others)
    pause = EhcPause(id=new_id(), plan_id=plan.id, **data)
    uow.session.add(pause)
    uow.session.flush()
    return pause


def end_pause(uow, plan, pause_id, ends_on):
    pause = uow.session.execute(select(EhcPause).where(
        EhcPause.id == pause_id, EhcPause.plan_id == plan.id)).scalar_one_or_none()
    if pause is None:
        raise NotFound("No such pause")
    domain.check_pause_end(pause, ends_on, request_date=plan.request_date)
    pause.ends_on = ends_on
    uow.session.flush()


def send_due_reminders(db, today, *, lead_working_days, working_days=None):
    """The daily EHC timer's work: emit each reminder due today exactly once (the
    record of what was sent and the event commit together). Returns the reminders."""
    working_days = working_days or domain.WorkingDays()
    with db.unit_of_work() as uow:
        s = uow.session
        plans = s.execute(select(EhcPlan, Pupil.org_id).join(Pupil, Pupil.id == EhcPlan.pupil_id)
                          .where(Pupil.anonymised_at.is_(None))).all()
        pauses = {}
        for p in s.execute(select(EhcPause)).scalars():
            pauses.setdefault(p.plan_id, []).append(domain.Pause(p.starts_on, p.ends_on))
        sent = {(r.plan_id, r.deadline, r.due_date)
                for r in s.execute(select(EhcReminderSent)).scalars()}
        reminders = domain.due_reminders(
            ((plan, pauses.get(plan.id, []), plan.pupil_id, org_id) for plan, org_id in plans),
            today, lead_working_days=lead_working_days, working_days=working_days,
            already_sent=sent)
        for r in reminders:
            s.add(EhcReminderSent(plan_id=r.plan_id, deadline=r.deadline, due_date=r.due_date,
                                  sent_at=utcnow()))
            uow.emit(payloads.ehcp_reminder_type(r), payloads.ehcp_reminder(r),
                     org_id=r.org_id, actor=TIMER_ACTOR)
    return reminders


def daily_reminders(db, today, lead_working_days):
    """The timer's run: the reminders due today, once across replicas."""
    try:
        sent = send_due_reminders(db, today, lead_working_days=lead_working_days)
    except IntegrityError:  # another replica's timer sent them first: once is kept
        log.info("ehcp timer: reminders already sent by another instance")
        return None
    log.info("ehcp timer: %d reminders emitted", len(sent))
    return sent


# -- use cases -----------------------------------------------------------------------

def _pupil_and_plan(uow, principal, pupil_id, plan_id):
    pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
    return pupil, queries.get_plan(uow.session, pupil, plan_id)


def request(db, principal, pupil_id, data):
    """Record an EHC needs assessment request (one plan record per pupil)."""
    with db.unit_of_work() as uow:
        pupil = queries.get_pupil(uow.session, principal, pupil_id, lock=True)
        plan = create_plan(uow, pupil, data)
        return queries.plan_view(uow.session, plan)


def record_steps(db, principal, pupil_id, plan_id, data):
    with db.unit_of_work() as uow:
        _, plan = _pupil_and_plan(uow, principal, pupil_id, plan_id)
        update_plan(uow, plan, data)
        return queries.plan_view(uow.session, plan)


def pause(db, principal, pupil_id, plan_id, data):
    with db.unit_of_work() as uow:
        _, plan = _pupil_and_plan(uow, principal, pupil_id, plan_id)
        return add_pause(uow, plan, data)


def restart(db, principal, pupil_id, plan_id, pause_id, ends_on):
    with db.unit_of_work() as uow:
        _, plan = _pupil_and_plan(uow, principal, pupil_id, plan_id)
        end_pause(uow, plan, pause_id, ends_on)
        return queries.plan_view(uow.session, plan)
