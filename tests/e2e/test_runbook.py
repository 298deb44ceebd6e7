"""The runbook (deploy/README.md), run: every command of its sections that can
run on one machine is taken from the README's own text and run against the
platform (pupils, referrals, notify as `senctl serve` processes, on a RabbitMQ
node of the test's own), so the runbook and this test cannot drift apart.

`kubectl -n $NS exec [-i] deploy/sen-<service> -- CMD` runs CMD with that
service's settings; `kubectl create secret generic sen-jwt-public-key
--from-file=jwt_public.pem=FILE` becomes a copy of FILE to the file the services
read (JWT_PUBLIC_KEY_FILE, as the Secret is mounted); `rollout restart` is not
needed (the services re-read the key on each request, which this proves) and
other kubectl commands need a cluster."""

import json
import os
import re
import subprocess
import time

import pytest
import requests
from kombu import Connection

from services.common import messaging
from services.common.deadletters import dead_letter
from services.common.settings import ROOT
from tests.conftest import bearer
from tests.helpers import referral_body

README = ROOT / "deploy" / "README.md"
VENV_BIN = ROOT / ".venv" / "bin"
EXEC = re.compile(r"^kubectl -n \$NS exec (?:-i )?deploy/sen-(\w+) -- ")
SECRET = re.compile(r"^kubectl -n \$NS create secret generic sen-jwt-public-key "
                    r"--from-file=jwt_public\.pem=(\S+)")


