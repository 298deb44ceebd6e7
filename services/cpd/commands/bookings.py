"""Bookings and waitlists: book (yourself, or your staff as their CPD lead), a
place or the waitlist, promotion when a place comes free, cancellation, and the
CPD lead's approval or refusal. Capacity is held as commands/seats.py says."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.common.access import CPD_LEADS
from services.common.db import utcnow
from services.common.errors import Conflict, NotAllowed, NotFound, RuleBroken
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..domain import BookingStatus
from ..models import Booking, Certificate, CourseSession, Organisation, Person
from ..queries import fresh
from ..queries.bookings import booking_for, waitlist_position
from ..queries.courses import course_for
from .seats import free_seat, lock_session, take_seat


def session_for(s, principal, session_id, number=False, manage=False):
    """Lock the session row; return (session, course, booking number)."""
    seq = lock_session(s, session_id, number=number)
    if seq is None:
        raise NotFound("No such session")
    session = fresh(s, CourseSession, session_id)
    course = course_for(s, principal, session.course_id, manage=manage)
    return session, course, seq


def person_for(s, org_id, attendee, sub=None):
    """The person booked (found by email in the organisation, or added). With `sub`
    (a self-booking) the person is linked to the caller's token."""
    email = attendee["email"].strip().lower()
    name = attendee["name"].strip()
    # A person record is bound to a token's sub only by that person: the sub is the
    # address (case aside). A CPD lead books for staff without binding anyone.
    if sub is not None and sub.strip().lower() != email:
        raise Conflict("Book yourself with the email you sign in with", errors={
            "attendee.email": ["Not the email you sign in with"]})
    if sub is not None:
        mine = s.execute(select(Person).where(Person.org_id == org_id, Person.sub == sub)
                         ).scalar_one_or_none()
        if mine is not None:
            if mine.email != email:
                raise RuleBroken("You book with the email of your first booking", errors={
                    "attendee.email": ["Not the email your bookings are under"]})
            return mine
    person = s.execute(select(Person).where(Person.org_id == org_id, Person.email == email)
                       ).scalar_one_or_none()
    if person is None:
        person = Person(id=new_id(), org_id=org_id, email=email, name=name, sub=sub,
                        feed_key=domain.new_key(), created_at=utcnow())
        s.add(person)
    elif sub is not None:
        if person.sub not in (None, sub):
            raise Conflict("Another member of staff books with that email",
                           errors={"attendee.email": ["Belongs to another account"]})
        person.sub = sub
    return person


def _charge(s, booking, course, session):
    org = s.get(Organisation, booking.org_id)
    booking.charge_pence = domain.charge_for(course, booking.org_id, org.kind if org else None)
    booking.charge_term = domain.term_label(session.starts_at.date())


def place(uow, booking, course, session, person, actor):
    """Give the booking a place if one is free, else put it on the waitlist."""
    s = uow.session
    if take_seat(s, session.id):
        booking.status, booking.confirmed_at = BookingStatus.CONFIRMED, utcnow()
        _charge(s, booking, course, session)
        uow.emit(events.BOOKING_CONFIRMED, payloads.booking(booking, course, session, person),
                 org_id=booking.org_id, actor=actor)
        return True
    booking.status = BookingStatus.WAITLISTED
    s.flush()
    booking.waitlist_position = waitlist_position(s, booking)
    uow.emit(events.BOOKING_WAITLISTED,
             payloads.booking(booking, course, session, person,
                              waitlist_position=booking.waitlist_position),
             org_id=booking.org_id, actor=actor)
    return False


def promote(uow, course, session, actor):
    """Fill free places from the waitlist, first come first served."""
    s = uow.session
    while True:
        s.flush()
        nxt = s.execute(select(Booking).where(
            Booking.session_id == session.id, Booking.status == BookingStatus.WAITLISTED)
            .order_by(Booking.seq).limit(1)).scalar_one_or_none()
        if nxt is None or not take_seat(s, session.id):
            return
        nxt.status, nxt.confirmed_at = BookingStatus.CONFIRMED, utcnow()
        nxt.revision += 1
        _charge(s, nxt, course, session)
        person = s.get(Person, nxt.person_id)
        uow.emit(events.BOOKING_PROMOTED, payloads.booking(nxt, course, session, person),
                 org_id=nxt.org_id, actor=actor)


