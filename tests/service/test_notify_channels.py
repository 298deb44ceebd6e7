"""Notify's channels against real servers in their own processes:

- an SMTP server (aiosmtpd) that refuses a message with a 4xx a given number
  of times before it accepts it, and bounces some recipients with a 5xx;
- a local HTTP server that answers as GOV.UK Notify's documented API does
  (POST /v2/notifications/email and /sms, GET /v2/notifications, JWT
  bearer tokens checked with the official client's own code), driven by the
  official client `notifications-python-client`.

Both servers live in this module (`python -m tests.service.test_notify_channels
smtp|notify ...`), so the tests and the servers share one definition.
"""

import argparse
import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

if __name__ != "__main__":
    import pytest
    from nameko import config as nameko_config
    from nameko.testing.services import worker_factory
    from sqlalchemy import select, update

    from services.common.db import open_database, utcnow
    from services.common.deadletters import list_dead_letters
    from services.contracts import make_event
    from services.notify import domain
    from services.notify.adapters import Mailer
    from services.notify.models import Base, Delivery, RecipientPreference
    from services.notify.service import NotifyService
    from tests.conftest import ROOT, free_port, wait_until
    from tests.helpers import organisation_onboarded, referral_submitted

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"sen_test-{SERVICE_ID}-{SECRET}"
EMAIL_TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
SMS_TEMPLATE = "289b6b13-5f2c-4d27-a5f0-d0d4ad9b7c10"
BAD_MOBILE = "07700900999"  # the fake Notify answers 400 for it, as for an invalid number


# -- the servers (run in subprocesses) ---------------------------------------------

def run_smtp(directory, port):
    """Accept everything, except: a recipient `bounce...@` is refused with 550 at
    RCPT; a message to `flakyN...@` is refused with 451 the first N times."""
    import email
    import email.policy
    import re
    import signal
    import threading

    from aiosmtpd.controller import Controller

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    refusals = {}

    def log(line):
        with lock, open(directory / "attempts.log", "a") as f:
            f.write(line + "\n")

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("bounce"):
                log(f"550 {address}")
                return "550 5.1.1 The email account that you tried to reach does not exist"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            message_id = msg["Message-ID"]
            rcpt = envelope.rcpt_tos[0]
            flaky = re.match(r"flaky(\d+)", rcpt)
            with lock:
                seen = refusals.get(message_id, 0)
                if flaky and seen < int(flaky.group(1)):
                    refusals[message_id] = seen + 1
                    refuse = True
                else:
                    refuse = False
            if refuse:
                log(f"451 {rcpt} {message_id}")
                return "451 4.3.0 Mailbox temporarily unavailable, try again later"
            log(f"250 {rcpt} {message_id}")
            name = uuid.uuid4().hex + ".eml"
            (directory / name).write_bytes(envelope.content)
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    stop.wait()
    controller.stop()


