"""The notify staff API in a running container: proof of notice, resend,
template preview and recipient preferences, each scoped to the caller's
organisation and role."""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.common.db import open_database
from services.notify import domain
from services.notify.adapters import Mailer
from services.notify.models import Base, Delivery, Guardian, RecipientPreference
from services.notify.service import NotifyService
from tests.conftest import bearer, wait_until
from tests.helpers import organisation_onboarded, referral_submitted
from tests.service.test_notify_channels import servers  # noqa: F401  (fixture)


@pytest.fixture
def api(run_service, database_urls, engine_name, mailbox):
    url = database_urls("notify", engine_name)
    base, container, _ = run_service(NotifyService, db_url=url,
                                     OUTREACH_INBOX="outreach@sen-trust.example")
    db = open_database("notify", Base.metadata, url)
    return base, container, db


def _deliver_referral(db, referral_id="r-1", school="school-1"):
    """Events through the handlers (the container's own consumers are tested
    in test_notify_handlers and e2e); the API reads what they recorded."""
    service = worker_factory(NotifyService, db=db, mailer=Mailer())
    service.on_organisation_onboarded(organisation_onboarded(school, "Riverside Primary"))
    service.on_referral_submitted(referral_submitted(referral_id=referral_id, school=school))
    return service


def test_staff_see_the_notifications_about_a_referral(api, http, token, mailbox):
    base, _, db = api
    _deliver_referral(db)
    mailbox.wait_for(2)

    def listed():  # the SMTP server has the mail a moment before the status is recorded
        resp = http.get(f"{base}/api/v1/notifications", params={"referral_id": "r-1"},
                        headers=bearer(token("school-1", "senco")))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        return body if all(i["status"] == "delivered" for i in body["items"]) else None

    body = wait_until(listed) or listed() or {}
    assert body.get("count") == 2, body
    assert {(i["template_id"], i["status"], i["channel"]) for i in body["items"]} == {
        ("referral-submitted-referrer", "delivered", "email"),
        ("referral-submitted-outreach", "delivered", "email")}
    assert all(i["sent_at"] and i["source_event_type"] == "referral.submitted"
               for i in body["items"])
    # the trust sees every school's; another school sees none; a teacher may not look
    trust = http.get(f"{base}/api/v1/notifications", params={"referral_id": "r-1"},
                     headers=bearer(token("trust", "trust_admin")))
    assert trust.json()["count"] == 2
    other = http.get(f"{base}/api/v1/notifications", params={"referral_id": "r-1"},
                     headers=bearer(token("school-2", "senco")))
    assert other.status_code == 200 and other.json()["count"] == 0
    one = body["items"][0]["id"]
    assert http.get(f"{base}/api/v1/notifications/{one}",
                    headers=bearer(token("school-2", "senco"))).status_code == 404
    assert http.get(f"{base}/api/v1/notifications", params={"referral_id": "r-1"},
                    headers=bearer(token("school-1", "teacher"))).status_code == 403
    assert http.get(f"{base}/api/v1/notifications").status_code == 401


def test_the_list_needs_exactly_one_subject(api, http, token):
    base, _, _ = api
    resp = http.get(f"{base}/api/v1/notifications", params={"referral_id": "r", "pupil_id": "p"},
                    headers=bearer(token("school-1", "senco")))
    assert resp.status_code == 422
    assert "referral_id" in resp.json()["errors"]
    resp = http.get(f"{base}/api/v1/notifications", headers=bearer(token("school-1", "senco")))
    assert resp.status_code == 422


def test_resend_sends_a_new_copy_once(api, http, token, mailbox):
    base, _, db = api
    _deliver_referral(db)
    mailbox.wait_for(2)
    with db.session() as s:
        original = s.execute(select(Delivery).where(
            Delivery.template_id == "referral-submitted-referrer")).scalar_one()
    resp = http.post(f"{base}/api/v1/notifications/{original.id}/resend",
                     headers=bearer(token("school-1", "senco")))
    assert resp.status_code == 202, resp.text
    copy = resp.json()
    assert copy["resend_of"] == original.id and copy["id"] != original.id
    assert copy["status"] == domain.DELIVERED
    messages = mailbox.wait_for(3)
    assert len(messages) == 3
    assert len({m["Message-ID"] for m in messages}) == 3
    with db.session() as s:
        outbox = s.execute(select(Base.metadata.tables["outbox"].c.routing_key)).scalars().all()
    assert "notification.resend_requested" in outbox
    # another school's record is not found; a teacher may not resend
    assert http.post(f"{base}/api/v1/notifications/{original.id}/resend",
                     headers=bearer(token("school-2", "senco"))).status_code == 404
    assert http.post(f"{base}/api/v1/notifications/{original.id}/resend",
                     headers=bearer(token("school-1", "teacher"))).status_code == 403
    assert http.post(f"{base}/api/v1/notifications/nope/resend",
                     headers=bearer(token("school-1", "senco"))).status_code == 404


