"""The pupils service's rules as plain functions: SEN register, census readiness,
the EHC statutory clock and its reminders (fixed dates, England bank holidays),
and the parsing of MIS CSV rows."""

from datetime import date
from types import SimpleNamespace

import pytest

from services.pupils import domain

# -- SEN register ---------------------------------------------------------------------

@pytest.mark.parametrize("status,primary,secondary,fields", [
    ("K", "ASD", None, set()),
    ("K", "NSA", None, set()),
    ("E", "SEMH", "SLCN", set()),
    ("N", None, None, set()),
    ("E", None, None, {"primary_need"}),
    ("K", None, None, {"primary_need"}),
    ("E", "NSA", None, {"primary_need"}),
    ("N", "NSA", None, {"primary_need"}),
    ("K", "ASD", "NSA", {"secondary_need"}),
    ("E", "ASD", "NSA", {"secondary_need"}),
    ("N", "ASD", None, {"primary_need"}),
    ("N", None, "ASD", {"secondary_need"}),
    ("K", "ASD", "ASD", {"secondary_need"}),
    ("K", "NSA", "ASD", {"secondary_need"}),
])
def test_sen_rules(status, primary, secondary, fields):
    assert set(domain.sen_errors(status, primary, secondary)) == fields


def test_area_of_need_is_derived_from_the_ranked_codes():
    assert domain.areas_of_need("ASD", "SEMH") == ["communication_and_interaction",
                                                   "social_emotional_mental_health"]
    assert domain.areas_of_need("SPLD", "MLD") == ["cognition_and_learning"]
    assert domain.areas_of_need("NSA") == []
    assert domain.areas_of_need("HI") == ["sensory_and_physical"]
    assert set(domain.need_types_of_area("sensory_and_physical")) == {"HI", "VI", "MSI", "PD"}


def pupil(**kw):
    base = {"upn": "B801200005001", "sen_status": "K", "primary_need": "ASD",
            "secondary_need": None, "year_group": 5, "date_of_birth": date(2015, 3, 1)}
    base.update(kw)
    return SimpleNamespace(**base)


def rules(p, has_issued_plan=False):
    issues = domain.census_issues(p, has_issued_plan=has_issued_plan)
    return {(i["rule"], i["field"]) for i in issues}


def test_census_issues_name_each_rule_broken():
    assert rules(pupil()) == set()
    assert rules(pupil(primary_need=None)) == {("sen_need", "primary_need")}
    assert rules(pupil(sen_status="E"), has_issued_plan=False) == {("ehcp_missing", "sen_status")}
    assert rules(pupil(sen_status="E"), has_issued_plan=True) == set()
    assert rules(pupil(upn="M80120000500A")) == {("upn_temporary", "upn")}
    assert rules(pupil(upn="A801200005001")) == {("upn_invalid", "upn")}
    assert rules(pupil(year_group=None, sen_status="N", primary_need="NSA")) == {
        ("year_group_missing", "year_group"), ("sen_need", "primary_need")}


def test_census_dates_are_the_right_thursdays():
    assert domain.census_dates(2026) == [date(2026, 1, 15), date(2026, 5, 21),
                                         date(2026, 10, 1)]
    assert domain.census_dates(2027) == [date(2027, 1, 21), date(2027, 5, 20),
                                         date(2027, 10, 7)]
    assert domain.next_census_date(date(2026, 10, 2)) == date(2027, 1, 21)
    assert domain.next_census_date(date(2026, 10, 1)) == date(2026, 10, 1)


def test_erasure_keeps_sen_records_anonymised():
    assert domain.erasure_mode(sen_status="N", has_plan=False) == "erased"
    assert domain.erasure_mode(sen_status="K", has_plan=False) == "anonymised"
    assert domain.erasure_mode(sen_status="N", has_plan=True) == "anonymised"


# -- the statutory clock ----------------------------------------------------------------

def plan(**kw):
    base = {"id": "plan-1", "request_date": date(2026, 1, 5), "decision_to_assess_on": None,
            "assessment_refused": False, "decision_to_issue_on": None, "issue_refused": False,
            "issued_on": None, "last_review_on": None, "phase_transfer_year": None,
            "phase_transfer_amended_on": None}
    base.update(kw)
    return SimpleNamespace(**base)


