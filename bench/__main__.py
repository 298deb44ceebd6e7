"""python -m bench [--events N] [--requests N] [--concurrency C]

Figures go to stdout, progress to stderr. The run stops on its own: waits give
up at --time-budget seconds, and a watchdog thread ends the process 25 s later
(plus an allowance for the acknowledgement load, the provision builds and the
idle-memory starts).
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=5000,
                   help="events through the pipeline and through raw kombu (default 5000)")
    p.add_argument("--batch", type=int, default=100,
                   help="events per outbox transaction (default 100)")
    p.add_argument("--requests", type=int, default=2000,
                   help="measured HTTP requests per endpoint (default 2000)")
    p.add_argument("--concurrency", type=int, default=8,
                   help="concurrent HTTP client connections (default 8)")
    p.add_argument("--time-budget", type=float, default=270,
                   help="seconds before the pipeline and HTTP waits give up (default 270)")
    p.add_argument("--skip-pipeline", action="store_true", help="skip Part 1")
    p.add_argument("--skip-http", action="store_true", help="skip Part 2")
    p.add_argument("--skip-services", action="store_true",
                   help="skip Parts 3-5 (pupils import, provision report, notify)")
    p.add_argument("--skip-memory", action="store_true", help="skip idle memory per service")
    p.add_argument("--services", default="pupils,provision,notify",
                   help="which of Parts 3-5 to run, by service (default "
                        "pupils,provision,notify; e.g. provision for Parts 4 and 4b alone)")
    p.add_argument("--ack-rate", type=float, default=50.0,
                   help="referrals a second for the acknowledgement latency (default 50)")
    p.add_argument("--ack-seconds", type=float, default=60.0,
                   help="seconds of that load (default 60; 0 skips)")
    p.add_argument("--provision-pupils", type=int, default=10_000,
                   help="pupils of the provision report and cost summary (default 10000)")
    p.add_argument("--provision-large", type=int, default=100_000,
                   help="pupils of the impact report's growth run (default 100000; 0 skips)")
    p.add_argument("--notify-events", type=int, default=2000,
                   help="referral.submitted events through notify (default 2000)")
    args = p.parse_args(argv)
    if min(args.events, args.batch, args.requests, args.concurrency) < 1:
        p.error("counts must be positive")
    return args


def say(message):
    print(message, file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="sen-bench-")
    # Nothing of the platform writes under the repository's var/ during the bench.
    os.environ["SEN_VAR_DIR"] = workdir
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # nameko warns "killing managed thread `run`" on every clean container stop: its
    # consumer loop only notices the stop at its next drain timeout. Expected; not shown.
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)

    from nameko import config

    from services.common import tracing
    from services.common.db import dispose_engines

    from . import http_intake, pipeline
    from .infra import Deadline, Vhost, load_line, machine_lines, start_watchdog

    tracing.setup()  # as every platform service process does (no exporter unless configured)

    vhost = Vhost()
    print("SEN trust platform benchmark")
    for line in machine_lines(vhost.overview()):
        print(line)
    postgres_url = os.environ.get("BENCH_POSTGRES_URL") or None
    print(f"broker    vhost {vhost.name} (created for this run, deleted after); databases: "
          f"SQLite in {workdir}" + (" and PostgreSQL (BENCH_POSTGRES_URL)" if postgres_url else ""))
    print(f"load      {load_line()} at start (other work on this machine skews the figures)")
    print("tracing   OpenTelemetry nameko instrumentation on, as in the services "
          f"({'exporting' if os.environ.get('OTEL_EXPORTER_OTLP_ENDPOINT') else 'no exporter'})")
    print(flush=True)

    deadline = Deadline(args.time_budget)
    # the watchdog also allows for the parts without a deadline of their own: the
    # acknowledgement load, the provision builds (the 100,000-pupil one takes minutes)
    # and starting each service for its idle memory
    extra = (args.ack_seconds + 90 if args.ack_seconds > 0 else 0) + (
        0 if args.skip_services else 300 + args.provision_large / 250) + (
        0 if args.skip_memory else 150)
    start_watchdog(args.time_budget + 25 + extra, vhost)
    vhost.create()
    failed = False
    figures = {}
    try:
        with config.patch({"AMQP_URI": vhost.amqp_uri,
                           "max_workers": int(os.environ.get("MAX_WORKERS", 10)),
                           "PREFETCH_COUNT": int(os.environ.get("PREFETCH_COUNT", 20))}):
            if not args.skip_pipeline:
                say("Part 1: event pipeline")
                part1 = pipeline.run(vhost.amqp_uri, args.events, args.batch, workdir,
                                     deadline, postgres_url=postgres_url, say=say)
                print(pipeline.report(part1), end="\n\n", flush=True)
                figures["part1"] = part1
            if not args.skip_http:
                say("Part 2: HTTP intake")
                part2 = http_intake.run(workdir, args.requests, args.concurrency, deadline,
                                        say=say)
                print(http_intake.report(part2), end="\n\n", flush=True)
                figures["part2"] = part2
            if not args.skip_services:
                figures.update(run_service_benches(workdir, args))
            if args.ack_seconds > 0:
                from . import ack_latency
                say("Acknowledgement latency")
                sub = os.path.join(workdir, "ack")
                os.makedirs(sub, exist_ok=True)
                figures["ack_latency"] = ack_latency.run(
                    vhost.amqp_uri, sub, rate=args.ack_rate, seconds=args.ack_seconds, say=say)
                print(ack_latency.report(figures["ack_latency"]), end="\n\n", flush=True)
            if not args.skip_memory:
                from . import idle_memory
                say("Idle memory per service")
                figures["rss"] = idle_memory.run(vhost.amqp_uri, workdir, say=say)
                print(idle_memory.report(figures["rss"]), end="\n\n", flush=True)
    except Exception as exc:
        failed = True
        logging.getLogger("bench").exception("benchmark failed: %s", exc)
    finally:
        dispose_engines()
        try:
            vhost.delete()
        except Exception as exc:  # noqa: BLE001 - report, then go on cleaning
            say(f"could not delete vhost {vhost.name}: {exc}")
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    from .summary import summary
    print(summary(figures), flush=True)
    print(f"wall time {time.perf_counter() - started:.1f} s, {load_line()} at end"
          + ("  (FAILED)" if failed else ""))
    return 1 if failed else 0


def run_service_benches(workdir, args):
    """Each service's own figures (their modules print their tables); returns them."""
    import importlib
    from types import SimpleNamespace
    n = args.provision_pupils
    parts = [("Part 3: pupils import, 10,000 rows, and a filtered list", "pupils_import",
              {}),
             (f"Part 4: provision impact report and cost summary over {n:,} pupils",
              "provision_report", {"pupils": n}),
             (f"Part 5: notify, {args.notify_events:,} events to a local SMTP server",
              "notify_throughput", {"notify_events": args.notify_events})]
    if args.provision_large:
        parts.append((f"Part 4b: provision impact report over {args.provision_large:,} pupils "
                      "(growth)", "provision_report",
                      {"pupils": args.provision_large, "repeats": 3, "key": "provision_large"}))
    chosen = {name.strip() for name in args.services.split(",")}
    parts = [part for part in parts if part[1].split("_")[0] in chosen]
    out = {}
    for title, module, extra in parts:
        try:
            bench = importlib.import_module(f"bench.{module}")
        except ModuleNotFoundError:
            continue
        print(title, flush=True)
        key = extra.pop("key", module)
        sub = os.path.join(workdir, key)
        os.makedirs(sub, exist_ok=True)
        try:
            out[key] = bench.run(SimpleNamespace(workdir=sub, **extra), say=print)
        except Exception as exc:  # noqa: BLE001 - the other parts still run
            logging.getLogger("bench").exception("%s failed: %s", module, exc)
        print(flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
