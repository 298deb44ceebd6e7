"""Assess-plan-do-review cycles and the reviews due."""

from datetime import timedelta

from sqlalchemy import select

from services.common import access
from services.common.db import utcnow

from .. import domain
from ..models import Cycle, Pupil
from . import scope


def view(c, today=None):
    today = today or utcnow().date()
    return {**{col.key: getattr(c, col.key) for col in Cycle.__table__.columns},
            "overdue": c.status == domain.OPEN and c.review_date < today}


def get_cycle(db, principal, cycle_id):
    with db.session() as s:
        return view(scope.cycle(s, principal, cycle_id))


def reviews_due(db, principal, query, today):
    """Open cycles whose review is within `within_days`, split into due and overdue;
    each row names its pupil's year group and class (the portal adds names)."""
    with db.session() as s:
        org_id = access.scoped_org(principal, query.get("org_id"))
        q = (select(Cycle, Pupil.year_group, Pupil.registration_group)
             .outerjoin(Pupil, Pupil.pupil_id == Cycle.pupil_id)
             .where(Cycle.status == domain.OPEN,
                    Cycle.review_date <= today + timedelta(days=query["within_days"])))
        if org_id is not None:
            q = q.where(Cycle.org_id == org_id)
        rows = s.execute(q.order_by(Cycle.review_date, Cycle.id)).all()
    overdue = {c.id for c in domain.overdue_reviews([r[0] for r in rows], today)}
    views = [(c.id, {**view(c, today), "year_group": year, "registration_group": group})
             for c, year, group in rows]
    return {"due": [v for cid, v in views if cid not in overdue],
            "overdue": [v for cid, v in views if cid in overdue]}
