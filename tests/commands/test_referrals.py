"""The referrals service's use cases (services/referrals/commands) on an in-memory
database: each command's state change, its history and the events it emits (with
their per-referral sequence), without a broker or HTTP."""

from datetime import UTC, date, datetime, timedelta

import pytest
from marshmallow import ValidationError

from services.common import errors
from services.common.auth import Principal
from services.referrals import commands, queries
from services.referrals.config import ReferralsConfig
from services.referrals.models import Base, Referral, Transition
from services.referrals.schemas import (
    AgreementCreateSchema,
    ReferralCreateSchema,
    ReferralDraftSchema,
    ReportCreateSchema,
    VisitCreateSchema,
)
from tests.commands.conftest import emitted
from tests.helpers import referral_body

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday of the autumn term 2026/27
SCHOOL = Principal("jo@school-a", "school-a", frozenset({"partner_referrer"}),
                   "partner_school")
LEAD = Principal("lee@trust.example", "trust", frozenset({"outreach_lead"}), "trust")
ADMIN = Principal("admin@trust.example", "trust", frozenset({"trust_admin"}), "trust")
PAT = Principal("pat@trust.example", "trust", frozenset({"outreach"}), "trust")
PRACTITIONER = {"sub": "pat@trust.example", "name": "Pat Lee", "email": "pat@trust.example"}
CYCLES = [{"started_on": "2026-09-07", "reviewed_on": "2026-10-05",
           "provision": "Visual timetable", "outcome": "Calmer mornings"},
          {"started_on": "2026-10-06", "reviewed_on": "2026-11-02",
           "provision": "Social skills group", "outcome": "Little change"}]


@pytest.fixture
def db(memory_db):
    return memory_db("referrals", Base.metadata)


def body(**kw):
    return ReferralCreateSchema().load(referral_body(**{"graduated_approach": CYCLES, **kw}))


def agreement(db, **kw):
    return commands.create_agreement(db, AgreementCreateSchema().load({
        "school_org_id": "school-a", "academic_year": "2026/27", "term": "autumn",
        "hours_bought": 3, **kw}), ADMIN.sub, NOW)


def submitted(db, **kw):
    return commands.submit_new(db, SCHOOL, body(**kw), NOW)


def accepted(db, **kw):
    r = submitted(db, **kw)
    return commands.accept(db, LEAD, r.id, now=NOW + timedelta(hours=1))


def allocated(db):
    r = accepted(db)
    return commands.allocate(db, LEAD, r.id, PRACTITIONER, NOW + timedelta(hours=2))


def visit(minutes=60, override=False, day="2026-11-25"):
    return VisitCreateSchema().load({
        "visit_date": day, "minutes": minutes, "seen": ["pupil", "senco"],
        "observations": "Calmer with a now-and-next board.",
        "recommendations": "Keep the quiet space.", "override": override})


def stored(db, referral_id):
    with db.session() as s:
        return s.get(Referral, referral_id)


def history(db, referral_id):
    with db.session() as s:
        return [(t.from_status, t.to_status, t.action) for t in s.query(Transition).filter_by(
            referral_id=referral_id).order_by(Transition.id)]


def data(db, event_type):
    return [e["data"] for e in emitted(db, event_type)]


def test_submit_stores_the_referral_and_emits_submitted_without_pupil_details(db):
    r = submitted(db)
    assert stored(db, r.id).status == "submitted" and r.school_org_id == "school-a"
    assert history(db, r.id) == [(None, "submitted", "submit")]
    [event] = emitted(db, "referral.submitted")
    assert event["org_id"] == "school-a" and event["actor"] == SCHOOL.sub
    assert event["data"]["sequence"] == 1 and event["data"]["resubmission"] is False
    assert event["data"]["contact"] == {"name": "Jo Smith", "email": "jo.smith@riverside.example"}
    assert "Taylor" not in str(event) and "2016-03-01" not in str(event)


def test_a_draft_is_completed_then_submitted(db):
    draft = commands.create_draft(db, SCHOOL, ReferralDraftSchema().load(
        {"concerns": "Struggles at lunch."}), NOW)
    assert draft.status == "draft" and emitted(db) == []  # nobody is told about a draft
    with pytest.raises(ValidationError) as exc:
        commands.submit_existing(db, SCHOOL, draft.id, now=NOW)
    assert "pupil" in exc.value.messages and stored(db, draft.id).status == "draft"
    commands.edit_referral(db, SCHOOL, draft.id, ReferralDraftSchema().load(
        {k: v for k, v in referral_body().items() if k != "concerns"}))
    done = commands.submit_existing(db, SCHOOL, draft.id, now=NOW)
    assert done.status == "submitted" and done.first_submitted_at == NOW
    assert done.concerns == "Struggles at lunch."  # the partial edit kept it
    assert history(db, draft.id) == [(None, "draft", "create_draft"),
                                     ("draft", "submitted", "submit")]
    assert [d["sequence"] for d in data(db, "referral.submitted")] == [1]
    with pytest.raises(errors.Conflict):  # submitted: no longer editable
        commands.edit_referral(db, SCHOOL, draft.id, {"concerns": "x"})


