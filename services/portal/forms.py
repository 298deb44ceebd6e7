"""Forms whose fields map to an API body: the referral form (moved from the
referrals service's web form) and its GOV.UK error messages."""

import re
import uuid

from .web import date_from as _date
from .web import drop_none as _drop_none

CYCLES = 2
IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[0-9a-f-]{36}$")


def new_idempotency_key():
    """The key of one blank referral form (its hidden `idempotency_key` field)."""
    return str(uuid.uuid4())


def idempotency_key(form):
    """The posted form's key, or None if it is missing or not one of ours."""
    value = (form.get("idempotency_key") or "").strip().lower()
    return value if _KEY.match(value) else None


def already_sent(status, field_errors):
    """Did referrals refuse the POST because this form's key was used already (still in
    flight: 409; sent before with other answers: 422 naming the header)?"""
    return status == 409 or (status == 422 and IDEMPOTENCY_HEADER in (field_errors or {}))


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


