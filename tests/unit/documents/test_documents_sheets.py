"""Every export opens in openpyxl and the csv module with its fixed columns; dates are
dates, money is numbers in £, and formula-looking text is never a formula."""

import csv
import io
from datetime import datetime

import openpyxl
import pytest

from services.documents import sheets

EVIL = "=HYPERLINK(\"http://x\",\"y\")"

ROWS = {
    "provision_map": [{"pupil_name": "Amara Okafor", "upn": "A123456789012", "year_group": 4,
                       "class_name": "4B", "provision": "+Reading catch-up", "tier": "targeted",
                       "area_of_need": "cognition_and_learning", "sessions_per_week": "2",
                       "session_minutes": 30, "staff": EVIL, "start_date": "2026-11-02",
                       "end_date": "2026-11-27", "outcomes": "@reads", "statutory": True,
                       "cost_to_date": "40.00", "cost_projected": "-5.50"}],
    "costs": [{"pupil_name": "-Ben", "upn": "B123456789012", "year_group": 0,
               "class_name": "\tR1", "sen_status": "E", "cost_to_date": "1234.5",
               "cost_projected": "2000"}],
    "reviews_due": [{"pupil_name": "Amara Okafor", "upn": "A123456789012", "year_group": 4,
                     "class_name": "4B", "number": 2, "started_on": "2026-09-07",
                     "review_date": "2026-11-01", "overdue": True}],
    "ehc_deadlines": [{"pupil_name": "Amara Okafor", "upn": "A123456789012", "year_group": 4,
                       "class_name": "4B", "school": "+Oak School", "deadline": "final_plan",
                       "due": "2026-06-01", "days_overdue": 184}],
    "impact": [{"provision": "Reading catch-up", "tier": "targeted", "organisation": EVIL,
                "pupils": 2, "targets": 2, "targets_reviewed": 2, "targets_met": 1,
                "share_met": "50.0", "average_progress": "1.00", "cost_to_date": "60.00",
                "cost_per_pupil": "30.00", "cost_per_target_met": "60.00"}],
    "cpd_records": [{"name": "Jo Bloggs", "email": "jo@oak.sch.uk", "organisation": "Oak Hill",
                     "course_title": "=1+1", "area_of_need": "sensory_and_physical",
                     "cpd_hours": 3.5, "completed_on": "2026-10-12",
                     "verification_code": "ABCD-1234"}],
    "referrals": [{"reference": "REF-2026-0042", "school": "Elm Park", "pupil_name": "Callum Price",
                   "upn": "C123456789012", "year_group": 3, "class_name": "3W",
                   "areas_of_need": ["communication_and_interaction", "sensory_and_physical"],
                   "status": "in_progress", "submitted_at": "2026-10-01T09:00:00+00:00",
                   "practitioner": "\rSam"}],
}

HEADERS = {
    "provision_map": ["Pupil", "UPN", "Year", "Class", "Provision", "Tier", "Area of need",
                      "Frequency", "Staff", "Start", "End", "Outcomes sought", "In EHC plan",
                      "Cost to date", "Projected cost"],
    "costs": ["Pupil", "UPN", "Year", "Class", "SEN provision", "Cost to date",
              "Projected cost"],
    "reviews_due": ["Pupil", "UPN", "Year", "Class", "Cycle", "Started", "Review due",
                    "Overdue"],
    "ehc_deadlines": ["Pupil", "UPN", "Year", "Class", "School", "Statutory step", "Due by",
                      "Days overdue"],
    "impact": ["Provision", "Tier", "School", "Pupils", "Targets", "Targets reviewed",
               "Targets met", "Share of targets met", "Average progress", "Cost to date",
               "Cost per pupil", "Cost per target met"],
    "cpd_records": ["Name", "Email", "School", "Course", "Area of need", "CPD hours",
                    "Completed on", "Certificate code"],
    "referrals": ["Reference", "School", "Pupil", "UPN", "Year", "Class", "Areas of need",
                  "Status", "Submitted", "Practitioner"],
}


