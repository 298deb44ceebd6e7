"""Cost arithmetic, checked by hand.

Calendar: the platform's one calendar (services/contracts/school_calendar.py), the
local authority's pattern for 2026/27:
  autumn Wed 2 Sep – Fri 18 Dec 2026, half term 26–30 Oct, INSET 2 and 3 Sep:
    3 + 15 weeks × 5 = 78 weekdays − 5 half term − 2 INSET = 71 school days;
  spring Mon 4 Jan – Fri 19 Mar 2027, half term 15–19 Feb, INSET 4 Jan:
    11 weeks × 5 = 55 − 5 − 1 = 49;
  summer Mon 5 Apr – Wed 21 Jul 2027, half term 31 May – 4 Jun, bank holiday 3 May,
    INSET 5 Apr and 21 Jul: 15 weeks × 5 + 3 = 78 − 5 − 1 − 2 = 70;
  71 + 49 + 70 = 190 days, the statutory year (380 sessions)."""

from datetime import date
from decimal import Decimal as D

import pytest

from services.provision import domain
from services.provision.domain import CostInput, Membership


def test_weekdays_and_school_days():
    assert domain.weekdays(date(2026, 9, 7), date(2026, 9, 13)) == 5  # Mon–Sun
    assert domain.weekdays(date(2026, 9, 12), date(2026, 9, 13)) == 0  # a weekend
    assert domain.weekdays(date(2026, 9, 13), date(2026, 9, 12)) == 0  # empty range
    # Mon 31 Aug is holiday; term starts Wed 2 Sep with two INSET days: Fri 4 Sep only
    assert domain.school_days(date(2026, 8, 31), date(2026, 9, 6)) == 1
    assert domain.school_days(date(2027, 1, 1), date(2027, 3, 31)) == 49
    assert domain.school_days(date(2026, 9, 1), date(2027, 8, 31)) == 190
    # August: no term at all.
    assert domain.school_days(date(2027, 8, 1), date(2027, 8, 31)) == 0


def test_academic_year():
    assert domain.academic_year_start(date(2027, 3, 1)) == date(2026, 9, 1)
    assert domain.academic_year_end(date(2027, 3, 1)) == date(2027, 8, 31)
    assert domain.academic_year_end(date(2026, 9, 1)) == date(2027, 8, 31)


def test_planned_sessions_are_sessions_per_week_times_school_weeks():
    # Mon 7 – Fri 18 Sep 2026: 10 school days = 2 weeks, 3 a week → 6 sessions.
    assert domain.planned_sessions(3, date(2026, 9, 7), date(2026, 9, 18)) == 6
    # Half a week at 2 a week: Mon 7 – Wed 9 Sep → 2 × 3/5 = 1.2 sessions.
    assert domain.planned_sessions(2, date(2026, 9, 7), date(2026, 9, 9)) == D("1.2")


@pytest.mark.parametrize("basis,amount,minutes,rate,expected", [
    ("per_session", D("25"), 30, None, D("25")),
    ("per_hour", D("30"), 45, None, D("22.5")),      # £30 an hour × ¾ hour
    ("staff_rate", D("0"), 30, D("18"), D("9")),     # TA at £18 an hour × ½ hour
    ("per_term", D("640"), 30, None, None),
])
def test_session_cost(basis, amount, minutes, rate, expected):
    assert domain.session_cost(basis, amount, minutes, rate) == expected


def test_staff_rate_without_a_rate_names_the_role_field():
    with pytest.raises(domain.RuleBroken) as exc:
        domain.session_cost("staff_rate", D("0"), 30, None)
    assert exc.value.field == "delivered_by"


