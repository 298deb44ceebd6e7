"""Notify service entrypoints: keep the recipient projections, turn events
into messages and send them; the staff API (proof of notice, resend,
template preview, recipient preferences). Each entrypoint calls a command
(commands/) or a query (queries.py)."""

import hmac

from werkzeug.wrappers import Response

from services.common import access
from services.common.access import Role
from services.common.config import ConfigProvider, load
from services.common.consumer import subscribe, subscribe_queue
from services.common.db import DatabaseProvider
from services.common.http import api
from services.common.outbox import OutboxRelay
from services.common.problems import Unauthorized
from services.common.service import PlatformService
from services.common.timers import timer
from services.contracts import events

from . import commands, queries
from .adapters import MailerProvider
from .commands import deliveries, preferences, receipts
from .config import NotifyConfig
from .models import Base
from .schemas import (
    NotificationListSchema,
    NotificationQuerySchema,
    NotificationSchema,
    NotifyReceiptSchema,
    PreferenceSchema,
    PreviewQuerySchema,
    PreviewSchema,
    SignInLinkSchema,
)

SERVICE = "notify"
READERS = access.MESSAGE_READERS
RESENDERS = (Role.TRUST_ADMIN, Role.OUTREACH_LEAD, Role.SENCO)
PREVIEWERS = (Role.TRUST_ADMIN, Role.OUTREACH_LEAD, Role.OUTREACH, Role.SENCO, Role.CPD_ADMIN)
# Everyone may set their own preferences (a token whose sub is the address); some
# roles may also set them for others of their organisation (queries.may_manage).
PREFERENCE_OWNERS = tuple(sorted(access.ROLES - {Role.PORTAL}))


def _callback_token(request):
    """GOV.UK Notify's callback bearer token, checked before the body is read."""
    expected = load(NotifyConfig, SERVICE).notify_callback_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("A valid callback bearer token is required")


