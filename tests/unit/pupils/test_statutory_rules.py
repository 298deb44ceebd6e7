"""Statutory rules as the law writes them, each test naming its source, with the edge
days: Children and Families Act 2014 (CFA) s.44, the SEND Regulations 2014
(SI 2014/1530), DfE's UPN guidance and school census guidance."""

from datetime import date
from types import SimpleNamespace

import pytest
from stdnum.gb.upn import calc_check_digit

from services.contracts import names
from services.contracts.sen import la_numbers, validate_upn
from services.pupils import domain


def upn_for(la, serial="001"):
    body = f"{la}1234{26}{serial}"
    return calc_check_digit(body) + body


def plan(**kw):
    base = {"id": "plan-1", "request_date": date(2026, 1, 5), "decision_to_assess_on": None,
            "assessment_refused": False, "decision_to_issue_on": None, "issue_refused": False,
            "issued_on": None, "last_review_on": None, "phase_transfer_year": None,
            "phase_transfer_amended_on": None, "phase_transfer_kind": None,
            "phase_transfer_on": None, "draft_plan_sent_on": None, "draft_comments_on": None,
            "review_decision": None, "review_decision_on": None, "amendment_notice_on": None,
            "amended_plan_issued_on": None}
    base.update(kw)
    return SimpleNamespace(**base)


def issued(on, **kw):
    """A plan whose assessment steps were all done on time, issued `on`."""
    return plan(request_date=date(on.year - 1, 1, 5), decision_to_assess_on=date(on.year - 1, 2, 1),
                decision_to_issue_on=date(on.year - 1, 4, 1), issued_on=on, **kw)


# -- UPNs: DfE's LA numbers, our data file ---------------------------------------------

@pytest.mark.parametrize("la", ["838", "839", "940", "941", "942", "943"])
def test_upns_of_authorities_created_since_2019_are_valid(la):
    # DfE LA numbers (GIAS): Dorset 838 and BCP 839 (2019), North and West
    # Northamptonshire 940/941 (2021), Cumberland 942 and Westmorland and Furness 943 (2023)
    assert validate_upn(upn_for(la)) == upn_for(la)
    assert la in la_numbers()


@pytest.mark.parametrize("la", ["835", "836", "837", "909", "928", "820", "875"])
def test_former_authorities_stay_valid_on_older_pupils_upns(la):
    # DfE UPN guidance: a UPN is kept for life, so abolished LAs' numbers still appear
    assert validate_upn(upn_for(la))


def test_unknown_la_number_and_bad_check_letter_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="000 is not a DfE local authority number"):
        validate_upn(upn_for("000"))
    good = upn_for("942")
    wrong = ("A" if good[0] != "A" else "B") + good[1:]
    with pytest.raises(ValueError, match="check letter"):  # stdnum's algorithm
        validate_upn(wrong)
    assert validate_upn("B801200005001") == "B801200005001"  # stdnum's own example


def test_the_la_file_names_its_source_and_date():
    import json

    from services.contracts.sen import LA_NUMBERS_FILE
    doc = json.loads(LA_NUMBERS_FILE.read_text())
    assert "Department for Education" in doc["source"] and doc["as_of"]
    assert {r["la"] for r in doc["former"]} >= {"835", "836", "837", "909", "928"}


# -- annual review: CFA 2014 s.44(1) ---------------------------------------------------

def test_annual_review_last_lawful_day_is_the_day_before_the_anniversary():
    # s.44(1): "in the period of 12 months starting with" the date the plan was made
    d = domain.plan_deadlines(plan(issued_on=date(2026, 3, 10)), [])
    assert d["annual_review"]["due"] == date(2027, 3, 9)
    assert d["annual_review"]["due"] != date(2027, 3, 10)  # the anniversary is too late
    # ... or last reviewed
    d = domain.plan_deadlines(plan(issued_on=date(2025, 3, 10),
                                   last_review_on=date(2026, 1, 1)), [])
    assert d["annual_review"]["due"] == date(2026, 12, 31)
    # made on 29 February: no anniversary; the period ends with the last day of February
    assert domain.annual_review_last_day(date(2024, 2, 29)) == date(2025, 2, 28)


