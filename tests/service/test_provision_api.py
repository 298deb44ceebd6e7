"""The provision HTTP API on a running container (real auth, validation, problem
details, database on SQLite and, where TEST_POSTGRES_URL is set, PostgreSQL). The
pupil projection is fed by dispatching pupils events to the service's handlers."""

import csv
import io
import json
from datetime import date, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import create_engine, text

from services.common.db import open_database
from services.contracts import make_event, parse_event
from services.provision.models import Base
from services.provision.service import ProvisionService
from tests.conftest import bearer

P = "/api/v1/provision"
TODAY = date.today()


@pytest.fixture
def env(run_service, database_urls, engine_name):
    db_url = database_urls("provision", engine_name)
    base, _container, _ = run_service(ProvisionService, db_url=db_url)
    db = open_database("provision", Base.metadata, db_url)
    handlers = worker_factory(ProvisionService, db=db)
    return Env(base, db_url, handlers)


class Env:
    def __init__(self, base, db_url, handlers):
        self.base, self.db_url, self.handlers = base, db_url, handlers

    def onboard(self, org, kind="trust_school", name=None):
        self.handlers.on_organisation_onboarded(make_event("organisation.onboarded", {
            "org_id": org, "name": name or f"School {org}", "urn": None, "laestab": None,
            "kind": kind}, org_id=org, actor="senctl"))

    def register(self, pupil, org, status="K", registration_group=None):
        self.handlers.on_pupil_registered(make_event("pupil.registered", {
            "pupil_id": pupil, "org_id": org, "year_group": 4, "sen_status": status,
            "registration_group": registration_group,
            "primary_need": None if status == "N" else "SPLD",
            "areas_of_need": [] if status == "N" else ["cognition_and_learning"]},
            org_id=org, actor="pupils"))

    def count(self, table):
        return len(self.rows(f"SELECT * FROM {table}"))

    def rows(self, sql):
        engine = create_engine(self.db_url)
        with engine.connect() as conn:
            out = conn.execute(text(sql)).all()
        engine.dispose()
        return out

    def events(self, event_type):
        return [json.loads(r.body) for r in self.rows("SELECT routing_key, body FROM outbox")
                if r.routing_key == event_type]


def h(token, org, *roles):
    return bearer(token(org, *roles, sub=f"{roles[0]}@{org}"))


ENTRY = {"name": "Reading catch-up", "description": "Small-group phonics", "tier": "targeted",
         "area_of_need": "cognition_and_learning", "delivered_by": "teaching_assistant",
         "group_size": 3, "session_minutes": 30, "cost_basis": "per_session",
         "cost_amount": "20.00", "evidence_notes": "EEF: +4 months"}


def start():
    """A start date a few weeks back, on a Monday, in a term."""
    d = TODAY - timedelta(days=21)
    while d.weekday() != 0 or d.month == 8:
        d -= timedelta(days=1)
    return d


def assignment_body(entry_id, pupils, **kw):
    s = start()
    return {"catalogue_id": entry_id, "pupil_ids": pupils, "start_date": s.isoformat(),
            "end_date": (s + timedelta(days=60)).isoformat(), "sessions_per_week": "2",
            "staff": "Ms Reed (TA)", **kw}


