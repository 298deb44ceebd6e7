"""The portal's forms: posted fields → the API's bodies, and the API's problem
documents → GOV.UK error messages (one per field, in the order of the page). The
referral form moved here from the referrals service's own web form."""

import re
import uuid

CYCLES = 2
IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[0-9a-f-]{36}$")
ORDINALS = ("first", "second", "third", "fourth", "fifth")


# -- fields ------------------------------------------------------------------------

def date_from(form, name):
    parts = [form.get(f"{name}-{p}", "").strip() for p in ("year", "month", "day")]
    if not any(parts):
        return None
    year, month, day = parts
    if year.isdigit() and month.isdigit() and day.isdigit():
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return "-".join(parts)  # the API names it: "Not a valid date."


def date_fields(name, iso):
    """The three inputs of a GOV.UK date field from an ISO date (for a form shown again)."""
    if not iso:
        return {}
    year, month, day = str(iso)[:10].split("-")
    return {f"{name}-day": str(int(day)), f"{name}-month": str(int(month)),
            f"{name}-year": year}


def text(form, name):
    value = form.get(name, "").strip()
    return value or None


def drop_none(value):
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def errors_from(problem_errors, messages, default_field):
    """The API's field errors → [(field, message)] for the error summary, with the
    GOV.UK Design System's wording where we have it, one per field."""
    out = {}
    for name, errs in (problem_errors or {}).items():
        field = name.split(".")[0] if name.split(".")[-1].isdigit() else name
        if field == "body" or field == "_schema":
            field = default_field
        message = messages.get(field)
        if message is None:
            first = errs[0] if isinstance(errs, list) and errs else str(errs)
            message = f"{field.split('.')[-1].replace('_', ' ').capitalize()}: {first}"
        out.setdefault(field, message)
    return list(out.items())


# -- the referral form -------------------------------------------------------------

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
                  "date_of_birth": date_from(form, "pupil.date_of_birth"),
                  "upn": (text("pupil.upn") or "").upper() or None},
        "contact": {"name": text("contact.name"), "email": text("contact.email"),
                    "phone": text("contact.phone")},
        "areas_of_need": form.getlist("areas_of_need"),
        "need_types": form.getlist("need_types"),
        "concerns": text("concerns"),
        "support_so_far": text("support_so_far"),
        "parental_consent": {"given": form.get("parental_consent.given") == "yes",
                             "date": date_from(form, "parental_consent.date"),
                             "given_by": text("parental_consent.given_by")},
        "graduated_approach": [],
    }
    for i in range(CYCLES):
        cycle = {"started_on": date_from(form, f"graduated_approach.{i}.started_on"),
                 "reviewed_on": date_from(form, f"graduated_approach.{i}.reviewed_on"),
                 "provision": text(f"graduated_approach.{i}.provision"),
                 "outcome": text(f"graduated_approach.{i}.outcome")}
        if any(cycle.values()):
            body["graduated_approach"].append(cycle)
    return drop_none(body)


def answered(form):
    """Has the person answered anything on the referral form yet?"""
    return any(v.strip() for k, v in form.items(multi=True)
               if k not in ("csrf", "idempotency_key", "action"))


def draft_from_form(form):
    """The body of a draft (PATCH or POST .../drafts): what the form has so far. What
    is not answered yet is left out (a draft may lack anything); an unticked consent
    box is not an answer yet."""
    body = body_from_form(form)
    if not body["parental_consent"].get("given"):
        body["parental_consent"].pop("given")
    if not body["areas_of_need"]:
        body.pop("areas_of_need")
    if "upn" not in body["pupil"]:
        body["pupil"]["upn"] = None  # a UPN taken out of the form is taken off the draft
    return {k: v for k, v in body.items() if v != {}}


