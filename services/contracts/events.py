"""Event data schemas, one per type and version (DESIGN.md §3).

Events carry identifiers and the minimum a consumer needs: no pupil names,
dates of birth, need types or free text about a child.
Breaking changes get a new version; consumers ignore unknown fields.
"""

from marshmallow import Schema, fields, validate

from .registry import event
from .sen import AREAS_OF_NEED

ORG_KINDS = ("trust", "trust_school", "arb", "partner_school")


class ContactSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)


@event("organisation.onboarded", 1, "pupils",
       "An organisation joined the platform: the trust, one of its schools, an ARB or a partner school.")
class OrganisationOnboardedV1(Schema):
    org_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    urn = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^\d{6}$"))
    laestab = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^\d{7}$"))
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    contact_email = fields.Email(load_default=None, allow_none=True)


@event("referral.submitted", 1, "referrals",
       "A partner school submitted an outreach referral.")
class ReferralSubmittedV1(Schema):
    referral_id = fields.String(required=True)
    reference = fields.String(required=True)
    school_org_id = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    areas_of_need = fields.List(
        fields.String(validate=validate.OneOf(AREAS_OF_NEED)), required=True,
        validate=validate.Length(min=1),
    )
    submitted_at = fields.AwareDateTime(required=True)


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