def make_entry(env, http, headers, **kw):
    resp = http.post(env.base + P + "/catalogue", json={**ENTRY, **kw}, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


# -- catalogue ----------------------------------------------------------------------

def test_catalogue_per_school_and_shared_trust_wide(env, http, token):
    senco_a, senco_b = h(token, "s1", "senco"), h(token, "s2", "senco")
    own = make_entry(env, http, senco_a)
    shared = make_entry(env, http, h(token, "trust", "trust_admin"), name="Zones of Regulation",
                        tier="universal", area_of_need="social_emotional_mental_health")
    listed_b = http.get(env.base + P + "/catalogue", headers=senco_b).json()
    assert [e["id"] for e in listed_b] == [shared] and listed_b[0]["shared"] is True
    listed_a = {e["id"] for e in http.get(env.base + P + "/catalogue", headers=senco_a).json()}
    assert listed_a == {own, shared}
    assert http.get(f"{env.base}{P}/catalogue/{own}", headers=senco_b).status_code == 404
    # A school cannot change the trust's shared entry, nor another school's.
    patch = {"cost_amount": "1.00"}
    assert http.patch(f"{env.base}{P}/catalogue/{shared}", json=patch,
                      headers=senco_a).status_code == 404
    assert http.patch(f"{env.base}{P}/catalogue/{own}", json=patch,
                      headers=senco_b).status_code == 404
    ok = http.patch(f"{env.base}{P}/catalogue/{own}", json={"active": False}, headers=senco_a)
    assert ok.status_code == 200 and ok.json()["active"] is False


@pytest.mark.parametrize("role,status", [("teacher", 403), ("auditor", 403),
                                         ("partner_referrer", 403)])
def test_only_sencos_and_the_trust_write_the_catalogue(env, http, token, role, status):
    resp = http.post(env.base + P + "/catalogue", json=ENTRY, headers=h(token, "s1", role))
    assert resp.status_code == status
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert env.count("catalogue") == 0


BAD_ENTRIES = {
    "unknown tier": ({**ENTRY, "tier": "gold"}, "tier"),
    "negative cost": ({**ENTRY, "cost_amount": "-5"}, "cost_amount"),
    "cost not a number": ({**ENTRY, "cost_amount": "lots"}, "cost_amount"),
    "no cost": ({k: v for k, v in ENTRY.items() if k != "cost_amount"}, "cost_amount"),
    "group of none": ({**ENTRY, "group_size": 0}, "group_size"),
    "group size a string": ({**ENTRY, "group_size": "3"}, "group_size"),
    "unknown area": ({**ENTRY, "area_of_need": "maths"}, "area_of_need"),
    "unknown role": ({**ENTRY, "delivered_by": "caretaker"}, "delivered_by"),
    "another school's catalogue": ({**ENTRY, "org_id": "s2"}, "org_id"),
    "not json": ("{nope", "body"),
}


@pytest.mark.parametrize("case", BAD_ENTRIES)
def test_bad_catalogue_input_is_422_naming_the_field(env, http, token, case):
    body, field = BAD_ENTRIES[case]
    headers = {**h(token, "s1", "senco"), "Content-Type": "application/json"}
    resp = (http.post(env.base + P + "/catalogue", data=body, headers=headers)
            if isinstance(body, str) else
            http.post(env.base + P + "/catalogue", json=body, headers=headers))
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["errors"]
    assert env.count("catalogue") == 0


# -- the provision map ----------------------------------------------------------------

def test_assign_a_group_record_sessions_and_read_the_map(env, http, token):
    env.register("A", "s1")
    env.register("B", "s1")
    senco, teacher = h(token, "s1", "senco"), h(token, "s1", "teacher")
    entry = make_entry(env, http, senco)
    resp = http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A", "B"]),
                     headers=senco)
    assert resp.status_code == 201, resp.text
    a = resp.json()
    assert a["org_id"] == "s1" and {m["pupil_id"] for m in a["members"]} == {"A", "B"}
    [event] = env.events("provision.assigned")
    assert parse_event(event)["data"]["pupil_ids"] == ["A", "B"]
    assert event["data"]["tier"] == "targeted"

    held = (start() + timedelta(days=1)).isoformat()
    session = http.post(f"{env.base}{P}/assignments/{a['id']}/sessions", headers=teacher, json={
        "held_on": held, "attendance": [{"pupil_id": "A", "attended": True},
                                        {"pupil_id": "B", "attended": False}]})
    assert session.status_code == 201, session.text
    assert session.json()["register_size"] == 2 and session.json()["attended"] == 1
    stranger = http.post(f"{env.base}{P}/assignments/{a['id']}/sessions", headers=teacher, json={
        "held_on": held, "attendance": [{"pupil_id": "Z", "attended": True}]})
    assert stranger.status_code == 422 and "attendance.0.pupil_id" in stranger.json()["errors"]
    future = http.post(f"{env.base}{P}/assignments/{a['id']}/sessions", headers=teacher, json={
        "held_on": (TODAY + timedelta(days=2)).isoformat(),
        "attendance": [{"pupil_id": "A", "attended": True}]})
    assert future.status_code == 422 and "held_on" in future.json()["errors"]

    m = http.get(f"{env.base}{P}/pupils/A/map", headers=teacher).json()
    assert [x["id"] for x in m["assignments"]] == [a["id"]]
    assert m["assignments"][0]["sessions_delivered"] == 1
    assert m["cost"]["to_date"] == "10.00"  # £20 session shared by a register of 2
    # Teachers record; they do not assign.
    assert http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A"]),
                     headers=teacher).status_code == 403


def test_other_schools_see_nothing_and_cannot_assign_to_others_pupils(env, http, token):
    env.register("A", "s1")
    env.register("X", "s2")
    s1, s2 = h(token, "s1", "senco"), h(token, "s2", "senco")
    entry = make_entry(env, http, s1)
    aid = http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A"]),
                    headers=s1).json()["id"]
    for url in (f"/assignments/{aid}", "/pupils/A/map"):
        resp = http.get(env.base + P + url, headers=s2)
        assert resp.status_code == 404 and resp.headers["Content-Type"].startswith(
            "application/problem+json")
    assert http.post(f"{env.base}{P}/assignments/{aid}/sessions", headers=s2, json={
        "held_on": start().isoformat(), "attendance": [{"pupil_id": "A", "attended": True}]},
    ).status_code == 404
    assert http.get(env.base + P + "/assignments", headers=s2).json() == []
    assert http.get(env.base + P + "/assignments", params={"org_id": "s1"},
                    headers=s2).status_code == 404
    # s2 may not use s1's own catalogue entry, nor give provision to s1's pupil.
    other = http.post(env.base + P + "/assignments", json=assignment_body(entry, ["X"]),
                      headers=s2)
    assert other.status_code == 422 and "catalogue_id" in other.json()["errors"]
    theirs = http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A"]),
                       headers=s2)
    assert theirs.status_code == 422 and "pupil_ids.0" in theirs.json()["errors"]
    assert env.count("assignments") == 1
    # The trust sees every school's map.
    assert http.get(env.base + P + "/pupils/A/map",
                    headers=h(token, "trust", "trust_admin")).status_code == 200


BAD_ASSIGNMENTS = {
    "too many for the group": (dict(pupil_ids=["A", "B", "C", "D"]), "pupil_ids"),
    "ends before it starts": (dict(end_date="2020-01-01"), "end_date"),
    "no sessions": (dict(sessions_per_week="0"), "sessions_per_week"),
    "pupil twice": (dict(pupil_ids=["A", "A"]), "pupil_ids"),
    "unknown pupil": (dict(pupil_ids=["nobody"]), "pupil_ids.0"),
    "statutory without an EHC plan": (dict(statutory=True), "statutory"),
    "unknown target": (dict(target_ids=["t-x"]), "target_ids.0"),
    "no staff": (dict(staff=""), "staff"),
    "date not a date": (dict(start_date="soon"), "start_date"),
}


