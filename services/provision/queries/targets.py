"""Targets with their outcomes, latest level and numeric progress."""

from collections import defaultdict

from sqlalchemy import select

from .. import domain
from ..models import Outcome, Target
from . import scope


def views(s, targets):
    outcomes = defaultdict(list)
    for o in s.execute(select(Outcome).where(Outcome.target_id.in_([t.id for t in targets]))
                       .order_by(Outcome.reviewed_on, Outcome.recorded_at)).scalars():
        outcomes[o.target_id].append(o)
    out = []
    for t in targets:
        history = outcomes[t.id]
        latest = history[-1] if history else None
        scored = [o for o in history if o.score is not None]
        gain, pct = domain.score_gain(t.baseline_score, scored[-1].score if scored else None,
                                      t.target_score)
        out.append({
            **{c.key: getattr(t, c.key) for c in Target.__table__.columns},
            "outcomes": history,
            "latest_level": latest.level if latest else None,
            "latest_progress": domain.LEVEL_TO_LEGACY[latest.level] if latest else None,
            "met": domain.is_met(latest.progress if latest else None),
            "score_gain": gain, "percent_of_expected_gain": pct,
        })
    return out


def get_target(db, principal, target_id):
    with db.session() as s:
        return views(s, [scope.target(s, principal, target_id)])[0]