def test_template_preview_with_sample_data(api, http, token):
    base, _, _ = api
    auth = bearer(token("trust", "outreach_lead"))
    resp = http.get(f"{base}/api/v1/templates/passport-published-parent/preview", headers=auth)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["subject"] == "Your child's pupil passport has been updated"
    assert "Dear Sam Sample" in body["text"] and "<p>" in body["html"]
    sms = http.get(f"{base}/api/v1/templates/passport-published-parent/preview",
                   params={"channel": "sms"}, headers=auth).json()
    assert sms["html"] is None and "pupil passport" in sms["text"]
    assert http.get(f"{base}/api/v1/templates/referral-accepted-referrer/preview",
                    params={"channel": "sms"}, headers=auth).status_code == 404
    assert http.get(f"{base}/api/v1/templates/nope/preview", headers=auth).status_code == 404
    bad = http.get(f"{base}/api/v1/templates/passport-published-parent/preview",
                   params={"channel": "fax"}, headers=auth)
    assert bad.status_code == 422 and "channel" in bad.json()["errors"]
    assert http.get(f"{base}/api/v1/templates/passport-published-parent/preview",
                    headers=bearer(token("school-1", "teacher"))).status_code == 403
    listing = http.get(f"{base}/api/v1/templates", headers=auth).json()
    assert {t["template_id"] for t in listing} == {t.id for t in domain.TEMPLATES}


def _seed_people(db):
    """A trust, two schools; Pat is the guardian of a pupil at school-1; school-1's
    contact is office@school-1.example."""
    from tests.service.test_notify_channels import guardians_changed
    service = worker_factory(NotifyService, db=db, mailer=Mailer())
    service.on_organisation_onboarded(organisation_onboarded("trust", "The Trust",
                                                             kind="trust",
                                                             email="hello@trust.example"))
    service.on_organisation_onboarded(organisation_onboarded("school-1", "Oak School",
                                                             email="office@school-1.example"))
    service.on_organisation_onboarded(organisation_onboarded("school-2", "Elm School"))
    service.on_guardians_changed(guardians_changed(pupil="p-1", org="school-1"))
    service.on_guardians_changed(guardians_changed(
        pupil="p-2", org="school-2", guardian_id="g-2", name="Kim", email="kim@home.example",
        mobile="07700900456"))
    return service


def test_preferences_are_validated_and_set_by_the_recipients_school(api, http, token):
    base, _, db = api
    _seed_people(db)
    url = f"{base}/api/v1/notification-preferences"
    senco = bearer(token("school-1", "senco"))
    resp = http.put(url, json={"address": "pat@home.example", "opt_outs": ["passport"],
                               "quiet_hours": "21:00-07:30"}, headers=senco)
    assert resp.status_code == 200, resp.text
    with db.session() as s:
        pref = s.get(RecipientPreference, "pat@home.example")
    assert (pref.opt_outs, pref.quiet_start, pref.quiet_end, pref.org_id) == (
        "passport", "21:00", "07:30", "school-1")
    for body, field in (({"address": "not-an-address"}, "address"),
                        ({"address": "a@b.example", "opt_outs": ["everything"]}, "opt_outs"),
                        ({"address": "a@b.example", "quiet_hours": "late"}, "quiet_hours"),
                        ({"address": "a@b.example", "quiet_hours": "21:00Z-07:30"}, "quiet_hours"),
                        ({"address": "a@b.example", "quiet_hours": "21:00-21:00"}, "quiet_hours"),
                        ({"address": "a@b.example", "quiet_hours": "25:00-07:00"}, "quiet_hours"),
                        ({"address": "a@b.example", "digest": "yes"}, "digest"),
                        ({"address": "a@b.example", "digest": 1}, "digest")):
        bad = http.put(url, json=body, headers=senco)
        assert bad.status_code == 422 and field in str(bad.json()["errors"]), bad.text
    with db.session() as s:
        assert s.get(RecipientPreference, "a@b.example") is None
    other = http.put(url, json={"address": "pat@home.example"},
                     headers=bearer(token("school-2", "senco")))
    assert other.status_code == 404
    assert http.put(url, json={"address": "07700 900123", "digest": True},
                    headers=senco).status_code == 200
    assert http.put(url, json={"address": "pat@home.example"},
                    headers=bearer(token("school-1", "teacher"))).status_code == 403


