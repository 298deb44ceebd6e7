"""The pupils service's use cases (services/pupils/commands/) on an in-memory
database: the rows each writes and the events it leaves in the outbox."""

from datetime import date

import pytest
from sqlalchemy import func, select

from services.common.access import Role
from services.common.auth import Principal
from services.common.errors import Conflict, NotAllowed, NotFound, RuleBroken
from services.pupils import queries
from services.pupils.commands import (
    ehc_plans,
    moves,
    organisations,
    passports,
    pupils,
    staff,
)
from services.pupils.models import (
    Base,
    EhcPlan,
    EhcReminderSent,
    Guardian,
    Move,
    PassportVersion,
    Pupil,
    SenRegisterEntry,
    StaffMember,
)
from services.pupils.schemas import (
    EhcPlanCreateSchema,
    EhcPlanUpdateSchema,
    MoveCreateSchema,
    PassportDraftSchema,
    PupilCreateSchema,
    SenStatusChangeSchema,
    StaffCreateSchema,
    StaffUpdateSchema,
)
from tests.commands.conftest import emitted
from tests.service.test_pupils_api import passport, pupil_body

TODAY = date(2026, 11, 2)
PERSONAL = ("Taylor", "Sam1", "2015-03-01")  # what no event may carry


class World:
    def __init__(self, db):
        self.db = db
        org = organisations.onboard
        self.trust = org(db, {"name": "Trust", "kind": "trust"}, actor="t").id
        self.oak = org(db, {"name": "Oak School", "kind": "trust_school", "urn": "140001",
                            "laestab": "8011001"}, actor="t").id
        self.elm = org(db, {"name": "Elm ARB", "kind": "arb", "urn": "140002",
                            "laestab": "8011002"}, actor="t").id
        self.partner = org(db, {"name": "Partner", "kind": "partner_school", "urn": "140003",
                                "laestab": "8011003"}, actor="t").id
        self.senco = Principal("senco@oak.example", self.oak, frozenset({Role.SENCO}),
                               org_kind="trust_school")
        self.elm_senco = Principal("senco@elm.example", self.elm, frozenset({Role.SENCO}),
                                   org_kind="arb")
        self.admin = Principal("admin@trust.example", self.trust,
                               frozenset({Role.TRUST_ADMIN}), org_kind="trust")

    def register(self, n=1, **overrides):
        body = PupilCreateSchema().load(pupil_body(n=n, **overrides))
        return pupils.register(self.db, self.senco, body, today=TODAY)

    def rows(self, model, *where):
        with self.db.session() as s:
            return s.execute(select(model).where(*where)).scalars().all()

    def count(self, model):
        with self.db.session() as s:
            return s.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def world(memory_db):
    return World(memory_db("pupils", Base.metadata))


def no_personal_data(envelope):
    text = str(envelope["data"])
    assert not any(value in text for value in PERSONAL), envelope["type"]


# -- register ------------------------------------------------------------------------

def test_register_writes_the_pupil_and_its_open_register_entry_and_emits(world):
    guardians = [{"name": "Alex Taylor", "relationship": "mother", "email": "a@example.org",
                  "preferred_channel": "email", "parental_responsibility": True}]
    view = world.register(guardians=guardians, registration_group="5B")
    [pupil] = world.rows(Pupil)
    assert (pupil.id, pupil.org_id, pupil.sen_status, pupil.primary_need,
            pupil.registration_group) == (view.id, world.oak, "K", "ASD", "5B")
    [entry] = world.rows(SenRegisterEntry)
    assert (entry.status, entry.starts_on, entry.ends_on, entry.recorded_by) == (
        "K", TODAY, None, "senco@oak.example")
    assert [g.name for g in world.rows(Guardian)] == ["Alex Taylor"]
    [registered] = emitted(world.db, "pupil.registered")
    assert registered["org_id"] == world.oak and registered["actor"] == "senco@oak.example"
    assert registered["data"] == {
        "pupil_id": pupil.id, "org_id": world.oak, "sen_status": "K", "primary_need": "ASD",
        "secondary_need": "SLCN", "areas_of_need": ["communication_and_interaction"],
        "year_group": 5, "registration_group": "5B"}
    no_personal_data(registered)
    [changed] = emitted(world.db, "pupil.guardians_changed")
    assert [g["name"] for g in changed["data"]["guardians"]] == ["Alex Taylor"]


