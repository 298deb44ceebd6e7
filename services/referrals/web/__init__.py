"""The web form for schools without an integration: server-rendered pages in the
GOV.UK Frontend style (npm package `govuk-frontend`, installed at build time into
services/referrals/web/node_modules with `npm ci --prefix services/referrals/web`).

Plain functions only: turning form fields into the API's request body, mapping
validation errors back to fields, one-time tokens, rendering and the sign-in email.
The entrypoints live in service.py.
"""

import hashlib
import hmac
import secrets
import smtplib
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.common import settings
from services.contracts.names import label
from services.contracts.sen import AREAS_OF_NEED, NEED_TYPES

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "node_modules" / "govuk-frontend" / "dist" / "govuk"
PREFIX = "/forms/referrals"
COOKIE = "sen_referrals_session"
LINK_MINUTES = 15
SESSION_HOURS = 8
DATE_FIELDS = ("pupil.date_of_birth", "parental_consent.date",
               "graduated_approach.0.started_on", "graduated_approach.0.reviewed_on",
               "graduated_approach.1.started_on", "graduated_approach.1.reviewed_on")
CYCLES = 2

_env = Environment(loader=FileSystemLoader(HERE / "templates"),
                   autoescape=select_autoescape(("html",)), trim_blocks=True, lstrip_blocks=True)
_env.globals.update(prefix=PREFIX, areas_of_need=AREAS_OF_NEED, need_types=NEED_TYPES,
                    cycles=range(CYCLES))
_env.filters["field_id"] = lambda name: name.replace(".", "-")
_env.filters["words"] = label  # names, not codes (services/contracts/names.py)
_env.filters["upper_first"] = lambda text: text[:1].upper() + text[1:]


def assets_ready():
    return (ASSETS / "govuk-frontend.min.css").exists()


def render(template, **context):
    return _env.get_template(template).render(**context)


# -- tokens ------------------------------------------------------------------------

def new_token():
    return secrets.token_urlsafe(32)


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def same(a, b):
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


# -- the referral form -------------------------------------------------------------

def _date(form, name):
    parts = [form.get(f"{name}-{p}", "").strip() for p in ("year", "month", "day")]
    if not any(parts):
        return None
    year, month, day = parts
    if year.isdigit() and month.isdigit() and day.isdigit():
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return "-".join(parts)  # marshmallow names it: "Not a valid date."


def body_from_form(form):
    """The API's create body from the posted form (a werkzeug MultiDict)."""
    def text(name):
        value = form.get(name, "").strip()
        return value or None

    body = {
        "pupil": {"first_name": text("pupil.first_name"), "last_name": text("pupil.last_name"),
                  "date_of_birth": _date(form, "pupil.date_of_birth"),
                  "upn": (text("pupil.upn") or "").upper() or None},
        "contact": {"name": text("contact.name"), "email": text("contact.email"),
                    "phone": text("contact.phone")},
        "areas_of_need": form.getlist("areas_of_need"),
        "need_types": form.getlist("need_types"),
        "concerns": text("concerns"),
        "support_so_far": text("support_so_far"),
        "parental_consent": {"given": form.get("parental_consent.given") == "yes",
                             "date": _date(form, "parental_consent.date"),
                             "given_by": text("parental_consent.given_by")},
        "graduated_approach": [],
    }
    for i in range(CYCLES):
        cycle = {"started_on": _date(form, f"graduated_approach.{i}.started_on"),
                 "reviewed_on": _date(form, f"graduated_approach.{i}.reviewed_on"),
                 "provision": text(f"graduated_approach.{i}.provision"),
                 "outcome": text(f"graduated_approach.{i}.outcome")}
        if any(cycle.values()):
            body["graduated_approach"].append(cycle)
    return _drop_none(body)


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


FIELD_LABELS = {
    "pupil.first_name": "Enter the pupil's first name",
    "pupil.last_name": "Enter the pupil's last name",
    "pupil.date_of_birth": "Enter the pupil's date of birth as a real date in the past",
    "pupil.upn": "Enter a valid unique pupil number (UPN), or leave it blank",
    "contact.name": "Enter your name",
    "contact.email": "Enter an email address in the correct format, like name@example.com",
    "contact.phone": "Enter a telephone number, like 01632 960 001",
    "areas_of_need": "Select at least one area of need",
    "need_types": "Select each type of need once",
    "concerns": "Describe your concerns",
    "support_so_far": "Describe the support the pupil has had so far",
    "parental_consent.given": "Confirm that a parent or carer consents to this referral",
    "parental_consent.date": "Enter the date consent was given as a real date",
    "parental_consent.given_by": "Enter who gave consent",
    "info_answer": "Answer the question from the outreach team",
}


def form_errors(flat):
    """Problem-details field errors → [(field name, message)] for the error summary,
    one per form field, in the order of the page."""
    out = {}
    for name, messages in flat.items():
        field = name
        if name.startswith(("areas_of_need.", "need_types.")):
            field = name.split(".")[0]
        if name.startswith("graduated_approach."):
            parts = name.split(".")
            field = ".".join(parts[:3]) if len(parts) >= 3 else "graduated_approach.0.provision"
            message = f"Cycle {int(parts[1]) + 1}: {messages[0]}" if len(parts) >= 3 \
                else messages[0]
        else:
            message = FIELD_LABELS.get(field, messages[0])
        if field == "body":
            field = "pupil.first_name"
        out.setdefault(field, message)
    return list(out.items())


# -- the sign-in email ---------------------------------------------------------------

def send_sign_in_email(to, link):
    """Send the one-time link by SMTP (the same settings notify uses)."""
    msg = EmailMessage()
    msg["From"] = settings.get("SMTP_FROM")
    msg["To"] = to
    msg["Subject"] = "Your sign-in link for outreach referrals"
    msg.set_content(
        "Use this link to sign in to the outreach referral form. It works once and "
        f"expires in {LINK_MINUTES} minutes.\n\n{link}\n\n"
        "If you did not ask to sign in, you can ignore this email.\n")
    host, port = settings.get("SMTP_HOST"), settings.get_int("SMTP_PORT")
    with smtplib.SMTP(host, port, timeout=settings.get_float("SMTP_TIMEOUT")) as smtp:
        if settings.get_bool("SMTP_STARTTLS"):
            smtp.starttls()
        user = settings.get("SMTP_USERNAME")
        if user:
            smtp.login(user, settings.get("SMTP_PASSWORD") or "")
        smtp.send_message(msg)