def run_notify(directory, port, templates):
    """GOV.UK Notify's API as documented at docs.notifications.service.gov.uk
    (REST API): the JWT check is the official client's own `decode_jwt_token`."""
    import re
    import threading

    from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
    from notifications_python_client.errors import TokenError
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sent = []
    lock = threading.Lock()
    base = f"http://127.0.0.1:{port}"

    def error(status, name, message):
        return Response(json.dumps({"errors": [{"error": name, "message": message}],
                                    "status_code": status}),
                        status=status, content_type="application/json")

    def fill(text, personalisation):
        missing = [k for k in re.findall(r"\(\(([^)]+)\)\)", text) if k not in personalisation]
        if missing:
            return None, missing
        return re.sub(r"\(\(([^)]+)\)\)", lambda m: str(personalisation[m.group(1)]),
                      text), []

    @Request.application
    def app(request):
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return error(401, "AuthError", "Unauthorized: authentication token must be provided")
        token = auth[7:]
        try:
            if get_token_issuer(token) != SERVICE_ID:
                return error(403, "AuthError", "Invalid token: service not found")
            decode_jwt_token(token, SECRET)
        except TokenError as exc:
            return error(403, "AuthError", exc.message)
        if request.method == "GET" and request.path == "/v2/notifications":
            ref = request.args.get("reference")
            with lock:
                found = [n for n in sent if ref is None or n["reference"] == ref]
            return Response(json.dumps({"notifications": found, "links": {
                "current": f"{base}/v2/notifications"}}), content_type="application/json")
        kind = {"/v2/notifications/email": "email", "/v2/notifications/sms": "sms"}.get(
            request.path)
        if request.method != "POST" or kind is None:
            return error(404, "NotFound", "Not Found")
        body = request.get_json(silent=True) or {}
        field = "email_address" if kind == "email" else "phone_number"
        if not body.get(field):
            return error(400, "ValidationError", f"{field} is a required property")
        if "template_id" not in body:
            return error(400, "ValidationError", "template_id is a required property")
        template = templates.get(body["template_id"])
        if template is None or template["type"] != kind:
            return error(400, "BadRequestError", "Template not found")
        if kind == "sms" and body[field].replace(" ", "") == BAD_MOBILE:
            return error(400, "ValidationError", "phone_number Not a UK mobile number")
        personalisation = body.get("personalisation") or {}
        text, missing = fill(template["body"], personalisation)
        if missing:
            return error(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        notification_id = str(uuid.uuid4())
        content = {"body": text}
        if kind == "email":
            content.update(subject=fill(template["subject"], personalisation)[0],
                           from_email="sen.trust@notifications.service.gov.uk",
                           one_click_unsubscribe_url=None)
        else:
            content["from_number"] = "SENTRUST"
        record = {"id": notification_id, "reference": body.get("reference"), "type": kind,
                  field: body[field], "template": {"id": body["template_id"], "version": 1,
                  "uri": f"{base}/v2/templates/{body['template_id']}"},
                  "personalisation": personalisation, "status": "created", "content": content}
        with lock:
            sent.append(record)
            with open(directory / "requests.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
        return Response(json.dumps({
            "id": notification_id, "reference": body.get("reference"), "content": content,
            "uri": f"{base}/v2/notifications/{notification_id}",
            "template": record["template"]}), status=201, content_type="application/json")

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("smtp", "notify"))
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.kind == "smtp":
        run_smtp(args.dir, args.port)
    else:
        run_notify(args.dir, args.port, {
            EMAIL_TEMPLATE: {"type": "email", "subject": "((subject))", "body": "((body))"},
            SMS_TEMPLATE: {"type": "sms", "body": "((body))"}})
    sys.exit(0)


# -- fixtures ----------------------------------------------------------------------

def _start(kind, directory, port):
    proc = subprocess.Popen([sys.executable, "-m", "tests.service.test_notify_channels", kind,
                             "--dir", str(directory), "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


class Servers:
    def __init__(self, smtp_dir, notify_dir):
        self.smtp_dir, self.notify_dir = smtp_dir, notify_dir

    def emails(self, to=None):
        from email import message_from_bytes, policy
        msgs = [message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in sorted(self.smtp_dir.glob("*.eml"))]
        return [m for m in msgs if to is None or m["To"].addresses[0].addr_spec == to]

    def smtp_attempts(self):
        log = self.smtp_dir / "attempts.log"
        return log.read_text().splitlines() if log.exists() else []

    def notify_requests(self):
        log = self.notify_dir / "requests.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() \
            else []


@pytest.fixture
def servers(tmp_path):
    smtp_port, notify_port = free_port(), free_port()
    smtp = _start("smtp", tmp_path / "smtp", smtp_port)
    notify = _start("notify", tmp_path / "notify", notify_port)
    patch = nameko_config.patch({
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_TIMEOUT": "5",
        "NOTIFY_API_KEY": API_KEY, "NOTIFY_BASE_URL": f"http://127.0.0.1:{notify_port}",
        "NOTIFY_EMAIL_TEMPLATE_ID": EMAIL_TEMPLATE, "NOTIFY_SMS_TEMPLATE_ID": SMS_TEMPLATE,
        "EMAIL_PROVIDER": "smtp", "OUTREACH_INBOX": "outreach@sen-trust.example"})
    patch.start()
    try:
        yield Servers(tmp_path / "smtp", tmp_path / "notify")
    finally:
        patch.stop()
        for proc in (smtp, notify):
            proc.terminate()
            proc.wait(5)


@pytest.fixture
def notify(database_urls, engine_name, rabbit_config):
    db = open_database("notify", Base.metadata, database_urls("notify", engine_name))
    return worker_factory(NotifyService, db=db, mailer=Mailer()), db


def deliveries(db, **where):
    with db.session() as s:
        rows = s.execute(select(Delivery).order_by(Delivery.created_at)).scalars().all()
    return [d for d in rows if all(getattr(d, k) == v for k, v in where.items())]


def outbox_types(db):
    with db.session() as s:
        return [json.loads(b)["type"] for b in s.execute(
            select(Base.metadata.tables["outbox"].c.body)).scalars()]


def sweep_until(service, predicate, timeout=20):
    def check():
        service.sweep()
        return predicate()
    return wait_until(check, timeout=timeout, interval=0.1)


def guardians_changed(pupil="p-1", org="school-1", **guardian):
    g = {"guardian_id": "g-1", "name": "Pat Parent", "relationship": "mother",
         "email": "pat@home.example", "mobile": "07700900123", "preferred_channel": "email",
         "preferred_language": "en", "parental_responsibility": True, **guardian}
    return make_event("pupil.guardians_changed", {"pupil_id": pupil, "org_id": org,
                                                  "guardians": [g]}, org_id=org, actor="senco")


def passport_published(pupil="p-1", org="school-1"):
    return make_event("passport.published", {"pupil_id": pupil, "org_id": org,
                                             "passport_id": "pp-1", "version": 2},
                      org_id=org, actor="senco")


# -- SMTP: retries with backoff, exactly once --------------------------------------

def test_a_4xx_refusal_is_retried_with_backoff_and_delivered_once(notify, servers):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded())
    event = referral_submitted(email="flaky2@riverside.example")
    service.on_referral_submitted(event)
    ack = deliveries(db, recipient="flaky2@riverside.example")[0]
    assert ack.status == domain.TEMPORARY_FAILURE and "451" in ack.last_error
    assert ack.next_attempt_at > utcnow()  # backoff: not due again at once
    assert sweep_until(service, lambda: deliveries(
        db, recipient="flaky2@riverside.example")[0].status == domain.DELIVERED)
    ack = deliveries(db, recipient="flaky2@riverside.example")[0]
    assert ack.attempts == 3
    attempts = [a for a in servers.smtp_attempts() if "flaky2@" in a]
    assert [a.split()[0] for a in attempts] == ["451", "451", "250"]
    assert len({a.split()[2] for a in attempts}) == 1  # the same Message-ID every time
    for _ in range(3):  # more sweeps and a redelivery change nothing
        service.sweep()
    service.on_referral_submitted(event)  # a redelivery
    assert len(servers.emails("flaky2@riverside.example")) == 1
    assert outbox_types(db).count("notification.delivered") == 2


def test_retries_run_out_then_technical_failure_and_dead_letter(notify, servers):
    service, db = notify
    with nameko_config.patch({"DELIVERY_MAX_ATTEMPTS": "2"}):
        service.on_referral_submitted(referral_submitted(email="flaky9@riverside.example"))
        assert sweep_until(service, lambda: deliveries(
            db, recipient="flaky9@riverside.example")[0].status == domain.TECHNICAL_FAILURE)
    assert servers.emails("flaky9@riverside.example") == []
    assert "notification.failed" in outbox_types(db)
    dead = list_dead_letters("notify")
    assert len(dead) == 1
    assert dead[0]["reason"].startswith("technical-failure: SMTP 451")
    assert dead[0]["event_type"] == "referral.submitted"


# -- fallback between channels ----------------------------------------------------

def test_a_permanent_email_bounce_falls_back_to_sms(notify, servers):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded())
    service.on_guardians_changed(guardians_changed(email="bounce.pat@home.example"))
    event = passport_published()
    service.on_passport_published(event)

    email = deliveries(db, channel="email", audience="parent")[0]
    assert email.status == domain.PERMANENT_FAILURE and "550" in email.last_error
    sms = deliveries(db, channel="sms")[0]
    assert (sms.status, sms.recipient, sms.fallback_of) == (
        domain.DELIVERED, "07700900123", email.id)
    requests = servers.notify_requests()
    assert len(requests) == 1
    req = requests[0]
    assert (req["type"], req["phone_number"], req["reference"]) == ("sms", "07700900123",
                                                                      sms.id)
    assert req["template"]["id"] == SMS_TEMPLATE
    assert "pupil passport" in req["content"]["body"] and len(req["content"]["body"]) < 306
    assert sms.provider == "govuk-notify" and sms.provider_ref == req["id"]
    # the SENCO's email went by SMTP as normal; nothing failed for good
    assert servers.emails("senco@riverside.example")
    assert "notification.failed" not in outbox_types(db)
    for _ in range(3):
        service.sweep()
    service.on_passport_published(event)  # a redelivery
    assert len(servers.notify_requests()) == 1
    assert len(deliveries(db)) == 3


def test_a_permanent_sms_failure_falls_back_to_email(notify, servers):
    service, db = notify
    service.on_guardians_changed(guardians_changed(mobile=BAD_MOBILE, preferred_channel="sms"))
    service.on_passport_published(passport_published())
    sms = deliveries(db, channel="sms")[0]
    assert sms.status == domain.PERMANENT_FAILURE and "ValidationError" in sms.last_error
    email = deliveries(db, channel="email", audience="parent")[0]
    assert (email.status, email.recipient, email.fallback_of) == (
        domain.DELIVERED, "pat@home.example", sms.id)
    assert len(servers.emails("pat@home.example")) == 1


def test_no_other_channel_means_failed_for_good(notify, servers):
    service, db = notify
    service.on_guardians_changed(guardians_changed(email="bounce.pat@home.example",
                                                   mobile=None))
    service.on_passport_published(passport_published())
    assert [d.status for d in deliveries(db, audience="parent")] == [domain.PERMANENT_FAILURE]
    assert "notification.failed" in outbox_types(db)
    assert servers.notify_requests() == []


# -- GOV.UK Notify as the email channel -------------------------------------------

def test_govuk_notify_email_with_the_official_client(notify, servers):
    service, db = notify
    with nameko_config.patch({"EMAIL_PROVIDER": "auto"}):  # the key is set: Notify sends
        service.on_organisation_onboarded(organisation_onboarded())
        service.on_referral_submitted(referral_submitted())
    assert servers.emails() == []
    requests = {r["email_address"]: r for r in servers.notify_requests()}
    assert set(requests) == {"jo.smith@riverside.example", "outreach@sen-trust.example"}
    ack = requests["jo.smith@riverside.example"]
    assert ack["template"]["id"] == EMAIL_TEMPLATE
    assert ack["content"]["subject"] == "We have received your outreach referral REF-AAAA-0001"
    assert "Dear Jo Smith" in ack["content"]["body"]
    rows = deliveries(db)
    assert {(d.status, d.provider) for d in rows} == {(domain.DELIVERED, "govuk-notify")}
    assert {d.provider_ref for d in rows} == {r["id"] for r in requests.values()}


def test_templates_mapped_in_settings_get_their_own_notify_template(notify, servers):
    service, db = notify
    mapping = {"referral-submitted-referrer": {"email": EMAIL_TEMPLATE}}
    with nameko_config.patch({"EMAIL_PROVIDER": "auto", "NOTIFY_EMAIL_TEMPLATE_ID": "",
                              "NOTIFY_TEMPLATE_IDS": json.dumps(mapping)}):
        service.on_referral_submitted(referral_submitted())
    by_template = {d.template_id: d for d in deliveries(db)}
    assert by_template["referral-submitted-referrer"].status == domain.DELIVERED
    outreach = by_template["referral-submitted-outreach"]  # no template mapped, no generic
    assert outreach.status == domain.TECHNICAL_FAILURE
    assert "no GOV.UK Notify email template" in outreach.last_error
    assert servers.notify_requests()[0]["personalisation"]["reference"] == "REF-AAAA-0001"


def test_a_wrong_api_key_is_a_technical_failure(notify, servers):
    service, db = notify
    wrong = f"sen_test-{SERVICE_ID}-{uuid.uuid4()}"
    with nameko_config.patch({"EMAIL_PROVIDER": "auto", "NOTIFY_API_KEY": wrong}):
        service.on_referral_submitted(referral_submitted())
    rows = deliveries(db)
    assert {d.status for d in rows} == {domain.TECHNICAL_FAILURE}
    assert all("403 AuthError" in d.last_error for d in rows)
    assert servers.notify_requests() == []


def test_a_crash_after_notify_accepted_does_not_send_twice(notify, servers):
    service, db = notify
    service.on_guardians_changed(guardians_changed(preferred_channel="sms"))
    service.on_passport_published(passport_published())
    sms = deliveries(db, channel="sms")[0]
    assert sms.status == domain.DELIVERED and len(servers.notify_requests()) == 1
    # as if the process died after Notify accepted it, before the outcome was recorded
    with db.session() as s:
        s.execute(update(Delivery).where(Delivery.id == sms.id).values(
            status=domain.SENDING, claimed_at=utcnow().replace(year=2020), provider_ref=None))
        s.commit()
    assert sweep_until(service, lambda: deliveries(db, channel="sms")[0].status ==
                       domain.DELIVERED)
    assert len(servers.notify_requests()) == 1
    assert deliveries(db, channel="sms")[0].provider_ref == servers.notify_requests()[0]["id"]


# -- preferences: opt-outs, statutory notices, quiet hours, digest ----------------

def _prefer(db, address, **values):
    with db.session() as s:
        s.add(RecipientPreference(address=address, org_id="school-1", updated_at=utcnow(),
                                  opt_outs=values.pop("opt_outs", ""), **values))
        s.commit()


def test_opt_out_is_respected_except_for_statutory_notices(notify, servers):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded())
    service.on_guardians_changed(guardians_changed())
    _prefer(db, "pat@home.example", opt_outs="passport,ehcp")
    service.on_passport_published(passport_published())
    service.on_ehcp_review_due(make_event("ehcp.review_due", {
        "pupil_id": "p-1", "org_id": "school-1", "plan_id": "plan-1",
        "due_date": "2027-01-15"}, org_id="school-1", actor="pupils"))
    to_parent = servers.emails("pat@home.example")
    assert [m["Subject"] for m in to_parent] == [
        "Your child's EHC plan annual review is due by 15 January 2027"]
    statutory = deliveries(db, recipient="pat@home.example")[0]
    assert statutory.statutory and statutory.status == domain.DELIVERED


