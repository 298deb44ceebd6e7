"""The staff directory, the portal's sign-in lookup and what a parent may read, on a
running pupils container: roles, tenancy, events, the same answer for an unknown
address."""

import pytest

from services.pupils.service import PupilsService
from tests.conftest import bearer
from tests.service.test_pupils_api import URL, Env

STAFF = "/api/v1/staff"
LOOKUP = "/api/v1/sign-in/lookup"
PASSPORT = {"about_me": "I like trains.", "strengths": "Maths", "needs": "Routine",
            "what_helps": "A visual timetable", "what_does_not_help": "Noise",
            "pupil_voice": "I want to know what happens next."}


@pytest.fixture
def env(run_service, database_urls, engine_name, http, token):
    """On SQLite and, where TEST_POSTGRES_URL is set, PostgreSQL."""
    base, container, db_url = run_service(PupilsService,
                                          db_url=database_urls("pupils", engine_name),
                                          EHCP_TIMER_SECONDS=3600)
    return Env(base, db_url, http, token)


def portal(env):
    return env.h(env.trust, "portal")


def add(env, headers=None, **body):
    data = {"email": "Dan.Price@Oak.example", "name": "Dan Price", "org_id": env.school_a,
            "roles": ["senco"], **body}
    return env.http.post(env.base + STAFF, json=data, headers=headers or env.admin)


