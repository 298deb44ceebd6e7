"""Schemas shared by several events."""

from marshmallow import Schema, fields, validate

ORG_KINDS = ("trust", "trust_school", "arb", "partner_school")  # = common.access.OrgKind


class ContactSchema(Schema):
    """A member of staff to write to (not a pupil)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)


class StaffSchema(Schema):
    """A member of staff, by token subject, with a name and address for messages."""

    sub = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