def test_quiet_hours_hold_a_message_and_send_it_afterwards(notify, servers):
    from datetime import timedelta

    from services.notify.commands.deliveries import HELD
    service, db = notify
    local = utcnow().astimezone(domain.LOCAL_TZ)
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).strftime("%H:%M")
    _prefer(db, "pat@home.example", quiet_start=start, quiet_end=end)
    before = HELD.labels("email", "passport-published-parent", "quiet_hours")._value.get()
    service.on_guardians_changed(guardians_changed())
    service.on_passport_published(passport_published())
    held = deliveries(db, recipient="pat@home.example")[0]
    assert held.held and held.status == domain.CREATED
    assert held.next_attempt_at > utcnow() + timedelta(minutes=50)
    service.sweep()
    assert servers.emails("pat@home.example") == []
    assert HELD.labels("email", "passport-published-parent",
                       "quiet_hours")._value.get() == before + 1
    with db.session() as s:  # the quiet hours end
        s.execute(update(Delivery).where(Delivery.id == held.id).values(
            next_attempt_at=utcnow()))
        s.commit()
    assert sweep_until(service, lambda: len(servers.emails("pat@home.example")) == 1)


def test_staff_daily_digest_gathers_messages_into_one(notify, servers):
    service, db = notify
    _prefer(db, "jo.smith@riverside.example", digest=True)
    service.on_organisation_onboarded(organisation_onboarded())
    service.on_referral_submitted(referral_submitted(referral_id="r-1", reference="REF-1"))
    service.on_referral_submitted(referral_submitted(referral_id="r-2", reference="REF-2"))
    held = deliveries(db, recipient="jo.smith@riverside.example")
    assert len(held) == 2 and all(d.digest and d.status == domain.CREATED for d in held)
    service.sweep()
    assert servers.emails("jo.smith@riverside.example") == []
    assert len(servers.emails("outreach@sen-trust.example")) == 2  # no digest chosen
    with db.session() as s:  # digest time comes
        s.execute(update(Delivery).where(Delivery.digest == True).values(  # noqa: E712
            next_attempt_at=utcnow()))
        s.commit()
    assert sweep_until(service, lambda: servers.emails("jo.smith@riverside.example"))
    service.sweep()
    [digest] = servers.emails("jo.smith@riverside.example")
    assert digest["Subject"] == "SEN Trust: 2 updates since yesterday"
    body = digest.get_body(("plain",)).get_content()
    assert "REF-1" in body and "REF-2" in body
    assert {d.status for d in deliveries(db, recipient="jo.smith@riverside.example")} == {
        domain.DELIVERED}