@pytest.mark.parametrize("case", BAD_ASSIGNMENTS)
def test_bad_assignments_are_422_naming_the_field_and_store_nothing(env, http, token, case):
    for p in "ABCD":
        env.register(p, "s1")
    senco = h(token, "s1", "senco")
    entry = make_entry(env, http, senco)
    overrides, field = BAD_ASSIGNMENTS[case]
    resp = http.post(env.base + P + "/assignments",
                     json={**assignment_body(entry, ["A"]), **overrides}, headers=senco)
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["errors"]
    assert env.count("assignments") == 0 and env.count("outbox") == 0


def test_staff_rate_costs_need_a_rate_for_the_role(env, http, token):
    env.register("A", "s1")
    senco = h(token, "s1", "senco")
    entry = make_entry(env, http, senco, cost_basis="staff_rate", cost_amount=None)
    resp = http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A"]),
                     headers=senco)
    assert resp.status_code == 422 and "catalogue_id" in resp.json()["errors"]
    put = http.put(env.base + P + "/organisations/s1/settings", headers=senco,
                   json={"role_rates": {"teaching_assistant": "18.00"}})
    assert put.status_code == 200 and put.json()["role_rates"] == {"teaching_assistant": "18.00"}
    # Only the trust sets the notional SEN budget; nobody sets another school's rates.
    assert http.put(env.base + P + "/organisations/s1/settings", headers=senco,
                    json={"sen_budget": "5000"}).status_code == 422
    assert http.put(env.base + P + "/organisations/s1/settings", headers=h(token, "s2", "senco"),
                    json={"role_rates": {"teacher": "1"}}).status_code == 404
    resp = http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A"]),
                     headers=senco)
    assert resp.status_code == 201


def test_statutory_provision_ends_only_after_a_review(env, http, token):
    env.register("E1", "s1", status="E")
    senco, teacher = h(token, "s1", "senco"), h(token, "s1", "teacher")
    entry = make_entry(env, http, senco, tier="specialist", group_size=1)
    a = http.post(env.base + P + "/assignments", headers=senco,
                  json=assignment_body(entry, ["E1"], statutory=True)).json()
    assert a["statutory"] is True
    end = {"ended_on": TODAY.isoformat(), "reason": "not_effective"}
    refused = http.post(f"{env.base}{P}/assignments/{a['id']}/end", json=end, headers=senco)
    assert refused.status_code == 422 and "review_cycle_id" in refused.json()["errors"]

    cycle = http.post(env.base + P + "/cycles", headers=senco, json={
        "pupil_id": "E1", "started_on": start().isoformat(),
        "review_date": (TODAY + timedelta(days=30)).isoformat(), "assess": "Baseline done",
        "plan": "Daily SALT", "do": "Therapist 3x weekly"}).json()
    open_cycle = http.post(f"{env.base}{P}/assignments/{a['id']}/end", headers=senco,
                           json={**end, "review_cycle_id": cycle["id"]})
    assert open_cycle.status_code == 422
    reviewed = http.post(f"{env.base}{P}/cycles/{cycle['id']}/review", headers=teacher,
                         json={"reviewed_on": TODAY.isoformat(), "note": "Not working"})
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "reviewed"
    ended = http.post(f"{env.base}{P}/assignments/{a['id']}/end", headers=senco,
                      json={**end, "review_cycle_id": cycle["id"]})
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended" and ended.json()["end_reason"] == "not_effective"
    [event] = env.events("provision.ended")
    assert event["data"]["review_cycle_id"] == cycle["id"]
    again = http.post(f"{env.base}{P}/assignments/{a['id']}/end", headers=senco,
                      json={**end, "review_cycle_id": cycle["id"]})
    assert again.status_code == 409


# -- targets, outcomes, cycles, the review timer -------------------------------------

TARGET = {"description": "Read 40 high-frequency words", "area_of_need": "cognition_and_learning",
          "baseline": "Reads 12 of 100 words", "expected_outcome": "Reads 40 of 100 words",
          "measure": "HFW check, termly", "baseline_score": "84", "target_score": "96",
          "score_unit": "reading age (months)"}


def reading_catch_up(env, http, senco):
    """Reading catch-up (£20 a session) for A and B from Mon 2 to Fri 27 Nov 2026,
    twice a week, serving a target of each; sessions on 3 and 4 Nov (A, B) and 5 Nov
    (A alone). Returns (catalogue id, [A's target, B's target])."""
    entry = make_entry(env, http, senco)
    targets = [http.post(env.base + P + "/targets", headers=senco, json={
        **TARGET, "pupil_id": p, "due_date": "2026-12-18"}).json()["id"] for p in "AB"]
    a = http.post(env.base + P + "/assignments", headers=senco, json={
        "catalogue_id": entry, "pupil_ids": ["A", "B"], "start_date": "2026-11-02",
        "end_date": "2026-11-27", "sessions_per_week": "2", "staff": "Ms Reed",
        "target_ids": targets}).json()
    for day, pupils in (("2026-11-03", "AB"), ("2026-11-04", "AB"), ("2026-11-05", "A")):
        assert http.post(f"{env.base}{P}/assignments/{a['id']}/sessions", headers=senco, json={
            "held_on": day, "attendance": [{"pupil_id": p, "attended": True} for p in pupils]},
        ).status_code == 201
    return entry, targets


