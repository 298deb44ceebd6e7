"""Nothing lost, nothing twice: 300 referrals while notify is SIGKILLed three
times and RabbitMQ is restarted once; afterwards exactly 600 emails exist.
The broker is a node of the test's own (tests/brokers.py), never the machine's."""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import bearer, wait_until
from tests.helpers import referral_body

REFERRALS = 300


@pytest.mark.serial
def test_300_referrals_through_kills_and_a_broker_restart(rabbit_nodes, platform_factory):
    node = rabbit_nodes(1).nodes[0]
    platform = platform_factory("pupils", "referrals", "notify", broker=node)
    school = platform.senctl("org", "onboard", "--name", "Riverside Primary School",
                             "--kind", "partner_school", "--urn", "100001",
                             "--laestab", "2021001")
    token = platform.senctl("token", "--sub", "jo@riverside.example", "--org", school,
                            "--roles", "partner_referrer")
    url = platform.url("referrals") + "/api/v1/referrals"
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

    def submit(i):
        body = referral_body(contact={"name": f"Contact {i}",
                                      "email": f"contact{i}@riverside.example",
                                      "phone": "01632 960000"})
        for _ in range(50):  # the intake never depends on the broker, but be patient
            try:
                resp = session.post(url, json=body, headers=bearer(token), timeout=30)
                if resp.status_code == 201:
                    return resp.json()["reference"]
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"referral {i} was not accepted")

    disruptions = {60: "kill", 120: "kill", 180: "broker", 240: "kill"}
    references = []
    with ThreadPoolExecutor(4) as pool:
        start = 0
        for stop in [*disruptions, REFERRALS]:
            references += pool.map(submit, range(start, stop))
            start = stop
            action = disruptions.get(stop)
            if action == "kill":
                time.sleep(0.3)  # let notify get busy, then kill it mid-stream
                platform.kill("notify")
                platform.start_service("notify")
            elif action == "broker":
                node.restart_app()
    platform.wait_ready("notify", timeout=90)
    assert len(set(references)) == REFERRALS

    def all_delivered():
        return len(platform.mailbox.messages()) >= 2 * REFERRALS
    wait_until(all_delivered, timeout=180, interval=1)
    time.sleep(3)  # anything late would show up as an extra message

    messages = platform.mailbox.messages()
    pairs = Counter()
    for m in messages:
        reference = next(r for r in set(references) if r in m["Subject"])
        pairs[(reference, m["To"].addresses[0].addr_spec)] += 1
    missing = [(r, kind) for r in references for kind in ("contact", "outreach")
               if not any(k[0] == r and (kind == "outreach") == (k[1] ==
                          "outreach@trust.example") for k in pairs)]
    print(f"\nemails stored: {len(messages)}; SMTP transactions: "
          f"{len(platform.mailbox.transactions())} (a repeat is a resend after a kill, "
          "with the same Message-ID, kept once by the mailbox)")
    assert not missing, f"{len(missing)} emails missing, e.g. {missing[:3]}"
    assert len(messages) == 2 * REFERRALS
    assert max(pairs.values()) == 1, [k for k, v in pairs.items() if v > 1][:3]
