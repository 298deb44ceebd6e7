"""Every email template, rendered by notify's own handlers from a real event, links
only to portal pages (services/contracts/links.py) meant for its reader, with the
ids of the event's subject. The cases are keyed by the templates directory, so a
new template without a case here fails. (The portal's browser test follows them.)"""

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from nameko import config as nameko_config
from nameko.testing.services import worker_factory
from sqlalchemy import select, update

from services.common.auth import Principal
from services.common.db import open_database
from services.contracts import links, make_event
from services.notify import domain
from services.notify.adapters import Mailer
from services.notify.models import Base, Delivery, RecipientPreference
from services.notify.service import NotifyService
from tests.conftest import bearer
from tests.helpers import organisation_onboarded

BASE = "https://portal.trust.example"
SCHOOL, TRUST = "school-1", "trust-1"
CONTACT = {"name": "Jo Smith", "email": "jo.smith@riverside.example"}
PRACTITIONER = {"sub": "tom@trust.example", "name": "Tom Hughes", "email": "tom@trust.example"}
ATTENDEE = {"name": "Sam Teacher", "email": "sam@school.example"}
SESSION = {"session_id": "s-1", "starts_at": "2027-01-12T15:30:00+00:00",
           "ends_at": "2027-01-12T17:00:00+00:00", "venue": "Riverside hall"}
URL_RE = re.compile(r"https?://[^\s\"'<>]+")


def _referral(event_type, **data):
    return make_event(event_type, {"referral_id": "r-1", "reference": "REF-AAAA-0001",
                                   "school_org_id": SCHOOL, "contact": CONTACT, **data},
                      org_id=SCHOOL, actor="user")


def _pupil(event_type, **data):
    return make_event(event_type, {"pupil_id": "p-1", "org_id": SCHOOL, **data},
                      org_id=SCHOOL, actor="user")


def _booking(event_type, **data):
    return make_event(event_type, {
        "booking_id": "b-1", "course_id": "c-1", "course_title": "Transitions",
        "org_id": SCHOOL, "attendee": ATTENDEE, "session": SESSION, "status": "confirmed",
        "calendar_path": "/api/v1/cpd/calendar/k3y.ics", **data}, org_id=SCHOOL, actor="cpd")


def _session(event_type, **data):
    return make_event(event_type, {
        "course_id": "c-1", "course_title": "Transitions", "session": SESSION,
        "attendees": [{**ATTENDEE, "booking_id": "b-1", "org_id": SCHOOL}], **data},
        org_id=SCHOOL, actor="cpd")


REFERRAL = ("referral", {"referral_id": "r-1"})
EVENTS = {
    "referral.submitted": lambda: _referral(
        "referral.submitted", areas_of_need=["communication_and_interaction"],
        submitted_at="2026-11-24T09:00:00+00:00"),
    "referral.info_requested": lambda: _referral("referral.info_requested"),
    "referral.accepted": lambda: _referral("referral.accepted"),
    "referral.place_granted": lambda: _referral("referral.place_granted", agreement_id="a-1"),
    "referral.declined": lambda: _referral("referral.declined", reason="outside_criteria"),
    "referral.allocated": lambda: _referral("referral.allocated", practitioner=PRACTITIONER),
    "referral.visit_logged": lambda: _referral("referral.visit_logged", visit_id="v-1",
                                               visit_date="2026-12-01", minutes=60),
    "referral.report_issued": lambda: _referral("referral.report_issued", report_id="rep-1"),
    "referral.closed": lambda: _referral("referral.closed", outcome="targets_met"),
    "referral.withdrawn": lambda: _referral("referral.withdrawn"),
    "referral.overdue": lambda: _referral("referral.overdue", clock="triage",
                                          due_date="2026-12-01"),
    "passport.published": lambda: _pupil("passport.published", passport_id="pp-1",
                                         version=2),
    "ehcp.review_due": lambda: _pupil("ehcp.review_due", plan_id="plan-1",
                                      due_date="2027-01-15"),
    "ehcp.deadline_at_risk": lambda: _pupil("ehcp.deadline_at_risk", plan_id="plan-1",
                                            deadline="final_plan", due_date="2027-01-15"),
    "pupil.moved": lambda: make_event("pupil.moved", {
        "pupil_id": "p-1", "from_org_id": "school-0", "to_org_id": SCHOOL,
        "moved_on": "2027-01-05"}, org_id=SCHOOL, actor="user"),
    "booking.confirmed": lambda: _booking("booking.confirmed"),
    "booking.waitlisted": lambda: _booking("booking.waitlisted", status="waitlisted",
                                           waitlist_position=2),
    "booking.promoted": lambda: _booking("booking.promoted"),
    "booking.cancelled": lambda: _booking("booking.cancelled", status="cancelled",
                                          reason="cancelled_by_provider"),
    "certificate.issued": lambda: make_event("certificate.issued", {
        "certificate_id": "cert-1", "course_id": "c-1", "course_title": "Transitions",
        "org_id": SCHOOL, "attendee": ATTENDEE, "cpd_hours": 3.5,
        "verification_code": "CPD-7KQ2", "verify_path": "/verify/CPD-7KQ2"},
        org_id=SCHOOL, actor="cpd"),
    "session.cancelled": lambda: _session("session.cancelled"),
    "session.rescheduled": lambda: _session("session.rescheduled", previous={
        **SESSION, "starts_at": "2027-01-05T15:30:00+00:00",
        "ends_at": "2027-01-05T17:00:00+00:00"}),
}

