"""Request and response schemas of the notify staff API."""

import re

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from . import domain

UK_MOBILE = re.compile(r"^(\+44\s?7\d{3}|\(?07\d{3}\)?)\s?\d{3}\s?\d{3}$")


class NotificationQuerySchema(Schema):
    referral_id = fields.String(load_default=None, validate=validate.Length(min=1, max=36))
    pupil_id = fields.String(load_default=None, validate=validate.Length(min=1, max=36))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _one_subject(self, data, **kwargs):
        if bool(data.get("referral_id")) == bool(data.get("pupil_id")):
            raise ValidationError("Give exactly one of referral_id or pupil_id",
                                  field_name="referral_id")


class NotificationSchema(Schema):
    id = fields.String()
    source_event_id = fields.String()
    source_event_type = fields.String()
    subject_kind = fields.String()
    subject_ref = fields.String()
    template_id = fields.String()
    template_version = fields.Integer()
    audience = fields.String()
    channel = fields.String()
    recipient = fields.String()
    recipient_name = fields.String()
    language = fields.String()
    subject = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String()
    statutory = fields.Boolean()
    held = fields.Boolean()
    digest = fields.Boolean()
    fallback_of = fields.String()
    resend_of = fields.String()
    provider = fields.String()
    provider_ref = fields.String()
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime()


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    count = fields.Integer()


class PreviewQuerySchema(Schema):
    channel = fields.String(load_default=domain.EMAIL, validate=validate.OneOf(domain.CHANNELS))
    language = fields.String(load_default="en", validate=validate.Regexp(r"^[a-z]{2}$"))


class PreviewSchema(Schema):
    template_id = fields.String()
    version = fields.Integer()
    event_type = fields.String()
    audience = fields.String()
    category = fields.String()
    statutory = fields.Boolean()
    channel = fields.String()
    language = fields.String()
    subject = fields.String()
    text = fields.String()
    html = fields.String(allow_none=True)


class PreferenceSchema(Schema):
    address = fields.String(required=True, validate=validate.Length(min=3, max=254))
    opt_outs = fields.List(fields.String(validate=validate.OneOf(domain.CATEGORIES)),
                           load_default=list)
    quiet_hours = fields.String(load_default=None, allow_none=True)
    digest = fields.Boolean(load_default=False)

    @validates("address")
    def _address(self, value, **kwargs):
        if "@" in value:
            try:
                fields.Email().deserialize(value)
            except ValidationError:
                raise ValidationError("Not a valid email address or UK mobile number") from None
        elif not UK_MOBILE.match(value.strip()):
            raise ValidationError("Not a valid email address or UK mobile number")

    @validates("quiet_hours")
    def _quiet_hours(self, value, **kwargs):
        if value is None:
            return
        try:
            domain.parse_quiet_hours(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class PreferenceQuerySchema(Schema):
    address = fields.String(required=True, validate=validate.Length(min=3, max=254))


class NotifyReceiptSchema(Schema):
    """GOV.UK Notify's delivery receipt callback (its documented JSON body)."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    reference = fields.String(required=True, allow_none=True)
    to = fields.String(load_default=None)
    status = fields.String(required=True, validate=validate.OneOf(
        (domain.DELIVERED, domain.PERMANENT_FAILURE, domain.TEMPORARY_FAILURE,
         domain.TECHNICAL_FAILURE)))
    notification_type = fields.String(load_default=None)
    created_at = fields.String(load_default=None, allow_none=True)
    completed_at = fields.String(load_default=None, allow_none=True)
    sent_at = fields.String(load_default=None, allow_none=True)


class SignInLinkSchema(Schema):
    """The portal asks for a one-time sign-in link to be emailed. The link must be the
    portal's own sign-in page (links.py), so this endpoint cannot send anything else."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=2000))
    expires_at = fields.AwareDateTime(required=True)

    @validates("url")
    def _a_sign_in_page(self, value, **kwargs):
        from services.contracts import links
        prefix = links.base_url() + links.path("sign_in_link", token="")
        token = value[len(prefix):] if value.startswith(prefix) else ""
        if not token or "/" in token or "?" in token or "#" in token:
            raise ValidationError("Must be a sign-in link of the portal "
                                  f"({prefix}<token>)")

    @validates("expires_at")
    def _in_the_future(self, value, **kwargs):
        from datetime import UTC, datetime
        if value <= datetime.now(UTC):
            raise ValidationError("Must be in the future")
