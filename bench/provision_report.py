"""Provision: the trust-wide impact report over a large provision map.

    run(args) -> prints figures; returns them as a dict

Builds, in a fresh migrated SQLite database, 10,000 pupils across 10 schools with
five provisions each (three given to the pupil alone, two in groups of four),
a catalogue of 20 entries covering every cost basis (per session, per hour, per
term, staff rate), six recorded sessions per assignment with attendance, two
targets per pupil served by their provisions, and two reviews per target. Then
times the trust-wide impact report (services.provision.queries.impact.impact_rows, the
code GET /api/v1/provision/reports/impact runs, as trust_admin) and counts the
SQL statements it issued with a SQLAlchemy `before_cursor_execute` listener.

args may carry: pupils (default 10000), repeats (default 5), workdir.
"""

import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import event, insert

from services.common import migrations
from services.common.db import open_database
from services.provision import domain
from services.provision import models as m
from services.provision.queries.impact import impact_rows

AS_OF = date(2026, 11, 24)
START = date(2026, 9, 7)
END = date(2027, 3, 26)
SCHOOLS = 10
BASES = ("per_session", "per_hour", "per_term", "staff_rate")
TIERS = ("universal", "targeted", "specialist")
AREAS = ("communication_and_interaction", "cognition_and_learning",
         "social_emotional_mental_health", "sensory_and_physical")