def test_overdue_list_counts_the_anniversary_itself_as_late():
    # s.44(1): on the anniversary the review is one day late
    p = issued(date(2025, 6, 1))
    assert domain.overdue_deadlines(p, [], date(2026, 5, 31)) == []
    assert ("annual_review", date(2026, 5, 31)) in domain.overdue_deadlines(
        p, [], date(2026, 6, 1))


# -- phase transfers: SEND Regulations 2014 reg. 18 ------------------------------------

def test_phase_transfer_between_phases_before_15_february():
    # reg. 18(1)(a): reviewed and amended *before* 15 February of the year of transfer
    d = domain.plan_deadlines(plan(issued_on=date(2025, 5, 1), phase_transfer_year=2027,
                                   phase_transfer_kind="between_phases"), [])
    assert d["phase_transfer"]["due"] == date(2027, 2, 14)  # the day before 15 February


def test_secondary_to_post16_before_31_march():
    # reg. 18(1)(b): from secondary school to a post-16 institution, *before* 31 March
    d = domain.plan_deadlines(plan(issued_on=date(2025, 5, 1), phase_transfer_year=2027,
                                   phase_transfer_kind="secondary_to_post16"), [])
    assert d["phase_transfer"]["due"] == date(2027, 3, 30)  # the day before 31 March
    # so a post-16 mover is not overdue in late February
    p = issued(date(2025, 5, 1), phase_transfer_year=2027,
               phase_transfer_kind="secondary_to_post16", last_review_on=date(2026, 4, 1),
             review_decision="keep", review_decision_on=date(2026, 4, 20))
    assert domain.overdue_deadlines(p, [], date(2027, 2, 20)) == []
    assert domain.overdue_deadlines(p, [], date(2027, 3, 31)) == [
        ("phase_transfer", date(2027, 3, 30))]


def test_between_post16_institutions_five_months_before():
    # reg. 18(2): a move between post-16 institutions: at least 5 months before it
    d = domain.plan_deadlines(plan(issued_on=date(2025, 5, 1),
                                   phase_transfer_kind="between_post16",
                                   phase_transfer_on=date(2027, 9, 6)), [])
    assert d["phase_transfer"]["due"] == date(2027, 4, 6)
    assert domain.phase_transfer_last_day("between_post16", None, date(2027, 7, 31)) == \
        date(2027, 2, 28)  # no 31 February: the month's last day
    errors = domain.plan_record_errors(plan(phase_transfer_kind="between_post16"))
    assert "reg. 18(2)" in errors["phase_transfer_on"][0]


def test_phase_transfer_kind_defaults_to_between_phases_for_old_records():
    # rows before the kind existed (migrated as reg. 18(1)(a))
    d = domain.plan_deadlines(plan(issued_on=date(2025, 5, 1), phase_transfer_year=2028), [])
    assert d["phase_transfer"]["due"] == date(2028, 2, 14)


# -- pausing the 20 weeks: reg. 5(4), 10(4), 13(3) ---------------------------------------

REQ = date(2026, 1, 5)


def test_a_28_day_school_closure_pauses_a_27_day_one_does_not():
    # reg. 5(4)(a), 10(4)(a), 13(3)(a): closed for a continuous period of at least 4 weeks
    assert domain.pause_errors("school_closure", date(2026, 3, 27), date(2026, 4, 24),
                               request_date=REQ) == {}  # 28 days
    errors = domain.pause_errors("school_closure", date(2026, 3, 27), date(2026, 4, 23),
                                 request_date=REQ)  # 27 days
    assert "at least 4 weeks" in errors["ends_on"][0] and "27 days" in errors["ends_on"][0]
    ten = domain.pause_errors("school_closure", date(2026, 2, 16), date(2026, 2, 26),
                              request_date=REQ)  # a 10-day half term is not one
    assert "13(3)" in ten["ends_on"][0]


