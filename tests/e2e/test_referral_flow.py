"""The first flow end to end: a partner school's referral becomes two emails."""

import json
import sqlite3

from services.contracts import parse_event
from tests.conftest import bearer, wait_until
from tests.helpers import referral_body


def test_referral_becomes_two_emails(platform_factory, http):
    platform = platform_factory("pupils", "referrals", "notify")
    platform.senctl("org", "onboard", "--name", "Demo Trust", "--kind", "trust")
    school = platform.senctl("org", "onboard", "--name", "Riverside Primary School",
                             "--kind", "partner_school", "--urn", "100001",
                             "--laestab", "2021001")
    token = platform.senctl("token", "--sub", "jo@riverside.example", "--org", "100001",
                            "--roles", "partner_referrer")

    # the school's name reaches notify through organisation.onboarded
    def notify_knows_school():
        with sqlite3.connect(platform.database("notify")) as conn:
            return conn.execute("SELECT name FROM organisations WHERE org_id=?",
                                (school,)).fetchone()
    assert wait_until(notify_knows_school, timeout=15)

    resp = http.post(platform.url("referrals") + "/api/v1/referrals", json=referral_body(),
                     headers=bearer(token))
    assert resp.status_code == 201, resp.text
    referral = resp.json()
    assert referral["school_org_id"] == school

    messages = platform.mailbox.wait_for(2, timeout=15)
    assert len(messages) == 2, platform.log("notify")
    by_to = {m["To"].addresses[0].addr_spec: m for m in messages}
    ack = by_to["jo.smith@riverside.example"]
    alert = by_to["outreach@trust.example"]
    assert referral["reference"] in ack["Subject"]
    assert alert["Subject"] == (f"New outreach referral {referral['reference']} "
                                "from Riverside Primary School")
    for m in messages:  # nothing about the child's needs in a subject line
        assert "ASD" not in m["Subject"] and "Sam" not in m["Subject"]
    # a person to reach: replies go to the outreach team, whose phone and address
    # close every email; the HTML part has a heading and lists (issue 15)
    for m in messages:
        assert m["Reply-To"] == "outreach@trust.example"
        text = m.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert "\nHow to reach us\n- Phone: " in text and "\n- Post: " in text
        html = m.get_body(("html",)).get_content()
        assert "<h1" in html and "<ul>" in html and "_" not in m["Subject"]
    # The same referral cannot be read with another school's token.
    other = platform.senctl("org", "onboard", "--name", "Hillside Academy", "--kind",
                            "partner_school", "--urn", "100002", "--laestab", "2021002")
    other_token = platform.senctl("token", "--sub", "x@hillside", "--org", other,
                                  "--roles", "partner_referrer")
    assert http.get(f"{platform.url('referrals')}/api/v1/referrals/{referral['id']}",
                    headers=bearer(other_token)).status_code == 404

    # Every event any service published validates against its schema.
    published = []
    for service in platform.services:
        with sqlite3.connect(platform.database(service)) as conn:
            published += [json.loads(b) for (b,) in conn.execute("SELECT body FROM outbox")]
    types = sorted(parse_event(b)["type"] for b in published)
    assert types.count("organisation.onboarded") == 3
    assert types.count("referral.submitted") == 1
    assert types.count("notification.delivered") == 2

    # The operator's view: nothing stuck in any outbox, nothing dead-lettered.
    backlog = dict(line.split("\t") for line in
                   platform.senctl("outbox", "backlog").splitlines())
    assert backlog["referrals"] == "0" and backlog["notify"] == "0"
    assert platform.senctl("deadletters", "list", *platform.services) == ""
