"""Referrals service entrypoints: each calls a command or a query and returns.

Lifecycle: POST /api/v1/referrals submits a complete referral (201, status
"submitted"); POST /api/v1/referrals/drafts keeps an incomplete one as a draft,
which the school edits (PATCH) and submits (POST .../submit). Each transition
has its own path (POST /api/v1/referrals/{id}/<action>); an action the state
machine does not allow from the current status answers 409 problem details.
"""

import logging

from services.common.access import REFERRAL_READERS, Role
from services.common.config import ConfigProvider
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.projections import upsert_organisation
from services.common.service import PlatformService
from services.common.timers import timer
from services.contracts import events

from . import commands, domain, queries
from .adapters import Documents
from .config import ReferralsConfig
from .models import Base, Organisation
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
    ReportQuerySchema,
    ReportSchema,
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
A = domain.Action
READERS = REFERRAL_READERS
TRIAGE_READERS = (Role.OUTREACH_LEAD, Role.TRUST_ADMIN, Role.AUDITOR)
AGREEMENT_READERS = (Role.PARTNER_REFERRER, Role.OUTREACH_LEAD, Role.TRUST_ADMIN, Role.AUDITOR)
AGREEMENT_WRITERS = (Role.TRUST_ADMIN,)
SCHOOL = domain.SCHOOL
PATH = "/api/v1/referrals/<string:referral_id>"
AGREEMENT = "/api/v1/agreements/<string:agreement_id>"


def today():
    return domain.london_date(utcnow())


