"""Attendance: the provider marks who came once the session has begun; attending
every session that went ahead issues the certificate (commands/certificates.py).
Attendance behind a certificate cannot be unmarked."""

from sqlalchemy import select

from services.common.db import utcnow
from services.common.errors import Conflict, RuleBroken

from .. import domain
from ..models import Booking, Certificate, Person
from .bookings import session_for
from .certificates import complete_if_done


def _check_marks(found, marks):
    errors = {}
    for i, record in enumerate(marks):
        booking = found.get(record["booking_id"])
        if booking is None:
            errors[f"records.{i}.booking_id"] = ["No such booking on this session"]
        elif booking.status != domain.BookingStatus.CONFIRMED:
            errors[f"records.{i}.booking_id"] = ["The booking holds no place"]
    if errors:
        raise RuleBroken("Some bookings cannot be marked", errors=errors)


def mark_attendance(db, principal, session_id, marks):
    """{bookings (in the order marked), certificates_issued (ids)}."""
    with db.unit_of_work() as uow:
        s = uow.session
        session, course, _ = session_for(s, principal, session_id, manage=True)
        if session.status != domain.SessionStatus.SCHEDULED:
            raise Conflict("The session is cancelled")
        if session.starts_at > utcnow():
            raise Conflict("The session has not started yet: mark attendance once it has",
                           errors={"session_id": ["Not started yet"]})
        ids = [r["booking_id"] for r in marks]
        found = {b.id: b for b in s.execute(select(Booking).where(
            Booking.id.in_(ids), Booking.session_id == session.id)).scalars()}
        _check_marks(found, marks)
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
    return {"bookings": [found[i] for i in ids], "certificates_issued": issued}
