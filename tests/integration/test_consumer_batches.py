"""The kit consumer handles what prefetch holds as one batch (issue 18): one
transaction for the batch, acks after its commit, one message's failure isolated
and handled alone (retried, then dead-lettered), the order of the messages kept,
a redelivered copy inside the same batch a no-op; a graceful stop mid-stream
leaves no committed message unacked and no after-commit step running."""

import time

import eventlet
import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import deadletters, topology
from services.common.consumer import Permanent, queue_name, subscribe
from services.common.db import DatabaseProvider, open_database
from services.common.tables import platform_tables
from services.contracts import events
from tests.conftest import wait_until
from tests.helpers import referral_submitted


class Base(DeclarativeBase):
    pass


platform_tables(Base.metadata)


class Arrival(Base):
    __tablename__ = "arrival"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))
    reference: Mapped[str] = mapped_column(String(20))


CALLS = []


class Batcher:
    name = "batcher"
    db = DatabaseProvider(Base.metadata)

    @subscribe(events.REFERRAL_SUBMITTED)
    def on_submitted(self, event, uow):
        reference = event["data"]["reference"]
        CALLS.append(reference)
        if reference.startswith("REF-POIS"):
            raise Permanent("poison for this test")
        if reference.startswith("REF-FLAK") and CALLS.count(reference) == 1:
            raise RuntimeError("fails once")
        uow.session.add(Arrival(event_id=event["event_id"], reference=reference))


QUEUE = queue_name("referrals", "referral.submitted", "batcher", "on_submitted")


@pytest.fixture
def batcher_db(engine_name, tmp_path):
    """The consumer's database: SQLite, and PostgreSQL where TEST_POSTGRES_URL is set."""
    CALLS.clear()
    name = None
    if engine_name == "postgresql":
        from tests.conftest import _fresh_postgres
        url, name = _fresh_postgres("sen_batcher")
    else:
        url = f"sqlite:///{tmp_path}/batcher.sqlite3"
    db = open_database("batcher", Base.metadata, url)
    Base.metadata.create_all(db.engine)
    yield db
    if name is not None:
        from tests.conftest import _drop_postgres
        _drop_postgres(name)


def arrivals(db):
    with db.session() as s:
        return list(s.execute(select(Arrival.reference).order_by(Arrival.seq)).scalars())


def queue_depth(uri):
    with Connection(uri) as conn:
        channel = conn.channel()
        _, ready, _ = channel.queue_declare(QUEUE, passive=True)
        channel.close()
    return ready


def test_a_batch_keeps_order_isolates_a_failure_and_ignores_a_copy(
        batcher_db, rabbit_config, rabbit_uri, container_factory):
    topology.declare(Batcher, rabbit_uri)  # as `senctl migrate`: the queue before the events
    dispatch = event_dispatcher()
    events = [referral_submitted(referral_id=f"r-{i}", reference=f"REF-BTCH-{i:04d}")
              for i in range(8)]
    events.insert(3, referral_submitted(referral_id="r-p", reference="REF-POIS-0001"))
    events.insert(6, referral_submitted(referral_id="r-f", reference="REF-FLAK-0001"))
    events.append(events[0])  # a redelivered copy in the same batch
    for event in events:
        dispatch("referrals", "referral.submitted", event)
    assert wait_until(lambda: queue_depth(rabbit_uri) == len(events))

    container_factory(Batcher, config={"BATCHER_DATABASE_URL": batcher_db.url}).start()
    expected = [e["data"]["reference"] for e in events
                if not e["data"]["reference"].startswith("REF-POIS")][:-1]
    assert wait_until(lambda: arrivals(batcher_db) == expected, timeout=20), \
        arrivals(batcher_db)
    letters = wait_until(lambda: deadletters.list_dead_letters("batcher"), timeout=10)
    assert [(x["kind"], x["event_id"]) for x in letters] == [
        ("permanent", events[3]["event_id"])]
    # the batch was rolled back once and each message handled alone: the flaky one
    # succeeded on its retry; every message acked, none left or redelivered later
    assert CALLS.count("REF-FLAK-0001") >= 2
    assert wait_until(lambda: queue_depth(rabbit_uri) == 0)
    with batcher_db.session() as s:
        inbox = s.execute(select(func.count()).select_from(batcher_db.inbox)).scalar_one()
    assert inbox == len(expected)


def test_a_clean_batch_is_one_transaction(batcher_db, rabbit_config, rabbit_uri,
                                          container_factory):
    topology.declare(Batcher, rabbit_uri)
    dispatch = event_dispatcher()
    events = [referral_submitted(referral_id=f"r-{i}", reference=f"REF-CLEN-{i:04d}")
              for i in range(6)]
    for event in events:
        dispatch("referrals", "referral.submitted", event)
    assert wait_until(lambda: queue_depth(rabbit_uri) == len(events))
    commits = []
    from sqlalchemy import event as sa_event
    sa_event.listen(batcher_db.engine, "commit", lambda conn: commits.append(1))
    container_factory(Batcher, config={"BATCHER_DATABASE_URL": batcher_db.url}).start()
    assert wait_until(lambda: len(arrivals(batcher_db)) == len(events), timeout=20)
    assert arrivals(batcher_db) == [e["data"]["reference"] for e in events]
    assert CALLS == [e["data"]["reference"] for e in events]  # each handled once
    assert len(commits) < len(events)  # batched: fewer commits than messages
    assert wait_until(lambda: queue_depth(rabbit_uri) == 0)


SENT = []


def send_later(uow, event):
    """Like notify: a row in the transaction, then a slow send after the commit."""
    reference = event["data"]["reference"]
    uow.session.add(Arrival(event_id=event["event_id"], reference=reference))

    def send():
        eventlet.sleep(0.05)  # an SMTP conversation
        SENT.append(reference)

    uow.after_commit(send)


class SlowSender(Batcher):
    @subscribe(events.REFERRAL_SUBMITTED)
    def on_submitted(self, event, uow):
        send_later(uow, event)


def test_a_graceful_stop_acks_every_committed_message_and_leaves_nothing_running(
        batcher_db, rabbit_config, rabbit_uri, container_factory):
    topology.declare(SlowSender, rabbit_uri)
    SENT.clear()
    dispatch = event_dispatcher()
    n = 200
    events_ = [referral_submitted(referral_id=f"r-{i}", reference=f"REF-STOP-{i:04d}")
               for i in range(n)]
    for event in events_:
        dispatch("referrals", "referral.submitted", event)
    assert wait_until(lambda: queue_depth(rabbit_uri) == n)
    config = {"BATCHER_DATABASE_URL": batcher_db.url}
    container = container_factory(SlowSender, config=config)
    container.start()
    assert wait_until(lambda: len(SENT) >= 30, timeout=20)
    container.stop()  # as SIGTERM does (nameko run)
    committed = arrivals(batcher_db)
    time.sleep(0.5)
    # nothing ran on after the stop, and every committed message's send happened once
    assert sorted(SENT) == sorted(committed)
    assert len(committed) < n  # stopped mid-stream
    # every committed message was acked before the connection closed: what is left
    # in the queue is exactly what was not committed
    assert wait_until(lambda: queue_depth(rabbit_uri) == n - len(committed), timeout=10), \
        (queue_depth(rabbit_uri), n - len(committed))

    container_factory(SlowSender, config=config).start()  # the restart
    assert wait_until(lambda: len(arrivals(batcher_db)) == n, timeout=30)
    assert wait_until(lambda: len(SENT) == n, timeout=10)
    time.sleep(0.5)
    assert sorted(SENT) == sorted(e["data"]["reference"] for e in events_)  # none twice
