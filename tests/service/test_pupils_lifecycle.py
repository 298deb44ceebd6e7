"""The pupils service beyond the register: passports, EHC plans and the daily
timer, moves between schools, bulk import (API and senctl), the audit of record
reads, subject access and erasure. A running container, real databases."""

import io
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, timedelta

import pytest
from nameko import config as nameko_config

from services.cli import senctl
from services.common.db import open_database
from services.pupils import domain
from services.pupils.commands import ehc_plans
from services.pupils.models import Base
from services.pupils.service import PupilsService, today
from tests.conftest import wait_until
from tests.service.test_pupils_api import URL, Env, passport, pupil_body, upn


@pytest.fixture
def env(run_service, database_urls, engine_name, http, token):
    base, container, db_url = run_service(PupilsService,
                                          db_url=database_urls("pupils", engine_name),
                                          EHCP_TIMER_SECONDS=3600)
    return Env(base, db_url, http, token)


# -- passports ----------------------------------------------------------------------

def test_passport_drafts_and_published_versions_are_all_kept(env):
    p = env.create()
    base = f"{env.base}{URL}/{p['id']}/passport"
    v1 = env.http.post(base + "/versions", json=passport(), headers=env.senco_a)
    assert v1.status_code == 201 and v1.json()["version"] == 1
    assert v1.json()["status"] == "draft"
    assert env.http.get(base, headers=env.senco_a).json()["current"] is None
    pub = env.http.post(base + "/versions/1/publish", headers=env.senco_a)
    assert pub.status_code == 200 and pub.json()["status"] == "published"
    env.http.post(base + "/versions", json=passport(what_helps="Ear defenders."),
                  headers=env.senco_a)
    got = env.http.get(base, headers=env.h(env.school_a, "teacher")).json()
    assert [(v["version"], v["status"]) for v in got["items"]] == [(1, "published"),
                                                                   (2, "draft")]
    assert got["current"]["what_helps"] == "Visual timetable."
    assert env.http.post(base + "/versions/1/publish", headers=env.senco_a).status_code == 409
    assert env.http.post(base + "/versions/9/publish", headers=env.senco_a).status_code == 404
    [event] = env.events("passport.published")
    assert event["data"] == {"pupil_id": p["id"], "org_id": env.school_a,
                             "passport_id": pub.json()["id"], "version": 1}
    teacher = env.http.post(base + "/versions", json=passport(),
                            headers=env.h(env.school_a, "teacher"))
    assert teacher.status_code == 403 and env.count("passport_versions") == 2


# -- EHC plans ----------------------------------------------------------------------

def test_ehc_plan_clock_with_pauses_and_steps(env):
    p = env.create(sen_status="K")
    plans = f"{env.base}{URL}/{p['id']}/ehc-plans"
    resp = env.http.post(plans, json={"request_date": "2026-01-05"}, headers=env.senco_a)
    assert resp.status_code == 201, resp.text
    plan = resp.json()
    assert plan["deadlines"]["decision_to_assess"]["due"] == "2026-02-16"
    assert plan["deadlines"]["final_plan"]["due"] == "2026-05-25"
    again = env.http.post(plans, json={"request_date": "2026-01-05"}, headers=env.senco_a)
    assert again.status_code == 409
    pause = env.http.post(f"{plans}/{plan['id']}/pauses",
                          json={"reason": "exceptional_personal_circumstances",
                                "starts_on": "2026-02-01"}, headers=env.senco_a)
    assert pause.status_code == 201, pause.text
    paused = env.http.get(plans, headers=env.senco_a).json()["items"][0]
    assert paused["deadlines"]["decision_to_assess"]["due"] is None  # clock stopped
    overlap = env.http.post(f"{plans}/{plan['id']}/pauses",
                            json={"reason": "school_closure", "starts_on": "2026-02-03"},
                            headers=env.senco_a)
    assert overlap.status_code == 409
    ended = env.http.post(f"{plans}/{plan['id']}/pauses/{pause.json()['id']}/end",
                          json={"ends_on": "2026-02-15"}, headers=env.senco_a)
    assert ended.status_code == 200, ended.text
    assert ended.json()["deadlines"]["decision_to_assess"]["due"] == "2026-03-02"
    steps = env.http.patch(f"{plans}/{plan['id']}", json={
        "decision_to_assess_on": "2026-02-20", "decision_to_issue_on": "2026-04-20",
        "issued_on": "2026-05-30", "phase_transfer_year": 2027}, headers=env.senco_a)
    assert steps.status_code == 200, steps.text
    d = steps.json()["deadlines"]
    assert d["final_plan"]["done_on"] == "2026-05-30"
    assert d["annual_review"]["due"] == "2027-05-29"  # CFA 2014 s.44(1): day before
    assert d["phase_transfer"]["due"] == "2027-02-14"  # reg. 18(1)(a): before 15 February
    disorder = env.http.patch(f"{plans}/{plan['id']}", json={"decision_to_issue_on":
                                                             "2026-02-01"}, headers=env.senco_a)
    assert disorder.status_code == 422 and "decision_to_issue_on" in disorder.json()["errors"]