# -- pupil events reach the right people -------------------------------------------

def test_pupil_moved_tells_parents_and_the_new_school(notify, servers):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded("school-1", "Riverside Primary"))
    new_school = make_event("organisation.onboarded", {
        "org_id": "school-2", "name": "Hillside Academy", "urn": "100002",
        "laestab": "2021002", "kind": "trust_school", "contact_email": "senco@hillside.example",
    }, org_id="school-2", actor="senctl")
    service.on_organisation_onboarded(new_school)
    service.on_guardians_changed(guardians_changed())
    service.on_pupil_moved(make_event("pupil.moved", {
        "pupil_id": "p-1", "from_org_id": "school-1", "to_org_id": "school-2",
        "moved_on": "2027-01-05"}, org_id="school-2", actor="pupils"))
    [parent] = servers.emails("pat@home.example")
    assert parent["Subject"] == "Your child's records have moved to Hillside Academy"
    assert "5 January 2027" in parent.get_body(("plain",)).get_content()
    [senco] = servers.emails("senco@hillside.example")
    assert "joined Hillside Academy" in senco["Subject"]
    assert servers.emails("senco@riverside.example") == []


def test_referral_events_reach_referrer_and_allocated_practitioner(notify, servers):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded())
    base = {"referral_id": "r-1", "reference": "REF-AAAA-0001", "school_org_id": "school-1",
            "contact": {"name": "Jo Smith", "email": "jo.smith@riverside.example"}}
    service.on_referral_allocated(make_event("referral.allocated", {
        **base, "practitioner": {"sub": "alex", "name": "Alex Morgan",
                                 "email": "alex@sen-trust.example"}},
        org_id="school-1", actor="lead"))
    service.on_referral_closed(make_event("referral.closed", {
        **base, "outcome": "targets_met"}, org_id="school-1", actor="alex"))
    subjects = sorted(m["Subject"] for m in servers.emails("alex@sen-trust.example"))
    assert subjects == ["Referral REF-AAAA-0001 has been allocated to you",
                        "Referral REF-AAAA-0001 has been closed"]
    jo = sorted(m["Subject"] for m in servers.emails("jo.smith@riverside.example"))
    assert jo == ["Outreach referral REF-AAAA-0001 has been closed",
                  "Outreach referral REF-AAAA-0001: your practitioner is Alex Morgan"]
    closed = next(m for m in servers.emails("jo.smith@riverside.example")
                  if "closed" in m["Subject"])
    assert "targets met" in closed.get_body(("plain",)).get_content()


