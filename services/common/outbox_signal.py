"""Wakes a service's outbox relay as soon as a unit of work commits events."""

from eventlet.event import Event

_events = {}


def waiter(service):
    ev = _events.get(service)
    if ev is None or ev.ready():
        ev = _events[service] = Event()
    return ev


def kick(service):
    ev = _events.get(service)
    if ev is not None and not ev.ready():
        ev.send(True)