def test_reminder_core_emits_once_per_deadline_with_fixed_dates(env):
    p = env.create(sen_status="K")
    plans = f"{env.base}{URL}/{p['id']}/ehc-plans"
    plan = env.http.post(plans, json={"request_date": "2026-02-23"},
                         headers=env.senco_a).json()  # week 6 = Easter Monday 6 April 2026
    db = open_database("pupils", Base.metadata, env.db_url)
    assert ehc_plans.send_due_reminders(db, date(2026, 3, 26), lead_working_days=5) == []
    [sent] = ehc_plans.send_due_reminders(db, date(2026, 3, 27), lead_working_days=5)
    assert sent.deadline == "decision_to_assess"
    assert ehc_plans.send_due_reminders(db, date(2026, 3, 30), lead_working_days=5) == []
    [event] = env.events("ehcp.deadline_at_risk")
    assert event["data"] == {"pupil_id": p["id"], "org_id": env.school_a,
                             "plan_id": plan["id"], "deadline": "decision_to_assess",
                             "due_date": "2026-04-06"}
    assert env.count("ehc_reminders") == 1


def test_daily_timer_emits_review_due_once(run_service, database_urls, http, token):
    base, container, db_url = run_service(PupilsService, db_url=database_urls("pupils"),
                                          EHCP_TIMER_SECONDS=0.2,
                                          EHCP_LEAD_WORKING_DAYS=10)
    env = Env(base, db_url, http, token)
    p = env.create(sen_status="E", primary_need="ASD", secondary_need=None)
    plans = f"{env.base}{URL}/{p['id']}/ehc-plans"
    now = today()
    plan = env.http.post(plans, json={"request_date": (now - timedelta(weeks=60)).isoformat()},
                         headers=env.senco_a).json()
    issued = now - timedelta(days=360)  # annual review due in 5 days
    resp = env.http.patch(f"{plans}/{plan['id']}", json={
        "decision_to_assess_on": (now - timedelta(weeks=56)).isoformat(),
        "decision_to_issue_on": (now - timedelta(weeks=54)).isoformat(),
        "issued_on": issued.isoformat()}, headers=env.senco_a)
    assert resp.status_code == 200, resp.text
    assert wait_until(lambda: env.events("ehcp.review_due"), timeout=10)
    time.sleep(1)  # several more ticks
    [event] = env.events("ehcp.review_due")
    assert event["data"]["plan_id"] == plan["id"]
    # (the statutory steps, overdue until the PATCH, may have had their own reminder)
    assert env.count("ehc_reminders", "deadline = 'annual_review'") == 1


# -- moves --------------------------------------------------------------------------

