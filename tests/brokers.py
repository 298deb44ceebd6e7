"""RabbitMQ nodes of a test's own (docs/architecture.md, "Testing"): never the machine's broker.

Each `Node` has its own node name, AMQP, distribution and management ports,
configuration, data and log directories under the test's tmp dir, and an Erlang
cookie of its own (shared by the nodes of one cluster). `Cluster(n)` starts n
nodes and joins them with `rabbitmqctl -n NODE join_cluster`.

    with Cluster(3, tmp_path) as cluster:
        cluster.amqp_uri("vhost")    # "amqp://...:p1/vhost;amqp://...:p2/vhost;..."
        cluster.nodes[0].stop(kill=True)

Tests that use these kill and start processes: mark them `serial`.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import requests

SERVER = shutil.which("rabbitmq-server", path="/usr/lib/rabbitmq/bin") or "rabbitmq-server"
CTL = shutil.which("rabbitmqctl", path="/usr/lib/rabbitmq/bin") or "rabbitmqctl"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def available():
    return Path(SERVER).exists() or shutil.which("rabbitmq-server") is not None


class _Vhosts:
    """add_vhost/delete_vhost through the management API at self.api."""

    def add_vhost(self, vhost):
        api = self.api
        requests.put(f"{api}/vhosts/{quote(vhost, safe='')}", timeout=30).raise_for_status()
        requests.put(f"{api}/permissions/{quote(vhost, safe='')}/guest", timeout=30,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()

    def delete_vhost(self, vhost):
        try:
            requests.delete(f"{self.api}/vhosts/{quote(vhost, safe='')}", timeout=30)
        except requests.RequestException:
            pass


class Node(_Vhosts):
    def __init__(self, base, name, cookie):
        self.base = Path(base) / name
        self.short = name
        self.nodename = f"{name}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.mgmt_port = free_port()
        self.cookie = cookie
        self.proc = None
        self.home = self.base / "home"
        for d in ("home", "mnesia", "log", "etc"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        cookie_file = self.home / ".erlang.cookie"
        cookie_file.write_text(cookie)
        cookie_file.chmod(0o400)
        (self.base / "etc" / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {self.mgmt_port}\n"
            "loopback_users = none\n"
            "log.console = false\n"
            "log.file.level = warning\n")
        (self.base / "etc" / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.base / "etc" / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's

    @property
    def env(self):
        return dict(
            os.environ, HOME=str(self.home),
            RABBITMQ_NODENAME=self.nodename,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONF_ENV_FILE=str(self.base / "etc" / "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=str(self.base / "etc" / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "etc" / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_PID_FILE=str(self.base / "node.pid"),
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )

    def amqp_uri(self, vhost="/"):
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{quote(vhost, safe='')}"

    @property
    def api(self):
        return f"http://guest:guest@127.0.0.1:{self.mgmt_port}/api"

    # -- lifecycle ----------------------------------------------------------------
    def start(self):
        log = open(self.base / "log" / "console.log", "ab")
        self.proc = subprocess.Popen([SERVER], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def wait(self, timeout=120):
        deadline = time.monotonic() + timeout
        while True:  # the node is unreachable until it has registered with epmd
            assert self.proc.poll() is None, self.log()
            try:
                self.ctl("await_startup", timeout=timeout)
                break
            except (RuntimeError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        while not (port_open(self.port) and port_open(self.mgmt_port)):
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, f"{self.nodename} did not open its ports"
            time.sleep(0.2)
        return self

    def ctl(self, *args, timeout=120, check=True):
        result = subprocess.run([CTL, "-n", self.nodename, *args], env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} on {self.nodename}: "
                               f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result.stdout

    def stop(self, kill=False):
        """SIGKILL the node (kill=True: a crash), or stop it cleanly."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            self.ctl("stop", check=False, timeout=120)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        # epmd, the Erlang port mapper, is shared and stays; nothing of ours is left
        self.proc = None

    def restart_app(self):
        """The broker application stops and starts again; the Erlang node stays."""
        self.ctl("stop_app")
        self.ctl("start_app")
        self.ctl("await_startup")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        logs = sorted((self.base / "log").glob("*.log"))
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs)

    # -- management API -----------------------------------------------------------
    def queues(self, vhost):
        resp = requests.get(f"{self.api}/queues/{quote(vhost, safe='')}", timeout=30)
        resp.raise_for_status()
        return resp.json()


class Cluster(_Vhosts):
    """n nodes of our own, joined into one cluster (n=1: a lone node)."""

    def __init__(self, n, tmp_path, prefix=None):
        prefix = prefix or f"sen{secrets.token_hex(3)}"
        cookie = secrets.token_hex(16).upper()
        self.nodes = [Node(tmp_path / "rabbit", f"{prefix}n{i + 1}", cookie) for i in range(n)]

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.nodename)
            node.ctl("start_app")
            node.wait()
        return self

    def stop(self):
        for node in self.nodes:
            try:
                node.stop(kill=True)
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass

    def running(self):
        return [n for n in self.nodes if n.running()]

    def amqp_uri(self, vhost="/"):
        """Every node's address, `;`-separated: kombu (and nameko, which passes
        AMQP_URI to kombu) fails over to the next one when a node goes away."""
        return ";".join(node.amqp_uri(vhost) for node in self.nodes)

    @property
    def api(self):
        return self.running()[0].api

    def cluster_nodes(self):
        resp = requests.get(f"{self.api}/nodes", timeout=30)
        resp.raise_for_status()
        return sorted(n["name"] for n in resp.json() if n.get("running"))

    def node(self, nodename):
        return next(n for n in self.nodes if n.nodename == nodename)

    def queue_leaders(self, vhost):
        """{queue name: node name leading it} for the vhost's quorum queues."""
        resp = requests.get(f"{self.api}/queues/{quote(vhost, safe='')}", timeout=30)
        resp.raise_for_status()
        return {q["name"]: q.get("leader") or q.get("node") for q in resp.json()
                if q.get("type") == "quorum"}


class SettingsBroker(_Vhosts):
    """The broker the settings name (AMQP_URI, RABBIT_API_URI), used through
    vhosts of a test's own; 127.0.0.1:5672/15672 only when nothing is set."""

    def __init__(self, amqp_uri=None, api=None):
        from urllib.parse import urlsplit
        base = amqp_uri or os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"
        self.bases = [u.strip() for u in base.split(";") if u.strip()]
        first = urlsplit(self.bases[0])
        default_api = (f"http://{first.username or 'guest'}:{first.password or 'guest'}@"
                       f"{first.hostname or '127.0.0.1'}:15672/api")
        self.api = (api or os.environ.get("RABBIT_API_URI") or default_api).rstrip("/")
        if not self.api.endswith("/api"):
            self.api += "/api"

    def amqp_uri(self, vhost="/"):
        from urllib.parse import urlsplit, urlunsplit
        return ";".join(urlunsplit(urlsplit(b)._replace(path="/" + quote(vhost, safe="")))
                        for b in self.bases)
