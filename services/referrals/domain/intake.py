"""A referral as the school writes it: fields from a request body, a new referral's
reference, completeness before submission, the pupil's national curriculum year."""

import secrets
from datetime import date

from services.common.ids import new_id
from services.contracts.school_calendar import academic_year_of

from .lifecycle import DRAFT, SUBMITTED

# -- creating and editing -----------------------------------------------------------

# Crockford's base32 without I, L, O, U: easy to read out on the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference():
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"REF-{chars[:4]}-{chars[4:]}"


_NESTED = {
    "pupil": {"first_name": "pupil_first_name", "last_name": "pupil_last_name",
              "date_of_birth": "pupil_date_of_birth", "upn": "pupil_upn"},
    "contact": {"name": "contact_name", "email": "contact_email", "phone": "contact_phone"},
    "parental_consent": {"given": "consent_given", "date": "consent_date",
                         "given_by": "consent_given_by"},
}


def referral_fields(body):
    """Column values from a (possibly partial) validated request body: only the
    keys present in the body, so a partial edit leaves the others alone."""
    out = {}
    for group, columns in _NESTED.items():
        for key, column in columns.items():
            if key in (body.get(group) or {}):
                out[column] = _strip(body[group][key])
    for key in ("areas_of_need", "need_types", "graduated_approach"):
        if key in body:
            out[key] = _jsonable(list(body[key] or []))
    for key in ("concerns", "support_so_far"):
        if key in body:
            out[key] = body[key]
    return out


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _jsonable(items):
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in i.items()}
            if isinstance(i, dict) else i for i in items]


def new_referral(body, *, school_org_id, actor, now, submit=True):
    """The fields of a new referral (submitted, or a draft) from a validated body."""
    fields = {
        "id": new_id(),
        "reference": new_reference(),
        "school_org_id": school_org_id,
        "status": SUBMITTED if submit else DRAFT,
        "areas_of_need": [], "need_types": [], "graduated_approach": [],
        "created_by": actor,
        "created_at": now,
        "submitted_at": now if submit else None,
        "first_submitted_at": now if submit else None,
        "waiting": False,
    }
    fields.update(referral_fields(body))
    return fields


def submission_body(referral):
    """A stored referral as a create body, to check a draft is complete before submitting."""
    def iso(d):
        return d.isoformat() if isinstance(d, date) else d
    body = {
        "pupil": {"first_name": referral.pupil_first_name, "last_name": referral.pupil_last_name,
                  "date_of_birth": iso(referral.pupil_date_of_birth), "upn": referral.pupil_upn},
        "contact": {"name": referral.contact_name, "email": referral.contact_email,
                    "phone": referral.contact_phone},
        "areas_of_need": list(referral.areas_of_need or []),
        "need_types": list(referral.need_types or []),
        "concerns": referral.concerns, "support_so_far": referral.support_so_far,
        "parental_consent": {"given": referral.consent_given,
                             "date": iso(referral.consent_date),
                             "given_by": referral.consent_given_by},
        "graduated_approach": list(referral.graduated_approach or []),
    }
    return _drop_none(body)


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def year_group(date_of_birth, today):
    """The national curriculum year (0 = Reception) of a child born on `date_of_birth`
    in the academic year of `today`: the cohort born September to August starts
    Reception in the September after it turns four. None without a date of birth."""
    if date_of_birth is None:
        return None
    start = int(academic_year_of(today)[:4])
    cohort = int(academic_year_of(date_of_birth)[:4])
    return start - cohort - 5