def _check_can_book(s, principal, course, session, person, default_limit):
    taken = s.execute(select(func.count()).select_from(Booking).where(
        Booking.session_id == session.id, Booking.person_id == person.id,
        Booking.status.in_(domain.ACTIVE))).scalar_one()
    if taken:
        raise Conflict("Already booked on this session",
                       errors={"attendee.email": ["Already booked on this session"]})
    if course.prerequisites:
        done = s.execute(select(Certificate.course_id).where(
            Certificate.person_id == person.id)).scalars().all()
        missing = domain.missing_prerequisites(course.prerequisites, done)
        if missing:
            raise Conflict("Complete the prerequisite courses first",
                           errors={"prerequisites": missing})
    limit = domain.places_per_org(course, default_limit)
    if limit is not None:
        held = s.execute(select(func.count()).select_from(Booking).where(
            Booking.session_id == session.id, Booking.org_id == principal.org,
            Booking.status.in_(domain.ACTIVE))).scalar_one()
        if held >= limit:
            raise Conflict(f"Your organisation already holds {held} of its {limit} places "
                           "on this session")


def create_booking(db, principal, session_id, attendee, now, *, default_limit):
    """Book `attendee` on the session: by the school's CPD lead (no approval
    needed) or by the member of staff themselves. `default_limit`: places per
    organisation when the course does not say (0: none)."""
    by_lead = principal.has_any(CPD_LEADS)
    with db.unit_of_work() as uow:
        s = uow.session
        session, course, seq = session_for(s, principal, session_id, number=True)
        domain.bookable(course, session, now)
        person = person_for(s, principal.org, attendee, sub=None if by_lead else principal.sub)
        try:
            s.flush()
        except IntegrityError:  # the same new person booked twice at the same instant
            raise Conflict("A booking for this person is in progress: try again") from None
        _check_can_book(s, principal, course, session, person, default_limit)
        booking = Booking(id=new_id(), session_id=session.id, course_id=course.id,
                          person_id=person.id, org_id=principal.org, seq=seq,
                          status=BookingStatus.PENDING, booked_by=principal.sub,
                          booked_at=now, charge_pence=0, calendar_key=domain.new_key(),
                          revision=0)
        s.add(booking)
        if domain.initial_status(course, by_lead) == BookingStatus.PENDING:
            uow.emit(events.BOOKING_APPROVAL_REQUESTED,
                     payloads.booking(booking, course, session, person),
                     org_id=booking.org_id, actor=principal.sub)
        else:
            place(uow, booking, course, session, person, principal.sub)
        booking.person = person
    return booking


def _booking_for_update(s, principal, booking_id):
    """booking_for, with the booking's session locked first."""
    booking = s.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking")
    lock_session(s, booking.session_id)
    return booking_for(s, principal, booking_id, refresh=True)


def cancel_booking(db, principal, booking_id):
    """Cancel a booking (the attendee, their CPD lead or the provider); a place it
    held goes to the first on the waitlist."""
    with db.unit_of_work() as uow:
        s = uow.session
        booking, course, session, person = _booking_for_update(s, principal, booking_id)
        if booking.status not in domain.ACTIVE:
            raise Conflict("The booking is no longer active")
        held_place = booking.status == BookingStatus.CONFIRMED
        reason = domain.cancel_reason(booking.access)
        booking.status, booking.cancelled_at = BookingStatus.CANCELLED, utcnow()
        booking.revision += 1
        booking.cancel_reason = reason
        uow.emit(events.BOOKING_CANCELLED,
                 payloads.booking(booking, course, session, person, reason=str(reason)),
                 org_id=booking.org_id, actor=principal.sub)
        if held_place:
            free_seat(s, session.id)
            promote(uow, course, session, principal.sub)
    return booking


def decide(db, principal, booking_id, approve):
    """The CPD lead approves (a place or the waitlist) or declines a pending booking."""
    with db.unit_of_work() as uow:
        s = uow.session
        booking, course, session, person = _booking_for_update(s, principal, booking_id)
        if booking.org_id != principal.org:  # the provider does not approve for a school
            raise NotAllowed("Only your organisation's CPD lead decides on bookings")
        if booking.status != BookingStatus.PENDING:
            raise Conflict("The booking is not waiting for approval")
        booking.revision += 1
        if not approve:
            booking.status, booking.cancelled_at = BookingStatus.DECLINED, utcnow()
            booking.cancel_reason = domain.CancelReason.DECLINED
            uow.emit(events.BOOKING_CANCELLED,
                     payloads.booking(booking, course, session, person,
                                      reason=str(domain.CancelReason.DECLINED)),
                     org_id=booking.org_id, actor=principal.sub)
            return booking
        domain.bookable(course, session, utcnow())
        place(uow, booking, course, session, person, principal.sub)
    return booking
