"""From need to training, on other services' events: organisations (for charging
and the school's contact), and `referral.closed`, whose areas of need feed the
trend report and whose recommended courses are offered to the school."""

import logging

from sqlalchemy import select

from services.common.db import utcnow
from services.common.ids import new_id
from services.common.projections import upsert_organisation
from services.contracts import events

from .. import domain, payloads
from ..models import Course, CourseSession, Offer, Organisation, ReferralNeed

log = logging.getLogger("services.cpd.service")  # the name these messages always had


def organisation_onboarded(uow, data):
    upsert_organisation(uow.session, Organisation, data)


def _upcoming(s, course, now, count):
    return s.execute(select(CourseSession).where(
        CourseSession.course_id == course.id,
        CourseSession.status == domain.SessionStatus.SCHEDULED,
        CourseSession.starts_at > now).order_by(CourseSession.starts_at)
        .limit(count)).scalars().all()


def referral_closed(uow, event, offer_sessions):
    """Project the closed referral's areas of need, and offer the school its next
    `offer_sessions` sessions of each published course the referral recommends
    (once per course)."""
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
        if course is None or course.status != domain.CourseStatus.PUBLISHED:
            log.info("referral.closed recommends a course that is not open for booking")
            continue
        if s.execute(select(Offer.id).where(Offer.referral_id == data["referral_id"],
                                            Offer.course_id == course.id)).first():
            continue
        upcoming = _upcoming(s, course, now, offer_sessions)
        if not upcoming:
            continue
        offer = Offer(id=new_id(), school_org_id=data["school_org_id"],
                      referral_id=data["referral_id"], course_id=course.id,
                      session_ids=[x.id for x in upcoming], offered_at=now)
        s.add(offer)
        uow.emit(events.COURSE_OFFERED, payloads.course_offered(
            offer, course, upcoming, data, school.contact_email if school else None),
            org_id=data["school_org_id"], actor="cpd")
