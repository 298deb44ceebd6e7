from datetime import timedelta

import pytest

from services.common.problems import Problem  # noqa: F401  (import check)
from services.contracts import parse_event
from services.contracts.sen import NEED_TYPES
from services.notify import domain
from tests.helpers import referral_submitted

CONTEXT = {"reference": "REF-AAAA-0001", "school_name": "Riverside Primary School",
           "submitted_on": "24 November 2026", "contact_name": "Jo Smith",
           "link": "http://localhost/api/v1/referrals/r-1", "trust_name": "Demo Trust"}


def test_referral_submitted_makes_an_acknowledgement_and_an_alert():
    event = parse_event(referral_submitted())
    messages = domain.plan_messages(event, CONTEXT, outreach_inbox="outreach@trust.example")
    by_audience = {m.recipient.audience: m for m in messages}
    assert set(by_audience) == {"referrer", "outreach"}
    assert by_audience["referrer"].recipient.address == "jo.smith@riverside.example"
    assert by_audience["outreach"].recipient.address == "outreach@trust.example"
    ack = by_audience["referrer"]
    assert "REF-AAAA-0001" in ack.subject and "Dear Jo Smith" in ack.text
    assert "http://localhost/api/v1/referrals/r-1" in ack.html


SAMPLE = {**domain.SAMPLE_CONTEXT, "recipient": {"name": "A Parent", "audience": "parent"}}
HEALTH_WORDS = ("autism", "autistic", "communication", "cognition", "emotional", "sensory",
                "physical", "adhd", "dyslexia", "diagnos", "mental health", "medical")


def _no_health_detail(line):
    words = set(line.upper().replace(",", " ").replace(".", " ").replace(":", " ").split())
    assert not words & set(NEED_TYPES)
    for word in HEALTH_WORDS:
        assert word not in line.lower()


@pytest.mark.parametrize("template", domain.TEMPLATES + (domain.DIGEST_TEMPLATE,),
                         ids=lambda t: t.id)
def test_no_need_or_diagnosis_in_any_subject(template):
    subject, text, html = domain.render(template, SAMPLE)
    _no_health_detail(subject)
    assert "\n" not in subject and len(subject) < 120
    assert text.strip() and html and "<p>" in html


@pytest.mark.parametrize("template", [t for t in domain.TEMPLATES if t.has_sms()],
                         ids=lambda t: t.id)
def test_sms_is_short_and_says_nothing_about_health(template):
    _, text, html = domain.render(template, SAMPLE, domain.SMS)
    _no_health_detail(text)
    assert html is None and len(text) <= 306  # two SMS fragments


def test_every_parent_template_has_an_sms_version():
    assert all(t.has_sms() for t in domain.TEMPLATES if t.audience == domain.PARENT)


def test_the_issue_s_events_all_have_templates():
    covered = {t.event_type for t in domain.TEMPLATES}
    assert {"referral.submitted", "referral.info_requested", "referral.accepted",
            "referral.declined", "referral.allocated", "referral.visit_logged",
            "referral.report_issued", "referral.closed", "referral.overdue",
            "passport.published", "ehcp.review_due", "ehcp.deadline_at_risk",
            "pupil.moved", "booking.confirmed", "booking.waitlisted", "booking.promoted",
            "booking.cancelled", "certificate.issued", "session.cancelled",
            "session.rescheduled"} <= covered


def test_html_is_escaped():
    template = domain.TEMPLATES[0]
    _, text, html = domain.render(template, {**CONTEXT, "school_name": "<script>x</script>",
                                             "recipient": domain.Recipient("referrer", "a@b",
                                                                           "A")})
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_smtp_4xx_is_temporary_and_5xx_permanent():
    assert domain.classify_smtp_failure(451) == domain.TEMPORARY_FAILURE
    assert domain.classify_smtp_failure(None) == domain.TEMPORARY_FAILURE
    assert domain.classify_smtp_failure(550) == domain.PERMANENT_FAILURE


def test_backoff_doubles_and_is_capped():
    assert domain.retry_delay(1, 2) == timedelta(seconds=2)
    assert domain.retry_delay(3, 2) == timedelta(seconds=8)
    assert domain.retry_delay(30, 2) == timedelta(hours=1)
