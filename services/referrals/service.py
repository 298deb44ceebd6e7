"""Referrals service entrypoints: parse, authorise, call the domain, respond.

Lifecycle: POST /api/v1/referrals submits a complete referral (201, status
"submitted"); POST /api/v1/referrals/drafts keeps an incomplete one as a draft,
which the school edits (PATCH) and submits (POST .../submit). Each transition
has its own path (POST /api/v1/referrals/{id}/<action>); an action the state
machine does not allow from the current status answers 409 problem details.
"""

import logging
import uuid
from datetime import timedelta

from marshmallow import ValidationError, fields
from nameko.timer import timer
from nameko.web.handlers import HttpRequestHandler
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Response

from services.common import settings
from services.common.auth import Principal
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import PlatformWebServer, api
from services.common.outbox import OutboxRelay
from services.common.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    Unprocessable,
    from_validation_error,
)
from services.common.service import PlatformService

from . import domain, web
from .models import (
    Agreement,
    Base,
    Organisation,
    OverdueBreach,
    Referral,
    SignInLink,
    Transition,
    Visit,
    WebSession,
)
from .schemas import (
    AgreementCreateSchema,
    AgreementListSchema,
    AgreementSchema,
    AgreementUpdateSchema,
    AllocateSchema,
    CloseSchema,
    DeclineSchema,
    ListQuerySchema,
    OverdueListSchema,
    ReferralCreateSchema,
    ReferralDraftSchema,
    ReferralPageSchema,
    ReferralSchema,
    ReportCreateSchema,
    RequestInfoSchema,
    StatementSchema,
    SubmitSchema,
    TransitionSchema,
    TriageSchema,
    VisitCreateSchema,
    VisitSchema,
)

log = logging.getLogger(__name__)

SERVICE = "referrals"
READERS = ("partner_referrer", "outreach", "outreach_lead", "trust_admin", "auditor")
TRIAGE_READERS = ("outreach_lead", "trust_admin", "auditor")
AGREEMENT_READERS = ("partner_referrer", "outreach_lead", "trust_admin", "auditor")
PATH = "/api/v1/referrals/<string:referral_id>"


class Page(HttpRequestHandler):
    """A server-rendered page of the web form, on the same web server as the API."""

    server = PlatformWebServer()

    def response_from_exception(self, exc):
        if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
            return html(web.render("message.html", title=exc.name, lines=[]), status=exc.code)
        log.error("unhandled %s in referrals.%s", type(exc).__name__, self.method_name)
        return html(web.render("message.html", title="Sorry, there is a problem with the service",
                               lines=["Try again later."]), status=500)


page = Page.decorator
SECURITY_HEADERS = {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
                    "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def html(body, status=200):
    return Response(body, status=status, content_type="text/html; charset=utf-8",
                    headers=SECURITY_HEADERS)


def clock_settings():
    """(acknowledge, triage) working days: REFERRALS_ACKNOWLEDGE_WORKING_DAYS and
    REFERRALS_TRIAGE_WORKING_DAYS (defaults 2 and 10)."""
    return (int(settings.get("ACKNOWLEDGE_WORKING_DAYS", "2", service=SERVICE)),
            int(settings.get("TRIAGE_WORKING_DAYS", "10", service=SERVICE)))


def _scope(principal):
    return domain.scope_of(principal.roles, principal.org, principal.sub)


def _scope_filter(scope):
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
                                  *_scope_filter(_scope(principal)))
    if for_update:
        stmt = stmt.with_for_update()
    referral = session.execute(stmt).scalar_one_or_none()
    if referral is None:
        raise NotFound("No such referral")
    return referral


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


def submit_new(database, principal, body):
    """Store a complete referral as submitted and emit `referral.submitted` (API and form)."""
    now = utcnow()
    with database.unit_of_work() as uow:
        referral = Referral(**domain.new_referral(
            body, school_org_id=principal.org, actor=principal.sub, now=now))
        uow.session.add(referral)
        uow.session.add(Transition(referral_id=referral.id, from_status=None,
                                   to_status=referral.status, action="submit",
                                   actor=principal.sub, at=now))
        uow.session.flush()
        emit(uow, "referral.submitted", referral, domain.submitted_event(referral),
             principal.sub)
    return referral


