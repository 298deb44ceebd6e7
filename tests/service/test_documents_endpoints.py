"""Endpoints that now serve documents: the passport as PDF (pupils), the pupil's
costed provision map as PDF/CSV/xlsx and the costs and impact reports as xlsx
(provision). Each read back with pypdf / csv / openpyxl; PDFs rendered with pdftoppm."""

import csv
import io
import shutil
import subprocess

import openpyxl
import pypdf
import pytest

from services.provision.service import ProvisionService
from services.pupils.service import PupilsService
from tests.conftest import ROOT
from tests.service.test_provision_api import ENTRY, TARGET, h
from tests.service.test_provision_api import Env as ProvisionEnv
from tests.service.test_pupils_api import URL, passport, upn
from tests.service.test_pupils_api import Env as PupilsEnv

P = "/api/v1/provision"
PNG_DIR = ROOT / "var" / "test-documents"


def pdf_text(resp, png_name):
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Cache-Control"] == "no-store"
    reader = pypdf.PdfReader(io.BytesIO(resp.content))
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    path = PNG_DIR / f"{png_name}.pdf"
    path.write_bytes(resp.content)
    assert shutil.which("pdftoppm")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", "-f", "1", "-l", "1",
                    str(path), str(PNG_DIR / png_name)], check=True, timeout=60)
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    return reader, "".join(text.split())


def squash(s):
    return "".join(s.split())


@pytest.fixture
def pupils(run_service, database_urls, engine_name, http, token):
    base, _, db_url = run_service(PupilsService, db_url=database_urls("pupils", engine_name),
                                  EHCP_TIMER_SECONDS=3600)
    return PupilsEnv(base, db_url, http, token)


def test_passport_pdf_is_a_real_pdf_of_the_published_version(pupils):
    p = pupils.create(forename="Amara", legal_surname="Okafor", upn=upn(7))
    url = f"{pupils.base}{URL}/{p['id']}/passport"
    none_yet = pupils.http.get(url, params={"format": "pdf"}, headers=pupils.senco_a)
    assert none_yet.status_code == 404
    assert none_yet.headers["Content-Type"] == "application/problem+json"
    assert pupils.http.post(url + "/versions", json=passport(
        pupil_voice="Please tell me first, Miss."), headers=pupils.senco_a).status_code == 201
    assert pupils.http.post(url + "/versions/1/publish",
                            headers=pupils.senco_a).status_code == 200
    resp = pupils.http.get(url, params={"format": "pdf"}, headers=pupils.senco_a)
    reader, text = pdf_text(resp, "service_passport")
    assert len(reader.pages) == 1
    for expected in ("Amara Okafor: pupil passport", upn(7), "Oak School", "Year 5",
                     "Autistic Spectrum Disorder", "Please tell me first, Miss.",
                     "version 1", "OFFICIAL-SENSITIVE", "Page 1 of 1"):
        assert squash(expected) in text, expected
    assert reader.metadata.title == "Pupil passport: Amara Okafor"
    # JSON stays the default; a format it does not make is 422 naming the field.
    assert pupils.http.get(url, headers=pupils.senco_a).json()["current"]["version"] == 1
    bad = pupils.http.get(url, params={"format": "docx"}, headers=pupils.senco_a)
    assert bad.status_code == 422 and "format" in bad.json()["errors"]
    # Scoped like the JSON: another school's SENCO does not find the pupil.
    other = pupils.http.get(url, params={"format": "pdf"},
                            headers=pupils.h(pupils.school_b, "senco"))
    assert other.status_code == 404


@pytest.fixture
def provision(run_service, database_urls, engine_name):
    from nameko.testing.services import worker_factory

    from services.common.db import open_database
    from services.provision.models import Base

    db_url = database_urls("provision", engine_name)
    base, _c, _ = run_service(ProvisionService, db_url=db_url)
    db = open_database("provision", Base.metadata, db_url)
    return ProvisionEnv(base, db_url, worker_factory(ProvisionService, db=db))