def test_register_refuses_a_upn_already_on_any_roll_and_writes_nothing(world):
    world.register(n=1)
    before = len(emitted(world.db))
    with pytest.raises(Conflict) as exc:
        pupils.register(world.db, world.elm_senco,
                        PupilCreateSchema().load(pupil_body(n=1)), today=TODAY)
    assert "upn" in exc.value.errors
    assert world.count(Pupil) == 1 and len(emitted(world.db)) == before


def test_a_partner_school_keeps_no_pupils_here(world):
    partner_senco = Principal("senco@partner.example", world.partner,
                              frozenset({Role.SENCO}), org_kind="partner_school")
    with pytest.raises(NotAllowed):
        pupils.register(world.db, partner_senco, PupilCreateSchema().load(pupil_body()),
                        today=TODAY)
    assert world.count(Pupil) == 0


# -- SEN status ------------------------------------------------------------------------

def test_a_sen_status_change_closes_the_open_entry_and_opens_the_new_one(world):
    view = world.register()
    body = SenStatusChangeSchema().load({"sen_status": "E", "primary_need": "SLCN",
                                         "effective_date": "2026-11-02"})
    after = pupils.set_sen_status(world.db, world.senco, view.id, body, today=TODAY)
    assert (after.sen_status, after.primary_need, after.secondary_need) == ("E", "SLCN", None)
    entries = sorted(world.rows(SenRegisterEntry), key=lambda e: e.id)
    assert [(e.status, e.starts_on, e.ends_on) for e in entries] == [
        ("K", TODAY, TODAY), ("E", TODAY, None)]
    [event] = emitted(world.db, "pupil.sen_status_changed")
    assert event["data"] == {
        "pupil_id": view.id, "org_id": world.oak, "sen_status": "E", "primary_need": "SLCN",
        "secondary_need": None, "areas_of_need": ["communication_and_interaction"],
        "previous_status": "K", "effective_date": "2026-11-02"}


def test_an_unchanged_sen_status_is_a_conflict_and_emits_nothing(world):
    view = world.register()
    body = SenStatusChangeSchema().load({"sen_status": "K", "primary_need": "ASD",
                                         "secondary_need": "SLCN"})
    with pytest.raises(Conflict):
        pupils.set_sen_status(world.db, world.senco, view.id, body, today=TODAY)
    assert emitted(world.db, "pupil.sen_status_changed") == []
    assert world.count(SenRegisterEntry) == 1


def test_another_schools_pupil_is_not_found(world):
    view = world.register()
    body = SenStatusChangeSchema().load({"sen_status": "N"})
    with pytest.raises(NotFound):
        pupils.set_sen_status(world.db, world.elm_senco, view.id, body, today=TODAY)


# -- passports -------------------------------------------------------------------------

def test_a_passport_is_drafted_then_published_once(world):
    view = world.register()
    draft = passports.save_draft(world.db, world.senco, view.id,
                                 PassportDraftSchema().load(passport()))
    assert (draft.version, draft.status) == (1, "draft")
    assert emitted(world.db, "passport.published") == []
    published = passports.publish(world.db, world.senco, view.id, 1)
    [row] = world.rows(PassportVersion)
    assert (row.status, row.published_by) == ("published", "senco@oak.example")
    [event] = emitted(world.db, "passport.published")
    assert event["data"] == {"pupil_id": view.id, "org_id": world.oak,
                             "passport_id": published.id, "version": 1}
    no_personal_data(event)
    with pytest.raises(Conflict):
        passports.publish(world.db, world.senco, view.id, 1)
    with pytest.raises(NotFound):
        passports.publish(world.db, world.senco, view.id, 2)
    assert len(emitted(world.db, "passport.published")) == 1


# -- EHC plans and the reminders timer -------------------------------------------------

def test_an_ehc_plan_records_its_steps_in_order_and_computes_its_deadlines(world):
    view = world.register()
    plan = ehc_plans.request(world.db, world.senco, view.id,
                             EhcPlanCreateSchema().load({"request_date": "2026-01-05"}))
    assert plan["deadlines"]["decision_to_assess"] == {"due": date(2026, 2, 16),
                                                       "done_on": None}
    with pytest.raises(Conflict):  # one plan record per pupil
        ehc_plans.request(world.db, world.senco, view.id,
                          EhcPlanCreateSchema().load({"request_date": "2026-01-06"}))
    updated = ehc_plans.record_steps(world.db, world.senco, view.id, plan["id"],
                                     EhcPlanUpdateSchema().load(
                                         {"decision_to_assess_on": "2026-02-10"}))
    assert updated["deadlines"]["decision_to_assess"]["done_on"] == date(2026, 2, 10)
    with pytest.raises(RuleBroken) as exc:
        ehc_plans.record_steps(world.db, world.senco, view.id, plan["id"],
                               EhcPlanUpdateSchema().load({"issued_on": "2026-01-20"}))
    assert "issued_on" in exc.value.errors
    [stored] = world.rows(EhcPlan)
    assert (stored.decision_to_assess_on, stored.issued_on) == (date(2026, 2, 10), None)


