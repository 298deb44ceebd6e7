"""A stream of referrals with disruptions in the middle, and what came out of it:
the figures the reliability tests assert and print (accepted, delivered,
duplicates, missing, time to settle)."""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import bearer
from tests.helpers import referral_body

OUTREACH = "outreach@trust.example"


def onboard_school(platform, urn="100001", laestab="2021001"):
    school = platform.senctl("org", "onboard", "--name", "Riverside Primary School",
                             "--kind", "partner_school", "--urn", urn, "--laestab", laestab)
    token = platform.senctl("token", "--sub", "jo@riverside.example", "--org", school,
                            "--roles", "partner_referrer")
    return school, token


class Stream:
    def __init__(self, urls, token, workers=4):
        """urls: one or more referrals base URLs (replicas are used in turn)."""
        self.urls = [u + "/api/v1/referrals" for u in urls]
        self.token = token
        self.workers = workers
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))
        self.references = []
        self.events = {}  # name -> monotonic time of a disruption

    def submit(self, i):
        body = referral_body(contact={"name": f"Contact {i}",
                                      "email": f"contact{i}@riverside.example",
                                      "phone": "01632 960000"})
        for attempt in range(100):  # intake never depends on the broker; replicas may be down
            url = self.urls[(i + attempt) % len(self.urls)]
            try:
                resp = self.session.post(url, json=body, headers=bearer(self.token), timeout=30)
                if resp.status_code == 201:
                    return resp.json()["reference"]
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"referral {i} was not accepted")

    def run(self, total, disruptions):
        """disruptions: {after how many referrals: (name, callable)}."""
        with ThreadPoolExecutor(self.workers) as pool:
            start = 0
            for stop in [*sorted(disruptions), total]:
                self.references += pool.map(self.submit, range(start, stop))
                start = stop
                if stop in disruptions:
                    name, action = disruptions[stop]
                    time.sleep(0.3)  # let the consumers get busy, then disrupt mid-stream
                    self.events[name] = time.monotonic()
                    action()
        self.finished = time.monotonic()
        return self.references


def report(platform, references, timeout=240):
    """Wait until every referral has its two emails (or the timeout), then count."""
    expected = 2 * len(references)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(platform.mailbox.messages()) < expected:
        time.sleep(0.5)
    settled = time.monotonic()
    time.sleep(3)  # anything late would show up as an extra message
    messages = platform.mailbox.messages()
    by_ref = {r: r for r in references}
    pairs = Counter()
    for m in messages:
        reference = next((r for r in by_ref if r in m["Subject"]), None)
        kind = "outreach" if m["To"].addresses[0].addr_spec == OUTREACH else "contact"
        pairs[(reference, kind)] += 1
    missing = [(r, kind) for r in references for kind in ("contact", "outreach")
               if pairs[(r, kind)] == 0]
    duplicates = sum(v - 1 for v in pairs.values() if v > 1)
    return {"accepted": len(set(references)), "delivered": len(messages),
            "expected": expected, "duplicates": duplicates, "missing": len(missing),
            "missing_examples": missing[:3], "unknown": pairs.get((None, "contact"), 0)
            + pairs.get((None, "outreach"), 0), "settled_at": settled,
            "smtp_transactions": len(platform.mailbox.transactions())}


def print_figures(title, figures, **times):
    shown = {k: v for k, v in figures.items() if k not in ("settled_at", "missing_examples")}
    extra = ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
    print(f"\n{title}: " + ", ".join(f"{k} {v}" for k, v in shown.items())
          + (f"; {extra}" if extra else ""))