def test_erasure_removes_the_family_and_redacts_receipts(notify, servers):
    service, db = notify
    service.on_guardians_changed(guardians_changed())
    service.on_passport_published(passport_published())
    service.on_pupil_erased(make_event("pupil.erased", {
        "pupil_id": "p-1", "org_id": "school-1", "mode": "erased"},
        org_id="school-1", actor="pupils"))
    receipts = deliveries(db, subject_ref="p-1")
    assert receipts and all(d.recipient == "erased" and d.body_text == "" for d in receipts)
    assert {d.status for d in receipts} == {domain.DELIVERED}
    service.on_passport_published(passport_published())  # nobody to tell any more
    assert len(deliveries(db, audience="parent")) == 1


# -- cpd: bookings and certificates reach the attendee ------------------------------

def _booking(event_type, **extra):
    return make_event(event_type, {
        "booking_id": "b-1", "course_id": "c-1", "course_title": "Supporting transitions",
        "org_id": "school-1", "attendee": {"name": "Sam Teacher", "email": "sam@school.example"},
        "session": {"session_id": "s-1", "starts_at": "2027-01-12T15:30:00+00:00",
                    "ends_at": "2027-01-12T17:00:00+00:00", "venue": "Riverside hall"},
        "status": "confirmed", "calendar_path": "/api/v1/cpd/calendar/k3y.ics", **extra},
        org_id="school-1", actor="cpd")