def read_csv(data):
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data):
    return openpyxl.load_workbook(io.BytesIO(data)).active


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_every_export_opens_with_its_columns(kind):
    export = getattr(sheets, kind)
    lines = read_csv(export(ROWS[kind], "csv"))
    assert lines[0] == HEADERS[kind] and len(lines) == 2
    for cell in lines[1]:  # no cell starts a formula, in any column
        assert cell[:1] not in ("=", "+", "@", "\t", "\r") and not cell.startswith("-B")
    ws = read_xlsx(export(ROWS[kind], "xlsx"))
    assert [c.value for c in ws[1]] == HEADERS[kind]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.max_row == 2
    for c in ws[2]:
        assert c.data_type != "f"  # text that looks like a formula stays text
    assert all(ws.column_dimensions[chr(65 + i)].width >= 8 for i in range(len(HEADERS[kind])))


def test_provision_map_values_read_as_a_person_would():
    [line] = read_csv(sheets.provision_map(ROWS["provision_map"], "csv"))[1:]
    row = dict(zip(HEADERS["provision_map"], line, strict=True))
    assert row["Year"] == "Year 4" and row["Tier"] == "Targeted"
    assert row["Area of need"] == "Cognition and learning"
    assert row["Frequency"] == "2 sessions a week, 30 minutes each"
    assert row["Provision"] == "'+Reading catch-up" and row["Staff"] == "'" + EVIL
    assert row["Outcomes sought"] == "'@reads" and row["In EHC plan"] == "Yes"
    assert (row["Cost to date"], row["Projected cost"]) == ("40.00", "-5.50")  # numbers

    ws = read_xlsx(sheets.provision_map(ROWS["provision_map"], "xlsx"))
    cells = {h: c for h, c in zip(HEADERS["provision_map"], ws[2], strict=True)}
    assert cells["Start"].value == datetime(2026, 11, 2) and cells["Start"].is_date
    assert cells["Cost to date"].value == 40.0 and "£" in cells["Cost to date"].number_format
    assert cells["Projected cost"].value == -5.5
    assert cells["Staff"].value == EVIL and cells["Staff"].data_type == "s"
    assert cells["Staff"].quotePrefix


def test_costs_csv_escapes_names_and_class_and_keeps_money_numeric():
    [line] = read_csv(sheets.costs(ROWS["costs"], "csv"))[1:]
    assert line == ["'-Ben", "B123456789012", "Reception", "'\tR1", "EHC Plan", "1234.50",
                    "2000.00"]
    ws = read_xlsx(sheets.costs(ROWS["costs"], "xlsx"))
    assert [c.value for c in ws[2]][5:] == [1234.5, 2000.0]


def test_costs_by_group_and_percentages_in_impact():
    rows = [{"group": "tier", "key": "targeted", "cost_to_date": "60.00",
             "cost_projected": "100.00"},
            {"group": "provision", "key": "c1", "name": "Reading catch-up",
             "cost_to_date": "60.00", "cost_projected": "100.00"}]
    lines = read_csv(sheets.costs(rows, "csv", by="group"))
    assert lines == [["Group", "Name", "Cost to date", "Projected cost"],
                     ["Tier", "Targeted", "60.00", "100.00"],
                     ["Provision", "Reading catch-up", "60.00", "100.00"]]
    ws = read_xlsx(sheets.impact(ROWS["impact"], "xlsx"))
    share = ws.cell(row=2, column=8)
    assert share.value == 0.5 and share.number_format == "0.0%"
    assert ws.cell(row=2, column=3).value == EVIL


def test_referral_list_names_areas_and_dates():
    [line] = read_csv(sheets.referrals(ROWS["referrals"], "csv"))[1:]
    assert line[6] == "Communication and interaction; Sensory and/or physical needs"
    assert line[7] == "In progress" and line[8] == "2026-10-01" and line[9] == "'\rSam"