def test_deadlines_are_calendar_weeks_from_the_request():
    d = domain.plan_deadlines(plan(), [])
    assert d["decision_to_assess"]["due"] == date(2026, 2, 16)  # 6 weeks
    assert d["decision_to_issue"]["due"] == date(2026, 4, 27)  # 16 weeks
    assert d["final_plan"]["due"] == date(2026, 5, 25)  # 20 weeks, a bank holiday: still due
    assert "annual_review" not in d


def test_lawful_pauses_push_the_clock_back():
    pauses = [domain.Pause(date(2026, 2, 1), date(2026, 2, 15))]  # 14 days before week 6
    d = domain.plan_deadlines(plan(), pauses)
    assert d["decision_to_assess"]["due"] == date(2026, 3, 2)
    assert d["final_plan"]["due"] == date(2026, 6, 8)
    late = [domain.Pause(date(2026, 4, 1), date(2026, 4, 8))]  # after week 6, before week 16
    d = domain.plan_deadlines(plan(), late)
    assert d["decision_to_assess"]["due"] == date(2026, 2, 16)
    assert d["decision_to_issue"]["due"] == date(2026, 5, 4)
    open_pause = [domain.Pause(date(2026, 2, 1), None)]
    assert domain.plan_deadlines(plan(), open_pause)["decision_to_assess"]["due"] is None


def test_refusal_ends_the_clock():
    d = domain.plan_deadlines(plan(decision_to_assess_on=date(2026, 2, 10),
                                   assessment_refused=True), [])
    assert set(d) == {"decision_to_assess"}


def test_annual_review_and_phase_transfer():
    # CFA 2014 s.44(1): within the 12 months starting with the day made; a plan made on
    # 29 February: the period ends with the last day of February
    d = domain.plan_deadlines(plan(issued_on=date(2024, 2, 29), phase_transfer_year=2027), [])
    assert d["annual_review"]["due"] == date(2025, 2, 28)
    # SEND Regulations 2014 reg. 18(1)(a): *before* 15 February -> 14 February
    assert d["phase_transfer"]["due"] == date(2027, 2, 14)
    d = domain.plan_deadlines(plan(issued_on=date(2024, 3, 1),
                                   last_review_on=date(2025, 2, 20)), [])
    assert d["annual_review"]["due"] == date(2026, 2, 19)  # s.44(1): day before anniversary


def test_working_days_skip_weekends_and_england_bank_holidays():
    wd = domain.WorkingDays()
    assert not wd.is_working_day(date(2026, 4, 3))  # Good Friday
    assert not wd.is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not wd.is_working_day(date(2026, 4, 4))  # Saturday
    assert wd.is_working_day(date(2026, 4, 7))
    # 3 working days before Tuesday 7 April 2026: Thu 2, Wed 1, Tue 31 March
    assert wd.subtract(date(2026, 4, 7), 3) == date(2026, 3, 31)
    # Scotland's 2 January is not an England holiday
    assert wd.is_working_day(date(2026, 1, 2))
    assert domain.WorkingDays(extra_holidays=[date(2026, 1, 2)]).subtract(
        date(2026, 1, 5), 1) == date(2025, 12, 31)


def reminders(p, today, lead=5, sent=frozenset(), pauses=()):
    return domain.due_reminders([(p, list(pauses), "pupil-1", "org-1")], today,
                                lead_working_days=lead, working_days=domain.WorkingDays(),
                                already_sent=sent)


def test_reminders_fire_within_the_lead_time_in_working_days():
    p = plan(request_date=date(2026, 2, 23))  # week 6: Mon 6 April 2026 (Easter Monday)
    due = date(2026, 4, 6)
    assert domain.plan_deadlines(p, [])["decision_to_assess"]["due"] == due
    # 5 working days before Mon 6 April (Easter): Thu 2, Wed 1, Tue 31, Mon 30, Fri 27 March
    assert reminders(p, date(2026, 3, 26)) == []
    [r] = reminders(p, date(2026, 3, 27))
    assert (r.deadline, r.due_date, r.event_type) == ("decision_to_assess", due,
                                                      "ehcp.deadline_at_risk")
    assert r.event_data() == {"pupil_id": "pupil-1", "org_id": "org-1", "plan_id": "plan-1",
                              "due_date": "2026-04-06", "deadline": "decision_to_assess"}
    # once per deadline
    assert reminders(p, date(2026, 3, 30), sent={("plan-1", "decision_to_assess", due)}) == []
    # done steps are not reminded; overdue undone steps are
    assert reminders(plan(request_date=date(2026, 2, 23),
                          decision_to_assess_on=date(2026, 3, 20)), date(2026, 3, 30)) == []
    assert [r.deadline for r in reminders(p, date(2026, 4, 10))] == ["decision_to_assess"]


