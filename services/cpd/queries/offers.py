"""Sessions offered to a school after a referral, and the trust-wide report of
areas of need in closed referrals against the training delivered."""

from datetime import date

from sqlalchemy import select

from services.common import access
from services.common.errors import NotAllowed

from .. import domain
from ..models import Booking, Course, CourseSession, CpdRecord, Offer, ReferralNeed


def offers_for(db, principal):
    with db.session() as s:
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


def need_trend(db, principal, terms_count, as_of=None):
    """Per area of need and term (the `terms_count` ending with `as_of`'s, today's
    by default): closed referrals that named it against places attended and hours
    certified in it. Only for the trust organisation's own staff."""
    if not access.trust_wide(principal):
        raise NotAllowed("The trust-wide report is for the trust's own staff")
    as_of = as_of or date.today()
    terms = domain.previous_terms(as_of, terms_count)
    since = domain.first_day_of_terms(as_of, terms_count)
    with db.session() as s:
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
    return {"terms": terms, "areas": domain.need_trend(
        terms, [(a, d) for a, d in referrals], [(a, t.date()) for a, t in places],
        [(a, d, h) for a, d, h in hours])}