def test_provision_map_and_cost_exports(provision, http, token):
    env = provision
    env.onboard("s1", name="Oak Hill Primary")
    env.onboard("trust", kind="trust", name="The Trust")
    env.register("A", "s1")
    env.register("B", "s1")
    senco = h(token, "s1", "senco")
    entry = http.post(env.base + P + "/catalogue", json=ENTRY, headers=senco).json()["id"]
    target = http.post(env.base + P + "/targets", headers=senco, json={
        **TARGET, "pupil_id": "A", "due_date": "2026-12-18"}).json()
    a = http.post(env.base + P + "/assignments", headers=senco, json={
        "catalogue_id": entry, "pupil_ids": ["A", "B"], "start_date": "2026-11-02",
        "end_date": "2026-11-27", "sessions_per_week": "2", "staff": "=Ms Reed",
        "target_ids": [target["id"]]}).json()
    for day, who in (("2026-11-03", "AB"), ("2026-11-04", "AB"), ("2026-11-05", "A")):
        assert http.post(f"{env.base}{P}/assignments/{a['id']}/sessions", headers=senco, json={
            "held_on": day, "attendance": [{"pupil_id": p, "attended": True} for p in who]},
        ).status_code == 201
    url = f"{env.base}{P}/pupils/A/map"

    reader, text = pdf_text(http.get(url, params={"format": "pdf"}, headers=senco),
                            "service_provision_map")
    for expected in ("Costed provision map: Pupil record A", "Oak Hill Primary",
                     "Reading catch-up", "Targeted", "Cognition and learning",
                     "2 sessions a week, 30 minutes each", "=Ms Reed", "2 November 2026",
                     "27 November 2026", TARGET["expected_outcome"], "£40.00",
                     "Total for Pupil record A £40.00"):
        assert squash(expected) in text, expected

    rows = list(csv.reader(io.StringIO(http.get(url, params={"format": "csv"},
                                                headers=senco).content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Pupil", "UPN", "Year", "Class", "Provision"]
    assert rows[1][2] == "Year 4" and rows[1][8] == "'=Ms Reed" and rows[1][13] == "40.00"

    ws = openpyxl.load_workbook(io.BytesIO(http.get(url, params={"format": "xlsx"},
                                                    headers=senco).content)).active
    assert ws["E2"].value == "Reading catch-up" and ws["I2"].data_type == "s"
    assert ws["N2"].value == 40.0 and ws["J2"].is_date

    costs = http.get(env.base + P + "/costs", headers=senco,
                     params={"view": "pupil", "format": "xlsx"})
    assert costs.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(costs.content)).active
    assert [c.value for c in ws[1]] == ["Pupil", "UPN", "Year", "Class", "SEN provision",
                                        "Cost to date", "Projected cost"]
    assert [ws["A2"].value, ws["C2"].value, ws["E2"].value, ws["F2"].value] == [
        "Pupil record A", "Year 4", "SEN Support", 40.0]
    summary = openpyxl.load_workbook(io.BytesIO(http.get(
        env.base + P + "/costs", headers=senco, params={"format": "xlsx"}).content)).active
    assert [summary["A2"].value, summary["B2"].value, summary["C2"].value] == [
        "Total", "Total", 60.0]
    assert [summary["A3"].value, summary["B3"].value] == ["Tier", "Targeted"]
    impact = openpyxl.load_workbook(io.BytesIO(http.get(
        env.base + P + "/reports/impact", headers=senco,
        params={"format": "xlsx", "group_by": "provision_org"}).content)).active
    assert impact["A1"].value == "Provision" and impact["A2"].value == "Reading catch-up"
    assert impact["C2"].value == "Oak Hill Primary"

    # Scoped like the JSON; bad formats are 422 naming the field.
    assert http.get(url, params={"format": "pdf"},
                    headers=h(token, "s2", "senco")).status_code == 404
    bad = http.get(url, params={"format": "docx"}, headers=senco)
    assert bad.status_code == 422 and "format" in bad.json()["errors"]