class ReferralsService(PlatformService):
    name = SERVICE
    config = ConfigProvider(ReferralsConfig)
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()
    documents = Documents()

    # -- creating, editing, reading -------------------------------------------------

    @api("POST", "/api/v1/referrals", roles=SCHOOL, body=ReferralCreateSchema,
         response=ReferralSchema, status=201,
         summary="Submit an outreach referral (complete body; drafts: POST /api/v1/referrals/drafts)")
    def create_referral(self, request, principal, body):
        return queries.for_caller(principal, commands.submit_new(self.db, principal, body))

    @api("POST", "/api/v1/referrals/drafts", roles=SCHOOL,
         body=ReferralDraftSchema, response=ReferralSchema, status=201,
         summary="Start a draft referral (any subset of fields); submit it with POST .../submit")
    def create_draft(self, request, principal, body):
        return queries.for_caller(principal, commands.create_draft(self.db, principal, body))

    @api("PATCH", PATH, roles=SCHOOL, body=ReferralDraftSchema,
         response=ReferralSchema,
         summary="Edit a referral (only a draft or one awaiting more information)")
    def edit_referral(self, request, principal, body, referral_id):
        return queries.for_caller(principal, commands.edit_referral(
            self.db, principal, referral_id, body))

    @api("GET", "/api/v1/referrals", roles=READERS, query=ListQuerySchema,
         response=ReferralPageSchema,
         summary="List referrals: a school its own, a practitioner theirs, the trust all "
                 "(format=csv or xlsx: every referral the filters match, as a spreadsheet)")
    def list_referrals(self, request, principal, query):
        if query["format"] != "json":
            return self.documents.referral_list(
                queries.export_rows(self.db, principal, query, today()), query["format"])
        return queries.list_referrals(self.db, principal, query)

    @api("GET", "/api/v1/referrals/overdue", roles=TRIAGE_READERS, response=OverdueListSchema,
         summary="Referrals past their acknowledgement or triage clock (England working days)")
    def list_overdue(self, request, principal):
        return queries.list_overdue(self.db, principal, today(), self.config)

    @api("GET", PATH, roles=READERS, response=ReferralSchema, summary="Get one referral")
    def get_referral(self, request, principal, referral_id):
        return queries.get_referral(self.db, principal, referral_id)

    @api("GET", PATH + "/transitions", many=True, roles=READERS, response=TransitionSchema,
         summary="A referral's history: every transition with who and when")
    def list_transitions(self, request, principal, referral_id):
        return queries.transitions(self.db, principal, referral_id)

    # -- the school's actions -------------------------------------------------------

    @api("POST", PATH + "/submit", roles=domain.roles_for(A.SUBMIT), body=SubmitSchema,
         response=ReferralSchema,
         summary="Submit a draft, or resubmit with the information outreach asked for")
    def submit(self, request, principal, body, referral_id):
        return queries.for_caller(principal, commands.submit_existing(
            self.db, principal, referral_id, body.get("info_answer")))

    @api("POST", PATH + "/withdraw", roles=domain.roles_for(A.WITHDRAW),
         response=ReferralSchema,
         summary="Withdraw a referral before it is accepted")
    def withdraw(self, request, principal, referral_id):
        return queries.for_caller(principal, commands.withdraw(self.db, principal, referral_id))

    # -- triage --------------------------------------------------------------------

    @api("POST", PATH + "/acknowledge", roles=domain.TRIAGE, response=ReferralSchema,
         summary="Acknowledge a submitted referral (stops the acknowledgement clock)")
    def acknowledge(self, request, principal, referral_id):
        return queries.for_caller(principal, commands.acknowledge(
            self.db, principal, referral_id))

    @api("POST", PATH + "/request-info", roles=domain.roles_for(A.REQUEST_INFO),
         body=RequestInfoSchema, response=ReferralSchema,
         summary="Ask the school for more information")
    def request_info(self, request, principal, body, referral_id):
        return queries.for_caller(principal, commands.request_info(
            self.db, principal, referral_id, body["question"]))

    @api("GET", PATH + "/triage", roles=TRIAGE_READERS, response=TriageSchema,
         summary="Check a referral against its agreement's acceptance criteria")
    def triage(self, request, principal, referral_id):
        return queries.triage(self.db, principal, referral_id, today())

    @api("POST", PATH + "/accept", roles=domain.roles_for(A.ACCEPT), body=AcceptSchema,
         optional_body=True, response=ReferralSchema,
         summary="Accept at triage (criteria of this term's agreement must be met, or a "
                 "panel_override with its override_reason; over the cap the referral "
                 "waits for a place)")
    def accept(self, request, principal, body, referral_id):
        override = body["override_reason"] if body["panel_override"] else None
        return queries.for_caller(principal, commands.accept(
            self.db, principal, referral_id, override=override))

    @api("POST", PATH + "/decline", roles=domain.roles_for(A.DECLINE), body=DeclineSchema,
         response=ReferralSchema, summary="Decline at triage, with a reason code")
    def decline(self, request, principal, body, referral_id):
        return queries.for_caller(principal, commands.decline(
            self.db, principal, referral_id, body["reason"]))

    @api("POST", PATH + "/allocate", roles=domain.roles_for(A.ALLOCATE), body=AllocateSchema,
         response=ReferralSchema,
         summary="Allocate an accepted referral (with a place) to an outreach practitioner")
    def allocate(self, request, principal, body, referral_id):
        return queries.for_caller(principal, commands.allocate(
            self.db, principal, referral_id, body["practitioner"]))

    # -- visits, report, closure ---------------------------------------------------

    @api("POST", PATH + "/visits", roles=domain.roles_for(A.LOG_VISIT), body=VisitCreateSchema,
         response=VisitSchema, status=201,
         summary="Log a visit; beyond the hours left needs a trust_admin override (marked)")
    def log_visit(self, request, principal, body, referral_id):
        return commands.log_visit(self.db, principal, referral_id, body)

    @api("GET", PATH + "/visits", many=True, roles=READERS, response=VisitSchema,
         summary="A referral's visits")
    def list_visits(self, request, principal, referral_id):
        return queries.visits(self.db, principal, referral_id)

    @api("POST", PATH + "/report", roles=domain.roles_for(A.ISSUE_REPORT),
         body=ReportCreateSchema, response=ReferralSchema,
         summary="Issue the outreach report; recommendations may name CPD courses")
    def issue_report(self, request, principal, body, referral_id):
        return queries.for_caller(principal, commands.issue_report(
            self.db, principal, referral_id, body))

    @api("GET", PATH + "/report", roles=READERS, query=ReportQuerySchema,
         response=ReportSchema,
         summary="The issued outreach report (format=pdf: the document, with the pupil, "
                 "school, visits, observations, recommendations and hours used)")
    def get_report(self, request, principal, query, referral_id):
        if query["format"] == "pdf":
            reference, view = queries.report_view(self.db, principal, referral_id, today())
            return self.documents.outreach_report(reference, view)
        return queries.get_report(self.db, principal, referral_id)

    @api("POST", PATH + "/close", roles=domain.roles_for(A.CLOSE), body=CloseSchema,
         response=ReferralSchema, summary="Close with an outcome (frees a place)")
    def close(self, request, principal, body, referral_id):
        return queries.for_caller(principal, commands.close(
            self.db, principal, referral_id, body["outcome"]))

    # -- agreements ----------------------------------------------------------------

    @api("POST", "/api/v1/agreements", roles=AGREEMENT_WRITERS, body=AgreementCreateSchema,
         response=AgreementSchema, status=201,
         summary="Create a service-level agreement with a partner school for a term")
    def create_agreement(self, request, principal, body):
        return commands.create_agreement(self.db, body, principal.sub)

    @api("GET", "/api/v1/agreements", roles=AGREEMENT_READERS, response=AgreementListSchema,
         summary="List agreements (a school reads its own)")
    def list_agreements(self, request, principal):
        return queries.list_agreements(self.db, principal)

    @api("GET", AGREEMENT, roles=AGREEMENT_READERS,
         response=AgreementSchema, summary="Get one agreement with its hours and places")
    def get_agreement(self, request, principal, agreement_id):
        return queries.get_agreement(self.db, principal, agreement_id)

    @api("PATCH", AGREEMENT, roles=AGREEMENT_WRITERS,
         body=AgreementUpdateSchema, response=AgreementSchema,
         summary="Change an agreement's hours, cap or criteria (a higher cap grants places)")
    def update_agreement(self, request, principal, body, agreement_id):
        return commands.update_agreement(self.db, principal, agreement_id, body)

    @api("GET", AGREEMENT + "/statement", roles=AGREEMENT_READERS,
         response=StatementSchema, summary="Statement of hours: bought, each visit, left")
    def agreement_statement(self, request, principal, agreement_id):
        return queries.statement(self.db, principal, agreement_id)

    # -- timer and subscriptions ------------------------------------------------------

    @timer("overdue_scan_seconds")  # REFERRALS_OVERDUE_SCAN_SECONDS
    def overdue_timer(self):
        count = commands.scan_overdue(self.db, config=self.config)
        if count:
            log.info("referrals overdue: %d breach(es) announced", count)

    @subscribe(events.ORGANISATION_ONBOARDED)
    def on_organisation_onboarded(self, event, uow):
        upsert_organisation(uow.session, Organisation, event["data"])