def test_booking_and_certificate_messages(notify, servers):
    service, db = notify
    service.on_booking_waitlisted(_booking("booking.waitlisted", status="waitlisted",
                                           waitlist_position=2))
    service.on_booking_promoted(_booking("booking.promoted"))
    service.on_booking_cancelled(_booking("booking.cancelled", status="cancelled",
                                          reason="cancelled_by_provider"))
    service.on_certificate_issued(make_event("certificate.issued", {
        "certificate_id": "cert-1", "course_id": "c-1", "course_title": "Supporting transitions",
        "org_id": "school-1", "attendee": {"name": "Sam Teacher", "email": "sam@school.example"},
        "cpd_hours": 3.5, "verification_code": "CPD-7KQ2", "verify_path": "/verify/CPD-7KQ2"},
        org_id="school-1", actor="cpd"))
    by_subject = {m["Subject"]: m.get_body(("plain",)).get_content()
                  for m in servers.emails("sam@school.example")}
    assert set(by_subject) == {
        "You are on the waiting list for Supporting transitions",
        "A place is now yours: Supporting transitions on Tuesday 12 January 2027",
        "Booking cancelled: Supporting transitions on Tuesday 12 January 2027",
        "Your certificate for Supporting transitions"}
    promoted = by_subject["A place is now yours: Supporting transitions on Tuesday 12 "
                          "January 2027"]
    assert "15:30 to 17:00" in promoted and "/cpd/bookings/b-1/calendar.ics" in promoted
    assert "number 2" in by_subject["You are on the waiting list for Supporting transitions"]
    assert "3.5 hours" in by_subject["Your certificate for Supporting transitions"]
    assert {d.subject_kind for d in deliveries(db)} == {"cpd"}


