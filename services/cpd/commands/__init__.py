"""The cpd service's use cases, by aggregate: each opens the unit of work, loads
what it needs (scoped as queries/ scopes reads), asks the domain, writes and emits
(payloads.py shapes every event). Capacity and the waitlist: commands/seats.py."""

from . import attendance, bookings, certificates, courses, offers, sessions  # noqa: F401
