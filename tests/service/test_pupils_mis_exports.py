"""MIS exports as SIMS, Arbor and Bromcom write them: a 2,000-row file in each shape
(generated here, with realistic headers and values) imports with exactly the expected
rejections, each naming the value found and the values allowed; the rejected-rows file,
once corrected, imports again with nothing rejected."""

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select
from stdnum.gb.upn import calc_check_digit

from services.common.db import open_database, utcnow
from services.pupils.commands import imports
from services.pupils.models import Base, Organisation, Pupil

TODAY = date(2026, 11, 24)
ROWS = 2000
NEEDS = ("ASD", "SLCN", "SEMH", "MLD", "SLD", "PMLD", "SPLD", "HI", "VI", "PD", "MSI")
NEED_NAMES = {"ASD": "Autistic Spectrum Disorder",
              "SLCN": "Speech, Language and Communication Needs",
              "SEMH": "Social, Emotional and Mental Health", "MLD": "Moderate Learning Difficulty",
              "SLD": "Severe Learning Difficulty",
              "PMLD": "Profound & Multiple Learning Difficulty",
              "SPLD": "Specific Learning Difficulty", "HI": "Hearing Impairment",
              "VI": "Visual Impairment", "PD": "Physical Disability",
              "MSI": "Multi-Sensory Impairment"}


def make_upn(la, n):
    body = f"{la}{4000 + n // 1000:04d}{15 + n % 7:02d}{n % 1000:03d}"
    return calc_check_digit(body) + body


def pupil(n, la):
    """One plausible pupil of a special school (n = 0..ROWS-1)."""
    year = n % 16 - 2          # N1 .. Year 13 (-2..13)
    x = n % 37 == 5            # not following the National Curriculum
    born = date(2026 - 4 - year, 1 + n % 8, 1 + n % 28)  # aged year + 4 on 31 August 2026
    status = "E" if n % 3 == 0 else ("K" if n % 3 == 1 else "N")
    primary = NEEDS[n % len(NEEDS)] if status != "N" else None
    secondary = NEEDS[(n + 3) % len(NEEDS)] if status == "E" and n % 2 else None
    return {"upn": make_upn(la, n), "surname": f"Surname{n}", "forename": f"Pupil{n}",
            "dob": born, "year": None if x else year, "status": status, "primary": primary,
            "secondary": secondary, "group": f"{max(year, 0)}{'ABC'[n % 3]}"}


def year_text(shape, year):
    if year is None:
        return "X"
    names = {-2: ("N1", "Nursery 1", "N1"), -1: ("N2", "Nursery 2", "N2"),
             0: ("R", "Reception", "Yr R")}
    idx = ("sims", "arbor", "bromcom").index(shape)
    if year in names:
        return names[year][idx]
    return (str(year), f"Year {year}", f"Yr {year}")[idx]


SHAPES = {
    # SIMS: a Reports export; census codes throughout, UK dates
    "sims": (["UPN", "Legal Surname", "Legal Forename", "Gender", "DOB", "NC Year Actual",
              "Reg Group", "SEN Provision", "Primary Need", "Secondary Need"],
             lambda p: [p["upn"], p["surname"], p["forename"], "M", p["dob"].strftime("%d/%m/%Y"),
                        year_text("sims", p["year"]), p["group"], p["status"],
                        p["primary"] or "", p["secondary"] or ""]),
    # Arbor: words, ISO dates, census names of needs
    "arbor": (["First Name", "Last Name", "UPN", "Date of Birth", "Year Group",
               "Registration Form", "SEN Status", "Primary SEN Need", "Secondary SEN Need"],
              lambda p: [p["forename"], p["surname"], p["upn"], p["dob"].isoformat(),
                         year_text("arbor", p["year"]), p["group"],
                         {"E": "EHC Plan", "K": "SEN Support", "N": "No SEN"}[p["status"]],
                         NEED_NAMES.get(p["primary"], ""), NEED_NAMES.get(p["secondary"], "")]),
    # Bromcom: code - name pairs, "Yr 6", dashes in dates
    "bromcom": (["Student UPN", "Legal Surname", "Legal Forename", "Date Of Birth",
                 "Curriculum Year", "Tutor Group", "SEN Stage", "SEN Need Type 1",
                 "SEN Need Type 2"],
                lambda p: [p["upn"], p["surname"], p["forename"], p["dob"].strftime("%d-%m-%Y"),
                           year_text("bromcom", p["year"]), p["group"],
                           {"E": "E - EHC Plan", "K": "K - SEN Support",
                            "N": "N - No SEN"}[p["status"]],
                           f"{p['primary']} - {NEED_NAMES[p['primary']]}" if p["primary"] else "",
                           p["secondary"] or ""]),
}

# (every n-th row, the column broken, the bad value, the field the rejection names)
BREAKS = [
    (97, "upn", lambda v: ("A" if v[0] != "A" else "B") + v[1:], "upn"),
    (101, "year", lambda v: "Year 17", "year_group"),
    (103, "status", lambda v: "Statement", "sen_status"),
    (107, "primary", lambda v: "Dyslexia", "primary_need"),
    (109, "dob", lambda v: "31/02/2015", "date_of_birth"),
]


