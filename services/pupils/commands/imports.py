"""Bulk import of an MIS CSV export (UPN, legal surname, forename, date of birth,
year group, SEN provision, primary need, secondary need, registration group) as
SIMS, Arbor and Bromcom write them (domain.py reads their header and value variants).

Streamed: rows are read, validated and committed in batches, so memory stays
flat whatever the file size. Each rejected row is reported (row number, field,
reason, each reason naming the value found and the values allowed); valid rows are
committed with their events (outbox, same transaction). The rejected rows are kept
as they were read, so `write_rejected` gives a CSV file of them with a Reason column
that imports again once corrected (the Reason column is ignored on import).
Idempotent: a pupil whose row matches what is stored is left alone, so a re-run
of the same file changes nothing.
"""

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from services.common.db import utcnow
from services.common.errors import RuleBroken
from services.common.ids import new_id
from services.contracts import events

from .. import domain, payloads
from ..models import Pupil, SenRegisterEntry
from .pupils import PERSON_FIELDS, change_sen_status, update_pupil

BATCH_SIZE = 1000
MAX_REPORTED_ERRORS = 10_000


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list = field(default_factory=list)
    header: list = field(default_factory=list)
    rejected_rows: list = field(default_factory=list)  # [(row_no, cells, reason)]

    def reject(self, row_no, problems, cells=None):
        self.rejected += 1
        for name, reason in problems:
            if len(self.errors) < MAX_REPORTED_ERRORS:
                self.errors.append({"row": row_no, "field": name, "reason": reason})
        if cells is not None and len(self.rejected_rows) < MAX_REPORTED_ERRORS:
            self.rejected_rows.append(
                (row_no, list(cells), "; ".join(f"{n}: {r}" for n, r in problems)))

    def write_rejected(self, out):
        """The rejected rows as CSV on `out` (a text file): the original header and cells,
        plus a Reason column (replaced if the file already had one). Returns the count."""
        header = list(self.header)
        norm = [domain.mis._norm(h) for h in header]
        reason_at = norm.index(domain.mis._norm(domain.REASON_COLUMN)) \
            if domain.mis._norm(domain.REASON_COLUMN) in norm else None
        if reason_at is None:
            header.append(domain.REASON_COLUMN)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for _, cells, reason in self.rejected_rows:
            cells = cells + [""] * (len(self.header) - len(cells))
            if reason_at is None:
                writer.writerow(cells + [reason])
            else:
                cells[reason_at] = reason
                writer.writerow(cells)
        return len(self.rejected_rows)

    def summary(self, rejected_file=None, shown=20):
        """A summary a person reads (the command line's output)."""
        accepted = self.created + self.updated + self.unchanged
        lines = [f"Read {self.rows:,} rows: {accepted:,} imported ({self.created:,} new, "
                 f"{self.updated:,} updated, {self.unchanged:,} unchanged), "
                 f"{self.rejected:,} rejected."]
        if self.errors:
            lines.append("Rejected:")
            for e in self.errors[:shown]:
                lines.append(f"  row {e['row']}, {e['field']}: {e['reason']}")
            if len(self.errors) > shown:
                lines.append(f"  … and {len(self.errors) - shown:,} more problems")
        if rejected_file and self.rejected:
            lines.append(f"The rejected rows, with a {domain.REASON_COLUMN} column, are in "
                         f"{rejected_file}: correct them and import that file again.")
        return "\n".join(lines)

    def as_dict(self):
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "rejected": self.rejected, "errors": self.errors}


def upload(db, org_id, raw, *, actor, today):
    """An uploaded file's bytes (the whole body, UTF-8 CSV) imported into `org_id`;
    the report as a dict."""
    if b"\x00" in raw:
        raise RuleBroken("The file is not UTF-8 CSV", errors={"file": ["NUL bytes"]})
    lines = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
    return import_csv(db, org_id, lines, actor=actor, today=today).as_dict()


