"""What both parts of the benchmark need: a private RabbitMQ vhost, a deadline,
a watchdog, the machine's description and plain-text tables."""

import base64
import os
import platform
import resource
import sqlite3
import sys
import time
import uuid
from importlib.metadata import version
from urllib.parse import quote, urlsplit

import eventlet
import requests

AMQP_BASE = os.environ.get("BENCH_AMQP_BASE", "amqp://guest:guest@127.0.0.1:5672")
RABBIT_API = os.environ.get("BENCH_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")


class BenchTimeout(Exception):
    """The benchmark ran out of its time budget."""


class Deadline:
    """A time budget shared by every wait of the run."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def remaining(self):
        return self.ends - time.monotonic()

    def check(self, what):
        if self.remaining() <= 0:
            raise BenchTimeout(f"out of time ({self.seconds:.0f} s budget) while {what}")

    def wait_until(self, predicate, what, poll=0.02):
        """Green-sleep until predicate() is true; BenchTimeout past the deadline."""
        while not predicate():
            self.check(what)
            eventlet.sleep(poll)


class Vhost:
    """A RabbitMQ vhost of its own, made and removed through the management API."""

    def __init__(self, prefix="sen-bench"):
        self.name = f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.amqp_uri = f"{AMQP_BASE}/{quote(self.name, safe='')}"
        self._http = requests.Session()
        parts = urlsplit(RABBIT_API)
        self._http.auth = (parts.username or "guest", parts.password or "guest")
        self._api = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path}"
        self.user = urlsplit(AMQP_BASE).username or "guest"

    def _url(self, *parts):
        return "/".join([self._api] + [quote(p, safe="") for p in parts])

    def overview(self):
        resp = self._http.get(self._url("overview"), timeout=10)
        resp.raise_for_status()
        return resp.json()

    def create(self):
        self._http.put(self._url("vhosts", self.name), timeout=10).raise_for_status()
        self._http.put(self._url("permissions", self.name, self.user), timeout=10,
                       json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()

    def delete(self):
        resp = self._http.delete(self._url("vhosts", self.name), timeout=30)
        if resp.status_code not in (204, 404):
            resp.raise_for_status()

    def queue(self, name):
        resp = self._http.get(self._url("queues", self.name, name), timeout=10)
        resp.raise_for_status()
        return resp.json()

    def delete_queue(self, name):
        resp = self._http.delete(self._url("queues", self.name, name), timeout=10)
        if resp.status_code not in (204, 404):
            resp.raise_for_status()

    def delete_quietly(self):
        """Last resort from the watchdog thread: a plain socket, no eventlet hub."""
        socket = eventlet.patcher.original("socket")
        parts = urlsplit(RABBIT_API)
        auth = base64.b64encode(f"{self._http.auth[0]}:{self._http.auth[1]}".encode()).decode()
        path = f"{parts.path}/vhosts/{quote(self.name, safe='')}"
        try:
            with socket.create_connection((parts.hostname, parts.port or 15672), timeout=5) as s:
                s.sendall((f"DELETE {path} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
                           f"Authorization: Basic {auth}\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n").encode())
                s.recv(1024)
        except OSError:
            pass


def start_watchdog(seconds, vhost):
    """A real OS thread that ends the process if the run overstays, whatever
    the eventlet hub is doing; it removes the vhost first."""
    threading = eventlet.patcher.original("threading")
    real_time = eventlet.patcher.original("time")

    def watch():
        real_time.sleep(seconds)
        print(f"\nbench: hard time limit of {seconds:.0f} s reached; removing vhost "
              f"{vhost.name} and exiting", file=sys.stderr, flush=True)
        vhost.delete_quietly()
        os._exit(3)

    threading.Thread(target=watch, name="bench-watchdog", daemon=True).start()


def cpu_seconds():
    """CPU time of this process (user + system), all threads and greenthreads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_line():
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines(overview):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    libs = ", ".join(f"{name} {version(name)}" for name in
                     ("nameko", "eventlet", "kombu", "amqp", "SQLAlchemy", "marshmallow"))
    return [
        f"machine   {cpus} CPUs (nproc), {cpu_model()}, {platform.system()} {platform.release()}",
        f"python    {platform.python_version()} ({sys.executable})",
        f"libraries {libs}, sqlite {sqlite3.sqlite_version}",
        f"rabbitmq  {overview.get('rabbitmq_version')} on Erlang {overview.get('erlang_version')}"
        f" ({overview.get('node')})",
    ]


def percentile(sorted_values, q):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def table(headers, rows):
    """Plain-text table: first column left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                         for i, c in enumerate(row)).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
