"""The pupils service's documents (issue 15) on a running container: an EHC plan's
timeline as PDF (read back with pypdf, page 1 rendered with pdftoppm) with the same
roles and scoping as reading the plan, and the overdue and due-soon EHC deadlines (the
annual reviews among them) as CSV and .xlsx (read back with csv and openpyxl)."""

import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest

from services.pupils.service import PupilsService, today
from tests.conftest import bearer
from tests.documents_check import contains, first_page_png, read_pdf
from tests.service.test_pupils_api import URL, Env, upn

GUARDIAN = {"name": "Chris Okafor", "relationship": "Parent",
            "email": "chris.okafor@example.com", "preferred_channel": "email",
            "parental_responsibility": True}


@pytest.fixture
def env(run_service, database_urls, engine_name, http, token):
    base, _, db_url = run_service(PupilsService, db_url=database_urls("pupils", engine_name),
                                  EHCP_TIMER_SECONDS=3600)
    return Env(base, db_url, http, token)


def plan_of(env, pupil_id, steps=None, pause=None):
    base = f"{env.base}{URL}/{pupil_id}/ehc-plans"
    resp = env.http.post(base, json={"request_date": "2026-01-05"}, headers=env.senco_a)
    assert resp.status_code == 201, resp.text
    plan = resp.json()
    if pause:
        assert env.http.post(f"{base}/{plan['id']}/pauses", json=pause,
                             headers=env.senco_a).status_code == 201
    if steps:
        resp = env.http.patch(f"{base}/{plan['id']}", json=steps, headers=env.senco_a)
        assert resp.status_code == 200, resp.text
    return f"{base}/{plan['id']}"


def pdf_of(resp):
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Cache-Control"] == "no-store"
    return resp.content


def test_the_ehc_plan_timeline_pdf_names_the_pupil_and_its_statutory_dates(env):
    child = env.create(forename="Amara", legal_surname="Okafor", upn=upn(7),
                       registration_group="5B", guardians=[GUARDIAN])
    url = plan_of(env, child["id"], steps={"decision_to_assess_on": "2026-02-10"},
                  pause={"reason": "exceptional_personal_circumstances",
                         "starts_on": "2026-03-02", "ends_on": "2026-03-09"})
    data = pdf_of(env.http.get(url, params={"format": "pdf"}, headers=env.senco_a))
    reader, pages = read_pdf(data)
    text = " ".join(pages)
    assert reader.metadata.title == "EHC plan timeline: Amara Okafor"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    for expected in ("Amara Okafor: EHC plan timeline", upn(7), "Oak School", "Year 5, 5B",
                     "SEN Support", "Autistic Spectrum Disorder",
                     "Request for assessment", "5 January 2026",
                     # 6 weeks: 16 February, done on 10 February
                     "Decision whether to assess (6 weeks)", "16 February 2026",
                     "10 February 2026", "Done",
                     # 16 and 20 weeks, each pushed back by the 7-day pause
                     "Decision whether to issue a plan (16 weeks)", "4 May 2026",
                     "Final EHC plan (20 weeks)", "1 June 2026",
                     "Exceptional personal circumstances", "2 March 2026", "9 March 2026",
                     "OFFICIAL-SENSITIVE"):
        assert contains(text, expected), expected
    for code in ("decision_to_assess", "final_plan", "exceptional_personal_circumstances",
                 "ASD"):
        assert code not in text, code
    assert first_page_png(data, "service_ehc_timeline").stat().st_size > 0
    # JSON stays the default, and says the same dates
    plan = env.http.get(url, headers=env.senco_a).json()
    assert plan["deadlines"]["final_plan"]["due"] == "2026-06-01"
    assert plan["pauses"][0]["reason"] == "exceptional_personal_circumstances"
    bad = env.http.get(url, params={"format": "docx"}, headers=env.senco_a)
    assert bad.status_code == 422 and "format" in bad.json()["errors"]


def test_the_timeline_is_scoped_like_the_plan_and_a_parent_gets_their_childs(env, token):
    child = env.create(forename="Amara", legal_surname="Okafor", guardians=[GUARDIAN])
    other = env.create(n=2, forename="Other")
    url = plan_of(env, child["id"], pause={"reason": "exceptional_personal_circumstances",
                                           "starts_on": "2026-03-02",
                                           "ends_on": "2026-03-09"})
    pdf = {"format": "pdf"}
    for headers in (env.h(env.school_b, "senco"), env.h(env.school_b, "teacher")):
        assert env.http.get(url, params=pdf, headers=headers).status_code == 404
    assert env.http.get(url, params=pdf, headers=env.h(env.school_a, "teacher")
                        ).status_code == 200
    assert env.http.get(url, params=pdf, headers=env.admin).status_code == 200
    for role in ("auditor", "portal"):
        assert env.http.get(url, params=pdf, headers=env.h(env.trust, role)).status_code == 403
    mine = bearer(token(env.school_a, "parent", sub=GUARDIAN["email"], pupils=[child["id"]]))
    _, pages = read_pdf(pdf_of(env.http.get(url, params=pdf, headers=mine)))
    text = " ".join(pages)
    assert contains(text, "Amara Okafor: EHC plan timeline")
    assert contains(text, "Decision whether to assess (6 weeks)")
    # a parent's view leaves out the pauses, as the parent's JSON does
    assert not contains(text, "Exceptional personal circumstances")
    seen = env.http.get(url, headers=mine).json()
    assert "pauses" not in seen and seen["deadlines"]["decision_to_assess"]["due"]
    for headers in (bearer(token(env.school_a, "parent", sub=GUARDIAN["email"],
                                 pupils=[other["id"]])),
                    bearer(token(env.school_a, "parent", sub="someone@example.com",
                                 pupils=[child["id"]]))):
        assert env.http.get(url, params=pdf, headers=headers).status_code == 404
    other_plan = f"{env.base}{URL}/{other['id']}/ehc-plans/{url.rsplit('/', 1)[1]}"
    assert env.http.get(other_plan, params=pdf, headers=env.senco_a).status_code == 404


