"""Every link a person follows, built in one place.

The portal (services/portal) serves each of these paths as a page for its
reader (after sign-in where needed); notify builds every link in every email
from these functions, so an email can never point at JSON or a missing page.
`PUBLIC_BASE_URL` is the portal's public address.
"""

import os
from urllib.parse import quote, urlencode

DEFAULT_BASE_URL = "http://localhost:8000"

# path templates, the one list of pages that messages may link to
PATHS = {
    "home": "/",
    "sign_in": "/sign-in",
    "sign_in_link": "/sign-in/link/{token}",
    "referrals": "/referrals",
    "referral": "/referrals/{referral_id}",
    "referral_respond": "/referrals/{referral_id}/respond",
    "new_referral": "/referrals/new",
    "triage": "/triage",
    "agreement": "/agreements/{agreement_id}",
    "pupils": "/pupils",
    "pupil": "/pupils/{pupil_id}",
    "passport": "/pupils/{pupil_id}/passport",
    "ehc_plan": "/pupils/{pupil_id}/ehc-plan",
    "pupil_provision": "/pupils/{pupil_id}/provision",
    "reviews_due": "/reviews-due",
    "cpd_catalogue": "/cpd/courses",
    "cpd_session": "/cpd/sessions/{session_id}",
    "cpd_bookings": "/cpd/bookings",
    "cpd_booking_calendar": "/cpd/bookings/{booking_id}/calendar.ics",
    "cpd_certificate": "/cpd/certificates/{certificate_id}",
    "cpd_approvals": "/cpd/approvals",
    "preferences": "/preferences",
    "notifications": "/notifications",
}


def base_url():
    """The portal's public address (no trailing slash)."""
    from services.common import settings  # late: contracts must not need the kit at import
    return (settings.get("PUBLIC_BASE_URL") or os.environ.get("PUBLIC_BASE_URL")
            or DEFAULT_BASE_URL).rstrip("/")


def path(name, **params):
    """The path of a page, e.g. path("referral", referral_id="r1")."""
    template = PATHS[name]
    return template.format(**{k: quote(str(v), safe="") for k, v in params.items()})


def url(name, query=None, **params):
    """The absolute URL of a page, for an email."""
    full = base_url() + path(name, **params)
    if query:
        full += "?" + urlencode(query)
    return full
