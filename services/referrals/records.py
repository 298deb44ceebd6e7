"""The referrals service's reads and writes: scoped queries and state changes with
their events, on a session or unit of work. Used by the HTTP entrypoints and the
overdue timer; the rules themselves live in domain.py."""

import uuid

from marshmallow import ValidationError
from sqlalchemy import func, select

from services.common import access
from services.common.db import utcnow
from services.common.problems import Conflict, Forbidden, NotFound, from_validation_error

from . import domain
from .models import (
    Agreement,
    Organisation,
    OverdueBreach,
    Referral,
    Transition,
    Visit,
)
from .schemas import ReferralCreateSchema

# -- scoping and loading -------------------------------------------------------------


def scope(principal):
    return domain.scope_of(principal.roles, principal.org, principal.sub,
                           access.trust_wide(principal))


def scope_filter(scope):
    """WHERE clauses limiting referrals to what a scope may see."""
    if scope.kind == "all":
        return []
    if scope.kind == "school":
        return [Referral.school_org_id == scope.value]
    if scope.kind == "practitioner":
        return [Referral.practitioner_sub == scope.value]
    return [Referral.id.is_(None)]


def load_referral(session, principal, referral_id, for_update=False):
    """The referral if the caller may see it; another school's (or practitioner's) → 404."""
    stmt = select(Referral).where(Referral.id == referral_id,
                                  *scope_filter(scope(principal)))
    if for_update:
        stmt = stmt.with_for_update()
    referral = session.execute(stmt).scalar_one_or_none()
    if referral is None:
        raise NotFound("No such referral")
    return referral


def history(session, referral_id):
    """A referral's transitions, oldest first (the caller has already loaded it)."""
    return session.execute(select(Transition).where(Transition.referral_id == referral_id)
                           .order_by(Transition.id)).scalars().all()


def transitions(session, principal, referral_id):
    load_referral(session, principal, referral_id)
    return history(session, referral_id)


def visits(session, principal, referral_id):
    load_referral(session, principal, referral_id)
    return session.execute(select(Visit).where(Visit.referral_id == referral_id)
                           .order_by(Visit.visit_date, Visit.logged_at)).scalars().all()


def list_referrals(session, principal, query):
    """(total, page of items) of the referrals the caller may see, filtered by `query`."""
    where = scope_filter(scope(principal))
    for key in ("status", "school_org_id", "waiting"):
        if key in query:
            where.append(getattr(Referral, key) == query[key])
    order = ((Referral.waiting_since, Referral.id) if query.get("waiting")
             else (Referral.created_at.desc(), Referral.id))
    total = session.execute(select(func.count()).select_from(Referral).where(*where)).scalar_one()
    items = session.execute(select(Referral).where(*where).order_by(*order)
                            .limit(query["limit"]).offset(query["offset"])).scalars().all()
    return total, items


def awaiting_triage(session, ordered=False):
    """Referrals whose acknowledgement or triage clock runs (submitted or awaiting info)."""
    stmt = select(Referral).where(Referral.status.in_((domain.SUBMITTED, domain.INFO_REQUESTED)))
    if ordered:
        stmt = stmt.order_by(Referral.first_submitted_at)
    return session.execute(stmt).scalars().all()


def known_breaches(session, candidates):
    """(referral_id, clock, due_date) of the breaches already announced for these."""
    if not candidates:
        return set()
    return {(b.referral_id, b.clock, b.due_date) for b in session.execute(
        select(OverdueBreach).where(OverdueBreach.referral_id.in_(
            [r.id for r in candidates]))).scalars()}


# -- the state machine, events ---------------------------------------------------------


def legal(referral, action):
    """The state `action` leads to, or 409 problem details naming the current status."""
    try:
        return domain.target(action, referral.status)
    except domain.IllegalTransition as exc:
        raise Conflict(str(exc), errors={"status": [referral.status]}) from None


def move(uow, referral, action, principal, now):
    """Apply a state-machine action: 409 if illegal, 403 if the role may not; record it."""
    if not domain.may(action, principal.roles):
        raise Forbidden("Your role does not allow this")
    before = referral.status
    referral.status = legal(referral, action)
    uow.session.add(Transition(referral_id=referral.id, from_status=before,
                               to_status=referral.status, action=action,
                               actor=principal.sub, at=now))


