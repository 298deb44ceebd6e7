"""Tables the referrals service owns."""

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.tables import UTCDateTime, platform_tables


class Base(DeclarativeBase):
    pass


outbox, inbox = platform_tables(Base.metadata)


class Organisation(Base):
    """Local projection of organisation.onboarded."""

    __tablename__ = "organisations"
    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    urn: Mapped[str | None] = mapped_column(String(6))


class Referral(Base):
    __tablename__ = "referrals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    school_org_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(30))
    pupil_first_name: Mapped[str] = mapped_column(String(100))
    pupil_last_name: Mapped[str] = mapped_column(String(100))
    pupil_date_of_birth: Mapped[date] = mapped_column(Date)
    pupil_upn: Mapped[str | None] = mapped_column(String(13))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str] = mapped_column(String(30))
    areas_of_need: Mapped[list] = mapped_column(JSON)
    need_types: Mapped[list] = mapped_column(JSON)
    concerns: Mapped[str] = mapped_column(Text)
    support_so_far: Mapped[str] = mapped_column(Text)
    consent_given: Mapped[bool]
    consent_date: Mapped[date] = mapped_column(Date)
    consent_given_by: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_referrals_school_created", "school_org_id", "created_at"),)


class Transition(Base):
    """Every change of a referral's status: who, when, from what to what."""

    __tablename__ = "referral_transitions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
