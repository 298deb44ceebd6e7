"""Tables the pupils service owns."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.tables import UTCDateTime, platform_tables


class Base(DeclarativeBase):
    pass


outbox, inbox = platform_tables(Base.metadata)


class Organisation(Base):
    """The trust, its schools and ARBs, and partner mainstream schools."""

    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    urn: Mapped[str | None] = mapped_column(String(6), unique=True)
    laestab: Mapped[str | None] = mapped_column(String(7), unique=True)
    phase: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    onboarded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    onboarded_by: Mapped[str] = mapped_column(String(100))
