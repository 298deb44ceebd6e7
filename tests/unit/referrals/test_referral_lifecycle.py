"""The referral state machine, terms, working-day clocks, triage criteria, the hours
ledger, capacity and scoping: plain rules, no I/O."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from services.common import errors
from services.referrals import domain, payloads

LEGAL = {
    ("submit", "draft"): "submitted",
    ("submit", "info_requested"): "submitted",
    ("request_info", "submitted"): "info_requested",
    ("accept", "submitted"): "accepted",
    ("decline", "submitted"): "declined",
    ("decline", "info_requested"): "declined",
    ("allocate", "accepted"): "allocated",
    ("log_visit", "allocated"): "in_progress",
    ("log_visit", "in_progress"): "in_progress",
    ("issue_report", "in_progress"): "report_issued",
    ("close", "report_issued"): "closed",
    ("withdraw", "draft"): "withdrawn",
    ("withdraw", "submitted"): "withdrawn",
    ("withdraw", "info_requested"): "withdrawn",
}
ILLEGAL = [(a, s) for a in domain.TRANSITIONS for s in domain.STATUSES if (a, s) not in LEGAL]


@pytest.mark.parametrize(("action", "status"), sorted(LEGAL))
def test_every_legal_transition(action, status):
    assert domain.target(action, status) == LEGAL[(action, status)]
    assert action in domain.allowed_actions(status)


@pytest.mark.parametrize(("action", "status"), ILLEGAL)
def test_every_illegal_transition_is_refused(action, status):
    with pytest.raises(errors.Conflict) as exc:
        domain.target(action, status)
    assert status in str(exc.value)
    assert action not in domain.allowed_actions(status)


def test_terminal_states_allow_nothing():
    for status in ("declined", "closed", "withdrawn"):
        assert domain.allowed_actions(status) == []


def test_each_transition_emits_its_event():
    assert {domain.event_of(a) for a in domain.TRANSITIONS} == {
        "referral.submitted", "referral.info_requested", "referral.accepted",
        "referral.declined", "referral.allocated", "referral.visit_logged",
        "referral.report_issued", "referral.closed", "referral.withdrawn"}


def test_who_may_do_what():
    assert domain.may("submit", {"partner_referrer"})
    assert not domain.may("accept", {"partner_referrer"})
    assert domain.may("accept", {"outreach_lead"}) and domain.may("accept", {"trust_admin"})
    assert not domain.may("accept", {"outreach"})
    assert domain.may("log_visit", {"outreach"}) and domain.may("issue_report", {"outreach"})
    assert not domain.may("close", {"outreach"})
    assert not any(domain.may(a, {"auditor"}) for a in domain.TRANSITIONS)
    assert not domain.may("withdraw", {"trust_admin"})


def test_scopes():
    r = SimpleNamespace(school_org_id="school-a", practitioner_sub="pat")
    scope = domain.scope_of
    assert domain.visible(scope({"partner_referrer"}, "school-a", "jo", False), r)
    assert not domain.visible(scope({"partner_referrer"}, "school-b", "jo", False), r)
    assert domain.visible(scope({"outreach"}, "trust", "pat", True), r)
    assert not domain.visible(scope({"outreach"}, "trust", "kim", True), r)
    for role in ("trust_admin", "outreach_lead", "auditor"):
        assert domain.visible(scope({role}, "trust", "x", True), r)
    # Not at the trust: the same role sees its own organisation's alone (issue 11).
    for role in ("trust_admin", "outreach_lead", "auditor"):
        assert not domain.visible(scope({role}, "school-b", "x", False), r)
    assert not domain.visible(scope({"teacher"}, "school-b", "jo", False), r)


def test_partial_edit_touches_only_the_fields_sent():
    assert domain.referral_fields({"pupil": {"upn": "B801200005001"}}) == {
        "pupil_upn": "B801200005001"}
    fields = domain.referral_fields({"graduated_approach": [
        {"started_on": date(2026, 9, 7), "provision": "Social stories"}]})
    assert fields["graduated_approach"][0]["started_on"] == "2026-09-07"


# -- terms and working days ---------------------------------------------------------

def test_terms():
    assert domain.term_of(date(2026, 9, 1)) == ("2026/27", "autumn")
    assert domain.term_of(date(2026, 12, 31)) == ("2026/27", "autumn")
    assert domain.term_of(date(2027, 1, 1)) == ("2026/27", "spring")
    assert domain.term_dates("2026/27", "spring") == (date(2027, 1, 1), date(2027, 3, 28))
    assert domain.term_of(date(2027, 3, 28)) == ("2026/27", "spring")  # Easter Sunday
    assert domain.term_of(date(2027, 3, 29)) == ("2026/27", "summer")
    assert domain.term_of(date(2027, 8, 31)) == ("2026/27", "summer")
    assert domain.academic_year_of(date(2027, 8, 31)) == "2026/27"
    with pytest.raises(ValueError):
        domain.term_dates("2026/27", "winter")


def test_working_days_skip_weekends():
    # Friday 20 November 2026 + 1 working day = Monday 23rd
    assert domain.add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 23)
    assert domain.add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)


def test_working_days_skip_england_bank_holidays():
    # Thu 24 Dec 2026: Christmas (Fri), weekend, Boxing Day observed (Mon 28th)
    assert domain.add_working_days(date(2026, 12, 24), 2) == date(2026, 12, 30)
    # Easter 2027: Good Friday 26 March, Easter Monday 29 March
    assert domain.add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)
    assert not domain.is_working_day(date(2026, 8, 31))  # late summer bank holiday


def referral(status="submitted", submitted=datetime(2026, 12, 23, 10, tzinfo=UTC),
             first=None, acknowledged=None, **kw):
    return SimpleNamespace(status=status, submitted_at=submitted,
                           first_submitted_at=first or submitted,
                           acknowledged_at=acknowledged, **kw)


def test_clocks_with_a_bank_holiday_inside_the_window():
    r = referral()  # Wed 23 Dec 2026
    due = domain.clock_due_dates(r, acknowledge_days=2, triage_days=5)
    # 24th (1), [25 hol, 26-27 weekend, 28 hol], 29th (2), 30 (3), 31 (4), [1 Jan hol], 4 Jan (5)
    assert due == {"acknowledge": date(2026, 12, 29), "triage": date(2027, 1, 4)}
    assert domain.breaches(r, date(2026, 12, 29), 2, 5) == []
    assert domain.breaches(r, date(2026, 12, 30), 2, 5) == [
        domain.Breach("acknowledge", date(2026, 12, 29))]
    assert [b.clock for b in domain.breaches(r, date(2027, 1, 5), 2, 5)] == [
        "acknowledge", "triage"]


def test_clocks_use_the_date_in_england():
    # 23:30 UTC on 31 May 2026 is already 1 June in London (BST)
    r = referral(submitted=datetime(2026, 5, 31, 23, 30, tzinfo=UTC))
    assert domain.clock_due_dates(r, 1, 1)["acknowledge"] == date(2026, 6, 2)


def test_acknowledgement_stops_its_clock_and_info_request_pauses_triage():
    ack = referral(acknowledged=datetime(2026, 12, 23, 11, tzinfo=UTC))
    assert domain.clock_due_dates(ack, 2, 5) == {"triage": date(2027, 1, 4)}
    waiting = referral(status="info_requested", acknowledged=ack.acknowledged_at)
    assert domain.clock_due_dates(waiting, 2, 5) == {}
    # resubmission restarts the triage clock from the new submission date
    resub = referral(submitted=datetime(2027, 1, 11, 9, tzinfo=UTC),
                     first=datetime(2026, 12, 23, 10, tzinfo=UTC),
                     acknowledged=ack.acknowledged_at)
    assert domain.clock_due_dates(resub, 2, 5) == {"triage": date(2027, 1, 18)}
    for status in ("draft", "withdrawn"):
        assert domain.clock_due_dates(referral(status=status), 2, 5) == {}
    assert domain.clock_due_dates(referral(status="accepted",
                                           acknowledged=ack.acknowledged_at), 2, 5) == {}


# -- triage criteria ----------------------------------------------------------------

def agreement(**kw):
    values = {"min_cycles": 2, "consent_required": True, "upn_required": False}
    values.update(kw)
    return SimpleNamespace(**values)


CYCLE = {"started_on": "2026-09-07", "reviewed_on": "2026-10-12", "provision": "Visual timetable",
         "outcome": "Some progress"}


def test_triage_lists_the_unmet_criteria():
    r = SimpleNamespace(graduated_approach=[CYCLE, {**CYCLE, "reviewed_on": None}],
                        consent_given=False, pupil_upn=None)
    unmet = domain.unmet(domain.triage(r, agreement(upn_required=True)))
    assert set(unmet) == {"graduated_approach_cycles", "parental_consent", "pupil_upn"}
    assert "1 reviewed" in unmet["graduated_approach_cycles"][0]


def test_triage_passes_when_the_criteria_are_met():
    r = SimpleNamespace(graduated_approach=[CYCLE, CYCLE], consent_given=True, pupil_upn=None)
    criteria = domain.triage(r, agreement())
    assert all(c.met for c in criteria) and domain.unmet(criteria) == {}
    assert "pupil_upn" not in {c.name for c in criteria}  # not required by this agreement
    lax = SimpleNamespace(graduated_approach=[], consent_given=False, pupil_upn=None)
    assert domain.unmet(domain.triage(lax, agreement(min_cycles=0,
                                                     consent_required=False))) == {}


def test_triage_without_an_agreement():
    r = SimpleNamespace(graduated_approach=[CYCLE, CYCLE], consent_given=True, pupil_upn=None)
    assert set(domain.unmet(domain.triage(r, None))) == {"agreement"}


# -- hours ledger and capacity ----------------------------------------------------

def test_visits_within_the_hours_left_need_no_override():
    assert domain.check_visit_minutes(60, 600, 540, False, {"outreach"}) is False


def test_beyond_the_hours_left_needs_a_trust_admin_override():
    with pytest.raises(errors.Conflict) as exc:
        domain.check_visit_minutes(61, 600, 540, False, {"outreach"})
    assert "minutes" in exc.value.errors and "60 minutes left" in exc.value.detail
    with pytest.raises(errors.NotAllowed):
        domain.check_visit_minutes(61, 600, 540, True, {"outreach", "outreach_lead"})
    assert domain.check_visit_minutes(61, 600, 540, True, {"trust_admin"}) is True


def test_statement_running_balance():
    out = domain.statement(180, [(date(2026, 10, 1), "REF-A", 90, False),
                                 (date(2026, 10, 8), "REF-B", 60, False),
                                 (date(2026, 10, 9), "REF-A", 60, True)])
    assert out["minutes_used"] == 210 and out["minutes_left"] == -30
    assert [line["balance_minutes"] for line in out["lines"]] == [90, 30, -30]
    assert out["lines"][2]["override"] is True


def test_capacity():
    assert domain.has_place(None, 99)
    assert domain.has_place(2, 1) and not domain.has_place(2, 2)
    assert domain.places_to_grant(2, 1, 5) == 1
    assert domain.places_to_grant(2, 2, 5) == 0
    assert domain.places_to_grant(3, 0, 2) == 2
    assert domain.places_to_grant(None, 10, 4) == 4
    assert domain.places_to_grant(1, 3, 4) == 0  # cap lowered below what is held


def test_closed_event_carries_recommended_courses():
    r = SimpleNamespace(id="r", reference="REF", school_org_id="s", contact_name="Jo",
                        contact_email="jo@x.example", outcome="needs_met_in_school",
                        areas_of_need=["communication_and_interaction"],
                        recommendations=[{"text": "Train staff", "course_id": "c-1",
                                          "provision": None},
                                         {"text": "Use a sensory circuit", "course_id": None,
                                          "provision": "Sensory circuit"}])
    data = payloads.closed(r)
    assert data["recommended_course_ids"] == ["c-1"]
    assert data["recommended_provision"] == ["Sensory circuit"]
