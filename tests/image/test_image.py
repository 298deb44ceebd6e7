"""The image, run: its exported root filesystem (deploy/image/build.sh) serves
the platform as Kubernetes would run it, without a container engine:

* every process in its own mount and PID namespaces (`unshare --mount --pid
  --fork`), the root filesystem bind-mounted read-only, only /tmp writable
  (an emptyDir), as uid 10001 (`chroot --userspec=10001:10001`), with the
  image's own environment, working directory and entrypoint (tini, senctl);
* `migrate <service>` first, one Job per service, then `serve <service>` for
  every service of the deployment (the five, and any other found under
  deploy/k8s/base/services or services/portal);
* the probes answer, a school is onboarded and a token issued with the image's
  senctl, and one referral becomes two emails.

Run by `make image-test` (which builds the image and sets SEN_IMAGE_ROOTFS);
skipped otherwise."""

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from services.common.settings import SERVICES
from tests.brokers import SettingsBroker
from tests.conftest import (
    ROOT,
    Mailbox,
    _drop_postgres,
    _fresh_postgres,
    bearer,
    free_port,
    start_mailcatcher,
)
from tests.helpers import referral_body

ROOTFS = os.environ.get("SEN_IMAGE_ROOTFS")
pytestmark = [pytest.mark.timeout(600),
              pytest.mark.skipif(not ROOTFS, reason="make image-test builds and runs the image")]

# Mount the image read-only with a writable /tmp, /proc of the new PID namespace
# and the host's /dev, then become uid 10001 inside it.
RUN = r'''
set -e
root="$1"; tmp="$2"; workdir="$3"; shift 3
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount --bind "$tmp" "$root/tmp"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
exec chroot --userspec=10001:10001 "$root" /usr/bin/env -C "$workdir" "$@"
'''


def deployed_services():
    """The services the deployment runs: the platform's five, then any other the
    manifests or the source tree add (the portal, when it exists)."""
    names = list(SERVICES)
    manifests = ROOT / "deploy" / "k8s" / "base" / "services"
    extra = sorted(p.name for p in manifests.iterdir() if p.is_dir())
    if (ROOT / "services" / "portal").is_dir():
        extra.append("portal")
    return names + [n for n in dict.fromkeys(extra) if n not in names]


