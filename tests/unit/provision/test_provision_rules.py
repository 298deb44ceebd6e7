"""Impact reports on a known data set, review timers, ending statutory provision,
numeric progress and CSV, checked by hand."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal as D

import pytest

from services.common import errors
from services.provision import domain
from services.provision.domain import PupilCost, ReportAssignment


def known_data_set():
    """Reading (X) at school s1 for A and B, and at s2 for C; speech therapy (Y) at s1
    for A. Latest levels: t1 exceeded (rank 4), t2 working towards (1), t3 met (3), t4
    partially met (2); t5 not reviewed yet."""
    assignments = [
        ReportAssignment("a1", "s1", "X", "targeted",
                         {"A": PupilCost(D("100")), "B": PupilCost(D("50"))}, {"t1", "t2"}),
        ReportAssignment("a2", "s2", "X", "targeted", {"C": PupilCost(D("90"))}, {"t3"}),
        ReportAssignment("a3", "s1", "Y", "specialist", {"A": PupilCost(D("60"))},
                         {"t1", "t4", "t5"}),
    ]
    rank = domain.LEVEL_RANK
    return assignments, {"t1": rank["exceeded"], "t2": rank["working_towards"],
                         "t3": rank["met"], "t4": rank["partially_met"]}


def by_key(rows):
    return {r.key: r for r in rows}


def test_impact_per_provision():
    rows = by_key(domain.impact_report(*known_data_set(), group_by="provision"))
    x, y = rows[("X",)], rows[("Y",)]
    # X: pupils A, B, C; t1, t2, t3 all reviewed; met t1, t3; average rank (4 + 1 + 3) / 3.
    assert (x.pupils, x.targets, x.targets_reviewed, x.targets_met) == (3, 3, 3, 2)
    assert x.share_met == D(2) / 3 and x.average_progress == D(8) / 3
    assert x.cost == 240 and x.cost_per_pupil == 80 and x.cost_per_target_met == 120
    # Y: pupil A; t1, t4, t5 (t5 unreviewed); met t1 (t4 only partially); (4 + 2) / 2.
    assert (y.pupils, y.targets, y.targets_reviewed, y.targets_met) == (1, 3, 2, 1)
    assert y.share_met == D("0.5") and y.average_progress == 3
    assert y.cost == 60 and y.cost_per_pupil == 60 and y.cost_per_target_met == 60


def test_impact_per_provision_and_school_compares_what_works_where():
    rows = by_key(domain.impact_report(*known_data_set(), group_by="provision_org"))
    assert rows[("X", "s1")].share_met == D("0.5") and rows[("X", "s1")].cost_per_pupil == 75
    assert rows[("X", "s2")].share_met == 1 and rows[("X", "s2")].cost_per_target_met == 90


def test_impact_per_organisation_counts_each_target_and_pupil_once():
    rows = by_key(domain.impact_report(*known_data_set(), group_by="org"))
    s1 = rows[("s1",)]
    # s1: pupils A, B; targets t1, t2, t4, t5; reviewed 3; met t1; (4 + 1 + 2) / 3.
    assert (s1.pupils, s1.targets, s1.targets_reviewed, s1.targets_met) == (2, 4, 3, 1)
    assert s1.average_progress == D(7) / 3
    assert s1.cost == 210 and s1.cost_per_pupil == 105 and s1.cost_per_target_met == 210


def test_impact_trust_wide():
    [trust] = domain.impact_report(*known_data_set(), group_by="trust")
    assert (trust.pupils, trust.targets, trust.targets_reviewed, trust.targets_met) == (3, 5, 4, 2)
    assert trust.share_met == D("0.5") and trust.average_progress == D("2.5")  # 10 / 4
    assert trust.cost == 300 and trust.cost_per_pupil == 100 and trust.cost_per_target_met == 150


def test_no_targets_met_means_no_cost_per_target_met():
    [row] = domain.impact_report(
        [ReportAssignment("a", "s", "X", "targeted", {"A": PupilCost(D("10"))}, {"t"})],
        {"t": -2}, group_by="trust")
    assert row.targets_met == 0 and row.share_met == 0 and row.cost_per_target_met is None


@dataclass
class FakeCycle:
    review_date: date
    status: str = domain.OPEN
    announced_for: date | None = None


def test_review_due_is_announced_once_ahead_of_the_review():
    today = date(2027, 3, 1)
    soon = FakeCycle(date(2027, 3, 10))
    later = FakeCycle(date(2027, 3, 20))
    done = FakeCycle(date(2027, 3, 5), status=domain.REVIEWED)
    late = FakeCycle(date(2027, 2, 20))
    announced = FakeCycle(date(2027, 3, 8), announced_for=date(2027, 3, 8))
    due = domain.reviews_to_announce([soon, later, done, late, announced], today, 14)
    assert due == [(soon, False), (late, True)]
    assert domain.overdue_reviews([soon, later, done, late, announced], today) == [late]


def test_a_moved_review_date_is_announced_again():
    cycle = FakeCycle(date(2027, 3, 10), announced_for=date(2027, 3, 3))
    assert domain.reviews_to_announce([cycle], date(2027, 3, 1), 14) == [(cycle, False)]


def test_lead_time_boundary():
    cycle = FakeCycle(date(2027, 3, 15))
    assert domain.reviews_to_announce([cycle], date(2027, 3, 1), 14) == [(cycle, False)]
    assert domain.reviews_to_announce([cycle], date(2027, 3, 1), 13) == []


END = {"start": date(2027, 1, 4), "planned_end": date(2027, 7, 16), "status": domain.ACTIVE}


def test_ordinary_provision_ends_early_without_a_review():
    domain.check_can_end(statutory=False, ended_on=date(2027, 3, 1), **END)


@pytest.mark.parametrize("review", [None, (domain.OPEN, None),
                                    (domain.REVIEWED, date(2027, 1, 1))])
def test_statutory_provision_cannot_end_without_a_review_since_it_began(review):
    with pytest.raises(domain.RuleBroken) as exc:
        domain.check_can_end(statutory=True, ended_on=date(2027, 3, 1), review=review, **END)
    assert exc.value.field == "review_cycle_id"


def test_statutory_provision_ends_after_a_review():
    domain.check_can_end(statutory=True, ended_on=date(2027, 3, 1),
                         review=(domain.REVIEWED, date(2027, 2, 26)), **END)


def test_cannot_end_twice_or_outside_its_dates():
    with pytest.raises(errors.Conflict) as exc:
        domain.check_can_end(statutory=False, ended_on=date(2027, 3, 1),
                             **{**END, "status": domain.ENDED})
    assert exc.value.field is None  # a conflict, not a bad field
    for day in (date(2027, 1, 1), date(2027, 7, 19)):
        with pytest.raises(domain.RuleBroken) as exc:
            domain.check_can_end(statutory=False, ended_on=day, **END)
        assert exc.value.field == "ended_on"


def test_review_must_follow_the_start():
    with pytest.raises(domain.RuleBroken):
        domain.check_review_date(date(2027, 3, 1), date(2027, 3, 1))
    domain.check_review_date(date(2027, 3, 1), date(2027, 3, 2))


def test_score_gain_reading_age_in_months():
    # Reading age 84 months at baseline, 96 expected, 90 now: gain 6, 50% of expected.
    assert domain.score_gain(D("84"), D("90"), D("96")) == (D("6"), D("50.0"))
    assert domain.score_gain(D("84"), D("90")) == (D("6"), None)
    assert domain.score_gain(D("84"), None, D("96")) == (None, None)


def test_progress_levels_and_met():
    assert domain.LEVELS == ("not_yet_started", "working_towards", "partially_met", "met",
                             "exceeded")
    assert [domain.is_met(domain.LEVEL_RANK[x]) for x in domain.LEVELS] + [
        domain.is_met(None)] == [False] * 3 + [True] * 2 + [False]
    # the old -2..2 scale still reads: 1 met, 2 exceeded, anything else working towards
    assert [domain.LEGACY_PROGRESS[p] for p in (-2, -1, 0, 1, 2)] == [
        "working_towards"] * 3 + ["met", "exceeded"]


@pytest.mark.parametrize("level,score,ok", [
    ("met", "90", True), ("met", "89.5", False), ("exceeded", "90", False),
    ("exceeded", "91", True), ("partially_met", "90", False), ("partially_met", "88", True),
    ("not_yet_started", None, True),
])
def test_level_is_checked_against_the_score(level, score, ok):
    # SEND Code of Practice 6.66-6.71: the review evaluates the impact against the outcome
    # sought; a reading age of 84 months at baseline, 90 the target
    check = lambda: domain.check_level_against_score(level, score, D("90"), D("84"))  # noqa: E731
    if ok:
        check()
    else:
        with pytest.raises(domain.RuleBroken) as exc:
            check()
        assert exc.value.field == "level" and "target of 90" in str(exc.value)


def test_lower_is_better_when_the_target_is_below_the_baseline():
    # incidents a week: baseline 10, target 3
    domain.check_level_against_score("met", D("3"), D("3"), D("10"))
    with pytest.raises(domain.RuleBroken):
        domain.check_level_against_score("met", D("4"), D("3"), D("10"))
    domain.check_level_against_score("exceeded", D("1"), D("3"), D("10"))


def test_csv_has_a_header_and_defuses_formulas():
    text = domain.to_csv([{"name": "=HYPERLINK(1)", "n": 3, "x": None, "p": "-0.50"}],
                         ["name", "n", "x", "p"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "n", "x", "p"], ["'=HYPERLINK(1)", "3", "", "-0.50"]]


def test_impact_row_from_counts():
    row = domain.impact_row(("X",), pupils=4, targets=6, reviewed=5, met=2, progress_sum=3,
                            cost=D("500"))
    assert row.share_met == D("0.4") and row.average_progress == D("0.6")
    assert row.cost_per_pupil == 125 and row.cost_per_target_met == 250
    empty = domain.impact_row(("Y",), pupils=0, targets=0, reviewed=0, met=0, progress_sum=0,
                              cost=D("0"))
    assert (empty.share_met, empty.average_progress, empty.cost_per_pupil,
            empty.cost_per_target_met) == (None, None, None, None)