class NotifyService(PlatformService):
    name = SERVICE
    config = ConfigProvider(NotifyConfig)
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()
    mailer = MailerProvider()

    def _settings(self):
        """The container's settings; a test's worker (worker_factory) reads them now."""
        return self.config if isinstance(self.config, NotifyConfig) \
            else load(NotifyConfig, SERVICE)

    def _post(self):
        config = self._settings()
        self.mailer.configure(config)
        return deliveries.Post(self.db, config, self.mailer)

    def _handle(self, event, uow):
        commands.handle(self._post(), event, uow)

    # -- projections -----------------------------------------------------------------

    @subscribe(events.ORGANISATION_ONBOARDED)
    def on_organisation_onboarded(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.PUPIL_REGISTERED)
    def on_pupil_registered(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.PUPIL_GUARDIANS_CHANGED)
    def on_guardians_changed(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.PUPIL_ERASED)
    def on_pupil_erased(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.STAFF_MEMBER_ADDED)
    def on_staff_member_added(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.STAFF_MEMBER_CHANGED)
    def on_staff_member_changed(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.STAFF_MEMBER_REMOVED)
    def on_staff_member_removed(self, event, uow):
        self._handle(event, uow)

    # -- pupils events ---------------------------------------------------------------

    @subscribe(events.PUPIL_MOVED)
    def on_pupil_moved(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.PASSPORT_PUBLISHED)
    def on_passport_published(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.EHCP_REVIEW_DUE)
    def on_ehcp_review_due(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.EHCP_DEADLINE_AT_RISK)
    def on_ehcp_deadline_at_risk(self, event, uow):
        self._handle(event, uow)

    # -- referrals events ------------------------------------------------------------

    @subscribe(events.REFERRAL_SUBMITTED)
    def on_referral_submitted(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_INFO_REQUESTED)
    def on_referral_info_requested(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_ACCEPTED)
    def on_referral_accepted(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_PLACE_GRANTED)
    def on_referral_place_granted(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_DECLINED)
    def on_referral_declined(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_ALLOCATED)
    def on_referral_allocated(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_VISIT_LOGGED)
    def on_referral_visit_logged(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_REPORT_ISSUED)
    def on_referral_report_issued(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_CLOSED)
    def on_referral_closed(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_WITHDRAWN)
    def on_referral_withdrawn(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.REFERRAL_OVERDUE)
    def on_referral_overdue(self, event, uow):
        self._handle(event, uow)

    # -- cpd events (staff training: the attendee hears about their booking) -------

    @subscribe(events.BOOKING_CONFIRMED)
    def on_booking_confirmed(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.BOOKING_WAITLISTED)
    def on_booking_waitlisted(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.BOOKING_PROMOTED)
    def on_booking_promoted(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.BOOKING_CANCELLED)
    def on_booking_cancelled(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.CERTIFICATE_ISSUED)
    def on_certificate_issued(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.SESSION_CANCELLED)
    def on_session_cancelled(self, event, uow):
        self._handle(event, uow)

    @subscribe(events.SESSION_RESCHEDULED)
    def on_session_rescheduled(self, event, uow):
        self._handle(event, uow)

    # -- sending ---------------------------------------------------------------------

    @timer("delivery_sweep_seconds")  # DELIVERY_SWEEP_SECONDS
    def sweep(self):
        """Send what is due: retries, messages held for quiet hours or for an
        earlier one, digests, and anything a crash left unsent."""
        post = self._post()
        deliveries.sweep(post, trust_name=post.config.trust_name)

    @timer("notify_bounce_seconds")  # NOTIFY_BOUNCE_SECONDS
    def read_bounces(self):
        """Delivery status notifications from the bounce mailbox (commands/receipts.py)."""
        receipts.read_bounces(self._post())

    @subscribe_queue(deliveries.DLQ_QUEUE)
    def redeliver(self, body):
        """A replayed dead letter of a delivery (`senctl deadletters replay notify`)."""
        deliveries.redeliver(self._post(), body["notification_id"])

    # -- staff API -------------------------------------------------------------------

    @api("GET", "/api/v1/notifications", roles=READERS, query=NotificationQuerySchema,
         response=NotificationListSchema,
         summary="Notifications sent about a referral or pupil, with their status")
    def list_notifications(self, request, principal, query):
        return queries.notifications(self.db, principal, query)

    @api("GET", "/api/v1/notifications/<string:notification_id>", roles=READERS,
         response=NotificationSchema, summary="One notification and its status")
    def get_notification(self, request, principal, notification_id):
        return queries.notification(self.db, principal, notification_id)

    @api("POST", "/api/v1/notifications/<string:notification_id>/resend", roles=RESENDERS,
         response=NotificationSchema, status=202,
         summary="Send a notification again to the same recipient on the same channel")
    def resend_notification(self, request, principal, notification_id):
        new_id = deliveries.resend(self._post(), notification_id, actor=principal.sub,
                                   visible=lambda org_id: access.sees_org(principal, org_id))
        return queries.notification(self.db, principal, new_id)

    @api("GET", "/api/v1/templates", roles=PREVIEWERS, summary="The message templates")
    def list_templates(self, request, principal):
        return queries.templates()

    @api("GET", "/api/v1/templates/<string:template_id>/preview", roles=PREVIEWERS,
         query=PreviewQuerySchema, response=PreviewSchema,
         summary="A template rendered with sample data")
    def preview_template(self, request, principal, query, template_id):
        return queries.preview(template_id, query["channel"], query["language"],
                               self._settings())

    @api("POST", "/api/v1/sign-in-links", roles=(Role.PORTAL,), body=SignInLinkSchema,
         status=202, summary="Email a one-time sign-in link (the portal's own principal only)")
    def send_sign_in_link(self, request, principal, body):
        preferences.send_sign_in_link(self._post(), principal, body)
        return 202, {"status": "accepted"}

    # -- preferences belong to the recipient ---------------------------------------

    @api("PUT", "/api/v1/notification-preferences", roles=PREFERENCE_OWNERS,
         body=PreferenceSchema, response=PreferenceSchema,
         summary="Set a recipient's opt-outs, quiet hours and digest (your own; staff for "
                 "their own pupils' guardians and staff; the trust admin any)")
    def put_preference(self, request, principal, body):
        return preferences.put(self.db, principal, body, self._settings())

    @api("GET", "/api/v1/notification-preferences/<string:address>", roles=PREFERENCE_OWNERS,
         response=PreferenceSchema, summary="A recipient's preferences (defaults if none set)")
    def get_preference(self, request, principal, address):
        return queries.preference(self.db, principal, address, self._settings())

    @api("DELETE", "/api/v1/notification-preferences/<string:address>",
         roles=PREFERENCE_OWNERS, status=204,
         summary="Reset a recipient's preferences to the defaults")
    def reset_preference(self, request, principal, address):
        preferences.reset(self.db, principal, address, self._settings())
        return Response(status=204)

    @api("POST", "/api/v1/notify/receipts", public=True, body=NotifyReceiptSchema,
         guard=_callback_token, status=204,
         summary="GOV.UK Notify's delivery receipt callback (its bearer token)")
    def notify_receipt(self, request, body):
        receipts.apply_receipt_or_fail(self._post(), body["reference"], body["id"],
                                       body["status"])
        return Response(status=204)
