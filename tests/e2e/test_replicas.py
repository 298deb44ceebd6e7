"""Two replicas of every service, each service with its own PostgreSQL database,
on a RabbitMQ node of the test's own.

* the relays share the outbox (FOR UPDATE SKIP LOCKED): both publish, and no
  event reaches the exchange twice;
* the consumers compete on the same queues: both notify replicas handle events;
* one replica of referrals and one of notify are SIGKILLed mid-stream: every
  accepted referral still gets its two emails, none twice;
* each timer's effect happens once per due item across replicas: no duplicate
  `referral.overdue` or `ehcp.review_due`;
* CPD capacity holds when bookings arrive through both replicas at once.
"""

import json
import os
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from kombu import Connection, Queue

from services.common import messaging
from services.common.settings import SERVICES
from tests.conftest import _drop_postgres, _fresh_postgres, bearer
from tests.e2e.streams import Stream, onboard_school, print_figures, report

pytestmark = [pytest.mark.serial, pytest.mark.postgres, pytest.mark.timeout(900),
              pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"),
                                 reason="needs TEST_POSTGRES_URL")]

CALM, STORMY, CAPACITY, BOOKERS = 100, 150, 5, 20


@pytest.fixture
def databases():
    made = {s: _fresh_postgres(f"sen_{s}") for s in SERVICES}
    yield {s: url for s, (url, _) in made.items()}
    for _, name in made.values():
        _drop_postgres(name)


def metric(platform, name, pattern):
    """Sum of a Prometheus counter's samples on one replica, labels matching `pattern`."""
    text = requests.get(platform.url(name) + "/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^(\w+)\{(.*)\} ([0-9.e+]+)$", line)
        if m and m.group(1) == pattern[0] and all(f'{k}="{v}"' in m.group(2)
                                                   for k, v in pattern[1].items()):
            total += float(m.group(3))
    return total


def _pupil(n):
    from stdnum.gb.upn import calc_check_digit
    body = f"801200005{n:03d}"
    return {"upn": calc_check_digit(body) + body, "legal_surname": "Taylor",
            "forename": f"Sam{n}", "date_of_birth": "2015-03-01", "year_group": 5,
            "sen_status": "E", "primary_need": "ASD", "secondary_need": None}


class Audit:
    """A queue of the test's own bound to referrals.events: every message the
    relays published, to count per event id."""

    def __init__(self, amqp_uri, source="referrals"):
        self.conn = Connection(amqp_uri)
        self.queue = Queue(f"audit-{source}", exchange=messaging.event_exchange(source),
                           routing_key="#", durable=True)
        self.queue(self.conn.default_channel).declare()

    def drain(self):
        """What arrived since the last drain: (message id, event type, data)."""
        channel, got = self.conn.default_channel, []
        while True:
            message = self.queue(channel).get(no_ack=True)
            if message is None:
                return got
            body = json.loads(message.body)
            got.append((message.properties.get("message_id"), body["type"], body["data"]))


