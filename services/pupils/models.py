"""Tables the pupils service owns."""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
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


class Pupil(Base):
    """A pupil on the roll of one trust organisation; the current SEN fields mirror
    the open row of the register (sen_register) for filtering."""

    __tablename__ = "pupils"
    __table_args__ = (
        Index("ix_pupils_org_year", "org_id", "year_group"),
        Index("ix_pupils_org_sen", "org_id", "sen_status"),
        Index("ix_pupils_org_name", "org_id", "legal_surname", "forename", "id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    # unique across the trust; NULL once a record is anonymised
    upn: Mapped[str | None] = mapped_column(String(13), unique=True)
    legal_surname: Mapped[str] = mapped_column(String(100))
    forename: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    year_group: Mapped[int | None] = mapped_column(Integer)
    sen_status: Mapped[str] = mapped_column(String(1))
    primary_need: Mapped[str | None] = mapped_column(String(4))
    secondary_need: Mapped[str | None] = mapped_column(String(4))
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UpnChange(Base):
    """A temporary UPN replaced by the permanent one (kept as history)."""

    __tablename__ = "upn_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"),
                                          index=True)
    old_upn: Mapped[str | None] = mapped_column(String(13))
    new_upn: Mapped[str | None] = mapped_column(String(13))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[str] = mapped_column(String(100))


class SenRegisterEntry(Base):
    """Dated SEN provision history; at most one open entry (ends_on NULL) per pupil."""

    __tablename__ = "sen_register"
    __table_args__ = (
        Index("uq_sen_register_open", "pupil_id", unique=True,
              sqlite_where=text("ends_on IS NULL"), postgresql_where=text("ends_on IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"),
                                          index=True)
    org_id: Mapped[str] = mapped_column(String(36))  # where the pupil was at the time
    status: Mapped[str] = mapped_column(String(1))
    primary_need: Mapped[str | None] = mapped_column(String(4))
    secondary_need: Mapped[str | None] = mapped_column(String(4))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Guardian(Base):
    __tablename__ = "guardians"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"),
                                          index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    relationship: Mapped[str] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(30))
    preferred_channel: Mapped[str] = mapped_column(String(10))
    preferred_language: Mapped[str] = mapped_column(String(20))
    parental_responsibility: Mapped[bool] = mapped_column(Boolean)


class PassportVersion(Base):
    """One version of a pupil passport (one-page profile); drafts and published
    versions are all kept."""

    __tablename__ = "passport_versions"
    __table_args__ = (UniqueConstraint("pupil_id", "version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"),
                                          index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))  # draft | published
    about_me: Mapped[str] = mapped_column(Text)
    strengths: Mapped[str] = mapped_column(Text)
    needs: Mapped[str] = mapped_column(Text)
    what_helps: Mapped[str] = mapped_column(Text)
    what_does_not_help: Mapped[str] = mapped_column(Text)
    pupil_voice: Mapped[str] = mapped_column(Text)
    org_id: Mapped[str] = mapped_column(String(36))  # written at this organisation
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(100))


class EhcPlan(Base):
    __tablename__ = "ehc_plans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"),
                                          index=True)
    request_date: Mapped[date] = mapped_column(Date)
    decision_to_assess_on: Mapped[date | None] = mapped_column(Date)
    assessment_refused: Mapped[bool] = mapped_column(Boolean, default=False)
    decision_to_issue_on: Mapped[date | None] = mapped_column(Date)
    issue_refused: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_on: Mapped[date | None] = mapped_column(Date)
    last_review_on: Mapped[date | None] = mapped_column(Date)
    phase_transfer_year: Mapped[int | None] = mapped_column(Integer)
    phase_transfer_amended_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EhcPause(Base):
    """A lawful pause of the 20-week clock (an exception in the SEND Regulations)."""

    __tablename__ = "ehc_pauses"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("ehc_plans.id", ondelete="CASCADE"),
                                         index=True)
    reason: Mapped[str] = mapped_column(String(50))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)


class EhcReminderSent(Base):
    """A reminder emitted for one deadline: at most once per (plan, step, due date)."""

    __tablename__ = "ehc_reminders"
    __table_args__ = (UniqueConstraint("plan_id", "deadline", "due_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("ehc_plans.id", ondelete="CASCADE"))
    deadline: Mapped[str] = mapped_column(String(30))
    due_date: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Move(Base):
    __tablename__ = "moves"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"),
                                          index=True)
    from_org_id: Mapped[str] = mapped_column(String(36))
    to_org_id: Mapped[str] = mapped_column(String(36))
    moved_on: Mapped[date] = mapped_column(Date)
    consent_given_by: Mapped[str] = mapped_column(String(200))
    consent_date: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReferralLink(Base):
    """An accepted outreach referral matched (by UPN, in the referring school) to a pupil."""

    __tablename__ = "referral_links"
    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    pupil_id: Mapped[str] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"),
                                          index=True)
    school_org_id: Mapped[str] = mapped_column(String(36))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who read which pupil record, when, through which endpoint. Ids only."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    actor_org_id: Mapped[str] = mapped_column(String(36))
    pupil_id: Mapped[str] = mapped_column(String(36), index=True)
    pupil_org_id: Mapped[str] = mapped_column(String(36), index=True)
    endpoint: Mapped[str] = mapped_column(String(100))


class StaffMember(Base):
    """The staff directory: one membership (a person's roles at one organisation) per
    row; a person may hold several. The portal's sign-in asks it who someone is."""

    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("email", "org_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  # lower case
    name: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    roles: Mapped[str] = mapped_column(String(300))  # comma-separated, sorted
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
