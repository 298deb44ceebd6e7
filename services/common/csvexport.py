"""CSV exports: one writer for every service, so that no cell a spreadsheet would
run as a formula (CSV injection) leaves the platform, whatever its column."""

import csv
import io
import re

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value):
    """A cell's text: None is empty; text that starts with =, +, -, @, tab or CR is
    prefixed with a quote, except a plain negative number, which stays a number."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text[:1] in FORMULA_LEADS and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header, rows):
    """CSV text (RFC 4180 line ends) of a header and rows (sequences of cells), every
    cell through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return out.getvalue()


def dict_csv_text(columns, rows):
    """CSV text of dict rows, the columns in order (missing keys are empty)."""
    return csv_text(columns, ([row.get(k) for k in columns] for row in rows))