def test_a_lawful_pause_moves_the_deadlines_and_an_unlawful_one_is_refused(world):
    view = world.register()
    plan = ehc_plans.request(world.db, world.senco, view.id,
                             EhcPlanCreateSchema().load({"request_date": "2026-01-05"}))
    with pytest.raises(RuleBroken):
        ehc_plans.pause(world.db, world.senco, view.id, plan["id"], {
            "reason": "missed_appointment", "starts_on": date(2026, 1, 10), "ends_on": None})
    pause = ehc_plans.pause(world.db, world.senco, view.id, plan["id"], {
        "reason": "school_closure", "starts_on": date(2026, 1, 10), "ends_on": None})
    paused = queries.plans(world.db, world.senco, view.id)["items"][0]
    assert paused["deadlines"]["decision_to_assess"]["due"] is None  # paused
    after = ehc_plans.restart(world.db, world.senco, view.id, plan["id"], pause.id,
                              date(2026, 2, 9))
    assert after["deadlines"]["decision_to_assess"]["due"] == date(2026, 3, 18)


def test_the_timer_emits_each_reminder_once(world):
    view = world.register()
    ehc_plans.request(world.db, world.senco, view.id,
                      EhcPlanCreateSchema().load({"request_date": "2026-01-05"}))
    # 6 weeks: due 16 February 2026; 5 working days ahead is 9 February
    assert ehc_plans.send_due_reminders(world.db, date(2026, 2, 6), lead_working_days=5) == []
    [sent] = ehc_plans.send_due_reminders(world.db, date(2026, 2, 9), lead_working_days=5)
    assert (sent.deadline, sent.due_date) == ("decision_to_assess", date(2026, 2, 16))
    assert ehc_plans.send_due_reminders(world.db, date(2026, 2, 10), lead_working_days=5) == []
    [row] = world.rows(EhcReminderSent)
    assert (row.deadline, row.due_date) == ("decision_to_assess", date(2026, 2, 16))
    [event] = emitted(world.db, "ehcp.deadline_at_risk")
    assert event["actor"] == "pupils.ehcp-timer" and event["org_id"] == world.oak
    assert event["data"] == {"pupil_id": view.id, "org_id": world.oak,
                             "plan_id": row.plan_id, "due_date": "2026-02-16",
                             "deadline": "decision_to_assess"}


def test_an_issued_plan_reminds_of_its_annual_review(world):
    view = world.register()
    plan = ehc_plans.request(world.db, world.senco, view.id,
                             EhcPlanCreateSchema().load({"request_date": "2025-01-06"}))
    ehc_plans.record_steps(world.db, world.senco, view.id, plan["id"],
                           EhcPlanUpdateSchema().load({
                               "decision_to_assess_on": "2025-02-10",
                               "decision_to_issue_on": "2025-04-20",
                               "issued_on": "2025-05-19"}))
    sent = ehc_plans.send_due_reminders(world.db, date(2026, 5, 11), lead_working_days=10)
    assert [r.deadline for r in sent] == ["annual_review"]
    [event] = emitted(world.db, "ehcp.review_due")
    assert event["data"] == {"pupil_id": view.id, "org_id": world.oak,
                             "plan_id": plan["id"], "due_date": "2026-05-18"}


# -- moves -----------------------------------------------------------------------------

def test_a_move_changes_the_pupils_organisation_and_emits(world):
    view = world.register()
    body = MoveCreateSchema().load({"to_org_id": world.elm, "moved_on": "2026-09-01",
                                    "consent": {"given": True, "given_by": "Alex Taylor",
                                                "date": "2026-08-01"}})
    move = moves.move(world.db, world.senco, view.id, body)
    [pupil] = world.rows(Pupil)
    assert pupil.org_id == world.elm
    [row] = world.rows(Move)
    assert (row.id, row.from_org_id, row.to_org_id, row.consent_given_by) == (
        move.id, world.oak, world.elm, "Alex Taylor")
    [event] = emitted(world.db, "pupil.moved")
    assert event["org_id"] == world.elm
    assert event["data"] == {"pupil_id": view.id, "from_org_id": world.oak,
                             "to_org_id": world.elm, "moved_on": "2026-09-01"}


