"""Use cases of a referral from draft to triage: submit, edit, resubmit, withdraw,
acknowledge, ask for information, accept, decline, allocate, and the overdue clocks."""

from sqlalchemy.exc import IntegrityError

from services.common.config import load
from services.common.db import utcnow
from services.contracts import events

from .. import domain, payloads
from ..config import ReferralsConfig
from ..models import OverdueBreach, Referral
from ..queries import agreement_for, agreement_usage, awaiting_triage, known_breaches
from ..queries import load_referral as _load
from ..schemas import ReferralCreateSchema
from .steps import acting, emit, move, record

A = domain.Action


def _locked(uow, principal, referral_id):
    return _load(uow.session, principal, referral_id, for_update=True)


def submit_new(database, principal, body, now=None):
    """Store a complete referral as submitted and emit `referral.submitted`."""
    now = now or utcnow()
    with database.unit_of_work() as uow:
        referral = Referral(**domain.new_referral(
            body, school_org_id=principal.org, actor=principal.sub, now=now))
        uow.session.add(referral)
        record(uow, referral, A.SUBMIT, principal.sub, now)
        uow.session.flush()
        emit(uow, events.REFERRAL_SUBMITTED, referral, payloads.submitted, principal.sub)
    return referral


def create_draft(database, principal, body, now=None):
    """Keep an incomplete referral as a draft (no event: nobody is told yet)."""
    now = now or utcnow()
    with database.unit_of_work() as uow:
        referral = Referral(**domain.new_referral(
            body, school_org_id=principal.org, actor=principal.sub, now=now, submit=False))
        uow.session.add(referral)
        record(uow, referral, A.CREATE_DRAFT, principal.sub, now)
    return referral


def edit_referral(database, principal, referral_id, body):
    with database.unit_of_work() as uow:
        referral = _locked(uow, principal, referral_id)
        domain.check_editable(referral.status)
        for key, value in domain.referral_fields(body).items():
            setattr(referral, key, value)
    return referral


def submit_existing(database, principal, referral_id, info_answer=None, now=None):
    """Submit a draft, or resubmit with the answer to a request for more information."""
    now = now or utcnow()
    with database.unit_of_work() as uow:
        referral = _locked(uow, principal, referral_id)
        resubmission = referral.status == domain.INFO_REQUESTED
        domain.check_info_answer(referral.status, info_answer)
        if referral.status in domain.EDITABLE:
            # a draft must be complete before it is submitted (422 naming the fields)
            ReferralCreateSchema().load(domain.submission_body(referral))
        move(uow, referral, A.SUBMIT, principal, now)
        if resubmission:
            referral.info_answer = info_answer
        referral.submitted_at = now
        referral.first_submitted_at = referral.first_submitted_at or now
        emit(uow, events.REFERRAL_SUBMITTED, referral, payloads.submitted, principal.sub,
             resubmission=resubmission)
    return referral


def withdraw(database, principal, referral_id, now=None):
    now = now or utcnow()
    with acting(database, principal, referral_id, A.WITHDRAW, now) as (uow, referral):
        emit(uow, events.REFERRAL_WITHDRAWN, referral, payloads.withdrawn, principal.sub)
    return referral


# -- triage ------------------------------------------------------------------------------


def acknowledge(database, principal, referral_id, now=None):
    """Stop the acknowledgement clock (no transition, no event)."""
    now = now or utcnow()
    with database.unit_of_work() as uow:
        referral = _locked(uow, principal, referral_id)
        domain.check_acknowledgeable(referral.status)
        referral.acknowledged_at = referral.acknowledged_at or now
    return referral


def request_info(database, principal, referral_id, question, now=None):
    now = now or utcnow()
    with acting(database, principal, referral_id, A.REQUEST_INFO, now) as (uow, referral):
        referral.info_question, referral.info_answer = question, None
        referral.acknowledged_at = referral.acknowledged_at or now
        emit(uow, events.REFERRAL_INFO_REQUESTED, referral, payloads.info_requested,
             principal.sub)
    return referral


def accept(database, principal, referral_id, override=None, now=None):
    """Accept at triage. Unmet criteria refuse it unless `override` (the panel's
    reason) is given: then the override and its reason are recorded. Over the
    agreement's cap (or behind others waiting) the referral waits for a place."""
    now = now or utcnow()
    with database.unit_of_work() as uow:
        referral = _locked(uow, principal, referral_id)
        domain.target(A.ACCEPT, referral.status)  # 409 before the criteria are looked at
        agreement = agreement_for(uow.session, referral, domain.london_date(now),
                                  for_update=True)
        unmet = domain.check_acceptable(domain.triage(referral, agreement), override,
                                        agreement is not None)
        move(uow, referral, A.ACCEPT, principal, now)
        if unmet:
            referral.panel_override, referral.override_reason = True, override.strip()
        agreement_usage(uow.session, agreement)
        referral.agreement_id = agreement.id
        referral.acknowledged_at = referral.acknowledged_at or now
        if domain.must_wait(agreement.capacity, agreement.places_held,
                            agreement.waiting_count):
            referral.waiting, referral.waiting_since = True, now
        emit(uow, events.REFERRAL_ACCEPTED, referral, payloads.accepted, principal.sub)
    return referral


def decline(database, principal, referral_id, reason, now=None):
    now = now or utcnow()
    with acting(database, principal, referral_id, A.DECLINE, now) as (uow, referral):
        referral.decline_reason = reason
        referral.acknowledged_at = referral.acknowledged_at or now
        emit(uow, events.REFERRAL_DECLINED, referral, payloads.declined, principal.sub)
    return referral


def allocate(database, principal, referral_id, practitioner, now=None):
    """Allocate an accepted referral that holds a place to a practitioner."""
    now = now or utcnow()
    with acting(database, principal, referral_id, A.ALLOCATE, now) as (uow, referral):
        domain.check_not_waiting(referral.waiting)
        referral.practitioner_sub = practitioner["sub"]
        referral.practitioner_name = practitioner["name"]
        referral.practitioner_email = practitioner["email"]
        emit(uow, events.REFERRAL_ALLOCATED, referral, payloads.allocated, principal.sub)
    return referral


# -- overdue clocks -------------------------------------------------------------------

TIMER_ACTOR = "referrals-timer"


def scan_overdue(database, now=None, config=None):
    """The overdue timer's work: emit `referral.overdue` once per breach (recorded in
    the same transaction as the event). Returns how many were emitted."""
    now = now or utcnow()
    config = config or load(ReferralsConfig, "referrals")
    today = domain.london_date(now)
    with database.session() as s:
        candidates = awaiting_triage(s)
        known = known_breaches(s, candidates)
    emitted = 0
    for referral in candidates:
        for breach in domain.breaches(referral, today, config.acknowledge_working_days,
                                      config.triage_working_days):
            if (referral.id, breach.clock, breach.due_date) in known:
                continue
            try:
                with database.unit_of_work() as uow:
                    record_breach(uow, referral.id, breach, now)
                emitted += 1
            except IntegrityError:  # another instance recorded this breach first
                continue
    return emitted


def record_breach(uow, referral_id, breach, now):
    """Record one breach and emit `referral.overdue` in the same transaction (a second
    record of the same breach fails with IntegrityError at flush)."""
    uow.session.add(OverdueBreach(referral_id=referral_id, clock=breach.clock,
                                  due_date=breach.due_date, detected_at=now))
    uow.session.flush()
    referral = uow.session.get(Referral, referral_id, with_for_update=True)
    emit(uow, events.REFERRAL_OVERDUE, referral, payloads.overdue, TIMER_ACTOR, breach)