def submit_existing(database, principal, referral_id, info_answer=None):
    """Submit a draft, or resubmit with the answer to a request for more information."""
    now = utcnow()
    with database.unit_of_work() as uow:
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


def scan_overdue(database, now=None):
    """The overdue timer's work, as a plain function: emit `referral.overdue` once
    per breach (recorded in the same transaction as the event). Returns how many."""
    now = now or utcnow()
    today = domain.london_date(now)
    ack_days, triage_days = clock_settings()
    with database.session() as s:
        candidates = s.execute(select(Referral).where(
            Referral.status.in_((domain.SUBMITTED, domain.INFO_REQUESTED)))).scalars().all()
        known = {(b.referral_id, b.clock, b.due_date) for b in s.execute(
            select(OverdueBreach).where(OverdueBreach.referral_id.in_(
                [r.id for r in candidates]))).scalars()} if candidates else set()
    emitted = 0
    for referral in candidates:
        for breach in domain.breaches(referral, today, ack_days, triage_days):
            if (referral.id, breach.clock, breach.due_date) in known:
                continue
            try:
                with database.unit_of_work() as uow:
                    uow.session.add(OverdueBreach(referral_id=referral.id, clock=breach.clock,
                                                  due_date=breach.due_date, detected_at=now))
                    uow.session.flush()
                    emit(uow, "referral.overdue", referral,
                         {**domain.base_event(referral), "clock": breach.clock,
                          "due_date": breach.due_date.isoformat()}, "referrals-timer")
                emitted += 1
            except IntegrityError:  # another instance recorded this breach first
                continue
    return emitted


