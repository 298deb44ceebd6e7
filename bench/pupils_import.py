"""Pupils: bulk import of an MIS CSV export, and a filtered list over the result.

    run(args) -> prints figures; returns them as a dict

10,000 generated pupils (valid UPNs, a realistic SEN mix) go through the
service's importer (services.pupils.commands.imports.import_csv: streamed, validated
row by row, committed in batches with one pupil.registered outbox event per
pupil) into a fresh, migrated SQLite database. Then the same file again (the
idempotent re-run: nothing changes). Then the p50/p99 of filtered, paged list
queries over those pupils through queries.list_and_audit, the exact code the
GET /api/v1/pupils worker runs (query, count, and the audit rows of the read).

args may carry: pupils (default 10000), list_requests (default 500), workdir.
"""

import io
import os
import random
import tempfile
import time
from datetime import date

from stdnum.gb.upn import calc_check_digit

from services.common import migrations
from services.common.auth import Principal
from services.common.db import open_database
from services.contracts.sen import NEED_TYPES
from services.pupils import queries
from services.pupils.commands import imports, organisations
from services.pupils.models import Base, Pupil
from services.pupils.schemas import PupilListQuerySchema

from .infra import percentile, table

HEADER = ("UPN,Legal Surname,Forename,Date of Birth,Year Group,SEN Provision,Primary Need,"
          "Secondary Need\n")
SURNAMES = ("Taylor", "Smith", "Okafor", "Nowak", "Khan", "Jones", "Patel", "Evans", "Murphy",
            "Ahmed", "Wilson", "Kowalski", "Brown", "Singh", "Walker")
FORENAMES = ("Sam", "Alex", "Ava", "Noah", "Isla", "Leo", "Maya", "Omar", "Zara", "Finn")
ASSESSED = tuple(c for c in NEED_TYPES if c != "NSA")


def generate_csv(n, seed=7):
    """n rows with distinct valid UPNs: ~70% N, ~25% K, ~5% E."""
    rnd = random.Random(seed)
    out = io.StringIO()
    out.write(HEADER)
    for i in range(n):
        body = f"{801 + i // 10_000_000 % 1:03d}{2000 + i // 100_000:04d}{(i // 1000) % 100:02d}"
        body += f"{i % 1000:03d}"
        upn = calc_check_digit(body) + body
        year = rnd.randint(0, 11)
        dob = date(2026 - 5 - year, rnd.randint(1, 12), rnd.randint(1, 28))
        r = rnd.random()
        if r < 0.70:
            status, primary, secondary = "N", "", ""
        elif r < 0.95:
            status = "K"
            primary = rnd.choice(ASSESSED + ("NSA",))
            secondary = "" if primary == "NSA" or rnd.random() < 0.6 else rnd.choice(
                [c for c in ASSESSED if c != primary])
        else:
            status, primary = "E", rnd.choice(ASSESSED)
            secondary = "" if rnd.random() < 0.5 else rnd.choice(
                [c for c in ASSESSED if c != primary])
        out.write(f"{upn},{rnd.choice(SURNAMES)},{rnd.choice(FORENAMES)},"
                  f"{dob.strftime('%d/%m/%Y')},{year},{status},{primary},{secondary}\n")
    out.seek(0)
    return out


def run(args=None, say=print):
    n = int(getattr(args, "pupils", None) or 10_000)
    requests = int(getattr(args, "list_requests", None) or 500)
    workdir = getattr(args, "workdir", None) or tempfile.mkdtemp(prefix="sen-bench-pupils-")
    url = f"sqlite:///{os.path.join(workdir, 'pupils-import.sqlite3')}"
    migrations.upgrade("pupils", url)
    db = open_database("pupils", Base.metadata, url)
    org = organisations.onboard(db, {"name": "Bench School", "kind": "trust_school",
                                     "urn": "149999", "laestab": "8019999"}, actor="bench")
    today = date(2026, 11, 24)
    csv_file = generate_csv(n)

    started = time.perf_counter()
    first = imports.import_csv(db, org.id, csv_file, actor="bench", today=today)
    first_s = time.perf_counter() - started
    csv_file.seek(0)
    started = time.perf_counter()
    second = imports.import_csv(db, org.id, csv_file, actor="bench", today=today)
    second_s = time.perf_counter() - started
    with db.session() as s:
        from sqlalchemy import func, select
        stored = s.execute(select(func.count()).select_from(Pupil)).scalar_one()
        events = s.execute(select(func.count()).select_from(db.outbox)).scalar_one()

    principal = Principal(sub="bench", org=org.id, roles=frozenset({"senco"}), org_kind=org.kind)
    rnd = random.Random(11)
    filters = [
        lambda: {"year_group": rnd.randint(0, 11)},
        lambda: {"sen_status": rnd.choice("EK")},
        lambda: {"need_type": rnd.choice(ASSESSED)},
        lambda: {"area_of_need": rnd.choice(("communication_and_interaction",
                                             "cognition_and_learning",
                                             "social_emotional_mental_health",
                                             "sensory_and_physical"))},
        lambda: {"year_group": rnd.randint(0, 11), "sen_status": "K"},
        lambda: {"q": rnd.choice(SURNAMES)[:4].lower()},
        lambda: {"sen_status": "N", "offset": rnd.randint(0, 5000)},
    ]
    schema = PupilListQuerySchema()
    for _ in range(20):  # warm up
        queries.list_and_audit(db, principal, schema.load(filters[0]()))
    latencies = []
    for i in range(requests):
        query = schema.load(filters[i % len(filters)]())
        t0 = time.perf_counter()
        queries.list_and_audit(db, principal, query)
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()

    figures = {
        "pupils": n, "stored": stored, "outbox_events": events,
        "import_rows_per_s": n / first_s, "import_s": first_s,
        "rerun_rows_per_s": n / second_s, "rerun_unchanged": second.unchanged,
        "created": first.created, "rejected": first.rejected,
        "list_p50_ms": percentile(latencies, 50), "list_p99_ms": percentile(latencies, 99),
        "list_requests": requests,
    }
    say("Pupils: MIS CSV import into SQLite (importer, outbox events included)")
    say(table(["run", "rows", "seconds", "rows/s", "created", "unchanged", "rejected"], [
        ["first import", n, round(first_s, 2), round(n / first_s), first.created,
         first.unchanged, first.rejected],
        ["same file again", n, round(second_s, 2), round(n / second_s), second.created,
         second.unchanged, second.rejected],
    ]))
    say(f"stored {stored} pupils, {events} outbox events")
    say("")
    say(f"Pupils: filtered list (50 a page, with audit of each read) over {n} pupils, "
        f"{requests} queries")
    say(table(["query", "p50 ms", "p99 ms", "max ms"],
              [["queries.list_and_audit", round(figures["list_p50_ms"], 2),
                round(figures["list_p99_ms"], 2), round(latencies[-1], 2)]]))
    return figures


if __name__ == "__main__":
    run()
