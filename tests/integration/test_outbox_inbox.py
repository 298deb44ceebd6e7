"""The outbox, the relay, the inbox and the dead-letter queue against a real
RabbitMQ, on SQLite and (where TEST_POSTGRES_URL is set) PostgreSQL."""

import json
import threading

import pytest
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError
from nameko.standalone.events import event_dispatcher
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import deadletters
from services.common.consumer import Permanent, subscribe
from services.common.db import DatabaseProvider, open_database
from services.common.outbox import OutboxRelay, Relay
from services.common.tables import platform_tables
from services.contracts import parse_event
from tests.conftest import wait_until
from tests.helpers import referral_submitted


class Base(DeclarativeBase):
    pass


platform_tables(Base.metadata)


class Seen(Base):
    __tablename__ = "seen"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(20))


FAILURES = {"remaining": 0, "permanent": False, "error": ConnectionError("database briefly away")}
_lock = threading.Lock()


class Listener:
    """A consumer service like any other, writing one row per event."""

    name = "listener"
    db = DatabaseProvider(Base.metadata)

    @subscribe("referrals", "referral.submitted")
    def on_submitted(self, event, uow):
        with _lock:
            if FAILURES["permanent"]:
                raise Permanent("this school is not known here")
            if FAILURES["remaining"] > 0:
                FAILURES["remaining"] -= 1
                raise FAILURES["error"]
        uow.session.add(Seen(event_id=event["event_id"], reference=event["data"]["reference"]))


class Producer:
    name = "referrals"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()


@pytest.fixture(autouse=True)
def reset_failures():
    FAILURES.update(remaining=0, permanent=False,
                    error=ConnectionError("database briefly away"))


def make_db(service, engine_name, database_urls, tmp_path):
    if engine_name == "postgresql":
        from tests.conftest import _fresh_postgres
        url, name = _fresh_postgres(f"sen_{service}")
        created_pg.append(name)
    else:
        url = f"sqlite:///{tmp_path / service}.sqlite3"
    db = open_database(service, Base.metadata, url)
    Base.metadata.create_all(db.engine)
    return db


created_pg = []


@pytest.fixture
def dbs(engine_name, database_urls, tmp_path):
    producer = make_db("referrals", engine_name, database_urls, tmp_path)
    listener = make_db("listener", engine_name, database_urls, tmp_path)
    yield producer, listener
    from tests.conftest import _drop_postgres
    while created_pg:
        _drop_postgres(created_pg.pop())


def seen(db):
    with db.session() as s:
        return s.execute(select(func.count()).select_from(Seen)).scalar_one()


def emit_events(db, n):
    with db.unit_of_work() as uow:
        for i in range(n):
            uow.emit("referral.submitted", referral_submitted(reference=f"REF-AAAA-{i:04d}")["data"],
                     org_id="school-1", actor="test")


def test_events_left_in_the_outbox_by_a_crash_are_published(
        dbs, rabbit_config, container_factory):
    producer_db, listener_db = dbs
    # The producer committed 5 events and "crashed" before publishing any.
    emit_events(producer_db, 5)
    assert Relay(producer_db).backlog() == 5

    listener = container_factory(Listener, config={"LISTENER_DATABASE_URL": listener_db.url})
    listener.start()
    producer = container_factory(Producer, config={"REFERRALS_DATABASE_URL": producer_db.url})
    producer.start()  # its relay finds the stranded rows on start

    assert wait_until(lambda: seen(listener_db) == 5)
    assert Relay(producer_db).backlog() == 0


def test_relay_failure_keeps_events_for_the_next_pass(dbs, rabbit_config, rabbit_uri):
    from opentelemetry import trace

    from services.common import tracing
    tracing.setup()  # the process's tracer provider, as a service has (run alone, none is)
    producer_db, _ = dbs
    with trace.get_tracer("test").start_as_current_span("POST /api/v1/referrals") as span:
        emit_events(producer_db, 3)
        trace_id = format(span.get_span_context().trace_id, "032x")
    broken = Relay(producer_db, amqp_uri="amqp://guest:guest@127.0.0.1:1/")
    with pytest.raises(OperationalError):  # connection refused
        broken.publish_pending()
    assert broken.backlog() == 3

    relay = Relay(producer_db, amqp_uri=rabbit_uri)
    probe = Queue("probe", Exchange("referrals.events", type="topic", durable=True),
                  routing_key="referral.submitted", durable=True)
    with Connection(rabbit_uri) as conn:
        probe(conn.default_channel).declare()
        assert relay.publish_pending() == 3
        relay.close()
        bodies = []
        simple = conn.SimpleQueue(probe)
        for _ in range(3):
            msg = simple.get(timeout=5)
            bodies.append(json.loads(msg.body))
            # W3C trace context of the request that wrote the event
            assert msg.headers["traceparent"].split("-")[1] == trace_id
            assert msg.headers["nameko.traceparent"] == msg.headers["traceparent"]
            assert msg.properties["delivery_mode"] == 2
            msg.ack()
        simple.close()
    # every published event validates against its schema
    assert sorted(parse_event(b)["data"]["reference"] for b in bodies) == [
        "REF-AAAA-0000", "REF-AAAA-0001", "REF-AAAA-0002"]
    assert relay.backlog() == 0


