"""Referrals service entrypoints: parse, authorise, call the domain, respond.

Lifecycle: POST /api/v1/referrals submits a complete referral (201, status
"submitted"); POST /api/v1/referrals/drafts keeps an incomplete one as a draft,
which the school edits (PATCH) and submits (POST .../submit). Each transition
has its own path (POST /api/v1/referrals/{id}/<action>); an action the state
machine does not allow from the current status answers 409 problem details.
"""

import logging

from sqlalchemy.exc import IntegrityError

from services.common import settings
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.problems import (
    Conflict,
)
from services.common.service import PlatformService
from services.common.timers import timer_from_setting

from . import domain, records
from .models import Base
from .schemas import (
    AcceptSchema,
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


def for_caller(principal, referral):
    """The referral with the actions this caller may take next: the state machine's
    moves from its status that the caller's roles are authorised for."""
    referral.caller_actions = domain.allowed_actions(referral.status, principal.roles)
    return referral


def clock_settings():
    """(acknowledge, triage) working days: REFERRALS_ACKNOWLEDGE_WORKING_DAYS and
    REFERRALS_TRIAGE_WORKING_DAYS (defaults 2 and 10)."""
    return (int(settings.get("ACKNOWLEDGE_WORKING_DAYS", "2", service=SERVICE)),
            int(settings.get("TRIAGE_WORKING_DAYS", "10", service=SERVICE)))


def submit_new(database, principal, body):
    """Store a complete referral as submitted and emit `referral.submitted`."""
    now = utcnow()
    with database.unit_of_work() as uow:
        referral = records.submit_new(uow, principal, body, now)
    return referral


def submit_existing(database, principal, referral_id, info_answer=None):
    """Submit a draft, or resubmit with the answer to a request for more information."""
    now = utcnow()
    with database.unit_of_work() as uow:
        referral = records.submit_existing(uow, principal, referral_id, info_answer, now)
    return referral


def scan_overdue(database, now=None):
    """The overdue timer's work, as a plain function: emit `referral.overdue` once
    per breach (recorded in the same transaction as the event). Returns how many."""
    now = now or utcnow()
    today = domain.london_date(now)
    ack_days, triage_days = clock_settings()
    with database.session() as s:
        candidates = records.awaiting_triage(s)
        known = records.known_breaches(s, candidates)
    emitted = 0
    for referral in candidates:
        for breach in domain.breaches(referral, today, ack_days, triage_days):
            if (referral.id, breach.clock, breach.due_date) in known:
                continue
            try:
                with database.unit_of_work() as uow:
                    records.record_breach(uow, referral, breach, now)
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
        return for_caller(principal, submit_new(self.db, principal, body))

    @api("POST", "/api/v1/referrals/drafts", roles=("partner_referrer",),
         body=ReferralDraftSchema, response=ReferralSchema, status=201,
         summary="Start a draft referral (any subset of fields); submit it with POST .../submit")
    def create_draft(self, request, principal, body):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = records.create_draft(uow, principal, body, now)
        return for_caller(principal, referral)

    @api("PATCH", PATH, roles=("partner_referrer",), body=ReferralDraftSchema,
         response=ReferralSchema,
         summary="Edit a referral (only a draft or one awaiting more information)")
    def edit_referral(self, request, principal, body, referral_id):
        with self.db.unit_of_work() as uow:
            referral = records.edit_referral(uow, principal, referral_id, body)
        return for_caller(principal, referral)

    @api("GET", "/api/v1/referrals", roles=READERS, query=ListQuerySchema,
         response=ReferralPageSchema,
         summary="List referrals: a school its own, a practitioner theirs, the trust all")
    def list_referrals(self, request, principal, query):
        with self.db.session() as s:
            total, items = records.list_referrals(s, principal, query)
        return {"items": [for_caller(principal, r) for r in items], "total": total,
                "limit": query["limit"],
                "offset": query["offset"]}

    @api("GET", "/api/v1/referrals/overdue", roles=TRIAGE_READERS, response=OverdueListSchema,
         summary="Referrals past their acknowledgement or triage clock (England working days)")
    def list_overdue(self, request, principal):
        today = domain.london_date(utcnow())
        ack_days, triage_days = clock_settings()
        with self.db.session() as s:
            scope = records.scope(principal)
            candidates = [r for r in records.awaiting_triage(s, ordered=True)
                          if domain.visible(scope, r)]
        return {"items": domain.overdue_items(candidates, today, ack_days, triage_days)}

    @api("GET", PATH, roles=READERS, response=ReferralSchema, summary="Get one referral")
    def get_referral(self, request, principal, referral_id):
        with self.db.session() as s:
            return for_caller(principal, records.load_referral(s, principal, referral_id))

    @api("GET", PATH + "/transitions", many=True, roles=READERS, response=TransitionSchema,
         summary="A referral's history: every transition with who and when")
    def list_transitions(self, request, principal, referral_id):
        with self.db.session() as s:
            return records.transitions(s, principal, referral_id)

    # -- the school's actions -------------------------------------------------------

    @api("POST", PATH + "/submit", roles=domain.roles_for("submit"), body=SubmitSchema,
         response=ReferralSchema,
         summary="Submit a draft, or resubmit with the information outreach asked for")
    def submit(self, request, principal, body, referral_id):
        return for_caller(principal, submit_existing(self.db, principal, referral_id,
                                                     body.get("info_answer")))

    @api("POST", PATH + "/withdraw", roles=domain.roles_for("withdraw"),
         response=ReferralSchema,
         summary="Withdraw a referral before it is accepted")
    def withdraw(self, request, principal, referral_id):
        return self._simple(principal, referral_id, "withdraw")

    # -- triage --------------------------------------------------------------------

    @api("POST", PATH + "/acknowledge", roles=domain.TRIAGE, response=ReferralSchema,
         summary="Acknowledge a submitted referral (stops the acknowledgement clock)")
    def acknowledge(self, request, principal, referral_id):
        with self.db.unit_of_work() as uow:
            referral = records.acknowledge(uow, principal, referral_id)
        return for_caller(principal, referral)

    @api("POST", PATH + "/request-info", roles=domain.roles_for("request_info"), body=RequestInfoSchema,
         response=ReferralSchema, summary="Ask the school for more information")
    def request_info(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = records.request_info(uow, principal, referral_id, body["question"], now)
        return for_caller(principal, referral)

    @api("GET", PATH + "/triage", roles=TRIAGE_READERS, response=TriageSchema,
         summary="Check a referral against its agreement's acceptance criteria")
    def triage(self, request, principal, referral_id):
        with self.db.session() as s:
            referral = records.load_referral(s, principal, referral_id)
            agreement = records.agreement_for(s, referral, domain.london_date(utcnow()))
        criteria = domain.triage(referral, agreement)
        return {"referral_id": referral.id, "agreement_id": agreement and agreement.id,
                "all_met": all(c.met for c in criteria), "criteria": criteria}

    @api("POST", PATH + "/accept", roles=domain.roles_for("accept"), body=AcceptSchema,
         optional_body=True, response=ReferralSchema,
         summary="Accept at triage (criteria of this term's agreement must be met, or a "
                 "panel_override with its override_reason; over the cap the referral "
                 "waits for a place)")
    def accept(self, request, principal, body, referral_id):
        now = utcnow()
        override = body["override_reason"] if body["panel_override"] else None
        with self.db.unit_of_work() as uow:
            referral = records.accept(uow, principal, referral_id, now, override=override)
        return for_caller(principal, referral)

    @api("POST", PATH + "/decline", roles=domain.roles_for("decline"), body=DeclineSchema,
         response=ReferralSchema, summary="Decline at triage, with a reason code")
    def decline(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = records.decline(uow, principal, referral_id, body["reason"], now)
        return for_caller(principal, referral)

    @api("POST", PATH + "/allocate", roles=domain.roles_for("allocate"), body=AllocateSchema,
         response=ReferralSchema,
         summary="Allocate an accepted referral (with a place) to an outreach practitioner")
    def allocate(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = records.allocate(uow, principal, referral_id, body["practitioner"], now)
        return for_caller(principal, referral)

    # -- visits, report, closure ---------------------------------------------------

    @api("POST", PATH + "/visits", roles=domain.roles_for("log_visit"), body=VisitCreateSchema,
         response=VisitSchema, status=201,
         summary="Log a visit; beyond the hours left needs a trust_admin override (marked)")
    def log_visit(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            visit = records.log_visit(uow, principal, referral_id, body, now)
        return visit

    @api("GET", PATH + "/visits", many=True, roles=READERS, response=VisitSchema,
         summary="A referral's visits")
    def list_visits(self, request, principal, referral_id):
        with self.db.session() as s:
            return records.visits(s, principal, referral_id)

    @api("POST", PATH + "/report", roles=domain.roles_for("issue_report"), body=ReportCreateSchema,
         response=ReferralSchema,
         summary="Issue the outreach report; recommendations may name CPD courses")
    def issue_report(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = records.issue_report(uow, principal, referral_id, body, now)
        return for_caller(principal, referral)

    @api("POST", PATH + "/close", roles=domain.roles_for("close"), body=CloseSchema,
         response=ReferralSchema, summary="Close with an outcome (frees a place)")
    def close(self, request, principal, body, referral_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = records.close(uow, principal, referral_id, body["outcome"], now)
        return for_caller(principal, referral)

    def _simple(self, principal, referral_id, action):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            referral = records.simple_action(uow, principal, referral_id, action, now)
        return for_caller(principal, referral)

    # -- agreements ----------------------------------------------------------------

    @api("POST", "/api/v1/agreements", roles=("trust_admin",), body=AgreementCreateSchema,
         response=AgreementSchema, status=201,
         summary="Create a service-level agreement with a partner school for a term")
    def create_agreement(self, request, principal, body):
        now = utcnow()
        try:
            with self.db.unit_of_work() as uow:
                agreement = records.create_agreement(uow, body, principal.sub, now)
        except IntegrityError:
            raise Conflict("The school already has an agreement for that term",
                           errors={"term": ["Already agreed"]}) from None
        agreement.minutes_used = agreement.places_held = agreement.waiting_count = 0
        return agreement

    @api("GET", "/api/v1/agreements", roles=AGREEMENT_READERS, response=AgreementListSchema,
         summary="List agreements (a school reads its own)")
    def list_agreements(self, request, principal):
        with self.db.session() as s:
            items = records.list_agreements(s, principal)
        return {"items": items}

    @api("GET", "/api/v1/agreements/<string:agreement_id>", roles=AGREEMENT_READERS,
         response=AgreementSchema, summary="Get one agreement with its hours and places")
    def get_agreement(self, request, principal, agreement_id):
        with self.db.session() as s:
            return records.agreement_usage(
                s, records.load_agreement(s, principal, agreement_id))

    @api("PATCH", "/api/v1/agreements/<string:agreement_id>", roles=("trust_admin",),
         body=AgreementUpdateSchema, response=AgreementSchema,
         summary="Change an agreement's hours, cap or criteria (a higher cap grants places)")
    def update_agreement(self, request, principal, body, agreement_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            agreement = records.update_agreement(uow, principal, agreement_id, body, now)
        return agreement

    @api("GET", "/api/v1/agreements/<string:agreement_id>/statement", roles=AGREEMENT_READERS,
         response=StatementSchema, summary="Statement of hours: bought, each visit, left")
    def agreement_statement(self, request, principal, agreement_id):
        with self.db.session() as s:
            agreement = records.agreement_usage(
                s, records.load_agreement(s, principal, agreement_id))
            visits = records.statement_visits(s, agreement)
        return {"agreement": agreement, **domain.statement(agreement.minutes_bought, visits)}

    # -- timer and subscriptions ------------------------------------------------------

    @timer_from_setting("OVERDUE_SCAN_SECONDS", 300)  # REFERRALS_OVERDUE_SCAN_SECONDS
    def overdue_timer(self):
        count = scan_overdue(self.db)
        if count:
            log.info("referrals overdue: %d breach(es) announced", count)

    @subscribe("pupils", "organisation.onboarded")
    def on_organisation_onboarded(self, event, uow):
        records.upsert_organisation(uow, event["data"])
