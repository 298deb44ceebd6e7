"""Portal entrypoints: pages instead of JSON (DESIGN.md §11). Each one loads the
person's session, calls the services' APIs with a token minted for that person
(clients.py), and renders a GOV.UK page. No business rules live here: what a
person may see or do is what the APIs answer.
"""

import logging
from datetime import UTC, date, datetime
from urllib.parse import quote, urlencode

import eventlet
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Response

from services.common import settings
from services.common.db import DatabaseProvider
from services.common.http import PlatformWebServer
from services.common.service import PlatformService
from services.contracts import links
from services.contracts.sen import SEN_PROVISION
from services.documents.responses import document as document_response

from . import clients, documents, forms, oidc, records, web
from .clients import ApiError, Client
from .models import Base

log = logging.getLogger(__name__)

EMAIL_LIMIT, IP_LIMIT = 5, 30   # link requests per 15 minutes, per address and per client
OUTREACH = {"outreach", "outreach_lead", "trust_admin", "auditor"}
TRIAGERS = {"outreach_lead", "trust_admin"}
PRACTITIONERS = {"outreach", "outreach_lead", "trust_admin"}
SCHOOL_STAFF = {"senco", "teacher", "trust_admin", "auditor"}
# the same role lists the services authorise with (a link here never answers 403)
CPD = {"senco", "teacher", "outreach", "outreach_lead", "cpd_admin", "trust_admin"}
CPD_LEAD = {"cpd_admin"}
REPORT_READERS = {"senco", "trust_admin", "auditor"}
MESSAGE_READERS = {"trust_admin", "outreach_lead", "auditor", "senco", "partner_referrer"}
# the referral statuses still in the outreach team's hands, in the order of the journey
OPEN_STATUSES = ("submitted", "info_requested", "accepted", "allocated", "in_progress",
                 "report_issued")
DECLINE_REASONS = ("criteria_not_met", "outside_remit", "no_agreement", "better_met_elsewhere",
                   "duplicate", "other")
OUTCOMES = ("needs_met_in_school", "continued_sen_support", "ehc_needs_assessment_requested",
            "referred_to_other_service", "no_further_action")
SEEN = ("pupil", "parent_carer", "senco", "class_teacher", "teaching_assistant",
        "headteacher", "other_professional")


class Page(HttpRequestHandler):
    """A server-rendered page: HTML errors, and the security headers on every answer."""

    server = PlatformWebServer()

    def handle_request(self, request):
        response = super().handle_request(request)
        return web.harden(response, getattr(response, "form_action", None))

    def response_from_exception(self, exc):
        if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
            return web.html(web.render("message.html", title=exc.name, lines=[]),
                            status=exc.code)
        if isinstance(exc, ApiError) and exc.status in (401, 403, 404):
            title = "Page not found" if exc.status == 404 else \
                "You cannot see this page"
            return web.html(web.render("message.html", title=title, lines=[
                "If you think you should, ask your trust admin."], link="/",
                link_text="Go to the start page"), status=exc.status)
        log.error("unhandled %s in portal.%s", type(exc).__name__, self.method_name)
        return web.html(web.render("message.html", title="Sorry, there is a problem with the service",
                                   lines=["Try again later."]), status=500)


page = Page.decorator


def navigation(me):
    """The links of the service navigation: only what this person may do."""
    roles, kind = set(me.roles or ()), me.org_kind
    nav = []
    if "partner_referrer" in roles:
        nav += [(links.path("referrals"), "Your referrals"),
                (links.path("new_referral"), "New referral")]
    if roles & OUTREACH and kind == "trust":
        nav += [(links.path("triage"), "Triage"), (links.path("referrals"), "Referrals")]
    if roles & SCHOOL_STAFF and kind in ("trust", "trust_school", "arb"):
        nav += [(links.path("pupils"), "Pupils"), (links.path("reviews_due"), "Reviews due")]
    if roles & CPD:
        nav += [(links.path("cpd_catalogue"), "Training"), (links.path("cpd_bookings"), "My bookings")]
    if roles & REPORT_READERS and kind in ("trust", "trust_school", "arb"):
        nav += [("/costs", "Costs"), ("/impact", "Impact report")]
    if roles & CPD_LEAD:
        nav += [(links.path("cpd_approvals"), "Approvals")]
    if roles & MESSAGE_READERS:
        nav += [(links.path("notifications"), "Messages sent")]
    if "trust_admin" in roles:
        nav += [("/admin/organisations", "Organisations"), ("/admin/staff", "Staff")]
    if "parent" in roles:
        nav += [("/", "Your children"), (links.path("preferences"), "Message preferences")]
    seen, out = set(), []
    for href, label in nav:
        if href not in seen:
            seen.add(href)
            out.append((href, label))
    return out


def staff_choices(lookup, kinds=None):
    return [{"org_id": m["org_id"], "org_name": m["org_name"], "org_kind": m["org_kind"],
             "roles": sorted(m["roles"]), "name": m.get("name"),
             "label": f"{m['org_name']} ({', '.join(r.replace('_', ' ') for r in sorted(m['roles']))})"}
            for m in lookup.get("staff", []) if kinds is None or m["org_kind"] in kinds]


def parent_choices(lookup):
    by_org = {}
    for g in lookup.get("guardian_of", []):
        c = by_org.setdefault(g["org_id"], {"org_id": g["org_id"], "org_name": g["org_name"],
                                            "org_kind": g.get("org_kind") or "trust_school",
                                            "roles": ["parent"],
                                            "pupils": [], "children": []})
        c["pupils"].append(g["pupil_id"])
        c["children"].append({"pupil_id": g["pupil_id"], "pupil_name": g.get("pupil_name")})
    for c in by_org.values():
        names = ", ".join(ch["pupil_name"] or "your child" for ch in c["children"])
        c["label"] = f"Parent or carer of {names} ({c['org_name']})"
    return list(by_org.values())


