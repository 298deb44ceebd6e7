"""Rendering and the HTTP details of every page: GOV.UK Frontend assets (npm,
services/portal/web/node_modules), the Jinja2 environment, security headers
(CSP, no caching of personal pages), cookies and CSRF tokens. `Renderer` gives the
entrypoints the templates as a dependency.
"""

import hmac
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.contracts import links, names
from services.contracts.sen import AREAS_OF_NEED, NEED_TYPES

HERE = Path(__file__).resolve().parents[1]
ASSETS = HERE / "web" / "node_modules" / "govuk-frontend" / "dist" / "govuk"
STATIC = HERE / "static"
SESSION_COOKIE = "sen_portal_session"
PRE_COOKIE = "sen_portal_pre"     # CSRF token of a person not signed in yet
NEXT_COOKIE = "sen_portal_next"   # where to go after signing in
SERVICE_NAME = "SEN trust portal"

_env = Environment(loader=FileSystemLoader(HERE / "templates"),
                   autoescape=select_autoescape(("html",)), trim_blocks=True, lstrip_blocks=True)
_env.globals.update(links=links, path=links.path, service_name=SERVICE_NAME,
                    areas_of_need=AREAS_OF_NEED, need_types=NEED_TYPES)
_env.filters["field_id"] = lambda name: str(name).replace(".", "-")
_env.filters["words"] = lambda value: str(value if value is not None else "").replace("_", " ")
# Names, not codes, wherever a person reads (services/contracts/names.py, the one table):
# `{{ p.sen_status | label }}`, `{{ r.areas_of_need | label | join(", ") }}` (a list is
# named item by item), `{{ s.status | label("booking_status") }}` where two tables share a code.
_env.filters["label"] = lambda value, kind=None: (
    [names.label(v, kind) for v in value] if isinstance(value, (list, tuple)) else
    names.label(value, kind))
_env.filters["year"] = names.year_group_name
# First letter up, the rest as written (Jinja's `capitalize` would turn "SEN" into "sen").
_env.filters["sentence"] = lambda value: (str(value)[:1].upper() + str(value)[1:]) if value else ""
_env.globals.update(progress_levels=[(code, names.label(code, "progress"))
                                     for code in names.PROGRESS_NAMES])
_env.filters["date"] = lambda v: _date(v)


def _date(value):
    from datetime import date, datetime
    if not value:
        return ""
    try:
        d = datetime.fromisoformat(str(value)) if "T" in str(value) else \
            date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{d.day} {d.strftime('%B %Y')}"


def assets_ready():
    return (ASSETS / "govuk-frontend.min.css").exists()


def secure_cookies():
    return links.base_url().startswith("https://")


def render(template, **context):
    return _env.get_template(template).render(**context)


def csp(form_action=None):
    actions = " ".join(["'self'"] + ([form_action] if form_action else []))
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action {actions}")


def harden(response, form_action=None):
    """The headers every HTML response carries."""
    if response.mimetype == "text/html" or response.status_code in (301, 302, 303):
        response.headers["Content-Security-Policy"] = csp(form_action)
        response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if secure_cookies():
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def html(body, status=200):
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def set_cookie(response, name, value, max_age=None):
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="Lax", secure=secure_cookies())


def clear_cookie(response, name):
    response.delete_cookie(name, path="/", httponly=True, samesite="Lax",
                           secure=secure_cookies())


def new_token():
    return secrets.token_urlsafe(32)


def same(a, b):
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def safe_next(value):
    """Only a path on this site (never //host or a full URL) is a place to go back to."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    return None if parts.scheme or parts.netloc else value


def client_ip(request, trust_proxy_headers=False):
    """The client's address: the first X-Forwarded-For hop behind the ingress."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return (forwarded.split(",")[0].strip() if forwarded and trust_proxy_headers
            else request.remote_addr) or "unknown"


class Renderer(DependencyProvider):
    """`pages = Renderer()`: `pages.render(template, **context)` → an HTML response."""

    class Pages:
        @staticmethod
        def render(template, status=200, **context):
            return html(render(template, **context), status=status)

    def get_dependency(self, worker_ctx):
        return self.Pages
