"""Notify throughput: referral.submitted events through the notify handler
(projection lookup, planning, rendering, recording, exactly-once claim, send)
to a local SMTP server in its own process, each event making two emails.

    python -m bench.notify_throughput [--notify-events N] [--concurrency C]

`run(args)` prints notifications sent per second; it reads
`args.notify_events` (default 2000) and `args.concurrency` (default 8) when
present. SQLite in a temporary directory; nothing else is touched.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_smtp(directory, port):
    import socket
    proc = subprocess.Popen([sys.executable, "-m", "services.cli.mailcatcher", "--dir",
                             str(directory), "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("SMTP server did not start")


def run(args, say=print):
    import eventlet
    from nameko import config
    from nameko.testing.services import worker_factory
    from sqlalchemy import func, select

    from services.common.config import load
    from services.common.db import open_database
    from services.common.migrations import upgrade
    from services.contracts import make_event
    from services.notify import domain
    from services.notify.adapters import Mailer
    from services.notify.config import NotifyConfig
    from services.notify.models import Base, Delivery
    from services.notify.service import NotifyService

    events = int(getattr(args, "notify_events", None) or 2000)
    concurrency = int(getattr(args, "concurrency", None) or 8)
    workdir = Path(tempfile.mkdtemp(prefix="sen-bench-notify-"))
    port = _free_port()
    smtp = _start_smtp(workdir / "mail", port)
    url = f"sqlite:///{workdir / 'notify.sqlite3'}"
    try:
        upgrade("notify", url)
        db = open_database("notify", Base.metadata, url)
        with config.patch({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                           "OUTREACH_INBOX": "outreach@bench.example", "NOTIFY_API_KEY": ""}):
            mailer = Mailer()
            service = worker_factory(NotifyService, db=db, mailer=mailer,
                                     config=load(NotifyConfig, "notify"))
            service.on_organisation_onboarded(make_event("organisation.onboarded", {
                "org_id": "school-1", "name": "Bench Primary School", "urn": "100001",
                "laestab": "2021001", "kind": "partner_school",
                "contact_email": "senco@bench.example"}, org_id="school-1", actor="bench"))
            bodies = [make_event("referral.submitted", {
                "referral_id": f"r-{i}", "reference": f"REF-BNCH-{i:04d}",
                "school_org_id": "school-1",
                "contact": {"name": "Jo Smith", "email": f"jo{i}@school.example"},
                "areas_of_need": ["communication_and_interaction"],
                "submitted_at": "2026-11-24T09:00:00+00:00"},
                org_id="school-1", actor="bench") for i in range(events)]
            pool = eventlet.GreenPool(concurrency)
            started = time.perf_counter()
            for _ in pool.imap(service.on_referral_submitted, bodies):
                pass
            # anything left for a retry (none expected) goes out through the sweeper
            while True:
                with db.session() as s:
                    pending = s.execute(select(func.count()).select_from(Delivery).where(
                        Delivery.status != domain.DELIVERED)).scalar()
                if not pending or time.perf_counter() - started > 600:
                    break
                service.sweep()
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        with db.session() as s:
            sent = s.execute(select(func.count()).select_from(Delivery).where(
                Delivery.status == domain.DELIVERED)).scalar()
        mailer.close()
        received = len(list((workdir / "mail").glob("*.eml")))
        print("Notify throughput (referral.submitted → 2 emails each, SMTP, SQLite)")
        print(f"  events                 {events}")
        print(f"  notifications sent     {sent} (SMTP server received {received})")
        print(f"  elapsed                {elapsed:.2f} s (concurrency {concurrency})")
        print(f"  SMTP connections       {mailer.pool.opened} opened (pool of "
              f"{mailer.pool.size})")
        print(f"  notifications/second   {sent / elapsed:.1f}")
        print(f"  events/second          {events / elapsed:.1f}")
        if sent != 2 * events or received != 2 * events:
            print("  WARNING: not every notification arrived exactly once")
        return sent / elapsed
    finally:
        smtp.terminate()
        smtp.wait(5)


def main(argv=None):
    import eventlet
    eventlet.monkey_patch()
    p = argparse.ArgumentParser(prog="python -m bench.notify_throughput")
    p.add_argument("--notify-events", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args(argv)
    os.environ.setdefault("SEN_VAR_DIR", tempfile.mkdtemp(prefix="sen-bench-var-"))
    run(args)


if __name__ == "__main__":
    main()
