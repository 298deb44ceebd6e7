"""Training forms → the cpd API: booking a place, the CPD lead's attendance register,
and a booking's cancel, approve and decline."""

from services.contracts import links

from .. import domain
from ..adapters.services import ApiError
from ..domain import Invalid, Refused

BOOKED = {"confirmed": "Place booked", "waitlisted": "You are on the waiting list",
          "pending_approval": "Booking sent to your CPD lead for approval"}
BOOKING_ACTIONS = {"cancel": "Booking cancelled", "approve": "Booking approved",
                   "decline": "Booking declined"}


def book(api, me, session_id, f):
    name = (f.get("attendee_name") or me.name or "").strip()
    email = (f.get("attendee_email") or me.sub).strip().lower()
    errors = []
    if not name:
        errors.append(("attendee_name", "Enter the name of the person attending"))
    if not domain.looks_like_email(email):
        errors.append(("attendee_email", "Enter an email address in the correct format, "
                                         "like name@example.com"))
    if errors:
        raise Invalid(errors)
    try:
        booking = api.post("cpd", f"/api/v1/cpd/sessions/{session_id}/bookings",
                           {"attendee": {"name": name, "email": email}})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        raise Invalid([("attendee_name", exc.detail or "The place could not be booked")]) \
            from None
    return domain.done_url(links.path("cpd_bookings"), BOOKED.get(booking["status"], "Booking made"))


def record_attendance(api, session_id, f):
    """Who came: every confirmed booking, ticked or not. Certificates are issued by the
    cpd service for those who attended."""
    bookings = api.get("cpd", f"/api/v1/cpd/sessions/{session_id}/bookings") or []
    came = set(f.getlist("attended"))
    records = [{"booking_id": b["id"], "attended": b["id"] in came}
               for b in bookings if b["status"] == "confirmed"]
    if not records:
        raise Invalid([("attended", "There are no confirmed bookings to record attendance for")])
    try:
        result = api.put("cpd", f"/api/v1/cpd/sessions/{session_id}/attendance",
                         {"records": records})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        raise Invalid([("attended", exc.detail or "Attendance could not be recorded")]) from None
    issued = len(result.get("certificates_issued") or [])
    return domain.done_url(links.path("cpd_session", session_id=session_id),
                           f"Attendance recorded: {issued} certificate"
                           f"{'s' if issued != 1 else ''} issued")


def booking_action(api, booking_id, action):
    """Cancel (the attendee), approve or decline (the CPD lead) a booking."""
    try:
        api.post("cpd", f"/api/v1/cpd/bookings/{booking_id}/{action}")
    except ApiError as exc:
        if exc.status != 409:
            raise
        raise Refused("That cannot be done now", [exc.detail or ""],
                      back=links.path("cpd_bookings")) from None
    target = links.path("cpd_approvals") if action != "cancel" else links.path("cpd_bookings")
    return domain.done_url(target, BOOKING_ACTIONS[action])
