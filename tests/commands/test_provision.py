"""The provision service's use cases (commands/) on an in-memory database: assigning
provision, recording an outcome, opening and reviewing an APDR cycle, ending
provision, and the cost arithmetic of what was delivered and what is planned."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.common import errors
from services.common.auth import Principal
from services.provision import domain
from services.provision.commands import assignments, catalogue, cycles, projection, targets
from services.provision.models import Base
from services.provision.queries import costs, maps
from tests.commands.conftest import emitted

SENCO = Principal(sub="senco@s1", org="s1", roles=frozenset({"senco"}), org_kind="trust_school")
OTHER = Principal(sub="senco@s2", org="s2", roles=frozenset({"senco"}), org_kind="trust_school")
TODAY = date(2026, 11, 20)  # a Friday in the autumn term
ENTRY = {"org_id": None, "name": "Reading catch-up", "description": "", "tier": "targeted",
         "area_of_need": "cognition_and_learning", "delivered_by": "teaching_assistant",
         "group_size": 3, "session_minutes": 30, "cost_basis": "per_session",
         "cost_amount": Decimal("20.00"), "evidence_notes": ""}
TARGET = {"description": "Read 40 words", "area_of_need": "cognition_and_learning",
          "baseline": "12 words", "expected_outcome": "40 words", "measure": "HFW check",
          "due_date": date(2026, 12, 18), "baseline_score": Decimal("12"),
          "target_score": Decimal("40"), "score_unit": "words"}


@pytest.fixture
def db(memory_db):
    database = memory_db("provision", Base.metadata)
    with database.unit_of_work() as uow:
        projection.organisation_onboarded(uow, {"org_id": "s1", "name": "School s1",
                                                "kind": "trust_school", "urn": None})
        for pupil, status in (("A", "K"), ("B", "E")):
            projection.pupil_registered(uow, {
                "pupil_id": pupil, "org_id": "s1", "year_group": 4, "sen_status": status,
                "registration_group": "4B", "primary_need": "SPLD",
                "areas_of_need": ["cognition_and_learning"]})
    return database


def assign(db, pupils=("A", "B"), **kw):
    entry = catalogue.create_entry(db, SENCO, dict(ENTRY))
    body = {"catalogue_id": entry.id, "pupil_ids": list(pupils), "start_date": date(2026, 11, 2),
            "end_date": date(2026, 11, 27), "sessions_per_week": Decimal("2"),
            "staff": "Ms Reed", "statutory": False, "target_ids": [], **kw}
    return assignments.assign(db, SENCO, body)


def test_assigning_provision_to_a_group_emits_provision_assigned(db):
    view = assign(db)
    assert [m.pupil_id for m in view["members"]] == ["A", "B"]
    assert (view["status"], view["provision"], view["sessions_delivered"]) == (
        domain.ACTIVE, "Reading catch-up", 0)
    [event] = emitted(db, "provision.assigned")
    assert event["data"]["pupil_ids"] == ["A", "B"] and event["org_id"] == "s1"
    assert event["data"]["assignment_id"] == view["id"]


def test_assigning_refuses_what_breaks_a_rule(db):
    with pytest.raises(errors.RuleBroken) as exc:
        assign(db, statutory=True)  # A has no EHC plan
    assert exc.value.field == "statutory"
    with pytest.raises(errors.RuleBroken) as exc:
        assignments.assign(db, OTHER, {"catalogue_id": "x", "pupil_ids": ["A"],
                                       "start_date": TODAY, "end_date": TODAY,
                                       "sessions_per_week": Decimal("1"), "staff": "x",
                                       "statutory": False, "target_ids": []})
    assert exc.value.field == "pupil_ids.0"  # another school's pupil: no such pupil
    assert emitted(db, "provision.assigned") == []


def test_recording_an_outcome_checks_the_score_and_emits_outcome_recorded(db):
    target = targets.create_target(db, SENCO, {**TARGET, "pupil_id": "A"})
    with pytest.raises(errors.RuleBroken) as exc:
        targets.record_outcome(db, SENCO, target["id"], {
            "reviewed_on": TODAY, "level": "met", "score": Decimal("30"), "note": ""}, TODAY)
    assert exc.value.field == "level"
    outcome = targets.record_outcome(db, SENCO, target["id"], {
        "reviewed_on": TODAY, "level": "exceeded", "score": Decimal("44"), "note": ""}, TODAY)
    assert (outcome.level, outcome.progress) == ("exceeded", 4)
    [event] = emitted(db, "outcome.recorded")
    assert (event["data"]["level"], event["data"]["progress"], event["data"]["met"]) == (
        "exceeded", 2, True)


def test_an_apdr_cycle_opens_once_and_its_review_records_outcomes(db):
    target = targets.create_target(db, SENCO, {**TARGET, "pupil_id": "A"})
    body = {"pupil_id": "A", "started_on": date(2026, 11, 2),
            "review_date": date(2026, 12, 14), "assess": "", "plan": "", "do": ""}
    cycle = cycles.open_cycle(db, SENCO, body)
    assert (cycle["number"], cycle["status"]) == (1, domain.OPEN)
    with pytest.raises(errors.Conflict):
        cycles.open_cycle(db, SENCO, body)  # one open cycle a pupil
    reviewed = cycles.review_cycle(db, SENCO, cycle["id"], {
        "reviewed_on": TODAY, "note": "Good progress", "outcomes": [
            {"target_id": target["id"], "level": "met", "score": Decimal("40"), "note": ""}]},
        TODAY)
    assert (reviewed["status"], reviewed["reviewed_on"]) == (domain.REVIEWED, TODAY)
    [opened] = emitted(db, "apdr_cycle.opened")
    [review] = emitted(db, "apdr_cycle.reviewed")
    assert opened["data"]["number"] == 1
    assert (review["data"]["targets_reviewed"], review["data"]["targets_met"]) == (1, 1)
    assert [e["data"]["cycle_id"] for e in emitted(db, "outcome.recorded")] == [cycle["id"]]
    with pytest.raises(errors.Conflict):
        cycles.review_cycle(db, SENCO, cycle["id"], {"reviewed_on": TODAY, "note": "again",
                                                     "outcomes": []}, TODAY)


def test_review_timer_announces_each_review_once(db):
    cycles.open_cycle(db, SENCO, {"pupil_id": "A", "started_on": date(2026, 11, 2),
                                  "review_date": TODAY + timedelta(days=3), "assess": "",
                                  "plan": "", "do": ""})
    assert cycles.announce_reviews(db, TODAY, 14) == 1
    assert cycles.announce_reviews(db, TODAY, 14) == 0
    [event] = emitted(db, "provision.review_due")
    assert event["data"]["overdue"] is False


def test_ending_statutory_provision_needs_a_review_and_ends_once(db):
    view = assign(db, pupils=("B",), statutory=True)
    end = {"ended_on": TODAY, "reason": "target_met", "note": None, "review_cycle_id": None}
    with pytest.raises(errors.RuleBroken) as exc:
        assignments.end(db, SENCO, view["id"], end)
    assert exc.value.field == "review_cycle_id"
    cycle = cycles.open_cycle(db, SENCO, {"pupil_id": "B", "started_on": date(2026, 11, 3),
                                          "review_date": date(2026, 11, 19), "assess": "",
                                          "plan": "", "do": ""})
    cycles.review_cycle(db, SENCO, cycle["id"], {"reviewed_on": date(2026, 11, 19),
                                                 "note": "Met", "outcomes": []}, TODAY)
    ended = assignments.end(db, SENCO, view["id"], {**end, "review_cycle_id": cycle["id"]})
    assert (ended["status"], ended["ended_on"], ended["end_reason"]) == (
        domain.ENDED, TODAY, "target_met")
    [event] = emitted(db, "provision.ended")
    assert event["data"]["pupil_ids"] == ["B"] and event["data"]["statutory"] is True
    with pytest.raises(errors.Conflict):
        assignments.end(db, SENCO, view["id"], {**end, "review_cycle_id": cycle["id"]})


def test_cost_arithmetic_of_sessions_delivered_and_planned(db):
    """£20 a session for A and B, twice a week, 2-27 Nov 2026; sessions on 3 and 4 Nov
    (A, B) and 5 Nov (A alone): A 10 + 10 + 20 = 40, B 20, 60 to date. Planned as of
    Fri 20 Nov: 23-27 Nov, 5 school days = 2 sessions, £40 shared: A 60, B 40."""
    view = assign(db)
    for day, pupils in ((date(2026, 11, 3), "AB"), (date(2026, 11, 4), "AB"),
                        (date(2026, 11, 5), "A")):
        session = assignments.record_session(db, SENCO, view["id"], {
            "held_on": day, "minutes": None, "note": None,
            "attendance": [{"pupil_id": p, "attended": True} for p in pupils]}, TODAY)
        assert session["register_size"] == len(pupils)
    with db.session() as s:
        fast, _, _ = costs.summary(s, TODAY, "s1")
        reference, _, _ = costs.per_pupil_summary(s, TODAY, "s1")
    assert {k: (domain.money(c.to_date), domain.money(c.projected))
            for k, c in reference["per_pupil"].items()} == {
        "A": (Decimal("40.00"), Decimal("60.00")), "B": (Decimal("20.00"), Decimal("40.00"))}
    for figures in (fast, reference):
        assert (domain.money(figures["total"].to_date),
                domain.money(figures["total"].projected)) == (Decimal("60.00"),
                                                              Decimal("100.00"))
    class_map = maps.class_map(db, SENCO, {"registration_group": "4B", "as_of": TODAY}, TODAY)
    assert [(p["pupil_id"], p["totals"]["cost_to_date"]) for p in class_map["pupils"]] == [
        ("A", Decimal("40.00")), ("B", Decimal("20.00"))]


def test_the_counters_reports_read_follow_sessions_and_outcomes(db):
    """The assignment counts its sessions; a target keeps its latest outcome (by review
    day), so an earlier review recorded later does not replace it."""
    from services.provision.models import Assignment, Target
    view = assign(db, pupils=("A",))
    for day in (date(2026, 11, 3), date(2026, 11, 10)):
        assignments.record_session(db, SENCO, view["id"], {
            "held_on": day, "minutes": None, "note": None,
            "attendance": [{"pupil_id": "A", "attended": True}]}, TODAY)
    target = targets.create_target(db, SENCO, {**TARGET, "pupil_id": "A",
                                               "baseline_score": None, "target_score": None})
    for day, level in ((date(2026, 11, 13), "met"), (date(2026, 11, 6), "working_towards")):
        targets.record_outcome(db, SENCO, target["id"], {
            "reviewed_on": day, "level": level, "score": None, "note": ""}, TODAY)
    with db.session() as s:
        assert s.get(Assignment, view["id"]).sessions_recorded == 2
        kept = s.get(Target, target["id"])
        assert (kept.latest_progress, kept.latest_reviewed_on) == (
            domain.LEVEL_RANK["met"], date(2026, 11, 13))
