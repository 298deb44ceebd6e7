"""The one shape of a portal page: load the person's session (or send them to sign
in), check the form's CSRF token on a POST, call a query or a command, render a
GOV.UK page. `person_page` does the first two; `Pages._submit` the last two for a
form; `Pages._render` draws any page."""

import functools
import logging
from datetime import timedelta

from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException
from werkzeug.utils import redirect

from services.common.http import PlatformWebServer
from services.contracts import links

from .. import domain, queries
from ..adapters import web
from ..adapters.services import ApiError
from ..domain import Invalid, Refused

log = logging.getLogger(__name__)


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


def person_page(method, url):
    """A page for a person signed in and working for an organisation: the entrypoint
    gets `me` (the session) after `request`; a POST's CSRF token is checked first."""
    def decorate(fn):
        @functools.wraps(fn)
        def entry(self, request, **params):
            me, out = self._signed_in(request, post=method == "POST")
            if out is not None:
                return out
            return fn(self, request, me, **params)
        return page(method, url)(entry)
    return decorate


class Pages:
    """What every entrypoint mixin shares (PortalService declares the dependencies:
    db, config, services, oidc, pages, documents)."""

    def _me(self, request):
        return queries.find_session(self.db, request.cookies.get(web.SESSION_COOKIE),
                                    **self._session_limits())

    def _session_limits(self):
        return {"idle": timedelta(minutes=self.config.session_idle_minutes),
                "absolute": timedelta(hours=self.config.session_absolute_hours)}

    def _api(self, me):
        """The services' APIs, as this person."""
        return self.services.as_person(me)

    def _render(self, request, template, status=200, me=None, current=None, **context):
        csrf = me.csrf_token if me else request.cookies.get(web.PRE_COOKIE) or web.new_token()
        nav = domain.navigation(me) if me and me.org_id else []
        context.setdefault("errs", dict(context.get("errors") or []))
        context.setdefault("values", {})
        response = self.pages.render(template, status=status, me=me, csrf=csrf, nav=nav,
                                     current=current or request.path, **context)
        if not me and request.cookies.get(web.PRE_COOKIE) != csrf:
            web.set_cookie(response, web.PRE_COOKIE, csrf)
        return response

    def _message(self, request, title, lines, status=200, me=None, **kw):
        return self._render(request, "message.html", status=status, me=me, title=title,
                            lines=lines, **kw)

    def _not_found(self, request, me=None):
        return self._message(request, "Page not found", [], status=404, me=me)

    def _submit(self, request, me, command, redisplay):
        """The one shape of a form's POST: `command()` answers where to go (303); a form
        refused by field is shown again by `redisplay(errors)` (400); an action that
        cannot be done now is a page that says why (409)."""
        try:
            return redirect(command(), code=303)
        except Invalid as exc:
            return redisplay(exc)
        except Refused as exc:
            return self._message(request, exc.title, exc.lines, status=409, me=me,
                                 link=exc.back, link_text=exc.back_text)

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