def test_move_takes_history_and_passport_and_old_school_loses_access(env):
    p = env.create()
    pid = p["id"]
    env.http.post(f"{env.base}{URL}/{pid}/passport/versions", json=passport(),
                  headers=env.senco_a)
    env.http.post(f"{env.base}{URL}/{pid}/sen-status",
                  json={"sen_status": "E", "primary_need": "ASD"}, headers=env.senco_a)
    resp = env.http.post(f"{env.base}{URL}/{pid}/moves", json={
        "to_org_id": env.school_b, "moved_on": "2026-09-01",
        "consent": {"given": True, "given_by": "Parent", "date": "2026-08-01"}},
        headers=env.senco_a)
    assert resp.status_code == 201, resp.text
    assert resp.json()["from_org_id"] == env.school_a
    assert env.http.get(f"{env.base}{URL}/{pid}", headers=env.senco_a).status_code == 404
    b = env.h(env.school_b, "senco")
    assert env.http.get(f"{env.base}{URL}/{pid}", headers=b).json()["org_id"] == env.school_b
    history = env.http.get(f"{env.base}{URL}/{pid}/sen-register", headers=b).json()["items"]
    assert [e["status"] for e in history] == ["K", "E"]
    assert len(env.http.get(f"{env.base}{URL}/{pid}/passport", headers=b).json()["items"]) == 1
    [event] = env.events("pupil.moved")
    assert event["data"] == {"pupil_id": pid, "from_org_id": env.school_a,
                             "to_org_id": env.school_b, "moved_on": "2026-09-01"}
    assert event["org_id"] == env.school_b


# -- bulk import ----------------------------------------------------------------------

def csv_text(rows):
    header = ("UPN,Legal Surname,Forename,Date of Birth,Year Group,SEN Provision,"
              "Primary Need,Secondary Need\n")
    return header + "".join(",".join(r) + "\n" for r in rows)


GOOD = [(upn(n), "Taylor", f"Sam{n}", "01/03/2015", "5", "K", "ASD", "") for n in range(1, 6)]
BAD = [
    ("A801200005001", "Bad", "Check", "01/03/2015", "5", "K", "ASD", ""),
    (upn(6), "", "NoSurname", "01/03/2015", "5", "N", "", ""),
    (upn(7), "Jones", "Alex", "01/03/2015", "5", "E", "NSA", ""),
    (upn(1), "Taylor", "Dup", "01/03/2015", "5", "K", "ASD", ""),
]


def test_import_api_reports_rejected_rows_and_a_rerun_changes_nothing(env):
    body = csv_text(GOOD[:3] + BAD[:3] + GOOD[3:] + BAD[3:])
    post = lambda: env.http.post(env.base + URL + "/imports", data=body.encode(),  # noqa: E731
                                 headers={**env.senco_a, "Content-Type": "text/csv"})
    resp = post()
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert {k: report[k] for k in ("rows", "created", "updated", "unchanged", "rejected")} == {
        "rows": 9, "created": 5, "updated": 0, "unchanged": 0, "rejected": 4}
    assert {(e["row"], e["field"]) for e in report["errors"]} == {
        (5, "upn"), (6, "legal_surname"), (7, "primary_need"), (10, "upn")}
    assert env.count("pupils") == 5 and len(env.events("pupil.registered")) == 5
    outbox = env.count("outbox")
    again = post().json()
    assert again["created"] == 0 and again["unchanged"] == 5 and again["rejected"] == 4
    assert env.count("outbox") == outbox and env.count("sen_register") == 5
    # a changed row updates the pupil and the register, with events
    changed = csv_text([(upn(1), "Taylor", "Sam1", "01/03/2015", "6", "E", "ASD", "SEMH")])
    upd = env.http.post(env.base + URL + "/imports", data=changed.encode(),
                        headers=env.senco_a).json()
    assert upd["updated"] == 1
    assert len(env.events("pupil.sen_status_changed")) == 1
    assert len(env.events("pupil.updated")) == 1


