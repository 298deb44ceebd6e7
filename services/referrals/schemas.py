"""Request and response schemas of the referrals API."""

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.contracts.sen import AREAS_OF_NEED, NEED_TYPES, validate_upn

NAME = validate.Length(min=1, max=100)


def _not_future(value):
    if value > date.today():
        raise ValidationError("Must not be in the future")


def _upn(value):
    try:
        validate_upn(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class PupilSchema(Schema):
    first_name = fields.String(required=True, validate=NAME)
    last_name = fields.String(required=True, validate=NAME)
    date_of_birth = fields.Date(required=True, validate=_not_future)
    upn = fields.String(load_default=None, allow_none=True, validate=_upn)

    @validates("date_of_birth")
    def _plausible_age(self, value, **kwargs):
        if (date.today() - value).days > 26 * 366:
            raise ValidationError("Outreach referrals are for children and young people up to 25")


class ContactSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(required=True, validate=[
        validate.Length(min=6, max=30),
        validate.Regexp(r"^\+?[0-9 ()-]+$", error="Not a valid phone number")])


class ConsentSchema(Schema):
    given = fields.Boolean(required=True, truthy={True}, falsy={False})
    date = fields.Date(required=True, validate=_not_future)
    given_by = fields.String(required=True, validate=validate.Length(min=1, max=200))

    @validates("given")
    def _must_be_given(self, value, **kwargs):
        if value is not True:
            raise ValidationError("A referral needs parental consent")


class ReferralCreateSchema(Schema):
    pupil = fields.Nested(PupilSchema, required=True)
    contact = fields.Nested(ContactSchema, required=True)
    areas_of_need = fields.List(fields.String(validate=validate.OneOf(AREAS_OF_NEED)),
                                required=True, validate=validate.Length(min=1, max=4))
    need_types = fields.List(fields.String(validate=validate.OneOf(NEED_TYPES)),
                             load_default=list)
    concerns = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    support_so_far = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    parental_consent = fields.Nested(ConsentSchema, required=True)

    @validates_schema
    def _no_repeats(self, data, **kwargs):
        for key in ("areas_of_need", "need_types"):
            values = data.get(key) or []
            if len(set(values)) != len(values):
                raise ValidationError("Each value may appear once", field_name=key)


class ReferralSchema(Schema):
    """A referral as the API returns it."""

    id = fields.String()
    reference = fields.String()
    status = fields.String()
    school_org_id = fields.String()
    pupil = fields.Method("_pupil")
    contact = fields.Method("_contact")
    areas_of_need = fields.List(fields.String())
    need_types = fields.List(fields.String())
    concerns = fields.String()
    support_so_far = fields.String()
    parental_consent = fields.Method("_consent")
    created_at = fields.DateTime()
    submitted_at = fields.DateTime()

    def _pupil(self, r):
        return {"first_name": r.pupil_first_name, "last_name": r.pupil_last_name,
                "date_of_birth": r.pupil_date_of_birth.isoformat(), "upn": r.pupil_upn}

    def _contact(self, r):
        return {"name": r.contact_name, "email": r.contact_email, "phone": r.contact_phone}

    def _consent(self, r):
        return {"given": r.consent_given, "date": r.consent_date.isoformat(),
                "given_by": r.consent_given_by}


class ReferralPageSchema(Schema):
    items = fields.List(fields.Nested(ReferralSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class ListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(("draft", "submitted")))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
