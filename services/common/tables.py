"""Tables every service database has: the outbox and the inbox (docs/architecture.md, "Events"),
and the answers to POSTs with an Idempotency-Key (idempotency.py)."""

from datetime import UTC

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every engine (SQLite stores none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use an aware UTC datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def platform_tables(metadata: MetaData):
    """Add the outbox and inbox tables to a service's metadata; return them."""
    outbox = Table(
        "outbox", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("exchange", String(100), nullable=False),
        Column("routing_key", String(100), nullable=False),
        Column("body", Text, nullable=False),
        Column("headers", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("published_at", UTCDateTime(), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", String(200), nullable=True),
    )
    inbox = Table(
        "inbox", metadata,
        Column("event_id", String(36), primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("processed_at", UTCDateTime(), nullable=False),
    )
    from .idempotency import table as idempotency_table
    idempotency_table(metadata)  # Idempotency-Key answers (idempotency.py)
    return outbox, inbox
