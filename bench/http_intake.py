"""Part 2: HTTP referral intake, against a bare nameko endpoint.

The referrals service (services.referrals.service:ReferralsService) runs in
this process on a free port, on a migrated SQLite database, with its outbox
relay publishing into the bench vhost. A separate client process
(bench.http_client) sends valid POST /api/v1/referrals at a fixed concurrency.
Then the same load, same body and headers, goes to a bare nameko
@http("POST", "/bare") returning a constant: first with the platform's
OpenTelemetry instrumentation still on (as in any platform process), then off.
Server CPU per request comes from getrusage of this process around the load.
"""

import json
import os
import resource
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import eventlet
from eventlet.green import subprocess
from nameko import config
from nameko.containers import ServiceContainer
from nameko.web.handlers import http
from sqlalchemy import func, select

from services.common import auth, migrations
from services.common.db import open_database

from .infra import BenchTimeout, percentile, table

REPO_ROOT = str(Path(__file__).resolve().parents[1])
ORG_ID = "00000000-0000-4000-8000-00000000be02"
WARMUP = 50


class BareService:
    name = "bench_bare"

    @http("POST", "/bare")
    def bare(self, request):
        return 200, '{"ok": true}'


def referral_body():
    """A valid ReferralCreateSchema body (services/referrals/schemas.py)."""
    return {
        "pupil": {"first_name": "Sam", "last_name": "Example", "date_of_birth": "2015-03-01"},
        "contact": {"name": "Alex Example", "email": "senco@riverside.example",
                    "phone": "+44 20 7946 0000"},
        "areas_of_need": ["communication_and_interaction"],
        "need_types": ["SLCN"],
        "concerns": "Finds unstructured times hard; limited expressive language.",
        "support_so_far": "Two terms of small-group language work and a visual timetable.",
        "parental_consent": {"given": True, "date": "2025-01-10", "given_by": "Parent"},
    }


def free_port():
    sock = eventlet.patcher.original("socket").socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@dataclass
class LoadFigures:
    label: str
    requests: int
    elapsed_s: float
    statuses: dict
    latencies_ms: list
    cpu_s: float

    @property
    def rps(self):
        return self.requests / self.elapsed_s

    def pct(self, q):
        return percentile(self.latencies_ms, q)