class ReferralsService(PlatformService):
    name = SERVICE
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()

    # -- creating, editing, reading -------------------------------------------------

    @api("POST", "/api/v1/referrals", roles=("partner_referrer",), body=ReferralCreateSchema,
         response=ReferralSchema, status=201,
         summary="Submit an outreach referral (complete body; drafts: POST /api/v1/referrals/drafts)")
    def create_referral(self, request, principal, body):
        return submit_new(self.db, principal, body)

    @api("POST", "/api/v1/referrals/drafts", roles=("partner_referrer",),
         body=ReferralDraftSchema, response=ReferralSchema, status=201,
         summary="Start a draft referral (any subset of fields); submit it with POST .../submit")
    def create_draft(self, request, principal, body):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = Referral(**domain.new_referral(
                body, school_org_id=principal.org, actor=principal.sub, now=now, submit=False))
            uow.session.add(referral)
            uow.session.add(Transition(referral_id=referral.id, from_status=None,
                                       to_status=referral.status, action="create_draft",
                                       actor=principal.sub, at=now))
        return referral

    @api("PATCH", PATH, roles=("partner_referrer",), body=ReferralDraftSchema,
         response=ReferralSchema,
         summary="Edit a referral (only a draft or one awaiting more information)")
    def edit_referral(self, request, principal, body, referral_id):
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            if referral.status not in domain.EDITABLE:
                raise Conflict(f"A referral that is {referral.status} cannot be edited",
                               errors={"status": [referral.status]})
            for key, value in domain.referral_fields(body).items():
                setattr(referral, key, value)
        return referral

    @api("GET", "/api/v1/referrals", roles=READERS, query=ListQuerySchema,
         response=ReferralPageSchema,
         summary="List referrals: a school its own, a practitioner theirs, the trust all")
    def list_referrals(self, request, principal, query):
        where = _scope_filter(_scope(principal))
        for key in ("status", "school_org_id", "waiting"):
            if key in query:
                where.append(getattr(Referral, key) == query[key])
        order = ((Referral.waiting_since, Referral.id) if query.get("waiting")
                 else (Referral.created_at.desc(), Referral.id))
        with self.db.session() as s:
            total = s.execute(select(func.count()).select_from(Referral).where(*where)).scalar_one()
            items = s.execute(select(Referral).where(*where).order_by(*order)
                              .limit(query["limit"]).offset(query["offset"])).scalars().all()
        return {"items": items, "total": total, "limit": query["limit"],
                "offset": query["offset"]}

    @api("GET", "/api/v1/referrals/overdue", roles=TRIAGE_READERS, response=OverdueListSchema,
         summary="Referrals past their acknowledgement or triage clock (England working days)")
    def list_overdue(self, request, principal):
        today = domain.london_date(utcnow())
        ack_days, triage_days = clock_settings()
        with self.db.session() as s:
            candidates = s.execute(select(Referral).where(
                Referral.status.in_((domain.SUBMITTED, domain.INFO_REQUESTED)))
                .order_by(Referral.first_submitted_at)).scalars().all()
        items = [{"referral_id": r.id, "reference": r.reference,
                  "school_org_id": r.school_org_id, "status": r.status,
                  "clock": b.clock, "due_date": b.due_date}
                 for r in candidates for b in domain.breaches(r, today, ack_days, triage_days)]
        return {"items": items}

    @api("GET", PATH, roles=READERS, response=ReferralSchema, summary="Get one referral")
    def get_referral(self, request, principal, referral_id):
        with self.db.session() as s:
            return load_referral(s, principal, referral_id)

    @api("GET", PATH + "/transitions", roles=READERS, response=TransitionSchema,
         summary="A referral's history: every transition with who and when")
    def list_transitions(self, request, principal, referral_id):
        with self.db.session() as s:
            load_referral(s, principal, referral_id)
            return s.execute(select(Transition).where(Transition.referral_id == referral_id)
                             .order_by(Transition.id)).scalars().all()

    # -- the school's actions -------------------------------------------------------

    @api("POST", PATH + "/submit", roles=("partner_referrer",), body=SubmitSchema,
         response=ReferralSchema,
         summary="Submit a draft, or resubmit with the information outreach asked for")
    def submit(self, request, principal, body, referral_id):
        return submit_existing(self.db, principal, referral_id, body.get("info_answer"))

    @api("POST", PATH + "/withdraw", roles=("partner_referrer",), response=ReferralSchema,
         summary="Withdraw a referral before it is accepted")
    def withdraw(self, request, principal, referral_id):
        return self._simple(principal, referral_id, "withdraw")

    # -- triage --------------------------------------------------------------------

    @api("POST", PATH + "/acknowledge", roles=domain.TRIAGE, response=ReferralSchema,
         summary="Acknowledge a submitted referral (stops the acknowledgement clock)")
    def acknowledge(self, request, principal, referral_id):
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            if referral.status not in (domain.SUBMITTED, domain.INFO_REQUESTED):
                raise Conflict(f"A referral that is {referral.status} cannot be acknowledged",
                               errors={"status": [referral.status]})
            referral.acknowledged_at = referral.acknowledged_at or utcnow()
        return referral

    @api("POST", PATH + "/request-info", roles=domain.TRIAGE, body=RequestInfoSchema,
         response=ReferralSchema, summary="Ask the school for more information")
    def request_info(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            move(uow, referral, "request_info", principal, now)
            referral.info_question, referral.info_answer = body["question"], None
            referral.acknowledged_at = referral.acknowledged_at or now
            emit(uow, "referral.info_requested", referral, domain.base_event(referral),
                 principal.sub)
        return referral

    def _agreement_for(self, session, referral, today, for_update=False):
        year, term = domain.term_of(today)
        stmt = select(Agreement).where(Agreement.school_org_id == referral.school_org_id,
                                       Agreement.academic_year == year, Agreement.term == term)
        if for_update:
            stmt = stmt.with_for_update()
        return session.execute(stmt).scalar_one_or_none()

    @api("GET", PATH + "/triage", roles=TRIAGE_READERS, response=TriageSchema,
         summary="Check a referral against its agreement's acceptance criteria")
    def triage(self, request, principal, referral_id):
        with self.db.session() as s:
            referral = load_referral(s, principal, referral_id)
            agreement = self._agreement_for(s, referral, domain.london_date(utcnow()))
        criteria = domain.triage(referral, agreement)
        return {"referral_id": referral.id, "agreement_id": agreement and agreement.id,
                "all_met": all(c.met for c in criteria), "criteria": criteria}

    @api("POST", PATH + "/accept", roles=domain.TRIAGE, response=ReferralSchema,
         summary="Accept at triage (criteria of this term's agreement must be met; over the "
                 "cap the referral waits for a place)")
    def accept(self, request, principal, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            legal(referral, "accept")
            agreement = self._agreement_for(uow.session, referral, domain.london_date(now),
                                            for_update=True)
            unmet = domain.unmet(domain.triage(referral, agreement))
            if unmet:
                raise Conflict("The referral does not meet the acceptance criteria: "
                               + ", ".join(sorted(unmet)), errors=unmet)
            move(uow, referral, "accept", principal, now)
            agreement_usage(uow.session, agreement)
            referral.agreement_id = agreement.id
            referral.acknowledged_at = referral.acknowledged_at or now
            if not domain.has_place(agreement.capacity, agreement.places_held) \
                    or agreement.waiting_count:
                referral.waiting, referral.waiting_since = True, now
            emit(uow, "referral.accepted", referral, domain.accepted_event(referral),
                 principal.sub)
        return referral

    @api("POST", PATH + "/decline", roles=domain.TRIAGE, body=DeclineSchema,
         response=ReferralSchema, summary="Decline at triage, with a reason code")
    def decline(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            move(uow, referral, "decline", principal, now)
            referral.decline_reason = body["reason"]
            referral.acknowledged_at = referral.acknowledged_at or now
            emit(uow, "referral.declined", referral,
                 {**domain.base_event(referral), "reason": body["reason"]}, principal.sub)
        return referral

    @api("POST", PATH + "/allocate", roles=domain.TRIAGE, body=AllocateSchema,
         response=ReferralSchema,
         summary="Allocate an accepted referral (with a place) to an outreach practitioner")
    def allocate(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            move(uow, referral, "allocate", principal, now)
            if referral.waiting:
                raise Conflict("The referral is waiting for a place under its agreement's cap",
                               errors={"waiting": ["Waiting for a place"]})
            p = body["practitioner"]
            referral.practitioner_sub = p["sub"]
            referral.practitioner_name, referral.practitioner_email = p["name"], p["email"]
            emit(uow, "referral.allocated", referral,
                 {**domain.base_event(referral), "practitioner": p}, principal.sub)
        return referral

    # -- visits, report, closure ---------------------------------------------------

    @api("POST", PATH + "/visits", roles=domain.PRACTICE, body=VisitCreateSchema,
         response=VisitSchema, status=201,
         summary="Log a visit; beyond the hours left needs a trust_admin override (marked)")
    def log_visit(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
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

    @api("GET", PATH + "/visits", roles=READERS, response=VisitSchema,
         summary="A referral's visits")
    def list_visits(self, request, principal, referral_id):
        with self.db.session() as s:
            load_referral(s, principal, referral_id)
            return s.execute(select(Visit).where(Visit.referral_id == referral_id)
                             .order_by(Visit.visit_date, Visit.logged_at)).scalars().all()

    @api("POST", PATH + "/report", roles=domain.PRACTICE, body=ReportCreateSchema,
         response=ReferralSchema,
         summary="Issue the outreach report; recommendations may name CPD courses")
    def issue_report(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            move(uow, referral, "issue_report", principal, now)
            referral.report_id = str(uuid.uuid4())
            referral.report_summary = body["summary"]
            referral.recommendations = [dict(r) for r in body["recommendations"]]
            referral.report_issued_at = now
            emit(uow, "referral.report_issued", referral,
                 {**domain.base_event(referral), "report_id": referral.report_id},
                 principal.sub)
        return referral

    @api("POST", PATH + "/close", roles=domain.TRIAGE, body=CloseSchema,
         response=ReferralSchema, summary="Close with an outcome (frees a place)")
    def close(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            move(uow, referral, "close", principal, now)
            referral.outcome, referral.closed_at = body["outcome"], now
            emit(uow, "referral.closed", referral, domain.closed_event(referral), principal.sub)
            uow.session.flush()
            agreement = uow.session.execute(select(Agreement).where(
                Agreement.id == referral.agreement_id).with_for_update()).scalar_one()
            grant_places(uow, agreement, principal.sub, now)
        return referral

    def _simple(self, principal, referral_id, action):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = load_referral(uow.session, principal, referral_id, for_update=True)
            move(uow, referral, action, principal, now)
            emit(uow, domain.event_of(action), referral, domain.base_event(referral),
                 principal.sub)
        return referral

    # -- agreements ----------------------------------------------------------------

    @api("POST", "/api/v1/agreements", roles=("trust_admin",), body=AgreementCreateSchema,
         response=AgreementSchema, status=201,
         summary="Create a service-level agreement with a partner school for a term")
    def create_agreement(self, request, principal, body):
        agreement = Agreement(
            id=str(uuid.uuid4()), school_org_id=body["school_org_id"],
            academic_year=body["academic_year"], term=body["term"],
            minutes_bought=round(body["hours_bought"] * 60), capacity=body["capacity"],
            min_cycles=body["min_cycles"], consent_required=body["consent_required"],
            upn_required=body["upn_required"], created_by=principal.sub, created_at=utcnow())
        try:
            with self.db.unit_of_work() as uow:
                uow.session.add(agreement)
        except IntegrityError:
            raise Conflict("The school already has an agreement for that term",
                           errors={"term": ["Already agreed"]}) from None
        agreement.minutes_used = agreement.places_held = agreement.waiting_count = 0
        return agreement

    def _load_agreement(self, session, principal, agreement_id, for_update=False):
        stmt = select(Agreement).where(Agreement.id == agreement_id)
        if not principal.has_any(domain.ALL_SEEING):
            stmt = stmt.where(Agreement.school_org_id == principal.org)
        if for_update:
            stmt = stmt.with_for_update()
        agreement = session.execute(stmt).scalar_one_or_none()
        if agreement is None:
            raise NotFound("No such agreement")
        return agreement

    @api("GET", "/api/v1/agreements", roles=AGREEMENT_READERS, response=AgreementListSchema,
         summary="List agreements (a school reads its own)")
    def list_agreements(self, request, principal):
        stmt = select(Agreement).order_by(Agreement.academic_year, Agreement.school_org_id,
                                          Agreement.term)
        if not principal.has_any(domain.ALL_SEEING):
            stmt = stmt.where(Agreement.school_org_id == principal.org)
        with self.db.session() as s:
            items = [agreement_usage(s, a) for a in s.execute(stmt).scalars().all()]
        return {"items": items}

    @api("GET", "/api/v1/agreements/<string:agreement_id>", roles=AGREEMENT_READERS,
         response=AgreementSchema, summary="Get one agreement with its hours and places")
    def get_agreement(self, request, principal, agreement_id):
        with self.db.session() as s:
            return agreement_usage(s, self._load_agreement(s, principal, agreement_id))

    @api("PATCH", "/api/v1/agreements/<string:agreement_id>", roles=("trust_admin",),
         body=AgreementUpdateSchema, response=AgreementSchema,
         summary="Change an agreement's hours, cap or criteria (a higher cap grants places)")
    def update_agreement(self, request, principal, body, agreement_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            agreement = self._load_agreement(uow.session, principal, agreement_id,
                                             for_update=True)
            if "hours_bought" in body:
                agreement.minutes_bought = round(body["hours_bought"] * 60)
            for key in ("capacity", "min_cycles", "consent_required", "upn_required"):
                if key in body:
                    setattr(agreement, key, body[key])
            uow.session.flush()
            grant_places(uow, agreement, principal.sub, now)
            agreement_usage(uow.session, agreement)
        return agreement

    @api("GET", "/api/v1/agreements/<string:agreement_id>/statement", roles=AGREEMENT_READERS,
         response=StatementSchema, summary="Statement of hours: bought, each visit, left")
    def agreement_statement(self, request, principal, agreement_id):
        with self.db.session() as s:
            agreement = agreement_usage(s, self._load_agreement(s, principal, agreement_id))
            rows = s.execute(
                select(Visit.visit_date, Referral.reference, Visit.minutes, Visit.override)
                .join(Referral, Referral.id == Visit.referral_id)
                .where(Visit.agreement_id == agreement.id)
                .order_by(Visit.visit_date, Visit.logged_at)).all()
        return {"agreement": agreement,
                **domain.statement(agreement.minutes_bought, [tuple(r) for r in rows])}

    # -- timer and subscriptions ------------------------------------------------------

    @timer(interval=float(settings.get("OVERDUE_SCAN_SECONDS", "300", service=SERVICE)))
    def overdue_timer(self):
        count = scan_overdue(self.db)
        if count:
            log.info("referrals overdue: %d breach(es) announced", count)

    # -- the web form (GOV.UK Frontend; one-time link sign-in) ----------------------

    def _web_session(self, request):
        token = request.cookies.get(web.COOKIE)
        if not token:
            return None
        with self.db.session() as s:
            ws = s.execute(select(WebSession).where(
                WebSession.token_hash == web.token_hash(token))).scalar_one_or_none()
        return ws if ws is not None and ws.expires_at > utcnow() else None

    def _page(self, request, template, status=200, ws=None, **context):
        context.setdefault("errors", [])
        context["errs"] = dict(context["errors"])
        context.setdefault("values", {})
        if ws is not None:
            context.update(user=ws.email, csrf=ws.csrf_token)
        return html(web.render(template, **context), status=status)

    def _signed_in(self, request, post=False):
        """(web session, principal), or a response that sends the user to sign in."""
        ws = self._web_session(request)
        if ws is None:
            return None, redirect(f"{web.PREFIX}/sign-in", code=303)
        if post and not web.same(request.form.get("csrf"), ws.csrf_token):
            return None, self._page(request, "message.html", status=400,
                                    title="Your form expired", lines=["Go back and try again."])
        return ws, Principal(sub=ws.email, org=ws.school_org_id,
                             roles=frozenset({"partner_referrer"}))

    @page("GET", "/forms/referrals/assets/<path:path>")
    def form_assets(self, request, path):
        return send_from_directory(web.ASSETS, path, request.environ, max_age=3600)

    @page("GET", "/forms/referrals/sign-in")
    def form_sign_in(self, request):
        return self._page(request, "sign_in.html", title="Sign in", minutes=web.LINK_MINUTES)

    @page("POST", "/forms/referrals/sign-in")
    def form_send_link(self, request):
        email = request.form.get("email", "").strip().lower()
        try:
            fields.Email(required=True).deserialize(email or None)
        except ValidationError:
            return self._page(request, "sign_in.html", status=422, title="Sign in",
                              minutes=web.LINK_MINUTES, values={"email": email},
                              errors=[("email", "Enter an email address in the correct "
                                                "format, like name@example.com")])
        now = utcnow()
        with self.db.unit_of_work() as uow:
            org = uow.session.execute(select(Organisation).where(
                Organisation.contact_email == email,
                Organisation.kind == "partner_school")).scalars().first()
            if org is not None:  # the same answer either way: no address enumeration
                token = web.new_token()
                uow.session.add(SignInLink(
                    token_hash=web.token_hash(token), email=email, school_org_id=org.org_id,
                    created_at=now, expires_at=now + timedelta(minutes=web.LINK_MINUTES)))
                link = f"{settings.get('PUBLIC_BASE_URL')}{web.PREFIX}/sign-in/{token}"
                uow.after_commit(lambda: web.send_sign_in_email(email, link))
        return self._page(request, "message.html", title="Check your email", lines=[
            "If that address belongs to a partner school, we have sent it a sign-in link.",
            f"The link works once and expires in {web.LINK_MINUTES} minutes."])

    @page("GET", "/forms/referrals/sign-in/<string:token>")
    def form_confirm(self, request, token):
        # a button, not an immediate sign-in: mail scanners that follow links use nothing up
        return self._page(request, "confirm.html", title="Sign in", token=token)

    @page("POST", "/forms/referrals/sign-in/<string:token>")
    def form_use_link(self, request, token):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            link = uow.session.execute(select(SignInLink).where(
                SignInLink.token_hash == web.token_hash(token)).with_for_update()
            ).scalar_one_or_none()
            if link is None or link.used_at is not None or link.expires_at <= now:
                return self._page(request, "message.html", status=400,
                                  title="This sign-in link has expired or was already used",
                                  lines=["Ask for a new link."], link=f"{web.PREFIX}/sign-in",
                                  link_text="Sign in")
            link.used_at = now
            session_token = web.new_token()
            uow.session.add(WebSession(
                token_hash=web.token_hash(session_token), email=link.email,
                school_org_id=link.school_org_id, csrf_token=web.new_token(), created_at=now,
                expires_at=now + timedelta(hours=web.SESSION_HOURS)))
        response = redirect(web.PREFIX, code=303)
        response.set_cookie(web.COOKIE, session_token, max_age=web.SESSION_HOURS * 3600,
                            path=web.PREFIX, httponly=True, samesite="Lax",
                            secure=settings.get("PUBLIC_BASE_URL").startswith("https:"))
        return response

    @page("POST", "/forms/referrals/sign-out")
    def form_sign_out(self, request):
        ws, principal = self._signed_in(request, post=True)
        if ws is None:
            return principal
        with self.db.unit_of_work() as uow:
            uow.session.execute(WebSession.__table__.delete().where(WebSession.id == ws.id))
        response = redirect(f"{web.PREFIX}/sign-in", code=303)
        response.delete_cookie(web.COOKIE, path=web.PREFIX)
        return response

    @page("GET", "/forms/referrals")
    def form_dashboard(self, request):
        ws, principal = self._signed_in(request)
        if ws is None:
            return principal
        with self.db.session() as s:
            referrals = s.execute(select(Referral).where(
                Referral.school_org_id == ws.school_org_id)
                .order_by(Referral.created_at.desc()).limit(200)).scalars().all()
        return self._page(request, "dashboard.html", ws=ws, title="Your referrals",
                          referrals=referrals)

    @page("GET", "/forms/referrals/new")
    def form_new(self, request):
        ws, principal = self._signed_in(request)
        if ws is None:
            return principal
        return self._page(request, "new.html", ws=ws, title="Make an outreach referral",
                          chosen_areas=[], chosen_types=[])

    @page("POST", "/forms/referrals/new")
    def form_submit(self, request):
        ws, principal = self._signed_in(request, post=True)
        if ws is None:
            return principal
        try:
            body = ReferralCreateSchema().load(web.body_from_form(request.form))
        except ValidationError as exc:
            errors = web.form_errors(from_validation_error(exc).errors)
            return self._page(request, "new.html", status=422, ws=ws,
                              title="Make an outreach referral", errors=errors,
                              values=request.form.to_dict(),
                              chosen_areas=request.form.getlist("areas_of_need"),
                              chosen_types=request.form.getlist("need_types"))
        referral = submit_new(self.db, principal, body)
        return redirect(f"{web.PREFIX}/r/{referral.id}?created=1", code=303)

    def _referral_page(self, request, ws, principal, referral_id, status=200, **context):
        with self.db.session() as s:
            try:
                referral = load_referral(s, principal, referral_id)
            except NotFound:
                return self._page(request, "message.html", status=404, ws=ws,
                                  title="Page not found", lines=[], link=web.PREFIX,
                                  link_text="Back to your referrals")
            history = s.execute(select(Transition).where(Transition.referral_id == referral_id)
                                .order_by(Transition.id)).scalars().all()
        return self._page(request, "referral.html", status=status, ws=ws, r=referral,
                          history=history, title=f"Referral {referral.reference}", **context)

    @page("GET", "/forms/referrals/r/<string:referral_id>")
    def form_referral(self, request, referral_id):
        ws, principal = self._signed_in(request)
        if ws is None:
            return principal
        return self._referral_page(request, ws, principal, referral_id,
                                   created=request.args.get("created") == "1")

    @page("POST", "/forms/referrals/r/<string:referral_id>/answer")
    def form_answer(self, request, referral_id):
        ws, principal = self._signed_in(request, post=True)
        if ws is None:
            return principal
        answer = request.form.get("info_answer", "").strip()
        try:
            SubmitSchema().load({"info_answer": answer or None})
            submit_existing(self.db, principal, referral_id, answer or None)
        except (ValidationError, Unprocessable) as exc:
            errs = (from_validation_error(exc) if isinstance(exc, ValidationError) else exc).errors
            return self._referral_page(request, ws, principal, referral_id, status=422,
                                       errors=web.form_errors(errs),
                                       values={"info_answer": answer})
        except Problem:  # not found, or no longer awaiting an answer
            pass
        return redirect(f"{web.PREFIX}/r/{referral_id}", code=303)

    @subscribe("pupils", "organisation.onboarded")
    def on_organisation_onboarded(self, event, uow):
        data = event["data"]
        org = uow.session.get(Organisation, data["org_id"]) or Organisation(org_id=data["org_id"])
        org.name, org.kind, org.urn = data["name"], data["kind"], data["urn"]
        org.contact_email = (data.get("contact_email") or "").strip().lower() or None
        uow.session.add(org)
