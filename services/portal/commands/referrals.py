"""The referral form and the referral page's forms → the referrals API. Each command
answers where to go next, or raises `Invalid` with the errors to show by their fields."""

from services.contracts import links

from .. import domain, schemas
from ..adapters.services import ApiError
from ..domain import Invalid, Refused

DRAFTS = "/api/v1/referrals/drafts"


def _draft_errors(exc):
    if exc.status != 422:
        raise exc
    return Invalid(schemas.form_errors(exc.field_errors))


def save_draft(api, form, referral_id=None):
    """Keep what the form has so far as a draft (new, or the one being finished); the
    draft's id. Values that are there must be valid; nothing is required yet."""
    body = schemas.draft_from_form(form)
    try:
        if referral_id:
            return api.patch("referrals", f"/api/v1/referrals/{referral_id}", body)["id"]
        return api.post("referrals", DRAFTS, body,
                        idempotency_key=schemas.idempotency_key(form))["id"]
    except ApiError as exc:
        if schemas.already_sent(exc.status, exc.field_errors):
            raise Refused("This form has already been sent",
                          ["Check your referrals before sending it again."],
                          back=links.path("referrals"), back_text="Your referrals") from None
        if exc.status == 409:
            raise Refused("This referral has already been sent",
                          ["It can no longer be changed here."],
                          back=links.path("referral", referral_id=referral_id)) from None
        raise _draft_errors(exc) from None


def keep_draft(api, form, referral_id=None):
    """Save as draft: the referrals page, where the draft waits to be finished."""
    save_draft(api, form, referral_id)
    return domain.done_url(links.path("referrals"),
                           "Your draft referral has been saved. Continue it from this page")


def continue_to_check(api, form, referral_id=None):
    """Save the draft, then check that every answer a referral needs is there; the
    check-answers page when it is."""
    missing = schemas.form_errors(domain.missing_answers(schemas.body_from_form(form)))
    if not referral_id and not schemas.answered(form):
        raise Invalid(missing)  # nothing to keep yet: no empty draft
    try:
        draft_id = save_draft(api, form, referral_id)
    except Invalid as exc:  # a value that is there but wrong wins over "missing"
        raise Invalid(schemas.in_page_order({**dict(missing), **dict(exc.errors)}.items()),
                      draft_id=referral_id) from None
    if missing:
        raise Invalid(missing, draft_id=draft_id)
    return check_path(draft_id)


def check_path(referral_id):
    return f"/referrals/{referral_id}/check"


def submit_draft(api, referral_id):
    """Send a draft: the confirmation page, or the form again with what the API refused."""
    try:
        api.post("referrals", f"/api/v1/referrals/{referral_id}/submit", {})
    except ApiError as exc:
        if exc.status == 409:
            raise Refused("This referral has already been sent",
                          ["Check your referrals before sending it again."],
                          back=links.path("referrals"), back_text="Your referrals") from None
        raise _draft_errors(exc) from None
    return links.path("referral", referral_id=referral_id) + "?created=1"


def answer_question(api, referral_id, form):
    answer = form.get("info_answer", "").strip()
    error = [("info_answer", "Answer the question from the outreach team")]
    if not answer:
        raise Invalid(error)
    try:
        api.post("referrals", f"/api/v1/referrals/{referral_id}/submit", {"info_answer": answer})
    except ApiError as exc:
        if exc.status != 422:
            raise
        raise Invalid(error) from None
    return domain.done_url(links.path("referral", referral_id=referral_id), "Answer sent")


DONE = {"accept": "Referral accepted", "decline": "Referral declined",
        "request-info": "Question sent to the school", "allocate": "Practitioner allocated",
        "visits": "Visit logged", "report": "Report issued", "close": "Referral closed",
        "acknowledge": "Referral acknowledged"}


def _accept(f, errors):
    if f.get("criteria_unmet") != "yes":
        return {}
    reason = f.get("override_reason", "").strip()
    if not reason:
        errors.append(("override_reason", "Enter the reason the panel accepted a referral "
                                          "that does not meet the criteria"))
    return {"panel_override": True, "override_reason": reason}


def _decline(f, errors):
    if f.get("reason") not in domain.DECLINE_REASONS:
        errors.append(("reason", "Select the reason for declining the referral"))
    return {"reason": f.get("reason")}


def _request_info(f, errors):
    if not f.get("question", "").strip():
        errors.append(("question", "Enter the question for the school"))
    return {"question": f.get("question", "").strip()}


def _allocate(f, errors):
    name = f.get("practitioner_name", "").strip()
    email = f.get("practitioner_email", "").strip().lower()
    if not name:
        errors.append(("practitioner_name", "Enter the practitioner's name"))
    if not domain.looks_like_email(email):
        errors.append(("practitioner_email", "Enter the practitioner's email address in the "
                                             "correct format, like name@example.com"))
    return {"practitioner": {"sub": email, "name": name, "email": email}}


def _visit(f, errors):
    minutes = f.get("minutes", "").strip()
    body = schemas.drop_none({"visit_date": schemas.date_from(f, "visit_date"),
                              "minutes": int(minutes) if minutes.isdigit() else None,
                              "seen": f.getlist("seen"),
                              "observations": schemas.text(f, "observations"),
                              "recommendations": schemas.text(f, "visit_recommendations")})
    for key, field, message in (
            ("visit_date", "visit_date", "Enter the date of the visit"),
            ("minutes", "minutes", "Enter how long the visit took, in minutes, like 90"),
            ("seen", "seen", "Select who you saw"),
            ("observations", "observations", "Enter what you observed"),
            ("recommendations", "visit_recommendations", "Enter your recommendations")):
        if not body.get(key) and body.get(key) != 0:
            errors.append((field, message))
    return body


def _report(f, errors):
    body = {"summary": f.get("summary", "").strip(),
            "recommendations": [{"text": line.strip()} for line in
                                f.get("report_recommendations", "").splitlines() if line.strip()]}
    if not body["summary"]:
        errors.append(("summary", "Enter the summary of the report"))
    return body


def _close(f, errors):
    if f.get("outcome") not in domain.OUTCOMES:
        errors.append(("outcome", "Select the outcome of the referral"))
    return {"outcome": f.get("outcome")}


BODIES = {"accept": _accept, "decline": _decline, "request-info": _request_info,
          "allocate": _allocate, "visits": _visit, "report": _report, "close": _close,
          "acknowledge": lambda f, errors: {}}


def act(api, referral_id, action, form):
    """One of the outreach team's actions on a referral (`action` is one of BODIES)."""
    errors = []
    body = BODIES[action](form, errors)
    if errors:
        raise Invalid(errors)
    try:
        api.post("referrals", f"/api/v1/referrals/{referral_id}/{action}", body)
    except ApiError as exc:
        if exc.status == 422:
            raise Invalid(schemas.errors_from(exc.field_errors, {}, "summary")) from None
        if exc.status == 409:
            raise Invalid([("actions", exc.detail or "That cannot be done now")]) from None
        raise
    return domain.done_url(links.path("referral", referral_id=referral_id), DONE[action])
