"""Poison of every kind on a real platform (issue 17), on the test's own broker:
undecodable bodies (not JSON, not UTF-8, text/plain, another content type), an
invalid event and an unknown version reach notify's queue. None kills a
service, none is logged, each is in the dead-letter queue with its reason and
original bytes; replay refuses what no consumer can decode, replays the rest
(which fail again and come back: nothing lost, nothing doubled), and a real
referral still gets its emails."""

import json
import subprocess
import sys

import amqp
import pytest
from kombu import Connection

from services.common import deadletters
from services.contracts import make_event
from tests.conftest import ROOT, wait_until
from tests.reliability.helpers import Watch, count_emails, onboard, submitter

SECRET = "Sam Taylor, 1 Secret Lane"


def publish(uri, body, content_type, content_encoding=None):
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        props = {"content_type": content_type, "delivery_mode": 2}
        if content_encoding:
            props["content_encoding"] = content_encoding
        channel.basic_publish(amqp.Message(body, **props), exchange="referrals.events",
                              routing_key="referral.submitted")
        channel.close()


@pytest.mark.serial
def test_poison_of_every_kind_is_dead_lettered_and_replay_loses_nothing(
        platform_on_own_broker, rabbit_node):
    platform = platform_on_own_broker("pupils", "referrals", "notify")
    uri = rabbit_node.amqp_uri
    token = onboard(platform)
    valid = make_event("referral.submitted", {
        "referral_id": "r-x", "reference": "REF-POIS-0001", "school_org_id": "s",
        "contact": {"name": SECRET, "email": "jo@riverside.example"},
        "areas_of_need": ["communication_and_interaction"],
        "submitted_at": "2026-11-24T09:00:00+00:00"}, org_id="s", actor="x")
    invalid = json.loads(json.dumps(valid))
    invalid["data"]["contact"]["email"] = SECRET
    future = json.loads(json.dumps(valid))
    future["version"] = 99  # a newer version that broke the schema: a required field gone
    del future["data"]["areas_of_need"]
    undecodable = [(b'{"contact": "' + SECRET.encode(), "application/json", "utf-8"),
                   (b'{"name": "\xff' + SECRET.encode() + b'"}', "application/json", "utf-8"),
                   (SECRET.encode(), "text/plain", "utf-8"),
                   (SECRET.encode(), "application/x-yaml", None)]
    with Watch(platform) as watch:
        for body, ctype, enc in undecodable:
            publish(uri, body, ctype, enc)
        for event in (invalid, future):
            publish(uri, json.dumps(event).encode(), "application/json", "utf-8")

        def letters():
            return deadletters.list_dead_letters("notify", amqp_uri=uri)
        found = wait_until(lambda: len(letters()) >= 6 and letters(), timeout=30)
        kinds = sorted(f["kind"] for f in found)
        assert kinds == ["invalid"] * 2 + ["undecodable"] * 4, kinds
        # a real referral still goes through, and every service is still up
        references = [submitter(platform, token)(i) for i in range(3)]
        wait_until(lambda: len(platform.mailbox.messages()) >= 6, timeout=60)
        missing, twice, _, _ = count_emails(platform, set(references))
        assert not missing and twice == 0

        dry = subprocess.run([sys.executable, "-m", "services.cli.senctl", "deadletters",
                              "replay", "notify", "--dry-run"], cwd=ROOT, env=platform.env,
                             capture_output=True, text=True, timeout=60)
        plan = [json.loads(line) for line in dry.stdout.splitlines()]
        assert sorted(p["action"] for p in plan) == ["refused"] * 4 + ["would replay"] * 2
        assert dry.returncode == 1 and "not replayed" in dry.stderr
        assert len(letters()) == 6  # a dry run changes nothing

        done = deadletters.replay_dead_letters("notify", amqp_uri=uri)
        assert sorted(d["action"] for d in done) == ["refused"] * 4 + ["replayed"] * 2
        # the replayed ones fail again and come back: 6 in all, each once
        wait_until(lambda: len(letters()) == 6 and all(
            f["kind"] in ("invalid", "undecodable") for f in letters()), timeout=30)
        again = letters()
        assert len(again) == 6
        assert sorted(f["event_id"] or "" for f in again) == sorted(
            f["event_id"] or "" for f in found)
    assert watch.exits == []
    for service in platform.services:
        assert "Secret Lane" not in (platform.logs / f"{service}.log").read_text()
    print(f"\npoison: {len(undecodable)} undecodable + 1 invalid + 1 unknown version; "
          f"dead letters: {len(again)}; replayed: 2; refused: 4; service exits: 0")
