"""The consumer's edges against a real RabbitMQ (issue 17): undecodable
messages, invalid and unknown-version events, transient faults redelivered
later, and a lossless dead-letter replay."""

import json
import logging

import amqp
import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher

from services.common import deadletters
from services.common.consumer import queue_name
from tests.conftest import wait_until
from tests.helpers import referral_submitted
from tests.integration.test_outbox_inbox import FAILURES, Listener, dbs, seen  # noqa: F401

QUEUE = queue_name("referrals", "referral.submitted", "listener", "on_submitted")
SECRET = "Jo Smith lives at 1 Secret Lane"


@pytest.fixture(autouse=True)
def reset_failures():
    FAILURES.update(remaining=0, permanent=False,
                    error=ConnectionError("database briefly away"))


@pytest.fixture
def listener(dbs, rabbit_config, container_factory):  # noqa: F811
    _, listener_db = dbs
    container = container_factory(Listener, config={"LISTENER_DATABASE_URL": listener_db.url})
    container.start()
    return listener_db


def publish_raw(uri, body, content_type, content_encoding=None, headers=None,
                exchange="referrals.events", routing_key="referral.submitted"):
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        props = {"content_type": content_type}
        if content_encoding:
            props["content_encoding"] = content_encoding
        channel.basic_publish(amqp.Message(body, application_headers=headers or {}, **props),
                              exchange=exchange, routing_key=routing_key)
        channel.close()


def raw_dead_letters(uri, service="listener"):
    """The DLQ's messages as they are, without removing them."""
    out = []
    with Connection(uri) as conn:
        channel = conn.channel()
        while True:
            m = channel.basic_get(f"dlq.{service}", no_ack=False)
            if m is None:
                break
            out.append(m)
        channel.close()
    return out


def letters(n, timeout=15):
    return wait_until(lambda: len(deadletters.list_dead_letters("listener")) >= n and
                      deadletters.list_dead_letters("listener"), timeout=timeout) or []


def test_undecodable_messages_are_dead_lettered_whole_and_never_logged(
        listener, rabbit_uri, caplog):
    caplog.set_level(logging.DEBUG)
    sent = [
        (b'{"not json": ' + SECRET.encode(), "application/json", "utf-8"),
        (b'{"name": "\xff\xfe' + SECRET.encode() + b'"}', "application/json", "utf-8"),
        (SECRET.encode(), "text/plain", "utf-8"),
        (SECRET.encode(), "application/x-yaml", None),
    ]
    for body, ctype, enc in sent:
        publish_raw(rabbit_uri, body, ctype, enc, headers={"traceparent": "00-abc-def-01"})
    found = letters(4)
    assert len(found) == 4
    assert {f["kind"] for f in found} == {"undecodable"}
    assert all(f["queue"] == QUEUE and f["handler"] == "listener.on_submitted" for f in found)
    assert all(f["reason"].startswith("undecodable:") for f in found)
    raw = raw_dead_letters(rabbit_uri)
    assert sorted((deadletters.as_bytes(m.body, m.properties.get("content_encoding")),
                   m.properties.get("content_type")) for m in raw) == sorted(
        (b, c) for b, c, _ in sent)
    assert all(m.headers["traceparent"] == "00-abc-def-01" for m in raw)
    # nothing of a body in the logs, and nothing handled
    assert "Secret Lane" not in caplog.text and "\\xff" not in caplog.text
    assert seen(listener) == 0
    # no consumer can ever decode them: replay refuses and keeps them
    results = deadletters.replay_dead_letters("listener")
    assert [r["action"] for r in results] == ["refused"] * 4
    assert len(deadletters.list_dead_letters("listener")) == 4


def test_invalid_and_unknown_version_events_are_dead_lettered_as_invalid(listener):
    dispatch = event_dispatcher()
    dispatch("referrals", "referral.submitted", {"hello": "world"})
    # A newer version is read with the newest schema we know (issue 16: unknown fields
    # are ignored); one that broke it (a required field gone) is invalid.
    future = referral_submitted()
    future["version"] = 99
    del future["data"]["areas_of_need"]
    dispatch("referrals", "referral.submitted", future)
    found = letters(2)
    assert len(found) == 2 and {f["kind"] for f in found} == {"invalid"}
    assert any(f["event_id"] == future["event_id"] for f in found)
    assert seen(listener) == 0