def test_annual_review_reminder_is_review_due():
    p = plan(request_date=date(2024, 1, 8), decision_to_assess_on=date(2024, 2, 1),
             decision_to_issue_on=date(2024, 4, 1), issued_on=date(2024, 5, 20),
             last_review_on=date(2025, 5, 19), review_decision="keep",
             review_decision_on=date(2025, 6, 2))
    # CFA 2014 s.44(1): due the day before the anniversary, Mon 18 May 2026; 10 working
    # days before it (Mon 4 May is the early May bank holiday) is Fri 1 May
    assert reminders(p, date(2026, 4, 30), lead=10) == []
    [r] = reminders(p, date(2026, 5, 1), lead=10)
    assert r.event_type == "ehcp.review_due" and r.due_date == date(2026, 5, 18)
    assert "deadline" not in r.event_data()


# -- MIS CSV rows -------------------------------------------------------------------------

HEADER = ["UPN", "Legal Surname", "Forename", "DOB", "NC Year", "SEN Provision",
          "Primary Need", "Secondary Need"]
TODAY = date(2026, 11, 24)


def test_header_aliases_and_missing_columns():
    mapping = domain.map_header(HEADER)
    # every column but the optional registration group
    assert sorted(mapping.values()) == sorted(set(domain.IMPORT_COLUMNS) - {"registration_group"})
    with pytest.raises(ValueError, match="date_of_birth"):
        domain.map_header(["UPN", "Surname", "Forename", "Year Group", "SEN"])


def parse(*row):
    return domain.parse_import_row(list(row), domain.map_header(HEADER), TODAY)


def test_a_good_row_parses():
    data, errors = parse("B801200005001", "Taylor", "Sam", "01/03/2015", "Y5", "k", "asd", "")
    assert errors == []
    assert data == {"upn": "B801200005001", "legal_surname": "Taylor", "forename": "Sam",
                    "date_of_birth": date(2015, 3, 1), "year_group": 5, "sen_status": "K",
                    "primary_need": "ASD", "secondary_need": None, "nc_not_followed": False}
    assert parse("B801200005001", "T", "S", "2015-03-01", "R", "N", "", "")[0]["year_group"] == 0


@pytest.mark.parametrize("row,fields", [
    (("A801200005001", "T", "S", "2015-03-01", "5", "K", "ASD", ""), {"upn"}),
    (("B801200005001", "", "S", "2015-03-01", "5", "K", "ASD", ""), {"legal_surname"}),
    (("B801200005001", "T", "S", "31/02/2015", "5", "K", "ASD", ""), {"date_of_birth"}),
    (("B801200005001", "T", "S", "2030-01-01", "5", "K", "ASD", ""), {"date_of_birth"}),
    (("B801200005001", "T", "S", "2015-03-01", "Y17", "K", "ASD", ""), {"year_group"}),
    (("B801200005001", "T", "S", "2015-03-01", "5", "X", "", ""), {"sen_status"}),
    (("B801200005001", "T", "S", "2015-03-01", "5", "K", "ABC", ""), {"primary_need"}),
    (("B801200005001", "T", "S", "2015-03-01", "5", "E", "NSA", ""), {"primary_need"}),
    (("B801200005001", "T", "S", "2015-03-01", "5", "K", "", ""), {"primary_need"}),
    (("B801200005001", "T", "S", "2015-03-01", "5", "K", "ASD", "ASD"), {"secondary_need"}),
    (("", "", "", "", "", "", "", ""), {"upn", "legal_surname", "forename", "date_of_birth",
                                        "year_group", "sen_status"}),
])
def test_bad_rows_name_each_field(row, fields):
    _, errors = parse(*row)
    assert {f for f, _ in errors} == fields