def emit(uow, event_type, referral, data, actor):
    uow.emit(event_type, data, org_id=referral.school_org_id, actor=actor)


def simple_action(uow, principal, referral_id, action, now):
    """A transition with nothing but its base event (e.g. withdraw)."""
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    move(uow, referral, action, principal, now)
    emit(uow, domain.event_of(action), referral, domain.base_event(referral), principal.sub)
    return referral


# -- creating, editing, submitting ----------------------------------------------------


def submit_new(uow, principal, body, now):
    """Store a complete referral as submitted and emit `referral.submitted`."""
    referral = Referral(**domain.new_referral(
        body, school_org_id=principal.org, actor=principal.sub, now=now))
    uow.session.add(referral)
    uow.session.add(Transition(referral_id=referral.id, from_status=None,
                               to_status=referral.status, action="submit",
                               actor=principal.sub, at=now))
    uow.session.flush()
    emit(uow, "referral.submitted", referral, domain.submitted_event(referral), principal.sub)
    return referral


def create_draft(uow, principal, body, now):
    referral = Referral(**domain.new_referral(
        body, school_org_id=principal.org, actor=principal.sub, now=now, submit=False))
    uow.session.add(referral)
    uow.session.add(Transition(referral_id=referral.id, from_status=None,
                               to_status=referral.status, action="create_draft",
                               actor=principal.sub, at=now))
    return referral


def edit_referral(uow, principal, referral_id, body):
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    if referral.status not in domain.EDITABLE:
        raise Conflict(f"A referral that is {referral.status} cannot be edited",
                       errors={"status": [referral.status]})
    for key, value in domain.referral_fields(body).items():
        setattr(referral, key, value)
    return referral


def submit_existing(uow, principal, referral_id, info_answer, now):
    """Submit a draft, or resubmit with the answer to a request for more information."""
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    resubmission = referral.status == domain.INFO_REQUESTED
    if resubmission and not info_answer:
        raise from_validation_error(ValidationError(
            {"info_answer": ["Answer the request for more information"]}))
    if referral.status in domain.EDITABLE:
        try:  # a draft must be complete before it is submitted
            ReferralCreateSchema().load(domain.submission_body(referral))
        except ValidationError as exc:
            raise from_validation_error(exc) from None
    move(uow, referral, "submit", principal, now)
    if resubmission:
        referral.info_answer = info_answer
    referral.submitted_at = now
    referral.first_submitted_at = referral.first_submitted_at or now
    emit(uow, "referral.submitted", referral,
         domain.submitted_event(referral, resubmission=resubmission), principal.sub)
    return referral


# -- triage ------------------------------------------------------------------------------


def acknowledge(uow, principal, referral_id):
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    if referral.status not in (domain.SUBMITTED, domain.INFO_REQUESTED):
        raise Conflict(f"A referral that is {referral.status} cannot be acknowledged",
                       errors={"status": [referral.status]})
    referral.acknowledged_at = referral.acknowledged_at or utcnow()
    return referral


def request_info(uow, principal, referral_id, question, now):
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    move(uow, referral, "request_info", principal, now)
    referral.info_question, referral.info_answer = question, None
    referral.acknowledged_at = referral.acknowledged_at or now
    emit(uow, "referral.info_requested", referral, domain.base_event(referral), principal.sub)
    return referral


def agreement_for(session, referral, today, for_update=False):
    """The referral's school's agreement for the term `today` falls in, or None."""
    year, term = domain.term_of(today)
    stmt = select(Agreement).where(Agreement.school_org_id == referral.school_org_id,
                                   Agreement.academic_year == year, Agreement.term == term)
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def accept(uow, principal, referral_id, now, override=None):
    """Accept at triage. Unmet criteria refuse it unless `override` (the panel's
    reason) is given: then the override and its reason are recorded."""
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    legal(referral, "accept")
    agreement = agreement_for(uow.session, referral, domain.london_date(now), for_update=True)
    unmet = domain.unmet(domain.triage(referral, agreement))
    if unmet and not (override and agreement is not None):
        raise Conflict("The referral does not meet the acceptance criteria: "
                       + ", ".join(sorted(unmet)), errors=unmet)
    move(uow, referral, "accept", principal, now)
    if unmet:
        referral.panel_override, referral.override_reason = True, override.strip()
    agreement_usage(uow.session, agreement)
    referral.agreement_id = agreement.id
    referral.acknowledged_at = referral.acknowledged_at or now
    if domain.must_wait(agreement.capacity, agreement.places_held, agreement.waiting_count):
        referral.waiting, referral.waiting_since = True, now
    emit(uow, "referral.accepted", referral, domain.accepted_event(referral), principal.sub)
    return referral


