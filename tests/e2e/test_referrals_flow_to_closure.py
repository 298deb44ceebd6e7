"""One referral from submission to closure across pupils, referrals and notify as
separate processes: every step through the HTTP API, and the emails notify sends
at each step read back from the SMTP server."""

import hashlib
from datetime import date

from tests.conftest import wait_until
from tests.e2e.outreach import PRACTITIONER, REFERRER, outreach_world


def test_one_referral_walks_to_closure_with_an_email_at_each_step(platform_factory, http):
    world = outreach_world(platform_factory, http)
    platform, base, agreement = world.platform, world.base, world.agreement
    jo, lead, pat = world.jo, world.lead, world.pat
    rid, reference = world.referral_id, world.reference
    seen = set()  # messages that arrived before the current step

    def key(message):
        return hashlib.sha256(message.as_bytes()).hexdigest()

    def mail_to(address, step):
        """Wait for a new message to `address` about this referral; return it."""

        def arrived():
            new = [m for m in platform.mailbox.messages() if key(m) not in seen]
            return [m for m in new if m["To"].addresses[0].addr_spec == address
                    and reference in m["Subject"]]
        found = wait_until(arrived, timeout=20)
        assert found, (step, [m["Subject"] for m in platform.mailbox.messages()],
                       platform.log("notify"))
        return found[0]

    def step(action, who, body=None, expect_status=None):
        nonlocal seen
        seen = {key(m) for m in platform.mailbox.messages()}
        resp = http.post(f"{base}/referrals/{rid}/{action}", headers=who, json=body or {})
        assert resp.status_code in (200, 201), resp.text
        if expect_status:
            assert resp.json()["status"] == expect_status
        return resp.json()

    mail_to(REFERRER, "submitted")
    mail_to("outreach@trust.example", "submitted")

    step("request-info", lead, {"question": "Has an educational psychologist been involved?"},
         "info_requested")
    mail_to(REFERRER, "info_requested")

    resp = http.patch(f"{base}/referrals/{rid}", headers=jo,
                      json={"support_so_far": "Visual timetable, quiet space, daily check-in."})
    assert resp.status_code == 200, resp.text
    step("submit", jo, {"info_answer": "Not yet; the request is with the LA."}, "submitted")
    mail_to("outreach@trust.example", "resubmitted")

    step("accept", lead, None, "accepted")
    mail_to(REFERRER, "accepted")
    step("allocate", lead, {"practitioner": PRACTITIONER}, "allocated")
    mail_to(PRACTITIONER["email"], "allocated")

    step("visits", pat, {"visit_date": date.today().isoformat(), "minutes": 120,
                         "seen": ["pupil", "class_teacher", "senco"],
                         "observations": "Two lessons and lunch observed.",
                         "recommendations": "Now-and-next board; a calm corner."})
    mail_to(REFERRER, "visit_logged")
    step("report", pat, {"summary": "Needs predictable transitions.", "recommendations": [
        {"text": "Autism awareness training", "course_id": "course-7"}]}, "report_issued")
    mail_to(REFERRER, "report_issued")
    step("close", lead, {"outcome": "needs_met_in_school"}, "closed")
    mail_to(REFERRER, "closed")

    # the history and the hours statement as the school sees them
    history = http.get(f"{base}/referrals/{rid}/transitions", headers=jo).json()
    assert [t["to_status"] for t in history] == [
        "submitted", "info_requested", "submitted", "accepted", "allocated", "in_progress",
        "report_issued", "closed"]
    statement = http.get(f"{base}/agreements/{agreement}/statement", headers=jo).json()
    assert statement["hours_used"] == 2 and statement["hours_left"] == 4
    for m in platform.mailbox.messages():  # nothing about the child in a subject line
        assert "Sam" not in m["Subject"] and "Taylor" not in m["Subject"]
    assert platform.senctl("deadletters", "list", "referrals", "notify") == ""