def form_from_referral(r):
    """The referral form's fields from a referral (a draft shown again to finish it)."""
    pupil, contact = r.get("pupil") or {}, r.get("contact") or {}
    consent = r.get("parental_consent") or {}
    values = {"pupil.first_name": pupil.get("first_name") or "",
              "pupil.last_name": pupil.get("last_name") or "",
              "pupil.upn": pupil.get("upn") or "",
              "contact.name": contact.get("name") or "",
              "contact.email": contact.get("email") or "",
              "contact.phone": contact.get("phone") or "",
              "concerns": r.get("concerns") or "", "support_so_far": r.get("support_so_far") or "",
              "parental_consent.given": "yes" if consent.get("given") else "",
              "parental_consent.given_by": consent.get("given_by") or ""}
    values.update(date_fields("pupil.date_of_birth", pupil.get("date_of_birth")))
    values.update(date_fields("parental_consent.date", consent.get("date")))
    for i, cycle in enumerate((r.get("graduated_approach") or [])[:CYCLES]):
        prefix = f"graduated_approach.{i}"
        values[f"{prefix}.provision"] = cycle.get("provision") or ""
        values[f"{prefix}.outcome"] = cycle.get("outcome") or ""
        values.update(date_fields(f"{prefix}.started_on", cycle.get("started_on")))
        values.update(date_fields(f"{prefix}.reviewed_on", cycle.get("reviewed_on")))
    return values


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
# where a missing answer reads better than the general message (dates: "Enter the date")
MISSING_LABELS = {
    "pupil.date_of_birth": "Enter the pupil's date of birth",
    "parental_consent.date": "Enter the date consent was given",
}
CYCLE_FIELDS = ("provision", "started_on", "reviewed_on", "outcome")


def cycle_message(index, part, api_message=""):
    """The message for one field of an assess-plan-do-review cycle, naming the field."""
    nth = ORDINALS[index] if index < len(ORDINALS) else f"number {index + 1}"
    if part == "started_on" and (api_message or "").startswith("Missing data"):
        return f"Enter the date the {nth} cycle started"
    if part == "reviewed_on" and "before" in (api_message or ""):
        return f"The date the {nth} review happened must be on or after the date it started"
    return {"provision": f"Enter the provision tried in the {nth} cycle",
            "started_on": f"Enter the date the {nth} cycle started as a real date in the past",
            "reviewed_on": f"Enter the date the {nth} review happened",
            "outcome": f"Enter the outcome of the {nth} review"}[part]


def date_field_names(cycles=CYCLES):
    """The referral form's date fields (their error links land on the day input)."""
    return ["pupil.date_of_birth", "parental_consent.date",
            *[f"graduated_approach.{i}.{p}" for i in range(cycles)
              for p in ("started_on", "reviewed_on")]]


def page_order(cycles=CYCLES):
    """The referral form's fields in the order of the page (the error summary's order)."""
    return ["pupil.first_name", "pupil.last_name", "pupil.date_of_birth", "pupil.upn",
            "areas_of_need", "need_types", "concerns", "support_so_far",
            *[f"graduated_approach.{i}.{p}" for i in range(cycles) for p in CYCLE_FIELDS],
            "contact.name", "contact.email", "contact.phone",
            "parental_consent.given", "parental_consent.date", "parental_consent.given_by"]


def form_errors(flat):
    """Problem-details field errors → [(field name, message)] for the error summary,
    one per form field, in the order of the page."""
    out = {}
    for name, messages in flat.items():
        field = name
        first = messages[0] if isinstance(messages, list) and messages else str(messages)
        if name.startswith(("areas_of_need.", "need_types.")):
            field = name.split(".")[0]
        if name.startswith("graduated_approach."):
            parts = name.split(".")
            if len(parts) >= 3 and parts[1].isdigit() and parts[2] in CYCLE_FIELDS:
                field = ".".join(parts[:3])
                message = cycle_message(int(parts[1]), parts[2], first)
            else:
                field, message = "graduated_approach.0.provision", first
        elif first.startswith("Missing data") and field in MISSING_LABELS:
            message = MISSING_LABELS[field]
        else:
            message = FIELD_LABELS.get(field, first)
        if field in ("body", "graduated_approach"):
            field = "pupil.first_name" if field == "body" else "graduated_approach.0.provision"
        out.setdefault(field, message)
    return in_page_order(out.items())


def in_page_order(errors):
    """[(field, message)] sorted as the fields stand on the referral form."""
    errors = list(errors)
    order = {name: i for i, name in enumerate(page_order(max(CYCLES, _cycles_named(errors))))}
    return sorted(errors, key=lambda item: order.get(item[0], len(order)))


def _cycles_named(errors):
    return max((int(f.split(".")[1]) + 1 for f, _ in errors if f.startswith("graduated_approach.")
                and f.split(".")[1].isdigit()), default=0)