def test_preferences_belong_to_the_recipient_not_the_first_school_to_write(api, http, token):
    """Issue 11: a SENCO opted out the outreach inbox and another school's parent, and
    then nobody could undo it."""
    base, _, db = api
    _seed_people(db)
    url = f"{base}/api/v1/notification-preferences"
    senco_1 = bearer(token("school-1", "senco"))
    opt_out = {"opt_outs": ["referral", "passport"]}
    # Not the trust's inbox, not another school's parent, not a stranger.
    for address in ("outreach@sen-trust.example", "hello@trust.example", "kim@home.example",
                    "07700900456", "someone@else.example"):
        resp = http.put(url, json={"address": address, **opt_out}, headers=senco_1)
        assert resp.status_code == 404, (address, resp.text)
        assert http.get(f"{url}/{address}", headers=senco_1).status_code == 404
    with db.session() as s:
        assert s.execute(select(RecipientPreference)).scalars().all() == []
    # Its own staff, its own pupils' guardians: yes.
    for address in ("office@school-1.example", "pat@home.example"):
        assert http.put(url, json={"address": address, **opt_out},
                        headers=senco_1).status_code == 200
    # The parent sets their own (a parent token: sub is the address), and it sticks.
    parent = bearer(token("school-2", "parent", sub="kim@home.example", pupils=["p-2"]))
    assert http.put(url, json={"address": "Kim@Home.example", "digest": True},
                    headers=parent).status_code == 200
    assert http.get(f"{url}/kim@home.example", headers=parent).json()["digest"] is True
    assert http.get(f"{url}/pat@home.example", headers=parent).status_code == 403  # own only
    # Pat's own school's SENCO wrote Pat's; Pat may undo it; so may the trust admin.
    pat = bearer(token("school-1", "parent", sub="pat@home.example", pupils=["p-1"]))
    assert http.get(f"{url}/pat@home.example", headers=pat).json()["opt_outs"] == [
        "passport", "referral"]
    assert http.delete(f"{url}/pat@home.example", headers=pat).status_code == 204
    assert http.get(f"{url}/pat@home.example", headers=pat).json()["opt_outs"] == []
    admin = bearer(token("trust", "trust_admin"))
    assert http.get(f"{url}/office@school-1.example", headers=admin).json()["opt_outs"] == [
        "passport", "referral"]
    assert http.delete(f"{url}/office@school-1.example", headers=admin).status_code == 204
    # The trust's own inboxes: only from inside the trust.
    assert http.put(url, json={"address": "outreach@sen-trust.example", "digest": True},
                    headers=bearer(token("trust", "outreach_lead"))).status_code == 200
    outsider = bearer(token("school-1", "senco", sub="outreach@sen-trust.example"))
    assert http.delete(f"{url}/outreach@sen-trust.example",
                       headers=outsider).status_code == 404


def test_metrics_name_channel_template_and_status(api, http, mailbox):
    base, _, db = api
    _deliver_referral(db)
    mailbox.wait_for(2)
    text = http.get(f"{base}/metrics").text
    assert ('notifications_total{channel="email",status="delivered",'
            'template="referral-submitted-referrer"}') in text
    assert "notification_latency_seconds_bucket" in text
    assert wait_until(lambda: "notifications_held_total" in http.get(f"{base}/metrics").text)


def test_pupil_events_from_the_broker_reach_the_family_once(api, mailbox):
    from nameko.standalone.events import event_dispatcher

    from services.contracts import make_event
    _, _, db = api
    dispatch = event_dispatcher()
    guardians = make_event("pupil.guardians_changed", {
        "pupil_id": "p-1", "org_id": "school-1", "guardians": [{
            "guardian_id": "g-1", "name": "Pat Parent", "relationship": "mother",
            "email": "pat@home.example", "mobile": None, "preferred_channel": "email",
            "preferred_language": "en", "parental_responsibility": True}]},
        org_id="school-1", actor="senco")
    dispatch("pupils", "pupil.guardians_changed", guardians)

    def projected():
        with db.session() as s:
            return s.execute(select(Guardian)).scalars().all()
    assert wait_until(projected, timeout=15)
    review = make_event("ehcp.review_due", {"pupil_id": "p-1", "org_id": "school-1",
                                            "plan_id": "plan-1", "due_date": "2027-01-15"},
                        org_id="school-1", actor="pupils")
    dispatch("pupils", "ehcp.review_due", review)
    dispatch("pupils", "ehcp.review_due", review)  # a redelivery
    [message] = mailbox.wait_for(1)
    assert message["To"].addresses[0].addr_spec == "pat@home.example"
    assert "annual review" in message["Subject"]
    assert wait_until(lambda: "notification.delivered" in _routing_keys(db), timeout=10)
    import time
    time.sleep(1)
    assert len(mailbox.messages()) == 1


