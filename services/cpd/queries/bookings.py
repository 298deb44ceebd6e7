"""Bookings as the caller may see them (the attendee, their school's CPD lead,
the course's provider), waitlist positions, the caller's own person and feed,
invitations by their calendar key, and the traded places charged."""

from sqlalchemy import func, or_, select

from services.common.access import CPD_LEADS
from services.common.errors import NotFound

from .. import domain
from ..models import Booking, Course, CourseSession, Organisation, Person
from ..payloads import feed_path
from . import fresh
from .courses import course_for


def booking_for(s, principal, booking_id, refresh=False):
    """(booking, course, session, person) if the caller may see it, else 404.
    `booking.access` says how: "self", "lead" or "provider"."""
    booking = fresh(s, Booking, booking_id) if refresh else s.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking")
    course = s.get(Course, booking.course_id)
    person = s.get(Person, booking.person_id)
    is_provider = principal.org == course.provider_org_id and principal.has_any(CPD_LEADS)
    is_lead = principal.org == booking.org_id and principal.has_any(CPD_LEADS)
    is_self = principal.org == booking.org_id and person.sub == principal.sub
    if not (is_provider or is_lead or is_self):
        raise NotFound("No such booking")
    session = fresh(s, CourseSession, booking.session_id)
    booking.person = person
    booking.access = "self" if is_self else "lead" if is_lead else "provider"
    return booking, course, session, person


def waitlist_position(s, booking):
    """1 for the first on the session's waitlist."""
    return s.execute(select(func.count()).select_from(Booking).where(
        Booking.session_id == booking.session_id,
        Booking.status == domain.BookingStatus.WAITLISTED,
        Booking.seq <= booking.seq)).scalar_one()


def get_booking(db, principal, booking_id):
    with db.session() as s:
        booking, _, _, _ = booking_for(s, principal, booking_id)
        if booking.status == domain.BookingStatus.WAITLISTED:
            booking.waitlist_position = waitlist_position(s, booking)
    return booking


def my_person(s, principal):
    """The caller's own person (linked by the token's sub), or None."""
    return s.execute(select(Person).where(Person.org_id == principal.org,
                                          Person.sub == principal.sub)
                     ).scalar_one_or_none()


def my_bookings(db, principal):
    with db.session() as s:
        rows = s.execute(select(Booking, Person).join(Person, Person.id == Booking.person_id)
                         .where(Person.org_id == principal.org, Person.sub == principal.sub)
                         .order_by(Booking.booked_at)).all()
    for booking, person in rows:
        booking.person = person
    return [b for b, _ in rows]


def attendees(s, session_id, statuses):
    """(booking, person) rows of the session's bookings in `statuses`, in booking order."""
    return s.execute(select(Booking, Person).join(Person, Person.id == Booking.person_id)
                     .where(Booking.session_id == session_id, Booking.status.in_(statuses))
                     .order_by(Booking.seq)).all()


def session_bookings(db, principal, session_id):
    """Bookings on a session in booking order, with waitlist positions (a CPD lead
    sees their own staff's; the provider everyone's)."""
    with db.session() as s:
        session = s.get(CourseSession, session_id)
        if session is None:
            raise NotFound("No such session")
        course = course_for(s, principal, session.course_id)
        where = [Booking.session_id == session_id]
        if course.provider_org_id != principal.org:
            where.append(Booking.org_id == principal.org)
        rows = s.execute(select(Booking, Person).join(Person, Person.id == Booking.person_id)
                         .where(*where).order_by(Booking.seq)).all()
    position, out = 0, []
    for booking, person in rows:
        booking.person = person
        if booking.status == domain.BookingStatus.WAITLISTED:
            position += 1
            booking.waitlist_position = position
        out.append(booking)
    return out


# -- calendars --------------------------------------------------------------------------

def invitation(db, key):
    """(booking, session, course, person) of a calendar key, else 404."""
    with db.session() as s:
        booking = s.execute(select(Booking).where(Booking.calendar_key == key)
                            ).scalar_one_or_none()
        if booking is None:
            raise NotFound("No such invitation")
        return (booking, s.get(CourseSession, booking.session_id),
                s.get(Course, booking.course_id), s.get(Person, booking.person_id))


def my_feed(db, principal):
    """Where the caller's calendar feed is."""
    with db.session() as s:
        person = my_person(s, principal)
    if person is None:
        raise NotFound("You have no bookings yet")
    return {"feed_path": feed_path(person)}


def staff_feed(db, key):
    """(person, [(booking, session, course)]) of a feed key, else 404: bookings that
    hold, wait for or once held a place."""
    with db.session() as s:
        person = s.execute(select(Person).where(Person.feed_key == key)).scalar_one_or_none()
        if person is None:
            raise NotFound("No such feed")
        rows = s.execute(select(Booking, CourseSession, Course)
                         .join(CourseSession, CourseSession.id == Booking.session_id)
                         .join(Course, Course.id == Booking.course_id)
                         .where(Booking.person_id == person.id,
                                or_(Booking.confirmed_at.is_not(None),
                                    Booking.status.in_(domain.ACTIVE)))
                         .order_by(CourseSession.starts_at)).all()
    return person, rows


# -- charges ----------------------------------------------------------------------------

def charges(db, principal, query):
    """Traded places per organisation and term: what the caller charges or owes."""
    where = [Booking.status == domain.BookingStatus.CONFIRMED, Booking.charge_pence > 0,
             or_(Booking.org_id == principal.org, Course.provider_org_id == principal.org)]
    if "term" in query:
        where.append(Booking.charge_term == query["term"])
    with db.session() as s:
        rows = s.execute(
            select(Booking.org_id, Booking.charge_term, func.count(),
                   func.sum(Booking.charge_pence), Organisation.name)
            .join(Course, Course.id == Booking.course_id)
            .outerjoin(Organisation, Organisation.org_id == Booking.org_id)
            .where(*where)
            .group_by(Booking.org_id, Booking.charge_term, Organisation.name)
            .order_by(Booking.charge_term, Booking.org_id)).all()
    out = [{"org_id": org, "term": term, "places": n, "total_pence": int(total),
            "org_name": name} for org, term, n, total, name in rows]
    return {"rows": out, "total_pence": sum(r["total_pence"] for r in out)}
