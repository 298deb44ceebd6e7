"""The event catalogue: the one module every service imports (docs/architecture.md, "Layout")."""

from . import events  # noqa: F401  (registers every event schema)
from .envelope import EnvelopeSchema, UnknownEvent, make_event, parse_event
from .registry import EventSpec, catalogue, lookup

__all__ = [
    "EnvelopeSchema",
    "EventSpec",
    "UnknownEvent",
    "catalogue",
    "lookup",
    "make_event",
    "parse_event",
]
