"""Targets, reviews and APDR cycles: met or not, numeric gain, review dates, which
reviews to announce, and when provision may end."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.common.errors import Conflict, RuleBroken

from .codes import ACTIVE, MET, OPEN, REVIEWED

# -- targets, reviews, cycles -----------------------------------------------------

def is_met(progress):
    return progress is not None and progress >= MET


def score_gain(baseline_score, latest_score, target_score=None):
    """Numeric progress (e.g. reading age in months): the gain, and the share of the
    expected gain achieved (None without a target score or an expected gain)."""
    if baseline_score is None or latest_score is None:
        return None, None
    gain = Decimal(latest_score) - Decimal(baseline_score)
    if target_score is None or Decimal(target_score) == Decimal(baseline_score):
        return gain, None
    expected = Decimal(target_score) - Decimal(baseline_score)
    return gain, (gain / expected * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def check_review_date(started_on, review_date):
    if review_date <= started_on:
        raise RuleBroken("The review must come after the cycle starts", field="review_date")


def reviews_to_announce(cycles, today, lead_days):
    """Open cycles whose review is within `lead_days` (or past) and not yet announced
    for that review date: [(cycle, overdue)]. Each cycle needs .status, .review_date
    and .announced_for (the review date last announced, or None)."""
    horizon = today + timedelta(days=lead_days)
    return [(c, c.review_date < today) for c in cycles
            if c.status == OPEN and c.review_date <= horizon
            and c.announced_for != c.review_date]


def overdue_reviews(cycles, today):
    return [c for c in cycles if c.status == OPEN and c.review_date < today]


def check_can_end(*, statutory, start, ended_on, planned_end, status, review=None):
    """May an assignment end on `ended_on`? `review` is (status, reviewed_on) of the
    APDR cycle named as the review that decided it, or None."""
    if status != ACTIVE:
        raise Conflict("This provision has already ended")
    if ended_on < start:
        raise RuleBroken("Provision cannot end before it starts", field="ended_on")
    if ended_on > planned_end:
        raise RuleBroken("Ending early must be on or before the planned end date",
                         field="ended_on")
    if statutory:
        if review is None:
            raise RuleBroken("EHC plan provision (section F) can only end after a review: "
                             "name the reviewed cycle", field="review_cycle_id")
        status, reviewed_on = review
        if status != REVIEWED or reviewed_on is None or reviewed_on < start:
            raise RuleBroken("The named cycle has not been reviewed since this provision began",
                             field="review_cycle_id")
