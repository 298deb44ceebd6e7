"""Part 1: the event pipeline, against raw kombu on the same broker.

Platform pipeline, N events:

    unit of work (uow.emit, BATCH events per transaction)      -> outbox table
    services.common.outbox.Relay.publish_pending() until drained -> RabbitMQ (confirms)
    nameko container, @subscribe("referrals", "referral.submitted")
        (inbox claim + one row per event, in the consumer's own database)

It runs twice:
  * staged: each step alone, so each has its own rate: write all N, then
    relay them all (the consumer's queue fills), then start the consumer and
    let it drain the queue;
  * pipelined: consumer running, writer and relay in concurrent greenthreads
    (as a service's OutboxRelay runs beside its entrypoints); end to end is
    first write to the consumer's last commit.

Raw kombu, N messages of the same body to a durable queue of the same type,
through a topic exchange, published then consumed (prefetch as the platform's):
once with publisher confirms, once without.

Everything runs in one process on one eventlet hub, like a nameko service.
"""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import eventlet
from kombu import Connection, Exchange, Queue
from nameko import config
from nameko.containers import ServiceContainer
from sqlalchemy import MetaData, String, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import messaging, settings, topology
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, open_database, utcnow
from services.common.outbox import Relay
from services.common.tables import UTCDateTime, platform_tables
from services.contracts import make_event

from .infra import cpu_seconds, table

SOURCE = "referrals"  # the producing service: exchange referrals.events
EVENT_TYPE = "referral.submitted"
ORG_ID = "00000000-0000-4000-8000-00000000be01"
SINK = "bench_sink"


# -- the consumer: a bench-only service with its own database ---------------------------

class SinkBase(DeclarativeBase):
    pass


platform_tables(SinkBase.metadata)