def import_csv(db, org_id, lines, *, actor, today, batch_size=BATCH_SIZE, progress=None):
    """Import CSV text lines (an iterable of str, e.g. an open file) into `org_id`.
    Row numbers count the header as row 1, as a spreadsheet shows them."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise RuleBroken("The file is empty", errors={"file": ["Empty"]}) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RuleBroken("The file is not UTF-8 CSV",
                            errors={"file": [type(exc).__name__]}) from None
    try:
        mapping = domain.map_header(header)
    except ValueError as exc:
        raise RuleBroken("The header lacks columns",
                            errors={"file": [f"Missing columns: {exc}"]}) from None
    report = ImportReport(header=list(header))
    seen = {}
    batch = []
    row_no = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except (UnicodeDecodeError, csv.Error) as exc:
            row_no += 1
            report.rows += 1
            report.reject(row_no, [("row", f"Unreadable: {type(exc).__name__}")], cells=[])
            break
        row_no += 1
        if not any(cell.strip() for cell in row):
            continue
        report.rows += 1
        data, problems = domain.parse_import_row(row, mapping, today)
        if not problems:
            first = seen.setdefault(data["upn"], row_no)
            if first != row_no:
                problems = [("upn", f"The same UPN is on row {first}")]
        if problems:
            report.reject(row_no, problems, cells=row)
            continue
        batch.append((row_no, data, row))
        if len(batch) >= batch_size:
            _commit_batch(db, org_id, batch, report, actor=actor, today=today)
            batch = []
            if progress:
                progress(report.rows)
    if batch:
        _commit_batch(db, org_id, batch, report, actor=actor, today=today)
    if progress:
        progress(report.rows)
    return report


SEN_FIELDS = ("sen_status", "primary_need", "secondary_need")


def _commit_batch(db, org_id, batch, report, *, actor, today):
    with db.unit_of_work() as uow:
        s = uow.session
        existing = {p.upn: p for p in s.execute(select(Pupil).where(
            Pupil.upn.in_([d["upn"] for _, d, _ in batch]))).scalars()}
        now = utcnow()
        new_pupils, new_entries, new_events = [], [], []
        for row_no, data, cells in batch:
            pupil = existing.get(data["upn"])
            if pupil is None:
                pid = new_id()
                new_pupils.append({"id": pid, "org_id": org_id, "created_at": now,
                                   "updated_at": now, "registration_group": None, **data})
                new_entries.append({"pupil_id": pid, "org_id": org_id,
                                    "status": data["sen_status"],
                                    "primary_need": data["primary_need"],
                                    "secondary_need": data["secondary_need"],
                                    "starts_on": today, "recorded_by": actor,
                                    "recorded_at": now})
                new_events.append(payloads.pupil_registered_row(pid, org_id, data))
                continue
            if pupil.org_id != org_id:
                report.reject(row_no, [("upn", domain.upn_unavailable().errors["upn"][0])],
                              cells=cells)
                continue
            person = {k: data[k] for k in PERSON_FIELDS
                      if k in data and getattr(pupil, k) != data[k]}
            sen_changed = any(getattr(pupil, k) != data[k] for k in SEN_FIELDS)
            if not person and not sen_changed:
                report.unchanged += 1
                continue
            if person:
                update_pupil(uow, pupil, person, actor=actor)
            if sen_changed:
                change_sen_status(uow, pupil, {k: data[k] for k in SEN_FIELDS},
                                          actor=actor, today=today)
            report.updated += 1
        if new_pupils:
            # Core executemany (the ORM's bulk path runs one INSERT per row here)
            s.execute(Pupil.__table__.insert(), new_pupils)
            s.execute(SenRegisterEntry.__table__.insert(), new_entries)
            uow.emit_many(events.PUPIL_REGISTERED, new_events, org_id=org_id, actor=actor)
            report.created += len(new_pupils)

