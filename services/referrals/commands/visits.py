"""Use cases of outreach work on an allocated referral: visits against the agreement's
hours, the report, and closure (which frees a place for the next one waiting)."""

from sqlalchemy import select

from services.common.db import utcnow
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..models import Agreement, Visit
from ..queries import agreement_usage
from .agreements import grant_places
from .steps import acting, emit

A = domain.Action


def _agreement_locked(session, agreement_id):
    return session.execute(select(Agreement).where(
        Agreement.id == agreement_id).with_for_update()).scalar_one()


def log_visit(database, principal, referral_id, body, now=None):
    """Log a visit; beyond the hours left only a trust_admin's override (marked)."""
    now = now or utcnow()
    with acting(database, principal, referral_id, A.LOG_VISIT, now) as (uow, referral):
        agreement = agreement_usage(uow.session,
                                    _agreement_locked(uow.session, referral.agreement_id))
        overridden = domain.check_visit_minutes(
            body["minutes"], agreement.minutes_bought, agreement.minutes_used,
            body["override"], principal.roles)
        visit = Visit(id=new_id(), referral_id=referral.id,
                      agreement_id=agreement.id, visit_date=body["visit_date"],
                      minutes=body["minutes"], seen=list(body["seen"]),
                      observations=body["observations"],
                      recommendations=body["recommendations"],
                      practitioner_sub=principal.sub, override=overridden,
                      override_by=principal.sub if overridden else None, logged_at=now)
        uow.session.add(visit)
        emit(uow, events.REFERRAL_VISIT_LOGGED, referral, payloads.visit_logged,
             principal.sub, visit)
    return visit


def issue_report(database, principal, referral_id, body, now=None):
    now = now or utcnow()
    with acting(database, principal, referral_id, A.ISSUE_REPORT, now) as (uow, referral):
        referral.report_id = new_id()
        referral.report_summary = body["summary"]
        referral.recommendations = [dict(r) for r in body["recommendations"]]
        referral.report_issued_at = now
        emit(uow, events.REFERRAL_REPORT_ISSUED, referral, payloads.report_issued,
             principal.sub)
    return referral


def close(database, principal, referral_id, outcome, now=None):
    """Close with an outcome; the freed place goes to the first referral waiting."""
    now = now or utcnow()
    with acting(database, principal, referral_id, A.CLOSE, now) as (uow, referral):
        referral.outcome, referral.closed_at = outcome, now
        emit(uow, events.REFERRAL_CLOSED, referral, payloads.closed, principal.sub)
        uow.session.flush()
        grant_places(uow, _agreement_locked(uow.session, referral.agreement_id),
                     principal.sub, now)
    return referral