def test_targets_outcomes_and_the_cycle_review(env, http, token):
    env.register("A", "s1")
    senco, teacher = h(token, "s1", "senco"), h(token, "s1", "teacher")
    due = (TODAY + timedelta(days=90)).isoformat()
    t = http.post(env.base + P + "/targets", headers=senco,
                  json={**TARGET, "pupil_id": "A", "due_date": due})
    assert t.status_code == 201, t.text
    tid = t.json()["id"]
    cycle = http.post(env.base + P + "/cycles", headers=senco, json={
        "pupil_id": "A", "started_on": start().isoformat(),
        "review_date": (TODAY + timedelta(days=5)).isoformat()}).json()
    assert cycle["number"] == 1
    second = http.post(env.base + P + "/cycles", headers=senco, json={
        "pupil_id": "A", "started_on": start().isoformat(),
        "review_date": (TODAY + timedelta(days=5)).isoformat()})
    assert second.status_code == 409  # one open cycle at a time
    bad = http.post(f"{env.base}{P}/cycles/{cycle['id']}/review", headers=teacher, json={
        "reviewed_on": TODAY.isoformat(), "note": "ok",
        "outcomes": [{"target_id": tid, "progress": 3}]})
    assert bad.status_code == 422 and "outcomes.0.progress" in bad.json()["errors"]
    # "met" with a score below the target score (90 of 96) is refused, naming the level
    below = http.post(f"{env.base}{P}/cycles/{cycle['id']}/review", headers=teacher, json={
        "reviewed_on": TODAY.isoformat(), "note": "Good progress",
        "outcomes": [{"target_id": tid, "progress": 1, "score": "90", "note": "Reads 35"}]})
    assert below.status_code == 422 and "target of 96" in below.json()["errors"][
        "outcomes.0.level"][0]
    done = http.post(f"{env.base}{P}/cycles/{cycle['id']}/review", headers=teacher, json={
        "reviewed_on": TODAY.isoformat(), "note": "Good progress",
        "outcomes": [{"target_id": tid, "level": "met", "score": "96", "note": "Reads 40"}]})
    assert done.status_code == 200, done.text
    [outcome] = env.events("outcome.recorded")
    assert outcome["data"]["met"] is True and outcome["data"]["cycle_id"] == cycle["id"]
    [reviewed] = env.events("apdr_cycle.reviewed")
    assert reviewed["data"]["targets_met"] == 1
    view = http.get(f"{env.base}{P}/targets/{tid}", headers=teacher).json()
    assert view["latest_progress"] == 1 and view["met"] is True
    assert (view["latest_level"], view["latest_level_name"]) == ("met", "met")
    assert view["score_gain"] == "12.00" and view["percent_of_expected_gain"] == "100.0"
    assert view["outcomes"][0]["progress_label"] == "met"
    assert outcome["data"]["level"] == "met" and outcome["data"]["progress"] == 1
    # Auditors read; they do not record.
    assert http.post(f"{env.base}{P}/targets/{tid}/outcomes", headers=h(token, "s1", "auditor"),
                     json={"reviewed_on": TODAY.isoformat(), "progress": 0}).status_code == 403
    assert http.get(f"{env.base}{P}/targets/{tid}",
                    headers=h(token, "s2", "senco")).status_code == 404


def test_review_timer_announces_each_review_once_and_lists_overdue(env, http, token):
    env.register("A", "s1")
    env.register("B", "s1")
    senco = h(token, "s1", "senco")
    soon = http.post(env.base + P + "/cycles", headers=senco, json={
        "pupil_id": "A", "started_on": start().isoformat(),
        "review_date": (TODAY + timedelta(days=3)).isoformat()}).json()
    late = http.post(env.base + P + "/cycles", headers=senco, json={
        "pupil_id": "B", "started_on": start().isoformat(),
        "review_date": (TODAY - timedelta(days=2)).isoformat()}).json()
    env.handlers.announce_reviews()
    env.handlers.announce_reviews()  # the next day's run: nothing new
    events = {e["data"]["cycle_id"]: e["data"] for e in env.events("provision.review_due")}
    assert len(env.events("provision.review_due")) == 2
    assert events[soon["id"]]["overdue"] is False and events[late["id"]]["overdue"] is True
    listed = http.get(env.base + P + "/reviews/due", headers=senco).json()
    assert [c["id"] for c in listed["overdue"]] == [late["id"]]
    assert [c["id"] for c in listed["due"]] == [soon["id"]]
    assert http.get(env.base + P + "/reviews/due",
                    headers=h(token, "s2", "senco")).json() == {"due": [], "overdue": []}


# -- the pupil projection ---------------------------------------------------------------

