"""A database fault of 30 s under load (issue 17), on the test's own broker:
notify's PostgreSQL database refuses every connection (existing ones are cut)
for 30 s while referrals keep coming. Transient faults are redelivered later,
not dead-lettered: afterwards nothing is in the dead-letter queue and every
email has been delivered, once."""

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from services.common import deadletters
from services.common.migrations import upgrade
from tests.conftest import wait_until
from tests.reliability.helpers import Watch, count_emails, onboard, submitter

FAULT_SECONDS = 30
PRODUCTION_DELAYS = "1,2,5,10,20,30,60,60,60,120,120"


@pytest.fixture
def notify_postgres():
    admin = os.environ.get("TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("needs TEST_POSTGRES_URL")
    name = f"sen_notify_fault_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    upgrade("notify", url)

    def fault(on):
        with engine.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS '
                                 f'{"false" if on else "true"}'))
            if on:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :n"), {"n": name})

    yield url, fault
    with engine.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.mark.serial
def test_a_30_second_database_fault_dead_letters_nothing(platform_on_own_broker, rabbit_node,
                                                         notify_postgres):
    url, fault = notify_postgres
    platform = platform_on_own_broker("pupils", "referrals", "notify",
                                      NOTIFY_DATABASE_URL=url,
                                      HANDLER_RETRY_DELAYS=PRODUCTION_DELAYS,
                                      HANDLER_MAX_ATTEMPTS="5",
                                      HANDLER_BACKOFF_SECONDS="0.5")
    token = onboard(platform)
    submit = submitter(platform, token)
    references = []
    with Watch(platform) as watch, ThreadPoolExecutor(4) as pool:
        references += pool.map(submit, range(0, 20))
        fault(True)
        started = time.monotonic()
        i = 20
        while time.monotonic() - started < FAULT_SECONDS:  # intake goes on meanwhile
            references += pool.map(submit, range(i, i + 4))
            i += 4
            time.sleep(1)
        fault(False)
        references += pool.map(submit, range(i, i + 20))
        wait_until(lambda: len(platform.mailbox.messages()) >= 2 * len(references),
                   timeout=300, interval=1)
        time.sleep(3)
    assert watch.exits == [], watch.exits
    missing, twice, transactions, repeats = count_emails(platform, set(references))
    letters = deadletters.list_dead_letters("notify", amqp_uri=rabbit_node.amqp_uri)
    log = (platform.logs / "notify.log").read_text()
    print(f"\ndatabase fault: {FAULT_SECONDS}s; referrals: {len(references)}; emails stored: "
          f"{len(platform.mailbox.messages())}; SMTP transactions: {transactions}; "
          f"repeats on the wire: {repeats}; delayed redeliveries scheduled: "
          f"{log.count('redelivery ')}; dead letters: {len(letters)}")
    assert not missing, f"{len(missing)} emails missing, e.g. {missing[:3]}"
    assert twice == 0
    assert letters == []
    assert "redelivery " in log  # the fault was met, and ridden out by redelivery
