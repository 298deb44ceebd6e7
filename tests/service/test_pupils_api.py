"""The pupils HTTP API on a running container: organisations, pupils, the SEN
register, census readiness, tenancy and roles, bad input."""

import json

import pytest
from sqlalchemy import create_engine, text
from stdnum.gb.upn import calc_check_digit

from services.common.db import open_database
from services.pupils.commands import organisations
from services.pupils.models import Base
from services.pupils.service import PupilsService
from tests.conftest import ORG_KINDS, bearer

URL = "/api/v1/pupils"


def upn(serial, temporary=False):
    body = f"8012000{'05' if not temporary else '06'}{serial:03d}"
    if temporary:
        body = body[:-1] + "ABCDEFGHJKLMNPQRTUVWXYZ"[serial % 23]
    return calc_check_digit(body) + body


def pupil_body(n=1, **overrides):
    body = {"upn": upn(n), "legal_surname": "Taylor", "forename": f"Sam{n}",
            "date_of_birth": "2015-03-01", "year_group": 5, "sen_status": "K",
            "primary_need": "ASD", "secondary_need": "SLCN"}
    body.update(overrides)
    return body


class Env:
    def __init__(self, base, db_url, http, token):
        self.base, self.db_url, self.http, self._token = base, db_url, http, token
        db = open_database("pupils", Base.metadata, db_url)
        org = organisations.onboard
        self.trust = org(db, {"name": "Trust", "kind": "trust"}, actor="t").id
        self.school_a = org(db, {"name": "Oak School", "kind": "trust_school", "urn": "140001",
                                 "laestab": "8011001"}, actor="t").id
        self.school_b = org(db, {"name": "Elm ARB", "kind": "arb", "urn": "140002",
                                 "laestab": "8011002"}, actor="t").id
        self.partner = org(db, {"name": "Partner", "kind": "partner_school", "urn": "140003",
                                "laestab": "8011003"}, actor="t").id
        ORG_KINDS.update({self.trust: "trust", self.school_a: "trust_school",
                          self.school_b: "arb", self.partner: "partner_school"})

    def h(self, org, *roles):
        return bearer(self._token(org, *roles, sub=f"{roles[0]}@{org[:4]}"))

    @property
    def senco_a(self):
        return self.h(self.school_a, "senco")

    @property
    def admin(self):
        return self.h(self.trust, "trust_admin")

    def create(self, headers=None, **body):
        resp = self.http.post(self.base + URL, json=pupil_body(**body),
                              headers=headers or self.senco_a)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def count(self, table, where="1=1"):
        engine = create_engine(self.db_url)
        with engine.connect() as conn:
            n = conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()
        engine.dispose()
        return n

    def events(self, event_type=None):
        engine = create_engine(self.db_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT body FROM outbox ORDER BY id")).scalars().all()
        engine.dispose()
        bodies = [json.loads(r) for r in rows]
        return [b for b in bodies if event_type is None or b["type"] == event_type]


@pytest.fixture
def env(run_service, database_urls, engine_name, http, token):
    base, container, db_url = run_service(PupilsService,
                                          db_url=database_urls("pupils", engine_name),
                                          EHCP_TIMER_SECONDS=3600)
    return Env(base, db_url, http, token)


# -- pupils ------------------------------------------------------------------------

def test_senco_registers_a_pupil_and_the_event_goes_out(env):
    p = env.create()
    assert p["org_id"] == env.school_a and p["upn"] == upn(1)
    assert p["areas_of_need"] == ["communication_and_interaction"]
    [event] = env.events("pupil.registered")
    assert event["data"]["pupil_id"] == p["id"] and event["data"]["sen_status"] == "K"
    assert "legal_surname" not in event["data"]  # identifiers, not personal data
    assert env.count("sen_register", "ends_on IS NULL") == 1


def test_get_update_and_list_within_own_organisation(env):
    p = env.create()
    got = env.http.get(f"{env.base}{URL}/{p['id']}", headers=env.senco_a)
    assert got.status_code == 200 and got.json()["forename"] == "Sam1"
    upd = env.http.patch(f"{env.base}{URL}/{p['id']}", json={"year_group": 6},
                         headers=env.senco_a)
    assert upd.status_code == 200 and upd.json()["year_group"] == 6
    assert env.events("pupil.updated")[0]["data"]["changed"] == ["year_group"]
    listed = env.http.get(env.base + URL, headers=env.h(env.school_a, "teacher")).json()
    assert listed["total"] == 1


def test_duplicate_upn_in_the_trust_is_409(env):
    env.create()
    resp = env.http.post(env.base + URL, json=pupil_body(forename="Other"),
                         headers=env.h(env.school_b, "senco"))
    assert resp.status_code == 409 and "upn" in resp.json()["errors"]
    assert env.count("pupils") == 1


def test_temporary_upn_replaced_by_permanent_keeps_history(env):
    temp = upn(7, temporary=True)
    p = env.create(upn=temp)
    assert p["upn_is_temporary"] is True
    resp = env.http.patch(f"{env.base}{URL}/{p['id']}", json={"upn": upn(7)},
                          headers=env.senco_a)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["upn"] == upn(7) and body["upn_is_temporary"] is False
    assert [(h["old_upn"], h["new_upn"]) for h in body["upn_history"]] == [(temp, upn(7))]
    again = env.http.patch(f"{env.base}{URL}/{p['id']}", json={"upn": upn(8)},
                           headers=env.senco_a)
    assert again.status_code == 422 and "upn" in again.json()["errors"]


def test_filters_search_and_paging(env):
    env.create(n=1, year_group=3, sen_status="K", primary_need="SPLD", secondary_need=None)
    env.create(n=2, year_group=3, sen_status="E", primary_need="SEMH", secondary_need="MLD")
    env.create(n=3, year_group=4, sen_status="N", primary_need=None, secondary_need=None,
               legal_surname="Okafor")
    h = env.senco_a

    def total(**params):
        resp = env.http.get(env.base + URL, params=params, headers=h)
        assert resp.status_code == 200, resp.text
        return resp.json()["total"]

    assert total(year_group=3) == 2
    assert total(sen_status="E") == 1
    assert total(need_type="MLD") == 1  # secondary needs count
    assert total(area_of_need="cognition_and_learning") == 2
    assert total(area_of_need="social_emotional_mental_health") == 1
    assert total(q="okaf") == 1
    assert total(q=upn(2)) == 1
    page = env.http.get(env.base + URL, params={"limit": 2, "offset": 2}, headers=h).json()
    assert page["total"] == 3 and len(page["items"]) == 1


def test_guardians_are_replaced_and_published_as_an_event(env):
    p = env.create()
    guardians = [{"name": "Alex Taylor", "relationship": "mother", "email": "a@example.org",
                  "preferred_channel": "email", "parental_responsibility": True},
                 {"name": "Chris Taylor", "relationship": "father", "mobile": "07700 900123",
                  "preferred_channel": "sms", "preferred_language": "pl",
                  "parental_responsibility": True}]
    resp = env.http.put(f"{env.base}{URL}/{p['id']}/guardians", json={"guardians": guardians},
                        headers=env.senco_a)
    assert resp.status_code == 200, resp.text
    assert [g["name"] for g in resp.json()["guardians"]] == ["Alex Taylor", "Chris Taylor"]
    [event] = env.events("pupil.guardians_changed")
    assert event["data"]["guardians"][1]["preferred_language"] == "pl"
    bad = env.http.put(f"{env.base}{URL}/{p['id']}/guardians", json={"guardians": [
        {**guardians[0], "email": None}]}, headers=env.senco_a)
    assert bad.status_code == 422 and "guardians.0.email" in bad.json()["errors"]
    assert env.count("guardians") == 2


# -- SEN register -------------------------------------------------------------------

def test_sen_status_change_closes_the_open_entry_and_emits(env):
    p = env.create(sen_status="K", primary_need="SLCN", secondary_need=None)
    resp = env.http.post(f"{env.base}{URL}/{p['id']}/sen-status",
                         json={"sen_status": "E", "primary_need": "ASD",
                               "effective_date": "2026-01-05"}, headers=env.senco_a)
    # the change may not predate the open entry (opened today)
    assert resp.status_code == 422 and "effective_date" in resp.json()["errors"]
    resp = env.http.post(f"{env.base}{URL}/{p['id']}/sen-status",
                         json={"sen_status": "E", "primary_need": "ASD"}, headers=env.senco_a)
    assert resp.status_code == 200, resp.text
    assert resp.json()["sen_status"] == "E"
    history = env.http.get(f"{env.base}{URL}/{p['id']}/sen-register",
                           headers=env.senco_a).json()["items"]
    assert [(e["status"], e["ends_on"] is None) for e in history] == [("K", False), ("E", True)]
    [event] = env.events("pupil.sen_status_changed")
    assert event["data"]["previous_status"] == "K" and event["data"]["sen_status"] == "E"
    same = env.http.post(f"{env.base}{URL}/{p['id']}/sen-status",
                         json={"sen_status": "E", "primary_need": "ASD"}, headers=env.senco_a)
    assert same.status_code == 409


# -- census readiness ----------------------------------------------------------------

def test_census_readiness_lists_pupils_breaking_rules(env):
    ok = env.create(n=1)
    temp = env.create(n=2, upn=upn(2, temporary=True))
    ehcp = env.create(n=3, sen_status="E", primary_need="PD", secondary_need=None)
    # a record that slipped in wrong (e.g. before the rules were enforced)
    engine = create_engine(env.db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE pupils SET sen_status='N' WHERE id=:id"), {"id": ok["id"]})
    engine.dispose()
    resp = env.http.get(env.base + URL + "/census-readiness", headers=env.senco_a)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    rules = {f["pupil_id"]: {i["rule"] for i in f["issues"]} for f in report["failing"]}
    assert rules[ok["id"]] == {"sen_need"}
    assert rules[temp["id"]] == {"upn_temporary"}
    assert rules[ehcp["id"]] == {"ehcp_missing"}
    assert report["checked"] == 3
    assert env.count("audit_log", "endpoint = 'census_readiness'") == 3
    other = env.http.get(env.base + URL + "/census-readiness",
                         params={"org_id": env.school_b}, headers=env.senco_a)
    assert other.status_code == 404
    admin = env.http.get(env.base + URL + "/census-readiness",
                         params={"org_id": env.school_b}, headers=env.admin)
    assert admin.status_code == 200 and admin.json()["failing"] == []


# -- tenancy and roles ------------------------------------------------------------------

def test_another_organisation_gets_404_everywhere(env):
    p = env.create()
    b = env.h(env.school_b, "senco")
    pid = p["id"]
    plan = env.http.post(f"{env.base}{URL}/{pid}/ehc-plans", json={"request_date": "2026-01-05"},
                         headers=env.senco_a).json()
    pause = env.http.post(f"{env.base}{URL}/{pid}/ehc-plans/{plan['id']}/pauses",
                          json={"reason": "school_closure", "starts_on": "2026-01-10"},
                          headers=env.senco_a).json()
    calls = [
        ("patch", f"{URL}/{pid}/ehc-plans/{plan['id']}", {"decision_to_assess_on": "2026-02-01"}),
        ("post", f"{URL}/{pid}/ehc-plans/{plan['id']}/pauses",
         {"reason": "school_closure", "starts_on": "2026-03-01"}),
        ("post", f"{URL}/{pid}/ehc-plans/{plan['id']}/pauses/{pause['id']}/end",
         {"ends_on": "2026-01-20"}),
        ("get", f"{URL}/{pid}", None),
        ("patch", f"{URL}/{pid}", {"year_group": 4}),
        ("put", f"{URL}/{pid}/guardians", {"guardians": []}),
        ("post", f"{URL}/{pid}/sen-status", {"sen_status": "N"}),
        ("get", f"{URL}/{pid}/sen-register", None),
        ("get", f"{URL}/{pid}/passport", None),
        ("post", f"{URL}/{pid}/passport/versions", passport()),
        ("post", f"{URL}/{pid}/passport/versions/1/publish", None),
        ("get", f"{URL}/{pid}/ehc-plans", None),
        ("post", f"{URL}/{pid}/ehc-plans", {"request_date": "2026-01-06"}),
        ("post", f"{URL}/{pid}/moves", {"to_org_id": env.school_b, "moved_on": "2026-09-01",
                                        "consent": {"given": True, "given_by": "Parent",
                                                    "date": "2026-08-01"}}),
    ]
    for method, path, body in calls:
        resp = env.http.request(method, env.base + path, json=body, headers=b)
        assert resp.status_code == 404, (method, path, resp.text)
        assert resp.headers["Content-Type"] == "application/problem+json"
    assert env.http.get(env.base + URL, headers=b).json()["total"] == 0
    assert env.http.get(f"{env.base}{URL}/no-such-pupil", headers=env.senco_a).status_code == 404
    assert env.http.get(f"{env.base}{URL}/{pid}/ehc-plans", headers=env.senco_a).json()[
        "items"][0]["decision_to_assess_on"] is None
    assert env.count("ehc_pauses") == 1
    # trust_admin is held at the trust alone (issue 11): a token claiming it for a
    # school is refused at the door; the trust's own is trust-wide.
    assert env.http.get(f"{env.base}{URL}/{pid}/export",
                        headers=env.h(env.school_b, "trust_admin")).status_code == 403
    admin_export = env.http.get(f"{env.base}{URL}/{pid}/export", headers=env.admin)
    assert admin_export.status_code == 200  # trust-wide
    assert env.count("passport_versions") == 0 and env.count("moves") == 0


def test_trust_admin_works_across_the_trust(env):
    p = env.create(headers=env.admin, org_id=env.school_b)
    assert p["org_id"] == env.school_b
    missing = env.http.post(env.base + URL, json=pupil_body(n=2), headers=env.admin)
    assert missing.status_code == 422 and "org_id" in missing.json()["errors"]
    partner = env.http.post(env.base + URL, json=pupil_body(n=2, org_id=env.partner),
                            headers=env.admin)
    assert partner.status_code == 422 and "org_id" in partner.json()["errors"]
    listed = env.http.get(env.base + URL, headers=env.admin).json()
    assert listed["total"] == 1
    assert env.http.get(env.base + URL, params={"org_id": env.school_a},
                        headers=env.admin).json()["total"] == 0


@pytest.mark.parametrize("roles", [("teacher",), ("outreach",), ("partner_referrer",),
                                   ("cpd_admin",), ("auditor",), ("outreach_lead",)])
def test_wrong_roles_get_403_and_store_nothing(env, roles):
    headers = env.h(env.school_a, *roles)
    resp = env.http.post(env.base + URL, json=pupil_body(), headers=headers)
    assert resp.status_code == 403
    assert env.count("pupils") == 0


def test_teacher_reads_but_cannot_write_and_outsiders_read_nothing(env):
    p = env.create()
    teacher = env.h(env.school_a, "teacher")
    assert env.http.get(f"{env.base}{URL}/{p['id']}", headers=teacher).status_code == 200
    assert env.http.patch(f"{env.base}{URL}/{p['id']}", json={"year_group": 1},
                          headers=teacher).status_code == 403
    for roles in (("outreach",), ("partner_referrer",)):
        h = env.h(env.partner, *roles)
        assert env.http.get(env.base + URL, headers=h).status_code == 403
        assert env.http.get(f"{env.base}{URL}/{p['id']}", headers=h).status_code == 403
    partner_senco = env.http.post(env.base + URL, json=pupil_body(n=2),
                                  headers=env.h(env.partner, "senco"))
    assert partner_senco.status_code == 403
    assert env.http.get(env.base + URL, headers=env.h(env.partner, "senco")).json()["total"] == 0
    assert env.http.get(env.base + "/api/v1/organisations", headers=env.senco_a).status_code == 403


def test_onboarding_is_trust_admin_only_and_validated(env):
    body = {"name": "Ash School", "kind": "trust_school", "urn": "140009", "laestab": "8011009",
            "phase": "primary", "contact_email": "office@ash.example"}
    assert env.http.post(env.base + "/api/v1/organisations", json=body,
                         headers=env.senco_a).status_code == 403
    ok = env.http.post(env.base + "/api/v1/organisations", json=body, headers=env.admin)
    assert ok.status_code == 201
    again = env.http.post(env.base + "/api/v1/organisations", json=body, headers=env.admin)
    assert again.status_code == 409
    bad = env.http.post(env.base + "/api/v1/organisations", json={**body, "urn": "12"},
                        headers=env.admin)
    assert bad.status_code == 422 and "urn" in bad.json()["errors"]
    assert len(env.events("organisation.onboarded")) == 5


def passport(**overrides):
    body = {"about_me": "I love trains.", "strengths": "Memory for detail.",
            "needs": "Time to process instructions.", "what_helps": "Visual timetable.",
            "what_does_not_help": "Sudden noise.", "pupil_voice": "Please tell me first."}
    body.update(overrides)
    return body


# -- bad input --------------------------------------------------------------------------

BAD_PUPILS = {
    "bad upn check letter": (pupil_body(upn="A801200005001"), "upn"),
    "short upn": (pupil_body(upn="B8012"), "upn"),
    "no surname": ({k: v for k, v in pupil_body().items() if k != "legal_surname"},
                   "legal_surname"),
    "future dob": (pupil_body(date_of_birth="2999-01-01"), "date_of_birth"),
    "year group": (pupil_body(year_group=20), "year_group"),
    "status": (pupil_body(sen_status="S"), "sen_status"),
    "need code": (pupil_body(primary_need="XYZ"), "primary_need"),
    "K without primary": (pupil_body(primary_need=None, secondary_need=None), "primary_need"),
    "E without primary": (pupil_body(sen_status="E", primary_need=None, secondary_need=None),
                          "primary_need"),
    "NSA with E": (pupil_body(sen_status="E", primary_need="NSA", secondary_need=None),
                   "primary_need"),
    "N with need": (pupil_body(sen_status="N"), "primary_need"),
    "same needs": (pupil_body(secondary_need="ASD"), "secondary_need"),
    "guardian channel": (pupil_body(guardians=[{"name": "A", "relationship": "mother",
                                                "preferred_channel": "sms",
                                                "parental_responsibility": True}]),
                         "guardians.0.mobile"),
    "wrong type": (pupil_body(year_group="five"), "year_group"),
}


@pytest.mark.parametrize("case", BAD_PUPILS)
def test_bad_pupil_gets_422_naming_the_field_and_stores_nothing(env, case):
    body, field = BAD_PUPILS[case]
    resp = env.http.post(env.base + URL, json=body, headers=env.senco_a)
    assert resp.status_code == 422, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert field in resp.json()["errors"]
    assert env.count("pupils") == 0 and env.count("outbox") == 4  # the onboardings only


def test_bad_input_on_every_other_endpoint_is_422_and_changes_nothing(env):
    p = env.create()
    pid = p["id"]
    plan = env.http.post(f"{env.base}{URL}/{pid}/ehc-plans", json={"request_date": "2026-01-05"},
                         headers=env.senco_a).json()
    before = {t: env.count(t) for t in ("pupils", "sen_register", "guardians", "outbox",
                                        "passport_versions", "ehc_plans", "ehc_pauses",
                                        "moves", "audit_log")}
    cases = [
        ("patch", f"{URL}/{pid}", {}, "body"),
        ("patch", f"{URL}/{pid}", {"year_group": "Year 17"}, "year_group"),
        ("put", f"{URL}/{pid}/guardians", {"guardians": [{"name": ""}]}, "guardians.0.name"),
        ("post", f"{URL}/{pid}/sen-status", {"sen_status": "K"}, "primary_need"),
        ("post", f"{URL}/{pid}/sen-status", {"sen_status": "E", "primary_need": "NSA"},
         "primary_need"),
        ("post", f"{URL}/{pid}/passport/versions", passport(about_me=None), "about_me"),
        ("post", f"{URL}/{pid}/ehc-plans", {"request_date": "yesterday"}, "request_date"),
        ("patch", f"{URL}/{pid}/ehc-plans/{plan['id']}", {"issued_on": "2025-01-01"},
         "issued_on"),
        ("post", f"{URL}/{pid}/ehc-plans/{plan['id']}/pauses",
         {"reason": "holiday", "starts_on": "2026-02-01"}, "reason"),
        ("post", f"{URL}/{pid}/moves", {"to_org_id": env.school_b, "moved_on": "2026-09-01",
                                        "consent": {"given": False, "given_by": "P",
                                                    "date": "2026-08-01"}}, "consent.given"),
        ("post", f"{URL}/{pid}/moves", {"to_org_id": env.partner, "moved_on": "2026-09-01",
                                        "consent": {"given": True, "given_by": "P",
                                                    "date": "2026-08-01"}}, "to_org_id"),
        ("get", URL, {"limit": 0}, "limit"),
        ("get", URL, {"sen_status": "Q"}, "sen_status"),
        ("get", URL, {"area_of_need": "maths"}, "area_of_need"),
        ("get", URL, {"q": "x"}, "q"),
    ]
    for method, path, body, field in cases:
        kwargs = {"params": body} if method == "get" else {"json": body}
        resp = env.http.request(method, env.base + path, headers=env.senco_a, **kwargs)
        assert resp.status_code == 422, (method, path, resp.text)
        assert field in resp.json()["errors"], (field, resp.json())
    raw = env.http.post(env.base + URL, data="{nope", headers={
        **env.senco_a, "Content-Type": "application/json"})
    assert raw.status_code == 422 and "body" in raw.json()["errors"]
    erase = env.http.post(f"{env.base}{URL}/{pid}/erasure",
                          json={"reason": "request", "confirm_pupil_id": "other"},
                          headers=env.admin)
    assert erase.status_code == 422 and "confirm_pupil_id" in erase.json()["errors"]
    admin_cases = [
        ("get", URL + "/census-readiness", {}, "org_id"),
        ("post", URL, pupil_body(n=9, org_id=env.partner), "org_id"),
    ]
    for method, path, body, field in admin_cases:
        kwargs = {"params": body} if method == "get" else {"json": body}
        resp = env.http.request(method, env.base + path, headers=env.admin, **kwargs)
        assert resp.status_code == 422 and field in resp.json()["errors"], resp.text
    audit = env.http.get(env.base + URL + "/audit", params={"limit": "all"},
                         headers=env.h(env.trust, "auditor"))
    assert audit.status_code == 422 and "limit" in audit.json()["errors"]
    after = {t: env.count(t) for t in before}
    assert after == before


def test_openapi_document_lists_the_pupils_endpoints(env):
    resp = env.http.get(env.base + "/api/v1/pupils/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    assert "/api/v1/pupils" in paths and "/api/v1/pupils/imports" in paths
    assert any(p.endswith("/ehc-plans") for p in paths)


def test_no_personal_data_in_logs(env, caplog):
    caplog.set_level("DEBUG")
    p = env.create(legal_surname="Zqxwervinsky", forename="Ottoline")
    env.http.get(f"{env.base}{URL}/{p['id']}", headers=env.senco_a)
    env.http.get(env.base + URL, params={"q": "Zqxwer"}, headers=env.senco_a)
    env.http.post(env.base + URL, json=pupil_body(legal_surname="Zqxwervinsky"),
                  headers=env.senco_a)  # 409
    env.http.post(env.base + URL + "/imports", headers=env.senco_a, data=(
        "UPN,Legal Surname,Forename,DOB,Year,SEN\n"
        f"{upn(1)},Zqxwervinsky,Ottoline,2015-03-01,5,Q\n").encode())
    text = caplog.text
    assert "pupils" in text  # the service did log (requests, outbox, timers)
    assert "Zqxwervinsky" not in text and "Ottoline" not in text and upn(1) not in text


def test_a_taken_upn_does_not_tell_a_school_the_pupil_is_elsewhere(env):
    """Issue 11: 409 "already in the trust" told a school of a pupil at another school.
    Its own duplicate and another school's answer alike."""
    env.create(n=7)  # at school A
    own = env.http.post(env.base + URL, json=pupil_body(n=7), headers=env.senco_a)
    elsewhere = env.http.post(env.base + URL, json=pupil_body(n=7),
                              headers=env.h(env.school_b, "senco"))
    assert own.status_code == elsewhere.status_code == 409
    strip = lambda body: {k: v for k, v in body.items() if k != "instance"}  # noqa: E731
    assert strip(own.json()) == strip(elsewhere.json())
    assert "trust" not in elsewhere.json()["title"].lower()
    assert "already in the trust" not in elsewhere.text.lower()
    assert env.count("pupils") == 1


def test_a_schools_auditor_lists_its_own_organisation_only(env):
    """Issue 11: GET /api/v1/organisations answered every organisation to any auditor."""
    url = env.base + "/api/v1/organisations"
    mine = env.http.get(url, headers=env.h(env.partner, "auditor")).json()
    assert [o["id"] for o in mine["items"]] == [env.partner] and mine["total"] == 1
    everyone = env.http.get(url, headers=env.h(env.trust, "auditor")).json()
    assert everyone["total"] == 4