def group_per_hour():
    """£30 an hour, 45-minute sessions (£22.50 each), twice a week, group A, B, C;
    C left on 30 Jun 2027. Recorded: 4 sessions with all three on the register,
    2 with A and B only."""
    return CostInput(
        basis="per_hour", amount=D("30"), session_minutes=45,
        start=date(2027, 6, 1), end=date(2027, 7, 31), sessions_per_week=D("2"),
        members=[Membership("A", date(2027, 6, 1)), Membership("B", date(2027, 6, 1)),
                 Membership("C", date(2027, 6, 1), date(2027, 6, 30))],
        delivered={"A": {3: 4, 2: 2}, "B": {3: 4, 2: 2}, "C": {3: 4}})


def test_group_sessions_are_shared_across_the_register():
    costs = domain.assignment_costs(group_per_hour(), as_of=date(2027, 7, 9))
    # A: 4 × 22.50 / 3 + 2 × 22.50 / 2 = 30 + 22.50 = 52.50; C: 4 × 22.50 / 3 = 30.
    assert costs["A"].to_date == D("52.5")
    assert costs["B"].to_date == D("52.5")
    assert costs["C"].to_date == D("30")


def test_projection_to_the_end_of_the_year_shares_planned_sessions_among_current_pupils():
    costs = domain.assignment_costs(group_per_hour(), as_of=date(2027, 7, 9))  # a Friday
    # From Mon 12 Jul to the end of the summer term (Wed 21 Jul, an INSET day): 7 school
    # days → 2 × 7/5 = 2.8 sessions × 22.50 = 63, shared by A and B (C has left): 31.50.
    assert costs["A"].projected == D("52.5") + D("31.5")
    assert costs["B"].projected == D("84")
    assert costs["C"].projected == D("30")


def test_ended_early_stops_the_projection():
    a = group_per_hour()
    a.ended_on = date(2027, 7, 16)  # a Friday: one more week, 2 sessions = 45, 22.50 each
    costs = domain.assignment_costs(a, as_of=date(2027, 7, 9))
    assert costs["A"].projected == D("52.5") + D("22.5")


def test_projection_stops_at_the_end_of_the_academic_year():
    a = group_per_hour()
    a.end = date(2027, 12, 17)  # runs into next year: only to the end of the summer term
    costs = domain.assignment_costs(a, as_of=date(2027, 7, 9))
    assert costs["A"].projected == D("84")


def per_term(members, start=date(2027, 3, 1), end=date(2027, 3, 31)):
    """£490 a term for the group; spring 2027 has 49 school days → £10 a school day."""
    return CostInput(basis="per_term", amount=D("490"), session_minutes=30, start=start,
                     end=end, sessions_per_week=D("1"), members=members)


def test_part_term_costs_its_share_of_school_days():
    # 1–31 Mar 2027: the spring term ends Fri 19 Mar: Mon 1 – Fri 19 Mar = 15 days.
    costs = domain.assignment_costs(per_term([Membership("A", date(2027, 3, 1))]),
                                    as_of=date(2027, 3, 31))
    assert costs["A"].to_date == D("150")
    assert costs["A"].projected == D("150")


def test_part_term_cost_to_date_and_projected():
    costs = domain.assignment_costs(per_term([Membership("A", date(2027, 3, 1))]),
                                    as_of=date(2027, 3, 12))  # Fri: 10 school days so far
    assert costs["A"].to_date == D("100")
    assert costs["A"].projected == D("150")


def test_per_term_group_cost_is_split_among_the_pupils_there_each_day():
    # A from 1 Mar; B joins Mon 15 Mar. 1–12 Mar: 10 days × £10 to A alone = 100;
    # 15–19 Mar: 5 days × £10 = 50, half each. A = 125, B = 25, the group 150.
    costs = domain.assignment_costs(per_term([Membership("A", date(2027, 3, 1)),
                                              Membership("B", date(2027, 3, 15))]),
                                    as_of=date(2027, 4, 30))
    assert costs["A"].to_date == D("125")
    assert costs["B"].to_date == D("25")
    assert sum(c.to_date for c in costs.values()) == D("150")


