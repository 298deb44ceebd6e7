"""A booking as a calendar event (services/documents/calendar.py builds the
iCalendar): UID the booking's id; SEQUENCE and STATUS from domain.calendar_sequence
and domain.calendar_status (the same values the booking events carry)."""

from datetime import UTC, datetime

from nameko.extensions import DependencyProvider

from services.documents import calendar as ics

from .. import domain


def event_of(booking, session, course, person, organiser_email):
    status = domain.calendar_status(booking, session)
    waiting = status == domain.CalendarStatus.TENTATIVE
    return ics.CalendarEvent(
        uid=booking.id, starts_at=session.starts_at, ends_at=session.ends_at,
        summary=f"{course.title} (waiting for a place)" if waiting else course.title,
        description=(f"{course.summary}\n\nFacilitator: {session.facilitator}\n"
                     f"CPD hours (whole course): {course.cpd_hours:g}"),
        location=session.venue or session.online_url, url=session.online_url or None,
        sequence=domain.calendar_sequence(booking, session), status=str(status),
        organiser_email=organiser_email, attendee_email=person.email,
        attendee_name=person.name)


def invitation(booking, session, course, person, organiser_email, now=None):
    """The invitation of one booking: REQUEST while it holds or waits for a place,
    CANCEL once it is cancelled (or the session is)."""
    return ics.invitation(event_of(booking, session, course, person, organiser_email),
                          now or datetime.now(UTC))


def feed(rows, person, organiser_email, now=None):
    """A person's feed of (booking, session, course) rows: bookings that hold, wait
    for or once held a place."""
    return ics.feed([event_of(b, s, c, person, organiser_email) for b, s, c in rows],
                    f"CPD: {person.name}", now)


class Calendars:
    """What a worker sees as `self.calendar`."""

    invitation = staticmethod(invitation)
    feed = staticmethod(feed)


class CalendarProvider(DependencyProvider):
    """`calendar = CalendarProvider()`: invitations and feeds as iCalendar bytes."""

    def get_dependency(self, worker_ctx):
        return Calendars()