def test_a_moved_pupils_map_follows_them(env, http, token):
    env.register("A", "s1")
    env.register("B", "s1")
    s1, s2 = h(token, "s1", "senco"), h(token, "s2", "senco")
    entry = make_entry(env, http, s1)
    alone = http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A"]),
                      headers=s1).json()
    group = http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A", "B"]),
                      headers=s1).json()
    http.post(env.base + P + "/targets", headers=s1,
              json={**TARGET, "pupil_id": "A", "due_date": TODAY.isoformat()})
    moved = make_event("pupil.moved", {"pupil_id": "A", "from_org_id": "s1", "to_org_id": "s2",
                                       "moved_on": TODAY.isoformat()}, org_id="s1", actor="p")
    env.handlers.on_pupil_moved(moved)
    env.handlers.on_pupil_moved(moved)  # redelivered: changes nothing more

    assert http.get(env.base + P + "/pupils/A/map", headers=s1).status_code == 404
    m = http.get(env.base + P + "/pupils/A/map", headers=s2).json()
    assert m["pupil"]["org_id"] == "s2" and len(m["targets"]) == 1
    by_id = {a["id"]: a for a in m["assignments"]}
    assert by_id[alone["id"]]["org_id"] == "s2"  # provision for A alone moves with A
    assert by_id[group["id"]]["org_id"] == "s1"  # the group stays; A's place ends
    # The new school sees A's place in the old group, not the other pupils in it.
    [place] = by_id[group["id"]]["members"]
    assert place["pupil_id"] == "A"
    assert place["left_on"] == (TODAY - timedelta(days=1)).isoformat()
    old_group = http.get(f"{env.base}{P}/assignments/{group['id']}", headers=s1).json()
    assert {x["pupil_id"] for x in old_group["members"]} == {"A", "B"}
    # The new school can now record a session for the provision that moved.
    assert http.post(f"{env.base}{P}/assignments/{alone['id']}/sessions", headers=s2, json={
        "held_on": TODAY.isoformat(), "attendance": [{"pupil_id": "A", "attended": True}]},
    ).status_code == 201


def test_projection_updates_and_erasure(env, http, token):
    env.register("A", "s1", status="K")
    env.handlers.on_pupil_sen_status_changed(make_event("pupil.sen_status_changed", {
        "pupil_id": "A", "org_id": "s1", "sen_status": "E", "primary_need": "ASD",
        "previous_status": "K", "effective_date": TODAY.isoformat(),
        "areas_of_need": ["communication_and_interaction"]}, org_id="s1", actor="p"))
    env.handlers.on_pupil_updated(make_event("pupil.updated", {
        "pupil_id": "A", "org_id": "s1", "year_group": 5, "changed": ["year_group"]},
        org_id="s1", actor="p"))
    senco = h(token, "s1", "senco")
    pupil = http.get(env.base + P + "/pupils/A/map", headers=senco).json()["pupil"]
    assert (pupil["sen_status"], pupil["primary_need"], pupil["year_group"]) == ("E", "ASD", 5)
    entry = make_entry(env, http, senco)
    http.post(env.base + P + "/assignments", json=assignment_body(entry, ["A"]), headers=senco)
    http.post(env.base + P + "/targets", headers=senco,
              json={**TARGET, "pupil_id": "A", "due_date": TODAY.isoformat()})
    env.handlers.on_pupil_erased(make_event("pupil.erased", {
        "pupil_id": "A", "org_id": "s1", "mode": "erased"}, org_id="s1", actor="p"))
    assert http.get(env.base + P + "/pupils/A/map", headers=senco).status_code == 404
    for table in ("pupils", "assignments", "assignment_pupils", "targets"):
        assert env.count(table) == 0, table


# -- costs and impact reports on a known data set ---------------------------------