class PortalService(PlatformService):
    name = "portal"
    db = DatabaseProvider(Base.metadata)

    # -- plumbing ---------------------------------------------------------------------
    def _me(self, request):
        return records.find_session(self.db, request.cookies.get(web.SESSION_COOKIE))

    def _render(self, request, template, status=200, me=None, current=None, **context):
        csrf = me.csrf_token if me else request.cookies.get(web.PRE_COOKIE) or web.new_token()
        nav = navigation(me) if me and me.org_id else []
        context.setdefault("errs", dict(context.get("errors") or []))
        context.setdefault("values", {})
        response = web.html(web.render(template, me=me, csrf=csrf, nav=nav,
                                       current=current or request.path, **context),
                            status=status)
        if not me and request.cookies.get(web.PRE_COOKIE) != csrf:
            web.set_cookie(response, web.PRE_COOKIE, csrf)
        return response

    def _message(self, request, title, lines, status=200, me=None, **kw):
        return self._render(request, "message.html", status=status, me=me, title=title,
                            lines=lines, **kw)

    def _signed_in(self, request, post=False):
        """(session, None), or (None, a response that sends the person to sign in)."""
        me = self._me(request)
        if me is None:
            response = redirect(links.path("sign_in"), code=303)
            if request.method == "GET":
                web.set_cookie(response, web.NEXT_COOKIE, request.full_path.rstrip("?"), 1800)
            return None, response
        if me.org_id is None:
            return None, redirect("/sign-in/choose", code=303)
        if post and not web.same(request.form.get("csrf"), me.csrf_token):
            return None, self._message(request, "Your form has expired",
                                       ["Go back, refresh the page and try again."],
                                       status=400, me=me)
        return me, None

    def _pre_csrf_ok(self, request):
        return web.same(request.form.get("csrf"), request.cookies.get(web.PRE_COOKIE))

    def _start_session(self, request, sub, name, method, choices):
        _, token = records.create_session(self.db, sub, name, method, choices)
        target = web.safe_next(request.cookies.get(web.NEXT_COOKIE)) or "/"
        response = redirect(target if len(choices) == 1 else "/sign-in/choose", code=303)
        web.set_cookie(response, web.SESSION_COOKIE, token,
                       max_age=int(records.ABSOLUTE.total_seconds()))
        web.clear_cookie(response, web.PRE_COOKIE)
        if len(choices) == 1:
            web.clear_cookie(response, web.NEXT_COOKIE)
        return response

    # -- assets and health --------------------------------------------------------------
    @page("GET", "/assets/<path:path>")
    def assets(self, request, path):
        # the stylesheet and script at /assets/, their fonts and images at /assets/fonts/...
        # and /assets/images/... (GOV.UK Frontend's dist/govuk/assets/)
        folder = web.ASSETS / "assets" if path.startswith(("fonts/", "images/", "manifest.json")) \
            else web.ASSETS
        return send_from_directory(folder, path, request.environ, max_age=3600)

    @page("GET", "/static/<path:path>")
    def static(self, request, path):
        return send_from_directory(web.STATIC, path, request.environ, max_age=3600)

    # -- sign-in ------------------------------------------------------------------------
    @page("GET", "/sign-in")
    def sign_in(self, request):
        response = self._render(request, "sign_in.html", title="Sign in",
                                oidc=oidc.configured(), minutes=15)
        response.form_action = oidc.issuer_origin() if oidc.configured() else None
        return response

    @page("POST", "/sign-in/oidc")
    def sign_in_oidc(self, request):
        if not self._pre_csrf_ok(request):
            return redirect(links.path("sign_in"), code=303)
        if not oidc.configured():
            return self._message(request, "Staff sign-in is not set up",
                                 ["Ask your trust admin."], status=503)
        url, state, nonce, verifier = oidc.start(self._callback_url())
        records.save_login_state(self.db, state, nonce, verifier)
        response = redirect(url, code=303)
        response.form_action = oidc.issuer_origin()
        return response

    def _callback_url(self):
        return links.base_url() + "/sign-in/oidc/callback"

    @page("GET", "/sign-in/oidc/callback")
    def oidc_callback(self, request):
        saved = records.take_login_state(self.db, request.args.get("state"))
        if saved is None or not request.args.get("code"):
            return self._message(request, "Sign-in did not work",
                                 ["Your sign-in took too long or was cancelled. Try again."],
                                 status=400, link=links.path("sign_in"), link_text="Sign in")
        try:
            person = oidc.finish(self._callback_url(), request.args["code"], *saved)
        except oidc.SignInFailed:
            return self._message(request, "Sign-in did not work",
                                 ["We could not confirm who you are. Try again."],
                                 status=400, link=links.path("sign_in"), link_text="Sign in")
        choices = staff_choices(clients.sign_in_lookup(person["email"]))
        if not choices:
            return self._message(request, "Ask your trust admin for access", [
                "You signed in, but you do not have access to the SEN trust portal yet.",
                "Ask your trust admin to add you to the staff directory with your role, "
                "then sign in again."], status=403)
        name = person.get("name") or choices[0].get("name")
        return self._start_session(request, person["email"], name, "oidc", choices)

    @page("POST", "/sign-in/email")
    def sign_in_email(self, request):
        if not self._pre_csrf_ok(request):
            return redirect(links.path("sign_in"), code=303)
        email = request.form.get("email", "").strip().lower()
        if not _looks_like_email(email):
            msg = "Enter an email address in the correct format, like name@example.com"
            if not email:
                msg = "Enter your email address"
            response = self._render(request, "sign_in.html", status=400, title="Sign in",
                                    oidc=oidc.configured(), minutes=15,
                                    errors=[("email", msg)], values={"email": email})
            response.form_action = oidc.issuer_origin() if oidc.configured() else None
            return response
        ip_ok = records.hit(self.db, "ip", web.client_ip(request), IP_LIMIT)
        if not ip_ok:
            return self._message(request, "Too many sign-in requests",
                                 ["Wait 15 minutes, then try again."], status=429)
        # where to go after signing in stays in this browser's NEXT cookie: notify sends
        # only a bare sign-in link (no query), so the link itself carries nothing else
        eventlet.spawn_n(self._send_link, self.db, email)  # after we answer
        return self._message(request, "Check your email", [
            "If this address can sign in, we have sent it a link.",
            "The link works once and expires in 15 minutes."])

    @staticmethod
    def _send_link(db, email):
        """Look the address up and ask notify to send a link; the same page was already
        answered whatever the outcome, so nothing here tells a stranger who is known."""
        try:
            if not records.hit(db, "email", email, EMAIL_LIMIT):
                return
            lookup = clients.sign_in_lookup(email)
            if not (staff_choices(lookup, {"partner_school"}) or parent_choices(lookup)):
                return
            token, expires = records.create_link(db, email)
            clients.send_sign_in_link(email, links.url("sign_in_link", token=token), expires)
        except Exception as exc:  # noqa: BLE001 - logged without the address or the link
            log.warning("sign-in link not sent: %s", type(exc).__name__)

    @page("GET", "/sign-in/link/<string:token>")
    def sign_in_link(self, request, token):
        if not records.link_is_usable(self.db, token):
            return self._link_spent(request)
        response = self._render(request, "confirm_link.html", title="Sign in",
                                action=request.full_path.rstrip("?"))
        nxt = web.safe_next(request.args.get("next"))
        if nxt:
            web.set_cookie(response, web.NEXT_COOKIE, nxt, 1800)
        return response

    def _link_spent(self, request):
        return self._message(request, "This link has expired", [
            "Sign-in links work once and expire after 15 minutes. Ask for a new one."],
            status=400, link=links.path("sign_in"), link_text="Get a new link")

    @page("POST", "/sign-in/link/<string:token>")
    def use_sign_in_link(self, request, token):
        if not self._pre_csrf_ok(request):
            return redirect(request.full_path.rstrip("?"), code=303)
        email = records.use_link(self.db, token)
        if email is None:
            return self._link_spent(request)
        lookup = clients.sign_in_lookup(email)
        choices = staff_choices(lookup, {"partner_school"}) + parent_choices(lookup)
        if not choices:
            return self._message(request, "Ask your trust admin for access",
                                 ["This address no longer has access."], status=403)
        return self._start_session(request, email, choices[0].get("name"), "email", choices)

    @page("GET", "/sign-in/choose")
    def choose(self, request):
        me = self._me(request)
        if me is None:
            return redirect(links.path("sign_in"), code=303)
        return self._choose_page(request, me)

    def _choose_page(self, request, me, errors=None):
        options = [(str(i), c["label"]) for i, c in enumerate(me.choices)]
        return self._render(request, "choose.html", me=me, title="Choose an organisation",
                            options=options, errors=errors, status=400 if errors else 200)

    @page("POST", "/sign-in/choose")
    def chosen(self, request):
        me = self._me(request)
        if me is None or not web.same(request.form.get("csrf"), me.csrf_token):
            return redirect(links.path("sign_in"), code=303)
        choice = request.form.get("choice", "")
        if not choice.isdigit() or not records.choose(self.db, me.id, int(choice)):
            return self._choose_page(request, me, errors=[
                ("choice", "Select the organisation you are working for")])
        response = redirect(web.safe_next(request.cookies.get(web.NEXT_COOKIE)) or "/", code=303)
        web.clear_cookie(response, web.NEXT_COOKIE)
        return response

    @page("POST", "/sign-out")
    def sign_out(self, request):
        me = self._me(request)
        if me is not None and web.same(request.form.get("csrf"), me.csrf_token):
            records.end_session(self.db, me.id)
        response = redirect(links.path("sign_in"), code=303)
        web.clear_cookie(response, web.SESSION_COOKIE)
        return response

    @page("POST", "/sign-out/everywhere")
    def sign_out_everywhere(self, request):
        me = self._me(request)
        if me is not None and web.same(request.form.get("csrf"), me.csrf_token):
            records.end_all_sessions(self.db, me.sub)
        response = redirect(links.path("sign_in"), code=303)
        web.clear_cookie(response, web.SESSION_COOKIE)
        return response

    # -- home -----------------------------------------------------------------------------
    @page("GET", "/")
    def home(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        children = next((c.get("children", []) for c in me.choices
                         if c["org_id"] == me.org_id and c["org_kind"] == me.org_kind
                         and ("parent" in c["roles"]) == ("parent" in me.roles)), [])
        return self._render(request, "home.html", me=me, title="Home", children=children)

    # -- referrals: partner schools and the outreach team -----------------------------------
    @page("GET", "/referrals")
    def referrals(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        result = api.get("referrals", "/api/v1/referrals", status=request.args.get("status"),
                         limit=100)
        return self._render(request, "referrals.html", me=me, title="Referrals",
                            items=result.get("items", []),
                            partner="partner_referrer" in me.roles)

    @page("GET", "/forms/referrals")
    def old_form(self, request):
        """The retired referrals web form's address (bookmarks): its pages are these."""
        return redirect(links.path("referrals"), code=301)

    @page("GET", "/forms/referrals/new")
    def old_form_new(self, request):
        return redirect(links.path("new_referral"), code=301)

    @page("GET", "/referrals/new")
    def new_referral(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        return self._render(request, "referral_new.html", me=me, title="Make an outreach referral",
                            chosen_areas=[], chosen_types=[], cycles=range(forms.CYCLES),
                            idempotency_key=forms.new_idempotency_key())

    @page("POST", "/referrals/new")
    def submit_referral(self, request):
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        # the form's own Idempotency-Key (a hidden field, new with each blank form):
        # the same form sent twice makes one referral and lands on it
        key = forms.idempotency_key(request.form)
        try:
            created = Client.for_session(me).post("referrals", "/api/v1/referrals",
                                                  forms.body_from_form(request.form),
                                                  idempotency_key=key)
        except ApiError as exc:
            if forms.already_sent(exc.status, exc.field_errors):
                return self._message(request, "This form has already been sent", [
                    "Check your referrals before sending it again."], status=409, me=me,
                    link=links.path("referrals"), link_text="Your referrals")
            if exc.status != 422:
                raise
            errors = forms.form_errors(exc.field_errors)
            return self._render(request, "referral_new.html", status=400, me=me,
                                title="Make an outreach referral", errors=errors,
                                values=request.form, cycles=range(forms.CYCLES),
                                chosen_areas=request.form.getlist("areas_of_need"),
                                chosen_types=request.form.getlist("need_types"),
                                idempotency_key=key or forms.new_idempotency_key())
        return redirect(links.path("referral", referral_id=created["id"]) + "?created=1",
                        code=303)

    def _referral_context(self, me, referral_id):
        api = Client.for_session(me)
        r = api.get("referrals", f"/api/v1/referrals/{referral_id}")
        ctx = {"r": r, "history": api.try_get("referrals", f"/api/v1/referrals/{referral_id}/transitions", []),
               "visits": api.try_get("referrals", f"/api/v1/referrals/{referral_id}/visits", [])}
        staff = bool(set(me.roles) & OUTREACH) and me.org_kind == "trust"
        if staff:
            ctx["triage"] = api.try_get("referrals", f"/api/v1/referrals/{referral_id}/triage")
        roles = set(me.roles)
        allowed = set(r.get("allowed_actions") or ())
        may = set()
        if staff:  # which buttons to show; the API decides what is allowed
            if roles & TRIAGERS:
                may |= allowed & {"request_info", "accept", "decline", "allocate", "close"}
            if roles & PRACTITIONERS:
                may |= {"visit" if a == "log_visit" else "report"
                        for a in allowed & {"log_visit", "issue_report"}}
        ctx.update(staff=staff, may=may, decline_reasons=DECLINE_REASONS, outcomes=OUTCOMES,
                   seen=SEEN, today=date.today(),
                   answer=r["status"] == "info_requested" and "partner_referrer" in roles,
                   may_read_messages=bool(roles & MESSAGE_READERS))
        return ctx

    @page("GET", "/referrals/<string:referral_id>")
    def referral(self, request, referral_id):
        me, out = self._signed_in(request)
        if out:
            return out
        ctx = self._referral_context(me, referral_id)
        return self._render(request, "referral.html", me=me, current=links.path("referrals"),
                            title=f"Referral {ctx['r']['reference']}",
                            created=request.args.get("created") == "1",
                            notice=request.args.get("done"), **ctx)

    @page("GET", "/referrals/<string:referral_id>/respond")
    def respond(self, request, referral_id):
        return redirect(links.path("referral", referral_id=referral_id) + "#answer", code=303)

    @page("POST", "/referrals/<string:referral_id>/respond")
    def send_answer(self, request, referral_id):
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        answer = request.form.get("info_answer", "").strip()
        errors = [] if answer else [("info_answer", "Answer the question from the outreach team")]
        if not errors:
            try:
                Client.for_session(me).post("referrals", f"/api/v1/referrals/{referral_id}/submit",
                                            {"info_answer": answer})
            except ApiError as exc:
                if exc.status != 422:
                    raise
                errors = [("info_answer", "Answer the question from the outreach team")]
        if errors:
            ctx = self._referral_context(me, referral_id)
            return self._render(request, "referral.html", status=400, me=me,
                                title=f"Referral {ctx['r']['reference']}", errors=errors,
                                values=request.form, **ctx)
        return redirect(links.path("referral", referral_id=referral_id) + "?done=Answer+sent",
                        code=303)

    @page("POST", "/referrals/<string:referral_id>/actions/<string:action>")
    def referral_action(self, request, referral_id, action):
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        f = request.form
        errors, body, path = [], {}, action
        if action == "accept":
            if f.get("criteria_unmet") == "yes":
                if not f.get("override_reason", "").strip():
                    errors.append(("override_reason",
                                   "Enter the reason the panel accepted a referral that does not meet the criteria"))
                body = {"panel_override": True, "override_reason": f.get("override_reason", "").strip()}
        elif action == "decline":
            if f.get("reason") not in DECLINE_REASONS:
                errors.append(("reason", "Select the reason for declining the referral"))
            body = {"reason": f.get("reason")}
        elif action == "request-info":
            if not f.get("question", "").strip():
                errors.append(("question", "Enter the question for the school"))
            body = {"question": f.get("question", "").strip()}
        elif action == "allocate":
            name, email = f.get("practitioner_name", "").strip(), f.get("practitioner_email", "").strip().lower()
            if not name:
                errors.append(("practitioner_name", "Enter the practitioner's name"))
            if not _looks_like_email(email):
                errors.append(("practitioner_email", "Enter the practitioner's email address in the correct format, like name@example.com"))
            body = {"practitioner": {"sub": email, "name": name, "email": email}}
        elif action == "visits":
            minutes = f.get("minutes", "").strip()
            body = web.drop_none({"visit_date": web.date_from(f, "visit_date"),
                                  "minutes": int(minutes) if minutes.isdigit() else None,
                                  "seen": f.getlist("seen"),
                                  "observations": web.text(f, "observations"),
                                  "recommendations": web.text(f, "visit_recommendations")})
            if body.get("visit_date") is None:
                errors.append(("visit_date", "Enter the date of the visit"))
            if body.get("minutes") is None:
                errors.append(("minutes", "Enter how long the visit took, in minutes, like 90"))
            if not body.get("seen"):
                errors.append(("seen", "Select who you saw"))
            if not body.get("observations"):
                errors.append(("observations", "Enter what you observed"))
            if not body.get("recommendations"):
                errors.append(("visit_recommendations", "Enter your recommendations"))
        elif action == "report":
            body = {"summary": f.get("summary", "").strip(),
                    "recommendations": [{"text": line.strip()} for line in
                                        f.get("report_recommendations", "").splitlines() if line.strip()]}
            if not body["summary"]:
                errors.append(("summary", "Enter the summary of the report"))
        elif action == "close":
            if f.get("outcome") not in OUTCOMES:
                errors.append(("outcome", "Select the outcome of the referral"))
            body = {"outcome": f.get("outcome")}
        elif action != "acknowledge":
            return self._message(request, "Page not found", [], status=404, me=me)
        if not errors:
            try:
                Client.for_session(me).post("referrals", f"/api/v1/referrals/{referral_id}/{path}", body)
            except ApiError as exc:
                if exc.status == 422:
                    errors = web.errors_from(exc.field_errors, {}, "summary")
                elif exc.status == 409:
                    errors = [("actions", exc.problem.get("detail") or "That cannot be done now")]
                else:
                    raise
        if errors:
            ctx = self._referral_context(me, referral_id)
            return self._render(request, "referral.html", status=400, me=me,
                                title=f"Referral {ctx['r']['reference']}", errors=errors,
                                values=f, **ctx)
        done = {"accept": "Referral accepted", "decline": "Referral declined",
                "request-info": "Question sent to the school", "allocate": "Practitioner allocated",
                "visits": "Visit logged", "report": "Report issued", "close": "Referral closed",
                "acknowledge": "Referral acknowledged"}[action]
        return redirect(links.path("referral", referral_id=referral_id) + "?done=" + done.replace(" ", "+"),
                        code=303)

    @page("GET", "/triage")
    def triage(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        queue = []
        for status in OPEN_STATUSES:
            queue += api.get("referrals", "/api/v1/referrals", status=status, limit=100).get("items", [])
        overdue = api.try_get("referrals", "/api/v1/referrals/overdue", {}) or {}
        late = {}
        for item in overdue.get("items", []):
            late.setdefault(item["referral_id"], []).append(item)
        return self._render(request, "triage.html", me=me, title="Triage queue", queue=queue,
                            late=late)

    @page("GET", "/agreements/<string:agreement_id>")
    def agreement(self, request, agreement_id):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        statement = api.get("referrals", f"/api/v1/agreements/{agreement_id}/statement")
        return self._render(request, "agreement.html", me=me, title="Agreement and statement of hours",
                            s=statement)

    # -- pupils: SENCOs ------------------------------------------------------------------------
    @page("GET", "/pupils")
    def pupils(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        filters = {k: request.args.get(k) for k in ("year_group", "registration_group",
                                                     "sen_status", "need_type", "q")}
        errors = []
        try:
            result = Client.for_session(me).get("pupils", "/api/v1/pupils", limit=100, **filters)
        except ApiError as exc:
            if exc.status != 422:
                raise
            result = {"items": []}
            errors = web.errors_from(exc.field_errors, {
                "year_group": "Enter a year group as a number, like 4",
                "q": "Enter at least 2 characters of a name"}, "q")
        return self._render(request, "pupils.html", me=me, title="Pupils", items=result["items"],
                            values=filters, errors=errors, sen_statuses=SEN_PROVISION)

    @page("GET", "/pupils/new")
    def new_pupil(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        return self._render(request, "pupil_new.html", me=me, title="Register a pupil",
                            current=links.path("pupils"), sen_statuses=SEN_PROVISION)

    @page("POST", "/pupils/new")
    def register_pupil(self, request):
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        f = request.form
        year = f.get("year_group", "").strip()
        body = web.drop_none({
            "upn": (web.text(f, "upn") or "").upper() or None, "forename": web.text(f, "forename"),
            "legal_surname": web.text(f, "legal_surname"),
            "date_of_birth": web.date_from(f, "date_of_birth"),
            "year_group": int(year) if year.lstrip("-").isdigit() else (year or None),
            "sen_status": f.get("sen_status") or "N",
            "primary_need": f.get("primary_need") or None})
        try:
            pupil = Client.for_session(me).post("pupils", "/api/v1/pupils", body)
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = web.errors_from(exc.field_errors or {"upn": ["taken"]}, PUPIL_MESSAGES, "forename")
            return self._render(request, "pupil_new.html", status=400, me=me, title="Register a pupil",
                                errors=errors, values=f, sen_statuses=SEN_PROVISION,
                                current=links.path("pupils"))
        return redirect(links.path("pupil", pupil_id=pupil["id"]) + "?done=Pupil+registered", code=303)

    def _pupil_context(self, me, pupil_id):
        api = Client.for_session(me)
        base = f"/api/v1/pupils/{pupil_id}"
        pupil = api.get("pupils", base)
        return {"p": pupil,
                "register": (api.try_get("pupils", base + "/sen-register", {}) or {}).get("items", []),
                "passport": api.try_get("pupils", base + "/passport", {}) or {},
                "plans": (api.try_get("pupils", base + "/ehc-plans", {}) or {}).get("items", []),
                "map": api.try_get("provision", f"/api/v1/provision/pupils/{pupil_id}/map", {}) or {},
                "today": date.today(),
                "may_read_messages": bool(set(me.roles) & MESSAGE_READERS)}

    @page("GET", "/pupils/<string:pupil_id>")
    def pupil(self, request, pupil_id):
        me, out = self._signed_in(request)
        if out:
            return out
        return self._render(request, "pupil.html", me=me, title="Pupil", current=links.path("pupils"),
                            notice=request.args.get("done"), **self._pupil_context(me, pupil_id))

    @page("GET", "/pupils/<string:pupil_id>/passport")
    def passport(self, request, pupil_id):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        versions = api.get("pupils", f"/api/v1/pupils/{pupil_id}/passport")
        items = versions.get("items", versions.get("versions", [])) if isinstance(versions, dict) else versions
        published = [v for v in items if v.get("status") == "published"]
        name = _child_name(me, pupil_id)
        return self._render(request, "passport.html", me=me, title="Pupil passport",
                            v=published[-1] if published else None, name=name,
                            current="/")

    @page("GET", "/pupils/<string:pupil_id>/ehc-plan")
    def ehc_plan(self, request, pupil_id):
        me, out = self._signed_in(request)
        if out:
            return out
        plans = Client.for_session(me).get("pupils", f"/api/v1/pupils/{pupil_id}/ehc-plans")
        return self._render(request, "ehc_plan.html", me=me, title="EHC plan",
                            plans=plans.get("items", []), name=_child_name(me, pupil_id), current="/")

    @page("GET", "/pupils/<string:pupil_id>/provision")
    def pupil_provision(self, request, pupil_id):
        return redirect(links.path("pupil", pupil_id=pupil_id) + "#provision", code=303)

    @page("POST", "/pupils/<string:pupil_id>/<string:action>")
    def pupil_action(self, request, pupil_id, action):
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        f, api, errors = request.form, Client.for_session(me), []
        try:
            if action == "passport":
                body = {k: f.get(k, "").strip() for k in PASSPORT_SECTIONS}
                errors = [(k, f"Enter {label.lower()}") for k, label in PASSPORT_SECTIONS.items()
                          if not body[k]]
                if not errors:
                    api.post("pupils", f"/api/v1/pupils/{pupil_id}/passport/versions", body)
                done = "Passport draft saved"
            elif action == "publish":
                api.post("pupils", f"/api/v1/pupils/{pupil_id}/passport/versions/"
                         f"{int(f.get('version', '0') or 0)}/publish", {})
                done = "Passport published"
            elif action == "target":
                body = web.drop_none({"pupil_id": pupil_id, "description": web.text(f, "description"),
                                      "area_of_need": f.get("area_of_need") or None,
                                      "baseline": web.text(f, "baseline"),
                                      "expected_outcome": web.text(f, "expected_outcome"),
                                      "measure": web.text(f, "measure"),
                                      "due_date": web.date_from(f, "due_date")})
                api.post("provision", "/api/v1/provision/targets", body)
                done = "Target added"
            elif action == "cycle":
                body = web.drop_none({"pupil_id": pupil_id, "started_on": web.date_from(f, "started_on"),
                                      "review_date": web.date_from(f, "review_date"),
                                      "plan": f.get("plan", "").strip()})
                api.post("provision", "/api/v1/provision/cycles", body)
                done = "Cycle started"
            elif action == "review":
                outcomes = [{"target_id": tid, "level": f.get(f"progress-{tid}")}
                            for tid in f.getlist("target_ids") if f.get(f"progress-{tid}")]
                body = web.drop_none({"reviewed_on": web.date_from(f, "reviewed_on"),
                                      "note": web.text(f, "note"), "outcomes": outcomes})
                api.post("provision", f"/api/v1/provision/cycles/{f.get('cycle_id', '')}/review", body)
                done = "Cycle reviewed"
            else:
                return self._message(request, "Page not found", [], status=404, me=me)
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = web.errors_from(exc.field_errors or {"_schema": [exc.problem.get("detail", "")]},
                                     PUPIL_MESSAGES, {"passport": "about_me", "target": "description",
                                                      "cycle": "started_on", "review": "note"}.get(action, "note"))
        if errors:
            return self._render(request, "pupil.html", status=400, me=me, title="Pupil",
                                errors=errors, values=f, form=action,
                                **self._pupil_context(me, pupil_id))
        return redirect(links.path("pupil", pupil_id=pupil_id) + "?done=" + done.replace(" ", "+"),
                        code=303)

    @page("GET", "/reviews-due")
    def reviews_due(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        due = api.get("provision", "/api/v1/provision/reviews/due")
        return self._render(request, "reviews_due.html", me=me, title="Reviews due",
                            due=due["due"], overdue=due["overdue"],
                            names=_pupil_names(api, due["due"] + due["overdue"]))

    # -- parents -------------------------------------------------------------------------
    @page("GET", "/preferences")
    def preferences(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        saved = Client.for_session(me).try_get(
            "notify", "/api/v1/notification-preferences/" + quote(me.sub, safe=""), {}) or {}
        start, _, end = (saved.get("quiet_hours") or "").partition("-")
        values = {"quiet_from": start, "quiet_to": end}
        return self._render(request, "preferences.html", me=me, title="Message preferences",
                            notice=request.args.get("done"), categories=CATEGORIES,
                            values=values, chosen=saved.get("opt_outs") or [],
                            digest=bool(saved.get("digest")))

    @page("POST", "/preferences")
    def save_preferences(self, request):
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        f = request.form
        quiet = None
        if f.get("quiet_from") and f.get("quiet_to"):
            quiet = f"{f.get('quiet_from')}-{f.get('quiet_to')}"
        body = {"address": me.sub, "opt_outs": [c for c in f.getlist("opt_outs") if c in CATEGORIES],
                "quiet_hours": quiet, "digest": f.get("digest") == "yes"}
        try:
            Client.for_session(me).put("notify", "/api/v1/notification-preferences", body)
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = web.errors_from(exc.field_errors, {
                "quiet_hours": "Enter quiet hours as two times, like 21:00 and 07:00"}, "quiet_hours")
            errors = [("quiet_from" if k == "quiet_hours" else k, m) for k, m in errors]
            return self._render(request, "preferences.html", status=400, me=me,
                                title="Message preferences", errors=errors, values=f,
                                categories=CATEGORIES, chosen=f.getlist("opt_outs"),
                                digest=f.get("digest") == "yes")
        return redirect(links.path("preferences") + "?done=Preferences+saved", code=303)

    # -- CPD ---------------------------------------------------------------------------
    @page("GET", "/cpd/courses")
    def cpd_courses(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        courses = Client.for_session(me).get("cpd", "/api/v1/cpd/courses", limit=200)
        return self._render(request, "cpd_courses.html", me=me, title="Training courses",
                            items=courses.get("items", []))

    def _find_session(self, api, session_id):
        """(course, session) for a session id, from the courses the reader may see."""
        for course in api.get("cpd", "/api/v1/cpd/courses", limit=200).get("items", []):
            for session in course.get("sessions", []):
                if session["id"] == session_id:
                    return course, session
        raise ApiError(404, {})

    def _session_page(self, request, me, session_id, status=200, errors=None, values=None):
        api = Client.for_session(me)
        course, session = self._find_session(api, session_id)
        roles = set(me.roles)
        lead = bool(roles & CPD_LEAD)
        bookings = api.try_get("cpd", f"/api/v1/cpd/sessions/{session_id}/bookings", []) \
            if lead else []
        mine = [b for b in (api.try_get("cpd", "/api/v1/cpd/me/bookings", []) or [])
                if b["session_id"] == session_id and b["status"] not in ("cancelled", "declined")]
        started = datetime.fromisoformat(session["starts_at"]) <= datetime.now(UTC)
        return self._render(request, "cpd_session.html", status=status, me=me,
                            title=course["title"], course=course, s=session, lead=lead,
                            bookings=bookings or [], mine=mine, started=started,
                            may_book=bool(roles & CPD) and session["status"] == "scheduled"
                            and not mine, errors=errors, values=values or {},
                            notice=request.args.get("done"), current=links.path("cpd_catalogue"))

    @page("GET", "/cpd/sessions/<string:session_id>")
    def cpd_session(self, request, session_id):
        me, out = self._signed_in(request)
        if out:
            return out
        return self._session_page(request, me, session_id)

    @page("POST", "/cpd/sessions/<string:session_id>/book")
    def cpd_book(self, request, session_id):
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        f = request.form
        name = (f.get("attendee_name") or me.name or "").strip()
        email = (f.get("attendee_email") or me.sub).strip().lower()
        errors = []
        if not name:
            errors.append(("attendee_name", "Enter the name of the person attending"))
        if not _looks_like_email(email):
            errors.append(("attendee_email", "Enter an email address in the correct format, "
                                             "like name@example.com"))
        if not errors:
            try:
                booking = Client.for_session(me).post(
                    "cpd", f"/api/v1/cpd/sessions/{session_id}/bookings",
                    {"attendee": {"name": name, "email": email}})
            except ApiError as exc:
                if exc.status not in (409, 422):
                    raise
                errors = [("attendee_name", exc.problem.get("detail")
                           or "The place could not be booked")]
        if errors:
            return self._session_page(request, me, session_id, status=400, errors=errors,
                                      values=f)
        done = {"confirmed": "Place booked", "waitlisted": "You are on the waiting list",
                "pending_approval": "Booking sent to your CPD lead for approval"}.get(
            booking["status"], "Booking made")
        return redirect(links.path("cpd_bookings") + "?done=" + done.replace(" ", "+"), code=303)

    @page("POST", "/cpd/sessions/<string:session_id>/attendance")
    def cpd_attendance(self, request, session_id):
        """The CPD lead records who came: every confirmed booking, ticked or not.
        Certificates are issued by the cpd service for those who attended."""
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        api = Client.for_session(me)
        bookings = api.get("cpd", f"/api/v1/cpd/sessions/{session_id}/bookings") or []
        came = set(request.form.getlist("attended"))
        records = [{"booking_id": b["id"], "attended": b["id"] in came}
                   for b in bookings if b["status"] == "confirmed"]
        if not records:
            return self._session_page(request, me, session_id, status=400, errors=[
                ("attended", "There are no confirmed bookings to record attendance for")])
        try:
            result = api.put("cpd", f"/api/v1/cpd/sessions/{session_id}/attendance",
                             {"records": records})
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            return self._session_page(request, me, session_id, status=400, errors=[
                ("attended", exc.problem.get("detail") or "Attendance could not be recorded")])
        issued = len(result.get("certificates_issued") or [])
        done = f"Attendance recorded: {issued} certificate{'s' if issued != 1 else ''} issued"
        return redirect(links.path("cpd_session", session_id=session_id) + "?done="
                        + quote(done), code=303)

    @page("GET", "/cpd/bookings")
    def cpd_bookings(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        bookings = api.get("cpd", "/api/v1/cpd/me/bookings") or []
        titles = {c["id"]: c["title"] for c in
                  api.try_get("cpd", "/api/v1/cpd/courses", {}, limit=200).get("items", [])}
        record = api.try_get("cpd", "/api/v1/cpd/records/me", {}) or {}
        return self._render(request, "cpd_bookings.html", me=me, title="My bookings",
                            items=bookings, titles=titles,
                            certificates=record.get("certificates", []),
                            notice=request.args.get("done"))

    @page("POST", "/cpd/bookings/<string:booking_id>/<string:action>")
    def cpd_booking_action(self, request, booking_id, action):
        me, out = self._signed_in(request, post=True)
        if out:
            return out
        if action not in ("cancel", "approve", "decline"):
            return self._message(request, "Page not found", [], status=404, me=me)
        try:
            Client.for_session(me).post("cpd", f"/api/v1/cpd/bookings/{booking_id}/{action}")
        except ApiError as exc:
            if exc.status != 409:
                raise
            return self._message(request, "That cannot be done now",
                                 [exc.problem.get("detail") or ""], status=409, me=me,
                                 link=links.path("cpd_bookings"), link_text="Back")
        done = {"cancel": "Booking cancelled", "approve": "Booking approved",
                "decline": "Booking declined"}[action]
        target = links.path("cpd_approvals") if action != "cancel" else links.path("cpd_bookings")
        return redirect(target + "?done=" + done.replace(" ", "+"), code=303)

    @page("GET", "/cpd/bookings/<string:booking_id>/calendar.ics")
    def cpd_booking_calendar(self, request, booking_id):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        booking = api.get("cpd", f"/api/v1/cpd/bookings/{booking_id}")
        ics = api.call("GET", "cpd", booking["calendar_path"], raw=True)
        return Response(ics.content, content_type="text/calendar; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="training.ics"'})

    @page("GET", "/cpd/certificates/<string:certificate_id>")
    def cpd_certificate(self, request, certificate_id):
        me, out = self._signed_in(request)
        if out:
            return out
        c = Client.for_session(me).get("cpd", f"/api/v1/cpd/certificates/{certificate_id}")
        return self._render(request, "cpd_certificate.html", me=me, title="Certificate", c=c,
                            current=links.path("cpd_bookings"))

    @page("GET", "/cpd/certificates/<string:certificate_id>/certificate.pdf")
    def cpd_certificate_pdf(self, request, certificate_id):
        me, out = self._signed_in(request)
        if out:
            return out
        pdf = Client.for_session(me).call(
            "GET", "cpd", f"/api/v1/cpd/certificates/{certificate_id}/pdf", raw=True)
        return Response(pdf.content, content_type="application/pdf", headers={
            "Content-Disposition": 'attachment; filename="certificate.pdf"'})

    @page("GET", "/cpd/approvals")
    def cpd_approvals(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        if not set(me.roles) & CPD_LEAD:
            return self._message(request, "You cannot see this page", [
                "Only your school's CPD lead approves bookings."], status=403, me=me)
        api = Client.for_session(me)
        waiting = []
        for course in api.get("cpd", "/api/v1/cpd/courses", limit=200).get("items", []):
            for session in course.get("sessions", []):
                for b in api.try_get("cpd", f"/api/v1/cpd/sessions/{session['id']}/bookings",
                                     []) or []:
                    if b["status"] == "pending_approval" and b["org_id"] == me.org_id:
                        waiting.append({"b": b, "course": course, "s": session})
        return self._render(request, "cpd_approvals.html", me=me, title="Bookings to approve",
                            items=waiting, notice=request.args.get("done"))

    # -- costs, impact, messages ------------------------------------------------------
    @page("GET", "/costs")
    def costs(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        c = api.get("provision", "/api/v1/provision/costs")
        return self._render(request, "costs.html", me=me, title="Costs against the SEN budget",
                            c=c, tier_chart=documents.cost_chart(api, c))

    @page("GET", "/impact")
    def impact(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        group_by = request.args.get("group_by") or "provision"
        if group_by not in ("provision", "provision_org", "org", "trust"):
            group_by = "provision"
        report = Client.for_session(me).get("provision", "/api/v1/provision/reports/impact",
                                            group_by=group_by)
        return self._render(request, "impact.html", me=me, title="Impact report",
                            rows=report.get("rows", []), group_by=group_by,
                            as_of=report.get("as_of"))

    @page("GET", "/notifications")
    def notifications(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        api = Client.for_session(me)
        referral_id, pupil_id = request.args.get("referral_id"), request.args.get("pupil_id")
        items, subject = None, None
        if referral_id or pupil_id:
            which = {"referral_id": referral_id} if referral_id else {"pupil_id": pupil_id}
            items = api.get("notify", "/api/v1/notifications", **which).get("items", [])
            subject = which
        roles = set(me.roles)
        referrals = (api.try_get("referrals", "/api/v1/referrals", {}, limit=50) or {}).get(
            "items", []) if roles & (MESSAGE_READERS - {"senco"}) else []
        pupils = (api.try_get("pupils", "/api/v1/pupils", {}, limit=100) or {}).get(
            "items", []) if roles & {"senco", "trust_admin", "auditor"} else []
        return self._render(request, "notifications.html", me=me, title="Messages sent",
                            items=items, subject=subject, referrals=referrals, pupils=pupils)

    # -- trust admin ---------------------------------------------------------------------
    @page("GET", "/admin/organisations")
    def organisations(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        orgs = Client.for_session(me).get("pupils", "/api/v1/organisations")
        return self._render(request, "organisations.html", me=me, title="Organisations",
                            items=orgs.get("items", orgs if isinstance(orgs, list) else []))

    @page("GET", "/admin/staff")
    def staff(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        staff = Client.for_session(me).get("pupils", "/api/v1/staff")
        return self._render(request, "staff.html", me=me, title="Staff directory",
                            items=staff.get("items", staff if isinstance(staff, list) else []))

    @page("GET", "/<path:path>")
    def not_found(self, request, path):
        return self._message(request, "Page not found", [
            "If you typed the web address, check it is correct.",
            "If you pasted the web address, check you copied the entire address."],
            status=404, me=self._me(request))

    # -- documents and charts -------------------------------------------------------------
    # Documents made from the pages' own data, with names (documents.py gathers and renders;
    # each call goes with the person's token, so a document is scoped as its page is).
    def _download(self, request, build):
        me, out = self._signed_in(request)
        if out:
            return out
        try:
            doc = build(Client.for_session(me), me)
        except documents.NotADocument:
            return self._message(request, "Page not found", [], status=404, me=me)
        return document_response(doc.data, doc.fmt, doc.name)

    @page("GET", "/pupils/<string:pupil_id>/passport.pdf")
    def passport_pdf(self, request, pupil_id):
        return self._download(request, lambda api, me: documents.passport(api, me, pupil_id))

    @page("GET", "/pupils/<string:pupil_id>/provision-map.<string:fmt>")
    def pupil_provision_map(self, request, pupil_id, fmt):
        return self._download(request, lambda api, me: documents.pupil_provision_map(
            api, me, pupil_id, fmt))

    @page("GET", "/pupils/<string:pupil_id>/ehc-plan.pdf")
    def ehc_timeline_pdf(self, request, pupil_id):
        return self._download(request, lambda api, me: documents.ehc_timeline(
            api, me, pupil_id, request.args.get("plan")))

    @page("GET", "/referrals/<string:referral_id>/report.pdf")
    def outreach_report_pdf(self, request, referral_id):
        return self._download(request, lambda api, me: documents.outreach_report(
            api, me, referral_id))

    def _map_filters(self, request):
        return {k: (request.args.get(k) or "").strip() or None
                for k in ("registration_group", "year_group", "org_id")}

    @page("GET", "/provision-map")
    def class_provision_map(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        filters = self._map_filters(request)
        try:
            view = documents.class_map(Client.for_session(me), me, **filters)
        except documents.NotADocument:
            return redirect(links.path("pupils"), code=303)
        query = urlencode({k: v for k, v in filters.items() if v})
        return self._render(request, "provision_map.html", me=me, title=view["title"],
                            current=links.path("pupils"), view=view, downloads=[
                                (f"/provision-map.{fmt}?{query}", text)
                                for fmt, text in documents.DOWNLOADS])

    @page("GET", "/provision-map.<string:fmt>")
    def class_provision_map_file(self, request, fmt):
        filters = self._map_filters(request)

        def build(api, me):
            documents.check_format(fmt)
            view = documents.class_map(api, me, **filters)
            return documents.provision_map_document(
                view, fmt, "provision-map-" + (view["scope_label"] or "class"))
        return self._download(request, build)

    @page("GET", "/costs.<string:fmt>")
    def costs_file(self, request, fmt):
        return self._download(request, lambda api, me: documents.costs_sheet(api, me, fmt))

    @page("GET", "/impact.<string:fmt>")
    def impact_file(self, request, fmt):
        return self._download(request, lambda api, me: documents.impact_sheet(
            api, fmt, request.args.get("group_by")))

    @page("GET", "/reviews-due.<string:fmt>")
    def reviews_due_file(self, request, fmt):
        return self._download(request, lambda api, me: documents.reviews_due_sheet(api, me, fmt))

    @page("GET", "/cpd/records.<string:fmt>")
    def cpd_records_file(self, request, fmt):
        return self._download(request, lambda api, me: documents.cpd_records_sheet(api, me, fmt))

    @page("GET", "/referrals.<string:fmt>")
    def referrals_file(self, request, fmt):
        return self._download(request, lambda api, me: documents.referrals_sheet(
            api, me, fmt, request.args.get("status")))

    @page("GET", "/trust/need-and-training")
    def need_and_training(self, request):
        me, out = self._signed_in(request)
        if out:
            return out
        view = documents.need_against_training(Client.for_session(me))
        return self._render(request, "need_training.html", me=me,
                            title="Referrals by area of need against training delivered", **view)


PASSPORT_SECTIONS = {"about_me": "About me", "strengths": "My strengths", "needs": "My needs",
                     "what_helps": "What helps me", "what_does_not_help": "What does not help me",
                     "pupil_voice": "In my own words"}
CATEGORIES = {"referral": "Referrals", "passport": "Pupil passport updates",
              "ehcp": "EHC plan dates and reviews", "pupil_move": "School moves",
              "alert": "Alerts", "cpd": "Training"}
PUPIL_MESSAGES = {
    "upn": "Enter a valid unique pupil number (UPN), like B801200005001",
    "forename": "Enter the pupil's first name", "legal_surname": "Enter the pupil's last name",
    "date_of_birth": "Enter the pupil's date of birth as a real date in the past",
    "year_group": "Enter the year group as a number, like 4",
    "description": "Enter what the target is", "area_of_need": "Select the area of need",
    "baseline": "Enter where the pupil is now", "expected_outcome": "Enter the expected outcome",
    "measure": "Enter how progress will be measured", "due_date": "Enter the date the target is due",
    "started_on": "Enter the date the cycle started", "review_date": "Enter the date of the review",
    "reviewed_on": "Enter the date of the review", "note": "Enter what the review found",
}


def _pupil_names(api, rows):
    """{pupil_id: "Forename Surname"} for the pupils in rows (the pupils service's names;
    provision keeps no names)."""
    names = {}
    for pupil_id in dict.fromkeys(r["pupil_id"] for r in rows):
        p = api.try_get("pupils", f"/api/v1/pupils/{pupil_id}")
        if p:
            names[pupil_id] = f"{p['forename']} {p['legal_surname']}"
    return names


def _child_name(me, pupil_id):
    for c in me.choices:
        for child in c.get("children", []):
            if child["pupil_id"] == pupil_id:
                return child.get("pupil_name")
    return None


def _looks_like_email(value):
    local, _, domain = value.partition("@")
    return bool(local) and "." in domain and " " not in value and len(value) <= 254 \
        and not domain.startswith(".") and not domain.endswith(".")


_ = settings  # settings are read through web/clients/oidc
