"""The whole outreach journey through the real HTTP entrypoints on a running
container: transitions and their events, triage criteria, visits and reports,
agreements and the hours ledger, capacity, clocks and role scoping."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, text

from services.common.db import open_database
from services.referrals import domain
from services.referrals.commands import scan_overdue
from services.referrals.models import Base
from services.referrals.service import ReferralsService
from tests.conftest import bearer
from tests.helpers import referral_body

URL = "/api/v1/referrals"
TRUST = "trust-1"
CYCLES = [{"started_on": "2026-09-07", "reviewed_on": "2026-10-05",
           "provision": "Visual timetable", "outcome": "Calmer mornings"},
          {"started_on": "2026-10-06", "reviewed_on": "2026-11-02",
           "provision": "Small-group social skills", "outcome": "Little change"}]
PRACTITIONER = {"sub": "pat@trust.example", "name": "Pat Lee", "email": "pat@trust.example"}
VISIT = {"visit_date": "2026-11-10", "minutes": 90, "seen": ["pupil", "senco"],
         "observations": "Observed in two lessons.", "recommendations": "Now-and-next board."}


def this_term():
    return domain.term_of(domain.london_date(datetime.now(UTC)))


@pytest.fixture
def svc(run_service, database_urls, engine_name, http, token):
    base, container, db_url = run_service(ReferralsService,
                                          db_url=database_urls("referrals", engine_name))
    return Client(base, container, db_url, http, token)


class Client:
    def __init__(self, base, container, db_url, http, token):
        self.base, self.container, self.db_url, self.http = base, container, db_url, http
        self.school = bearer(token("school-a", "partner_referrer", sub="jo@school-a"))
        self.other_school = bearer(token("school-b", "partner_referrer", sub="al@school-b"))
        self.lead = bearer(token(TRUST, "outreach_lead", sub="lee@trust.example"))
        self.admin = bearer(token(TRUST, "trust_admin", sub="admin@trust.example"))
        self.pat = bearer(token(TRUST, "outreach", sub=PRACTITIONER["sub"]))
        self.kim = bearer(token(TRUST, "outreach", sub="kim@trust.example"))
        self.auditor = bearer(token(TRUST, "auditor", sub="aud@trust.example"))

    def post(self, path, who, body=None):
        return self.http.post(self.base + path, json=body if body is not None else {},
                              headers=who)

    def get(self, path, who, **params):
        return self.http.get(self.base + path, headers=who, params=params)

    def agreement(self, school="school-a", **kw):
        year, term = this_term()
        body = {"school_org_id": school, "academic_year": year, "term": term,
                "hours_bought": 10, **kw}
        resp = self.post("/api/v1/agreements", self.admin, body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def submit(self, who=None, **overrides):
        body = referral_body(**{"graduated_approach": CYCLES, **overrides})
        resp = self.post(URL, who or self.school, body)
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    def act(self, rid, action, who, body=None, expect=200):
        resp = self.post(f"{URL}/{rid}/{action}", who, body)
        assert resp.status_code == expect, resp.text
        return resp.json()

    def allocated(self, **agreement):
        """A referral accepted and allocated to Pat, with its agreement."""
        a = self.agreement(**agreement)
        rid = self.submit()
        self.act(rid, "accept", self.lead)
        self.act(rid, "allocate", self.lead, {"practitioner": PRACTITIONER})
        return rid, a

    def sql(self, statement, **params):
        engine = create_engine(self.db_url)
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            rows = result.all() if result.returns_rows else None
        engine.dispose()
        return rows

    def events(self, type_=None):
        bodies = [json.loads(b) for (b,) in self.sql("SELECT body FROM outbox ORDER BY id")]
        return [b for b in bodies if type_ is None or b["type"] == type_]


def test_one_referral_from_submission_to_closure(svc):
    svc.agreement()
    rid = svc.submit()
    asked = svc.act(rid, "request-info", svc.lead, {"question": "Any EP report?"})
    assert asked["status"] == "info_requested" and asked["acknowledged_at"]

    # the school edits while more information is requested, then resubmits
    edit = svc.http.patch(f"{svc.base}{URL}/{rid}", headers=svc.school,
                          json={"support_so_far": "Also a daily check-in."})
    assert edit.status_code == 200 and edit.json()["concerns"] == referral_body()["concerns"]
    bad = svc.act(rid, "submit", svc.school, {}, expect=422)
    assert "info_answer" in bad["errors"]
    again = svc.act(rid, "submit", svc.school, {"info_answer": "No EP involvement yet."})
    assert again["status"] == "submitted" and again["info_answer"]

    accepted = svc.act(rid, "accept", svc.lead)
    assert accepted["status"] == "accepted" and accepted["waiting"] is False
    svc.act(rid, "allocate", svc.lead, {"practitioner": PRACTITIONER})
    visit = svc.post(f"{URL}/{rid}/visits", svc.pat, VISIT)
    assert visit.status_code == 201 and visit.json()["override"] is False
    assert svc.get(URL + f"/{rid}", svc.pat).json()["status"] == "in_progress"
    report = svc.act(rid, "report", svc.pat, {
        "summary": "Needs predictable transitions.",
        "recommendations": [{"text": "Autism awareness training", "course_id": "course-7"},
                            {"text": "Sensory circuit", "provision": "Sensory circuit"}]})
    assert report["status"] == "report_issued" and report["report"]["id"]
    closed = svc.act(rid, "close", svc.lead, {"outcome": "needs_met_in_school"})
    assert closed["status"] == "closed" and closed["allowed_actions"] == []

    history = svc.get(f"{URL}/{rid}/transitions", svc.school).json()
    assert [(t["from_status"], t["to_status"]) for t in history] == [
        (None, "submitted"), ("submitted", "info_requested"), ("info_requested", "submitted"),
        ("submitted", "accepted"), ("accepted", "allocated"), ("allocated", "in_progress"),
        ("in_progress", "report_issued"), ("report_issued", "closed")]
    assert history[3]["actor"] == "lee@trust.example" and history[5]["actor"] == PRACTITIONER["sub"]
    assert [e["type"] for e in svc.events()] == [
        "referral.submitted", "referral.info_requested", "referral.submitted",
        "referral.accepted", "referral.allocated", "referral.visit_logged",
        "referral.report_issued", "referral.closed"]
    assert svc.events("referral.submitted")[1]["data"]["resubmission"] is True
    acc = svc.events("referral.accepted")[0]["data"]
    # issue 13: the UPN alone links the pupil; no name or date of birth travels
    assert acc["pupil_upn"] == "B801200005001" and "pupil" not in acc
    assert "Taylor" not in json.dumps(acc)
    # issue 15: one referral's events are numbered in the order they happened
    assert [e["data"]["sequence"] for e in svc.events()] == list(range(1, 9))
    done = svc.events("referral.closed")[0]["data"]
    assert done["recommended_course_ids"] == ["course-7"]
    assert done["outcome"] == "needs_met_in_school"


def test_illegal_transitions_are_409_and_change_nothing(svc):
    svc.agreement()
    rid = svc.submit()
    before = len(svc.events())
    for action, body in [("allocate", {"practitioner": PRACTITIONER}),
                         ("report", {"summary": "x"}), ("close", {"outcome": "no_further_action"}),
                         ("visits", VISIT)]:
        resp = svc.post(f"{URL}/{rid}/{action}", svc.admin, body)
        assert resp.status_code == 409, resp.text
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert resp.json()["errors"] == {"status": ["submitted"]}
    svc.act(rid, "decline", svc.lead, {"reason": "outside_remit"})
    for action, who in [("accept", svc.lead), ("withdraw", svc.school), ("submit", svc.school)]:
        assert svc.post(f"{URL}/{rid}/{action}", who).status_code == 409
    assert len(svc.events()) == before + 1
    assert svc.events("referral.declined")[0]["data"]["reason"] == "outside_remit"
    assert len(svc.get(f"{URL}/{rid}/transitions", svc.auditor).json()) == 2


def test_drafts_edits_and_withdrawal(svc):
    draft = svc.post(URL + "/drafts", svc.school, {"pupil": {"first_name": "Sam"}})
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    rid = draft.json()["id"]
    incomplete = svc.act(rid, "submit", svc.school, {}, expect=422)
    assert {"pupil.last_name", "contact.email", "parental_consent.given"} <= set(incomplete["errors"])
    full = referral_body(graduated_approach=CYCLES)
    resp = svc.http.patch(f"{svc.base}{URL}/{rid}", headers=svc.school, json=full)
    assert resp.status_code == 200, resp.text
    bad = svc.http.patch(f"{svc.base}{URL}/{rid}", headers=svc.school,
                         json={"pupil": {"upn": "A801200005001"}})
    assert bad.status_code == 422 and "pupil.upn" in bad.json()["errors"]
    assert svc.events() == []  # a draft is the school's own business
    assert svc.act(rid, "submit", svc.school)["status"] == "submitted"
    locked = svc.http.patch(f"{svc.base}{URL}/{rid}", headers=svc.school,
                            json={"concerns": "More."})
    assert locked.status_code == 409
    assert svc.act(rid, "withdraw", svc.school)["status"] == "withdrawn"
    assert [e["type"] for e in svc.events()] == ["referral.submitted", "referral.withdrawn"]
    # another school can neither see nor touch it
    assert svc.post(f"{URL}/{rid}/withdraw", svc.other_school).status_code == 404
    assert svc.http.patch(f"{svc.base}{URL}/{rid}", headers=svc.other_school,
                          json={"concerns": "x"}).status_code == 404


def test_triage_criteria_are_checked_and_the_unmet_listed(svc):
    rid = svc.submit(graduated_approach=CYCLES[:1])
    no_deal = svc.get(f"{URL}/{rid}/triage", svc.lead).json()
    assert no_deal["all_met"] is False and no_deal["agreement_id"] is None
    assert svc.act(rid, "accept", svc.lead, expect=409)["errors"].keys() == {"agreement"}

    svc.agreement(min_cycles=2, upn_required=True)
    checked = svc.get(f"{URL}/{rid}/triage", svc.lead).json()
    unmet = {c["name"] for c in checked["criteria"] if not c["met"]}
    assert unmet == {"graduated_approach_cycles"}
    refused = svc.act(rid, "accept", svc.lead, expect=409)
    assert set(refused["errors"]) == {"graduated_approach_cycles"}
    assert svc.events("referral.accepted") == []
    assert svc.get(f"{URL}/{rid}/triage", svc.school).status_code == 403

    svc.act(rid, "request-info", svc.lead, {"question": "Please add your second cycle."})
    svc.http.patch(f"{svc.base}{URL}/{rid}", headers=svc.school,
                   json={"graduated_approach": CYCLES})
    svc.act(rid, "submit", svc.school, {"info_answer": "Added."})
    assert svc.get(f"{URL}/{rid}/triage", svc.lead).json()["all_met"] is True
    assert svc.act(rid, "accept", svc.lead)["status"] == "accepted"


def test_a_panel_override_accepts_unmet_criteria_and_records_its_reason(svc):
    svc.agreement(min_cycles=2)
    rid = svc.submit(graduated_approach=CYCLES[:1])
    assert svc.act(rid, "accept", svc.lead, expect=409)["errors"].keys() == {
        "graduated_approach_cycles"}
    # an override needs its reason; a reason needs the override (422 naming the field)
    assert "override_reason" in svc.act(rid, "accept", svc.lead, {"panel_override": True},
                                        expect=422)["errors"]
    assert "override_reason" in svc.act(rid, "accept", svc.lead,
                                        {"override_reason": "Urgent"}, expect=422)["errors"]
    assert svc.act(rid, "accept", svc.school, {"panel_override": True,
                                               "override_reason": "x"}, expect=403)
    accepted = svc.act(rid, "accept", svc.lead, {
        "panel_override": True, "override_reason": "Risk of exclusion: the panel agreed."})
    assert accepted["status"] == "accepted" and accepted["panel_override"] is True
    assert accepted["override_reason"] == "Risk of exclusion: the panel agreed."
    assert svc.get(f"{URL}/{rid}", svc.school).json()["override_reason"] == \
        "Risk of exclusion: the panel agreed."
    assert len(svc.events("referral.accepted")) == 1

    # criteria met: no body at all still accepts, and nothing is recorded as an override
    met = svc.submit()
    plain = svc.http.post(f"{svc.base}{URL}/{met}/accept", headers=svc.lead)
    assert plain.status_code == 200, plain.text
    assert plain.json()["panel_override"] is False and plain.json()["override_reason"] is None


def test_role_scoping(svc):
    rid, _ = svc.allocated()
    other = svc.submit()
    # outreach sees only what is allocated to them
    assert [r["id"] for r in svc.get(URL, svc.pat).json()["items"]] == [rid]
    assert svc.get(URL, svc.kim).json()["total"] == 0
    assert svc.get(f"{URL}/{rid}", svc.kim).status_code == 404
    assert svc.post(f"{URL}/{rid}/visits", svc.kim, VISIT).status_code == 404
    assert svc.get(f"{URL}/{other}", svc.pat).status_code == 404
    # trust_admin, the lead and the auditor see all; the auditor changes nothing
    for who in (svc.admin, svc.lead, svc.auditor):
        assert svc.get(URL, who).json()["total"] == 2
    assert svc.post(f"{URL}/{other}/accept", svc.auditor).status_code == 403
    assert svc.post(f"{URL}/{other}/request-info", svc.auditor,
                    {"question": "?"}).status_code == 403
    # the school cannot triage, outreach cannot accept or close
    assert svc.post(f"{URL}/{other}/accept", svc.school).status_code == 403
    assert svc.post(f"{URL}/{other}/accept", svc.pat).status_code == 403
    assert svc.post(URL, svc.lead, referral_body()).status_code == 403
    # another school sees nothing of school-a's
    assert svc.get(URL, svc.other_school).json()["total"] == 0
    assert svc.get(f"{URL}/{rid}/visits", svc.other_school).status_code == 404
    assert svc.get(f"{URL}/{rid}/transitions", svc.other_school).status_code == 404


def test_hours_ledger_with_override_and_statement(svc):
    rid, agreement = svc.allocated(hours_bought=2)
    assert svc.post(f"{URL}/{rid}/visits", svc.pat, VISIT).status_code == 201  # 90 of 120
    over = svc.post(f"{URL}/{rid}/visits", svc.pat, {**VISIT, "minutes": 60})
    assert over.status_code == 409 and "minutes" in over.json()["errors"]
    denied = svc.post(f"{URL}/{rid}/visits", svc.pat, {**VISIT, "minutes": 60, "override": True})
    assert denied.status_code == 403
    bad = svc.post(f"{URL}/{rid}/visits", svc.pat, {**VISIT, "minutes": 0, "seen": ["cat"]})
    assert bad.status_code == 422 and {"minutes", "seen.0"} <= set(bad.json()["errors"])
    forced = svc.post(f"{URL}/{rid}/visits", svc.admin, {**VISIT, "minutes": 60,
                                                          "override": True})
    assert forced.status_code == 201, forced.text
    assert forced.json()["override"] is True and forced.json()["override_by"]
    assert len(svc.events("referral.visit_logged")) == 2

    statement = svc.get(f"/api/v1/agreements/{agreement['id']}/statement", svc.school).json()
    assert statement["hours_bought"] == 2 and statement["hours_used"] == 2.5
    assert statement["hours_left"] == -0.5 and statement["overridden_hours"] == 1
    assert [(line["minutes"], line["override"]) for line in statement["lines"]] == [
        (90, False), (60, True)]
    assert svc.get(f"/api/v1/agreements/{agreement['id']}", svc.school).json()[
        "hours_used"] == 2.5
    assert svc.get(f"/api/v1/agreements/{agreement['id']}/statement",
                   svc.other_school).status_code == 404
    assert len(svc.get(f"{URL}/{rid}/visits", svc.school).json()) == 2


def test_agreements_are_managed_by_trust_admin_and_read_by_their_school(svc):
    a = svc.agreement(capacity=3)
    year, term = this_term()
    dup = svc.post("/api/v1/agreements", svc.admin, {"school_org_id": "school-a",
                                                      "academic_year": year, "term": term,
                                                      "hours_bought": 1})
    assert dup.status_code == 409
    assert svc.post("/api/v1/agreements", svc.school, {"school_org_id": "school-a",
                                                        "academic_year": year, "term": term,
                                                        "hours_bought": 1}).status_code == 403
    bad = svc.post("/api/v1/agreements", svc.admin, {"school_org_id": "school-b",
                                                      "academic_year": "2026/28",
                                                      "term": "winter", "hours_bought": -1})
    assert bad.status_code == 422
    assert {"academic_year", "term", "hours_bought"} <= set(bad.json()["errors"])
    assert svc.get("/api/v1/agreements", svc.school).json()["items"][0]["id"] == a["id"]
    assert svc.get("/api/v1/agreements", svc.other_school).json()["items"] == []
    assert svc.get(f"/api/v1/agreements/{a['id']}", svc.other_school).status_code == 404
    changed = svc.http.patch(f"{svc.base}/api/v1/agreements/{a['id']}", headers=svc.admin,
                             json={"hours_bought": 12.5, "min_cycles": 1})
    assert changed.status_code == 200 and changed.json()["hours_left"] == 12.5
    assert svc.http.patch(f"{svc.base}/api/v1/agreements/{a['id']}", headers=svc.school,
                          json={"hours_bought": 99}).status_code == 403


def test_capacity_waiting_list_in_order(svc):
    first, agreement = svc.allocated(capacity=1)
    second, third = svc.submit(), svc.submit()
    assert svc.act(second, "accept", svc.lead)["waiting"] is True
    assert svc.act(third, "accept", svc.lead)["waiting"] is True
    assert [e["data"]["waiting"] for e in svc.events("referral.accepted")] == [False, True, True]
    refused = svc.act(second, "allocate", svc.lead, {"practitioner": PRACTITIONER}, expect=409)
    assert "waiting" in refused["errors"]
    queue = svc.get(URL, svc.lead, waiting="true").json()["items"]
    assert [r["id"] for r in queue] == [second, third]
    assert svc.get(f"/api/v1/agreements/{agreement['id']}", svc.lead).json()["waiting"] == 2

    # closing the first frees its place for the second, in order
    svc.post(f"{URL}/{first}/visits", svc.pat, VISIT)
    svc.act(first, "report", svc.pat, {"summary": "Done."})
    svc.act(first, "close", svc.lead, {"outcome": "no_further_action"})
    granted = svc.events("referral.place_granted")
    assert [e["data"]["referral_id"] for e in granted] == [second]
    assert svc.get(f"{URL}/{third}", svc.lead).json()["waiting"] is True
    svc.act(second, "allocate", svc.lead, {"practitioner": PRACTITIONER})

    # raising the cap grants the next place
    svc.http.patch(f"{svc.base}/api/v1/agreements/{agreement['id']}", headers=svc.admin,
                   json={"capacity": 2})
    assert svc.get(f"{URL}/{third}", svc.lead).json()["waiting"] is False
    assert len(svc.events("referral.place_granted")) == 2


def test_overdue_is_listed_and_announced_once_per_breach(svc):
    late, fresh = svc.submit(), svc.submit()
    long_ago = datetime.now(UTC) - timedelta(days=40)
    svc.sql("UPDATE referrals SET submitted_at=:t, first_submitted_at=:t WHERE id=:id",
            t=long_ago, id=late)
    listed = svc.get(URL + "/overdue", svc.lead).json()["items"]
    assert {(i["referral_id"], i["clock"]) for i in listed} == {(late, "acknowledge"),
                                                               (late, "triage")}
    assert svc.get(URL + "/overdue", svc.school).status_code == 403

    with entrypoint_hook(svc.container, "overdue_timer") as tick:
        tick()
        tick()
    overdue = svc.events("referral.overdue")
    assert sorted(e["data"]["clock"] for e in overdue) == ["acknowledge", "triage"]
    assert {e["data"]["referral_id"] for e in overdue} == {late}

    # the core, as a plain function: acknowledging stops that clock; a resubmission
    # after a request for information starts a new triage clock (a new breach)
    database = open_database("referrals", Base.metadata, url=svc.db_url)
    svc.act(fresh, "acknowledge", svc.lead)
    assert scan_overdue(database, now=datetime.now(UTC) + timedelta(days=60)) == 1
    assert scan_overdue(database, now=datetime.now(UTC) + timedelta(days=60)) == 0
    assert [e["data"]["referral_id"] for e in svc.events("referral.overdue")][-1] == fresh
    assert len(svc.sql("SELECT id FROM overdue_breaches")) == 3


def test_openapi_lists_the_journey(svc):
    doc = svc.http.get(svc.base + "/api/v1/referrals/openapi.json").json()
    for path in ("/api/v1/referrals/drafts", "/api/v1/referrals/{referral_id}/accept",
                 "/api/v1/agreements/{agreement_id}/statement", "/api/v1/referrals/overdue"):
        assert path in doc["paths"], path
    summary = doc["paths"]["/api/v1/referrals"]["post"]["summary"]
    assert "drafts" in summary


def test_dates_in_events_are_valid(svc):
    rid, _ = svc.allocated()
    svc.post(f"{URL}/{rid}/visits", svc.pat, {**VISIT, "visit_date": date.today().isoformat()})
    data = svc.events("referral.visit_logged")[0]["data"]
    assert data["visit_date"] == date.today().isoformat() and data["minutes"] == 90