def test_trust_admin_manages_the_directory_and_each_change_is_an_event(env):
    resp = add(env, roles=["senco", "teacher", "senco"])
    assert resp.status_code == 201, resp.text
    member = resp.json()
    assert member["email"] == "dan.price@oak.example"  # kept in lower case
    assert member["roles"] == ["senco", "teacher"] and member["active"] is True
    [added] = env.events("staff.member_added")
    assert added["data"] == {"member_id": member["id"], "org_id": env.school_a,
                             "email": "dan.price@oak.example", "name": "Dan Price",
                             "roles": ["senco", "teacher"], "active": True}
    # the same person may hold a second membership elsewhere, but not two at one org
    assert add(env, org_id=env.school_b).status_code == 201
    dup = add(env, email="dan.price@oak.example")
    assert dup.status_code == 409 and "email" in dup.json()["errors"]

    url = f"{env.base}{STAFF}/{member['id']}"
    changed = env.http.patch(url, json={"roles": ["teacher"], "active": False},
                             headers=env.admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["teacher"] and changed.json()["active"] is False
    [event] = env.events("staff.member_changed")
    assert event["data"]["changed"] == ["roles", "active"]
    assert env.http.get(url, headers=env.admin).json()["name"] == "Dan Price"

    listed = env.http.get(env.base + STAFF, params={"org_id": env.school_b},
                          headers=env.admin).json()
    assert listed["total"] == 1 and listed["items"][0]["org_id"] == env.school_b

    assert env.http.delete(url, headers=env.admin).status_code == 204
    assert env.http.get(url, headers=env.admin).status_code == 404
    [removed] = env.events("staff.member_removed")
    assert removed["data"]["member_id"] == member["id"]


def test_bad_directory_input_names_the_field(env):
    bad_role = add(env, roles=["portal"])
    assert bad_role.status_code == 422 and "roles.0" in bad_role.json()["errors"]
    assert add(env, roles=[]).status_code == 422
    no_org = add(env, org_id="nope")
    assert no_org.status_code == 422 and "org_id" in no_org.json()["errors"]
    bad_email = add(env, email="not-an-address")
    assert bad_email.status_code == 422 and "email" in bad_email.json()["errors"]
    member = add(env).json()
    empty = env.http.patch(f"{env.base}{STAFF}/{member['id']}", json={}, headers=env.admin)
    assert empty.status_code == 422


def test_a_school_senco_reads_only_its_own_staff_and_changes_nothing(env):
    ours = add(env).json()
    theirs = add(env, email="lena@elm.example", name="Lena Novak",
                 org_id=env.school_b).json()
    listed = env.http.get(env.base + STAFF, headers=env.senco_a).json()
    assert [m["id"] for m in listed["items"]] == [ours["id"]]
    asked_for_other = env.http.get(env.base + STAFF, params={"org_id": env.school_b},
                                   headers=env.senco_a).json()
    assert asked_for_other["items"] == []
    assert env.http.get(f"{env.base}{STAFF}/{theirs['id']}",
                        headers=env.senco_a).status_code == 404
    assert env.http.get(f"{env.base}{STAFF}/{ours['id']}",
                        headers=env.senco_a).status_code == 200
    assert add(env, headers=env.senco_a, email="x@oak.example").status_code == 403
    assert env.http.patch(f"{env.base}{STAFF}/{ours['id']}", json={"active": False},
                          headers=env.senco_a).status_code == 403
    assert env.http.delete(f"{env.base}{STAFF}/{ours['id']}",
                           headers=env.senco_a).status_code == 403
    for role in ("teacher", "partner_referrer", "portal", "parent"):
        assert env.http.get(env.base + STAFF,
                            headers=env.h(env.school_a, role)).status_code == 403


def test_sign_in_lookup_names_memberships_and_children_and_nothing_for_strangers(env):
    add(env)
    add(env, org_id=env.trust, roles=["outreach"])
    add(env, email="gone@oak.example", active=False)
    pupil = env.create(guardians=[{
        "name": "Chris Taylor", "relationship": "Parent", "email": "Parent.Taylor@example.com",
        "preferred_channel": "email", "parental_responsibility": True}])
    env.create(n=2, forename="Other", guardians=[{
        "name": "Pat Other", "relationship": "Aunt", "email": "parent.taylor@example.com",
        "preferred_channel": "email", "parental_responsibility": False}])

    staff = env.http.post(env.base + LOOKUP, json={"email": " DAN.price@oak.example "},
                          headers=portal(env))
    assert staff.status_code == 200, staff.text
    body = staff.json()
    assert {(m["org_id"], m["org_kind"], tuple(m["roles"])) for m in body["staff"]} == {
        (env.school_a, "trust_school", ("senco",)), (env.trust, "trust", ("outreach",))}
    assert {m["org_name"] for m in body["staff"]} == {"Oak School", "Trust"}
    assert body["guardian_of"] == []

    parent = env.http.post(env.base + LOOKUP, json={"email": "parent.taylor@example.com"},
                           headers=portal(env)).json()
    assert parent == {"staff": [], "guardian_of": [{
        "pupil_id": pupil["id"], "org_id": env.school_a, "org_name": "Oak School",
        "pupil_name": "Sam1 Taylor"}]}  # not the child without parental responsibility

    for stranger in ("nobody@example.com", "gone@oak.example"):
        resp = env.http.post(env.base + LOOKUP, json={"email": stranger},
                             headers=portal(env))
        assert resp.status_code == 200 and resp.json() == {"staff": [], "guardian_of": []}


def test_only_the_portal_may_look_up_and_the_portal_reads_no_pupils(env):
    pupil = env.create()
    for headers in (env.admin, env.senco_a, env.h(env.trust, "auditor")):
        assert env.http.post(env.base + LOOKUP, json={"email": "a@b.example"},
                             headers=headers).status_code == 403
    for path in (URL, f"{URL}/{pupil['id']}", f"{URL}/{pupil['id']}/passport",
                 f"{URL}/{pupil['id']}/ehc-plans", STAFF):
        assert env.http.get(env.base + path, headers=portal(env)).status_code == 403
    missing = env.http.post(env.base + LOOKUP, json={}, headers=portal(env))
    assert missing.status_code == 422 and "email" in missing.json()["errors"]


def _parent(env, token, pupils, sub="parent.taylor@example.com", org=None):
    return bearer(token(org or env.school_a, "parent", sub=sub, pupils=pupils))


def test_a_parent_reads_only_their_childs_published_passport_and_plan_dates(env, token):
    guardian = {"name": "Chris Taylor", "relationship": "Parent",
                "email": "parent.taylor@example.com", "preferred_channel": "email",
                "parental_responsibility": True}
    child = env.create(guardians=[guardian])
    other = env.create(n=2, forename="Other")
    base = f"{env.base}{URL}/{child['id']}"
    mine = _parent(env, token, [child["id"]])

    empty = env.http.get(base + "/passport", headers=mine)
    assert empty.status_code == 200 and empty.json() == {"items": [], "current": None}
    for _ in range(2):
        assert env.http.post(base + "/passport/versions", json=PASSPORT,
                             headers=env.senco_a).status_code == 201
    assert env.http.post(base + "/passport/versions/1/publish",
                         headers=env.senco_a).status_code == 200
    passport = env.http.get(base + "/passport", headers=mine).json()
    assert [v["version"] for v in passport["items"]] == [1]  # the draft v2 stays hidden
    assert passport["current"]["about_me"] == "I like trains."
    assert "created_by" not in passport["current"] and "org_id" not in passport["current"]

    plan = env.http.post(base + "/ehc-plans", json={"request_date": "2025-01-06"},
                         headers=env.senco_a).json()
    env.http.patch(f"{base}/ehc-plans/{plan['id']}", json={
        "decision_to_assess_on": "2025-02-10", "decision_to_issue_on": "2025-04-01",
        "issued_on": "2025-05-01"}, headers=env.senco_a)
    env.http.post(f"{base}/ehc-plans/{plan['id']}/pauses", json={
        "reason": "exceptional_personal_circumstances", "starts_on": "2025-01-20",
        "ends_on": "2025-01-27"}, headers=env.senco_a)
    plans = env.http.get(base + "/ehc-plans", headers=mine)
    assert plans.status_code == 200, plans.text
    [seen] = plans.json()["items"]
    assert seen["issued_on"] == "2025-05-01" and seen["next_review_due"] == "2026-05-01"
    assert "pauses" not in seen and "assessment_refused" not in seen
    assert seen["deadlines"]["annual_review"]["due"] == "2026-05-01"

    # not another child, not without the claim, not once no longer a guardian
    assert env.http.get(f"{env.base}{URL}/{other['id']}/passport",
                        headers=_parent(env, token, [other["id"]])).status_code == 404
    assert env.http.get(base + "/passport",
                        headers=_parent(env, token, [])).status_code == 404
    assert env.http.get(base + "/passport", headers=_parent(
        env, token, [child["id"]], sub="someone@example.com")).status_code == 404
    for path in ("", "/sen-register"):
        assert env.http.get(base + path, headers=mine).status_code == 403
    assert env.http.post(base + "/passport/versions", json=PASSPORT,
                         headers=mine).status_code == 403
    assert env.http.get(env.base + URL, headers=mine).status_code == 403
    # each read is audited
    assert env.count("audit_log", f"actor = 'parent.taylor@example.com' "
                                  f"AND pupil_id = '{child['id']}'") == 3
    env.http.put(base + "/guardians", json={"guardians": []}, headers=env.senco_a)
    assert env.http.get(base + "/passport", headers=mine).status_code == 404


def test_the_directory_keeps_an_active_trust_admin(env):
    first = add(env, email="alex@trust.example", org_id=env.trust, roles=["trust_admin"]).json()
    url = f"{env.base}{STAFF}/{first['id']}"
    for body, field in (({"roles": ["auditor"]}, "roles"), ({"active": False}, "active")):
        refused = env.http.patch(url, json=body, headers=env.admin)
        assert refused.status_code == 409 and field in refused.json()["errors"], refused.text
    assert env.http.delete(url, headers=env.admin).status_code == 409
    assert env.http.get(url, headers=env.admin).json()["roles"] == ["trust_admin"]
    add(env, email="sam@trust.example", org_id=env.trust, roles=["trust_admin"])
    assert env.http.patch(url, json={"active": False}, headers=env.admin).status_code == 200
    assert env.http.delete(url, headers=env.admin).status_code == 204
