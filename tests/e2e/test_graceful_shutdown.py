"""SIGTERM during a burst of events: the service stops taking messages,
finishes what it holds, exits; after a restart nothing is lost or half-done."""

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import bearer, wait_until
from tests.helpers import referral_body

BURST = 100


def test_sigterm_during_a_burst_loses_nothing_and_sends_nothing_twice(platform_factory):
    platform = platform_factory("pupils", "referrals", "notify")
    school = platform.senctl("org", "onboard", "--name", "Riverside Primary School",
                             "--kind", "partner_school", "--urn", "100001",
                             "--laestab", "2021001")
    token = platform.senctl("token", "--sub", "jo@riverside.example", "--org", school,
                            "--roles", "partner_referrer")
    url = platform.url("referrals") + "/api/v1/referrals"
    session = requests.Session()

    def submit(i):
        body = referral_body(contact={"name": f"Contact {i}",
                                      "email": f"contact{i}@riverside.example",
                                      "phone": "01632 960000"})
        resp = session.post(url, json=body, headers=bearer(token), timeout=30)
        assert resp.status_code == 201, resp.text
        return resp.json()["reference"]

    with ThreadPoolExecutor(4) as pool:
        references = list(pool.map(submit, range(BURST)))
    # notify is now working through the burst: stop it politely mid-stream
    wait_until(lambda: len(platform.mailbox.messages()) >= 20, timeout=30)
    delivered_before = len(platform.mailbox.messages())
    started = time.monotonic()
    platform.kill("notify", signal.SIGTERM)
    stopped_in = time.monotonic() - started
    assert platform.procs["notify"].returncode == 0, platform.log("notify")
    platform.start_service("notify")
    platform.wait_ready("notify")

    assert wait_until(lambda: len(platform.mailbox.messages()) >= 2 * BURST, timeout=90)
    time.sleep(2)
    messages = platform.mailbox.messages()
    print(f"\nSIGTERM with {delivered_before}/{2 * BURST} emails sent; "
          f"stopped in {stopped_in:.1f}s")
    assert len(messages) == 2 * BURST
    assert {r for m in messages for r in references if r in m["Subject"]} == set(references)
    # a graceful stop leaves nothing half-sent: not one SMTP transaction repeated
    assert len(platform.mailbox.transactions()) == 2 * BURST
    assert stopped_in < 30
