"""Referral rules, in plain Python (no nameko, no SQL)."""

import secrets
import uuid

STATUSES = ("draft", "submitted")
SUBMITTED = "submitted"

# Crockford's base32 without I, L, O, U: easy to read out on the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference():
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"REF-{chars[:4]}-{chars[4:]}"


def new_referral(body, *, school_org_id, actor, now):
    """The fields of a newly submitted referral from a validated request body."""
    pupil, contact, consent = body["pupil"], body["contact"], body["parental_consent"]
    return {
        "id": str(uuid.uuid4()),
        "reference": new_reference(),
        "school_org_id": school_org_id,
        "status": SUBMITTED,
        "pupil_first_name": pupil["first_name"].strip(),
        "pupil_last_name": pupil["last_name"].strip(),
        "pupil_date_of_birth": pupil["date_of_birth"],
        "pupil_upn": pupil.get("upn"),
        "contact_name": contact["name"].strip(),
        "contact_email": contact["email"].strip(),
        "contact_phone": contact["phone"].strip(),
        "areas_of_need": list(body["areas_of_need"]),
        "need_types": list(body.get("need_types") or []),
        "concerns": body["concerns"],
        "support_so_far": body["support_so_far"],
        "consent_given": consent["given"],
        "consent_date": consent["date"],
        "consent_given_by": consent["given_by"].strip(),
        "created_by": actor,
        "created_at": now,
        "submitted_at": now,
    }


def submitted_event(referral):
    """Data of `referral.submitted`: identifiers and the referrer's contact only."""
    return {
        "referral_id": referral.id,
        "reference": referral.reference,
        "school_org_id": referral.school_org_id,
        "contact": {"name": referral.contact_name, "email": referral.contact_email},
        "areas_of_need": list(referral.areas_of_need),
        "submitted_at": referral.submitted_at.isoformat(),
    }
