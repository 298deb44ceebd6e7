"""The CPD service's reads and writes: scoped queries, row locks and seat counters,
bookings and the waitlist, certificates and projections, with their events, on a
session or unit of work. Used by the HTTP and event entrypoints in service.py; the
rules themselves live in domain.py.

Capacity: every booking first bumps `sessions.booking_seq` (UPDATE ...
RETURNING), which locks the session row for the transaction on PostgreSQL (and
SQLite serialises writers), and numbers the booking for the waitlist; a place
is taken only by `UPDATE sessions SET seats_taken = seats_taken + 1 WHERE
seats_taken < capacity`, so the database never holds more than capacity.
"""

import logging
import uuid

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from services.common import access
from services.common.db import utcnow
from services.common.problems import Conflict, Forbidden, NotFound, Unprocessable

from . import domain
from .models import (
    Booking,
    Certificate,
    Course,
    CourseSession,
    CpdRecord,
    Evaluation,
    Offer,
    Organisation,
    Person,
    ReferralNeed,
)
from .schemas import calendar_path, verify_path

log = logging.getLogger("services.cpd.service")  # the name these messages always had

ADMIN = (domain.COURSE_ADMIN,)
SESSIONS = CourseSession.__table__


def new_id():
    return str(uuid.uuid4())


# -- row locks and counters ---------------------------------------------------------

def lock_session(s, session_id, number=False):
    """Lock the session row for this transaction; with number=True also return the
    next booking number (the waitlist order). None if there is no such session."""
    s.flush()
    value = SESSIONS.c.booking_seq + 1 if number else SESSIONS.c.booking_seq
    return s.execute(update(SESSIONS).where(SESSIONS.c.id == session_id)
                     .values(booking_seq=value).returning(SESSIONS.c.booking_seq)
                     ).scalar_one_or_none()


def take_seat(s, session_id):
    s.flush()
    result = s.execute(update(SESSIONS).where(
        SESSIONS.c.id == session_id, SESSIONS.c.status == domain.SCHEDULED,
        SESSIONS.c.seats_taken < SESSIONS.c.capacity,
    ).values(seats_taken=SESSIONS.c.seats_taken + 1))
    return result.rowcount == 1


def free_seat(s, session_id):
    s.flush()
    s.execute(update(SESSIONS).where(SESSIONS.c.id == session_id, SESSIONS.c.seats_taken > 0)
              .values(seats_taken=SESSIONS.c.seats_taken - 1))


def fresh(s, model, ident):
    return s.execute(select(model).where(model.id == ident)
                     .execution_options(populate_existing=True)).scalar_one_or_none()


def conflict(exc):
    errors = {exc.field: [exc.detail]} if exc.field else None
    return Conflict(exc.detail, errors=errors)


def invalid_times(exc):
    field, _, msg = str(exc).partition(": ")
    return Unprocessable("The session's times are not valid", errors={field: [msg]})


# -- event payloads -------------------------------------------------------------------

def times(session):
    return {"session_id": session.id, "starts_at": session.starts_at.isoformat(),
            "ends_at": session.ends_at.isoformat(), "venue": session.venue,
            "online_url": session.online_url}


def booking_event(booking, course, session, person):
    return {"booking_id": booking.id, "course_id": course.id, "course_title": course.title,
            "org_id": booking.org_id,
            "attendee": {"name": person.name, "email": person.email},
            "session": times(session), "status": booking.status,
            "calendar_path": calendar_path(booking)}


def attendees(s, session_id, statuses):
    rows = s.execute(select(Booking, Person).join(Person, Person.id == Booking.person_id)
                     .where(Booking.session_id == session_id, Booking.status.in_(statuses))
                     .order_by(Booking.seq)).all()
    return rows


# -- courses --------------------------------------------------------------------------

def course_for(s, principal, course_id, manage=False):
    """The course if the caller may see it (manage: if they provide it)."""
    course = s.get(Course, course_id)
    if course is None:
        raise NotFound("No such course")
    provider = principal.org == course.provider_org_id and principal.has_any(ADMIN)
    if provider:
        return course
    if course.status != domain.PUBLISHED:
        raise NotFound("No such course")  # another organisation's draft
    if manage:
        raise Forbidden("Only the course's provider may change it")
    return course


