"""The event envelope every event travels in (docs/architecture.md, "Events")."""

import re
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


_TYPE = re.compile(r"^[a-z_]+\.[a-z_]+$")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d:\d\d)?$")


def _fast_envelope(body):
    """EnvelopeSchema().load(body) for a well-formed envelope (as make_event writes
    them), without marshmallow's machinery; None for anything else, which the
    schema then loads or rejects with its own messages. The same result either way."""
    try:
        event_id, type_, version = body["event_id"], body["type"], body["version"]
        occurred_at, org_id, actor = body["occurred_at"], body["org_id"], body["actor"]
        data = body["data"]
    except KeyError:
        return None
    if not (type(event_id) is str and type(type_) is str and type(version) is int
            and version >= 1 and type(occurred_at) is str and type(actor) is str
            and (org_id is None or type(org_id) is str) and type(data) is dict
            and _TYPE.match(type_) and _ISO.match(occurred_at)):
        return None
    try:
        event_id = uuid.UUID(event_id)
        when = datetime.fromisoformat(occurred_at)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return {"event_id": event_id, "type": type_, "version": version, "occurred_at": when,
            "org_id": org_id, "actor": actor, "data": data}


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
    (upgrades: producers may be upgraded before consumers, docs/architecture.md, "Events").
    Raises ValidationError (or UnknownEvent) for a message that can never be handled.
    """
    if not isinstance(body, dict):
        raise ValidationError({"_envelope": ["Event body must be an object"]})
    envelope = _fast_envelope(body) or _envelope.load(body)
    try:
        spec = lookup_readable(envelope["type"], envelope["version"])
    except KeyError as exc:
        raise UnknownEvent({"type": [str(exc)]}) from None
    envelope["data"] = _schema(spec.schema, EXCLUDE).load(envelope["data"])
    envelope["event_id"] = str(envelope["event_id"])
    return envelope
