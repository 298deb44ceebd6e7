"""The cpd service's reads, scoped to the caller (services.common.access), by
aggregate: courses, sessions, bookings (with waitlists, charges and calendars),
certificates (with CPD records) and offers (with the need/training report)."""

from sqlalchemy import select


def fresh(s, model, ident):
    """The row as the database now has it (after a counter's UPDATE)."""
    return s.execute(select(model).where(model.id == ident)
                     .execution_options(populate_existing=True)).scalar_one_or_none()
