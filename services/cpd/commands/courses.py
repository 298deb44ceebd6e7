"""Courses: create a draft, change it, add sessions, publish; evaluations of a
course by those who attended it."""

from sqlalchemy import select

from services.common.db import utcnow
from services.common.errors import Conflict, RuleBroken
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..models import Booking, Course, CourseSession, Evaluation
from ..queries.bookings import my_person
from ..queries.courses import course_for, with_sessions


def create_course(db, principal, body, now):
    with db.unit_of_work() as uow:
        s = uow.session
        prereqs = list(dict.fromkeys(body["prerequisites"]))
        if prereqs:
            known = set(s.execute(select(Course.id).where(
                Course.id.in_(prereqs), Course.provider_org_id == principal.org)).scalars())
            unknown = [p for p in prereqs if p not in known]
            if unknown:
                raise RuleBroken("Unknown prerequisite course", errors={
                    "prerequisites": [f"No such course: {', '.join(unknown)}"]})
        course = Course(id=new_id(), provider_org_id=principal.org,
                        title=body["title"].strip(), summary=body["summary"].strip(),
                        audience=body["audience"].strip(), area_of_need=body["area_of_need"],
                        cpd_hours=body["cpd_hours"], price_pence=body["price_pence"],
                        prerequisites=prereqs, requires_approval=body["requires_approval"],
                        places_per_org=body["places_per_org"],
                        status=domain.CourseStatus.DRAFT, created_by=principal.sub,
                        created_at=now)
        s.add(course)
    course.loaded_sessions = []
    return course


def update_course(db, principal, course_id, body):
    with db.unit_of_work() as uow:
        course = course_for(uow.session, principal, course_id, manage=True)
        for key, value in body.items():
            setattr(course, key, value.strip() if isinstance(value, str) else value)
        return with_sessions(uow.session, [course])[0]


def add_session(db, principal, course_id, body, now):
    domain.check_session_times(body["starts_at"], body["ends_at"], now)
    with db.unit_of_work() as uow:
        course = course_for(uow.session, principal, course_id, manage=True)
        session = CourseSession(
            id=new_id(), course_id=course.id, starts_at=body["starts_at"],
            ends_at=body["ends_at"], venue=body.get("venue"),
            online_url=body.get("online_url"), facilitator=body["facilitator"].strip(),
            capacity=body["capacity"], seats_taken=0, booking_seq=0,
            status=domain.SessionStatus.SCHEDULED, sequence=0, created_at=now,
            updated_at=now)
        uow.session.add(session)
    return session


def publish_course(db, principal, course_id):
    with db.unit_of_work() as uow:
        course = course_for(uow.session, principal, course_id, manage=True)
        with_sessions(uow.session, [course])
        domain.can_publish(course, course.loaded_sessions)
        course.status, course.published_at = domain.CourseStatus.PUBLISHED, utcnow()
        uow.emit(events.COURSE_PUBLISHED, payloads.course_published(course, course.loaded_sessions),
                 org_id=course.provider_org_id, actor=principal.sub)
    return course


def evaluate_course(db, principal, course_id, body):
    """One evaluation per person and course, by someone marked as attending."""
    with db.unit_of_work() as uow:
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
        evaluation = Evaluation(id=new_id(), course_id=course.id, person_id=person.id,
                                rating=body["rating"], will_change=body["will_change"].strip(),
                                submitted_at=utcnow())
        s.add(evaluation)
    return evaluation
