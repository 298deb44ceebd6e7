"""Emails worth reading (issue 15): names, not codes; plain text and HTML laid
out; a way to reach a person; iCalendar invitations with CPD bookings; messages
about one referral in the order their events happened; the SENCO alert to the
school's SENCOs (the office only when it lists none)."""

import re
from email import message_from_bytes, policy

import pytest
from icalendar import Calendar
from nameko import config as nameko_config

from services.contracts import make_event, names
from services.notify import domain
from services.notify.models import Delivery
from tests.helpers import organisation_onboarded, referral_submitted
from tests.service.test_notify_channels import (  # noqa: F401  (fixtures)
    deliveries,
    notify,
    passport_published,
    servers,
    sweep_until,
)

OUTREACH = "outreach@sen-trust.example"
REFERRER = "jo.smith@riverside.example"
REACH_US = {"phone": "01632 960 123", "address": "1 Example Street, EX1 2AB",
            "email": OUTREACH}

# -- names, not codes; layout ---------------------------------------------------------

SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
# codes a person must never read: those whose name differs and that are not words
CODES = {code for table in names.TABLES for code, name in table.items()
         if code != name and ("_" in code or "-" in code)}


def _renders():
    for template in domain.BY_ID.values():
        context = {**domain.SAMPLE_CONTEXT, "reach_us": REACH_US,
                   "recipient": {"name": "Sam Sample", "audience": template.audience}}
        yield template, domain.render(template, context, domain.EMAIL)
        if template.has_sms():
            yield template, domain.render(template, context, domain.SMS)


@pytest.mark.parametrize("template,rendered", list(_renders()),
                         ids=lambda v: getattr(v, "id", ""))