def build(db, n_pupils, seed=3):
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    orgs = [f"school-{i:02d}" for i in range(SCHOOLS)]
    rows = {name: [] for name in ("org", "rate", "pupil", "entry", "assignment", "member",
                                  "session", "attendance", "target", "link", "outcome")}
    for org in orgs:
        rows["org"].append({"org_id": org, "name": f"Bench school {org[-2:]}",
                            "kind": "trust_school", "sen_budget": Decimal("250000.00")})
        rows["rate"].append({"org_id": org, "role": "teaching_assistant",
                             "hourly_rate": Decimal("18.50")})
    entries = []
    for i in range(20):
        basis = BASES[i % 4]
        entries.append({
            "id": f"entry-{i:02d}", "org_id": None if i < 10 else orgs[i % SCHOOLS],
            "name": f"Provision {i:02d}", "description": "", "tier": TIERS[i % 3],
            "area_of_need": AREAS[i % 4], "delivered_by": "teaching_assistant",
            "group_size": 4, "session_minutes": 30 + 15 * (i % 3), "cost_basis": basis,
            "cost_amount": Decimal({"per_session": "22.00", "per_hour": "35.00",
                                    "per_term": "480.00", "staff_rate": "0"}[basis]),
            "evidence_notes": "", "active": True, "created_by": "bench", "created_at": now})
    rows["entry"] = entries
    shared = [e["id"] for e in entries if e["org_id"] is None]

    pupils = [f"pupil-{i:05d}" for i in range(n_pupils)]
    org_of = {p: orgs[i % SCHOOLS] for i, p in enumerate(pupils)}
    targets_of = {}
    for p in pupils:
        rows["pupil"].append({"pupil_id": p, "org_id": org_of[p], "year_group": rnd.randint(0, 11),
                              "sen_status": rnd.choice("KKKE"), "primary_need": "SPLD",
                              "secondary_need": None, "areas_of_need": ["cognition_and_learning"]})
        targets_of[p] = []
        for t in range(2):
            tid = f"{p}-t{t}"
            targets_of[p].append(tid)
            rows["target"].append({
                "id": tid, "pupil_id": p, "org_id": org_of[p], "description": "Target",
                "area_of_need": AREAS[t], "baseline": "b", "expected_outcome": "e",
                "measure": "m", "baseline_score": None, "target_score": None,
                "score_unit": None, "due_date": END, "created_by": "bench", "created_at": now,
                "latest_progress": None, "latest_reviewed_on": None})
            for k, day in enumerate((date(2026, 10, 16), date(2026, 11, 20))):
                rank = rnd.randint(0, len(domain.LEVELS) - 1)  # a named level and its rank
                # the latest outcome, as commands/targets.py keeps it
                rows["target"][-1].update(latest_progress=rank, latest_reviewed_on=day)
                rows["outcome"].append({
                    "id": f"{tid}-o{k}", "target_id": tid, "cycle_id": None, "reviewed_on": day,
                    "level": domain.LEVELS[rank], "progress": rank, "score": None, "note": "",
                    "recorded_by": "bench", "recorded_at": now})

    seq = 0

    def assign(group, entry_id):
        nonlocal seq
        seq += 1
        aid = f"a-{seq:06d}"
        rows["assignment"].append({
            "id": aid, "org_id": org_of[group[0]], "catalogue_id": entry_id,
            "start_date": START, "end_date": END, "sessions_per_week": Decimal("2"),
            "staff": "TA", "statutory": False, "status": "active", "ended_on": None,
            "end_reason": None, "end_note": None, "review_cycle_id": None,
            "sessions_recorded": 6, "created_by": "bench", "created_at": now})
        for p in group:
            rows["member"].append({"assignment_id": aid, "pupil_id": p, "joined_on": START,
                                   "left_on": None})
        for tid in {targets_of[p][seq % 2] for p in group}:
            rows["link"].append({"assignment_id": aid, "target_id": tid})
        for k in range(6):
            sid = f"{aid}-s{k}"
            present = group if k % 3 else group[: max(1, len(group) - 1)]
            rows["session"].append({
                "id": sid, "assignment_id": aid, "held_on": START + timedelta(days=7 * k + 1),
                "minutes": 30, "register_size": len(present), "note": None,
                "recorded_by": "bench", "recorded_at": now})
            rows["attendance"].extend({"session_id": sid, "pupil_id": p, "attended": True}
                                      for p in present)

    by_org = {org: [p for p in pupils if org_of[p] == org] for org in orgs}
    for org, members in by_org.items():
        own = [e["id"] for e in entries if e["org_id"] == org]
        for p in members:  # three provisions each for the pupil alone
            for e in rnd.sample(shared + own, 3):
                assign([p], e)
        for round_ in range(2):  # two places each in groups of four
            order = members[:]
            rnd.shuffle(order)
            for i in range(0, len(order), 4):
                assign(order[i:i + 4], shared[(i // 4 + round_) % len(shared)])

    tables = [("org", m.Organisation), ("rate", m.RoleRate), ("pupil", m.Pupil),
              ("entry", m.CatalogueEntry), ("target", m.Target), ("outcome", m.Outcome),
              ("assignment", m.Assignment), ("member", m.AssignmentPupil),
              ("link", m.AssignmentTarget), ("session", m.DeliveredSession),
              ("attendance", m.Attendance)]
    with db.engine.begin() as conn:
        for key, model in tables:
            for i in range(0, len(rows[key]), 20_000):
                conn.execute(insert(model), rows[key][i:i + 20_000])
    return {key: len(value) for key, value in rows.items()}


def run(args=None, say=print):
    n = int(getattr(args, "pupils", None) or 10_000)
    repeats = int(getattr(args, "repeats", None) or 5)
    workdir = getattr(args, "workdir", None) or tempfile.mkdtemp(prefix="sen-bench-provision-")
    url = f"sqlite:///{os.path.join(workdir, 'provision-report.sqlite3')}"
    migrations.upgrade("provision", url)
    db = open_database("provision", m.Base.metadata, url)

    t0 = time.perf_counter()
    counts = build(db, n)
    build_s = time.perf_counter() - t0

    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    results = {}
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for group_by in ("trust", "org", "provision_org"):
            timings, cpu, queries = [], [], set()
            for _ in range(repeats):
                statements.clear()
                with db.session() as s:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    rows = impact_rows(s, AS_OF, group_by=group_by)
                    timings.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
                queries.add(len(statements))
            timings.sort()
            cpu.sort()
            results[group_by] = {"best_s": timings[0], "median_s": timings[len(timings) // 2],
                                 "cpu_median_s": cpu[len(cpu) // 2],
                                 "queries": sorted(queries), "rows": len(rows),
                                 "first": rows[0] if rows else None}
        # The number of statements must not grow with the data: half the pupils, same count.
        statements.clear()
        with db.session() as s:
            impact_rows(s, AS_OF, group_by="trust", org_id="school-00")
        one_school_queries = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    # the trust-wide cost summary (GET /api/v1/provision/costs, as trust_admin): every
    # assignment costed, aggregated by provision, tier and school in one pass
    from services.provision.queries import costs
    cost_timings, cost_cpu, cost_queries = [], [], set()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(max(1, repeats // 2)):
            statements.clear()
            with db.session() as s:
                started, cpu_started = time.perf_counter(), time.process_time()
                costs.summary(s, AS_OF)
                cost_timings.append(time.perf_counter() - started)
                cost_cpu.append(time.process_time() - cpu_started)
            cost_queries.add(len(statements))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    cost_cpu.sort()
    cost_timings.sort()

    trust = results["trust"]
    say(f"Provision: trust-wide impact report over {n} pupils, five provisions each "
        f"(SQLite, built in {build_s:.1f} s)")
    say("data      " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    for group_by, r in results.items():
        say(f"report    group_by={group_by:<14} best {r['best_s'] * 1000:5.0f} ms  "
            f"median {r['median_s'] * 1000:5.0f} ms (CPU {r['cpu_median_s'] * 1000:4.0f} ms)  "
            f"SQL statements {r['queries']}  rows {r['rows']}")
    say(f"queries   one school's report issues {one_school_queries} statements "
        f"(trust-wide {trust['queries']}): constant, whatever the size")
    say(f"load      {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs: wall time above "
        "CPU time means the machine was busy")
    say(f"costs     trust-wide cost summary (every pupil) median "
        f"{cost_timings[len(cost_timings) // 2] * 1000:5.0f} ms "
        f"(CPU {cost_cpu[len(cost_cpu) // 2] * 1000:4.0f} ms), SQL statements "
        f"{sorted(cost_queries)}")
    if trust["first"]:
        f = trust["first"]
        say(f"trust     {f['pupils']} pupils, {f['targets']} targets, {f['targets_met']} met "
            f"({f['share_met']}%), average progress {f['average_progress']}, "
            f"cost to date £{f['cost_to_date']}, £{f['cost_per_pupil']} a pupil, "
            f"£{f['cost_per_target_met']} a target met")
    return {"pupils": n, "build_s": build_s, "counts": counts,
            "cost_summary_s": cost_timings[len(cost_timings) // 2],
            "cost_summary_queries": sorted(cost_queries),
            "cost_summary_cpu_s": cost_cpu[len(cost_cpu) // 2],
            "trust_report_s": trust["median_s"], "trust_report_best_s": trust["best_s"],
            "trust_report_queries": trust["queries"], "one_school_queries": one_school_queries,
            "by_group": {k: {kk: vv for kk, vv in v.items() if kk != "first"}
                         for k, v in results.items()}}


if __name__ == "__main__":
    run()
