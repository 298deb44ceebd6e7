"""Certificates: issued (with a line of the person's CPD record) once a person
has attended every session of the course that went ahead."""

from sqlalchemy import select

from services.common.db import utcnow
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..models import Booking, Certificate, CourseSession, CpdRecord, Person


def complete_if_done(uow, course, person_id, actor):
    """Issue the certificate if `person_id` has now completed the course; returns it
    (None if not complete, or issued before)."""
    s = uow.session
    if s.execute(select(Certificate.id).where(Certificate.course_id == course.id,
                                              Certificate.person_id == person_id)).first():
        return None
    scheduled = s.execute(select(CourseSession).where(
        CourseSession.course_id == course.id,
        CourseSession.status == domain.SessionStatus.SCHEDULED)).scalars().all()
    attended = s.execute(select(Booking.session_id).where(
        Booking.course_id == course.id, Booking.person_id == person_id,
        Booking.status == domain.BookingStatus.CONFIRMED,
        Booking.attended.is_(True))).scalars().all()
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
    uow.emit(events.CERTIFICATE_ISSUED, payloads.certificate_issued(cert, course, person),
             org_id=person.org_id, actor=actor)
    return cert


def complete_all(uow, course, actor):
    """After a session is cancelled: whoever attended every session that still goes
    ahead has now completed the course."""
    s = uow.session
    s.flush()
    for person_id in set(s.execute(select(Booking.person_id).where(
            Booking.course_id == course.id, Booking.attended.is_(True))).scalars()):
        complete_if_done(uow, course, person_id, actor)
