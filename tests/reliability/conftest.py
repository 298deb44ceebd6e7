"""A RabbitMQ node of the reliability tests' own (docs/architecture.md, "Testing"): its own
node name, AMQP, distribution and management ports, and mnesia, log and config
directories under the test's tmp dir, so a test may stop and start *its*
broker without touching the machine's broker on 5672 that others share.

`rabbit_node` starts one per test; `platform` runs services against it as
separate processes (`senctl serve`), like tests/e2e, with a real SMTP catcher.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, Mailbox, free_port, start_mailcatcher

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


class RabbitNode:
    def __init__(self, base):
        self.base = Path(base)
        self.name = f"edges{uuid.uuid4().hex[:8]}@localhost"
        self.port, self.dist_port, self.mgmt_port = free_port(), free_port(), free_port()
        for d in ("mnesia", "log", "home"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {self.port}\n"
            f"management.tcp.port = {self.mgmt_port}\n"
            "loopback_users = none\n")
        self.env = dict(
            os.environ, HOME=str(self.base / "home"), RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_ENABLED_PLUGINS="rabbitmq_management")
        self.proc = None

    @property
    def amqp_uri(self):
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args, timeout=120, check=True):
        return subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.name, *args],
                              env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=check)

    def start(self):
        log = open(self.base / "server.out", "ab")
        self.proc = subprocess.Popen([str(RABBIT_BIN / "rabbitmq-server")], env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rabbitmq-server exited:\n" +
                                   (self.base / "server.out").read_text()[-3000:])
            if self.ctl("await_startup", "--timeout", "5", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("own RabbitMQ node did not start")

    def stop_app(self):
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")
        self.ctl("await_startup")

    def management(self, path):
        return requests.get(f"http://guest:guest@127.0.0.1:{self.mgmt_port}/api/{path}",
                            timeout=10).json()

    def shutdown(self):
        if self.proc is None:
            return
        self.ctl("stop", check=False, timeout=60)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def rabbit_node(tmp_path):
    if not (RABBIT_BIN / "rabbitmq-server").exists():
        pytest.skip("RabbitMQ is not installed")
    node = RabbitNode(tmp_path / "rabbit")
    node.start()
    yield node
    node.shutdown()


class Platform:
    """Services as `senctl serve` processes on the test's own broker."""

    def __init__(self, tmp_path, node, services, **env):
        self.node = node
        self.services = services
        self.ports = {s: free_port() for s in services}
        self.smtp_port = free_port()
        self.mailbox = Mailbox(tmp_path / "mail", self.smtp_port)
        self.logs = tmp_path / "log"
        self.logs.mkdir(exist_ok=True)
        self.procs = {}
        self.env = dict(os.environ, SEN_VAR_DIR=str(tmp_path / "var"),
                        AMQP_URI=node.amqp_uri, SMTP_PORT=str(self.smtp_port),
                        PYTHONUNBUFFERED="1", OUTREACH_INBOX="outreach@trust.example", **env)

    def url(self, service):
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self):
        self.smtp = start_mailcatcher(self.mailbox.dir, self.smtp_port)
        self.senctl("migrate", *self.services)
        for service in self.services:
            self.start_service(service)
        for service in self.services:
            self.wait_ready(service)

    def start_service(self, service):
        log = open(self.logs / f"{service}.log", "ab")
        env = dict(self.env, WEB_SERVER_ADDRESS=f"127.0.0.1:{self.ports[service]}")
        self.procs[service] = subprocess.Popen(
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

    def log(self, service):
        return (self.logs / f"{service}.log").read_text()[-5000:]

    def senctl(self, *args, check=True):
        result = subprocess.run([sys.executable, "-m", "services.cli.senctl", *args], cwd=ROOT,
                                env=self.env, capture_output=True, text=True, timeout=120)
        if check:
            assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout.strip()

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


@pytest.fixture
def platform_on_own_broker(tmp_path, rabbit_node):
    started = []

    def make(*services, **env):
        platform = Platform(tmp_path, rabbit_node, services, **env)
        started.append(platform)
        platform.start()
        return platform

    yield make
    for platform in started:
        platform.stop()