def test_costs_and_impact_report_hand_checked(env, http, token):
    """Reading catch-up (£20 a session) for A and B at s1 from Mon 2 to Fri 27 Nov 2026,
    twice a week. Sessions: 3 Nov (A, B), 4 Nov (A, B), 5 Nov (A alone).
    A: 10 + 10 + 20 = 40; B: 10 + 10 = 20; to date 60.
    Projected as of Fri 20 Nov: 23–27 Nov is 5 school days = 2 sessions × £20 = 40,
    shared by A and B: A 60, B 40, total 100. Budget 1000: 900 remaining, 10% used.
    Targets: A's exceeded (old +2, rank 4), B's working towards (old 0, rank 1): share
    met 50%, average progress 2.5 (partially met), cost per pupil 30, per target met 60."""
    env.onboard("s1")
    env.onboard("trust", kind="trust", name="The Trust")
    env.register("A", "s1", registration_group="4B")
    env.register("B", "s1", registration_group="4C")
    senco, admin = h(token, "s1", "senco"), h(token, "trust", "trust_admin")
    assert http.put(env.base + P + "/organisations/s1/settings", headers=admin,
                    json={"sen_budget": "1000.00"}).status_code == 200
    entry, targets = reading_catch_up(env, http, senco)
    for tid, progress in zip(targets, (2, 0), strict=True):
        assert http.post(f"{env.base}{P}/targets/{tid}/outcomes", headers=senco, json={
            "reviewed_on": "2026-11-13", "progress": progress}).status_code == 201

    costs = http.get(env.base + P + "/costs", params={"as_of": "2026-11-20"},
                     headers=senco).json()
    assert (costs["cost_to_date"], costs["cost_projected"]) == ("60.00", "100.00")
    assert (costs["sen_budget"], costs["budget_remaining"]) == ("1000.00", "900.00")
    assert costs["budget_used_projected"] == "10.0"
    assert costs["per_tier"] == [{"key": "targeted", "cost_to_date": "60.00",
                                  "cost_projected": "100.00"}]
    pupils = http.get(env.base + P + "/costs", params={"as_of": "2026-11-20", "view": "pupil"},
                      headers=senco).json()["rows"]
    assert [(r["key"], r["cost_to_date"], r["cost_projected"]) for r in pupils] == [
        ("A", "40.00", "60.00"), ("B", "20.00", "40.00")]
    # Per class (the registration group from the pupils service's events), and after a
    # pupil.updated that moves B into A's class.
    def by_class():
        return [(r["name"], r["cost_to_date"], r["cost_projected"]) for r in http.get(
            env.base + P + "/costs", params={"as_of": "2026-11-20", "view": "class"},
            headers=senco).json()["rows"]]
    assert by_class() == [("4B", "40.00", "60.00"), ("4C", "20.00", "40.00")]
    env.handlers.on_pupil_updated(make_event("pupil.updated", {
        "pupil_id": "B", "org_id": "s1", "year_group": 4, "changed": ["registration_group"],
        "registration_group": "4B"}, org_id="s1", actor="pupils"))
    assert by_class() == [("4B", "60.00", "100.00")]

    expected = {"catalogue_id": entry, "provision": "Reading catch-up", "tier": "targeted",
                "pupils": 2, "targets": 2, "targets_reviewed": 2, "targets_met": 1,
                "share_met": "50.0", "average_progress": "2.50",
                "average_level": "partially met", "cost_to_date": "60.00",
                "cost_per_pupil": "30.00", "cost_per_target_met": "60.00"}
    report = http.get(env.base + P + "/reports/impact", params={"as_of": "2026-11-20"},
                      headers=senco).json()
    assert [{k: r[k] for k in expected} for r in report["rows"]] == [expected]
    # Trust-wide, for the trust's admin and the trust's auditor; by school.
    for who in (admin, h(token, "trust", "auditor")):
        trust = http.get(env.base + P + "/reports/impact", headers=who, params={
            "as_of": "2026-11-20", "group_by": "org"}).json()
        assert [(r["organisation"], r["share_met"], r["cost_per_target_met"])
                for r in trust["rows"]] == [("School s1", "50.0", "60.00")]
    by_org = http.get(env.base + P + "/costs", headers=admin,
                      params={"as_of": "2026-11-20", "view": "org"}).json()["rows"]
    assert by_org == [{"key": "s1", "name": "School s1", "cost_to_date": "60.00",
                       "cost_projected": "100.00"}]
    # CSV export of the same report.
    resp = http.get(env.base + P + "/reports/impact", headers=senco,
                    params={"as_of": "2026-11-20", "format": "csv"})
    assert resp.headers["Content-Type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(resp.text)))
    assert {k: row[k] for k in ("pupils", "share_met", "cost_per_pupil")} == {
        "pupils": "2", "share_met": "50.0", "cost_per_pupil": "30.00"}
    cost_csv = http.get(env.base + P + "/costs", headers=senco,
                        params={"as_of": "2026-11-20", "view": "pupil", "format": "csv"})
    assert cost_csv.text.splitlines()[1] == "A,40.00,60.00"
    # Another school sees its own (empty) report, never s1's; teachers see no reports.
    other = http.get(env.base + P + "/reports/impact", headers=h(token, "s2", "senco")).json()
    assert other["rows"] == []
    assert http.get(env.base + P + "/reports/impact", headers=h(token, "s2", "senco"),
                    params={"org_id": "s1"}).status_code == 404
    assert http.get(env.base + P + "/reports/impact",
                    headers=h(token, "s1", "teacher")).status_code == 403
    # A school's own auditor reads that school only.
    assert http.get(env.base + P + "/reports/impact", headers=h(token, "s2", "auditor"),
                    params={"org_id": "s1"}).status_code == 404
    assert len(http.get(env.base + P + "/reports/impact", headers=h(token, "s1", "auditor"),
                        params={"as_of": "2026-11-20"}).json()["rows"]) == 1
    bad = http.get(env.base + P + "/reports/impact", headers=senco, params={"group_by": "x"})
    assert bad.status_code == 422 and "group_by" in bad.json()["errors"]

    # Provision planned to start after the as-of day: projected (one £20 session in
    # Mon 23 – Fri 27 Nov for B), not yet in the impact report.
    assert http.post(env.base + P + "/assignments", headers=senco, json={
        "catalogue_id": entry, "pupil_ids": ["B"], "start_date": "2026-11-23",
        "end_date": "2026-11-27", "sessions_per_week": "1", "staff": "Mr Kay"},
    ).status_code == 201
    costs = http.get(env.base + P + "/costs", params={"as_of": "2026-11-20"},
                     headers=senco).json()
    assert (costs["cost_to_date"], costs["cost_projected"]) == ("60.00", "120.00")
    report = http.get(env.base + P + "/reports/impact", params={"as_of": "2026-11-20"},
                      headers=senco).json()
    assert [{k: r[k] for k in expected} for r in report["rows"]] == [expected]


def test_recommendations_from_closed_referrals_reach_only_that_school(env, http, token):
    closed = make_event("referral.closed", {
        "referral_id": "r-1", "reference": "REF-AAAA-0001", "school_org_id": "s1",
        "contact": {"name": "Jo Smith", "email": "jo@s1.example"}, "outcome": "advice_given",
        "areas_of_need": ["communication_and_interaction"],
        "recommended_provision": ["Attention Autism", "Visual timetable"]},
        org_id="s1", actor="outreach")
    env.handlers.on_referral_closed(closed)
    env.handlers.on_referral_closed(closed)  # redelivered: one row still
    listed = http.get(env.base + P + "/recommendations", headers=h(token, "s1", "senco")).json()
    assert [(r["reference"], r["recommended_provision"]) for r in listed] == [
        ("REF-AAAA-0001", ["Attention Autism", "Visual timetable"])]
    assert http.get(env.base + P + "/recommendations",
                    headers=h(token, "s2", "senco")).json() == []


def test_pupils_events_over_the_broker_build_the_projection_once(env, http, token):
    from nameko.standalone.events import event_dispatcher

    from services.common import deadletters
    from tests.conftest import wait_until

    dispatch = event_dispatcher()
    registered = make_event("pupil.registered", {
        "pupil_id": "P9", "org_id": "s1", "year_group": 3, "sen_status": "K",
        "primary_need": "SLCN", "areas_of_need": ["communication_and_interaction"]},
        org_id="s1", actor="pupils")
    for _ in range(2):  # a redelivery
        dispatch("pupils", "pupil.registered", registered)
    dispatch("pupils", "pupil.moved", make_event("pupil.moved", {
        "pupil_id": "P9", "from_org_id": "s1", "to_org_id": "s2",
        "moved_on": TODAY.isoformat()}, org_id="s1", actor="pupils"))
    broken = make_event("pupil.registered", {**registered["data"], "pupil_id": "P10"},
                        org_id="s1", actor="pupils")
    broken["data"]["sen_status"] = "Z"
    dispatch("pupils", "pupil.registered", broken)
    too_long = make_event("pupil.registered", {**registered["data"], "pupil_id": "x" * 80},
                          org_id="s1", actor="pupils")
    dispatch("pupils", "pupil.registered", too_long)

    s2 = h(token, "s2", "senco")
    assert wait_until(lambda: http.get(env.base + P + "/pupils/P9/map",
                                       headers=s2).status_code == 200, timeout=10)
    assert env.count("pupils") == 1
    def dead_letters():
        try:
            return deadletters.list_dead_letters("provision")
        except Exception:  # noqa: BLE001 - a new quorum queue may need a moment
            return None

    letters = wait_until(lambda: (dead_letters() or [None])[1:] and dead_letters(), timeout=15)
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(reasons) == 2
    assert "pupil_id is not an identifier" in reasons[0] and "sen_status" in reasons[1]


def test_openapi_document_lists_the_provision_api(env, http):
    doc = http.get(env.base + P + "/openapi.json").json()
    for path in ("/api/v1/provision/assignments", "/api/v1/provision/reports/impact",
                 "/api/v1/provision/cycles/{cycle_id}/review",
                 "/api/v1/provision/pupils/{pupil_id}/map"):
        assert path in doc["paths"], path
    assert http.get(env.base + "/health/live").json()["service"] == "provision"


def test_openapi_money_bounds_are_json_numbers(env, http):
    doc = http.get(env.base + "/api/v1/provision/openapi.json").json()
    bounds = [v for schema in doc["components"]["schemas"].values()
              for prop in schema.get("properties", {}).values()
              for k, v in prop.items() if k in ("minimum", "maximum")]
    assert bounds and all(isinstance(v, int | float) for v in bounds)


# -- the school calendar --------------------------------------------------------------

def test_school_calendar_la_pattern_own_dates_and_costs(env, http, token):
    """The 1999 School Day and School Year Regulations: 190 days (380 sessions). s1 sets
    an INSET day on Mon 23 Nov 2026: the planned sessions of 23–27 Nov fall from 5 school
    days (2 sessions × £20 = 40) to 4 (1.6 sessions = 32)."""
    env.onboard("s1")
    env.register("A", "s1")
    senco = h(token, "s1", "senco")
    url = f"{env.base}{P}/organisations/s1/calendar/2026-27"
    la = http.get(url, headers=senco).json()
    assert (la["source"], la["school_days"], la["sessions"], la["warnings"]) == (
        "local_authority_pattern", 190, 380, [])
    entry = make_entry(env, http, senco)
    assert http.post(env.base + P + "/assignments", headers=senco, json={
        "catalogue_id": entry, "pupil_ids": ["A"], "start_date": "2026-11-02",
        "end_date": "2026-11-27", "sessions_per_week": "2", "staff": "Ms Reed"}
    ).status_code == 201

    def projected():
        return http.get(env.base + P + "/costs", params={"as_of": "2026-11-20"},
                        headers=senco).json()["cost_projected"]
    assert projected() == "40.00"
    body = {"terms": la["terms"], "inset_days": la["inset_days"] + ["2026-11-23"]}
    own = http.put(url, headers=senco, json=body)
    assert own.status_code == 200, own.text
    assert (own.json()["source"], own.json()["school_days"]) == ("school", 189)
    assert own.json()["warnings"] == [
        "189 school days: the statutory school year is 190 days (380 sessions)"]
    assert projected() == "32.00"
    bad = http.put(url, headers=senco, json={**body, "inset_days": ["2026-12-25"]})
    assert bad.status_code == 422 and "inset_days.0" in bad.json()["errors"]
    assert http.get(f"{env.base}{P}/organisations/s1/calendar/2026-28",
                    headers=senco).status_code == 404
    assert http.put(url, headers=h(token, "s2", "senco"), json=body).status_code == 404


def test_class_map_pupil_by_pupil_with_costs_outcomes_cycles_and_totals(env, http, token):
    """The costed provision map of a class (4B: A with provision, C with none) and of a
    year group, as the LA asks for it: the reading catch-up of the costs test (£20 a
    session, twice a week, 30 minutes, 2-27 Nov 2026; A 40 to date, 60 projected; B 20
    and 40 as of 20 Nov)."""
    env.onboard("s1")
    env.onboard("trust", kind="trust", name="The Trust")
    env.register("A", "s1", registration_group="4B")
    env.register("B", "s1", registration_group="4C")
    env.register("C", "s1", registration_group="4B")
    senco = h(token, "s1", "senco")
    entry, targets = reading_catch_up(env, http, senco)
    assert http.post(f"{env.base}{P}/targets/{targets[0]}/outcomes", headers=senco, json={
        "reviewed_on": "2026-11-13", "level": "exceeded", "score": "98"}).status_code == 201
    cycle = http.post(env.base + P + "/cycles", headers=senco, json={
        "pupil_id": "A", "started_on": "2026-11-02",
        "review_date": (TODAY + timedelta(days=5)).isoformat()}).json()

    resp = http.get(env.base + P + "/map", headers=senco,
                    params={"registration_group": "4B", "as_of": "2026-11-20"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["org_id"], body["organisation"], body["registration_group"]) == (
        "s1", "School s1", "4B")
    assert [(p["pupil_id"], p["year_group"], p["registration_group"]) for p in body["pupils"]
            ] == [("A", 4, "4B"), ("C", 4, "4B")]
    pupil_a, pupil_c = body["pupils"]
    [provision] = pupil_a["provisions"]
    assert {k: provision[k] for k in ("provision", "tier", "staff", "group_size", "start_date",
                                      "end_date", "status", "statutory", "delivered_by")} == {
        "provision": "Reading catch-up", "tier": "targeted", "staff": "Ms Reed",
        "group_size": 2, "start_date": "2026-11-02", "end_date": "2026-11-27",
        "status": "active", "statutory": False, "delivered_by": "teaching_assistant"}
    assert provision["frequency"] == {"sessions_per_week": "2.0", "session_minutes": 30,
                                      "hours_per_week": "1.00"}
    assert provision["cost"] == {"to_date": "40.00", "projected": "60.00"}
    assert [(o["target_id"], o["latest_level"], o["latest_reviewed_on"], o["met"])
            for o in provision["outcomes"]] == [(targets[0], "exceeded", "2026-11-13", True)]
    assert [c["id"] for c in pupil_a["cycles"]] == [cycle["id"]]
    assert pupil_a["totals"] == {"provisions": 1, "hours_per_week": "1.00",
                                 "cost_to_date": "40.00", "cost_projected": "60.00"}
    assert (pupil_c["provisions"], pupil_c["cycles"], pupil_c["totals"]["cost_to_date"]) == (
        [], [], "0.00")
    assert body["totals"] == {"pupils": 2, "provisions": 1, "hours_per_week": "1.00",
                              "cost_to_date": "40.00", "cost_projected": "60.00"}
    year = http.get(env.base + P + "/map", headers=senco,
                    params={"year_group": 4, "as_of": "2026-11-20"}).json()
    assert [p["pupil_id"] for p in year["pupils"]] == ["A", "C", "B"]
    # one group provision, two pupils: each row lists that pupil's own target only
    own = {p["pupil_id"]: [o["target_id"] for pr in p["provisions"] for o in pr["outcomes"]]
           for p in year["pupils"]}
    assert own == {"A": [targets[0]], "C": [], "B": [targets[1]]}
    assert (year["totals"]["cost_to_date"], year["totals"]["cost_projected"]) == (
        "60.00", "100.00")

    # Scoped like the other reads: trust-wide names the school; another school's is a 404
    admin = h(token, "trust", "trust_admin")
    assert http.get(env.base + P + "/map", headers=admin, params={"org": "s1"}).json()[
        "totals"]["pupils"] == 3
    missing = http.get(env.base + P + "/map", headers=admin)
    assert missing.status_code == 422 and "org" in missing.json()["errors"]
    assert http.get(env.base + P + "/map", headers=h(token, "s2", "senco"),
                    params={"org": "s1"}).status_code == 404
    assert http.get(env.base + P + "/map", headers=h(token, "s1", "teacher")).status_code == 403
    # documented in OpenAPI with its response schema
    spec = http.get(env.base + P + "/openapi.json").json()
    assert "200" in spec["paths"][P + "/map"]["get"]["responses"]

    # The JSON views the portal names pupils in carry the pupil's id, year group and class
    rows = http.get(env.base + P + "/costs", headers=senco,
                    params={"as_of": "2026-11-20", "view": "pupil"}).json()["rows"]
    assert [(r["pupil_id"], r["year_group"], r["registration_group"]) for r in rows] == [
        ("A", 4, "4B"), ("B", 4, "4C")]
    due = http.get(env.base + P + "/reviews/due", headers=senco).json()
    assert [(c["pupil_id"], c["year_group"], c["registration_group"]) for c in due["due"]] == [
        ("A", 4, "4B")]
    impact = http.get(env.base + P + "/reports/impact", headers=senco, params={
        "as_of": "2026-11-20", "group_by": "pupil"}).json()["rows"]
    assert [(r["pupil_id"], r["year_group"], r["registration_group"], r["org_id"],
             r["targets"], r["targets_reviewed"], r["targets_met"], r["cost_to_date"])
            for r in impact] == [("A", 4, "4B", "s1", 1, 1, 1, "40.00"),
                                 ("B", 4, "4C", "s1", 1, 0, 0, "20.00")]
    by_provision = http.get(env.base + P + "/reports/impact", headers=senco,
                            params={"as_of": "2026-11-20"}).json()["rows"]
    assert [(r["pupil_id"], r["cost_to_date"]) for r in by_provision] == [(None, "60.00")]
    pupil_csv = http.get(env.base + P + "/reports/impact", headers=senco, params={
        "as_of": "2026-11-20", "group_by": "pupil", "format": "csv"})
    assert pupil_csv.text.splitlines()[0].startswith("pupil_id,year_group,registration_group")