def with_sessions(s, courses):
    ids = [c.id for c in courses]
    by_course = {}
    if ids:
        for sess in s.execute(select(CourseSession).where(CourseSession.course_id.in_(ids))
                              .execution_options(populate_existing=True)).scalars():
            by_course.setdefault(sess.course_id, []).append(sess)
    for c in courses:
        c.loaded_sessions = by_course.get(c.id, [])
    return courses


def create_course(uow, principal, body, now):
    s = uow.session
    prereqs = list(dict.fromkeys(body["prerequisites"]))
    if prereqs:
        known = set(s.execute(select(Course.id).where(
            Course.id.in_(prereqs), Course.provider_org_id == principal.org)).scalars())
        unknown = [p for p in prereqs if p not in known]
        if unknown:
            raise Unprocessable("Unknown prerequisite course", errors={
                "prerequisites": [f"No such course: {', '.join(unknown)}"]})
    course = Course(id=new_id(), provider_org_id=principal.org,
                    title=body["title"].strip(), summary=body["summary"].strip(),
                    audience=body["audience"].strip(), area_of_need=body["area_of_need"],
                    cpd_hours=body["cpd_hours"], price_pence=body["price_pence"],
                    prerequisites=prereqs, requires_approval=body["requires_approval"],
                    places_per_org=body["places_per_org"], status=domain.DRAFT,
                    created_by=principal.sub, created_at=now)
    s.add(course)
    return course


def list_courses(s, principal, query):
    """(page of courses with their sessions, total): published, and your own drafts."""
    visible = Course.status == domain.PUBLISHED
    if principal.has_any(ADMIN):
        visible = or_(visible, Course.provider_org_id == principal.org)
    where = [visible]
    for key in ("area_of_need", "status"):
        if key in query:
            where.append(getattr(Course, key) == query[key])
    total = s.execute(select(func.count()).select_from(Course).where(*where)).scalar_one()
    items = s.execute(select(Course).where(*where).order_by(Course.created_at, Course.id)
                      .limit(query["limit"]).offset(query["offset"])).scalars().all()
    with_sessions(s, items)
    return items, total


def update_course(uow, principal, course_id, body):
    course = course_for(uow.session, principal, course_id, manage=True)
    for key, value in body.items():
        setattr(course, key, value.strip() if isinstance(value, str) else value)
    with_sessions(uow.session, [course])
    return course


def add_session(uow, principal, course_id, body, now):
    course = course_for(uow.session, principal, course_id, manage=True)
    session = CourseSession(
        id=new_id(), course_id=course.id, starts_at=body["starts_at"],
        ends_at=body["ends_at"], venue=body.get("venue"), online_url=body.get("online_url"),
        facilitator=body["facilitator"].strip(), capacity=body["capacity"],
        seats_taken=0, booking_seq=0, status=domain.SCHEDULED, sequence=0,
        created_at=now, updated_at=now)
    uow.session.add(session)
    return session


def publish_course(uow, principal, course_id):
    s = uow.session
    course = course_for(s, principal, course_id, manage=True)
    if course.status == domain.PUBLISHED:
        raise Conflict("The course is already published")
    with_sessions(s, [course])
    try:
        domain.can_publish(course.loaded_sessions)
    except domain.RuleBroken as exc:
        raise conflict(exc) from None
    course.status, course.published_at = domain.PUBLISHED, utcnow()
    uow.emit("course.published", {
        "course_id": course.id, "provider_org_id": course.provider_org_id,
        "title": course.title, "area_of_need": course.area_of_need,
        "cpd_hours": course.cpd_hours, "price_pence": course.price_pence,
        "sessions": [times(x) for x in sorted(course.loaded_sessions,
                                              key=lambda x: x.starts_at)
                     if x.status == domain.SCHEDULED]},
        org_id=course.provider_org_id, actor=principal.sub)
    return course