def test_overdue_ehc_deadlines_export_as_csv_and_xlsx_with_names(env):
    child = env.create(forename="Amara", legal_surname="Okafor", upn=upn(7),
                       registration_group="=5B", year_group=4)
    env.create(n=2, forename="Nobody")  # no plan: not listed
    requested = (today() - timedelta(weeks=30)).isoformat()
    resp = env.http.post(f"{env.base}{URL}/{child['id']}/ehc-plans",
                         json={"request_date": requested}, headers=env.senco_a)
    assert resp.status_code == 201, resp.text
    url = f"{env.base}{URL}/ehc-plans/overdue"
    listed = env.http.get(url, headers=env.senco_a).json()["items"]
    assert [i["deadline"] for i in listed] == ["decision_to_assess", "decision_to_issue",
                                               "final_plan"]

    resp = env.http.get(url, params={"format": "csv"}, headers=env.senco_a)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0] == ["Pupil", "UPN", "Year", "Class", "School", "Statutory step", "Due by",
                       "Days overdue"]
    assert [r[:5] for r in rows[1:]] == [["Amara Okafor", upn(7), "Year 4", "'=5B",
                                          "Oak School"]] * 3
    assert [r[5] for r in rows[1:]] == ["Decision whether to assess (6 weeks)",
                                        "Decision whether to issue a plan (16 weeks)",
                                        "Final EHC plan (20 weeks)"]
    assert rows[1][6] == listed[0]["due"] and rows[1][7] == str(listed[0]["days_overdue"])

    resp = env.http.get(url, params={"format": "xlsx"}, headers=env.senco_a)
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    assert [c.value for c in ws[1]] == rows[0]
    assert [ws["A2"].value, ws["B2"].value, ws["C2"].value, ws["D2"].value] == [
        "Amara Okafor", upn(7), "Year 4", "=5B"]
    assert ws["D2"].data_type == "s" and ws["G2"].is_date
    assert ws["H2"].value == listed[0]["days_overdue"]
    # scoped like the list: another school's SENCO sees none of them
    theirs = env.http.get(url, params={"format": "csv"}, headers=env.h(env.school_b, "senco"))
    assert theirs.status_code == 200
    assert list(csv.reader(io.StringIO(theirs.content.decode("utf-8-sig"))))[1:] == []
    assert env.http.get(url, params={"format": "pdf"}, headers=env.senco_a).status_code == 422


def test_ehc_deadlines_due_soon_list_the_annual_review_coming_up(env):
    child = env.create(forename="Amara", legal_surname="Okafor", upn=upn(7),
                       registration_group="5B")
    issued = today() - timedelta(days=365 - 10)  # the annual review falls due in ~9 days
    requested = issued - timedelta(weeks=19)
    base = f"{env.base}{URL}/{child['id']}/ehc-plans"
    plan = env.http.post(base, json={"request_date": requested.isoformat()},
                         headers=env.senco_a).json()
    resp = env.http.patch(f"{base}/{plan['id']}", headers=env.senco_a, json={
        "decision_to_assess_on": (requested + timedelta(weeks=5)).isoformat(),
        "decision_to_issue_on": (requested + timedelta(weeks=15)).isoformat(),
        "issued_on": issued.isoformat()})
    assert resp.status_code == 200, resp.text
    due_on = date.fromisoformat(resp.json()["deadlines"]["annual_review"]["due"])
    url = f"{env.base}{URL}/ehc-plans/due"
    [item] = env.http.get(url, headers=env.senco_a).json()["items"]
    assert (item["deadline"], item["due"]) == ("annual_review", due_on.isoformat())
    assert item["days_overdue"] == (today() - due_on).days < 0
    assert env.http.get(f"{env.base}{URL}/ehc-plans/overdue",
                        headers=env.senco_a).json()["items"] == []
    assert env.http.get(url, params={"within_days": 3},
                        headers=env.senco_a).json()["items"] == []
    rows = list(csv.reader(io.StringIO(env.http.get(
        url, params={"format": "csv"}, headers=env.senco_a).content.decode("utf-8-sig"))))
    assert rows[1][:7] == ["Amara Okafor", upn(7), "Year 5", "5B", "Oak School",
                           "Annual review", due_on.isoformat()]
    ws = openpyxl.load_workbook(io.BytesIO(env.http.get(
        url, params={"format": "xlsx"}, headers=env.senco_a).content)).active
    assert ws["F2"].value == "Annual review" and ws["G2"].is_date
    assert env.http.get(url, headers=env.h(env.school_b, "senco")).json()["items"] == []
    assert env.http.get(url, headers=env.h(env.school_a, "teacher")).status_code == 403
    bad = env.http.get(url, params={"within_days": 400}, headers=env.senco_a)
    assert bad.status_code == 422 and "within_days" in bad.json()["errors"]
