"""Tables the provision service owns."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import OrganisationProjection
from services.common.tables import UTCDateTime, platform_tables

MONEY = Numeric(12, 2)
RATE = Numeric(10, 2)


class Base(DeclarativeBase):
    pass


outbox, inbox = platform_tables(Base.metadata)


class Organisation(OrganisationProjection, Base):
    """The kit's projection of organisation.onboarded, plus provision's own settings.

    A school's settings (its SEN budget, role rates) may be set before its onboarding
    event arrives here, so its name and kind may still be unknown (nullable, as
    migration 0002 made them)."""

    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(30))
    sen_budget: Mapped[Decimal | None] = mapped_column(MONEY)  # notional SEN budget a year


class RoleRate(Base):
    """Hourly staff cost of a delivering role in an organisation."""

    __tablename__ = "role_rates"
    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(30), primary_key=True)
    hourly_rate: Mapped[Decimal] = mapped_column(RATE)


class SchoolTermDates(Base):
    """A school's own term dates for one academic year (the LA pattern where none)."""

    __tablename__ = "school_terms"
    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    academic_year: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026/27
    term: Mapped[str] = mapped_column(String(10), primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    half_term_starts_on: Mapped[date | None] = mapped_column(Date)
    half_term_ends_on: Mapped[date | None] = mapped_column(Date)


class SchoolInsetDay(Base):
    """An INSET (or other closure) day a school has set: no pupils, no provision."""

    __tablename__ = "school_inset_days"
    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    academic_year: Mapped[str] = mapped_column(String(7))


class Pupil(Base):
    """Local projection of the pupils service's events: only what provision needs."""

    __tablename__ = "pupils"
    pupil_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    year_group: Mapped[int | None] = mapped_column(Integer)
    registration_group: Mapped[str | None] = mapped_column(String(30))  # class / form
    sen_status: Mapped[str | None] = mapped_column(String(1))
    primary_need: Mapped[str | None] = mapped_column(String(4))
    secondary_need: Mapped[str | None] = mapped_column(String(4))
    areas_of_need: Mapped[list] = mapped_column(JSON, default=list)


class CatalogueEntry(Base):
    __tablename__ = "catalogue"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str | None] = mapped_column(String(36), index=True)  # None: trust-wide
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    tier: Mapped[str] = mapped_column(String(20))
    area_of_need: Mapped[str] = mapped_column(String(40))
    delivered_by: Mapped[str] = mapped_column(String(30))
    group_size: Mapped[int] = mapped_column(Integer)
    session_minutes: Mapped[int] = mapped_column(Integer)
    cost_basis: Mapped[str] = mapped_column(String(20))
    cost_amount: Mapped[Decimal] = mapped_column(MONEY)
    evidence_notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Assignment(Base):
    """Provision from the catalogue given to a pupil or a group."""

    __tablename__ = "assignments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    catalogue_id: Mapped[str] = mapped_column(ForeignKey("catalogue.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    sessions_per_week: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    staff: Mapped[str] = mapped_column(String(200))
    statutory: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10))
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(30))
    end_note: Mapped[str | None] = mapped_column(Text)
    review_cycle_id: Mapped[str | None] = mapped_column(String(36))
    # every session recorded, whatever its day (reports subtract those after their day)
    sessions_recorded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AssignmentPupil(Base):
    __tablename__ = "assignment_pupils"
    assignment_id: Mapped[str] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               primary_key=True)
    pupil_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class AssignmentTarget(Base):
    __tablename__ = "assignment_targets"
    assignment_id: Mapped[str] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"),
                                               primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)


class DeliveredSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    assignment_id: Mapped[str] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    held_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    register_size: Mapped[int] = mapped_column(Integer)  # pupils the cost is shared across
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_sessions_assignment_held", "assignment_id", "held_on"),
                      Index("ix_sessions_held_on", "held_on"))


class Attendance(Base):
    __tablename__ = "attendance"
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    pupil_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    attended: Mapped[bool] = mapped_column(Boolean)


class Target(Base):
    """A SMART target for a pupil."""

    __tablename__ = "targets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pupil_id: Mapped[str] = mapped_column(String(36), index=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    description: Mapped[str] = mapped_column(Text)
    area_of_need: Mapped[str] = mapped_column(String(40))
    baseline: Mapped[str] = mapped_column(Text)
    expected_outcome: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(Text)
    baseline_score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    target_score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    score_unit: Mapped[str | None] = mapped_column(String(40))
    due_date: Mapped[date] = mapped_column(Date)
    # the latest outcome (by review day, then when recorded): its rank and review day,
    # for reports; a report as of an earlier day reads the outcomes themselves
    latest_progress: Mapped[int | None] = mapped_column(Integer)
    latest_reviewed_on: Mapped[date | None] = mapped_column(Date, index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Outcome(Base):
    """Progress on a target at a review."""

    __tablename__ = "outcomes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"),
                                           index=True)
    cycle_id: Mapped[str | None] = mapped_column(ForeignKey("cycles.id", ondelete="SET NULL"))
    reviewed_on: Mapped[date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(20))  # domain.LEVELS
    progress: Mapped[int] = mapped_column(Integer)  # the level's rank, 0-4, for reports
    score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Cycle(Base):
    """An assess-plan-do-review cycle of a pupil."""

    __tablename__ = "cycles"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pupil_id: Mapped[str] = mapped_column(String(36), index=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_on: Mapped[date] = mapped_column(Date)
    assess: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    do: Mapped[str] = mapped_column(Text, default="")
    review_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(10))
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    review_note: Mapped[str | None] = mapped_column(Text)
    announced_for: Mapped[date | None] = mapped_column(Date)  # review date already announced
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("pupil_id", "number", name="uq_cycles_pupil_number"),)


class Recommendation(Base):
    """What outreach recommended when it closed a referral from this school
    (referral.closed), for the SENCo to turn into provision."""

    __tablename__ = "recommendations"
    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    reference: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(100))
    areas_of_need: Mapped[list] = mapped_column(JSON)
    recommended_provision: Mapped[list] = mapped_column(JSON)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