def drive(label, url, body_file, token_file, requests, concurrency, deadline):
    """Run the client process against `url` while this process serves it."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    cmd = [sys.executable, "-m", "bench.http_client", "--url", url, "--body-file", body_file,
           "--requests", str(requests), "--concurrency", str(concurrency),
           "--warmup", str(WARMUP)]
    if token_file:
        cmd += ["--token-file", token_file]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])))
    cpu0 = _cpu_seconds()
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
    try:
        while proc.poll() is None:  # green wait: the hub keeps serving the requests
            deadline.check(f"the HTTP client was loading {label}")
            eventlet.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    cpu = _cpu_seconds() - cpu0
    out.seek(0)
    err.seek(0)
    if proc.returncode != 0:
        raise RuntimeError(f"HTTP client failed ({proc.returncode}): "
                           f"{err.read().decode(errors='replace')[-2000:]}")
    result = json.loads(out.read())
    return LoadFigures(label=label, requests=requests, elapsed_s=result["elapsed_s"],
                       statuses=result["statuses"], latencies_ms=result["latencies_ms"],
                       cpu_s=cpu)


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(service_cls, overrides):
    """Start a container with config overrides; return a stop function."""
    patch = config.patch(overrides)
    patch.start()
    try:
        container = ServiceContainer(service_cls)
        container.start()
    except BaseException:
        patch.stop()
        raise

    def stop():
        try:
            container.stop()
        finally:
            patch.stop()

    return stop


def expect_all(fig, status):
    if fig.statuses != {str(status): fig.requests}:
        raise AssertionError(f"{fig.label}: expected {fig.requests} x {status}, "
                             f"got {fig.statuses}")


@dataclass
class Part2:
    requests: int
    concurrency: int
    max_workers: int
    loads: list
    events_published: int
    events_expected: int


def run(workdir, requests, concurrency, deadline, say=print):
    from nameko_opentelemetry import NamekoInstrumentor

    from services.referrals.models import Base, Referral
    from services.referrals.service import ReferralsService

    url = f"sqlite:///{workdir}/referrals.sqlite3"
    migrations.upgrade("referrals", url)
    private_pem, public_pem = auth.generate_key_pair()
    token = auth.issue_token("bench-referrer", ORG_ID, ["partner_referrer"], key=private_pem,
                            org_kind="partner_school")
    body_file, token_file = f"{workdir}/referral.json", f"{workdir}/token.txt"
    with open(body_file, "w") as f:
        json.dump(referral_body(), f)
    with open(token_file, "w") as f:
        f.write(token)

    loads = []
    port = free_port()
    say(f"  referrals service on 127.0.0.1:{port}: {requests} x POST /api/v1/referrals ...")
    stop = serve(ReferralsService, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                                    "REFERRALS_DATABASE_URL": url,
                                    "JWT_PUBLIC_KEY": public_pem.decode()})
    db = open_database("referrals", Base.metadata, url)
    try:
        fig = drive("POST /api/v1/referrals (platform: auth, schema, SQLite uow, outbox)",
                    f"http://127.0.0.1:{port}/api/v1/referrals", body_file, token_file,
                    requests, concurrency, deadline)
        expect_all(fig, 201)
        loads.append(fig)
        expected = requests + WARMUP
        with db.session() as s:
            stored = s.execute(select(func.count()).select_from(Referral)).scalar_one()
        if stored != expected:
            raise AssertionError(f"{stored} referrals stored, expected {expected}")
        # The service's own OutboxRelay publishes the referral.submitted events.
        outbox = db.outbox

        def published():
            with db.session() as s:
                return s.execute(select(func.count()).select_from(outbox)
                                 .where(outbox.c.published_at.is_not(None))).scalar_one()
        try:
            deadline.wait_until(lambda: published() >= expected,
                                "the referrals relay published its outbox", poll=0.2)
        except BenchTimeout:
            pass
        events_published = published()
    finally:
        stop()

    for otel in (True, False):
        if not otel:
            NamekoInstrumentor().uninstrument()
        port = free_port()
        label = f"POST /bare (nameko @http, constant, OTel {'on' if otel else 'off'})"
        say(f"  bare nameko endpoint on 127.0.0.1:{port}, OTel {'on' if otel else 'off'} ...")
        stop = serve(BareService, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"})
        try:
            fig = drive(label, f"http://127.0.0.1:{port}/bare", body_file, token_file,
                        requests, concurrency, deadline)
        finally:
            stop()
        expect_all(fig, 200)
        loads.append(fig)

    return Part2(requests=requests, concurrency=concurrency,
                 max_workers=int(config.get("max_workers") or 10), loads=loads,
                 events_published=events_published, events_expected=requests + WARMUP)


def report(part):
    base = part.loads[1]
    rows = []
    for fig in part.loads:
        rows.append((fig.label, fig.rps, fig.pct(50), fig.pct(90), fig.pct(99),
                     fig.latencies_ms[-1], fig.cpu_s * 1000 / (fig.requests + WARMUP),
                     f"{fig.rps / base.rps:.2f}x"))
    ref = part.loads[0]
    lines = [
        f"Part 2: HTTP intake, {part.requests} requests (+{WARMUP} warm-up) at concurrency "
        f"{part.concurrency}, client in a separate process (http.client keep-alive), "
        f"server max_workers {part.max_workers}",
        "",
        table(("", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "server CPU ms/req",
               "vs bare (OTel on)"), rows),
        "",
        f"Platform overhead over bare nameko (OTel on): "
        f"{ref.pct(50) - base.pct(50):.1f} ms at p50, {ref.pct(99) - base.pct(99):.1f} ms at "
        f"p99, {(ref.cpu_s - base.cpu_s) * 1000 / (part.requests + WARMUP):.2f} ms server CPU "
        f"per request; referrals runs at {ref.rps / base.rps:.0%} of bare throughput.",
        f"referral.submitted events published by the service's outbox relay: "
        f"{part.events_published}/{part.events_expected}"
        + ("" if part.events_published == part.events_expected else "  (NOT ALL PUBLISHED)"),
    ]
    return "\n".join(lines)