def test_import_rejects_pupils_of_another_school_and_bad_files(env):
    env.create(n=1, headers=env.h(env.school_b, "senco"))
    resp = env.http.post(env.base + URL + "/imports", data=csv_text(GOOD[:2]).encode(),
                         headers=env.senco_a).json()
    assert resp["created"] == 1 and resp["errors"] == [
        {"row": 2, "field": "upn", "reason": domain.upn_unavailable().errors["upn"][0]}]
    assert "another organisation" not in str(resp) and "already in the trust" not in str(resp)
    bad = env.http.post(env.base + URL + "/imports", data=b"name,age\nx,1\n",
                        headers=env.senco_a)
    assert bad.status_code == 422 and "file" in bad.json()["errors"]
    empty = env.http.post(env.base + URL + "/imports", data=b"", headers=env.senco_a)
    assert empty.status_code == 422
    admin = env.http.post(env.base + URL + "/imports", data=csv_text(GOOD[2:3]).encode(),
                          headers=env.admin)
    assert admin.status_code == 422 and "org" in admin.json()["errors"]
    admin = env.http.post(env.base + URL + "/imports", params={"org": "140002"},
                          data=csv_text(GOOD[2:3]).encode(), headers=env.admin)
    assert admin.json()["created"] == 1
    teacher = env.http.post(env.base + URL + "/imports", data=csv_text(GOOD[3:4]).encode(),
                            headers=env.h(env.school_a, "teacher"))
    assert teacher.status_code == 403 and env.count("pupils") == 3



def test_import_has_a_size_limit_and_refuses_nul_bytes(env):
    """Issue 11: the CSV import read any size of body; a NUL byte reached the database."""
    from services.pupils.service import IMPORT_MAX_BYTES
    body = csv_text(GOOD[:1]).encode()
    huge = body + b"," * (IMPORT_MAX_BYTES + 1)
    resp = env.http.post(env.base + URL + "/imports", data=huge,
                         headers={**env.senco_a, "Content-Type": "text/csv"})
    assert resp.status_code == 413, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    # chunked (no Content-Length): refused whole, nothing imported
    resp = env.http.post(env.base + URL + "/imports", data=iter([body, huge]),
                         headers={**env.senco_a, "Content-Type": "text/csv"})
    assert resp.status_code == 413, resp.text
    assert env.count("pupils") == 0
    nul = csv_text([(upn(1), "Tay\x00lor", "Sam", "01/03/2015", "5", "K", "ASD", "")])
    resp = env.http.post(env.base + URL + "/imports", data=nul.encode(),
                         headers={**env.senco_a, "Content-Type": "text/csv"})
    assert resp.status_code == 422 and "file" in resp.json()["errors"], resp.text
    assert env.count("pupils") == 0

def test_senctl_pupils_import(env, tmp_path):
    path = tmp_path / "mis.csv"
    path.write_text(csv_text(GOOD + BAD[:1]))
    out, err = io.StringIO(), io.StringIO()
    with nameko_config.patch({"PUPILS_DATABASE_URL": env.db_url}), \
            redirect_stdout(out), redirect_stderr(err):
        code = senctl.main(["pupils", "import", str(path), "--org", "140001"])
        assert senctl.main(["pupils", "import", str(path), "--org", "999999"]) == 2
        assert senctl.main(["pupils", "import", str(path), "--org", "140003"]) == 2  # partner
        assert senctl.main(["pupils", "import", str(tmp_path / "none.csv"),
                            "--org", "140001"]) == 2
        # onboarding through senctl still works, from the same module
        assert senctl.main(["org", "onboard", "--name", "Birch School", "--kind",
                            "trust_school", "--urn", "140010", "--laestab", "8011010"]) == 0
    assert code == 1  # a row was rejected
    summary = out.getvalue()
    assert summary.startswith("Read 6 rows: 5 imported (5 new, 0 updated, 0 unchanged), "
                              "1 rejected."), summary
    assert "mis.rejected.csv" in summary
    assert (tmp_path / "mis.rejected.csv").read_text().splitlines()[0].endswith(",Reason")
    assert env.count("organisations", "urn = '140010'") == 1
    assert "Importing pupils" in err.getvalue()
    assert env.count("pupils", f"org_id = '{env.school_a}'") == 5


