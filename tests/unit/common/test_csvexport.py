"""Issue 11: one formula-safe CSV writer for every export, every column."""

import csv
import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from services.common.csvexport import csv_text, dict_csv_text, safe_cell
from services.cpd.queries import certificates as cpd_records
from services.documents import sheets
from services.provision import domain as provision_domain


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_lead_is_defused(lead):
    assert safe_cell(lead + "HYPERLINK(\"http://x\")") == "'" + lead + 'HYPERLINK("http://x")'


def test_numbers_dates_and_empty_cells_stay_as_they_are():
    assert [safe_cell(v) for v in (None, 3, Decimal("-0.50"), "-12", date(2026, 1, 2), "")] == [
        "", "3", "-0.50", "-12", "2026-01-02", ""]
    assert safe_cell("-1+cmd|' /C calc'!A0") == "'-1+cmd|' /C calc'!A0"
    assert safe_cell("\t1") == "'\t1"


def test_every_column_of_every_row_and_the_header_is_safe():
    text = csv_text(["=h", "ok"], [["a", "@b"], ["+c", None]])
    assert list(csv.reader(io.StringIO(text))) == [["'=h", "ok"], ["a", "'@b"], ["'+c", ""]]
    text = dict_csv_text(["x", "y"], [{"x": "=1+1"}])
    assert list(csv.reader(io.StringIO(text))) == [["x", "y"], ["'=1+1", ""]]


def test_cpd_records_export_defuses_the_email_column():
    line = SimpleNamespace(course_id="c-1", course_title="-Autism", area_of_need="=x",
                           cpd_hours=3.0, completed_on=date(2026, 11, 1))
    rec = {"name": "@Jo", "email": "=cmd@school.example", "courses": [line],
           "certificates": [SimpleNamespace(course_id="c-1", verification_code="+V1")]}
    data = sheets.cpd_records(cpd_records.export_rows([rec], "=School"), "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [{"Name": "'@Jo", "Email": "'=cmd@school.example", "School": "'=School",
                     "Course": "'-Autism", "Area of need": "'=x", "CPD hours": "3",
                     "Completed on": "2026-11-01", "Certificate code": "'+V1"}]


def test_provision_export_goes_through_the_same_writer():
    text = provision_domain.to_csv([{"name": "@SUM(A1)", "n": Decimal("-2.5")}], ["name", "n"])
    assert list(csv.reader(io.StringIO(text))) == [["name", "n"], ["'@SUM(A1)", "-2.5"]]
