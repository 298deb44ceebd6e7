"""Tables the cpd service owns (its domain tables arrive with its issue)."""

from sqlalchemy.orm import DeclarativeBase

from services.common.tables import platform_tables


class Base(DeclarativeBase):
    pass


outbox, inbox = platform_tables(Base.metadata)