def column_of(shape, key):
    header = SHAPES[shape][0]
    index = {"upn": ("UPN", "Student UPN"), "year": ("NC Year Actual", "Year Group",
                                                      "Curriculum Year"),
             "status": ("SEN Provision", "SEN Status", "SEN Stage"),
             "primary": ("Primary Need", "Primary SEN Need", "SEN Need Type 1"),
             "dob": ("DOB", "Date of Birth", "Date Of Birth")}[key]
    return next(i for i, h in enumerate(header) if h in index)


def export(shape, la):
    """(csv text, good cells by forename, {row number: field expected to be rejected})."""
    header, cells_of = SHAPES[shape]
    good, expected, rows = {}, {}, []
    for n in range(ROWS):
        p = pupil(n, la)
        cells = cells_of(p)
        good[p["forename"]] = list(cells)
        row_no = n + 2  # the header is row 1
        for every, key, spoil, field in BREAKS:
            if n and n % every == 0 and row_no not in expected:
                if key == "primary" and not p["primary"]:
                    continue
                i = column_of(shape, key)
                cells[i] = spoil(cells[i])
                expected[row_no] = field
        rows.append(cells)
    # the same pupil twice: the second is rejected
    rows.append(list(rows[10]))
    expected[ROWS + 2] = "upn"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue(), good, expected


@pytest.fixture
def db(database_urls):
    database = open_database("pupils", Base.metadata, database_urls("pupils"))
    with database.session() as s, s.begin():
        for urn, name in (("140001", "Oak"), ("140002", "Ash"), ("140003", "Elm")):
            s.add(Organisation(id=f"org-{urn}", name=name, kind="trust_school", urn=urn,
                               laestab=f"801{urn[-4:]}", onboarded_at=utcnow(),
                               onboarded_by="test"))
    return database


@pytest.mark.parametrize("shape,org,la", [("sims", "org-140001", "942"),
                                          ("arbor", "org-140002", "838"),
                                          ("bromcom", "org-140003", "941")])
def test_a_2000_row_export_imports_and_the_corrected_rejects_import_again(db, shape, org, la):
    text, good, expected = export(shape, la)
    report = imports.import_csv(db, org, io.StringIO(text, newline=""), actor="t", today=TODAY)
    assert report.rows == ROWS + 1
    assert report.rejected == len(expected) and len(expected) > 50
    assert report.created == ROWS - (len(expected) - 1)
    by_row = {}
    for e in report.errors:
        by_row.setdefault(e["row"], []).append(e)
    assert {row: [e["field"] for e in errs][0] for row, errs in by_row.items()} == expected
    reasons = {e["field"]: e["reason"] for e in report.errors}
    # each reason names the value found and the values allowed
    assert "'Year 17'" in reasons["year_group"] and "X (National Curriculum not followed)" \
        in reasons["year_group"]
    assert "'Statement'" in reasons["sen_status"] and "E, K or N" in reasons["sen_status"]
    assert "'Dyslexia'" in reasons["primary_need"] and "ASD" in reasons["primary_need"]
    assert "'31/02/2015'" in reasons["date_of_birth"] and "DD/MM/YYYY" in reasons["date_of_birth"]
    assert "check letter" in reasons["upn"] or "same UPN" in reasons["upn"]

    with db.session() as s:
        groups = dict(s.execute(select(Pupil.nc_not_followed, func.count()).where(
            Pupil.org_id == org).group_by(Pupil.nc_not_followed)).all())
        assert groups[True] > 40  # census code X, imported as such
        reception = s.execute(select(Pupil).where(Pupil.org_id == org,
                                                  Pupil.forename == "Pupil2")).scalar_one()
        assert (reception.year_group, reception.registration_group) == (0, "0C")
        nursery = s.execute(select(Pupil).where(Pupil.forename == "Pupil16",
                                                Pupil.org_id == org)).scalar_one()
        assert nursery.year_group == -2 and nursery.sen_status == "K"
        ehcp = s.execute(select(Pupil).where(Pupil.forename == "Pupil3",
                                             Pupil.org_id == org)).scalar_one()
        assert (ehcp.sen_status, ehcp.primary_need, ehcp.secondary_need) == ("E", "MLD", "SPLD")

    # the rejected rows, with a Reason column ...
    out = io.StringIO(newline="")
    assert report.write_rejected(out) == len(expected)
    rejected = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rejected[0] == SHAPES[shape][0] + ["Reason"]
    assert all(row[-1] for row in rejected[1:])
    # ... corrected in place (a person fixes the cells, the Reason column stays) ...
    forename_at = SHAPES[shape][0].index(next(h for h in SHAPES[shape][0] if "Forename" in h
                                              or h == "First Name"))
    corrected = io.StringIO(newline="")
    writer = csv.writer(corrected, lineterminator="\r\n")
    writer.writerow(rejected[0])
    duplicate_fixed = False
    for row in rejected[1:]:
        fixed = good[row[forename_at]] + [row[-1]]
        if fixed[:-1] == good["Pupil10"] and not duplicate_fixed:
            duplicate_fixed = True  # the second copy of the same pupil is dropped
            continue
        writer.writerow(fixed)
    # ... imports with nothing rejected
    again = imports.import_csv(db, org, io.StringIO(corrected.getvalue(), newline=""),
                                actor="t", today=TODAY)
    assert (again.rejected, again.errors) == (0, [])
    assert again.created == len(expected) - 1
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(Pupil).where(
            Pupil.org_id == org)).scalar_one() == ROWS
    summary = report.summary("rejected.csv")
    assert summary.startswith(f"Read {ROWS + 1:,} rows: ") and "rejected.csv" in summary
