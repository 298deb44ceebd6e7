"""Tables the notify service owns."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import OrganisationProjection
from services.common.tables import UTCDateTime, platform_tables


class Base(DeclarativeBase):
    pass


outbox, inbox = platform_tables(Base.metadata)


class Organisation(OrganisationProjection, Base):
    """Local projection of organisation.onboarded: names and the school office's
    address (written to when a school lists no SENCO)."""


class Pupil(Base):
    """Local projection of pupils events: which organisation a pupil is at."""

    __tablename__ = "pupils"
    pupil_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)


class Guardian(Base):
    """Local projection of pupil.guardians_changed: who to write to about a
    pupil, on which channel and in which language."""

    __tablename__ = "guardians"
    pupil_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    guardian_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(30))
    preferred_channel: Mapped[str] = mapped_column(String(10))
    preferred_language: Mapped[str] = mapped_column(String(10), default="en")
    parental_responsibility: Mapped[bool] = mapped_column(Boolean)


class ReferralContact(Base):
    """Local projection of referral events: the referring contact and the
    allocated practitioner of each referral."""

    __tablename__ = "referral_contacts"
    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    school_org_id: Mapped[str] = mapped_column(String(36))
    reference: Mapped[str] = mapped_column(String(30))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    practitioner_name: Mapped[str | None] = mapped_column(String(200))
    practitioner_email: Mapped[str | None] = mapped_column(String(254))


class RecipientPreference(Base):
    """What a recipient (by email address or mobile number) chose: opt-outs
    per category, quiet hours, daily digest. It belongs to the recipient, not to
    an organisation: who may set it is decided per request (the person, their
    school's staff, the trust's admin); `set_by` and `org_id` record who last did."""

    __tablename__ = "preferences"
    address: Mapped[str] = mapped_column(String(254), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)  # organisation of set_by
    set_by: Mapped[str | None] = mapped_column(String(254))
    opt_outs: Mapped[str] = mapped_column(String(300), default="")  # comma-separated
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", Europe/London
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    """One message to one recipient on one channel, because of one event.

    Unique per (event, recipient, channel, template): the same event can never
    create a second delivery. The rendered message is kept as the receipt.
    """

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source_event_id: Mapped[str] = mapped_column(String(36), index=True)
    source_event_type: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[str | None] = mapped_column(String(36), index=True)
    subject_ref: Mapped[str | None] = mapped_column(String(36), index=True)
    template_id: Mapped[str] = mapped_column(String(100))
    template_version: Mapped[int] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # what preferences and fallbacks decided
    subject_kind: Mapped[str | None] = mapped_column(String(10))  # referral | pupil
    category: Mapped[str] = mapped_column(String(30), default="referral")
    statutory: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(10), default="en")
    alt_address: Mapped[str | None] = mapped_column(String(254))
    context_json: Mapped[str] = mapped_column(Text, default="{}")
    held: Mapped[bool] = mapped_column(Boolean, default=False)  # quiet hours
    digest: Mapped[bool] = mapped_column(Boolean, default=False)  # waits for a digest
    digest_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fallback_of: Mapped[str | None] = mapped_column(String(36))
    resend_of: Mapped[str | None] = mapped_column(String(36))
    provider: Mapped[str | None] = mapped_column(String(20))  # smtp | govuk-notify
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    # an iCalendar invitation sent with the message (CPD bookings): REQUEST or CANCEL
    calendar_method: Mapped[str | None] = mapped_column(String(10))
    calendar_ics: Mapped[str | None] = mapped_column(Text)
    # the order of messages about one subject (commands/ordering.py)
    order_key: Mapped[str | None] = mapped_column(String(50))
    order_seq: Mapped[int | None] = mapped_column(Integer)
    order_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("source_event_id", "recipient", "channel", "template_id",
                         name="uq_delivery_once"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_order", "order_key", "recipient"),
    )


class OrderSequence(Base):
    """The sequence numbers of a subject's events notify has handled (ordering.py)."""

    __tablename__ = "order_sequences"
    order_key: Mapped[str] = mapped_column(String(50), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class StaffMember(Base):
    """Local projection of the staff directory (staff.member_* from pupils): who the
    SENCOs of an organisation are, to write to them by name."""

    __tablename__ = "staff_members"
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(300))  # comma-separated
    active: Mapped[bool] = mapped_column(Boolean)


class RateBucket(Base):
    """GOV.UK Notify sends per time bucket, shared by every replica (ratelimit.py)."""

    __tablename__ = "notify_rate_buckets"
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
