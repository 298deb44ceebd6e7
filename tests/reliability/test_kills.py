"""Kills under load (issue 17), on the test's own broker: notify is SIGKILLed
mid-stream four times and referrals twice while schools keep submitting, each
POST retried with its Idempotency-Key until it is answered. Afterwards every
referral exists once, has its two emails once, and the figure of messages sent
twice on the wire (same Message-ID, kept once by the mailbox) is reported."""

import os
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.reliability.helpers import count_emails, onboard, submitter

REFERRALS = 200
KILLS = {30: "notify", 60: "referrals", 90: "notify", 120: "notify", 150: "referrals",
         170: "notify"}


def kill(platform, service):
    proc = platform.procs[service]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    platform.start_service(service)


@pytest.mark.serial
def test_kills_lose_nothing_duplicate_nothing_and_the_wire_figure(platform_on_own_broker):
    platform = platform_on_own_broker("pupils", "referrals", "notify",
                                      IDEMPOTENCY_INFLIGHT_SECONDS="10")
    token = onboard(platform)
    submit = submitter(platform, token)
    references = []
    with ThreadPoolExecutor(4) as pool:
        start = 0
        for stop in [*KILLS, REFERRALS]:
            batch = pool.map(submit, range(start, stop))
            if stop in KILLS and start:
                time.sleep(0.3)  # mid-stream
                kill(platform, KILLS[stop])
            references += batch
            start = stop
    for service in ("referrals", "notify"):
        platform.wait_ready(service, timeout=90)
    wait_until(lambda: len(platform.mailbox.messages()) >= 2 * REFERRALS, timeout=240,
               interval=1)
    time.sleep(3)
    db = Path(platform.env["SEN_VAR_DIR"]) / "db" / "referrals.sqlite3"
    with sqlite3.connect(db) as conn:
        stored_refs = [r for (r,) in conn.execute("SELECT reference FROM referrals")]
    stored = len(stored_refs)
    lost = references.count(None)  # took effect, answer lost with the killed process
    missing, twice, transactions, repeats = count_emails(platform, set(stored_refs))
    print(f"\nkills: {list(KILLS.values()).count('notify')} x notify, "
          f"{list(KILLS.values()).count('referrals')} x referrals; referrals posted: "
          f"{REFERRALS} (answers: {dict(submit.statuses)}), stored: {stored}; emails stored: "
          f"{len(platform.mailbox.messages())}; SMTP transactions: {transactions}; "
          f"sent twice on the wire: {repeats}; answers lost to a kill (409 answer-lost, "
          f"created once): {lost}")
    answered = [r for r in references if r is not None]
    assert len(set(answered)) == len(answered) == REFERRALS - lost
    assert set(answered) <= set(stored_refs)
    assert stored == REFERRALS  # a retried POST never made a second referral
    assert not missing, f"{len(missing)} emails missing, e.g. {missing[:3]}"
    assert twice == 0