PASSPORT = ("passport", {"pupil_id": "p-1"})
PLAN = ("ehc_plan", {"pupil_id": "p-1"})
CALENDAR = ("cpd_booking_calendar", {"booking_id": "b-1"})
# template → the pages (name, ids) its reader is sent to; [] = a message without links
EXPECTED = {
    "referral-submitted-referrer": [REFERRAL],
    "referral-submitted-outreach": [REFERRAL],
    "referral-info-requested-referrer": [("referral_respond", {"referral_id": "r-1"})],
    "referral-accepted-referrer": [REFERRAL],
    "referral-place-granted-referrer": [REFERRAL],
    "referral-declined-referrer": [REFERRAL],
    "referral-allocated-referrer": [REFERRAL],
    "referral-allocated-practitioner": [REFERRAL],
    "referral-visit-logged-referrer": [REFERRAL],
    "referral-report-issued-referrer": [REFERRAL],
    "referral-closed-referrer": [REFERRAL],
    "referral-closed-practitioner": [REFERRAL],
    "referral-withdrawn-outreach": [REFERRAL],
    "referral-overdue-outreach": [REFERRAL],
    "passport-published-parent": [PASSPORT],
    "passport-published-senco": [PASSPORT],
    "ehcp-review-due-parent": [PLAN],
    "ehcp-review-due-senco": [PLAN],
    "ehcp-deadline-at-risk-senco": [PLAN],
    "ehcp-deadline-at-risk-outreach": [PLAN],
    "pupil-moved-parent": [],
    "pupil-moved-senco": [("pupil", {"pupil_id": "p-1"})],
    "booking-confirmed-attendee": [CALENDAR],
    "booking-waitlisted-attendee": [],
    "booking-promoted-attendee": [CALENDAR],
    "booking-cancelled-attendee": [CALENDAR],
    "certificate-issued-attendee": [("cpd_certificate", {"certificate_id": "cert-1"})],
    "session-cancelled-attendee": [("cpd_catalogue", {})],
    "session-rescheduled-attendee": [("cpd_bookings", {})],
    # the digest lists the links of the messages it gathers (here: referral alerts)
    "staff-daily-digest": [REFERRAL],
    "sign-in-link": [("sign_in_link", {"token": "tok-123"})],
}


def page_of(url):
    """(page name, params) of a portal URL, or None if it is not a links.py page."""
    assert url.startswith(BASE + "/"), f"{url} is not on the portal"
    path = urlsplit(url).path
    for name, template in links.PATHS.items():
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        match = re.match(pattern, path)
        if match:
            return name, match.groupdict()
    return None


def urls_in(delivery):
    found = URL_RE.findall(delivery.body_text) + URL_RE.findall(delivery.body_html or "")
    template = domain.BY_ID[delivery.template_id]
    if template.has_sms():  # the SMS version of the same message, from the same context
        context = {**json.loads(delivery.context_json),
                   "recipient": {"name": "", "audience": template.audience}}
        found += URL_RE.findall(domain.render(template, context, domain.SMS)[1])
    return [u.rstrip(".,)") for u in found]


@pytest.fixture
def notify(database_urls, mailbox):
    db = open_database("notify", Base.metadata, database_urls("notify"))
    with nameko_config.patch({"PUBLIC_BASE_URL": BASE + "/"}):
        yield worker_factory(NotifyService, db=db, mailer=Mailer()), db


def test_every_template_has_a_case():
    on_disk = {p.name for p in domain.TEMPLATE_DIR.iterdir()
               if p.is_dir() and not p.name.startswith("_")}
    assert on_disk == set(EXPECTED), "give each template in the directory a case here"
    assert {t.id for t in domain.TEMPLATES} | {domain.DIGEST_TEMPLATE_ID,
                                              domain.SIGN_IN_TEMPLATE_ID} == on_disk
    assert {t.event_type for t in domain.TEMPLATES} == set(EVENTS)
    for template_id in on_disk:  # and each previews with the sample data
        template = domain.BY_ID[template_id]
        subject, text, _ = domain.render(template, {
            **domain.SAMPLE_CONTEXT, "recipient": {"name": "Sam", "audience": "x"}})
        assert subject and text.strip()