def test_redelivered_event_changes_nothing(dbs, rabbit_config, container_factory):
    _, listener_db = dbs
    listener = container_factory(Listener, config={"LISTENER_DATABASE_URL": listener_db.url})
    listener.start()
    event = referral_submitted()
    dispatch = event_dispatcher()
    for _ in range(3):
        dispatch("referrals", "referral.submitted", event)
    other = referral_submitted(reference="REF-BBBB-0001")
    dispatch("referrals", "referral.submitted", other)
    assert wait_until(lambda: seen(listener_db) == 2)
    with listener_db.session() as s:
        inbox = s.execute(select(func.count()).select_from(listener_db.inbox)).scalar_one()
    assert inbox == 2


def test_transient_failure_is_retried_then_succeeds(dbs, rabbit_config, container_factory):
    _, listener_db = dbs
    FAILURES["remaining"] = 2  # HANDLER_MAX_ATTEMPTS is 3 in tests
    container_factory(Listener, config={"LISTENER_DATABASE_URL": listener_db.url}).start()
    event_dispatcher()("referrals", "referral.submitted", referral_submitted())
    assert wait_until(lambda: seen(listener_db) == 1)
    assert deadletters.list_dead_letters("listener") == []


def test_handler_that_keeps_failing_is_dead_lettered_with_reason_and_replayed(
        dbs, rabbit_config, rabbit_uri, container_factory):
    _, listener_db = dbs
    FAILURES["remaining"] = 10**6
    FAILURES["error"] = RuntimeError("a bug in the handler")  # retrying cannot fix it
    container_factory(Listener, config={"LISTENER_DATABASE_URL": listener_db.url}).start()
    event = referral_submitted()
    event_dispatcher()("referrals", "referral.submitted", event)

    letters = wait_until(lambda: deadletters.list_dead_letters("listener"), timeout=10)
    assert len(letters) == 1
    letter = letters[0]
    assert letter["event_id"] == event["event_id"]
    assert letter["handler"] == "listener.on_submitted"
    assert "RuntimeError: a bug in the handler" in letter["reason"]
    assert letter["kind"] == "exhausted" and not letter["transient"]
    assert "failed after 3 attempts" in letter["reason"]
    assert seen(listener_db) == 0
    # listing does not consume
    assert len(deadletters.list_dead_letters("listener")) == 1

    FAILURES["remaining"] = 0  # the cause is fixed; the operator replays
    replayed = deadletters.replay_dead_letters("listener")
    assert [r["event_id"] for r in replayed] == [event["event_id"]]
    assert wait_until(lambda: seen(listener_db) == 1)
    assert deadletters.list_dead_letters("listener") == []


def test_poison_messages_go_straight_to_the_dead_letter_queue(
        dbs, rabbit_config, container_factory):
    _, listener_db = dbs
    container_factory(Listener, config={"LISTENER_DATABASE_URL": listener_db.url}).start()
    dispatch = event_dispatcher()
    dispatch("referrals", "referral.submitted", {"hello": "world"})
    broken = referral_submitted()
    broken["data"]["contact"]["email"] = "not an email"
    dispatch("referrals", "referral.submitted", broken)
    FAILURES["permanent"] = True
    dispatch("referrals", "referral.submitted", referral_submitted())

    letters = wait_until(lambda: len(deadletters.list_dead_letters("listener")) == 3 and
                         deadletters.list_dead_letters("listener"), timeout=10)
    reasons = sorted(letter["reason"] for letter in letters)
    assert reasons[0].startswith("Permanent: this school is not known here")
    assert all(r.startswith("invalid event") for r in reasons[1:])
    assert "email" in " ".join(reasons)
    assert seen(listener_db) == 0
