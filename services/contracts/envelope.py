"""The event envelope every event travels in (DESIGN.md §3)."""

import uuid
from datetime import UTC, datetime
from functools import cache

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from .registry import lookup, lookup_readable


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$"))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    org_id = fields.String(required=True, allow_none=True)
    actor = fields.String(required=True)
    data = fields.Dict(required=True)


_envelope = EnvelopeSchema()


@cache
def _schema(schema_cls, unknown):
    """One schema instance per event type: building them costs more than loading."""
    return schema_cls(unknown=unknown)


class UnknownEvent(ValidationError):
    pass


def make_event(event_type, data, *, org_id, actor, version=None, occurred_at=None,
               event_id=None):
    """Build a validated envelope (a JSON-ready dict) for `event_type`.

    The data is validated against the schema of that type and version; a
    producer that writes an invalid event fails here, before anything is stored.
    """
    spec = lookup(event_type, version)
    schema = _schema(spec.schema, RAISE)
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise ValidationError({"data": exc.messages}) from None
    body = {
        "event_id": str(event_id or uuid.uuid4()),
        "type": event_type,
        "version": spec.version,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "org_id": org_id,
        "actor": actor,
        "data": schema.dump(loaded),
    }
    return body


def parse_event(body):
    """Validate a received envelope and its data; unknown fields are ignored.

    Returns the envelope with `data` loaded by the type's schema; an event of a
    newer version than this catalogue knows is read with the newest it does know
    (upgrades: producers may be upgraded before consumers, DESIGN.md §3).
    Raises ValidationError (or UnknownEvent) for a message that can never be handled.
    """
    if not isinstance(body, dict):
        raise ValidationError({"_envelope": ["Event body must be an object"]})
    envelope = _envelope.load(body)
    try:
        spec = lookup_readable(envelope["type"], envelope["version"])
    except KeyError as exc:
        raise UnknownEvent({"type": [str(exc)]}) from None
    envelope["data"] = _schema(spec.schema, EXCLUDE).load(envelope["data"])
    envelope["event_id"] = str(envelope["event_id"])
    return envelope
