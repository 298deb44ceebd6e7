"""Shared by the reliability tests: submit referrals, count what arrived."""

import threading
import time
from collections import Counter

import requests

from tests.conftest import bearer
from tests.helpers import referral_body


def onboard(platform):
    school = platform.senctl("org", "onboard", "--name", "Riverside Primary School",
                             "--kind", "partner_school", "--urn", "100001",
                             "--laestab", "2021001")
    return platform.senctl("token", "--sub", "jo@riverside.example", "--org", school,
                           "--roles", "partner_referrer")


def submitter(platform, token):
    url = platform.url("referrals") + "/api/v1/referrals"
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))
    lock = threading.Lock()
    statuses = Counter()

    def submit(i):
        body = referral_body(contact={"name": f"Contact {i}",
                                      "email": f"contact{i}@riverside.example",
                                      "phone": "01632 960000"})
        key = f"referral-{i}"
        deadline = time.monotonic() + 120  # a killed service takes a while to come back
        while time.monotonic() < deadline:
            try:
                resp = session.post(url, json=body, timeout=30,
                                    headers={**bearer(token), "Idempotency-Key": key})
                with lock:
                    statuses[resp.status_code] += 1
                if resp.status_code == 201:
                    return resp.json()["reference"]
                if resp.status_code == 409 and resp.json().get("type", "").endswith(
                        "idempotency-answer-lost"):
                    return None  # it took effect once; its answer died with the process
            except requests.RequestException:
                with lock:
                    statuses["error"] += 1
            time.sleep(0.2)
        raise AssertionError(f"referral {i} was not accepted ({dict(statuses)}):\n"
                             + platform.log("referrals"))

    submit.statuses = statuses
    return submit


def count_emails(platform, references):
    """(missing, duplicates stored, SMTP transactions, repeats on the wire)"""
    messages = platform.mailbox.messages()
    pairs = Counter()
    for m in messages:
        reference = next(r for r in references if r in m["Subject"])
        pairs[(reference, m["To"].addresses[0].addr_spec)] += 1
    missing = [(r, kind) for r in references for kind in ("contact", "outreach")
               if not any(k[0] == r and (kind == "outreach") == (k[1] ==
                          "outreach@trust.example") for k in pairs)]
    transactions = platform.mailbox.transactions()
    repeats = len(transactions) - len({t.split()[0] for t in transactions})
    return missing, sum(v - 1 for v in pairs.values()), len(transactions), repeats


class Watch:
    """Records any service process that exits while the test runs."""

    def __init__(self, platform):
        self.platform, self.exits = platform, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.2):
            for name, proc in self.platform.procs.items():
                if proc.poll() is not None and name not in [e[0] for e in self.exits]:
                    self.exits.append((name, proc.returncode))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