def test_everyone_booked_hears_that_a_session_was_cancelled_or_moved(notify, servers):
    service, db = notify
    session = {"session_id": "s-1", "starts_at": "2027-01-12T15:30:00+00:00",
               "ends_at": "2027-01-12T17:00:00+00:00", "venue": "Riverside hall"}
    attendees = [{"booking_id": f"b-{i}", "org_id": "school-1", "name": f"Teacher {i}",
                  "email": f"t{i}@school.example"} for i in (1, 2)]
    common = {"course_id": "c-1", "course_title": "Supporting transitions",
              "attendees": attendees}
    service.on_session_rescheduled(make_event("session.rescheduled", {
        **common, "previous": session,
        "session": {**session, "starts_at": "2027-01-19T15:30:00+00:00",
                    "ends_at": "2027-01-19T17:00:00+00:00"}},
        org_id="trust", actor="cpd"))
    service.on_session_cancelled(make_event("session.cancelled", {
        **common, "session": {**session, "starts_at": "2027-01-19T15:30:00+00:00",
                              "ends_at": "2027-01-19T17:00:00+00:00"}},
        org_id="trust", actor="cpd"))
    for i in (1, 2):
        subjects = {m["Subject"]: m.get_body(("plain",)).get_content()
                    for m in servers.emails(f"t{i}@school.example")}
        assert set(subjects) == {
            "Session moved: Supporting transitions is now on Tuesday 19 January 2027",
            "Session cancelled: Supporting transitions on Tuesday 19 January 2027"}
        moved = subjects["Session moved: Supporting transitions is now on Tuesday 19 "
                         "January 2027"]
        assert "Was: Tuesday 12 January 2027, 15:30 to 17:00" in moved
        assert f"Dear Teacher {i}" in moved
    assert len(deliveries(db)) == 4


