"""Spreadsheets a head or finance officer opens directly: CSV and .xlsx (openpyxl).

Every export has a fixed column set with human headers and people named (name, UPN,
year and class, never ids alone). Each is a function from rows of dicts to bytes:
`provision_map(rows, "xlsx")`. Values:

- CSV: UTF-8 with a byte-order mark (Excel reads the £ and accents right), CRLF; a
  text cell that starts with = + - @ tab or CR gets a leading apostrophe, in every
  column (a real negative number in a number column stays a number).
- xlsx: the header row bold, frozen and filtered, widths from the content, dates as
  dates, money as numbers formatted in £, percentages as numbers; text that looks
  like a formula is stored as text, never evaluated.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from services.common.csvexport import FORMULA_LEADS, safe_cell

from .labels import label, year_label
from .pdf import as_date, as_decimal, frequency

MONEY_FORMAT = '"£"#,##0.00'
DATE_FORMAT = "d mmm yyyy"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text, date, money, int, number, percent
    get: object = None  # optional function row -> value


def _value(col, row):
    raw = col.get(row) if col.get else row.get(col.key)
    if raw is None or raw == "":
        return None
    if col.kind == "date":
        return as_date(raw) or str(raw)
    if col.kind in ("money", "number", "percent"):
        d = as_decimal(raw)
        return str(raw) if d is None else d
    if col.kind == "int":
        try:
            return int(raw)
        except (TypeError, ValueError):
            return str(raw)
    if isinstance(raw, (list, tuple)):
        return "; ".join(str(v) for v in raw)
    if isinstance(raw, bool):
        return "Yes" if raw else "No"
    return str(raw)


def _looks_like_formula(value):
    return isinstance(value, str) and value[:1] in FORMULA_LEADS


def to_csv(columns, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for row in rows:
        cells = []
        for col in columns:
            v = _value(col, row)
            if v is None:
                v = ""
            elif isinstance(v, (date, datetime)):
                v = v.isoformat()
            elif col.kind == "money" and not isinstance(v, str):
                v = f"{v:.2f}"
            cells.append(safe_cell(v))
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(columns, rows, title="Export"):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(title)
    wb.properties.title = title
    wb.properties.creator = "SEN trust platform"
    wb.properties.keywords = "OFFICIAL-SENSITIVE"
    widths = [len(c.header) for c in columns]
    for i, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i, value=col.header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for r, row in enumerate(rows, start=2):
        for i, col in enumerate(columns, start=1):
            v = _value(col, row)
            cell = ws.cell(row=r, column=i)
            if isinstance(v, str):
                cell.value = v
                cell.data_type = "s"  # never a formula, whatever it starts with
                if _looks_like_formula(v):
                    cell.quotePrefix = True
                shown = max((len(line) for line in v.splitlines()), default=0)
            elif v is None:
                shown = 0
            elif col.kind == "date":
                cell.value = v
                cell.number_format = DATE_FORMAT
                shown = 11
            elif col.kind == "money":
                cell.value = float(v)
                cell.number_format = MONEY_FORMAT
                shown = len(f"£{v:,.2f}")
            elif col.kind == "percent":
                cell.value = float(v) / 100
                cell.number_format = "0.0%"
                shown = 6
            else:
                cell.value = float(v) if col.kind == "number" else v
                shown = len(str(v))
            widths[i - 1] = max(widths[i - 1], shown)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(w + 2, 8), 60)
    ws.freeze_panes = "A2"
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(rows) + 1, 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet_title(title):
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    return title[:31] or "Export"


def export(columns, rows, fmt, title):
    if fmt == "csv":
        return to_csv(columns, rows)
    if fmt == "xlsx":
        return to_xlsx(columns, rows, title)
    raise ValueError(f"not a spreadsheet format: {fmt}")


# -- the fixed column sets -------------------------------------------------------------

def _year(row):
    return year_label(row.get("year_group"))


PUPIL = [Column("pupil_name", "Pupil"), Column("upn", "UPN"),
         Column("year_group", "Year", get=_year), Column("class_name", "Class")]

PROVISION_MAP = PUPIL + [
    Column("provision", "Provision"),
    Column("tier", "Tier", get=lambda r: label("tier", r.get("tier"))),
    Column("area_of_need", "Area of need",
           get=lambda r: label("area_of_need", r.get("area_of_need"))),
    Column("frequency", "Frequency", get=frequency),
    Column("staff", "Staff"),
    Column("start_date", "Start", "date"), Column("end_date", "End", "date"),
    Column("outcomes", "Outcomes sought"),
    Column("statutory", "In EHC plan"),
    Column("cost_to_date", "Cost to date", "money"),
    Column("cost_projected", "Projected cost", "money"),
]

COSTS_BY_PUPIL = PUPIL + [
    Column("sen_status", "SEN provision", get=lambda r: label("sen_status", r.get("sen_status"))),
    Column("cost_to_date", "Cost to date", "money"),
    Column("cost_projected", "Projected cost", "money"),
]

COSTS_BY_GROUP = [
    Column("group", "Group", get=lambda r: label("cost_group", r.get("group"))),
    Column("name", "Name", get=lambda r: r.get("name") or (
        label("tier", r.get("key")) if r.get("group") == "tier" else r.get("key"))),
    Column("cost_to_date", "Cost to date", "money"),
    Column("cost_projected", "Projected cost", "money"),
]

REVIEWS_DUE = PUPIL + [
    Column("number", "Cycle", "int"),
    Column("started_on", "Started", "date"),
    Column("review_date", "Review due", "date"),
    Column("overdue", "Overdue", get=lambda r: "Yes" if r.get("overdue") else "No"),
]

EHC_DEADLINES = PUPIL + [
    Column("school", "School"),
    Column("deadline", "Statutory step", get=lambda r: label("ehc_step", r.get("deadline"))),
    Column("due", "Due by", "date"),
    Column("days_overdue", "Days overdue", "int"),  # negative: days still to go
]

IMPACT = [
    Column("provision", "Provision"),
    Column("tier", "Tier", get=lambda r: label("tier", r.get("tier"))),
    Column("organisation", "School"),
    Column("pupils", "Pupils", "int"),
    Column("targets", "Targets", "int"),
    Column("targets_reviewed", "Targets reviewed", "int"),
    Column("targets_met", "Targets met", "int"),
    Column("share_met", "Share of targets met", "percent"),
    Column("average_progress", "Average progress", "number"),
    Column("cost_to_date", "Cost to date", "money"),
    Column("cost_per_pupil", "Cost per pupil", "money"),
    Column("cost_per_target_met", "Cost per target met", "money"),
]

CPD_RECORDS = [
    Column("name", "Name"), Column("email", "Email"), Column("organisation", "School"),
    Column("course_title", "Course"),
    Column("area_of_need", "Area of need",
           get=lambda r: label("area_of_need", r.get("area_of_need"))),
    Column("cpd_hours", "CPD hours", "number"),
    Column("completed_on", "Completed on", "date"),
    Column("verification_code", "Certificate code"),
]

REFERRALS = [Column("reference", "Reference"), Column("school", "School")] + PUPIL + [
    Column("areas_of_need", "Areas of need",
           get=lambda r: [label("area_of_need", a) for a in r.get("areas_of_need") or ()]),
    Column("status", "Status", get=lambda r: label("referral_status", r.get("status"))),
    Column("submitted_at", "Submitted", "date"),
    Column("practitioner", "Practitioner"),
]


def provision_map(rows, fmt="xlsx"):
    """One row per pupil per provision (the costed provision map)."""
    return export(PROVISION_MAP, rows, fmt, "Provision map")


def costs(rows, fmt="xlsx", by="pupil"):
    """Costs per pupil (by="pupil") or per tier/provision/school (rows with group, name)."""
    return export(COSTS_BY_PUPIL if by == "pupil" else COSTS_BY_GROUP, rows, fmt, "Costs")


def reviews_due(rows, fmt="xlsx"):
    return export(REVIEWS_DUE, rows, fmt, "Reviews due")


def ehc_deadlines(rows, fmt="xlsx"):
    """One row per open statutory EHC deadline (the pupils service's overdue list)."""
    return export(EHC_DEADLINES, rows, fmt, "EHC plan deadlines")


def impact(rows, fmt="xlsx"):
    return export(IMPACT, rows, fmt, "Impact")


def cpd_records(rows, fmt="xlsx"):
    """One row per person per completed course."""
    return export(CPD_RECORDS, rows, fmt, "CPD records")


def referrals(rows, fmt="xlsx"):
    return export(REFERRALS, rows, fmt, "Referrals")


def headers(columns):
    return [c.header for c in columns]
