"""Tables the referrals service owns."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import OrganisationProjection
from services.common.tables import UTCDateTime, platform_tables


class Base(DeclarativeBase):
    pass


outbox, inbox = platform_tables(Base.metadata)


class Organisation(OrganisationProjection, Base):
    """Local projection of organisation.onboarded: the school's name in documents and
    exports. `contact_email` (the mixin's) is kept but nothing here reads it."""


class Agreement(Base):
    """A service-level agreement with a partner school for one term."""

    __tablename__ = "agreements"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    school_org_id: Mapped[str] = mapped_column(String(36), index=True)
    academic_year: Mapped[str] = mapped_column(String(7))
    term: Mapped[str] = mapped_column(String(10))
    minutes_bought: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int | None] = mapped_column(Integer)
    min_cycles: Mapped[int] = mapped_column(Integer)
    consent_required: Mapped[bool] = mapped_column(Boolean)
    upn_required: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("school_org_id", "academic_year", "term",
                                       name="uq_agreements_school_term"),)


class Referral(Base):
    __tablename__ = "referrals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    school_org_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(30))
    # nullable: a draft may be incomplete; submission checks completeness
    pupil_first_name: Mapped[str | None] = mapped_column(String(100))
    pupil_last_name: Mapped[str | None] = mapped_column(String(100))
    pupil_date_of_birth: Mapped[date | None] = mapped_column(Date)
    pupil_upn: Mapped[str | None] = mapped_column(String(13))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    areas_of_need: Mapped[list] = mapped_column(JSON)
    need_types: Mapped[list] = mapped_column(JSON)
    concerns: Mapped[str | None] = mapped_column(Text)
    support_so_far: Mapped[str | None] = mapped_column(Text)
    consent_given: Mapped[bool | None]
    consent_date: Mapped[date | None] = mapped_column(Date)
    consent_given_by: Mapped[str | None] = mapped_column(String(200))
    graduated_approach: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # latest submission
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    info_question: Mapped[str | None] = mapped_column(Text)
    info_answer: Mapped[str | None] = mapped_column(Text)
    decline_reason: Mapped[str | None] = mapped_column(String(30))
    # accepted although criteria were unmet: the triage panel's override and its reason
    panel_override: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    agreement_id: Mapped[str | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    practitioner_sub: Mapped[str | None] = mapped_column(String(100), index=True)
    practitioner_name: Mapped[str | None] = mapped_column(String(200))
    practitioner_email: Mapped[str | None] = mapped_column(String(254))
    report_id: Mapped[str | None] = mapped_column(String(36))
    report_summary: Mapped[str | None] = mapped_column(Text)
    recommendations: Mapped[list | None] = mapped_column(JSON)
    report_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # how many events about this referral were emitted: each event's `sequence`
    event_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ix_referrals_school_created", "school_org_id", "created_at"),)


class Transition(Base):
    """Every change of a referral's status: who, when, from what to what."""

    __tablename__ = "referral_transitions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    action: Mapped[str | None] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Visit(Base):
    """An outreach visit; its minutes count against the referral's agreement."""

    __tablename__ = "visits"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    visit_date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    seen: Mapped[list] = mapped_column(JSON)
    observations: Mapped[str] = mapped_column(Text)
    recommendations: Mapped[str] = mapped_column(Text)
    practitioner_sub: Mapped[str] = mapped_column(String(100))
    override: Mapped[bool] = mapped_column(Boolean)
    override_by: Mapped[str | None] = mapped_column(String(100))
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OverdueBreach(Base):
    """A clock breach that was announced (`referral.overdue` is emitted once per row)."""

    __tablename__ = "overdue_breaches"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    clock: Mapped[str] = mapped_column(String(20))
    due_date: Mapped[date] = mapped_column(Date)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("referral_id", "clock", "due_date",
                                       name="uq_overdue_breach"),)
