"""Paged lists: the query every list endpoint takes and the page it answers."""

from marshmallow import Schema, fields, validate

MAX_OFFSET = 10_000_000  # beyond any list here, and within every database's integers


class PageQuerySchema(Schema):
    """Subclass it and add the list's filters."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


def page_schema(item_schema, name):
    """A schema for {"items": [...], "total", "limit", "offset"} of `item_schema`."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "limit": fields.Integer(),
        "offset": fields.Integer(),
    }, name=name)
