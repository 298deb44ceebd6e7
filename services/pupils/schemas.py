"""Request and response schemas of the pupils API."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.contracts.events import ORG_KINDS

PHASES = ("nursery", "primary", "middle", "secondary", "all_through", "post_16")


class OrganisationCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    urn = fields.String(load_default=None, allow_none=True,
                        validate=validate.Regexp(r"^\d{6}$", error="A URN is 6 digits"))
    laestab = fields.String(load_default=None, allow_none=True,
                            validate=validate.Regexp(r"^\d{7}$", error="A LAESTAB is 7 digits"))
    phase = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PHASES))
    contact_email = fields.Email(load_default=None, allow_none=True)

    @validates_schema
    def _schools_have_numbers(self, data, **kwargs):
        if data["kind"] != "trust":
            errors = {k: ["Required for a school or ARB"] for k in ("urn", "laestab")
                      if not data.get(k)}
            if errors:
                raise ValidationError(errors)


class OrganisationSchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    urn = fields.String(allow_none=True)
    laestab = fields.String(allow_none=True)
    phase = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    onboarded_at = fields.DateTime()


class OrganisationPageSchema(Schema):
    items = fields.List(fields.Nested(OrganisationSchema))
    total = fields.Integer()