def test_two_replicas_of_every_service(rabbit_nodes, platform_factory, databases, token):
    node = rabbit_nodes(1).nodes[0]
    env = {f"{s.upper()}_DATABASE_URL": url for s, url in databases.items()}
    env.update(REFERRALS_OVERDUE_SCAN_SECONDS="0.5", PUPILS_EHCP_TIMER_SECONDS="0.5")
    platform = platform_factory(*SERVICES, broker=node, env=env)
    audit = Audit(platform.amqp_uri)
    pupils_audit = Audit(platform.amqp_uri, "pupils")
    for service in SERVICES:
        platform.start_service(service, f"{service}-2")
    for service in SERVICES:
        platform.wait_ready(f"{service}-2")

    school, school_token = onboard_school(platform)
    referrals = [platform.url("referrals"), platform.url("referrals-2")]

    # -- calm: both relays publish, nothing twice; both notify replicas consume
    calm = Stream(referrals, school_token)
    calm_refs = calm.run(CALM, {})
    calm_figures = report(platform, calm_refs)
    print_figures("two replicas, calm", calm_figures,
                  settle_after_last_referral=calm_figures["settled_at"] - calm.finished)
    assert calm_figures["missing"] == 0 and calm_figures["duplicates"] == 0
    submitted = [e for e in audit.drain() if e[1] == "referral.submitted"]
    ids = Counter(e[0] for e in submitted)
    published = {r: metric(platform, r, ("outbox_published_total",
                                         {"service": "referrals",
                                          "event_type": "referral.submitted"}))
                 for r in ("referrals", "referrals-2")}
    consumed = {n: metric(platform, n, ("events_consumed_total", {"service": "notify"}))
                for n in ("notify", "notify-2")}
    print(f"published by relay: {published}; events consumed by notify replica: {consumed}; "
          f"copies on the exchange: {len(submitted)} of {len(ids)} events")
    assert len(ids) == CALM and max(ids.values()) == 1  # no row published twice
    assert sum(published.values()) == CALM and all(published.values())
    assert all(consumed.values())

    # -- stormy: one replica of referrals and one of notify SIGKILLed mid-stream
    stormy = Stream(referrals, school_token)
    stormy_refs = stormy.run(STORMY, {
        50: ("notify replica killed", lambda: platform.kill("notify")),
        100: ("referrals replica killed", lambda: platform.kill("referrals")),
    })
    figures = report(platform, calm_refs + stormy_refs)
    print_figures("two replicas, one of each SIGKILLed", figures,
                  settle_after_notify_kill=figures["settled_at"]
                  - stormy.events["notify replica killed"],
                  settle_after_last_referral=figures["settled_at"] - stormy.finished)
    assert figures["accepted"] == CALM + STORMY
    assert figures["missing"] == 0, figures["missing_examples"]
    assert figures["duplicates"] == 0
    assert figures["delivered"] == 2 * (CALM + STORMY)

    # -- timers: both referrals timers scan (the killed one is back); each breach once
    platform.start_service("referrals")
    platform.wait_ready("referrals")
    engine = sa.create_engine(databases["referrals"])
    late = calm_refs[:10]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE referrals SET submitted_at = submitted_at - interval '30 days', "
            "first_submitted_at = first_submitted_at - interval '30 days' "
            "WHERE reference = ANY(:refs)"), {"refs": late})
    deadline = time.monotonic() + 60
    overdue = []
    while time.monotonic() < deadline:
        overdue += [e for e in audit.drain() if e[1] == "referral.overdue"]
        if len({(e[2]["referral_id"], e[2]["clock"]) for e in overdue}) >= 2 * len(late):
            break
        time.sleep(0.5)
    time.sleep(3)  # both timers have run several more times by now
    overdue += [e for e in audit.drain() if e[1] == "referral.overdue"]
    per_breach = Counter((e[2]["referral_id"], e[2]["clock"]) for e in overdue)
    with engine.connect() as conn:
        breaches = conn.execute(sa.text("SELECT count(*) FROM overdue_breaches")).scalar_one()
    engine.dispose()
    print(f"referral.overdue: {len(overdue)} events for {len(per_breach)} breaches "
          f"({breaches} recorded) from two timers")
    assert len(per_breach) == 2 * len(late) == breaches  # acknowledge and triage clocks
    assert max(per_breach.values()) == 1

    # -- the EHC timer of both pupils replicas: each annual review announced once
    trust_school = platform.senctl("org", "onboard", "--name", "Oak School", "--kind",
                                   "trust_school", "--urn", "140001", "--laestab", "2024001")
    senco = bearer(token(trust_school, "senco", sub="senco@oak.example"))
    today = datetime.now(UTC).date()
    request = today - timedelta(days=400)
    plans = []
    for n in range(3):
        pupil = requests.post(platform.url("pupils") + "/api/v1/pupils", headers=senco,
                              timeout=30, json=_pupil(n))
        assert pupil.status_code == 201, pupil.text
        base = f"{platform.url('pupils-2')}/api/v1/pupils/{pupil.json()['id']}/ehc-plans"
        plan = requests.post(base, json={"request_date": request.isoformat()}, headers=senco,
                             timeout=30)
        assert plan.status_code == 201, plan.text
        issued = requests.patch(f"{base}/{plan.json()['id']}", headers=senco, timeout=30, json={
            "decision_to_assess_on": (request + timedelta(days=20)).isoformat(),
            "decision_to_issue_on": (request + timedelta(days=35)).isoformat(),
            "issued_on": (today - timedelta(days=358)).isoformat()})  # review due in 7 days
        assert issued.status_code == 200, issued.text
        plans.append(plan.json()["id"])
    deadline = time.monotonic() + 60
    reviews = []
    while time.monotonic() < deadline and len({e[2]["plan_id"] for e in reviews}) < len(plans):
        reviews += [e for e in pupils_audit.drain() if e[1] == "ehcp.review_due"]
        time.sleep(0.5)
    time.sleep(3)  # both timers have run several more times by now
    reviews += [e for e in pupils_audit.drain() if e[1] == "ehcp.review_due"]
    per_plan = Counter(e[2]["plan_id"] for e in reviews)
    print(f"ehcp.review_due: {len(reviews)} events for {len(plans)} plans from two timers")
    assert set(per_plan) == set(plans) and max(per_plan.values()) == 1

    # -- CPD capacity through both replicas at once
    admin = token("trust", "cpd_admin", sub="hub-admin@trust.example")
    cpd = [platform.url("cpd"), platform.url("cpd-2")]
    course = requests.post(cpd[0] + "/api/v1/cpd/courses", headers=bearer(admin), timeout=30,
                           json={"title": "Autism basics", "summary": "s",
                                 "audience": "Teachers", "cpd_hours": 3,
                                 "area_of_need": "communication_and_interaction"})
    assert course.status_code == 201, course.text
    course_id = course.json()["id"]
    start = datetime.now(UTC) + timedelta(days=5)
    session = requests.post(f"{cpd[1]}/api/v1/cpd/courses/{course_id}/sessions",
                            headers=bearer(admin), timeout=30, json={
                                "starts_at": start.isoformat(),
                                "ends_at": (start + timedelta(hours=3)).isoformat(),
                                "venue": "Hub", "facilitator": "Dr Khan",
                                "capacity": CAPACITY})
    assert session.status_code == 201, session.text
    publish = requests.post(f"{cpd[0]}/api/v1/cpd/courses/{course_id}/publish",
                            headers=bearer(admin), timeout=30)
    assert publish.ok, publish.text

    def book(i):
        teacher = token(school, "teacher", sub=f"t{i}@riverside.example")
        resp = requests.post(f"{cpd[i % 2]}/api/v1/cpd/sessions/{session.json()['id']}/bookings",
                             headers=bearer(teacher), timeout=30, json={"attendee": {
                                 "name": f"Teacher {i}", "email": f"t{i}@riverside.example"}})
        assert resp.status_code == 201, resp.text
        return resp.json()["status"]

    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(pool.map(book, range(BOOKERS)))
    print(f"CPD: {BOOKERS} bookings through two replicas for {CAPACITY} places: "
          f"{dict(statuses)}")
    assert statuses["confirmed"] == CAPACITY
    assert statuses["waitlisted"] == BOOKERS - CAPACITY