def test_every_link_in_every_email_is_a_portal_page_for_its_reader(notify):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded(SCHOOL, "Riverside Primary"))
    service.on_guardians_changed(make_event("pupil.guardians_changed", {
        "pupil_id": "p-1", "org_id": SCHOOL, "guardians": [{
            "guardian_id": "g-1", "name": "Pat Parent", "relationship": "mother",
            "email": "pat@home.example", "mobile": "07700900123", "preferred_channel": "email",
            "preferred_language": "en", "parental_responsibility": True}]},
        org_id=SCHOOL, actor="senco"))
    service.on_referral_allocated(EVENTS["referral.allocated"]())  # the practitioner is known
    with db.session() as s:  # the outreach inbox reads its alerts as a daily digest
        s.add(RecipientPreference(address="outreach@sen-trust.example", org_id=TRUST,
                                  opt_outs="", digest=True, updated_at=datetime.now(UTC)))
        s.commit()
    for event_type, make in EVENTS.items():
        if event_type != "referral.allocated":
            getattr(service, "on_" + event_type.replace(".", "_"))(make())
    with db.session() as s:
        s.execute(update(Delivery).where(Delivery.digest.is_(True)).values(
            next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    service.sweep()  # gathers the digest
    service.send_sign_in_link(None, Principal("portal", TRUST, frozenset({"portal"})), {
        "email": "parent@home.example", "url": f"{BASE}/sign-in/link/tok-123",
        "expires_at": datetime.now(UTC) + timedelta(minutes=15)})

    with db.session() as s:
        rows = s.execute(select(Delivery).where(Delivery.channel == domain.EMAIL)).scalars().all()
    rendered = {}
    for d in rows:
        rendered.setdefault(d.template_id, []).append(d)
    assert set(rendered) == set(EXPECTED), set(EXPECTED) ^ set(rendered)
    for template_id, deliveries in rendered.items():
        expected = [(name, {k: str(v) for k, v in ids.items()})
                    for name, ids in EXPECTED[template_id]]
        for d in deliveries:
            pages = [page_of(u) for u in urls_in(d)]
            assert None not in pages, (template_id, urls_in(d))
            assert sorted(set(map(repr, pages))) == sorted(map(repr, expected)), (
                template_id, pages)


def test_sign_in_link_email_says_when_it_expires_and_keeps_the_link_out_of_the_context(
        notify, mailbox):
    service, db = notify
    expires = datetime(2030, 6, 1, 9, 45, tzinfo=UTC)  # 10:45 in London (BST)
    status, body = service.send_sign_in_link(None, Principal(
        "portal", TRUST, frozenset({"portal"})), {
        "email": "Parent@Home.example", "url": f"{BASE}/sign-in/link/secret-tok",
        "expires_at": expires})
    assert status == 202
    [message] = mailbox.wait_for(1)
    assert message["Subject"] == "Your sign-in link for SEN Trust"
    assert message["To"].addresses[0].addr_spec == "parent@home.example"
    text = message.get_body(("plain",)).get_content()
    assert f"{BASE}/sign-in/link/secret-tok" in text
    assert "10:45 on 1 June 2030" in text and "If you did not ask to sign in" in text
    with db.session() as s:
        [d] = s.execute(select(Delivery)).scalars().all()
    assert d.template_id == "sign-in-link" and d.status == domain.DELIVERED
    assert d.statutory and d.urgent and d.subject_kind == "sign_in"
    assert "secret-tok" not in d.context_json


@pytest.fixture
def api(run_service, database_urls, mailbox):
    url = database_urls("notify")
    base, _, _ = run_service(NotifyService, db_url=url, PUBLIC_BASE_URL=BASE)
    return base, open_database("notify", Base.metadata, url)


def test_only_the_portal_asks_for_sign_in_links_and_only_for_its_own_page(
        api, http, token, mailbox, caplog):
    base, db = api
    url = base + "/api/v1/sign-in-links"
    soon = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
    body = {"email": "jo@school.example", "url": f"{BASE}/sign-in/link/tok-9",
            "expires_at": soon}
    portal = bearer(token(TRUST, "portal", sub="portal"))
    resp = http.post(url, json=body, headers=portal)
    assert resp.status_code == 202, resp.text
    [message] = mailbox.wait_for(1)
    assert f"{BASE}/sign-in/link/tok-9" in message.get_body(("plain",)).get_content()
    assert "tok-9" not in caplog.text  # never in a log line
    for role in ("trust_admin", "senco", "parent", "outreach"):
        assert http.post(url, json=body, headers=bearer(token(TRUST, role))).status_code == 403
    assert http.post(url, json=body).status_code == 401
    for field, value in (("url", "https://evil.example/sign-in/link/tok"),
                         ("url", f"{BASE}/referrals/r-1"), ("url", f"{BASE}/sign-in/link/"),
                         ("email", "nope"), ("expires_at", "2020-01-01T00:00:00+00:00"),
                         ("expires_at", "2030-01-01T00:00:00")):
        bad = http.post(url, json={**body, field: value}, headers=portal)
        assert bad.status_code == 422 and field in bad.json()["errors"], (field, value)
    with db.session() as s:
        assert len(s.execute(select(Delivery)).scalars().all()) == 1