def test_a_transient_fault_is_redelivered_later_not_dead_lettered(listener, rabbit_uri):
    # 2 quick tries, then delayed redeliveries (0.3 s, 0.6 s in tests): the 5th try works
    FAILURES["remaining"] = 4
    event_dispatcher()("referrals", "referral.submitted", referral_submitted())
    assert wait_until(lambda: seen(listener) == 1, timeout=15)
    assert deadletters.list_dead_letters("listener") == []


def test_a_transient_fault_that_outlasts_the_schedule_is_marked_and_replayed_with_transient(
        listener, rabbit_uri):
    FAILURES["remaining"] = 10**6
    event = referral_submitted()
    event_dispatcher()("referrals", "referral.submitted", event)
    FAILURES_permanent = referral_submitted(reference="REF-BBBB-0002")
    found = letters(1)
    assert len(found) == 1 and found[0]["kind"] == "transient" and found[0]["transient"]
    assert "outlasted 2 delayed redeliveries" in found[0]["reason"]
    # a permanent one next to it is not replayed by --transient
    FAILURES["permanent"] = True
    event_dispatcher()("referrals", "referral.submitted", FAILURES_permanent)
    assert len(letters(2)) == 2
    FAILURES.update(remaining=0, permanent=False)  # the fault clears
    dry = deadletters.replay_dead_letters("listener", transient_only=True, dry_run=True)
    assert [(d["action"], d["event_id"]) for d in dry] == [("would replay", event["event_id"])]
    assert len(deadletters.list_dead_letters("listener")) == 2  # a dry run changes nothing
    done = deadletters.replay_dead_letters("listener", transient_only=True)
    assert [(d["action"], d["to"]) for d in done] == [("replayed", QUEUE)]
    assert wait_until(lambda: seen(listener) == 1)
    left = deadletters.list_dead_letters("listener")
    assert [x["kind"] for x in left] == ["permanent"]


def test_replay_takes_only_what_was_there_keeps_properties_and_acks_after_confirm(
        listener, rabbit_uri):
    FAILURES["permanent"] = True  # everything replayed fails again during the run
    events = [referral_submitted(reference=f"REF-CCCC-{i:04d}") for i in range(3)]
    for e in events:
        publish_raw(rabbit_uri, json.dumps(e).encode(), "application/json", "utf-8",
                    headers={"traceparent": "00-trace-span-01", "x-custom": "kept"},
                    )
    assert len(letters(3)) == 3
    results = deadletters.replay_dead_letters("listener")
    assert len(results) == 3 and {r["action"] for r in results} == {"replayed"}
    # what failed again during the run came back once each, and nothing was lost
    assert len(letters(3)) == 3
    wait_until(lambda: False, timeout=1)
    raw = raw_dead_letters(rabbit_uri)
    assert len(raw) == 3
    assert sorted(json.loads(m.body)["event_id"] for m in raw) == sorted(
        e["event_id"] for e in events)
    for m in raw:
        assert m.properties["content_type"] == "application/json"
        assert m.headers["traceparent"] == "00-trace-span-01" and m.headers["x-custom"] == "kept"
        assert m.headers["x-kind"] == "permanent"


def test_replay_refuses_a_queue_that_does_not_exist_and_keeps_the_letter(listener, rabbit_uri):
    deadletters.dead_letter("listener", body={"x": 1}, queue="no.such.queue",
                            handler="listener.gone", reason="Permanent: gone", kind="permanent")
    results = deadletters.replay_dead_letters("listener")
    assert [r["action"] for r in results] == ["refused"]
    assert "does not exist" in results[0]["why"]
    assert len(deadletters.list_dead_letters("listener")) == 1


def test_a_broker_dead_letter_is_replayed_to_its_first_queue(listener, rabbit_uri):
    event = referral_submitted()
    assert deadletters.list_dead_letters("listener") == []  # declares dlq.listener
    # as the broker writes it when a delivery limit is reached (the k8s policy)
    publish_raw(rabbit_uri, json.dumps(event).encode(), "application/json", "utf-8",
                headers={"x-first-death-queue": QUEUE, "x-first-death-reason": "delivery_limit",
                         "x-death": [{"queue": QUEUE, "reason": "delivery_limit",
                                      "routing-keys": ["referral.submitted"]}]},
                exchange="", routing_key="dlq.listener")
    [letter] = deadletters.list_dead_letters("listener")
    assert letter["kind"] == "broker"
    results = deadletters.replay_dead_letters("listener")
    assert [(r["action"], r["to"]) for r in results] == [("replayed", QUEUE)]
    assert wait_until(lambda: seen(listener) == 1)
    assert deadletters.list_dead_letters("listener") == []
