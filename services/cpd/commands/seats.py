"""Row locks and the seat counter that hold a session's capacity.

Every booking first bumps `sessions.booking_seq` (UPDATE ... RETURNING): that
locks the session row until commit on PostgreSQL (SQLite serialises writers) and
numbers the booking for the waitlist. A place is taken only by `UPDATE sessions
SET seats_taken = seats_taken + 1 WHERE seats_taken < capacity AND status =
'scheduled'`; if no row changes, the booking is waitlisted. So the database never
holds more than capacity, however many book at once.
"""

from sqlalchemy import update

from ..domain import SessionStatus
from ..models import CourseSession

SESSIONS = CourseSession.__table__


def lock_session(s, session_id, number=False):
    """Lock the session row for this transaction; with number=True also return the
    next booking number (the waitlist order). None if there is no such session."""
    s.flush()
    value = SESSIONS.c.booking_seq + 1 if number else SESSIONS.c.booking_seq
    return s.execute(update(SESSIONS).where(SESSIONS.c.id == session_id)
                     .values(booking_seq=value).returning(SESSIONS.c.booking_seq)
                     ).scalar_one_or_none()


def take_seat(s, session_id):
    """Take a place if one is free; False when the session is full (or cancelled)."""
    s.flush()
    result = s.execute(update(SESSIONS).where(
        SESSIONS.c.id == session_id, SESSIONS.c.status == SessionStatus.SCHEDULED,
        SESSIONS.c.seats_taken < SESSIONS.c.capacity,
    ).values(seats_taken=SESSIONS.c.seats_taken + 1))
    return result.rowcount == 1


def free_seat(s, session_id):
    s.flush()
    s.execute(update(SESSIONS).where(SESSIONS.c.id == session_id, SESSIONS.c.seats_taken > 0)
              .values(seats_taken=SESSIONS.c.seats_taken - 1))