def test_per_term_over_two_terms_uses_each_terms_own_days():
    # Autumn 2026: 71 days; 1–18 Dec: 4 + 5 + 5 = 14 days → 490 × 14/71. Jan 2027:
    # Mon 4 is INSET, 5–8 (4) + 3 weeks (15) = 19 days of 49 → 490 × 19/49 = 190.
    assert domain.school_days(date(2026, 9, 1), date(2026, 12, 31)) == 71
    costs = domain.assignment_costs(
        per_term([Membership("A", date(2026, 12, 1))], start=date(2026, 12, 1),
                 end=date(2027, 1, 29)), as_of=date(2027, 6, 1))
    assert costs["A"].to_date == D("490") * 14 / 71 + D("190")


def test_cost_summary_by_pupil_provision_tier_and_against_budget():
    pc = domain.PupilCost
    assignments = [
        domain.ReportAssignment("a1", "s1", "reading", "targeted",
                                {"A": pc(D("100"), D("150")), "B": pc(D("50"), D("75"))}, set()),
        domain.ReportAssignment("a2", "s1", "salt", "specialist",
                                {"A": pc(D("200"), D("400"))}, set()),
    ]
    s = domain.cost_summary(assignments, budget=D("1000"))
    assert s["per_pupil"]["A"] == pc(D("300"), D("550"))
    assert s["per_provision"]["reading"] == pc(D("150"), D("225"))
    assert s["per_tier"]["specialist"] == pc(D("200"), D("400"))
    assert s["per_org"] == {"s1": pc(D("350"), D("625"))}
    assert s["total"] == pc(D("350"), D("625"))
    assert s["remaining"] == D("375")


def test_money_rounds_half_up_to_pence():
    assert domain.money(D("10") / 3) == D("3.33")
    assert domain.money(D("0.125")) == D("0.13")


def test_group_cost_to_date_is_the_sum_of_the_pupils_shares():
    a = group_per_hour()
    # Six sessions delivered at £22.50, whoever attended: 135 = 52.50 + 52.50 + 30.
    assert domain.group_cost_to_date(a, 6, date(2027, 7, 9)) == D("135")
    shares = domain.assignment_costs(a, date(2027, 7, 9))
    assert sum(c.to_date for c in shares.values()) == D("135")
    termly = per_term([Membership("A", date(2027, 3, 1)), Membership("B", date(2027, 3, 15))])
    assert domain.group_cost_to_date(termly, None, date(2027, 3, 12)) == D("100")
    assert domain.group_cost_to_date(termly, None, date(2027, 6, 1)) == D("150")


def test_a_term_with_nobody_in_the_group_costs_nothing():
    gap = per_term([Membership("A", date(2027, 3, 1), date(2027, 3, 5)),
                    Membership("B", date(2027, 3, 15))])
    # A: Mon 1 – Fri 5 Mar (5 days); B: Mon 15 – Fri 19 Mar (5 days); 8–12 Mar nobody.
    costs = domain.assignment_costs(gap, as_of=date(2027, 4, 30))
    assert (costs["A"].to_date, costs["B"].to_date) == (D("50"), D("50"))


def test_provision_planned_to_start_later_costs_nothing_yet_but_is_projected():
    a = group_per_hour()
    a.delivered = {}
    costs = domain.assignment_costs(a, as_of=date(2027, 5, 28))  # a Friday before it starts
    # June 2027 (half term to Fri 4 Jun, then 7–30 Jun): 18 school days, all three pupils:
    # 2 × 18/5 = 7.2 sessions × 22.50 = 162, 54 each. 1–21 July (21 is INSET): 14 school
    # days, A and B (C left 30 Jun): 5.6 sessions = 126, 63 each. A = 54 + 63 = 117;
    # C = 54; the group 288 = 12.8 sessions × 22.50.
    assert costs["A"].to_date == 0
    assert costs["A"].projected == D("117") and costs["B"].projected == D("117")
    assert costs["C"].projected == D("54")