@pytest.mark.parametrize("where", ["partner", "oak", "nowhere"])
def test_a_pupil_moves_only_to_another_school_or_arb_of_the_trust(world, where):
    view = world.register()
    to = {"partner": world.partner, "oak": world.oak, "nowhere": "no-such-org"}[where]
    body = MoveCreateSchema().load({"to_org_id": to, "moved_on": "2026-09-01",
                                    "consent": {"given": True, "given_by": "Alex Taylor",
                                                "date": "2026-08-01"}})
    with pytest.raises(RuleBroken) as exc:
        moves.move(world.db, world.senco, view.id, body)
    assert exc.value.errors.keys() == {"to_org_id"}
    assert world.rows(Move) == [] and emitted(world.db, "pupil.moved") == []


# -- erasure ---------------------------------------------------------------------------

def test_a_pupil_on_the_sen_register_is_anonymised_not_erased(world):
    view = world.register()  # K: the SEN record is kept
    result = pupils.erase(world.db, world.admin, view.id, view.id)
    assert result == {"pupil_id": view.id, "mode": "anonymised"}
    [pupil] = world.rows(Pupil)
    assert (pupil.upn, pupil.legal_surname, pupil.forename, pupil.date_of_birth) == (
        None, "", "", None)
    assert pupil.anonymised_at is not None and world.count(SenRegisterEntry) == 1
    [event] = emitted(world.db, "pupil.erased")
    assert event["data"] == {"pupil_id": view.id, "org_id": world.oak, "mode": "anonymised"}


def test_a_pupil_without_sen_or_plan_is_erased_outright(world):
    view = world.register(sen_status="N", primary_need=None, secondary_need=None)
    assert pupils.erase(world.db, world.admin, view.id, view.id)["mode"] == "erased"
    assert world.count(Pupil) == 0 and world.count(SenRegisterEntry) == 0
    [event] = emitted(world.db, "pupil.erased")
    assert event["data"]["mode"] == "erased"


def test_erasure_needs_the_pupil_named_twice(world):
    view = world.register()
    with pytest.raises(RuleBroken) as exc:
        pupils.erase(world.db, world.admin, view.id, "someone-else")
    assert "confirm_pupil_id" in exc.value.errors
    assert world.count(Pupil) == 1 and emitted(world.db, "pupil.erased") == []


# -- the staff directory ---------------------------------------------------------------

def test_staff_are_added_and_changed_with_their_events(world):
    body = StaffCreateSchema().load({"email": "Jo.Head@Oak.example", "name": "Jo Head",
                                     "org_id": world.oak, "roles": ["senco", "teacher"]})
    member = staff.add(world.db, world.admin, body)
    [row] = world.rows(StaffMember)
    assert (row.email, row.roles, row.active, row.created_by) == (
        "jo.head@oak.example", "senco,teacher", True, "admin@trust.example")
    [added] = emitted(world.db, "staff.member_added")
    assert added["data"] == {"member_id": member.id, "org_id": world.oak,
                             "email": "jo.head@oak.example", "name": "Jo Head",
                             "roles": ["senco", "teacher"], "active": True}
    with pytest.raises(Conflict):
        staff.add(world.db, world.admin, body)
    staff.change(world.db, world.admin, member.id,
                 StaffUpdateSchema().load({"roles": ["teacher"], "name": "Jo Head"}))
    [changed] = emitted(world.db, "staff.member_changed")
    assert changed["data"]["changed"] == ["roles"]
    assert changed["data"]["roles"] == ["teacher"]
    assert world.rows(StaffMember)[0].roles == "teacher"


def test_the_last_active_trust_admin_cannot_be_switched_off(world):
    admin = staff.add(world.db, world.admin, StaffCreateSchema().load({
        "email": "admin@trust.example", "name": "Alex Morgan", "org_id": world.trust,
        "roles": ["trust_admin"]}))
    with pytest.raises(Conflict) as exc:
        staff.change(world.db, world.admin, admin.id,
                     StaffUpdateSchema().load({"active": False}))
    assert "active" in exc.value.errors
    with pytest.raises(Conflict):
        staff.remove(world.db, world.admin, admin.id)
    assert world.rows(StaffMember)[0].active is True
    assert emitted(world.db, "staff.member_changed") == []
    assert emitted(world.db, "staff.member_removed") == []


def test_a_school_senco_cannot_change_another_schools_staff(world):
    member = staff.add(world.db, world.admin, StaffCreateSchema().load({
        "email": "t@elm.example", "name": "Teacher", "org_id": world.elm,
        "roles": ["teacher"]}))
    with pytest.raises(NotFound):
        staff.change(world.db, world.senco, member.id, {"name": "Renamed"})
