"""Events published by the notify service."""

from marshmallow import Schema, fields, validate

from ..registry import event


@event("notification.delivered", 1, "notify",
       "A notification reached the channel's provider (SMTP accepted it, or Notify did).")
class NotificationDeliveredV1(Schema):
    notification_id = fields.String(required=True)
    source_event_id = fields.String(required=True)
    template_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(("email", "sms")))


@event("notification.failed", 1, "notify",
       "A notification could not be delivered on any channel.")
class NotificationFailedV1(Schema):
    notification_id = fields.String(required=True)
    source_event_id = fields.String(required=True)
    template_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(("email", "sms")))
    status = fields.String(required=True)


@event("notification.resend_requested", 1, "notify",
       "A member of staff asked for a notification to be sent again (a new notification).")
class NotificationResendRequestedV1(Schema):
    notification_id = fields.String(required=True)
    resend_of = fields.String(required=True)
    template_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(("email", "sms")))
