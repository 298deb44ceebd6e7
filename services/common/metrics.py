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
