"""The platform as separate processes: each service started with `senctl serve`
in its own RabbitMQ vhost, a real SMTP server, HTTP in and email out."""

import os
import random
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests import brokers
from tests.brokers import SettingsBroker
from tests.conftest import ROOT, Mailbox, free_port, start_mailcatcher


class Platform:
    def __init__(self, tmp_path, services, broker=None, env=None):
        """broker: where the vhost lives (default: the broker AMQP_URI and
        RABBIT_API_URI name; tests/brokers.py for nodes of a test's own);
        env: extra settings for every process (e.g. DATABASE_URLs)."""
        self.tmp = tmp_path
        self.services = services
        self.broker = broker or SettingsBroker()
        self.vhost = "e2e_" + "".join(random.choices(string.ascii_lowercase, k=10))
        self.amqp_uri = self.broker.amqp_uri(self.vhost)
        self.ports = {s: free_port() for s in services}
        self.smtp_port = free_port()
        self.mailbox = Mailbox(tmp_path / "mail", self.smtp_port)
        self.procs = {}
        self.logs = tmp_path / "log"
        self.logs.mkdir()
        self.env = dict(os.environ, SEN_VAR_DIR=str(tmp_path / "var"), AMQP_URI=self.amqp_uri,
                        SMTP_PORT=str(self.smtp_port), PYTHONUNBUFFERED="1",
                        OUTREACH_INBOX="outreach@trust.example", **(env or {}))

    def url(self, service):
        return f"http://127.0.0.1:{self.ports[service]}"

    # -- lifecycle ----------------------------------------------------------------
    def start(self):
        self.broker.add_vhost(self.vhost)
        self.smtp = start_mailcatcher(self.mailbox.dir, self.smtp_port)
        self.senctl("migrate", *self.services)
        for service in self.services:
            self.start_service(service)
        for service in self.services:
            self.wait_ready(service)

    def start_service(self, service, name=None):
        """Start `service` (again); `name` (e.g. "notify-2") starts another replica of it."""
        name = name or service
        self.ports.setdefault(name, free_port())
        log = open(self.logs / f"{name}.log", "ab")
        env = dict(self.env, WEB_SERVER_ADDRESS=f"127.0.0.1:{self.ports[name]}")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli.senctl", "serve", service], cwd=ROOT,
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, service, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.procs[service].poll() is None, self.log(service)
            try:
                if requests.get(self.url(service) + "/health/ready", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{service} not ready:\n{self.log(service)}")

    def kill(self, service, sig=signal.SIGKILL):
        proc = self.procs[service]
        os.killpg(proc.pid, sig)
        proc.wait(30)

    def log(self, service):
        return (self.logs / f"{service}.log").read_text()[-5000:]

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.smtp.terminate()
        self.smtp.wait(5)
        self.broker.delete_vhost(self.vhost)

    # -- admin --------------------------------------------------------------------
    def senctl(self, *args, returncode=0):
        result = subprocess.run([sys.executable, "-m", "services.cli.senctl", *args], cwd=ROOT,
                                env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == returncode, result.stderr[-3000:]
        return result.stdout.strip()

    def database(self, service):
        return Path(self.env["SEN_VAR_DIR"]) / "db" / f"{service}.sqlite3"


@pytest.fixture
def platform_factory(tmp_path):
    started = []

    def make(*services, broker=None, env=None):
        platform = Platform(tmp_path, services, broker=broker, env=env)
        started.append(platform)
        platform.start()
        return platform

    yield make
    for platform in started:
        platform.stop()


@pytest.fixture
def rabbit_nodes(tmp_path):
    """rabbit_nodes(n) -> a started Cluster of n RabbitMQ nodes of this test's own
    (own node names, ports and directories; tests/brokers.py). Mark such tests serial."""
    if not brokers.available():
        pytest.skip("rabbitmq-server is not installed")
    clusters = []

    def make(n=1):
        cluster = brokers.Cluster(n, tmp_path)
        clusters.append(cluster)
        cluster.start()
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop()
