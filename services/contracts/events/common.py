"""Schemas shared by several events."""

from marshmallow import Schema, fields, validate

from ..roles import ORG_KINDS  # noqa: E402,F401  (re-exported for the schemas)


class ContactSchema(Schema):
    """A member of staff to write to (not a pupil)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)


class StaffSchema(Schema):
    """A member of staff, by token subject, with a name and address for messages."""

    sub = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