class Image:
    def __init__(self, rootfs, tmp_path):
        self.rootfs = Path(rootfs)
        self.config = json.loads((self.rootfs.parent / "image.json").read_text())
        self.tmp = tmp_path / "emptydir"
        self.tmp.mkdir()
        os.chmod(self.tmp, 0o1777)
        self.logs = tmp_path / "log"
        self.logs.mkdir()
        self.procs = {}

    def env(self, extra):
        env = dict(item.split("=", 1) for item in self.config.get("Env") or [])
        env.update(extra)
        return env

    def command(self, args, entrypoint=True):
        ep = (self.config.get("Entrypoint") or []) if entrypoint else []
        return ["unshare", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c", RUN, "sh",
                str(self.rootfs), str(self.tmp), self.config.get("WorkingDir") or "/",
                *ep, *args]

    def run(self, args, env, stdin=None, timeout=180, entrypoint=True):
        if stdin is None:
            return subprocess.run(self.command(args, entrypoint), env=self.env(env),
                                  capture_output=True, text=True, timeout=timeout)
        # stdin as `kubectl exec -i` gives it: a pipe the container's user may
        # reopen as /dev/stdin (a pipe made by root is root's alone)
        read, write = os.pipe()
        os.fchown(read, 10001, 10001)
        os.write(write, stdin.encode())
        os.close(write)
        try:
            return subprocess.run(self.command(args, entrypoint), env=self.env(env), stdin=read,
                                  capture_output=True, text=True, timeout=timeout)
        finally:
            os.close(read)

    def start(self, name, args, env):
        log = open(self.logs / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            self.command(args), env=self.env(dict(env, SEN_IMAGE_PROC=f"{name}-{id(self)}")),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def inside(self, marker):
        """Host PIDs of this image's processes (chrooted into it) carrying `marker`."""
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if (os.readlink(proc / "root") == str(self.rootfs)
                        and marker.encode() in (proc / "environ").read_bytes()):
                    pids.append(int(proc.name))
            except OSError:
                pass
        return pids

    def stop(self):
        """SIGTERM to each container's PID 1 (tini), as the kubelet sends it; tini
        passes it to senctl, nameko finishes its work and exits."""
        for name, proc in self.procs.items():
            if proc.poll() is None:
                for pid in self.inside(f"SEN_IMAGE_PROC={name}-{id(self)}"):
                    if Path(f"/proc/{pid}/comm").read_text().strip() == "tini":
                        os.kill(pid, signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(45)  # the Deployment's grace period
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                codes[name] = "killed"
        return codes

    def log(self, name):
        return (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]


@pytest.fixture
def databases():
    """One database per service: PostgreSQL where TEST_POSTGRES_URL is set (as in
    production), else SQLite files in the shared /tmp."""
    made = []

    def url(service):
        if os.environ.get("TEST_POSTGRES_URL"):
            u, name = _fresh_postgres(f"sen_img_{service}")
            made.append(name)
            return u
        return f"sqlite:////tmp/sen/db/{service}.sqlite3"

    yield url
    for name in made:
        _drop_postgres(name)


def test_the_image_serves_the_platform(tmp_path, databases):
    image = Image(ROOTFS, tmp_path)
    broker = SettingsBroker()
    vhost = f"image_{uuid.uuid4().hex[:10]}"
    broker.add_vhost(vhost)
    smtp_port = free_port()
    mailbox = Mailbox(tmp_path / "mail", smtp_port)
    smtp = start_mailcatcher(mailbox.dir, smtp_port)
    run_id = uuid.uuid4().hex
    services = deployed_services()
    ports = {s: free_port() for s in services}
    common = {"AMQP_URI": broker.amqp_uri(vhost), "SMTP_HOST": "127.0.0.1",
              "SMTP_PORT": str(smtp_port), "OUTREACH_INBOX": "outreach@trust.example",
              "JWT_PUBLIC_KEY": os.environ["JWT_PUBLIC_KEY"], "SEN_IMAGE_TEST": run_id}
    settings = {s: dict(common, DATABASE_URL=databases(s),
                        WEB_SERVER_ADDRESS=f"127.0.0.1:{ports[s]}") for s in services}
    timings = {}
    try:
        # the image itself: uid 10001, read-only root, writable /tmp
        probe = image.run(["sh", "-c", "id -u; touch /app/x 2>&1; touch /tmp/ok && echo tmp ok"],
                          common, entrypoint=False)
        assert probe.stdout.splitlines()[0] == "10001", probe.stdout + probe.stderr
        assert "Read-only file system" in probe.stdout and "tmp ok" in probe.stdout

        # migrations, as the Jobs run them, before any service
        started = time.monotonic()
        for service in services:
            if (ROOT / "services" / service / "migrations").is_dir():
                job = image.run(["migrate", service], settings[service])
                assert job.returncode == 0, job.stdout + job.stderr
        timings["migrate"] = time.monotonic() - started

        started = time.monotonic()
        for service in services:
            image.start(service, ["serve", service], settings[service])
        for service in services:
            url = f"http://127.0.0.1:{ports[service]}"
            deadline = time.monotonic() + 120
            while True:
                assert image.procs[service].poll() is None, image.log(service)
                try:
                    live = requests.get(url + "/health/live", timeout=2)
                    ready = requests.get(url + "/health/ready", timeout=5)
                    if live.status_code == 200 and ready.status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, f"{service} not ready:\n{image.log(service)}"
                time.sleep(0.5)
        timings["ready"] = time.monotonic() - started
        pids = image.inside(f"SEN_IMAGE_TEST={run_id}")
        assert len(pids) >= 2 * len(services)  # tini and senctl of each
        uids = set()
        for pid in pids:
            status = Path(f"/proc/{pid}/status").read_text()
            uids.add(next(line.split()[1] for line in status.splitlines()
                          if line.startswith("Uid:")))
        assert uids == {"10001"}, uids  # every process of the image, none as root

        # a school, its token (the private key through stdin), a referral, two emails
        school = image.run(["org", "onboard", "--name", "Riverside Primary School", "--kind",
                            "partner_school", "--urn", "100001", "--laestab", "2021001"],
                           settings["pupils"])
        assert school.returncode == 0, school.stdout + school.stderr
        token = image.run(["token", "--sub", "jo@riverside.example", "--org",
                           school.stdout.strip(), "--roles", "partner_referrer"],
                          dict(settings["pupils"], JWT_PRIVATE_KEY_FILE="/dev/stdin"),
                          stdin=os.environ["JWT_PRIVATE_KEY"])
        assert token.returncode == 0, token.stdout + token.stderr
        started = time.monotonic()
        resp = requests.post(f"http://127.0.0.1:{ports['referrals']}/api/v1/referrals",
                             json=referral_body(), headers=bearer(token.stdout.strip()),
                             timeout=30)
        assert resp.status_code == 201, resp.text
        messages = mailbox.wait_for(2, timeout=60)
        timings["two emails"] = time.monotonic() - started
        reference = resp.json()["reference"]
        assert sorted(m["To"].addresses[0].addr_spec for m in messages) == [
            "jo.smith@riverside.example", "outreach@trust.example"]
        assert all(reference in m["Subject"] for m in messages)
    finally:
        codes = image.stop()
        smtp.terminate()
        smtp.wait(5)
        broker.delete_vhost(vhost)
    size = (Path(ROOTFS).parent / "image.size").read_text().strip()
    print(f"\nimage: {int(size) / 1e6:.0f} MB; services {services}; "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
          + f"; exit codes after SIGTERM {codes}")
    assert all(code == 0 or code == 143 for code in codes.values()), codes
