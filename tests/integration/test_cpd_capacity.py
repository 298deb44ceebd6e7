"""Capacity under real contention: several OS processes (as several replicas of
the service would be) book one place-limited session at the same instant,
against one SQLite file or one PostgreSQL database. The database alone keeps
the count: no overbooking, one arrival number each, waitlist in arrival order,
and concurrent cancellations promote the head of the waitlist."""

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import create_engine, text

from services.common.auth import Principal
from services.common.config import load
from services.common.db import open_database
from services.cpd.config import CpdConfig
from services.cpd.models import Base
from services.cpd.schemas import CourseCreateSchema, SessionCreateSchema
from services.cpd.service import CpdService
from tests.conftest import ROOT

PROCESSES, PER_PROCESS, CAPACITY = 8, 5, 7

WORKER = r"""
import json, os, sys, time
from nameko.testing.services import worker_factory
from services.common.auth import Principal
from services.common.config import load
from services.common.db import open_database
from services.cpd.config import CpdConfig
from services.cpd.models import Base
from services.cpd.service import CpdService

url, mode, target, go_file, worker = sys.argv[1:6]
svc = worker_factory(CpdService, db=open_database("cpd", Base.metadata, url),
                     config=load(CpdConfig, "cpd"))
svc.db.ping()  # connected: only the bookings are left to do
print("ready", flush=True)
while not os.path.exists(go_file):
    time.sleep(0.0005)
out = []
if mode == "book":
    for i in range(int(sys.argv[6])):
        n = f"{worker}-{i}"
        who = Principal(sub=f"p{n}@school.example", org=f"school-{worker}",
                        roles=frozenset({"teacher"}), org_kind="trust_school")
        booking = svc.create_booking(None, who, {"attendee": {
            "name": f"Person {n}", "email": f"p{n}@school.example"}}, session_id=target)
        out.append(booking.status)
else:
    admin = Principal(sub="hub-admin", org="trust", roles=frozenset({"cpd_admin"}), org_kind="trust")
    out.append(svc.cancel_booking(None, admin, booking_id=target).status)
print(json.dumps(out))
"""

ADMIN = Principal(sub="hub-admin", org="trust", roles=frozenset({"cpd_admin"}), org_kind="trust")


def rows(url, query):
    engine = create_engine(url)
    with engine.connect() as conn:
        result = conn.execute(text(query)).all()
    engine.dispose()
    return result


def run_all(tmp_path, url, mode, targets, extra=()):
    """Start one process per target; once every one is ready, let them all go."""
    go = tmp_path / f"go-{mode}"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, mode, target, str(go),
                               str(i), *extra], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i, target in enumerate(targets)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-2000:]
    go.touch()
    went = time.monotonic()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        results.extend(json.loads(out.strip().splitlines()[-1]))
    print(f"{len(results)} {mode} calls from {len(procs)} processes: "
          f"{time.monotonic() - went:.2f}s after the go")
    return results


@pytest.fixture
def session_id(database_urls, engine_name):
    url = database_urls("cpd", engine_name)
    svc = worker_factory(CpdService, db=open_database("cpd", Base.metadata, url),
                         config=load(CpdConfig, "cpd"))
    course = svc.create_course(None, ADMIN, CourseCreateSchema().load({
        "title": "Autism basics", "summary": "s", "audience": "Teachers",
        "area_of_need": "communication_and_interaction", "cpd_hours": 3}))
    start = datetime.now(UTC) + timedelta(days=5)
    session = svc.add_session(None, ADMIN, SessionCreateSchema().load({
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat(),
        "venue": "Hub", "facilitator": "Dr Khan", "capacity": CAPACITY}), course_id=course.id)
    svc.publish_course(None, ADMIN, course_id=course.id)
    return url, session.id


def test_processes_booking_at_once_never_overbook(session_id, tmp_path):
    url, sid = session_id
    statuses = run_all(tmp_path, url, "book", [sid] * PROCESSES, extra=(str(PER_PROCESS),))
    total = PROCESSES * PER_PROCESS
    assert len(statuses) == total
    assert statuses.count("confirmed") == CAPACITY
    assert statuses.count("waitlisted") == total - CAPACITY

    assert rows(url, "SELECT seats_taken, booking_seq FROM sessions") == [(CAPACITY, total)]
    booked = rows(url, "SELECT id, status, seq FROM bookings ORDER BY seq")
    assert [seq for _, _, seq in booked] == list(range(1, total + 1))
    # first come, first served: the places went to the first arrivals
    assert [status for _, status, _ in booked] == (
        ["confirmed"] * CAPACITY + ["waitlisted"] * (total - CAPACITY))
    events = rows(url, "SELECT routing_key FROM outbox WHERE routing_key LIKE 'booking.%'")
    assert sorted(e for (e,) in events) == sorted(
        ["booking.confirmed"] * CAPACITY + ["booking.waitlisted"] * (total - CAPACITY))

    # four processes cancel four places at once: the head of the waitlist moves up
    confirmed = [b for b, status, _ in booked if status == "confirmed"][:4]
    assert run_all(tmp_path, url, "cancel", confirmed) == ["cancelled"] * 4
    after = rows(url, "SELECT status FROM bookings ORDER BY seq")
    waitlist = [s for (s,) in after][CAPACITY:]
    assert waitlist[:4] == ["confirmed"] * 4 and set(waitlist[4:]) == {"waitlisted"}
    assert [s for (s,) in after].count("confirmed") == CAPACITY
    assert rows(url, "SELECT seats_taken FROM sessions") == [(CAPACITY,)]
    promoted = rows(url, "SELECT count(*) FROM outbox WHERE routing_key = 'booking.promoted'")
    assert promoted == [(4,)]
