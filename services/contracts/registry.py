"""The catalogue of event types: name, version, producing service, schema."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    producer: str
    schema: type
    summary: str


_CATALOGUE: dict[tuple[str, int], EventSpec] = {}


def event(event_type, version, producer, summary):
    """Class decorator: register a marshmallow schema as the data of an event."""

    def register(schema_cls):
        key = (event_type, version)
        if key in _CATALOGUE:
            raise ValueError(f"event {event_type} v{version} registered twice")
        _CATALOGUE[key] = EventSpec(event_type, version, producer, schema_cls, summary)
        return schema_cls

    return register


class EventType(str):
    """A handle on one type of the catalogue: `events.REFERRAL_SUBMITTED`.

    It is the type's name (a `str`, so it is what travels as the routing key and
    the envelope's `type`) and knows its producer. `uow.emit` and `@subscribe`
    take a handle, so a misspelt type fails at import, not at run time."""

    __slots__ = ()

    @property
    def producer(self) -> str:
        return lookup(self).producer

    @property
    def constant(self) -> str:
        return self.upper().replace(".", "_")


def handle(event_type) -> EventType:
    """The handle of a registered type; KeyError for a type not in the catalogue."""
    lookup(event_type)
    return EventType(event_type)


def lookup(event_type, version=None) -> EventSpec:
    if version is None:
        versions = [v for (t, v) in _CATALOGUE if t == event_type]
        if not versions:
            raise KeyError(f"unknown event type {event_type}")
        version = max(versions)
    try:
        return _CATALOGUE[(event_type, version)]
    except KeyError:
        raise KeyError(f"unknown event {event_type} v{version}") from None


def lookup_readable(event_type, version) -> EventSpec:
    """The schema a consumer reads an event of `version` with: that version if
    this catalogue has it, else the newest older one. Versions only add optional
    fields (tests/unit/contracts/test_versions.py), so a consumer built for N
    reads N+1 as N, ignoring what it does not know, and one built for N+1 still
    has N's schema for the events of producers not yet upgraded."""
    try:
        return lookup(event_type, version)
    except KeyError:
        older = [v for (t, v) in _CATALOGUE if t == event_type and v < version]
        if not older:
            raise
        return _CATALOGUE[(event_type, max(older))]


def catalogue() -> list[EventSpec]:
    return sorted(_CATALOGUE.values(), key=lambda s: (s.producer, s.type, s.version))
