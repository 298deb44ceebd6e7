"""The statutory rules through the pupils API: LA numbers created since 2019, lawful
pauses only (SEND Regulations 2014 reg. 5(4), 10(4), 13(3)), phase transfer kinds
(reg. 18), post-review deadlines (reg. 20(10), 22) and the overdue list, NC year X and
year groups as schools write them, registration groups, census warnings."""

import pytest
from stdnum.gb.upn import calc_check_digit

from services.pupils.service import PupilsService
from tests.service.test_pupils_api import URL, Env, pupil_body


@pytest.fixture
def env(run_service, database_urls, http, token):
    base, container, db_url = run_service(PupilsService, db_url=database_urls("pupils"),
                                          EHCP_TIMER_SECONDS=3600)
    return Env(base, db_url, http, token)


def new_la_upn(la, n):
    body = f"{la}2000{26}{n:03d}"
    return calc_check_digit(body) + body


def test_pupils_of_new_authorities_year_groups_and_registration_groups(env):
    created = []
    for n, (la, year) in enumerate([("838", "Reception"), ("942", "Year 6"), ("943", "X"),
                                    ("941", 3)], start=1):
        resp = env.http.post(env.base + URL, headers=env.senco_a, json=pupil_body(
            n, upn=new_la_upn(la, n), year_group=year, registration_group=f"Class {n % 2}"))
        assert resp.status_code == 201, resp.text
        created.append(resp.json())
    assert [(p["year_group"], p["nc_year"], p["year_group_name"]) for p in created] == [
        (0, "R", "Reception"), (6, "6", "Year 6"),
        (None, "X", "National Curriculum not followed"), (3, "3", "Year 3")]
    assert created[0]["primary_need_name"] == "Autistic Spectrum Disorder"
    bad = env.http.post(env.base + URL, headers=env.senco_a,
                        json=pupil_body(9, upn=new_la_upn("000", 9)))
    assert bad.status_code == 422 and "local authority" in bad.json()["errors"]["upn"][0]
    listed = env.http.get(env.base + URL, params={"registration_group": "Class 1"},
                          headers=env.senco_a).json()
    assert sorted(p["forename"] for p in listed["items"]) == ["Sam1", "Sam3"]
    x = env.http.get(env.base + URL, params={"nc_not_followed": "true"},
                     headers=env.senco_a).json()
    assert [p["nc_year"] for p in x["items"]] == ["X"]
    report = env.http.get(env.base + URL + "/census-readiness", headers=env.senco_a).json()
    # born 1 March 2015, recorded in Reception: a warning, not a failure (DfE census check)
    warned = {w["pupil_id"]: w for w in report["warnings"]}
    assert created[0]["id"] in warned and report["failing"] == []
    [w] = warned[created[0]["id"]]["warnings"]
    assert (w["rule"], w["severity"]) == ("year_group_not_expected", "warning")
    assert created[2]["id"] not in warned  # X: no expected year


def test_pauses_phase_transfers_and_post_review_deadlines(env):
    p = env.create(sen_status="E", primary_need="ASD", secondary_need=None)
    plans = f"{env.base}{URL}/{p['id']}/ehc-plans"
    plan = env.http.post(plans, headers=env.senco_a, json={
        "request_date": "2025-01-06", "phase_transfer_year": 2027,
        "phase_transfer_kind": "secondary_to_post16"}).json()
    pauses = f"{plans}/{plan['id']}/pauses"
    missed = env.http.post(pauses, headers=env.senco_a, json={
        "reason": "missed_appointment", "starts_on": "2025-02-01"})
    assert missed.status_code == 422
    assert "13(3)" in missed.json()["errors"]["reason"][0]
    short = env.http.post(pauses, headers=env.senco_a, json={
        "reason": "school_closure", "starts_on": "2025-02-17", "ends_on": "2025-02-27"})
    assert short.status_code == 422 and "at least 4 weeks" in short.json()["errors"][
        "ends_on"][0]
    summer = env.http.post(pauses, headers=env.senco_a, json={
        "reason": "school_closure", "starts_on": "2025-04-01", "ends_on": "2025-04-29"})
    assert summer.status_code == 201, summer.text  # 28 days
    resp = env.http.patch(f"{plans}/{plan['id']}", headers=env.senco_a, json={
        "decision_to_assess_on": "2025-02-14", "decision_to_issue_on": "2025-04-20",
        "issued_on": "2025-06-20", "last_review_on": "2026-06-10"})
    assert resp.status_code == 200, resp.text
    d = resp.json()["deadlines"]
    assert d["final_plan"]["due"] == "2025-06-23"  # 20 weeks + 28 days
    assert d["phase_transfer"]["due"] == "2027-03-30"  # reg. 18(1)(b): before 31 March
    assert d["annual_review"]["due"] == "2027-06-09"  # s.44(1): day before anniversary
    assert d["review_decision"] == {"due": "2026-07-08", "done_on": None}  # reg. 20(10)
    overdue = env.http.get(env.base + URL + "/ehc-plans/overdue", headers=env.senco_a).json()
    items = {i["deadline"]: i for i in overdue["items"]}
    assert items["review_decision"]["due"] == "2026-07-08"  # passed, not recorded
    assert items["review_decision"]["deadline_name"].startswith("local authority's decision")
    assert not {"decision_to_assess", "decision_to_issue", "final_plan"} & set(items)  # done
    amend = env.http.patch(f"{plans}/{plan['id']}", headers=env.senco_a, json={
        "review_decision": "amend", "review_decision_on": "2026-07-01",
        "amendment_notice_on": "2026-07-01"}).json()["deadlines"]
    assert amend["amended_plan"] == {"due": "2026-08-26", "done_on": None}  # reg. 22: 8 weeks
    post16 = env.http.patch(f"{plans}/{plan['id']}", headers=env.senco_a, json={
        "phase_transfer_kind": "between_post16"})
    assert post16.status_code == 422 and "phase_transfer_on" in post16.json()["errors"]
