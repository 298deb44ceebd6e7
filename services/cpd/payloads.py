"""The data of every event the cpd service emits (and nothing else shapes them).

Booking and session events carry what notify needs to write to the member of
staff concerned and to attach the booking's iCalendar invitation without asking
cpd: the attendee (staff: name and email, never pupils), the course's title,
summary and hours, the session's times, place and facilitator, and the
invitation's `calendar_sequence` and `calendar_status` (domain.calendar_sequence
and domain.calendar_status, exactly what the calendar adapter serves).
"""

from . import domain


def calendar_path(booking):
    return f"/api/v1/cpd/calendar/{booking.calendar_key}.ics"


def feed_path(person):
    return f"/api/v1/cpd/feeds/{person.feed_key}.ics"


def verify_path(code):
    return f"/api/v1/cpd/certificates/verify/{code}"


def session_times(session):
    return {"session_id": session.id, "starts_at": session.starts_at.isoformat(),
            "ends_at": session.ends_at.isoformat(), "venue": session.venue,
            "online_url": session.online_url, "facilitator": session.facilitator}


def _course(course):
    return {"course_id": course.id, "course_title": course.title,
            "course_summary": course.summary, "cpd_hours": course.cpd_hours}


def _calendar(booking, session):
    return {"calendar_sequence": domain.calendar_sequence(booking, session),
            "calendar_status": str(domain.calendar_status(booking, session))}


def booking(booking, course, session, person, **extra):
    """booking.confirmed, .promoted, .approval_requested; with `waitlist_position`
    booking.waitlisted, with `reason` booking.cancelled."""
    return {"booking_id": booking.id, **_course(course), "org_id": booking.org_id,
            "attendee": {"name": person.name, "email": person.email},
            "session": session_times(session), "status": str(booking.status),
            "calendar_path": calendar_path(booking), **_calendar(booking, session), **extra}


def _attendees(session, rows):
    return [{"booking_id": b.id, "org_id": b.org_id, "name": p.name, "email": p.email,
             "calendar_path": calendar_path(b), **_calendar(b, session)} for b, p in rows]


def session_rescheduled(course, session, previous, rows):
    """`previous`: session_times() of the session before the change; `rows`:
    (booking, person) of everyone booked."""
    return {**_course(course), "session": session_times(session), "previous": previous,
            "attendees": _attendees(session, rows)}


def session_cancelled(course, session, rows):
    return {**_course(course), "session": session_times(session),
            "attendees": _attendees(session, rows)}


def course_published(course, sessions):
    return {"course_id": course.id, "provider_org_id": course.provider_org_id,
            "title": course.title, "area_of_need": course.area_of_need,
            "cpd_hours": course.cpd_hours, "price_pence": course.price_pence,
            "sessions": [session_times(x) for x in sorted(sessions, key=lambda x: x.starts_at)
                         if x.status == domain.SessionStatus.SCHEDULED]}


def certificate_issued(cert, course, person):
    return {"certificate_id": cert.id, "course_id": course.id, "course_title": course.title,
            "org_id": person.org_id, "attendee": {"name": person.name, "email": person.email},
            "cpd_hours": course.cpd_hours, "verification_code": cert.verification_code,
            "verify_path": verify_path(cert.verification_code)}


def course_offered(offer, course, sessions, referral, school_contact_email):
    """`referral`: the data of the referral.closed that led to the offer."""
    return {"offer_id": offer.id, "school_org_id": offer.school_org_id,
            "contact_email": school_contact_email,
            "referral_contact": referral["contact"],
            "referral_id": referral["referral_id"], "reference": referral["reference"],
            "course_id": course.id, "course_title": course.title,
            "sessions": [session_times(x) for x in sessions]}