def test_triage_requests_information_and_the_school_answers(db):
    r = submitted(db)
    commands.request_info(db, LEAD, r.id, "Is there an EP report?", NOW)
    assert stored(db, r.id).status == "info_requested"
    assert stored(db, r.id).acknowledged_at == NOW  # asking acknowledges
    with pytest.raises(errors.RuleBroken) as exc:
        commands.submit_existing(db, SCHOOL, r.id, now=NOW)
    assert exc.value.field == "info_answer"
    again = commands.submit_existing(db, SCHOOL, r.id, "Yes, attached.", NOW + timedelta(days=1))
    assert again.status == "submitted" and again.info_answer == "Yes, attached."
    assert again.submitted_at > again.first_submitted_at
    assert [e["type"] for e in emitted(db)] == ["referral.submitted", "referral.info_requested",
                                                "referral.submitted"]
    assert [e["data"]["sequence"] for e in emitted(db)] == [1, 2, 3]
    assert data(db, "referral.submitted")[1]["resubmission"] is True


def test_accept_needs_an_agreement_and_its_criteria(db):
    r = submitted(db, graduated_approach=[])
    with pytest.raises(errors.Conflict) as exc:
        commands.accept(db, LEAD, r.id, now=NOW)
    assert set(exc.value.errors) == {"agreement"}
    agreement(db)
    with pytest.raises(errors.Conflict) as exc:
        commands.accept(db, LEAD, r.id, now=NOW)
    assert set(exc.value.errors) == {"graduated_approach_cycles"}
    assert stored(db, r.id).status == "submitted" and emitted(db, "referral.accepted") == []
    # the panel may accept anyway, with its reason recorded
    done = commands.accept(db, LEAD, r.id, override=" Urgent: exclusion risk ", now=NOW)
    assert done.status == "accepted" and done.panel_override
    assert done.override_reason == "Urgent: exclusion risk"
    [event] = data(db, "referral.accepted")
    assert event["pupil_upn"] == "B801200005001" and "pupil" not in event
    assert event["need_types"] == ["ASD"] and event["agreement_id"] == done.agreement_id
    assert event["waiting"] is False and event["sequence"] == 2


def test_decline_with_a_reason_and_no_action_from_a_final_state(db):
    agreement(db)
    r = submitted(db)
    declined = commands.decline(db, LEAD, r.id, "outside_remit", NOW)
    assert declined.status == "declined" and declined.acknowledged_at == NOW
    assert data(db, "referral.declined")[0]["reason"] == "outside_remit"
    with pytest.raises(errors.Conflict) as exc:
        commands.accept(db, LEAD, r.id, now=NOW)
    assert exc.value.errors == {"status": ["declined"]}
    with pytest.raises(errors.NotAllowed):  # a school does not triage
        commands.decline(db, SCHOOL, submitted(db).id, "other", NOW)
    with pytest.raises(errors.NotFound):  # another school's referral is not found
        commands.withdraw(db, Principal("al@b", "school-b", frozenset({"partner_referrer"}),
                                        "partner_school"), r.id, NOW)


def test_allocate_visit_report_and_close(db):
    agreement(db)
    r = allocated(db)
    assert r.status == "allocated" and r.practitioner_sub == PAT.sub
    assert data(db, "referral.allocated")[0]["practitioner"] == PRACTITIONER
    logged = commands.log_visit(db, PAT, r.id, visit(90), NOW + timedelta(days=1))
    assert logged.minutes == 90 and not logged.override
    assert stored(db, r.id).status == "in_progress"
    assert data(db, "referral.visit_logged")[0]["visit_date"] == "2026-11-25"
    commands.issue_report(db, PAT, r.id, ReportCreateSchema().load({
        "summary": "Good progress.", "recommendations": [
            {"text": "Autism training", "course_id": "course-1"},
            {"text": "Sensory circuit", "provision": "Sensory circuit"}]}),
        NOW + timedelta(days=2))
    assert stored(db, r.id).report_id and data(db, "referral.report_issued")
    with pytest.raises(errors.NotAllowed):  # a practitioner does not close
        commands.close(db, PAT, r.id, "needs_met_in_school", NOW + timedelta(days=3))
    closed = commands.close(db, LEAD, r.id, "needs_met_in_school", NOW + timedelta(days=3))
    assert closed.status == "closed" and closed.outcome == "needs_met_in_school"
    [event] = data(db, "referral.closed")
    assert event["recommended_course_ids"] == ["course-1"]
    assert event["recommended_provision"] == ["Sensory circuit"]
    assert [e["type"] for e in emitted(db)] == [
        "referral.submitted", "referral.accepted", "referral.allocated",
        "referral.visit_logged", "referral.report_issued", "referral.closed"]
    assert [e["data"]["sequence"] for e in emitted(db)] == [1, 2, 3, 4, 5, 6]
    assert stored(db, r.id).event_sequence == 6