class ReceivedReferral(SinkBase):
    __tablename__ = "bench_received_referrals"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Tally:
    """When the consumer's units of work committed (after_commit hook)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.count = 0
        self.first = self.last = None

    def committed(self):
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1


TALLY = Tally()


class BenchSink:
    name = SINK
    db = DatabaseProvider(SinkBase.metadata)

    @subscribe(SOURCE, EVENT_TYPE)
    def on_referral_submitted(self, event, uow):
        uow.session.add(ReceivedReferral(event_id=event["event_id"],
                                         referral_id=event["data"]["referral_id"],
                                         received_at=utcnow()))
        uow.after_commit(TALLY.committed)


# The producer's database: just the platform tables (outbox, inbox).
PRODUCER_METADATA = MetaData()
platform_tables(PRODUCER_METADATA)


def event_data(i):
    """Data of one referral.submitted, as the referrals service emits it."""
    return {
        "referral_id": str(uuid.uuid4()),
        "reference": f"REF-{i // 10000 % 10000:04d}-{i % 10000:04d}",
        "school_org_id": ORG_ID,
        "contact": {"name": "Alex Example", "email": "senco@riverside.example"},
        "areas_of_need": ["communication_and_interaction", "cognition_and_learning"],
        "submitted_at": utcnow().isoformat(),
    }


def sample_body():
    return json.dumps(make_event(EVENT_TYPE, event_data(0), org_id=ORG_ID, actor="bench"))


# -- databases: SQLite files, or schemas of one PostgreSQL database ----------------------

class Databases:
    """Hands out fresh database URLs, one per (backend, pass, role)."""

    def __init__(self, workdir, postgres_url=None):
        self.workdir = workdir
        self.postgres_url = postgres_url
        self._schemas = []
        self._tag = uuid.uuid4().hex[:6]

    def url(self, backend, name):
        if backend == "sqlite":
            return f"sqlite:///{self.workdir}/{name}.sqlite3"
        schema = f"bench_{self._tag}_{name}".replace("-", "_")
        engine = create_engine(self.postgres_url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        self._schemas.append(schema)
        return make_url(self.postgres_url).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

    def drop(self):
        if not self._schemas:
            return
        engine = create_engine(self.postgres_url)
        with engine.begin() as conn:
            for schema in self._schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        self._schemas.clear()


# -- the steps ------------------------------------------------------------------------

def write_events(db, n, batch, deadline):
    """Emit n events through units of work, `batch` per transaction."""
    for start in range(0, n, batch):
        deadline.check("writing events to the outbox")
        with db.unit_of_work() as uow:
            for i in range(start, min(n, start + batch)):
                uow.emit(EVENT_TYPE, event_data(i), org_id=ORG_ID, actor="bench")
        eventlet.sleep(0)  # let the relay and consumer greenthreads in between batches


def relay_until_drained(relay, deadline, writer_done=lambda: True):
    """publish_pending() until the writer is done and nothing is left."""
    published = 0
    while True:
        done = writer_done()  # read before the pass, so a last batch is not missed
        sent = relay.publish_pending()
        published += sent
        deadline.check("relaying the outbox")
        if sent == 0:
            if done:
                return published
            eventlet.sleep(0.002)


def start_sink(db_url):
    """Start the bench consumer container on `db_url`; return (container, patch)."""
    patch = config.patch({f"{SINK.upper()}_DATABASE_URL": db_url})
    patch.start()
    container = ServiceContainer(BenchSink)
    container.start()
    return container, patch


def stop_sink(container, patch):
    try:
        container.stop()
    finally:
        patch.stop()


def wait_consumed(n, deadline, what):
    deadline.wait_until(lambda: TALLY.count >= n, what)


def prepare(databases, backend, label):
    producer_url = databases.url(backend, f"producer_{label}")
    sink_url = databases.url(backend, f"sink_{label}")
    producer = open_database(SOURCE, PRODUCER_METADATA, producer_url)
    PRODUCER_METADATA.create_all(producer.engine)
    sink = open_database(SINK, SinkBase.metadata, sink_url)
    SinkBase.metadata.create_all(sink.engine)
    return producer, sink


def check_arrived(producer, sink, relay, n, amqp_uri):
    """Sanity: every event published once, received once, nothing dead-lettered."""
    problems = []
    backlog = relay.backlog()
    if backlog:
        problems.append(f"{backlog} events left in the outbox")
    with sink.session() as s:
        rows = s.execute(select(func.count()).select_from(ReceivedReferral)).scalar_one()
        claims = s.execute(select(func.count()).select_from(sink.inbox)).scalar_one()
    if rows != n or claims != n:
        problems.append(f"consumer has {rows} rows and {claims} inbox claims, expected {n}")
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        dlq = messaging.dead_letter_queue(SINK)(channel)
        _, dead, _ = dlq.queue_declare(passive=True)
        channel.close()
    if dead:
        problems.append(f"{dead} events dead-lettered")
    if problems:
        raise AssertionError("; ".join(problems))


@dataclass
class PipelineFigures:
    backend: str
    n: int
    write_s: float = 0.0
    relay_s: float = 0.0
    consume_s: float = 0.0
    e2e_s: float = 0.0  # pipelined: first write to last consumer commit
    write_cpu: float = 0.0  # CPU seconds of this process during each step
    relay_cpu: float = 0.0
    consume_cpu: float = 0.0
    e2e_cpu: float = 0.0
    pipelined_write_s: float = 0.0
    pipelined_relay_s: float = 0.0


def run_staged(fig, producer, sink, amqp_uri, batch, deadline):
    relay = Relay(producer, amqp_uri)
    relay._ensure_producer()  # connect before the clock starts, as a running service has
    c0, t0 = cpu_seconds(), time.perf_counter()
    write_events(producer, fig.n, batch, deadline)
    c1, t1 = cpu_seconds(), time.perf_counter()
    relay_until_drained(relay, deadline)
    c2, t2 = cpu_seconds(), time.perf_counter()
    fig.write_s, fig.relay_s = t1 - t0, t2 - t1
    fig.write_cpu, fig.relay_cpu = c1 - c0, c2 - c1

    TALLY.reset()
    container, patch = start_sink(sink.url)
    try:
        c3, t3 = cpu_seconds(), time.perf_counter()  # start() returns once it consumes
        wait_consumed(fig.n, deadline, "the consumer drained the queue (staged)")
        fig.consume_s, fig.consume_cpu = TALLY.last - t3, cpu_seconds() - c3
    finally:
        stop_sink(container, patch)
    check_arrived(producer, sink, relay, fig.n, amqp_uri)
    relay.close()


def run_pipelined(fig, producer, sink, amqp_uri, batch, deadline):
    relay = Relay(producer, amqp_uri)
    relay._ensure_producer()  # connect before the clock starts, as a running service has
    TALLY.reset()
    container, patch = start_sink(sink.url)
    try:
        writer_end = []
        c0, t0 = cpu_seconds(), time.perf_counter()

        def writer():
            write_events(producer, fig.n, batch, deadline)
            writer_end.append(time.perf_counter())

        gt = eventlet.spawn(writer)
        relay_until_drained(relay, deadline, writer_done=lambda: bool(writer_end))
        t_relayed = time.perf_counter()
        gt.wait()
        wait_consumed(fig.n, deadline, "the consumer caught up (pipelined)")
        fig.e2e_s, fig.e2e_cpu = TALLY.last - t0, cpu_seconds() - c0
        fig.pipelined_write_s = writer_end[0] - t0
        fig.pipelined_relay_s = t_relayed - t0
    finally:
        stop_sink(container, patch)
    check_arrived(producer, sink, relay, fig.n, amqp_uri)
    relay.close()


def run_platform(backend, databases, amqp_uri, n, batch, deadline):
    fig = PipelineFigures(backend=backend, n=n)
    producer, sink = prepare(databases, backend, "staged")
    run_staged(fig, producer, sink, amqp_uri, batch, deadline)
    producer, sink = prepare(databases, backend, "pipelined")
    run_pipelined(fig, producer, sink, amqp_uri, batch, deadline)
    return fig


# -- raw kombu ------------------------------------------------------------------------

@dataclass
class KombuFigures:
    confirms: bool
    n: int
    publish_s: float = 0.0
    consume_s: float = 0.0
    publish_cpu: float = 0.0
    consume_cpu: float = 0.0


def run_kombu(amqp_uri, body, n, confirms, prefetch, deadline):
    fig = KombuFigures(confirms=confirms, n=n)
    exchange = Exchange("bench.raw", type="topic", durable=True, delivery_mode=2)
    queue = Queue(f"bench.raw.{'confirms' if confirms else 'noconfirms'}", exchange=exchange,
                  routing_key=EVENT_TYPE, durable=True, auto_delete=False,
                  queue_arguments=messaging.queue_arguments())
    options = {"confirm_publish": True} if confirms else {}
    with Connection(amqp_uri, transport_options=options) as conn:
        producer = conn.Producer()
        bound = queue(producer.channel)
        bound.declare()
        c0, t0 = cpu_seconds(), time.perf_counter()
        for i in range(n):
            producer.publish(body, exchange=exchange, routing_key=EVENT_TYPE,
                             content_type="application/json", content_encoding="utf-8",
                             delivery_mode=2, message_id=str(i), retry=False)
        fig.publish_s, fig.publish_cpu = time.perf_counter() - t0, cpu_seconds() - c0

        received = 0

        def on_message(_body, message):
            nonlocal received
            received += 1
            message.ack()

        channel = conn.channel()
        consumer = conn.Consumer(queue, channel=channel, callbacks=[on_message],
                                 accept=["application/json"])
        consumer.qos(prefetch_count=prefetch)
        c1, t1 = cpu_seconds(), time.perf_counter()
        with consumer:
            while received < n:
                deadline.check(f"consuming raw kombu messages ({received}/{n})")
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
        fig.consume_s, fig.consume_cpu = time.perf_counter() - t1, cpu_seconds() - c1
        bound.delete()
        channel.close()
    return fig


# -- the whole part -------------------------------------------------------------------

@dataclass
class Part1:
    n: int
    batch: int
    body_bytes: int
    queue_type: str
    prefetch: int
    max_workers: int
    platform: list
    kombu: list


def run(amqp_uri, n, batch, workdir, deadline, postgres_url=None, say=print):
    body = sample_body()
    prefetch = settings.get_int("PREFETCH_COUNT")
    queues = topology.declare(BenchSink, amqp_uri)  # as `senctl migrate` does
    say(f"  declared {', '.join(queues)}")
    databases = Databases(workdir, postgres_url)
    platform, kombu = [], []
    try:
        for backend in ["sqlite"] + (["postgresql"] if postgres_url else []):
            say(f"  platform pipeline on {backend}: {n} events, staged then pipelined ...")
            platform.append(run_platform(backend, databases, amqp_uri, n, batch, deadline))
        for confirms in (True, False):
            say(f"  raw kombu {'with' if confirms else 'without'} confirms: {n} messages ...")
            kombu.append(run_kombu(amqp_uri, body, n, confirms, prefetch, deadline))
    finally:
        databases.drop()
    return Part1(n=n, batch=batch, body_bytes=len(body.encode()),
                 queue_type=settings.get("QUEUE_TYPE"), prefetch=prefetch,
                 max_workers=int(config.get("max_workers") or 10),
                 platform=platform, kombu=kombu)


def report(part):
    n = part.n
    k_conf, k_plain = part.kombu

    def ms(cpu):
        return cpu * 1000 / n

    def ratio(rate, base):
        return f"{rate / base:.2f}x"

    kc = n / (k_conf.publish_s + k_conf.consume_s)
    kp = n / (k_plain.publish_s + k_plain.consume_s)
    kc_pub, kp_pub = n / k_conf.publish_s, n / k_plain.publish_s
    kc_con, kp_con = n / k_conf.consume_s, n / k_plain.consume_s
    rows = []
    for p in part.platform:
        tag = "" if len(part.platform) == 1 else f" [{p.backend}]"
        e2e, relay, consume = n / p.e2e_s, n / p.relay_s, n / p.consume_s
        rows += [
            (f"pipeline end-to-end (write, relay, consume concurrently){tag}", e2e, p.e2e_s,
             ms(p.e2e_cpu), ratio(e2e, kc), ratio(e2e, kp)),
            (f"  outbox write alone (uow.emit, {part.batch} per transaction){tag}",
             n / p.write_s, p.write_s, ms(p.write_cpu), None, None),
            (f"  relay publish alone (Relay.publish_pending, confirms){tag}", relay, p.relay_s,
             ms(p.relay_cpu), ratio(relay, kc_pub), ratio(relay, kp_pub)),
            (f"  consumer alone (nameko @subscribe, inbox, 1 row){tag}", consume, p.consume_s,
             ms(p.consume_cpu), ratio(consume, kc_con), ratio(consume, kp_con)),
        ]
    rows += [
        ("kombu with confirms: publish, then consume", kc,
         k_conf.publish_s + k_conf.consume_s, ms(k_conf.publish_cpu + k_conf.consume_cpu),
         None, None),
        ("  kombu publish, confirms", kc_pub, k_conf.publish_s, ms(k_conf.publish_cpu),
         None, None),
        ("  kombu consume", kc_con, k_conf.consume_s, ms(k_conf.consume_cpu), None, None),
        ("kombu without confirms: publish, then consume", kp,
         k_plain.publish_s + k_plain.consume_s, ms(k_plain.publish_cpu + k_plain.consume_cpu),
         None, None),
        ("  kombu publish, no confirms", kp_pub, k_plain.publish_s, ms(k_plain.publish_cpu),
         None, None),
        ("  kombu consume", kp_con, k_plain.consume_s, ms(k_plain.consume_cpu), None, None),
    ]
    lines = [
        f"Part 1: event pipeline, N = {n} events of {part.body_bytes} B, {part.queue_type} "
        f"queues, prefetch {part.prefetch}, consumer max_workers {part.max_workers}, "
        "all in this one process",
        "",
        table(("", "events/s", "seconds", "CPU ms/event", "vs kombu confirms",
               "vs kombu no confirms"), rows),
        "",
        "vs kombu: end-to-end against kombu's publish-then-consume, relay against kombu "
        "publish, consumer against kombu consume. CPU is this process's only (not RabbitMQ's).",
    ]
    for p in part.platform:
        lines.append(
            f"Pipelined [{p.backend}]: writer done at {p.pipelined_write_s:.2f} s, relay "
            f"drained at {p.pipelined_relay_s:.2f} s, last consumer commit at {p.e2e_s:.2f} s; "
            f"the staged steps summed take {p.write_s + p.relay_s + p.consume_s:.2f} s.")
    return "\n".join(lines)
