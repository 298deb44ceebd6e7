"""Sessions of a course: change time, place, facilitator or capacity (booked
staff get an updated invitation; more places promote the waitlist), or cancel
(every booking on it ends)."""

from services.common.errors import Conflict, RuleBroken
from services.contracts import events

from .. import domain, payloads
from ..domain import SessionStatus
from ..models import CourseSession
from ..queries import fresh
from ..queries.bookings import attendees
from .bookings import promote, session_for
from .certificates import complete_all


def _changed(session, body, now):
    """(starts_at, ends_at, venue, online_url) after the change, checked."""
    starts_at = body.get("starts_at", session.starts_at)
    ends_at = body.get("ends_at", session.ends_at)
    if "starts_at" in body or "ends_at" in body:
        domain.check_session_times(starts_at, ends_at, now)
    if "capacity" in body and body["capacity"] < session.seats_taken:
        raise Conflict("Fewer places than confirmed bookings: cancel bookings first",
                       errors={"capacity": [f"At least {session.seats_taken}"]})
    venue = body.get("venue", session.venue)
    online = body.get("online_url", session.online_url)
    if not venue and not online:
        raise RuleBroken("Give a venue or an online link",
                         errors={"venue": ["Give a venue or an online link"]})
    return starts_at, ends_at, venue, online


def update_session(db, principal, session_id, body, now):
    with db.unit_of_work() as uow:
        s = uow.session
        session, course, _ = session_for(s, principal, session_id, manage=True)
        if session.status != SessionStatus.SCHEDULED:
            raise Conflict("The session is cancelled")
        previous = payloads.session_times(session)
        starts_at, ends_at, venue, online = _changed(session, body, now)
        moved = (starts_at != session.starts_at or ends_at != session.ends_at
                 or venue != session.venue or online != session.online_url)
        session.starts_at, session.ends_at = starts_at, ends_at
        session.venue, session.online_url = venue, online
        if "facilitator" in body:
            session.facilitator = body["facilitator"].strip()
        grew = "capacity" in body and body["capacity"] > session.capacity
        if "capacity" in body:
            session.capacity = body["capacity"]
        session.updated_at = now
        if moved:
            session.sequence += 1
            if course.status == domain.CourseStatus.PUBLISHED:
                rows = attendees(s, session.id, domain.ACTIVE)
                uow.emit(events.SESSION_RESCHEDULED,
                         payloads.session_rescheduled(course, session, previous, rows),
                         org_id=course.provider_org_id, actor=principal.sub)
        if grew:
            promote(uow, course, session, principal.sub)
        s.flush()
        return fresh(s, CourseSession, session_id)


def cancel_session(db, principal, session_id, now):
    with db.unit_of_work() as uow:
        s = uow.session
        session, course, _ = session_for(s, principal, session_id, manage=True)
        if session.status == SessionStatus.CANCELLED:
            raise Conflict("The session is already cancelled")
        rows = attendees(s, session.id, domain.ACTIVE)
        for booking, _person in rows:
            booking.status, booking.cancelled_at = domain.BookingStatus.CANCELLED, now
            booking.revision += 1
            booking.cancel_reason = domain.CancelReason.SESSION_CANCELLED
        session.status, session.seats_taken = SessionStatus.CANCELLED, 0
        session.sequence += 1
        session.updated_at = now
        uow.emit(events.SESSION_CANCELLED, payloads.session_cancelled(course, session, rows),
                 org_id=course.provider_org_id, actor=principal.sub)
        complete_all(uow, course, principal.sub)
    return session