def test_a_practitioner_acts_only_on_referrals_allocated_to_them(db):
    agreement(db)
    r = allocated(db)
    kim = Principal("kim@trust.example", "trust", frozenset({"outreach"}), "trust")
    with pytest.raises(errors.NotFound):
        commands.log_visit(db, kim, r.id, visit(), NOW)


def test_an_overdue_breach_is_announced_once(db):
    r = submitted(db)  # Tue 24 Nov: acknowledge by Thu 26th, triage by Tue 8 Dec
    config = ReferralsConfig()
    assert commands.scan_overdue(db, NOW + timedelta(days=2), config) == 0
    assert commands.scan_overdue(db, NOW + timedelta(days=3), config) == 1
    assert commands.scan_overdue(db, NOW + timedelta(days=3), config) == 0
    [event] = data(db, "referral.overdue")
    assert (event["clock"], event["due_date"]) == ("acknowledge", "2026-11-26")
    assert event["referral_id"] == r.id and event["sequence"] == 2
    assert emitted(db, "referral.overdue")[0]["actor"] == "referrals-timer"
    # past the triage clock too: that breach only, once
    assert commands.scan_overdue(db, NOW + timedelta(days=15), config) == 1
    assert [d["clock"] for d in data(db, "referral.overdue")] == ["acknowledge", "triage"]
    assert commands.scan_overdue(db, NOW + timedelta(days=16), config) == 0
    # an acknowledged and accepted referral has no clock running
    agreement(db)
    fresh = accepted(db)
    assert commands.scan_overdue(db, NOW + timedelta(days=30), config) == 0
    assert fresh.id not in {d["referral_id"] for d in data(db, "referral.overdue")}


def test_traded_hours_are_taken_from_the_agreement(db):
    a = agreement(db, hours_bought=2)
    r = allocated(db)
    commands.log_visit(db, PAT, r.id, visit(90), NOW)
    with pytest.raises(errors.Conflict) as exc:
        commands.log_visit(db, PAT, r.id, visit(60), NOW)  # 30 minutes left
    assert "minutes" in exc.value.errors and "30 minutes left" in exc.value.detail
    with pytest.raises(errors.NotAllowed):
        commands.log_visit(db, PAT, r.id, visit(60, override=True), NOW)
    over = commands.log_visit(db, ADMIN, r.id, visit(60, override=True, day="2026-11-26"), NOW)
    assert over.override and over.override_by == ADMIN.sub
    statement = queries.statement(db, ADMIN, a.id)
    assert (statement["minutes_bought"], statement["minutes_used"],
            statement["minutes_left"]) == (120, 150, -30)
    assert [(line["visit_date"], line["minutes"], line["override"], line["balance_minutes"])
            for line in statement["lines"]] == [(date(2026, 11, 25), 90, False, 30),
                                                (date(2026, 11, 26), 60, True, -30)]
    assert queries.get_agreement(db, SCHOOL, a.id).minutes_used == 150
    assert len(data(db, "referral.visit_logged")) == 2  # the refused ones emitted nothing


def test_over_the_cap_a_referral_waits_and_gets_the_freed_place(db):
    a = agreement(db, capacity=1)
    first = accepted(db)
    second = accepted(db)
    assert not first.waiting and second.waiting and second.waiting_since
    assert data(db, "referral.accepted")[1]["waiting"] is True
    with pytest.raises(errors.Conflict) as exc:
        commands.allocate(db, LEAD, second.id, PRACTITIONER, NOW)
    assert set(exc.value.errors) == {"waiting"}
    # a higher cap grants the place, in the order they waited
    commands.update_agreement(db, ADMIN, a.id, {"capacity": 2}, NOW)
    assert not stored(db, second.id).waiting
    [granted] = data(db, "referral.place_granted")
    assert granted["referral_id"] == second.id and granted["agreement_id"] == a.id
    assert granted["sequence"] == 3  # submitted 1, accepted 2
    assert history(db, second.id)[-1] == ("accepted", "accepted", "grant_place")


def test_a_second_agreement_for_the_same_term_is_a_conflict(db):
    agreement(db)
    with pytest.raises(errors.Conflict) as exc:
        agreement(db)
    assert set(exc.value.errors) == {"term"}
