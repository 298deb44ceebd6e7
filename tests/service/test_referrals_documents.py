"""The referrals service's documents on a running container (issue 15): the outreach
report as a PDF (read back with pypdf, page 1 rendered with pdftoppm) and the
referral list as CSV and .xlsx (read back with csv and openpyxl), each scoped like
the JSON it stands beside."""

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest
from nameko.testing.services import worker_factory

from services.common.db import open_database
from services.documents.pdf import long_date
from services.referrals import domain
from services.referrals.models import Base
from services.referrals.service import ReferralsService
from tests.documents_check import check_footer, contains, first_page_png, read_pdf
from tests.helpers import organisation_onboarded
from tests.service.test_referrals_journey import PRACTITIONER, URL, VISIT, Client

HEADERS = ["Reference", "School", "Pupil", "UPN", "Year", "Class", "Areas of need",
           "Status", "Submitted", "Practitioner"]


@pytest.fixture
def svc(run_service, database_urls, engine_name, http, token):
    base, container, db_url = run_service(ReferralsService,
                                          db_url=database_urls("referrals", engine_name))
    handlers = worker_factory(ReferralsService,
                              db=open_database("referrals", Base.metadata, db_url))
    for event in (organisation_onboarded("school-a", "Riverside Primary School"),
                  organisation_onboarded("school-b", "Brook Lane Academy"),
                  organisation_onboarded("trust-1", "Oakfield Schools Trust", kind="trust")):
        handlers.on_organisation_onboarded(event)
    return Client(base, container, db_url, http, token)


def reported(svc):
    """A referral with two visits (90 and 60 minutes) and its report issued."""
    rid, agreement = svc.allocated()
    for visit in (VISIT, {**VISIT, "visit_date": "2026-11-17", "minutes": 60,
                          "seen": ["class_teacher", "parent_carer"],
                          "observations": "Fewer incidents at lunch.",
                          "recommendations": "Keep the quiet space at lunch."}):
        assert svc.post(f"{URL}/{rid}/visits", svc.pat, visit).status_code == 201
    svc.act(rid, "report", svc.pat, {
        "summary": "Needs predictable transitions.",
        "recommendations": [{"text": "Autism awareness training", "course_id": "course-7"},
                            {"text": "Daily sensory circuit", "provision": "Sensory circuit"}]})
    return rid, agreement


def test_the_outreach_report_as_a_pdf(svc):
    rid, _ = reported(svc)
    none_yet = svc.get(f"{URL}/{svc.submit()}/report", svc.school, format="pdf")
    assert none_yet.status_code == 404
    assert none_yet.headers["Content-Type"] == "application/problem+json"
    url = f"{URL}/{rid}/report"
    reference = svc.get(f"{URL}/{rid}", svc.school).json()["reference"]

    resp = svc.get(url, svc.school, format="pdf")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="outreach-report-{reference}.pdf"')
    assert resp.headers["Cache-Control"] == "no-store"
    reader, pages = read_pdf(resp.content)
    text = " ".join(pages)
    today = domain.london_date(datetime.now(UTC))
    year = domain.year_group(datetime(2016, 3, 1).date(), today)
    for expected in (f"Outreach report: {reference}", "Oakfield Schools Trust",
                     "Sam Taylor", "B801200005001", "1 March 2016", f"Year {year}",
                     "Riverside Primary School", f"written {long_date(today)}",
                     "Communication and interaction",  # areas and types of need in words
                     "Autistic Spectrum Disorder", "Needs predictable transitions.",
                     "Visit on 10 November 2026 (1.5 hours)", "Visit on 17 November 2026 (1 hours)",
                     "Pupil, SENCO", "Class teacher, Parent or carer",
                     "Observed in two lessons.", "Now-and-next board.",
                     "Fewer incidents at lunch.", "Autism awareness training",
                     "Daily sensory circuit (provision: Sensory circuit)",
                     "Total for this referral 2.5", "Hours bought 10.0", "Hours used 2.5",
                     "Hours left 7.5"):
        assert contains(text, expected), expected
    assert "ASD" not in text.split() and "communication_and_interaction" not in text
    assert reader.metadata.title == f"Outreach report: {reference}"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    check_footer(pages, printed=f"Printed {long_date(today)}")
    first_page_png(resp.content, "service_outreach_report")

    # JSON stays the default; the trust and the practitioner read it too
    report = svc.get(url, svc.lead).json()
    assert report["reference"] == reference and report["summary"] == "Needs predictable transitions."
    assert [r["text"] for r in report["recommendations"]] == [
        "Autism awareness training", "Daily sensory circuit"]
    assert svc.get(url, svc.pat, format="pdf").status_code == 200
    # scoped like the referral: another school, another practitioner: not found
    assert svc.get(url, svc.other_school, format="pdf").status_code == 404
    assert svc.get(url, svc.kim, format="pdf").status_code == 404
    bad = svc.get(url, svc.school, format="docx")
    assert bad.status_code == 422 and "format" in bad.json()["errors"]


def test_the_referral_list_as_csv_and_xlsx(svc):
    rid, _ = reported(svc)
    svc.agreement(school="school-b")
    svc.submit(who=svc.other_school,
               pupil={"first_name": "Alex", "last_name": "Other", "date_of_birth": "2018-10-02"})
    reference = svc.get(f"{URL}/{rid}", svc.school).json()["reference"]
    today = domain.london_date(datetime.now(UTC))

    resp = svc.get(URL, svc.lead, format="csv")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="referrals.csv"'
    assert resp.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    by_pupil = {row[2]: row for row in rows[1:]}
    assert set(by_pupil) == {"Sam Taylor", "Alex Other"}  # every referral, not one page
    sam = by_pupil["Sam Taylor"]
    assert sam[:5] == [reference, "Riverside Primary School", "Sam Taylor", "B801200005001",
                       f"Year {domain.year_group(datetime(2016, 3, 1).date(), today)}"]
    assert sam[6:8] == ["Communication and interaction", "Report issued"]
    assert sam[8] == today.isoformat() and sam[9] == PRACTITIONER["name"]
    assert by_pupil["Alex Other"][1] == "Brook Lane Academy"
    assert by_pupil["Alex Other"][7] == "Submitted" and by_pupil["Alex Other"][9] == ""

    # a school's spreadsheet has its own referrals only; filters apply as in the list
    mine = svc.get(URL, svc.school, format="xlsx")
    assert mine.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(mine.content)).active
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.max_row == 2 and ws["C2"].value == "Sam Taylor"
    assert ws["B2"].value == "Riverside Primary School" and ws["H2"].value == "Report issued"
    assert ws["I2"].is_date and ws["I2"].value.date() == today
    submitted_only = svc.get(URL, svc.lead, format="csv", status="submitted")
    rows = list(csv.reader(io.StringIO(submitted_only.content.decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == ["Alex Other"]
    practitioner = svc.get(URL, svc.kim, format="csv")  # nothing allocated to Kim
    assert len(list(csv.reader(io.StringIO(practitioner.content.decode("utf-8-sig"))))) == 1
    bad = svc.get(URL, svc.lead, format="pdf")
    assert bad.status_code == 422 and "format" in bad.json()["errors"]
