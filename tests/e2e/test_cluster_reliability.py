"""A three-node RabbitMQ cluster of the test's own (tests/brokers.py): quorum
queues replicated on all three nodes, the services given all three addresses.
Mid-stream the node leading the queues is SIGKILLed; once it is back, a second
node is restarted. Every accepted referral gets its two emails, none twice, and
no service is restarted: they fail over to the other nodes by themselves."""

import threading
import time
from collections import Counter

import pytest

from tests.e2e.streams import Stream, onboard_school, print_figures, report

REFERRALS = 300


@pytest.mark.serial
@pytest.mark.timeout(900)
def test_referrals_survive_losing_the_queue_leader_and_a_node_restart(rabbit_nodes,
                                                                       platform_factory):
    cluster = rabbit_nodes(3)
    assert len(cluster.cluster_nodes()) == 3
    platform = platform_factory("pupils", "referrals", "notify", broker=cluster)
    assert platform.amqp_uri.count(";") == 2  # every service holds all three addresses

    queues = {name: q for name, q in _quorum_queues(cluster, platform.vhost).items()
              if name.startswith("evt-")}
    assert queues, "migrate declared no consumer queues"
    for name, q in queues.items():
        assert sorted(q["members"]) == sorted(n.nodename for n in cluster.nodes), name
    leaders = Counter(q["leader"] for q in queues.values())
    leader = cluster.node(leaders.most_common(1)[0][0])
    others = [n for n in cluster.nodes if n is not leader]
    pids = {s: p.pid for s, p in platform.procs.items()}

    school, token = onboard_school(platform)
    stream = Stream([platform.url("referrals")], token)
    first_after = {}

    def kill_leader():
        leader.stop(kill=True)
        killed, before = time.monotonic(), len(platform.mailbox.messages())

        def watch():  # how long until the emails flow again
            while len(platform.mailbox.messages()) <= before and time.monotonic() - killed < 120:
                time.sleep(0.1)
            first_after["seconds"] = time.monotonic() - killed
        threading.Thread(target=watch, daemon=True).start()

    def bring_back():
        leader.start().wait()

    def restart_second():
        others[0].stop()
        others[0].start().wait()

    references = stream.run(REFERRALS, {
        100: ("leader killed", kill_leader),
        180: ("leader back", bring_back),
        240: ("second restarted", restart_second),
    })
    figures = report(platform, references)
    killed_at = stream.events["leader killed"]

    # the services were never restarted: same processes, all still running
    for service, proc in platform.procs.items():
        assert proc.pid == pids[service] and proc.poll() is None, platform.log(service)
    after = _quorum_queues(cluster, platform.vhost)
    moved = sum(1 for name in queues if after[name]["leader"] != leader.nodename)
    print_figures("three-node cluster", figures,
                  first_email_after_leader_kill=first_after.get("seconds", float("nan")),
                  settle_after_leader_kill=figures["settled_at"] - killed_at,
                  settle_after_last_referral=figures["settled_at"] - stream.finished)
    print(f"queues led by the killed node: {leaders[leader.nodename]} of {len(queues)}; "
          f"led elsewhere afterwards: {moved}")
    assert figures["accepted"] == REFERRALS
    assert figures["missing"] == 0, (figures["missing_examples"], _diagnose(cluster, platform))
    assert figures["duplicates"] == 0
    assert figures["delivered"] == 2 * REFERRALS
    assert all(len(q["members"]) == 3 for q in after.values() if q["name"] in queues)


def _quorum_queues(cluster, vhost):
    deadline = time.monotonic() + 30
    while True:
        queues = {q["name"]: q for q in cluster_queues(cluster, vhost)
                  if q.get("type") == "quorum"}
        if all(q.get("leader") and q.get("members") for q in queues.values()) or \
                time.monotonic() > deadline:
            return queues
        time.sleep(0.5)


def cluster_queues(cluster, vhost):
    return cluster.running()[0].queues(vhost)


def _diagnose(cluster, platform):
    """What a failure needs to be understood: queue depths and consumers, the outboxes,
    and the services' warnings."""
    depths = {q["name"]: (q.get("messages"), q.get("consumers"), q.get("leader"))
              for q in cluster_queues(cluster, platform.vhost) if q.get("messages")}
    backlog = platform.senctl("outbox", "backlog", *platform.services)
    logs = {s: [line for line in platform.log(s).splitlines()
                if " WARNING " in line or " ERROR " in line or " CRITICAL " in line][-8:]
            for s in platform.services}
    return {"queues with messages": depths, "outbox": backlog, "log": logs}
