"""Assets, sign-in (a work account over OpenID Connect, or an emailed one-time link),
choosing the organisation, signing out, and the home page."""

import logging
from datetime import timedelta

import eventlet
from werkzeug.utils import redirect, send_from_directory

from services.contracts import links

from .. import commands, domain, queries
from ..adapters import web
from ..adapters.oidc import SignInFailed
from .base import page, person_page

log = logging.getLogger(__name__)


class SignInPages:
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

    def _sign_in_page(self, request, status=200, **context):
        response = self._render(request, "sign_in.html", status=status, title="Sign in",
                                oidc=self.oidc.configured(),
                                minutes=self.config.link_minutes, **context)
        response.form_action = self.oidc.issuer_origin()
        return response

    def _sign_in_failed(self, request, line):
        return self._message(request, "Sign-in did not work", [line], status=400,
                             link=links.path("sign_in"), link_text="Sign in")

    def _start_session(self, request, sub, name, method, choices):
        _, token = commands.create_session(self.db, sub, name, method, choices)
        target = web.safe_next(request.cookies.get(web.NEXT_COOKIE)) or "/"
        response = redirect(target if len(choices) == 1 else "/sign-in/choose", code=303)
        web.set_cookie(response, web.SESSION_COOKIE, token,
                       max_age=int(timedelta(hours=self.config.session_absolute_hours)
                                   .total_seconds()))
        web.clear_cookie(response, web.PRE_COOKIE)
        if len(choices) == 1:
            web.clear_cookie(response, web.NEXT_COOKIE)
        return response

    @page("GET", "/sign-in")
    def sign_in(self, request):
        return self._sign_in_page(request)

    @page("POST", "/sign-in/oidc")
    def sign_in_oidc(self, request):
        if not self._pre_csrf_ok(request):
            return redirect(links.path("sign_in"), code=303)
        if not self.oidc.configured():
            return self._message(request, "Staff sign-in is not set up",
                                 ["Ask your trust admin."], status=503)
        url, state, nonce, verifier = self.oidc.start(self._callback_url())
        commands.save_login_state(self.db, state, nonce, verifier,
                                  ttl=timedelta(minutes=self.config.login_state_minutes))
        response = redirect(url, code=303)
        response.form_action = self.oidc.issuer_origin()
        return response

    def _callback_url(self):
        return links.base_url() + "/sign-in/oidc/callback"

    @page("GET", "/sign-in/oidc/callback")
    def oidc_callback(self, request):
        saved = commands.take_login_state(self.db, request.args.get("state"),
                                          ttl=timedelta(minutes=self.config.login_state_minutes))
        if saved is None or not request.args.get("code"):
            return self._sign_in_failed(
                request, "Your sign-in took too long or was cancelled. Try again.")
        try:
            person = self.oidc.finish(self._callback_url(), request.args["code"], *saved)
        except SignInFailed:
            return self._sign_in_failed(request, "We could not confirm who you are. Try again.")
        choices = domain.staff_choices(self.services.sign_in_lookup(person["email"]))
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
        if not domain.looks_like_email(email):
            msg = "Enter an email address in the correct format, like name@example.com"
            if not email:
                msg = "Enter your email address"
            return self._sign_in_page(request, status=400, errors=[("email", msg)],
                                      values={"email": email})
        ip = web.client_ip(request, self.config.trust_proxy_headers)
        if not commands.hit(self.db, "ip", ip, self.config.ip_link_limit):
            return self._message(request, "Too many sign-in requests",
                                 ["Wait 15 minutes, then try again."], status=429)
        # where to go after signing in stays in this browser's NEXT cookie: notify sends
        # only a bare sign-in link (no query), so the link itself carries nothing else
        eventlet.spawn_n(self._send_link, self.db, self.services, self.config, email)
        return self._message(request, "Check your email", [
            "If this address can sign in, we have sent it a link.",
            f"The link works once and expires in {self.config.link_minutes} minutes."])

    @staticmethod
    def _send_link(db, services, config, email):
        """Look the address up and ask notify to send a link; the same page was already
        answered whatever the outcome, so nothing here tells a stranger who is known."""
        try:
            if not commands.hit(db, "email", email, config.email_link_limit):
                return
            if not domain.link_choices(services.sign_in_lookup(email)):
                return
            token, expires = commands.create_link(
                db, email, ttl=timedelta(minutes=config.link_minutes))
            services.send_sign_in_link(email, links.url("sign_in_link", token=token), expires)
        except Exception as exc:  # noqa: BLE001 - logged without the address or the link
            log.warning("sign-in link not sent: %s", type(exc).__name__)

    @page("GET", "/sign-in/link/<string:token>")
    def sign_in_link(self, request, token):
        if not queries.link_is_usable(self.db, token):
            return self._link_spent(request)
        response = self._render(request, "confirm_link.html", title="Sign in",
                                action=request.full_path.rstrip("?"))
        nxt = web.safe_next(request.args.get("next"))
        if nxt:
            web.set_cookie(response, web.NEXT_COOKIE, nxt, 1800)
        return response

    def _link_spent(self, request):
        return self._message(request, "This link has expired", [
            f"Sign-in links work once and expire after {self.config.link_minutes} minutes. "
            "Ask for a new one."],
            status=400, link=links.path("sign_in"), link_text="Get a new link")

    @page("POST", "/sign-in/link/<string:token>")
    def use_sign_in_link(self, request, token):
        if not self._pre_csrf_ok(request):
            return redirect(request.full_path.rstrip("?"), code=303)
        email = commands.use_link(self.db, token)
        if email is None:
            return self._link_spent(request)
        choices = domain.link_choices(self.services.sign_in_lookup(email))
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
        if not choice.isdigit() or not commands.choose(self.db, me.id, int(choice)):
            return self._choose_page(request, me, errors=[
                ("choice", "Select the organisation you are working for")])
        response = redirect(web.safe_next(request.cookies.get(web.NEXT_COOKIE)) or "/", code=303)
        web.clear_cookie(response, web.NEXT_COOKIE)
        return response

    def _signed_out(self, request, end):
        me = self._me(request)
        if me is not None and web.same(request.form.get("csrf"), me.csrf_token):
            end(me)
        response = redirect(links.path("sign_in"), code=303)
        web.clear_cookie(response, web.SESSION_COOKIE)
        return response

    @page("POST", "/sign-out")
    def sign_out(self, request):
        return self._signed_out(request, lambda me: commands.end_session(self.db, me.id))

    @page("POST", "/sign-out/everywhere")
    def sign_out_everywhere(self, request):
        return self._signed_out(request, lambda me: commands.end_all_sessions(self.db, me.sub))

    @person_page("GET", "/")
    def home(self, request, me):
        return self._render(request, "home.html", me=me, title="Home",
                            children=domain.children_of(me))
