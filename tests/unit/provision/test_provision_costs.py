"""Cost arithmetic, checked by hand.

Calendar (domain.py): terms 1 Sep–31 Dec, 1 Jan–31 Mar, 1 Apr–31 Jul; school
days are weekdays in a term. Spring 2027 runs Fri 1 Jan – Wed 31 Mar 2027:
1 Jan (1 day) + 4 Jan–26 Mar (12 weeks, 60 days) + 29–31 Mar (3 days) = 64."""

from datetime import date
from decimal import Decimal as D

import pytest

from services.provision import domain
from services.provision.domain import CostInput, Membership


def test_weekdays_and_school_days():
    assert domain.weekdays(date(2026, 9, 7), date(2026, 9, 13)) == 5  # Mon–Sun
    assert domain.weekdays(date(2026, 9, 12), date(2026, 9, 13)) == 0  # a weekend
    assert domain.weekdays(date(2026, 9, 13), date(2026, 9, 12)) == 0  # empty range
    # Mon 31 Aug is holiday; Tue 1 – Fri 4 Sep are school days.
    assert domain.school_days(date(2026, 8, 31), date(2026, 9, 6)) == 4
    assert domain.school_days(date(2027, 1, 1), date(2027, 3, 31)) == 64
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
    # From Mon 12 to Fri 30 Jul: 15 school days = 3 weeks × 2 = 6 sessions × 22.50 = 135,
    # shared by A and B (C has left): 67.50 each.
    assert costs["A"].projected == D("52.5") + D("67.5")
    assert costs["B"].projected == D("120")
    assert costs["C"].projected == D("30")


def test_ended_early_stops_the_projection():
    a = group_per_hour()
    a.ended_on = date(2027, 7, 16)  # a Friday: one more week, 2 sessions = 45, 22.50 each
    costs = domain.assignment_costs(a, as_of=date(2027, 7, 9))
    assert costs["A"].projected == D("52.5") + D("22.5")


def test_projection_stops_at_the_end_of_the_academic_year():
    a = group_per_hour()
    a.end = date(2027, 12, 17)  # runs into next year: only to 31 Jul (August is holiday)
    costs = domain.assignment_costs(a, as_of=date(2027, 7, 9))
    assert costs["A"].projected == D("120")


def per_term(members, start=date(2027, 3, 1), end=date(2027, 3, 31)):
    """£640 a term for the group; spring 2027 has 64 school days → £10 a school day."""
    return CostInput(basis="per_term", amount=D("640"), session_minutes=30, start=start,
                     end=end, sessions_per_week=D("1"), members=members)


def test_part_term_costs_its_share_of_school_days():
    # 1–31 Mar 2027: 2–5... Mon 1 – Fri 26 Mar (20 days) + Mon 29 – Wed 31 (3) = 23 days.
    costs = domain.assignment_costs(per_term([Membership("A", date(2027, 3, 1))]),
                                    as_of=date(2027, 3, 31))
    assert costs["A"].to_date == D("230")
    assert costs["A"].projected == D("230")


def test_part_term_cost_to_date_and_projected():
    costs = domain.assignment_costs(per_term([Membership("A", date(2027, 3, 1))]),
                                    as_of=date(2027, 3, 12))  # Fri: 10 school days so far
    assert costs["A"].to_date == D("100")
    assert costs["A"].projected == D("230")


def test_per_term_group_cost_is_split_among_the_pupils_there_each_day():
    # A from 1 Mar; B joins Mon 15 Mar. 1–12 Mar: 10 days × £10 to A alone = 100;
    # 15–31 Mar: 13 days × £10 = 130, half each. A = 165, B = 65, the group 230.
    costs = domain.assignment_costs(per_term([Membership("A", date(2027, 3, 1)),
                                              Membership("B", date(2027, 3, 15))]),
                                    as_of=date(2027, 4, 30))
    assert costs["A"].to_date == D("165")
    assert costs["B"].to_date == D("65")
    assert sum(c.to_date for c in costs.values()) == D("230")


def test_per_term_over_two_terms_uses_each_terms_own_days():
    # Autumn 2026: Tue 1 Sep – Thu 31 Dec: 4 (1–4 Sep) + 16 weeks (7 Sep–25 Dec) × 5 = 80
    # + 28–31 Dec 4 = 88 days; 1–31 Dec: 23 days → 640 × 23/88. Jan 2027: 1 + 20 = 21 days
    # of 64 → 640 × 21/64 = 210.
    assert domain.school_days(date(2026, 9, 1), date(2026, 12, 31)) == 88
    costs = domain.assignment_costs(
        per_term([Membership("A", date(2026, 12, 1))], start=date(2026, 12, 1),
                 end=date(2027, 1, 29)), as_of=date(2027, 6, 1))
    assert costs["A"].to_date == D("640") * 23 / 88 + D("210")


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
    assert domain.group_cost_to_date(termly, None, date(2027, 6, 1)) == D("230")


def test_a_term_with_nobody_in_the_group_costs_nothing():
    gap = per_term([Membership("A", date(2027, 3, 1), date(2027, 3, 5)),
                    Membership("B", date(2027, 3, 22))])
    # A: Mon 1 – Fri 5 Mar (5 days); B: Mon 22 – Wed 31 Mar (8 days); 8–19 Mar nobody.
    costs = domain.assignment_costs(gap, as_of=date(2027, 4, 30))
    assert (costs["A"].to_date, costs["B"].to_date) == (D("50"), D("80"))


def test_provision_planned_to_start_later_costs_nothing_yet_but_is_projected():
    a = group_per_hour()
    a.delivered = {}
    costs = domain.assignment_costs(a, as_of=date(2027, 5, 28))  # a Friday before it starts
    # June 2027 (Tue 1 – Wed 30): 22 school days, all three pupils: 2 × 22/5 = 8.8 sessions
    # × 22.50 = 198, 66 each. 1–30 July: 22 school days, A and B (C left 30 Jun): 198, 99
    # each. A = 66 + 99 = 165; C = 66; the group 396 = 17.6 sessions × 22.50.
    assert costs["A"].to_date == 0
    assert costs["A"].projected == D("165") and costs["B"].projected == D("165")
    assert costs["C"].projected == D("66")