# -- audit, subject access, erasure -------------------------------------------------------

def test_every_read_is_audited_and_the_auditor_lists_it(env):
    p = env.create()
    teacher = env.h(env.school_a, "teacher")
    env.http.get(f"{env.base}{URL}/{p['id']}", headers=teacher)
    env.http.get(env.base + URL, headers=teacher)
    env.http.get(f"{env.base}{URL}/{p['id']}/passport", headers=teacher)
    assert env.http.get(env.base + URL + "/audit", headers=teacher).status_code == 403
    auditor = env.h(env.trust, "auditor")
    resp = env.http.get(env.base + URL + "/audit", params={"pupil_id": p["id"]},
                        headers=auditor)
    assert resp.status_code == 200, resp.text
    entries = resp.json()["items"]
    assert {e["endpoint"] for e in entries} == {"get_pupil", "list_pupils", "get_passport"}
    assert {e["actor"] for e in entries} == {"teacher@" + env.school_a[:4]}
    assert all(e["pupil_org_id"] == env.school_a for e in entries)
    other = env.http.get(env.base + URL + "/audit", headers=env.h(env.school_b, "auditor"))
    assert other.json()["total"] == 0  # a school's auditor sees their school only


def test_subject_access_export_holds_everything(env):
    p = env.create()
    env.http.post(f"{env.base}{URL}/{p['id']}/passport/versions", json=passport(),
                  headers=env.senco_a)
    assert env.http.get(f"{env.base}{URL}/{p['id']}/export",
                        headers=env.senco_a).status_code == 403
    resp = env.http.get(f"{env.base}{URL}/{p['id']}/export", headers=env.admin)
    assert resp.status_code == 200
    data = resp.json()
    assert data["pupil"]["upn"] == p["upn"] and len(data["sen_register"]) == 1
    assert data["passport_versions"][0]["about_me"] == "I love trains."
    assert set(data) >= {"guardians", "ehc_plans", "moves", "record_reads", "upn_history"}


def test_erasure_erases_or_anonymises_and_tells_other_services(env):
    plain = env.create(n=1, sen_status="N", primary_need=None, secondary_need=None)
    sen = env.create(n=2, sen_status="K")
    for p, mode in ((plain, "erased"), (sen, "anonymised")):
        resp = env.http.post(f"{env.base}{URL}/{p['id']}/erasure",
                             json={"reason": "parent request", "confirm_pupil_id": p["id"]},
                             headers=env.admin)
        assert resp.status_code == 200, resp.text
        assert resp.json()["mode"] == mode
        assert env.http.get(f"{env.base}{URL}/{p['id']}", headers=env.admin).status_code == 404
    assert env.count("pupils") == 1  # the anonymised SEN record is kept...
    assert env.count("pupils", "upn IS NULL AND forename = ''") == 1  # ...without identity
    assert env.count("sen_register") == 1
    events = env.events("pupil.erased")
    assert [(e["data"]["pupil_id"], e["data"]["mode"]) for e in events] == [
        (plain["id"], "erased"), (sen["id"], "anonymised")]
    # the UPN is free again
    assert env.http.post(env.base + URL, json=pupil_body(n=2),
                         headers=env.senco_a).status_code == 201
    senco = env.http.post(f"{env.base}{URL}/{plain['id']}/erasure",
                          json={"reason": "x", "confirm_pupil_id": plain["id"]},
                          headers=env.senco_a)
    assert senco.status_code == 403
