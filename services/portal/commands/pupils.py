"""A school's forms → the pupils and provision APIs (registering a pupil, the pupil
page's forms) and a parent's message preferences → notify."""

from services.contracts import links

from .. import domain, schemas
from ..adapters.services import ApiError
from ..domain import Invalid

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
FIRST_FIELD = {"passport": "about_me", "target": "description", "cycle": "started_on",
               "review": "note"}


def register_pupil(api, f):
    year = f.get("year_group", "").strip()
    body = schemas.drop_none({
        "upn": (schemas.text(f, "upn") or "").upper() or None,
        "forename": schemas.text(f, "forename"),
        "legal_surname": schemas.text(f, "legal_surname"),
        "date_of_birth": schemas.date_from(f, "date_of_birth"),
        "year_group": int(year) if year.lstrip("-").isdigit() else (year or None),
        "sen_status": f.get("sen_status") or "N",
        "primary_need": f.get("primary_need") or None})
    try:
        pupil = api.post("pupils", "/api/v1/pupils", body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        raise Invalid(schemas.errors_from(exc.field_errors or {"upn": ["taken"]},
                                          PUPIL_MESSAGES, "forename")) from None
    return domain.done_url(links.path("pupil", pupil_id=pupil["id"]), "Pupil registered")


def _passport(api, pupil_id, f):
    body = {k: f.get(k, "").strip() for k in domain.PASSPORT_SECTIONS}
    errors = [(k, f"Enter {label.lower()}") for k, label in domain.PASSPORT_SECTIONS.items()
              if not body[k]]
    if errors:
        raise Invalid(errors)
    api.post("pupils", f"/api/v1/pupils/{pupil_id}/passport/versions", body)
    return "Passport draft saved"


def _publish(api, pupil_id, f):
    api.post("pupils", f"/api/v1/pupils/{pupil_id}/passport/versions/"
             f"{int(f.get('version', '0') or 0)}/publish", {})
    return "Passport published"


def _target(api, pupil_id, f):
    api.post("provision", "/api/v1/provision/targets", schemas.drop_none({
        "pupil_id": pupil_id, "description": schemas.text(f, "description"),
        "area_of_need": f.get("area_of_need") or None, "baseline": schemas.text(f, "baseline"),
        "expected_outcome": schemas.text(f, "expected_outcome"),
        "measure": schemas.text(f, "measure"), "due_date": schemas.date_from(f, "due_date")}))
    return "Target added"


def _cycle(api, pupil_id, f):
    api.post("provision", "/api/v1/provision/cycles", schemas.drop_none({
        "pupil_id": pupil_id, "started_on": schemas.date_from(f, "started_on"),
        "review_date": schemas.date_from(f, "review_date"), "plan": f.get("plan", "").strip()}))
    return "Cycle started"


def _review(api, pupil_id, f):
    outcomes = [{"target_id": tid, "level": f.get(f"progress-{tid}")}
                for tid in f.getlist("target_ids") if f.get(f"progress-{tid}")]
    api.post("provision", f"/api/v1/provision/cycles/{f.get('cycle_id', '')}/review",
             schemas.drop_none({"reviewed_on": schemas.date_from(f, "reviewed_on"),
                                "note": schemas.text(f, "note"), "outcomes": outcomes}))
    return "Cycle reviewed"


PUPIL_ACTIONS = {"passport": _passport, "publish": _publish, "target": _target,
                 "cycle": _cycle, "review": _review}


def pupil_action(api, pupil_id, action, f):
    """One of the pupil page's forms (`action` is one of PUPIL_ACTIONS)."""
    try:
        done = PUPIL_ACTIONS[action](api, pupil_id, f)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        raise Invalid(schemas.errors_from(exc.field_errors or {"_schema": [exc.detail or ""]},
                                          PUPIL_MESSAGES, FIRST_FIELD.get(action, "note"))) from None
    return domain.done_url(links.path("pupil", pupil_id=pupil_id), done)


def save_preferences(api, me, f):
    quiet = None
    if f.get("quiet_from") and f.get("quiet_to"):
        quiet = f"{f.get('quiet_from')}-{f.get('quiet_to')}"
    body = {"address": me.sub,
            "opt_outs": [c for c in f.getlist("opt_outs") if c in domain.CATEGORIES],
            "quiet_hours": quiet, "digest": f.get("digest") == "yes"}
    try:
        api.put("notify", "/api/v1/notification-preferences", body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = schemas.errors_from(exc.field_errors, {
            "quiet_hours": "Enter quiet hours as two times, like 21:00 and 07:00"}, "quiet_hours")
        raise Invalid([("quiet_from" if k == "quiet_hours" else k, m)
                       for k, m in errors]) from None
    return domain.done_url(links.path("preferences"), "Preferences saved")