def section(title):
    text = README.read_text()
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def commands(title):
    """The shell commands of a section's ```sh blocks, continuation lines joined."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", section(title), re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        out += [line.strip() for line in joined.splitlines()
                if line.strip() and not line.strip().startswith("#")]
    return out


class Runbook:
    def __init__(self, platform, workdir, key_file):
        self.platform, self.dir, self.key_file = platform, workdir, key_file
        self.ran, self.skipped = [], []

    def local(self, command):
        """The command as it runs here, or None if it needs a Kubernetes cluster."""
        m = SECRET.match(command)
        if m:
            return f"cp {m.group(1)} {self.key_file}"
        m = EXEC.match(command)
        if m:
            return command[m.end():]
        if command.startswith(("kubectl", "helm")) or command == "NS=sen":
            return None
        return command

    def run(self, command, check=True, stdin=None):
        local = self.local(command)
        if local is None:
            self.skipped.append(command)
            return None
        local = local.replace("/tmp/jwt_public_bundle.pem", str(self.dir / "bundle.pem"))
        env = dict(self.platform.env, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
        result = subprocess.run(["bash", "-c", local], cwd=self.dir, env=env, input=stdin,
                                capture_output=True, text=True, timeout=120)
        if check:
            assert result.returncode == 0, f"{local}\n{result.stdout}{result.stderr}"
        self.ran.append(command)
        return result

    def find(self, title, *needles):
        found = [c for c in commands(title) if all(n in c for n in needles)]
        assert found, f"deploy/README.md §{title}: no command with {needles}"
        return found[0]


@pytest.mark.serial
@pytest.mark.timeout(600)
def test_the_runbook(rabbit_nodes, platform_factory, tmp_path):
    admin = tmp_path / "admin"  # the admin machine's working directory
    admin.mkdir()
    key_file = tmp_path / "mounted" / "jwt_public.pem"  # the Secret, as mounted
    key_file.parent.mkdir()
    node = rabbit_nodes(1).nodes[0]
    platform = platform_factory("pupils", "referrals", "notify", broker=node, env={
        "JWT_PUBLIC_KEY": "", "JWT_PRIVATE_KEY": "", "JWT_PUBLIC_KEY_FILE": str(key_file)})
    book = Runbook(platform, admin, key_file)
    referrals = platform.url("referrals")

    def status(token):
        return requests.get(referrals + "/api/v1/referrals", headers=bearer(token),
                            timeout=10).status_code

    # §2 Configure: the key pair, and the public key published to the services
    book.run(book.find("2. Configure", "senctl keys create --dir ./sen-keys"))
    book.run(book.find("2. Configure", "sen-jwt-public-key", "--from-file"))
    assert key_file.read_text() == (admin / "sen-keys" / "jwt_public.pem").read_text()

    # §9 Onboard a new school, then its first token (the private key through stdin)
    onboard = book.find("9. Onboard a new school", "senctl org onboard")
    school = book.run(onboard).stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", school), school
    bad = book.run(onboard.replace("--urn 100001", "--urn 10001"), check=False)
    assert bad.returncode != 0 and "urn" in (bad.stdout + bad.stderr).lower()
    bad = book.run(onboard.replace("--laestab 2021001", "--laestab 202100"), check=False)
    assert bad.returncode != 0 and "laestab" in (bad.stdout + bad.stderr).lower()
    issue = book.find("9. Onboard a new school", "senctl token")
    old_token = book.run(issue).stdout.strip()
    assert status(old_token) == 200
    resp = requests.post(referrals + "/api/v1/referrals", json=referral_body(),
                         headers=bearer(old_token), timeout=30)
    assert resp.status_code == 201, resp.text
    platform.mailbox.wait_for(2, timeout=30)

    # §3 step 5 and Troubleshooting: readiness, as the runbook reads it
    port = platform.ports["referrals"]
    ready = book.run(book.find("3. Deploy", "curl -s localhost:8000/health/ready")
                     .replace("localhost:8000", f"localhost:{port}"))
    assert json.loads(ready.stdout) == {"status": "ok",
                                        "checks": {"database": "ok", "broker": "ok"}}
    probe = re.search(r"`(kubectl [^`]*/health/ready[^`]*)`", section("Troubleshooting")).group(1)
    probe = probe.replace("sen-<service>", "sen-referrals").replace("127.0.0.1:8000",
                                                                     f"127.0.0.1:{port}")
    assert '"broker": "ok"' in book.run(probe).stdout

    # §8 Rotate the signing key: old and new valid in the overlap, then new alone
    rotation = commands("8. Rotate the JWT signing key")
    new_token = None
    for command in rotation:
        book.run(command)
        if "cat " in command and "bundle" in command:
            continue
        if SECRET.match(command) and "bundle" in command:
            new_token = book.run(issue.replace("./sen-keys/", "./sen-keys-2026-11/")).stdout.strip()
            assert status(old_token) == 200 and status(new_token) == 200  # the overlap
        elif SECRET.match(command):
            assert new_token and status(new_token) == 200
            assert status(old_token) == 401  # the old key is gone
    assert new_token and not (admin / "sen-keys" / "jwt_private.pem").exists()  # shredded

    # §11 Replay dead letters: one that can never be handled, one that now can
    with Connection(platform.amqp_uri) as conn:
        producer = conn.Producer()
        messaging.event_exchange("referrals").declare(channel=producer.channel)
        broken = {"event_id": "0c6a5c3e-7f2b-4a8e-9d61-3b7f0f2b9a10", "type": "referral.submitted",
                  "version": 1, "occurred_at": "2026-11-24T09:00:00+00:00", "org_id": school,
                  "actor": "x", "data": {"reference": "REF-BROKEN"}}
        producer.publish(json.dumps(broken), exchange="referrals.events",
                         routing_key="referral.submitted", content_type="application/json")
    listing = book.find("11. Replay dead letters", "deadletters list")
    lines = wait_for_lines(book, listing, 1)
    assert lines[0]["event_id"] == broken["event_id"] and "invalid event" in lines[0]["reason"]
    per_service = book.find("11. Replay dead letters", "deadletters list notify")
    assert len(wait_for_lines(book, per_service, 1)) == 1
    # a valid event the broker's delivery limit dead-lettered (a crash loop, since fixed)
    good = _submitted_event(school, "REF-REPLAYED")
    dead_letter("notify", body=good, queue="evt-referrals-referral.submitted--notify."
                "on_referral_submitted", handler="notify.on_referral_submitted",
                reason="delivery limit", event_type="referral.submitted",
                event_id=good["event_id"], amqp_uri=platform.amqp_uri)
    assert len(wait_for_lines(book, per_service, 2)) == 2
    one = book.find("11. Replay dead letters", "--event-id")
    book.run(one.replace("<event_id>", broken["event_id"]))  # back to its queue, and fails again
    assert {e["event_id"] for e in wait_for_lines(book, per_service, 2)} == {
        broken["event_id"], good["event_id"]}
    every = [c for c in commands("11. Replay dead letters")
             if c.endswith("deadletters replay notify")][0]
    book.run(every)
    messages = platform.mailbox.wait_for(4, timeout=30)
    assert sum("REF-REPLAYED" in m["Subject"] for m in messages) == 2
    assert [e["event_id"] for e in wait_for_lines(book, per_service, 1, exact=True)] == [
        broken["event_id"]]

    # Troubleshooting: the outbox backlog while the broker is away, and after
    backlog = book.find("Troubleshooting", "senctl outbox backlog")
    node.ctl("stop_app")
    try:
        for _ in range(3):
            resp = requests.post(referrals + "/api/v1/referrals", json=referral_body(),
                                 headers=bearer(new_token), timeout=30)
            assert resp.status_code == 201, resp.text
        assert book.run(backlog).stdout.split() == ["referrals", "3"]
    finally:
        node.ctl("start_app")
        node.ctl("await_startup")
    deadline = time.monotonic() + 60
    while book.run(backlog).stdout.split() != ["referrals", "0"]:
        assert time.monotonic() < deadline, "the relay did not drain the outbox"
        time.sleep(1)

    skipped = sorted(set(c for c in book.skipped if c != "NS=sen"))
    print(f"\nrunbook: {len(set(book.ran))} commands run from deploy/README.md; not run here "
          f"(they need a cluster): {skipped}")


def wait_for_lines(book, command, count, exact=False, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        out = book.run(command).stdout
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        if (len(lines) == count if exact else len(lines) >= count) or \
                time.monotonic() > deadline:
            return lines
        time.sleep(0.5)


def _submitted_event(school, reference):
    from services.contracts import make_event
    return make_event("referral.submitted", {
        "referral_id": "r-replayed", "reference": reference, "school_org_id": school,
        "contact": {"name": "Jo Smith", "email": "jo.smith@riverside.example"},
        "areas_of_need": ["communication_and_interaction"],
        "submitted_at": "2026-11-24T09:00:00+00:00"}, org_id=school, actor="test")

