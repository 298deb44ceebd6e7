"""Tables the cpd service owns: courses, sessions, staff, bookings (with the
seat counter that enforces capacity), attendance, certificates, CPD records,
evaluations, offers, and projections of organisations and referral needs."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
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
    """Local projection of organisation.onboarded (kind decides charging)."""


class Course(Base):
    __tablename__ = "courses"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider_org_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(200))
    area_of_need: Mapped[str] = mapped_column(String(40))
    cpd_hours: Mapped[float] = mapped_column(Float)
    price_pence: Mapped[int] = mapped_column(Integer, default=0)  # for partner schools; 0 = free
    prerequisites: Mapped[list] = mapped_column(JSON)  # course ids
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    places_per_org: Mapped[int | None] = mapped_column(Integer)  # None: the service default
    status: Mapped[str] = mapped_column(String(20))  # domain.CourseStatus
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CourseSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    venue: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))
    facilitator: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    # Capacity is enforced by a conditional UPDATE on this counter (never read-then-write).
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped (UPDATE ... RETURNING) by every booking: it locks the row for the
    # transaction on PostgreSQL and gives the waitlist its order.
    booking_seq: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))  # domain.SessionStatus
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Person(Base):
    """A member of staff, known by email within their organisation; `sub` is
    set once they act with their own token (self-booking)."""

    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    sub: Mapped[str | None] = mapped_column(String(100), index=True)
    feed_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("org_id", "email", name="uq_people_org_email"),)


class Booking(Base):
    __tablename__ = "bookings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))  # domain.BookingStatus
    seq: Mapped[int] = mapped_column(Integer)  # order of arrival on the session
    booked_by: Mapped[str] = mapped_column(String(100))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(40))
    attended: Mapped[bool | None] = mapped_column(Boolean)
    charge_pence: Mapped[int] = mapped_column(Integer, default=0)
    charge_term: Mapped[str | None] = mapped_column(String(20))
    calendar_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Bumped by every change of status after the first: with the session's own
    # sequence it makes the invitation's SEQUENCE, so calendars take each update.
    revision: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_bookings_session_status_seq", "session_id", "status", "seq"),)


class Certificate(Base):
    __tablename__ = "certificates"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    verification_code: Mapped[str] = mapped_column(String(40), unique=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    course_title: Mapped[str] = mapped_column(String(200))
    cpd_hours: Mapped[float] = mapped_column(Float)
    completed_on: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("course_id", "person_id", name="uq_certificates_course_person"),)


class CpdRecord(Base):
    """One line of a person's CPD record: hours gained, from a certificate."""

    __tablename__ = "cpd_records"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"))
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), unique=True)
    course_title: Mapped[str] = mapped_column(String(200))
    area_of_need: Mapped[str] = mapped_column(String(40))
    cpd_hours: Mapped[float] = mapped_column(Float)
    completed_on: Mapped[date] = mapped_column(Date)


class Evaluation(Base):
    __tablename__ = "evaluations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    rating: Mapped[int] = mapped_column(Integer)
    will_change: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("course_id", "person_id", name="uq_evaluations_course_person"),)


class Offer(Base):
    """Sessions offered to a school after a referral recommended the course."""

    __tablename__ = "offers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    school_org_id: Mapped[str] = mapped_column(String(36), index=True)
    referral_id: Mapped[str] = mapped_column(String(36))
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"))
    session_ids: Mapped[list] = mapped_column(JSON)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("referral_id", "course_id", name="uq_offers_referral_course"),)


class ReferralNeed(Base):
    """Projection of referral.closed: one row per area of need, for the trend report."""

    __tablename__ = "referral_needs"
    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    area_of_need: Mapped[str] = mapped_column(String(40), primary_key=True)
    school_org_id: Mapped[str] = mapped_column(String(36))
    closed_on: Mapped[date] = mapped_column(Date, index=True)
