"""A broker stop while the services are busy (issue 17), on the test's own
RabbitMQ node: no service exits, intake stays up and ready (the outbox keeps
the events), and afterwards every referral has its two emails, none twice."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from services.common import deadletters
from tests.conftest import wait_until
from tests.reliability.helpers import Watch, count_emails, onboard, submitter

REFERRALS = 150
STOPS = (40, 100)  # after this many referrals, the broker stops for OUTAGE seconds
OUTAGE = 8


@pytest.mark.serial
def test_broker_stops_while_busy_kill_no_service(platform_on_own_broker, rabbit_node):
    platform = platform_on_own_broker("pupils", "referrals", "notify")
    token = onboard(platform)
    submit = submitter(platform, token)
    references, ready_during_outage = [], []
    with Watch(platform) as watch, ThreadPoolExecutor(4) as pool:
        start = 0
        for stop in [*STOPS, REFERRALS]:
            references += pool.map(submit, range(start, stop))
            start = stop
            if stop in STOPS:
                time.sleep(0.2)  # notify busy sending the last batch
                rabbit_node.stop_app()
                # intake works without the broker, and every service stays ready
                references += pool.map(submit, range(10_000 + stop, 10_000 + stop + 10))
                for service in platform.services:
                    ready_during_outage.append(requests.get(
                        platform.url(service) + "/health/ready", timeout=5).status_code)
                time.sleep(OUTAGE)
                rabbit_node.start_app()
        wait_until(lambda: len(platform.mailbox.messages()) >= 2 * len(references),
                   timeout=180, interval=1)
        time.sleep(3)  # anything late would show up as an extra message
    assert watch.exits == [], watch.exits
    assert set(ready_during_outage) == {200}
    missing, twice, transactions, repeats = count_emails(platform, set(references))
    print(f"\nbroker stops: {len(STOPS)} x {OUTAGE}s; referrals: {len(references)}; "
          f"emails stored: {len(platform.mailbox.messages())}; SMTP transactions: "
          f"{transactions}; repeats on the wire: {repeats}; service exits: 0")
    assert not missing, f"{len(missing)} emails missing, e.g. {missing[:3]}"
    assert twice == 0
    for service in ("pupils", "notify", "referrals"):
        assert deadletters.list_dead_letters(service, amqp_uri=rabbit_node.amqp_uri) == []