def test_absence_from_the_area_needs_four_weeks():
    # reg. 5(4)(c), 10(4)(c), 13(3)(c): absent from the area for at least 4 weeks
    assert domain.pause_errors("absent_from_area", date(2026, 2, 1), date(2026, 3, 1),
                               request_date=REQ) == {}
    assert "ends_on" in domain.pause_errors("absent_from_area", date(2026, 2, 1),
                                            date(2026, 2, 28), request_date=REQ)


def test_exceptional_personal_circumstances_pause_for_as_long_as_they_last():
    # reg. 5(4)(b), 10(4)(b), 13(3)(b)
    assert domain.pause_errors("exceptional_personal_circumstances", date(2026, 2, 1),
                               date(2026, 2, 8), request_date=REQ) == {}


def test_a_missed_appointment_does_not_pause_the_20_weeks():
    # a missed appointment excuses only other bodies' 6-week advice deadline (reg. 8;
    # SEND Code of Practice 9.43), not the LA's 20 weeks (reg. 13(3) lists no such thing)
    errors = domain.pause_errors("missed_appointment", date(2026, 2, 1), None,
                                 request_date=REQ)
    assert "reg. 5(4), 10(4) and 13(3)" in errors["reason"][0]
    other = domain.pause_errors("holiday", date(2026, 2, 1), None, request_date=REQ)
    assert "Not a lawful exception" in other["reason"][0]


def test_no_pause_after_the_final_plan_is_issued():
    # reg. 13(2): once the final plan is issued there is no 20-week clock to pause
    errors = domain.pause_errors("exceptional_personal_circumstances", date(2026, 6, 1), None,
                                 request_date=REQ, issued_on=date(2026, 5, 20))
    assert "13(2)" in errors["starts_on"][0]


# -- after the annual review: reg. 20(10), 22, 13(1) ------------------------------------

def test_decision_after_review_within_4_weeks_of_the_meeting():
    # reg. 20(10): the LA decides (keep, amend, cease) within 4 weeks of the meeting
    p = issued(date(2025, 3, 2), last_review_on=date(2026, 2, 20))
    d = domain.plan_deadlines(p, [])
    assert d["review_decision"] == {"due": date(2026, 3, 20), "done_on": None}
    assert domain.overdue_deadlines(p, [], date(2026, 3, 20)) == []
    assert domain.overdue_deadlines(p, [], date(2026, 3, 21)) == [
        ("review_decision", date(2026, 3, 20))]
    # last year's decision does not count for this year's review
    p.review_decision, p.review_decision_on = "keep", date(2025, 1, 1)
    assert domain.plan_deadlines(p, [])["review_decision"]["done_on"] is None


def test_amended_plan_within_8_weeks_of_the_amendment_notice():
    # reg. 22(5): the final amended plan within 8 weeks of the amendment notice
    p = plan(issued_on=date(2025, 3, 2), last_review_on=date(2026, 2, 20),
             review_decision="amend", review_decision_on=date(2026, 3, 6),
             amendment_notice_on=date(2026, 3, 9))
    d = domain.plan_deadlines(p, [])
    assert d["review_decision"]["done_on"] == date(2026, 3, 6)
    assert d["amended_plan"] == {"due": date(2026, 5, 4), "done_on": None}  # a bank holiday
    p.amended_plan_issued_on = date(2026, 4, 30)
    assert domain.plan_deadlines(p, [])["amended_plan"]["done_on"] == date(2026, 4, 30)
    # keep: no amended plan to issue
    p.review_decision = "keep"
    assert "amended_plan" not in domain.plan_deadlines(p, [])


def test_a_draft_plan_gives_15_days_for_comments():
    # reg. 13(1)(b): at least 15 days to make representations on the draft
    p = plan(decision_to_assess_on=date(2026, 2, 10), decision_to_issue_on=date(2026, 4, 1),
             draft_plan_sent_on=date(2026, 4, 6))
    d = domain.plan_deadlines(p, [])
    assert d["draft_comments"] == {"due": date(2026, 4, 21), "done_on": None}
    p.draft_comments_on = date(2026, 4, 20)
    assert domain.plan_deadlines(p, [])["draft_comments"]["done_on"] == date(2026, 4, 20)


