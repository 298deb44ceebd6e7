"""iCalendar (RFC 5545) invitations and feeds, built with the `icalendar` package:
one builder for the CPD service's feeds and downloads and for the invitations
notify attaches to booking emails, so a calendar sees the same event from both.

An event is described by plain values (`CalendarEvent`). Its UID is stable (one
per booking), so a calendar replaces the event on every change; SEQUENCE must
grow with each change; STATUS is TENTATIVE while a place is awaited, CONFIRMED
with a place, CANCELLED after. A cancellation goes out as METHOD:CANCEL.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

PRODID = "-//SEN Trust//CPD bookings//EN"
UID_DOMAIN = "cpd.sen-trust.example"
STATUSES = {"CONFIRMED": "ACCEPTED", "TENTATIVE": "TENTATIVE", "CANCELLED": "DECLINED"}


@dataclass(frozen=True)
class CalendarEvent:
    uid: str                 # e.g. the booking id; "@cpd.sen-trust.example" is added
    starts_at: datetime      # aware
    ends_at: datetime        # aware
    summary: str
    description: str
    sequence: int
    status: str              # CONFIRMED, TENTATIVE or CANCELLED
    organiser_email: str
    attendee_email: str
    attendee_name: str
    location: str | None = None
    url: str | None = None
    organiser_name: str = "SEN Trust CPD"


def _vevent(e: CalendarEvent, now):
    from icalendar import Event, vCalAddress, vText  # loaded on first use, not at start
    if e.status not in STATUSES:
        raise ValueError(f"unknown calendar status {e.status}")
    ev = Event()
    ev.add("uid", e.uid if "@" in e.uid else f"{e.uid}@{UID_DOMAIN}")
    ev.add("dtstamp", now)
    ev.add("dtstart", e.starts_at.astimezone(UTC))
    ev.add("dtend", e.ends_at.astimezone(UTC))
    ev.add("summary", e.summary)
    ev.add("description", e.description)
    if e.location:
        ev.add("location", e.location)
    if e.url:
        ev.add("url", e.url)
    ev.add("sequence", e.sequence)
    ev.add("status", e.status)
    organiser = vCalAddress(f"mailto:{e.organiser_email}")
    organiser.params["cn"] = vText(e.organiser_name)
    ev.add("organizer", organiser)
    attendee = vCalAddress(f"mailto:{e.attendee_email}")
    attendee.params["cn"] = vText(e.attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText(STATUSES[e.status])
    ev.add("attendee", attendee)
    return ev


def _calendar(method):
    from icalendar import Calendar
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    return cal


def method_of(event: CalendarEvent):
    """REQUEST while the event holds or waits for a place, CANCEL once cancelled."""
    return "CANCEL" if event.status == "CANCELLED" else "REQUEST"


def invitation(event: CalendarEvent, now=None) -> bytes:
    """One event as an invitation (METHOD:REQUEST, or CANCEL), bytes of text/calendar."""
    cal = _calendar(method_of(event))
    cal.add_component(_vevent(event, now or datetime.now(UTC)))
    return cal.to_ical()


def feed(events, name, now=None) -> bytes:
    """Many events as a subscribable feed (METHOD:PUBLISH)."""
    now = now or datetime.now(UTC)
    cal = _calendar("PUBLISH")
    cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(_vevent(event, now))
    return cal.to_ical()
