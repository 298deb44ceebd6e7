"""Referrals service entrypoints: parse, authorise, call the domain, respond.

Lifecycle: POST /api/v1/referrals submits a complete referral (201, status
"submitted"); POST /api/v1/referrals/drafts keeps an incomplete one as a draft,
which the school edits (PATCH) and submits (POST .../submit). Each transition
has its own path (POST /api/v1/referrals/{id}/<action>); an action the state
machine does not allow from the current status answers 409 problem details.
"""

import json
import logging
import uuid

from marshmallow import ValidationError, fields
from nameko.web.handlers import HttpRequestHandler
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Response

from services.common import idempotency, settings
from services.common.auth import Principal
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import PlatformWebServer, api, inline_script_hashes, page_csp
from services.common.outbox import OutboxRelay
from services.common.problems import (
    Conflict,
    NotFound,
    Problem,
    Unprocessable,
    from_validation_error,
)
from services.common.service import PlatformService
from services.common.timers import timer_from_setting

from . import domain, records, web
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
                    "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                    # the layout's own inline scripts, and nothing else inline
                    "Content-Security-Policy": page_csp(inline_script_hashes(
                        web.render("message.html", title="", lines=[])))}


def html(body, status=200):
    return Response(body, status=status, content_type="text/html; charset=utf-8",
                    headers=SECURITY_HEADERS)


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
    """Store a complete referral as submitted and emit `referral.submitted` (API and form)."""
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

    # -- the web form (GOV.UK Frontend; one-time link sign-in) ----------------------

    def _web_session(self, request):
        token = request.cookies.get(web.COOKIE)
        if not token:
            return None
        with self.db.session() as s:
            ws = records.find_web_session(s, token)
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
        return ws, Principal(sub=ws.email, org=ws.school_org_id, org_kind="partner_school",
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
            # the same answer either way: no address enumeration
            records.send_sign_in_link(uow, email, now)
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
            session_token = records.use_sign_in_link(uow, token, now)
        if session_token is None:
            return self._page(request, "message.html", status=400,
                              title="This sign-in link has expired or was already used",
                              lines=["Ask for a new link."], link=f"{web.PREFIX}/sign-in",
                              link_text="Sign in")
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
            records.end_web_session(uow, ws.id)
        response = redirect(f"{web.PREFIX}/sign-in", code=303)
        response.delete_cookie(web.COOKIE, path=web.PREFIX)
        return response

    @page("GET", "/forms/referrals")
    def form_dashboard(self, request):
        ws, principal = self._signed_in(request)
        if ws is None:
            return principal
        with self.db.session() as s:
            referrals = records.school_referrals(s, ws.school_org_id)
        return self._page(request, "dashboard.html", ws=ws, title="Your referrals",
                          referrals=referrals)

    @page("GET", "/forms/referrals/new")
    def form_new(self, request):
        ws, principal = self._signed_in(request)
        if ws is None:
            return principal
        return self._page(request, "new.html", ws=ws, title="Make an outreach referral",
                          chosen_areas=[], chosen_types=[], idempotency_key=str(uuid.uuid4()))

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
                              chosen_types=request.form.getlist("need_types"),
                              idempotency_key=request.form.get("idempotency_key"))
        # the form's own Idempotency-Key: a resent form (a double click, a retry
        # after a broken connection) goes to the referral it made the first time
        claim = idempotency.claim_for(principal, request.form.get("idempotency_key"), body,
                                      "form:new")
        found = idempotency.find(self.db, claim) if claim else None
        if found is not None and found.status == 303 and found.fingerprint == claim.fingerprint:
            return redirect(json.loads(found.headers)["Location"], code=303)
        if found is not None:
            return self._page(request, "message.html", status=409, ws=ws,
                              title="This form has already been sent",
                              lines=["Check your referrals before sending it again."],
                              link=web.PREFIX, link_text="Your referrals")
        referral = submit_new(self.db.for_request(claim), principal, body)
        location = f"{web.PREFIX}/r/{referral.id}?created=1"
        if claim is not None:
            idempotency.remember(self.db, claim, 303, {"Location": location})
        return redirect(location, code=303)

    def _referral_page(self, request, ws, principal, referral_id, status=200, **context):
        with self.db.session() as s:
            try:
                referral = records.load_referral(s, principal, referral_id)
            except NotFound:
                return self._page(request, "message.html", status=404, ws=ws,
                                  title="Page not found", lines=[], link=web.PREFIX,
                                  link_text="Back to your referrals")
            history = records.history(s, referral_id)
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
        records.upsert_organisation(uow, event["data"])
