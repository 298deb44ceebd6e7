"""Notify service entrypoints: keep the recipient projections, turn events
into messages and send them; the staff API (proof of notice, resend,
template preview, recipient preferences)."""

import hmac
import uuid
from datetime import time

from sqlalchemy import delete, select, update
from werkzeug.wrappers import Response

from services.common import settings
from services.common.consumer import subscribe
from services.common.db import DatabaseProvider, utcnow
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.problems import Conflict, NotFound, Unauthorized
from services.common.service import PlatformService
from services.common.timers import timer_from_setting
from services.contracts import links

from . import channels, delivery, domain
from .models import (
    Base,
    Delivery,
    Guardian,
    Organisation,
    Pupil,
    RecipientPreference,
    ReferralContact,
    StaffMember,
)
from .schemas import (
    NotificationListSchema,
    NotificationQuerySchema,
    NotificationSchema,
    NotifyReceiptSchema,
    PreferenceQuerySchema,
    PreferenceSchema,
    PreviewQuerySchema,
    PreviewSchema,
    SignInLinkSchema,
)

SERVICE = "notify"
ALL_SEEING = ("trust_admin", "outreach_lead", "auditor")
READERS = ALL_SEEING + ("senco", "partner_referrer")
RESENDERS = ("trust_admin", "outreach_lead", "senco")
PREVIEWERS = ("trust_admin", "outreach_lead", "outreach", "senco", "cpd_admin")
PREFERENCE_EDITORS = ("trust_admin", "outreach_lead", "senco")
PARENT = "parent"  # their own address's preferences only


def _day(value):
    return value.strftime("%-d %B %Y")


def _words(code):
    return code.replace("_", " ")


def _digest_time():
    return time.fromisoformat(settings.get("DIGEST_TIME", default="07:30"))


def _page(name, **ids):
    """Every link in every message is a portal page, built in one place (links.py)."""
    return links.url(name, **ids)


def _when(session):
    """Date, time and place of a CPD session, in local time, for a message."""
    starts = session["starts_at"].astimezone(domain.LOCAL_TZ)
    ends = session["ends_at"].astimezone(domain.LOCAL_TZ)
    return {"session_date": starts.strftime("%A %-d %B %Y"),
            "session_time": f"{starts:%H:%M} to {ends:%H:%M}",
            "venue": session["venue"] or (f"online: {session['online_url']}"
                                          if session["online_url"] else "to be confirmed")}


def _trust_name():
    return settings.get("TRUST_NAME", default="SEN Trust")


def _is_parent(principal):
    return PARENT in principal.roles and not principal.has_any(PREFERENCE_EDITORS)


def _own_address(principal, address):
    """A parent sets only their own address's preferences (the token's subject)."""
    address = address.strip()
    if _is_parent(principal):
        if address.lower() != principal.sub.lower():
            raise NotFound("No such recipient")
        return principal.sub.lower()
    return address


def _may_set(principal, pref):
    """Staff set the preferences their organisation recorded; a parent their own."""
    return _is_parent(principal) or pref.org_id == principal.org


def _visible(principal, org_id):
    return principal.has_any(ALL_SEEING) or org_id == principal.org