# -- sessions -------------------------------------------------------------------------

def session_for(s, principal, session_id, number=False, manage=False):
    """Lock the session row; return (session, course, booking number)."""
    seq = lock_session(s, session_id, number=number)
    if seq is None:
        raise NotFound("No such session")
    session = fresh(s, CourseSession, session_id)
    course = course_for(s, principal, session.course_id, manage=manage)
    return session, course, seq


def update_session(uow, principal, session_id, body, now):
    s = uow.session
    session, course, _ = session_for(s, principal, session_id, manage=True)
    if session.status != domain.SCHEDULED:
        raise Conflict("The session is cancelled")
    previous = times(session)
    starts_at = body.get("starts_at", session.starts_at)
    ends_at = body.get("ends_at", session.ends_at)
    if "starts_at" in body or "ends_at" in body:
        try:
            domain.check_session_times(starts_at, ends_at, now)
        except ValueError as exc:
            raise invalid_times(exc) from None
    if "capacity" in body and body["capacity"] < session.seats_taken:
        raise Conflict("Fewer places than confirmed bookings: cancel bookings first",
                       errors={"capacity": [f"At least {session.seats_taken}"]})
    venue = body.get("venue", session.venue)
    online = body.get("online_url", session.online_url)
    if not venue and not online:
        raise Unprocessable("Give a venue or an online link",
                            errors={"venue": ["Give a venue or an online link"]})
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
        if course.status == domain.PUBLISHED:
            rows = attendees(s, session.id, domain.ACTIVE)
            uow.emit("session.rescheduled", {
                "course_id": course.id, "course_title": course.title,
                "session": times(session), "previous": previous,
                "attendees": [{"booking_id": b.id, "org_id": b.org_id, "name": p.name,
                               "email": p.email} for b, p in rows]},
                org_id=course.provider_org_id, actor=principal.sub)
    if grew:
        promote(uow, course, session, principal.sub)
    s.flush()
    return fresh(s, CourseSession, session_id)


def cancel_session(uow, principal, session_id, now):
    s = uow.session
    session, course, _ = session_for(s, principal, session_id, manage=True)
    if session.status == domain.CANCELLED:
        raise Conflict("The session is already cancelled")
    rows = attendees(s, session.id, domain.ACTIVE)
    for booking, _person in rows:
        booking.status, booking.cancelled_at = domain.CANCELLED, now
        booking.revision += 1
        booking.cancel_reason = "session_cancelled"
    session.status, session.seats_taken = domain.CANCELLED, 0
    session.sequence += 1
    session.updated_at = now
    uow.emit("session.cancelled", {
        "course_id": course.id, "course_title": course.title,
        "session": times(session),
        "attendees": [{"booking_id": b.id, "org_id": b.org_id, "name": p.name,
                       "email": p.email} for b, p in rows]},
        org_id=course.provider_org_id, actor=principal.sub)
    # Whoever attended every session that still goes ahead has now completed it.
    s.flush()
    for person_id in set(s.execute(select(Booking.person_id).where(
            Booking.course_id == course.id, Booking.attended.is_(True))).scalars()):
        complete_if_done(uow, course, person_id, principal.sub)
    return session


def session_bookings(s, principal, session_id):
    """(booking, person) rows on a session, in booking order (a CPD lead sees their
    own staff's)."""
    session = s.get(CourseSession, session_id)
    if session is None:
        raise NotFound("No such session")
    course = course_for(s, principal, session.course_id)
    where = [Booking.session_id == session_id]
    if course.provider_org_id != principal.org:
        where.append(Booking.org_id == principal.org)
    return s.execute(select(Booking, Person).join(Person, Person.id == Booking.person_id)
                     .where(*where).order_by(Booking.seq)).all()


# -- bookings -------------------------------------------------------------------------

