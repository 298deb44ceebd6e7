"""iCalendar (RFC 5545) invitations and feeds, built with the `icalendar` package.

One VEVENT per booking, UID `<booking id>@cpd.sen-trust.example`, so that a
calendar replaces the event on every change: SEQUENCE is the session's sequence
(bumped when its time or place changes, or it is cancelled) plus the booking's
revision (bumped when its status changes). STATUS is TENTATIVE while the
booking waits (approval or waitlist), CONFIRMED with a place, CANCELLED after;
a cancellation goes out as METHOD:CANCEL.
"""

from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

from . import domain

PRODID = "-//SEN Trust//CPD bookings//EN"
UID_DOMAIN = "cpd.sen-trust.example"


def _state(booking, session):
    """(STATUS, PARTSTAT) of the booking's event."""
    if booking.status in (domain.CANCELLED, domain.DECLINED) or session.status == domain.CANCELLED:
        return "CANCELLED", "DECLINED"
    if booking.status == domain.CONFIRMED:
        return "CONFIRMED", "ACCEPTED"
    return "TENTATIVE", "TENTATIVE"


def _event(booking, session, course, person, organiser_email, now):
    status, partstat = _state(booking, session)
    ev = Event()
    ev.add("uid", f"{booking.id}@{UID_DOMAIN}")
    ev.add("dtstamp", now)
    ev.add("dtstart", session.starts_at.astimezone(UTC))
    ev.add("dtend", session.ends_at.astimezone(UTC))
    ev.add("summary", course.title if status != "TENTATIVE" else f"{course.title} (waiting for a place)")
    ev.add("description", f"{course.summary}\n\nFacilitator: {session.facilitator}\n"
                          f"CPD hours (whole course): {course.cpd_hours:g}")
    location = session.venue or session.online_url
    if location:
        ev.add("location", location)
    if session.online_url:
        ev.add("url", session.online_url)
    ev.add("sequence", session.sequence + booking.revision)
    ev.add("status", status)
    organiser = vCalAddress(f"mailto:{organiser_email}")
    organiser.params["cn"] = vText("SEN Trust CPD")
    ev.add("organizer", organiser)
    attendee = vCalAddress(f"mailto:{person.email}")
    attendee.params["cn"] = vText(person.name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText(partstat)
    ev.add("attendee", attendee)
    return ev


def _calendar(method):
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    return cal


def invitation(booking, session, course, person, organiser_email, now=None):
    """The invitation of one booking: REQUEST while it holds or waits for a place,
    CANCEL once it is cancelled (or the session is)."""
    now = now or datetime.now(UTC)
    status, _ = _state(booking, session)
    cal = _calendar("CANCEL" if status == "CANCELLED" else "REQUEST")
    cal.add_component(_event(booking, session, course, person, organiser_email, now))
    return cal.to_ical()


def feed(rows, person, organiser_email, now=None):
    """A person's feed: bookings that hold, wait for or once held a place."""
    now = now or datetime.now(UTC)
    cal = _calendar("PUBLISH")
    cal.add("x-wr-calname", f"CPD: {person.name}")
    for booking, session, course in rows:
        cal.add_component(_event(booking, session, course, person, organiser_email, now))
    return cal.to_ical()