class NotifyService(PlatformService):
    name = SERVICE
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()

    # -- projections -----------------------------------------------------------------

    @subscribe("pupils", "organisation.onboarded")
    def on_organisation_onboarded(self, event, uow):
        data = event["data"]
        org = uow.session.get(Organisation, data["org_id"]) or Organisation(org_id=data["org_id"])
        org.name, org.kind, org.contact_email = data["name"], data["kind"], data["contact_email"]
        uow.session.add(org)

    @subscribe("pupils", "pupil.registered")
    def on_pupil_registered(self, event, uow):
        self._pupil_at(uow, event["data"]["pupil_id"], event["data"]["org_id"])

    @subscribe("pupils", "pupil.guardians_changed")
    def on_guardians_changed(self, event, uow):
        data = event["data"]
        self._pupil_at(uow, data["pupil_id"], data["org_id"])
        uow.session.execute(delete(Guardian).where(Guardian.pupil_id == data["pupil_id"]))
        for g in data["guardians"]:
            uow.session.add(Guardian(
                pupil_id=data["pupil_id"], guardian_id=g["guardian_id"], org_id=data["org_id"],
                name=g["name"], email=g["email"], mobile=g["mobile"],
                preferred_channel=g["preferred_channel"],
                preferred_language=g["preferred_language"],
                parental_responsibility=g["parental_responsibility"]))

    @subscribe("pupils", "pupil.erased")
    def on_pupil_erased(self, event, uow):
        """Forget the pupil's family; keep the receipts (template, channel,
        status, times) without addresses, names or message text."""
        pupil_id = event["data"]["pupil_id"]
        uow.session.execute(delete(Guardian).where(Guardian.pupil_id == pupil_id))
        uow.session.execute(delete(Pupil).where(Pupil.pupil_id == pupil_id))
        uow.session.execute(update(Delivery).where(
            Delivery.subject_kind == "pupil", Delivery.subject_ref == pupil_id).values(
            recipient="erased", recipient_name=None, alt_address=None, body_text="",
            body_html=None, context_json="{}"))

    @subscribe("pupils", "staff.member_added")
    def on_staff_member_added(self, event, uow):
        self._staff_member(uow, event["data"])

    @subscribe("pupils", "staff.member_changed")
    def on_staff_member_changed(self, event, uow):
        self._staff_member(uow, event["data"])

    @subscribe("pupils", "staff.member_removed")
    def on_staff_member_removed(self, event, uow):
        uow.session.execute(delete(StaffMember).where(
            StaffMember.member_id == event["data"]["member_id"]))

    @staticmethod
    def _staff_member(uow, data):
        member = uow.session.get(StaffMember, data["member_id"]) or StaffMember(
            member_id=data["member_id"])
        member.org_id, member.email, member.name = data["org_id"], data["email"], data["name"]
        member.roles, member.active = ",".join(data["roles"]), data["active"]
        uow.session.add(member)

    @staticmethod
    def _sencos(uow, org):
        """The organisation's SENCOs from the staff directory; its contact address if the
        directory names none."""
        rows = uow.session.execute(select(StaffMember).where(
            StaffMember.org_id == org.org_id, StaffMember.active == True)  # noqa: E712
            .order_by(StaffMember.email)).scalars().all() if org else []
        sencos = [domain.Recipient(domain.SENCO, m.email, m.name) for m in rows
                  if "senco" in m.roles.split(",")]
        if sencos:
            return sencos
        return [domain.Recipient(domain.SENCO, org.contact_email, "SENCO")] \
            if org and org.contact_email else []

    @staticmethod
    def _pupil_at(uow, pupil_id, org_id):
        pupil = uow.session.get(Pupil, pupil_id) or Pupil(pupil_id=pupil_id)
        pupil.org_id = org_id
        uow.session.add(pupil)

    # -- pupils events ---------------------------------------------------------------

    @subscribe("pupils", "pupil.moved")
    def on_pupil_moved(self, event, uow):
        data = event["data"]
        self._pupil_at(uow, data["pupil_id"], data["to_org_id"])
        uow.session.execute(update(Guardian).where(
            Guardian.pupil_id == data["pupil_id"]).values(org_id=data["to_org_id"]))
        context = {
            "from_school_name": self._org_name(uow, data["from_org_id"]),
            "to_school_name": self._org_name(uow, data["to_org_id"]),
            "moved_on": _day(data["moved_on"]),
            "link": _page("pupil", pupil_id=data["pupil_id"]),
        }
        self._pupil_messages(event, uow, context, senco_org=data["to_org_id"])

    @subscribe("pupils", "passport.published")
    def on_passport_published(self, event, uow):
        data = event["data"]
        context = {"version": data["version"],
                   "link": _page("passport", pupil_id=data["pupil_id"]),
                   "parent_link": _page("passport", pupil_id=data["pupil_id"])}
        self._pupil_messages(event, uow, context)

    @subscribe("pupils", "ehcp.review_due")
    def on_ehcp_review_due(self, event, uow):
        data = event["data"]
        context = {"due_date": _day(data["due_date"]),
                   "link": _page("ehc_plan", pupil_id=data["pupil_id"]),
                   "parent_link": _page("ehc_plan", pupil_id=data["pupil_id"])}
        self._pupil_messages(event, uow, context)

    @subscribe("pupils", "ehcp.deadline_at_risk")
    def on_ehcp_deadline_at_risk(self, event, uow):
        data = event["data"]
        context = {"due_date": _day(data["due_date"]), "deadline": _words(data["deadline"]),
                   "link": _page("ehc_plan", pupil_id=data["pupil_id"])}
        self._pupil_messages(event, uow, context)

    def _pupil_messages(self, event, uow, context, senco_org=None):
        data = event["data"]
        org_id = senco_org or data["org_id"]
        org = uow.session.get(Organisation, org_id)
        context = {"trust_name": _trust_name(),
                   "school_name": org.name if org else "your child's school", **context}
        sms = channels.sms_available()
        guardians = uow.session.execute(select(Guardian).where(
            Guardian.pupil_id == data["pupil_id"],
            Guardian.parental_responsibility == True)  # noqa: E712
            .order_by(Guardian.guardian_id)).scalars().all()
        parents = [r for r in (domain.guardian_recipient({
            "name": g.name, "email": g.email, "mobile": g.mobile,
            "preferred_channel": g.preferred_channel,
            "preferred_language": g.preferred_language}, sms_available=sms)
            for g in guardians) if r]
        people = {
            domain.PARENT: parents,
            domain.SENCO: self._sencos(uow, org),
            domain.OUTREACH: [domain.Recipient(domain.OUTREACH, settings.get("OUTREACH_INBOX"),
                                               "Outreach team")],
        }
        self._plan_and_send(event, uow, context, people, "pupil", data["pupil_id"])

    # -- referrals events ------------------------------------------------------------

    @subscribe("referrals", "referral.submitted")
    def on_referral_submitted(self, event, uow):
        data = event["data"]
        self._referral(event, uow, submitted_on=_day(data["submitted_at"]),
                       resubmission=data.get("resubmission", False))

    @subscribe("referrals", "referral.info_requested")
    def on_referral_info_requested(self, event, uow):
        self._referral(event, uow, page="referral_respond")

    @subscribe("referrals", "referral.accepted")
    def on_referral_accepted(self, event, uow):
        self._referral(event, uow, waiting=event["data"]["waiting"])

    @subscribe("referrals", "referral.place_granted")
    def on_referral_place_granted(self, event, uow):
        self._referral(event, uow)

    @subscribe("referrals", "referral.declined")
    def on_referral_declined(self, event, uow):
        self._referral(event, uow, reason=_words(event["data"]["reason"]))

    @subscribe("referrals", "referral.allocated")
    def on_referral_allocated(self, event, uow):
        self._referral(event, uow)

    @subscribe("referrals", "referral.visit_logged")
    def on_referral_visit_logged(self, event, uow):
        self._referral(event, uow, visit_date=_day(event["data"]["visit_date"]))

    @subscribe("referrals", "referral.report_issued")
    def on_referral_report_issued(self, event, uow):
        self._referral(event, uow)

    @subscribe("referrals", "referral.closed")
    def on_referral_closed(self, event, uow):
        self._referral(event, uow, outcome=_words(event["data"]["outcome"]))

    @subscribe("referrals", "referral.withdrawn")
    def on_referral_withdrawn(self, event, uow):
        self._referral(event, uow)

    @subscribe("referrals", "referral.overdue")
    def on_referral_overdue(self, event, uow):
        data = event["data"]
        self._referral(event, uow, clock=data["clock"], due_date=_day(data["due_date"]))

    def _referral(self, event, uow, page="referral", **extra):
        data = event["data"]
        contact = data["contact"]
        projection = uow.session.get(ReferralContact, data["referral_id"]) or ReferralContact(
            referral_id=data["referral_id"])
        projection.school_org_id, projection.reference = data["school_org_id"], data["reference"]
        projection.contact_name, projection.contact_email = contact["name"], contact["email"]
        if "practitioner" in data:
            projection.practitioner_name = data["practitioner"]["name"]
            projection.practitioner_email = data["practitioner"]["email"]
        uow.session.add(projection)
        context = {
            "reference": data["reference"],
            "school_name": self._org_name(uow, data["school_org_id"], "a partner school"),
            "contact_name": contact["name"],
            "practitioner_name": projection.practitioner_name or "",
            "link": _page(page, referral_id=data["referral_id"]),
            "trust_name": _trust_name(),
            **extra,
        }
        people = {
            domain.REFERRER: [domain.Recipient(domain.REFERRER, contact["email"],
                                               contact["name"])],
            domain.OUTREACH: [domain.Recipient(domain.OUTREACH, settings.get("OUTREACH_INBOX"),
                                               "Outreach team")],
            domain.PRACTITIONER: [domain.Recipient(
                domain.PRACTITIONER, projection.practitioner_email,
                projection.practitioner_name)] if projection.practitioner_email else [],
        }
        self._plan_and_send(event, uow, context, people, "referral", data["referral_id"])

    # -- cpd events (staff training: the attendee hears about their booking) -------

    @subscribe("cpd", "booking.confirmed")
    def on_booking_confirmed(self, event, uow):
        self._booking(event, uow)

    @subscribe("cpd", "booking.waitlisted")
    def on_booking_waitlisted(self, event, uow):
        self._booking(event, uow, waitlist_position=event["data"]["waitlist_position"])

    @subscribe("cpd", "booking.promoted")
    def on_booking_promoted(self, event, uow):
        self._booking(event, uow)

    @subscribe("cpd", "booking.cancelled")
    def on_booking_cancelled(self, event, uow):
        self._booking(event, uow, reason=_words(event["data"]["reason"]))

    @subscribe("cpd", "certificate.issued")
    def on_certificate_issued(self, event, uow):
        data = event["data"]
        context = {"course_title": data["course_title"], "trust_name": _trust_name(),
                   "cpd_hours": f"{data['cpd_hours']:g}",
                   "verification_code": data["verification_code"],
                   "link": _page("cpd_certificate", certificate_id=data["certificate_id"])}
        self._attendee_messages(event, uow, context, data["certificate_id"])

    @subscribe("cpd", "session.cancelled")
    def on_session_cancelled(self, event, uow):
        self._session_change(event, uow, link=_page("cpd_catalogue"))

    @subscribe("cpd", "session.rescheduled")
    def on_session_rescheduled(self, event, uow):
        previous = _when(event["data"]["previous"])
        self._session_change(event, uow, link=_page("cpd_bookings"),
                             previous_date=previous["session_date"],
                             previous_time=previous["session_time"])

    def _session_change(self, event, uow, **extra):
        """Everyone booked on a session hears that it was cancelled or moved."""
        data = event["data"]
        context = {"course_title": data["course_title"], "trust_name": _trust_name(),
                   **_when(data["session"]), **extra}
        people = {domain.CPD_ATTENDEE: [
            domain.Recipient(domain.CPD_ATTENDEE, a["email"], a["name"])
            for a in data["attendees"]]}
        self._plan_and_send(event, uow, context, people, "cpd", data["session"]["session_id"])

    def _booking(self, event, uow, **extra):
        data = event["data"]
        context = {"course_title": data["course_title"], "trust_name": _trust_name(),
                   **_when(data["session"]),
                   "link": _page("cpd_booking_calendar", booking_id=data["booking_id"]), **extra}
        self._attendee_messages(event, uow, context, data["booking_id"])

    def _attendee_messages(self, event, uow, context, ref):
        attendee = event["data"]["attendee"]
        people = {domain.CPD_ATTENDEE: [domain.Recipient(
            domain.CPD_ATTENDEE, attendee["email"], attendee["name"])]}
        self._plan_and_send(event, uow, context, people, "cpd", ref)

    # -- planning and sending --------------------------------------------------------

    @staticmethod
    def _org_name(uow, org_id, default="a school"):
        org = uow.session.get(Organisation, org_id)
        return org.name if org else default

    def _plan_and_send(self, event, uow, context, people, subject_kind, subject_ref):
        addresses = {r.address for rs in people.values() for r in rs if r.address}
        prefs = {p.address: domain.Preference(
            opt_outs=frozenset(filter(None, p.opt_outs.split(","))),
            quiet_start=time.fromisoformat(p.quiet_start) if p.quiet_start else None,
            quiet_end=time.fromisoformat(p.quiet_end) if p.quiet_end else None,
            digest=p.digest)
            for p in uow.session.execute(select(RecipientPreference).where(
                RecipientPreference.address.in_(addresses))).scalars()} if addresses else {}
        messages = domain.plan_messages(event, context, people=people, preferences=prefs,
                                        now=utcnow(), digest_time=_digest_time())
        ids = delivery.record(uow, event, messages, subject_kind=subject_kind,
                              subject_ref=subject_ref)
        if ids:
            uow.after_commit(lambda: [delivery.deliver(self.db, i) for i in ids])

    @timer_from_setting("DELIVERY_SWEEP_SECONDS", 1.0)
    def sweep(self):
        """Send what is due: retries, messages held for quiet hours, digests,
        and anything a crash left unsent."""
        for digest_id in delivery.compose_digests(self.db, trust_name=_trust_name()):
            delivery.deliver(self.db, digest_id)
        for delivery_id in delivery.due(self.db):
            delivery.deliver(self.db, delivery_id)

    # -- staff API -------------------------------------------------------------------

    @api("GET", "/api/v1/notifications", roles=READERS, query=NotificationQuerySchema,
         response=NotificationListSchema,
         summary="Notifications sent about a referral or pupil, with their status")
    def list_notifications(self, request, principal, query):
        kind, ref = (("referral", query["referral_id"]) if query["referral_id"]
                     else ("pupil", query["pupil_id"]))
        where = [Delivery.subject_kind == kind, Delivery.subject_ref == ref]
        if not principal.has_any(ALL_SEEING):
            where.append(Delivery.org_id == principal.org)
        with self.db.session() as s:
            items = s.execute(select(Delivery).where(*where).order_by(
                Delivery.created_at, Delivery.template_id, Delivery.recipient)
                .limit(query["limit"])).scalars().all()
        return {"items": items, "count": len(items)}

    @api("GET", "/api/v1/notifications/<string:notification_id>", roles=READERS,
         response=NotificationSchema, summary="One notification and its status")
    def get_notification(self, request, principal, notification_id):
        with self.db.session() as s:
            found = s.get(Delivery, notification_id)
        if found is None or not _visible(principal, found.org_id):
            raise NotFound("No such notification")
        return found

    @api("POST", "/api/v1/notifications/<string:notification_id>/resend", roles=RESENDERS,
         response=NotificationSchema, status=202,
         summary="Send a notification again to the same recipient on the same channel")
    def resend_notification(self, request, principal, notification_id):
        with self.db.unit_of_work() as uow:
            original = uow.session.get(Delivery, notification_id)
            if original is None or not _visible(principal, original.org_id):
                raise NotFound("No such notification")
            if original.recipient == "erased":
                raise Conflict("The recipient of this notification has been erased")
            if original.status not in domain.FINAL:
                raise Conflict("The notification is still being sent")
            new = delivery.resend(uow, original, actor=principal.sub)
            uow.emit("notification.resend_requested", {
                "notification_id": new.id, "resend_of": original.id,
                "template_id": original.template_id, "channel": original.channel,
            }, org_id=original.org_id, actor=principal.sub)
        delivery.deliver(self.db, new.id)
        with self.db.session() as s:
            return s.get(Delivery, new.id)

    @api("GET", "/api/v1/templates", roles=PREVIEWERS, summary="The message templates")
    def list_templates(self, request, principal):
        return [{"template_id": t.id, "version": t.version, "event_type": t.event_type,
                 "audience": t.audience, "category": t.category, "statutory": t.statutory,
                 "urgent": t.urgent, "sms": t.has_sms()} for t in domain.TEMPLATES]

    @api("GET", "/api/v1/templates/<string:template_id>/preview", roles=PREVIEWERS,
         query=PreviewQuerySchema, response=PreviewSchema,
         summary="A template rendered with sample data")
    def preview_template(self, request, principal, query, template_id):
        template = domain.BY_ID.get(template_id)
        if template is None:
            raise NotFound("No such template")
        if query["channel"] == domain.SMS and not template.has_sms():
            raise NotFound("This template has no SMS version")
        context = {**domain.SAMPLE_CONTEXT,
                   "recipient": {"name": "Sam Sample", "audience": template.audience}}
        subject, text, html = domain.render(template, context, query["channel"],
                                            query["language"])
        return {"template_id": template.id, "version": template.version,
                "event_type": template.event_type, "audience": template.audience,
                "category": template.category, "statutory": template.statutory,
                "channel": query["channel"],
                "language": domain.render_language(template, query["language"]),
                "subject": subject, "text": text, "html": html}

    @api("POST", "/api/v1/sign-in-links", roles=("portal",), body=SignInLinkSchema,
         status=202, summary="Email a one-time sign-in link (the portal's own principal only)")
    def send_sign_in_link(self, request, principal, body):
        message = domain.sign_in_message(body["email"].strip().lower(), body["url"],
                                         body["expires_at"], trust_name=_trust_name())
        request_id = str(uuid.uuid4())
        pseudo_event = {"event_id": request_id, "type": domain.SIGN_IN_TEMPLATE.event_type,
                        "org_id": principal.org, "occurred_at": utcnow(), "data": {}}
        with self.db.unit_of_work() as uow:
            ids = delivery.record(uow, pseudo_event, [message], subject_kind="sign_in",
                                  subject_ref=request_id)
            uow.after_commit(lambda: [delivery.deliver(self.db, i) for i in ids])
        return 202, {"status": "accepted"}

    @api("GET", "/api/v1/notification-preferences", roles=PREFERENCE_EDITORS + (PARENT,),
         query=PreferenceQuerySchema, response=PreferenceSchema,
         summary="A recipient's opt-outs, quiet hours and digest (a parent: their own)")
    def get_preference(self, request, principal, query):
        address = _own_address(principal, query["address"])
        with self.db.session() as s:
            pref = s.get(RecipientPreference, address)
        if pref is not None and not _may_set(principal, pref):
            raise NotFound("No such recipient")
        if pref is None:
            return {"address": address, "opt_outs": [], "quiet_hours": None, "digest": False}
        quiet = f"{pref.quiet_start}-{pref.quiet_end}" if pref.quiet_start else None
        return {"address": address, "opt_outs": [o for o in pref.opt_outs.split(",") if o],
                "quiet_hours": quiet, "digest": pref.digest}

    @api("PUT", "/api/v1/notification-preferences", roles=PREFERENCE_EDITORS + (PARENT,),
         body=PreferenceSchema, response=PreferenceSchema,
         summary="Set a recipient's opt-outs, quiet hours and digest (a parent: their own)")
    def put_preference(self, request, principal, body):
        address = _own_address(principal, body["address"].strip())
        quiet = domain.parse_quiet_hours(body["quiet_hours"]) if body["quiet_hours"] else None
        with self.db.unit_of_work() as uow:
            pref = uow.session.get(RecipientPreference, address)
            if pref is not None and not _may_set(principal, pref):
                raise NotFound("No such recipient")
            pref = pref or RecipientPreference(address=address, org_id=principal.org)
            pref.opt_outs = ",".join(sorted(set(body["opt_outs"])))
            pref.quiet_start = quiet[0].strftime("%H:%M") if quiet else None
            pref.quiet_end = quiet[1].strftime("%H:%M") if quiet else None
            pref.digest = body["digest"]
            pref.updated_at = utcnow()
            uow.session.add(pref)
        return {**body, "address": address}

    @api("POST", "/api/v1/notify/receipts", public=True, body=NotifyReceiptSchema,
         status=204, summary="GOV.UK Notify's delivery receipt callback (its bearer token)")
    def notify_receipt(self, request, body):
        expected = settings.get("NOTIFY_CALLBACK_TOKEN", default="")
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("A valid callback bearer token is required")
        if not body["reference"] or not delivery.apply_receipt(
                self.db, body["reference"], body["id"], body["status"]):
            raise NotFound("No such notification")
        return Response(status=204)
