"""Prometheus metrics. Labels name services, routes, event types and outcomes:
never a person, an id or anything from a request body."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"])
EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events received by handlers, by outcome",
    ["service", "handler", "event_type", "outcome"])
EVENT_HANDLING = Histogram(
    "event_handling_seconds", "Time to handle one event", ["service", "handler"])
OUTBOX_PUBLISHED = Counter(
    "outbox_published_total", "Events published from the outbox", ["service", "event_type"])
OUTBOX_FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox publish attempts that failed", ["service"])
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog", "Events in the outbox not yet published", ["service"])
DEAD_LETTERS = Counter(
    "dead_letters_total", "Messages sent to the dead-letter queue", ["service", "handler"])
BROKER_CONNECTED = Gauge(
    "broker_connected", "1 while the service's outbox relay is connected to RabbitMQ, else 0",
    ["service"])

#: The last broker state each service's relay saw (None: not known yet).
_broker_state = {}


def set_broker_connected(service, up):
    _broker_state[service] = bool(up)
    BROKER_CONNECTED.labels(service).set(1 if up else 0)


def broker_connected(service):
    return _broker_state.get(service)
