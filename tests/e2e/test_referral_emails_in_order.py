"""The emails about one referral reach the school in the order of its transitions,
even when the transitions follow each other faster than notify handles them (each
event type has its own queue), and no email body shows a code instead of words.
pupils, referrals and notify run as separate processes; the emails are read back
from the SMTP server in the order it accepted them."""

import re
from datetime import date

from services.contracts.names import TABLES
from tests.conftest import wait_until
from tests.e2e.outreach import PRACTITIONER, REFERRER, outreach_world

# the referrer's emails, one a transition, in the order the transitions happen
EXPECTED = ["referral-submitted-referrer", "referral-accepted-referrer",
            "referral-allocated-referrer", "referral-visit-logged-referrer",
            "referral-report-issued-referrer", "referral-closed-referrer"]
# every code that has a name: a code a person would read (single words such as
# "closed" are words already, so only the codes with "_" or in capitals are looked for)
CODES = sorted({code for table in TABLES for code in table
                if "_" in code or (code.isupper() and len(code) > 1)}, key=len, reverse=True)


def _arrival_order(mailbox):
    log = mailbox.dir / "transactions.log"
    ids = [line.split(" ", 1)[0] for line in log.read_text().splitlines()] if log.exists() else []
    return {message_id: i for i, message_id in reversed(list(enumerate(ids)))}


def _text(message):
    parts = [p for p in message.walk() if p.get_content_type() in ("text/plain", "text/html")]
    return "\n".join(p.get_content() for p in parts)


def test_a_referrals_emails_arrive_in_the_order_of_its_transitions(platform_factory, http):
    world = outreach_world(platform_factory, http, urn="100002", laestab="2021002")
    platform, base, lead, pat = world.platform, world.base, world.lead, world.pat
    rid, reference = world.referral_id, world.reference
    # every transition at once, without waiting for any email in between
    for action, who, body in (
            ("accept", lead, None),
            ("allocate", lead, {"practitioner": PRACTITIONER}),
            ("visits", pat, {"visit_date": date.today().isoformat(), "minutes": 90,
                             "seen": ["pupil", "class_teacher"],
                             "observations": "A lesson and lunch observed.",
                             "recommendations": "A visual timetable."}),
            ("report", pat, {"summary": "Predictable transitions help.",
                             "recommendations": [{"text": "Autism awareness training"}]}),
            ("close", lead, {"outcome": "needs_met_in_school"})):
        resp = http.post(f"{base}/referrals/{rid}/{action}", headers=who, json=body or {})
        assert resp.status_code in (200, 201), resp.text

    def referrers():
        return [m for m in platform.mailbox.messages()
                if m["To"].addresses[0].addr_spec == REFERRER and reference in m["Subject"]]
    assert wait_until(lambda: len(referrers()) >= len(EXPECTED), timeout=90), (
        [m["X-SEN-Template"] for m in referrers()], platform.log("notify"))

    order = _arrival_order(platform.mailbox)
    arrived = sorted(referrers(), key=lambda m: order[m["Message-ID"]])
    assert [m["X-SEN-Template"].split("/")[0] for m in arrived] == EXPECTED

    # words, not codes, in every email this referral caused (to anyone)
    for message in platform.mailbox.messages():
        text = _text(message)
        shown = [c for c in CODES if re.search(rf"(?<![\w/.@-]){re.escape(c)}(?![\w/.@-])", text)]
        assert shown == [], (message["X-SEN-Template"], shown)
    assert platform.senctl("deadletters", "list", "referrals", "notify") == ""