def test_post_review_deadlines_are_reminded_as_deadline_at_risk():
    # reg. 20(10) in the daily reminders, like the 6/16/20 weeks
    p = plan(issued_on=date(2025, 3, 2), last_review_on=date(2026, 2, 20))
    out = domain.due_reminders([(p, [], "pupil-1", "org-1")], date(2026, 3, 16),
                               lead_working_days=5, working_days=domain.WorkingDays())
    [r] = [r for r in out if r.deadline == "review_decision"]
    assert r.event_type == "ehcp.deadline_at_risk" and r.due_date == date(2026, 3, 20)
    from services.contracts import parse_event  # the catalogue accepts the new deadline
    from services.contracts.envelope import make_event
    parse_event(make_event(r.event_type, r.event_data(), org_id="org-1", actor="t"))


# -- census: year group from date of birth -----------------------------------------------

def pupil(**kw):
    base = {"upn": upn_for("942"), "sen_status": "N", "primary_need": None,
            "secondary_need": None, "year_group": 6, "date_of_birth": date(2015, 3, 1),
            "nc_not_followed": False}
    base.update(kw)
    return SimpleNamespace(**base)


def test_year_group_expected_from_age_on_31_august():
    # DfE school census guidance: NC year by age on 31 August before the academic year
    census = date(2027, 1, 21)  # academic year 2026/27
    assert domain.expected_year_group(date(2015, 8, 31), census) == 7  # 11 on 31 Aug 2026
    assert domain.expected_year_group(date(2015, 9, 1), census) == 6   # 10 on 31 Aug 2026
    assert domain.expected_year_group(date(2022, 5, 1), census) == 0   # Reception
    issues = domain.census_issues(pupil(date_of_birth=date(2015, 9, 1)), has_issued_plan=False,
                                  census_date=census)
    assert issues == []
    [w] = domain.census_issues(pupil(date_of_birth=date(2015, 8, 31)), has_issued_plan=False,
                               census_date=census)
    assert (w["rule"], w["severity"]) == ("year_group_not_expected", "warning")
    assert "Year 6" in w["detail"] and "Year 7" in w["detail"]


def test_nc_year_x_is_not_a_missing_year_group():
    # school census: NC year actual "X" = National Curriculum not followed
    assert domain.census_issues(pupil(year_group=None, nc_not_followed=True),
                                has_issued_plan=False, census_date=date(2027, 1, 21)) == []
    [e] = domain.census_issues(pupil(year_group=None), has_issued_plan=False)
    assert e["rule"] == "year_group_missing" and e["severity"] == "error"


# -- names, not codes ----------------------------------------------------------------------

def test_names_table_gives_census_names_and_words():
    # DfE school census SEN type names
    assert names.label("ASD") == "Autistic Spectrum Disorder"
    assert names.label("SLCN") == "Speech, Language and Communication Needs"
    assert names.label("continued_sen_support") == "continued SEN support"
    assert names.label("K") == "SEN Support" and names.label("E") == "EHC Plan"
    assert names.label("communication_and_interaction") == "Communication and interaction"
    assert names.label("brand_new_code") == "brand new code"
    from services.contracts.sen import AREAS_OF_NEED, NEED_TYPES
    assert set(names.NEED_TYPE_NAMES) == set(NEED_TYPES)
    assert set(names.AREA_OF_NEED_NAMES) == set(AREAS_OF_NEED)
    from services.referrals.domain import DECLINE_REASONS, OUTCOMES, STATUSES
    assert set(names.REFERRAL_STATUS_NAMES) == set(STATUSES)
    assert set(names.REFERRAL_OUTCOME_NAMES) == set(OUTCOMES)
    assert set(names.DECLINE_REASON_NAMES) == set(DECLINE_REASONS)
    from services.contracts.events.pupils import EHCP_DEADLINES
    assert set(names.EHC_DEADLINE_NAMES) == set(EHCP_DEADLINES)
    assert set(names.EHC_PAUSE_NAMES) == set(domain.LAWFUL_PAUSES)
    assert set(names.PHASE_TRANSFER_NAMES) == set(domain.PHASE_TRANSFER_KINDS)