def test_no_template_shows_a_code(template, rendered):
    subject, text, html = rendered
    for part in (subject, text, re.sub(r"<[^>]+>|https?://\S+", " ", html or "")):
        body = re.sub(r"https?://\S+", " ", part)
        assert not SNAKE.findall(body), (template.id, SNAKE.findall(body))
        found = {c for c in CODES if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", body)}
        assert not found, (template.id, found)


def test_every_email_is_laid_out_in_text_and_html_and_says_how_to_reach_us():
    for template in domain.BY_ID.values():
        context = {**domain.SAMPLE_CONTEXT, "reach_us": REACH_US,
                   "recipient": {"name": "Sam Sample", "audience": template.audience}}
        subject, text, html = domain.render(template, context, domain.EMAIL)
        assert "\n\n\n" not in text and not re.search(r"[ \t]\n", text), template.id
        assert "\nHow to reach us\n- Phone: 01632 960 123\n- Post: 1 Example Street" in text
        assert html.count("<h1") == 1 and f">{subject}</h1>".replace("'", "&#39;") in html
        assert "<ul>" in html and "<li>Phone: 01632 960 123</li>" in html
        lists = [line for line in text.splitlines() if line.startswith("- ")]
        assert html.count("<li>") == len(lists), template.id


def test_the_html_part_is_escaped():
    template = domain.BY_ID["referral-submitted-referrer"]
    context = {**domain.SAMPLE_CONTEXT, "reach_us": REACH_US,
               "school_name": "<script>alert(1)</script> & Co",
               "recipient": {"name": "Sam", "audience": template.audience}}
    _, text, html = domain.render(template, context, domain.EMAIL)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "<script>alert(1)</script> & Co" in text


def test_a_sent_email_replies_to_the_outreach_team_and_names_its_phone(notify, servers):  # noqa: F811
    service, _ = notify
    with nameko_config.patch({"OUTREACH_PHONE": "01632 960 999",
                              "OUTREACH_ADDRESS": "Outreach, 2 Test Road, EX2 3CD"}):
        service.on_organisation_onboarded(organisation_onboarded())
        service.on_referral_submitted(referral_submitted())
    [ack] = servers.emails(REFERRER)
    assert ack["Reply-To"] == OUTREACH and "no-reply@" in ack["From"]
    text = ack.get_body(("plain",)).get_content()
    assert "- Phone: 01632 960 999" in text and "- Post: Outreach, 2 Test Road, EX2 3CD" in text
    html = ack.get_body(("html",)).get_content()
    assert "<h1" in html and "<li>Phone: 01632 960 999</li>" in html


# -- the SENCO alert --------------------------------------------------------------------

def _staff(member_id, email, roles, org="school-1"):
    return make_event("staff.member_added", {
        "member_id": member_id, "org_id": org, "email": email, "name": email.split("@")[0],
        "roles": roles, "active": True}, org_id=org, actor="pupils")


def test_the_senco_alert_goes_to_the_schools_sencos_not_the_office(notify, servers):  # noqa: F811
    service, _ = notify
    service.on_organisation_onboarded(organisation_onboarded(email="office@riverside.example"))
    service.on_staff_member_added(_staff("m-1", "ann.senco@riverside.example", ["senco"]))
    service.on_staff_member_added(_staff("m-2", "bob.senco@riverside.example",
                                         ["senco", "teacher"]))
    service.on_staff_member_added(_staff("m-3", "cat.teacher@riverside.example", ["teacher"]))
    service.on_passport_published(passport_published())
    senco_mail = {m["To"].addresses[0].addr_spec for m in servers.emails()
                  if m["X-SEN-Template"].startswith("passport-published-senco/")}
    assert senco_mail == {"ann.senco@riverside.example", "bob.senco@riverside.example"}


def test_the_senco_alert_goes_to_the_office_when_no_senco_is_listed(notify, servers):  # noqa: F811
    service, _ = notify
    service.on_organisation_onboarded(organisation_onboarded(email="Office@Riverside.example"))
    service.on_staff_member_added(_staff("m-3", "cat.teacher@riverside.example", ["teacher"]))
    service.on_passport_published(passport_published())
    senco_mail = {m["To"].addresses[0].addr_spec for m in servers.emails()
                  if m["X-SEN-Template"].startswith("passport-published-senco/")}
    assert senco_mail == {"office@riverside.example"}


# -- iCalendar invitations -------------------------------------------------------------

SESSION = {"session_id": "s-1", "starts_at": "2027-01-12T15:30:00+00:00",
           "ends_at": "2027-01-12T17:00:00+00:00", "venue": "Riverside hall",
           "online_url": None, "facilitator": "Alex Morgan"}


def _booking(event_type, sequence=None, calendar_status=None, session=SESSION, **extra):
    data = {"booking_id": "b-1", "course_id": "c-1", "course_title": "Supporting transitions",
            "org_id": "school-1", "attendee": {"name": "Tess Teacher",
                                               "email": "tess@school.example"},
            "session": session, "status": "confirmed", "calendar_path": "/cal/b-1.ics", **extra}
    if sequence is not None:
        data.update(calendar_sequence=sequence, calendar_status=calendar_status, cpd_hours=3.5,
                    course_summary="Practical ways to help pupils move between lessons.")
    return make_event(event_type, data, org_id="school-1", actor="cpd")


def _invitation(message):
    """(method of the attachment, its one VEVENT, its METHOD) or Nones."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    if not parts:
        return None, None
    [part] = parts
    calendar = Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    return part.get_param("method"), {"METHOD": str(calendar["METHOD"]),
                                      **{k: str(v) for k, v in event.items()},
                                      "DTSTART": event.decoded("DTSTART").isoformat()}


def _mails(servers, template):  # noqa: F811
    return [m for m in servers.emails("tess@school.example")
            if m["X-SEN-Template"].startswith(template + "/")]


def test_a_booking_email_carries_an_invitation_and_a_cancellation_withdraws_it(
        notify, servers):  # noqa: F811
    service, _ = notify
    service.on_booking_confirmed(_booking("booking.confirmed", 1, "CONFIRMED"))
    [confirmed] = _mails(servers, "booking-confirmed-attendee")
    method, ics = _invitation(confirmed)
    assert (method, ics["METHOD"], ics["UID"], ics["SEQUENCE"], ics["STATUS"]) == (
        "REQUEST", "REQUEST", "b-1@cpd.sen-trust.example", "1", "CONFIRMED")
    assert "Facilitator: Alex Morgan" in ics["DESCRIPTION"]
    assert ics["DTSTART"] == "2027-01-12T15:30:00+00:00"
    service.on_booking_cancelled(_booking("booking.cancelled", 2, "CANCELLED",
                                          status="cancelled", reason="cancelled_by_attendee"))
    [cancelled] = _mails(servers, "booking-cancelled-attendee")
    method, ics = _invitation(cancelled)
    assert (method, ics["METHOD"], ics["UID"], ics["SEQUENCE"], ics["STATUS"]) == (
        "CANCEL", "CANCEL", "b-1@cpd.sen-trust.example", "2", "CANCELLED")
    assert "(cancelled by attendee)" in cancelled.get_body(("plain",)).get_content()


def test_a_reschedule_sends_an_updated_invitation(notify, servers):  # noqa: F811
    service, _ = notify
    service.on_booking_confirmed(_booking("booking.confirmed", 0, "CONFIRMED"))
    moved = {**SESSION, "starts_at": "2027-01-19T15:30:00+00:00",
             "ends_at": "2027-01-19T17:00:00+00:00"}
    service.on_session_rescheduled(make_event("session.rescheduled", {
        "course_id": "c-1", "course_title": "Supporting transitions", "session": moved,
        "previous": SESSION,
        # as cpd sends it: each attendee's booking has its own SEQUENCE and STATUS
        "attendees": [{"booking_id": "b-1", "org_id": "school-1", "name": "Tess Teacher",
                       "email": "tess@school.example", "calendar_sequence": 1,
                       "calendar_status": "CONFIRMED"}]}, org_id="trust", actor="cpd"))
    [first] = _mails(servers, "booking-confirmed-attendee")
    [update] = _mails(servers, "session-rescheduled-attendee")
    _, before = _invitation(first)
    method, after = _invitation(update)
    assert before["UID"] == after["UID"] == "b-1@cpd.sen-trust.example"
    assert (method, before["SEQUENCE"], after["SEQUENCE"]) == ("REQUEST", "0", "1")
    assert after["DTSTART"] == "2027-01-19T15:30:00+00:00"


def test_an_older_booking_event_is_sent_without_an_attachment(notify, servers):  # noqa: F811
    service, db = notify
    service.on_booking_confirmed(_booking("booking.confirmed"))
    [mail] = _mails(servers, "booking-confirmed-attendee")
    assert _invitation(mail) == (None, None)
    assert [d.status for d in deliveries(db)] == [domain.DELIVERED]


# -- order -------------------------------------------------------------------------------

def _referral_event(event_type, sequence, **data):
    base = referral_submitted()["data"]
    body = {k: base[k] for k in ("referral_id", "reference", "school_org_id", "contact")}
    return make_event(event_type, {**body, "sequence": sequence, **data},
                      org_id="school-1", actor="referrals")


def _order_on_the_wire(servers, db, recipient):  # noqa: F811
    ids = {d.id: d.template_id for d in deliveries(db)}
    order = []
    for line in servers.smtp_attempts():
        code, rcpt, message_id = line.split()[:3]
        if code == "250" and rcpt == recipient:
            order.append(ids[message_id.strip("<>").split("@")[0]])
    return order


def test_messages_about_a_referral_reach_the_server_in_the_order_of_their_events(
        notify, servers):  # noqa: F811
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded())
    service.on_referral_submitted(_referral_event(
        "referral.submitted", 1, areas_of_need=["communication_and_interaction"],
        submitted_at="2026-11-24T09:00:00+00:00"))
    # "visit logged" (3) is handled before "accepted" (2): it waits for the gap
    service.on_referral_visit_logged(_referral_event(
        "referral.visit_logged", 3, visit_id="v-1", visit_date="2026-12-01", minutes=60))
    [visit] = deliveries(db, template_id="referral-visit-logged-referrer")
    assert (visit.status, visit.waiting) == (domain.CREATED, True)
    service.sweep()  # still waiting: the gap is not filled
    assert deliveries(db, template_id="referral-visit-logged-referrer")[0].status == \
        domain.CREATED
    accepted = _referral_event("referral.accepted", 2, waiting=False)
    service.on_referral_accepted(accepted)
    assert {d.status for d in deliveries(db)} == {domain.DELIVERED}
    assert _order_on_the_wire(servers, db, REFERRER) == [
        "referral-submitted-referrer", "referral-accepted-referrer",
        "referral-visit-logged-referrer"]
    service.on_referral_accepted(accepted)
    assert len(servers.emails(REFERRER)) == 3  # a redelivery: nothing twice


def test_a_gap_never_filled_holds_a_message_only_for_the_bounded_wait(notify, servers):  # noqa: F811
    service, db = notify
    with nameko_config.patch({"DELIVERY_ORDER_WAIT_SECONDS": "1"}):
        service.on_referral_visit_logged(_referral_event(
            "referral.visit_logged", 5, visit_id="v-1", visit_date="2026-12-01", minutes=60))
        assert servers.emails(REFERRER) == []
        assert sweep_until(service, lambda: len(servers.emails(REFERRER)) == 1, timeout=10)
    with db.session() as s:
        assert s.get(Delivery, deliveries(db)[0].id).status == domain.DELIVERED


def test_without_a_sequence_a_later_message_waits_for_an_earlier_unsent_one(notify, servers):  # noqa: F811
    service, db = notify
    flaky = "flaky1@riverside.example"
    with nameko_config.patch({"DELIVERY_BACKOFF_SECONDS": "0.2"}):
        service.on_referral_submitted(referral_submitted(email=flaky))  # refused once (451)
        accepted = _referral_event("referral.accepted", None, waiting=False)
        accepted["data"]["contact"]["email"] = flaky
        service.on_referral_accepted(accepted)
        assert deliveries(db, template_id="referral-accepted-referrer")[0].status == \
            domain.CREATED  # waits for the acknowledgement
        assert sweep_until(service, lambda: {d.status for d in deliveries(
            db, recipient=flaky)} == {domain.DELIVERED})
    assert _order_on_the_wire(servers, db, flaky) == [
        "referral-submitted-referrer", "referral-accepted-referrer"]


def test_message_parts_parse(notify, servers):  # noqa: F811
    """The stored .eml files are whole messages (the attachment did not break them)."""
    service, _ = notify
    service.on_booking_confirmed(_booking("booking.confirmed", 1, "CONFIRMED"))
    for path in servers.smtp_dir.glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message.get_body(("plain",)) is not None