def decline(uow, principal, referral_id, reason, now):
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    move(uow, referral, "decline", principal, now)
    referral.decline_reason = reason
    referral.acknowledged_at = referral.acknowledged_at or now
    emit(uow, "referral.declined", referral,
         {**domain.base_event(referral), "reason": reason}, principal.sub)
    return referral


def allocate(uow, principal, referral_id, practitioner, now):
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    move(uow, referral, "allocate", principal, now)
    if referral.waiting:
        raise Conflict("The referral is waiting for a place under its agreement's cap",
                       errors={"waiting": ["Waiting for a place"]})
    p = practitioner
    referral.practitioner_sub = p["sub"]
    referral.practitioner_name, referral.practitioner_email = p["name"], p["email"]
    emit(uow, "referral.allocated", referral,
         {**domain.base_event(referral), "practitioner": p}, principal.sub)
    return referral


# -- visits, report, closure ------------------------------------------------------------


def log_visit(uow, principal, referral_id, body, now):
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    move(uow, referral, "log_visit", principal, now)
    agreement = uow.session.execute(select(Agreement).where(
        Agreement.id == referral.agreement_id).with_for_update()).scalar_one()
    agreement_usage(uow.session, agreement)
    try:
        overridden = domain.check_visit_minutes(
            body["minutes"], agreement.minutes_bought, agreement.minutes_used,
            body["override"], principal.roles)
    except domain.RuleBroken as exc:
        raise Conflict(exc.detail, errors=exc.errors) from None
    except PermissionError as exc:
        raise Forbidden(str(exc)) from None
    visit = Visit(id=str(uuid.uuid4()), referral_id=referral.id,
                  agreement_id=agreement.id, visit_date=body["visit_date"],
                  minutes=body["minutes"], seen=list(body["seen"]),
                  observations=body["observations"],
                  recommendations=body["recommendations"],
                  practitioner_sub=principal.sub, override=overridden,
                  override_by=principal.sub if overridden else None, logged_at=now)
    uow.session.add(visit)
    emit(uow, "referral.visit_logged", referral,
         {**domain.base_event(referral), "visit_id": visit.id,
          "visit_date": visit.visit_date.isoformat(), "minutes": visit.minutes},
         principal.sub)
    return visit


def issue_report(uow, principal, referral_id, body, now):
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    move(uow, referral, "issue_report", principal, now)
    referral.report_id = str(uuid.uuid4())
    referral.report_summary = body["summary"]
    referral.recommendations = [dict(r) for r in body["recommendations"]]
    referral.report_issued_at = now
    emit(uow, "referral.report_issued", referral,
         {**domain.base_event(referral), "report_id": referral.report_id}, principal.sub)
    return referral


def close(uow, principal, referral_id, outcome, now):
    """Close with an outcome; the freed place goes to the first referral waiting."""
    referral = load_referral(uow.session, principal, referral_id, for_update=True)
    move(uow, referral, "close", principal, now)
    referral.outcome, referral.closed_at = outcome, now
    emit(uow, "referral.closed", referral, domain.closed_event(referral), principal.sub)
    uow.session.flush()
    agreement = uow.session.execute(select(Agreement).where(
        Agreement.id == referral.agreement_id).with_for_update()).scalar_one()
    grant_places(uow, agreement, principal.sub, now)
    return referral


# -- overdue clocks -------------------------------------------------------------------


def record_breach(uow, referral, breach, now):
    """Record one breach and emit `referral.overdue` in the same transaction (a second
    record of the same breach fails with IntegrityError at flush)."""
    uow.session.add(OverdueBreach(referral_id=referral.id, clock=breach.clock,
                                  due_date=breach.due_date, detected_at=now))
    uow.session.flush()
    emit(uow, "referral.overdue", referral,
         {**domain.base_event(referral), "clock": breach.clock,
          "due_date": breach.due_date.isoformat()}, "referrals-timer")


# -- agreements: the hours ledger and the places queue ---------------------------------