def _routing_keys(db):
    with db.session() as s:
        return s.execute(select(Base.metadata.tables["outbox"].c.routing_key)).scalars().all()


def test_a_notify_receipt_of_a_bounce_falls_back_to_sms(run_service, database_urls, http,
                                                        servers):  # noqa: F811
    from services.contracts import make_event
    from tests.service.test_notify_channels import deliveries, guardians_changed
    url = database_urls("notify")
    base, _, _ = run_service(NotifyService, db_url=url, NOTIFY_CALLBACK_TOKEN="cb-secret",
                             EMAIL_PROVIDER="auto")
    db = open_database("notify", Base.metadata, url)
    service = worker_factory(NotifyService, db=db, mailer=Mailer())
    service.on_guardians_changed(guardians_changed())
    service.on_passport_published(make_event("passport.published", {
        "pupil_id": "p-1", "org_id": "school-1", "passport_id": "pp-1", "version": 2},
        org_id="school-1", actor="senco"))
    [email] = deliveries(db, audience="parent")
    assert (email.channel, email.status, email.provider) == ("email", "delivered",
                                                             "govuk-notify")
    receipt = {"id": email.provider_ref, "reference": email.id, "to": email.recipient,
               "status": "permanent-failure", "notification_type": "email",
               "created_at": "2026-11-24T09:00:00.000000Z", "completed_at": None,
               "sent_at": "2026-11-24T09:00:01.000000Z", "template_id": "t"}
    receipts = f"{base}/api/v1/notify/receipts"
    assert http.post(receipts, json=receipt).status_code == 401
    assert http.post(receipts, json=receipt,
                     headers=bearer("wrong")).status_code == 401
    bad = http.post(receipts, json={**receipt, "status": "lost"}, headers=bearer("cb-secret"))
    assert bad.status_code == 422 and "status" in bad.json()["errors"]
    assert http.post(receipts, json={**receipt, "reference": "nope"},
                     headers=bearer("cb-secret")).status_code == 404
    resp = http.post(receipts, json=receipt, headers=bearer("cb-secret"))
    assert resp.status_code == 204, resp.text
    assert http.post(receipts, json=receipt, headers=bearer("cb-secret")).status_code == 204
    rows = {d.channel: d for d in deliveries(db, audience="parent")}
    assert rows["email"].status == domain.PERMANENT_FAILURE
    assert (rows["sms"].status, rows["sms"].fallback_of) == (domain.DELIVERED, email.id)
    assert [r["type"] for r in servers.notify_requests()] == ["email", "sms"]


def test_the_receipts_callback_checks_its_token_before_the_body(run_service, database_urls,
                                                                http):
    """Issue 11: a body nested 1,000 deep was a 500 (RecursionError) on this
    unauthenticated endpoint, and the body was parsed before the token was checked."""
    base, _, _ = run_service(NotifyService, db_url=database_urls("notify"),
                             NOTIFY_CALLBACK_TOKEN="cb-secret")
    receipts = f"{base}/api/v1/notify/receipts"
    deep = '{"id": ' + "[" * 1000 + "]" * 1000 + "}"
    headers = {"Content-Type": "application/json"}
    assert http.post(receipts, data=deep, headers=headers).status_code == 401
    assert http.post(receipts, data=b"x" * 2_000_000, headers=headers).status_code == 401
    resp = http.post(receipts, data=deep, headers={**headers, **bearer("cb-secret")})
    assert resp.status_code == 422 and "body" in resp.json()["errors"], resp.text
    resp = http.post(receipts, data=b'{"id": "\\ud800", "reference": "r", "status": "x"}',
                     headers={**headers, **bearer("cb-secret")})
    assert resp.status_code == 422 and "id" in resp.json()["errors"], resp.text