def person_for(s, org_id, attendee, sub=None):
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
                raise Unprocessable("You book with the email of your first booking", errors={
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


def my_person(s, principal):
    """The caller's own person (linked by the token's sub), or None."""
    return s.execute(select(Person).where(Person.org_id == principal.org,
                                          Person.sub == principal.sub)
                     ).scalar_one_or_none()


def place(uow, booking, course, session, person, actor, promoted=False):
    """Give the booking a place if one is free, else put it on the waitlist."""
    s = uow.session
    if take_seat(s, session.id):
        booking.status, booking.confirmed_at = domain.CONFIRMED, utcnow()
        org = s.get(Organisation, booking.org_id)
        booking.charge_pence = domain.charge_for(course, booking.org_id,
                                                 org.kind if org else None)
        booking.charge_term = domain.term_label(session.starts_at.date())
        uow.emit("booking.promoted" if promoted else "booking.confirmed",
                 booking_event(booking, course, session, person),
                 org_id=booking.org_id, actor=actor)
        return True
    booking.status = domain.WAITLISTED
    s.flush()
    position = s.execute(select(func.count()).select_from(Booking).where(
        Booking.session_id == session.id, Booking.status == domain.WAITLISTED,
        Booking.seq <= booking.seq)).scalar_one()
    booking.waitlist_position = position
    uow.emit("booking.waitlisted", {**booking_event(booking, course, session, person),
                                    "waitlist_position": position},
             org_id=booking.org_id, actor=actor)
    return False


def promote(uow, course, session, actor):
    """Fill free places from the waitlist, first come first served."""
    s = uow.session
    while True:
        s.flush()
        nxt = s.execute(select(Booking).where(
            Booking.session_id == session.id, Booking.status == domain.WAITLISTED)
            .order_by(Booking.seq).limit(1)).scalar_one_or_none()
        if nxt is None or not take_seat(s, session.id):
            return
        nxt.status, nxt.confirmed_at = domain.CONFIRMED, utcnow()
        nxt.revision += 1
        org = s.get(Organisation, nxt.org_id)
        nxt.charge_pence = domain.charge_for(course, nxt.org_id, org.kind if org else None)
        nxt.charge_term = domain.term_label(session.starts_at.date())
        person = s.get(Person, nxt.person_id)
        uow.emit("booking.promoted", booking_event(nxt, course, session, person),
                 org_id=nxt.org_id, actor=actor)


def create_booking(uow, principal, session_id, attendee, now, *, by_lead, default_limit):
    s = uow.session
    session, course, seq = session_for(s, principal, session_id, number=True)
    try:
        domain.bookable(course, session, now)
    except domain.RuleBroken as exc:
        raise conflict(exc) from None
    person = person_for(s, principal.org, attendee, sub=None if by_lead else principal.sub)
    try:
        s.flush()
    except IntegrityError:  # the same new person booked twice at the same instant
        raise Conflict("A booking for this person is in progress: try again") from None
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
    limit = domain.places_per_org(course, default_limit())
    if limit is not None:
        held = s.execute(select(func.count()).select_from(Booking).where(
            Booking.session_id == session.id, Booking.org_id == principal.org,
            Booking.status.in_(domain.ACTIVE))).scalar_one()
        if held >= limit:
            raise Conflict(f"Your organisation already holds {held} of its {limit} places "
                           "on this session")
    booking = Booking(id=new_id(), session_id=session.id, course_id=course.id,
                      person_id=person.id, org_id=principal.org, seq=seq,
                      status=domain.PENDING, booked_by=principal.sub, booked_at=now,
                      charge_pence=0, calendar_key=domain.new_key(), revision=0)
    s.add(booking)
    if domain.initial_status(course, by_lead) == domain.PENDING:
        uow.emit("booking.approval_requested",
                 booking_event(booking, course, session, person),
                 org_id=booking.org_id, actor=principal.sub)
    else:
        place(uow, booking, course, session, person, principal.sub)
    booking.person = person
    return booking


def booking_for(s, principal, booking_id, lock=False):
    """(booking, course, session, person) if the caller may see it, else 404."""
    booking = s.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking")
    if lock:
        lock_session(s, booking.session_id)
        booking = fresh(s, Booking, booking_id)
    course = s.get(Course, booking.course_id)
    person = s.get(Person, booking.person_id)
    is_provider = (principal.org == course.provider_org_id and principal.has_any(ADMIN))
    is_lead = principal.org == booking.org_id and principal.has_any(ADMIN)
    is_self = principal.org == booking.org_id and person.sub == principal.sub
    if not (is_provider or is_lead or is_self):
        raise NotFound("No such booking")
    session = fresh(s, CourseSession, booking.session_id)
    booking.person = person
    booking.access = "self" if is_self else "lead" if is_lead else "provider"
    return booking, course, session, person


def get_booking(s, principal, booking_id):
    booking, _, session, _ = booking_for(s, principal, booking_id)
    if booking.status == domain.WAITLISTED:
        booking.waitlist_position = s.execute(select(func.count()).select_from(Booking)
                                              .where(Booking.session_id == session.id,
                                                     Booking.status == domain.WAITLISTED,
                                                     Booking.seq <= booking.seq)).scalar_one()
    return booking


def my_bookings(s, principal):
    rows = s.execute(select(Booking, Person).join(Person, Person.id == Booking.person_id)
                     .where(Person.org_id == principal.org, Person.sub == principal.sub)
                     .order_by(Booking.booked_at)).all()
    for booking, person in rows:
        booking.person = person
    return [b for b, _ in rows]


def cancel_booking(uow, principal, booking_id):
    s = uow.session
    booking, course, session, person = booking_for(s, principal, booking_id, lock=True)
    if booking.status not in domain.ACTIVE:
        raise Conflict("The booking is no longer active")
    held_place = booking.status == domain.CONFIRMED
    reason = {"self": "cancelled_by_attendee", "lead": "cancelled_by_cpd_lead",
              "provider": "cancelled_by_provider"}[booking.access]
    booking.status, booking.cancelled_at = domain.CANCELLED, utcnow()
    booking.revision += 1
    booking.cancel_reason = reason
    uow.emit("booking.cancelled", {**booking_event(booking, course, session, person),
                                   "reason": reason},
             org_id=booking.org_id, actor=principal.sub)
    if held_place:
        free_seat(s, session.id)
        promote(uow, course, session, principal.sub)
    return booking


def decide(uow, principal, booking_id, approve):
    """The CPD lead approves (a place or the waitlist) or declines a pending booking."""
    s = uow.session
    booking, course, session, person = booking_for(s, principal, booking_id, lock=True)
    if booking.org_id != principal.org:  # the provider does not approve for a school
        raise Forbidden("Only your organisation's CPD lead decides on bookings")
    if booking.status != domain.PENDING:
        raise Conflict("The booking is not waiting for approval")
    booking.revision += 1
    if not approve:
        booking.status, booking.cancelled_at = domain.DECLINED, utcnow()
        booking.cancel_reason = "declined"
        uow.emit("booking.cancelled", {**booking_event(booking, course, session, person),
                                       "reason": "declined"},
                 org_id=booking.org_id, actor=principal.sub)
        return booking
    try:
        domain.bookable(course, session, utcnow())
    except domain.RuleBroken as exc:
        raise conflict(exc) from None
    place(uow, booking, course, session, person, principal.sub)
    return booking


# -- calendar -------------------------------------------------------------------------

def invitation(s, key):
    """(booking, session, course, person) of a calendar key, else 404."""
    booking = s.execute(select(Booking).where(Booking.calendar_key == key)
                        ).scalar_one_or_none()
    if booking is None:
        raise NotFound("No such invitation")
    session = s.get(CourseSession, booking.session_id)
    course = s.get(Course, booking.course_id)
    person = s.get(Person, booking.person_id)
    return booking, session, course, person


def staff_feed(s, key):
    """(person, [(booking, session, course)]) of a feed key, else 404."""
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


# -- attendance and certificates ------------------------------------------------------

def complete_if_done(uow, course, person_id, actor):
    s = uow.session
    if s.execute(select(Certificate.id).where(Certificate.course_id == course.id,
                                              Certificate.person_id == person_id)).first():
        return None
    scheduled = s.execute(select(CourseSession).where(
        CourseSession.course_id == course.id, CourseSession.status == domain.SCHEDULED)
    ).scalars().all()
    attended = s.execute(select(Booking.session_id).where(
        Booking.course_id == course.id, Booking.person_id == person_id,
        Booking.status == domain.CONFIRMED, Booking.attended.is_(True))).scalars().all()
    if not domain.course_completed([x.id for x in scheduled], attended):
        return None
    person = s.get(Person, person_id)
    completed_on = max(x.ends_at for x in scheduled).date()
    cert = Certificate(id=new_id(), course_id=course.id, person_id=person.id,
                       org_id=person.org_id, verification_code=domain.new_verification_code(),
                       holder_name=person.name, course_title=course.title,
                       cpd_hours=course.cpd_hours, completed_on=completed_on,
                       issued_at=utcnow())
    s.add(cert)
    s.add(CpdRecord(id=new_id(), person_id=person.id, org_id=person.org_id,
                    course_id=course.id, certificate_id=cert.id, course_title=course.title,
                    area_of_need=course.area_of_need, cpd_hours=course.cpd_hours,
                    completed_on=completed_on))
    uow.emit("certificate.issued", {
        "certificate_id": cert.id, "course_id": course.id, "course_title": course.title,
        "org_id": person.org_id, "attendee": {"name": person.name, "email": person.email},
        "cpd_hours": course.cpd_hours, "verification_code": cert.verification_code,
        "verify_path": verify_path(cert.verification_code)},
        org_id=person.org_id, actor=actor)
    return cert


def mark_attendance(uow, principal, session_id, marks):
    """Mark attendance; returns (bookings in the order marked, ids of certificates issued)."""
    s = uow.session
    session, course, _ = session_for(s, principal, session_id, manage=True)
    if session.status != domain.SCHEDULED:
        raise Conflict("The session is cancelled")
    if session.starts_at > utcnow():
        raise Conflict("The session has not started yet: mark attendance once it has",
                       errors={"session_id": ["Not started yet"]})
    ids = [r["booking_id"] for r in marks]
    found = {b.id: b for b in s.execute(select(Booking).where(
        Booking.id.in_(ids), Booking.session_id == session.id)).scalars()}
    errors = {}
    for i, record in enumerate(marks):
        booking = found.get(record["booking_id"])
        if booking is None:
            errors[f"records.{i}.booking_id"] = ["No such booking on this session"]
        elif booking.status != domain.CONFIRMED:
            errors[f"records.{i}.booking_id"] = ["The booking holds no place"]
    if errors:
        raise Unprocessable("Some bookings cannot be marked", errors=errors)
    certified = set(s.execute(select(Certificate.person_id).where(
        Certificate.course_id == course.id)).scalars())
    for i, record in enumerate(marks):
        booking = found[record["booking_id"]]
        if not record["attended"] and booking.person_id in certified:
            raise Conflict("A certificate was issued on this attendance",
                           errors={f"records.{i}.attended": ["Certificate issued"]})
        booking.attended = record["attended"]
    s.flush()
    issued = []
    for record in marks:
        booking = found[record["booking_id"]]
        if record["attended"]:
            cert = complete_if_done(uow, course, booking.person_id, principal.sub)
            if cert is not None:
                issued.append(cert.id)
    people = {p.id: p for p in s.execute(select(Person).where(
        Person.id.in_([b.person_id for b in found.values()]))).scalars()}
    for booking in found.values():
        booking.person = people[booking.person_id]
    return [found[i] for i in ids], issued


def certificate_for(s, principal, certificate_id):
    cert = s.get(Certificate, certificate_id)
    if cert is None:
        raise NotFound("No such certificate")
    person = s.get(Person, cert.person_id)
    course = s.get(Course, cert.course_id)
    same_org = principal.org == cert.org_id
    allowed = (
        (same_org and person.sub == principal.sub)
        or (same_org and principal.has_any(domain.RECORD_READERS))
        or (principal.org == course.provider_org_id and principal.has_any(ADMIN)))
    if not allowed:
        raise NotFound("No such certificate")
    return cert, course


def provider_of(s, course):
    return s.get(Organisation, course.provider_org_id)


def verify(s, code):
    """(certificate, course, provider organisation or None) of a code, else 404."""
    cert = s.execute(select(Certificate).where(
        Certificate.verification_code == domain.normalise_code(code))).scalar_one_or_none()
    if cert is None:
        raise NotFound("No certificate has this code")
    course = s.get(Course, cert.course_id)
    provider = s.get(Organisation, course.provider_org_id)
    return cert, course, provider


# -- CPD records ------------------------------------------------------------------------

def person_records(s, people):
    ids = [p.id for p in people]
    lines, certs = {}, {}
    if ids:
        for r in s.execute(select(CpdRecord).where(CpdRecord.person_id.in_(ids))
                           .order_by(CpdRecord.completed_on)).scalars():
            lines.setdefault(r.person_id, []).append(r)
        for c in s.execute(select(Certificate).where(Certificate.person_id.in_(ids))
                           .order_by(Certificate.issued_at)).scalars():
            certs.setdefault(c.person_id, []).append(c)
    return [{"person_id": p.id, "name": p.name, "email": p.email, "org_id": p.org_id,
             "total_hours": round(sum(r.cpd_hours for r in lines.get(p.id, [])), 2),
             "courses": lines.get(p.id, []), "certificates": certs.get(p.id, [])}
            for p in people]


def staff_member(s, principal, person_id):
    person = s.get(Person, person_id)
    if person is None or person.org_id != principal.org:
        raise NotFound("No such member of staff")
    return person


def org_records(s, principal):
    people = s.execute(select(Person).where(Person.org_id == principal.org)
                       .order_by(Person.name, Person.id)).scalars().all()
    return person_records(s, people)


# -- charges ----------------------------------------------------------------------------

def charges(s, principal, query):
    """(org_id, term, places, total_pence, org_name) rows the caller charges or owes."""
    where = [Booking.status == domain.CONFIRMED, Booking.charge_pence > 0,
             or_(Booking.org_id == principal.org, Course.provider_org_id == principal.org)]
    if "term" in query:
        where.append(Booking.charge_term == query["term"])
    return s.execute(
        select(Booking.org_id, Booking.charge_term, func.count(),
               func.sum(Booking.charge_pence), Organisation.name)
        .join(Course, Course.id == Booking.course_id)
        .outerjoin(Organisation, Organisation.org_id == Booking.org_id)
        .where(*where)
        .group_by(Booking.org_id, Booking.charge_term, Organisation.name)
        .order_by(Booking.charge_term, Booking.org_id)).all()


# -- evaluation ---------------------------------------------------------------------------

def evaluate_course(uow, principal, course_id, body):
    s = uow.session
    course = course_for(s, principal, course_id)
    person = my_person(s, principal)
    attended = person is not None and s.execute(select(Booking.id).where(
        Booking.course_id == course.id, Booking.person_id == person.id,
        Booking.attended.is_(True))).first() is not None
    if not attended:
        raise Conflict("Only those who attended the course evaluate it")
    if s.execute(select(Evaluation.id).where(Evaluation.course_id == course.id,
                                             Evaluation.person_id == person.id)).first():
        raise Conflict("You have already evaluated this course")
    evaluation = Evaluation(id=new_id(), course_id=course.id,
                            person_id=person.id, rating=body["rating"],
                            will_change=body["will_change"].strip(),
                            submitted_at=utcnow())
    s.add(evaluation)
    return evaluation


def course_ratings(s, principal, course_id):
    """(course, [(rating, will_change)]) of a course the caller provides."""
    course = course_for(s, principal, course_id, manage=True)
    rows = s.execute(select(Evaluation.rating, Evaluation.will_change)
                     .where(Evaluation.course_id == course.id)
                     .order_by(Evaluation.submitted_at)).all()
    return course, [tuple(r) for r in rows]


# -- need against training ------------------------------------------------------------------

def need_trend_rows(s, principal, since):
    """(referral rows, place rows, hour rows) since the day, as domain.need_trend takes
    them; only for the trust organisation's own staff."""
    if not access.trust_wide(principal):
        raise Forbidden("The trust-wide report is for the trust's own staff")
    referrals = s.execute(select(ReferralNeed.area_of_need, ReferralNeed.closed_on)
                          .where(ReferralNeed.closed_on >= since)).all()
    places = s.execute(
        select(Course.area_of_need, CourseSession.starts_at)
        .join(Booking, Booking.session_id == CourseSession.id)
        .join(Course, Course.id == CourseSession.course_id)
        .where(Booking.attended.is_(True), CourseSession.starts_at >= domain.start_of(since))
    ).all()
    hours = s.execute(select(CpdRecord.area_of_need, CpdRecord.completed_on,
                             CpdRecord.cpd_hours)
                      .where(CpdRecord.completed_on >= since)).all()
    return ([(a, d) for a, d in referrals], [(a, t.date()) for a, t in places],
            [(a, d, h) for a, d, h in hours])


def offers_for(s, principal):
    offers = s.execute(select(Offer).where(Offer.school_org_id == principal.org)
                       .order_by(Offer.offered_at.desc())).scalars().all()
    ids = {i for o in offers for i in o.session_ids}
    sessions = {x.id: x for x in s.execute(select(CourseSession).where(
        CourseSession.id.in_(ids))).scalars()} if ids else {}
    titles = dict(s.execute(select(Course.id, Course.title).where(
        Course.id.in_({o.course_id for o in offers}))).all()) if offers else {}
    for offer in offers:
        offer.course_title = titles.get(offer.course_id)
        offer.sessions = [sessions[i] for i in offer.session_ids if i in sessions]
    return offers


# -- projections from other services' events ------------------------------------------------

def upsert_organisation(uow, data):
    org = uow.session.get(Organisation, data["org_id"]) or Organisation(org_id=data["org_id"])
    org.name, org.kind, org.urn = data["name"], data["kind"], data["urn"]
    org.contact_email = data.get("contact_email")
    uow.session.add(org)


def record_referral_closed(uow, event, offer_sessions):
    """Project the closed referral's areas of need, and offer the school upcoming
    sessions of each published course the referral recommends (once per course)."""
    data, s = event["data"], uow.session
    closed_on = event["occurred_at"].date()
    for area in dict.fromkeys(data["areas_of_need"]):
        if s.get(ReferralNeed, (data["referral_id"], area)) is None:
            s.add(ReferralNeed(referral_id=data["referral_id"], area_of_need=area,
                               school_org_id=data["school_org_id"], closed_on=closed_on))
    school = s.get(Organisation, data["school_org_id"])
    now = utcnow()
    for course_id in dict.fromkeys(data["recommended_course_ids"]):
        course = s.get(Course, course_id)
        if course is None or course.status != domain.PUBLISHED:
            log.info("referral.closed recommends a course that is not open for booking")
            continue
        if s.execute(select(Offer.id).where(Offer.referral_id == data["referral_id"],
                                            Offer.course_id == course.id)).first():
            continue
        upcoming = s.execute(select(CourseSession).where(
            CourseSession.course_id == course.id, CourseSession.status == domain.SCHEDULED,
            CourseSession.starts_at > now).order_by(CourseSession.starts_at)
            .limit(offer_sessions())).scalars().all()
        if not upcoming:
            continue
        offer = Offer(id=new_id(), school_org_id=data["school_org_id"],
                      referral_id=data["referral_id"], course_id=course.id,
                      session_ids=[x.id for x in upcoming], offered_at=now)
        s.add(offer)
        uow.emit("course.offered", {
            "offer_id": offer.id, "school_org_id": data["school_org_id"],
            "contact_email": school.contact_email if school else None,
            "referral_contact": data["contact"],
            "referral_id": data["referral_id"], "reference": data["reference"],
            "course_id": course.id, "course_title": course.title,
            "sessions": [times(x) for x in upcoming]},
            org_id=data["school_org_id"], actor="cpd")