def agreement_usage(session, agreement):
    """Attach minutes used, places held and the waiting count to an agreement."""
    agreement.minutes_used = session.execute(
        select(func.coalesce(func.sum(Visit.minutes), 0))
        .where(Visit.agreement_id == agreement.id)).scalar_one()
    agreement.places_held = session.execute(
        select(func.count()).select_from(Referral).where(
            Referral.agreement_id == agreement.id, Referral.status.in_(domain.HOLDS_PLACE),
            Referral.waiting.is_(False))).scalar_one()
    agreement.waiting_count = session.execute(
        select(func.count()).select_from(Referral).where(
            Referral.agreement_id == agreement.id, Referral.status == domain.ACCEPTED,
            Referral.waiting.is_(True))).scalar_one()
    return agreement


def grant_places(uow, agreement, actor, now):
    """Give freed places to waiting referrals, in the order they started waiting."""
    agreement_usage(uow.session, agreement)
    n = domain.places_to_grant(agreement.capacity, agreement.places_held,
                               agreement.waiting_count)
    if n <= 0:
        return []
    queue = uow.session.execute(
        select(Referral).where(Referral.agreement_id == agreement.id,
                               Referral.status == domain.ACCEPTED,
                               Referral.waiting.is_(True))
        .order_by(Referral.waiting_since, Referral.id).limit(n).with_for_update()).scalars().all()
    for referral in queue:
        referral.waiting = False
        uow.session.add(Transition(referral_id=referral.id, from_status=referral.status,
                                   to_status=referral.status, action="grant_place",
                                   actor=actor, at=now))
        emit(uow, "referral.place_granted", referral,
             {**domain.base_event(referral), "agreement_id": agreement.id}, actor)
    return queue


def create_agreement(uow, body, actor, now):
    """Add an agreement (a second for the same school and term fails at commit)."""
    agreement = Agreement(
        id=str(uuid.uuid4()), school_org_id=body["school_org_id"],
        academic_year=body["academic_year"], term=body["term"],
        minutes_bought=round(body["hours_bought"] * 60), capacity=body["capacity"],
        min_cycles=body["min_cycles"], consent_required=body["consent_required"],
        upn_required=body["upn_required"], created_by=actor, created_at=now)
    uow.session.add(agreement)
    return agreement


def load_agreement(session, principal, agreement_id, for_update=False):
    """The agreement if the caller may see it (a school only its own), else 404."""
    stmt = select(Agreement).where(Agreement.id == agreement_id)
    stmt = stmt.where(*access.org_clause(principal, Agreement.school_org_id))
    if for_update:
        stmt = stmt.with_for_update()
    agreement = session.execute(stmt).scalar_one_or_none()
    if agreement is None:
        raise NotFound("No such agreement")
    return agreement


def list_agreements(session, principal):
    stmt = select(Agreement).order_by(Agreement.academic_year, Agreement.school_org_id,
                                      Agreement.term)
    stmt = stmt.where(*access.org_clause(principal, Agreement.school_org_id))
    return [agreement_usage(session, a) for a in session.execute(stmt).scalars().all()]


def update_agreement(uow, principal, agreement_id, body, now):
    agreement = load_agreement(uow.session, principal, agreement_id, for_update=True)
    if "hours_bought" in body:
        agreement.minutes_bought = round(body["hours_bought"] * 60)
    for key in ("capacity", "min_cycles", "consent_required", "upn_required"):
        if key in body:
            setattr(agreement, key, body[key])
    uow.session.flush()
    grant_places(uow, agreement, principal.sub, now)
    agreement_usage(uow.session, agreement)
    return agreement


def statement_visits(session, agreement):
    """(visit_date, reference, minutes, override) of the agreement's visits, in order."""
    rows = session.execute(
        select(Visit.visit_date, Referral.reference, Visit.minutes, Visit.override)
        .join(Referral, Referral.id == Visit.referral_id)
        .where(Visit.agreement_id == agreement.id)
        .order_by(Visit.visit_date, Visit.logged_at)).all()
    return [tuple(r) for r in rows]


# -- projections -----------------------------------------------------------------------


def upsert_organisation(uow, data):
    """Keep the local copy of an onboarded organisation (for sign-in by contact email)."""
    org = uow.session.get(Organisation, data["org_id"]) or Organisation(org_id=data["org_id"])
    org.name, org.kind, org.urn = data["name"], data["kind"], data["urn"]
    org.contact_email = (data.get("contact_email") or "").strip().lower() or None
    uow.session.add(org)
