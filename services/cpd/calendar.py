"""A booking as a calendar event (services/documents/calendar.py builds the
iCalendar): UID the booking's id; SEQUENCE the session's sequence (bumped when
its time or place changes, or it is cancelled) plus the booking's revision
(bumped when its status changes); TENTATIVE while the booking waits (approval or
waitlist), CONFIRMED with a place, CANCELLED after."""

from datetime import UTC, datetime

from services.documents import calendar as ics

from . import domain


def _state(booking, session):
    if booking.status in (domain.CANCELLED, domain.DECLINED) or session.status == domain.CANCELLED:
        return "CANCELLED"
    if booking.status == domain.CONFIRMED:
        return "CONFIRMED"
    return "TENTATIVE"


def event_of(booking, session, course, person, organiser_email):
    status = _state(booking, session)
    return ics.CalendarEvent(
        uid=booking.id, starts_at=session.starts_at, ends_at=session.ends_at,
        summary=course.title if status != "TENTATIVE" else f"{course.title} (waiting for a place)",
        description=(f"{course.summary}\n\nFacilitator: {session.facilitator}\n"
                     f"CPD hours (whole course): {course.cpd_hours:g}"),
        location=session.venue or session.online_url, url=session.online_url or None,
        sequence=session.sequence + booking.revision, status=status,
        organiser_email=organiser_email, attendee_email=person.email,
        attendee_name=person.name)


def invitation(booking, session, course, person, organiser_email, now=None):
    """The invitation of one booking: REQUEST while it holds or waits for a place,
    CANCEL once it is cancelled (or the session is)."""
    return ics.invitation(event_of(booking, session, course, person, organiser_email),
                          now or datetime.now(UTC))


def feed(rows, person, organiser_email, now=None):
    """A person's feed: bookings that hold, wait for or once held a place."""
    return ics.feed([event_of(b, s, c, person, organiser_email) for b, s, c in rows],
                    f"CPD: {person.name}", now)