def test_the_rate_limiter_paces_notify_requests(notify, servers):
    from services.notify.adapters.sms import RATE_LIMITED, RateLimiter
    _, db = notify
    limiter = RateLimiter(2, period=1.0)  # 2 a second: Notify's 3,000 a minute, scaled
    service = worker_factory(NotifyService, db=db, mailer=Mailer(limiter=limiter))
    before = RATE_LIMITED.labels("email")._value.get()
    started = time.monotonic()
    with nameko_config.patch({"EMAIL_PROVIDER": "auto"}):
        for i in range(3):
            service.on_referral_submitted(referral_submitted(referral_id=f"r-{i}"))
    elapsed = time.monotonic() - started
    assert len(servers.notify_requests()) == 6
    assert elapsed >= 2.0  # 6 sends at 2 a second: the 3rd and 5th waited for a window
    assert RATE_LIMITED.labels("email")._value.get() >= before + 2
    assert {d.status for d in deliveries(db)} == {domain.DELIVERED}


def test_a_resubmission_is_not_announced_as_a_new_referral(notify, servers):
    service, db = notify
    service.on_organisation_onboarded(organisation_onboarded("school-1", "Riverside Primary"))
    event = referral_submitted()
    event["data"]["resubmission"] = True
    service.on_referral_submitted(event)
    [alert] = servers.emails("outreach@sen-trust.example")
    assert alert["Subject"] == ("More information received for referral REF-AAAA-0001 "
                                "from Riverside Primary")
    [ack] = servers.emails("jo.smith@riverside.example")
    assert ack["Subject"] == "We have received the information for referral REF-AAAA-0001"
    assert {d.template_version for d in deliveries(db)} == {2}


def test_a_place_granted_tells_the_referrer(notify, servers):
    service, db = notify
    service.on_referral_place_granted(make_event("referral.place_granted", {
        "referral_id": "r-1", "reference": "REF-AAAA-0001", "school_org_id": "school-1",
        "contact": {"name": "Jo Smith", "email": "jo.smith@riverside.example"},
        "agreement_id": "a-1"}, org_id="school-1", actor="referrals"))
    [message] = servers.emails("jo.smith@riverside.example")
    assert message["Subject"] == "A place is now available for outreach referral REF-AAAA-0001"
