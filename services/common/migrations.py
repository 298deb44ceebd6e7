"""Alembic, driven from code: each service keeps its revisions in
services/<service>/migrations/versions and its env.py calls `run_env`."""

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import create_engine, pool

from . import settings


def alembic_config(service, url=None):
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(Path(__file__).resolve().parents[1] / service / "migrations"))
    cfg.attributes["service"] = service
    cfg.attributes["url"] = url or settings.database_url(service)
    return cfg


def upgrade(service, url=None, revision="head"):
    command.upgrade(alembic_config(service, url), revision)


def run_env(metadata):
    """Body of every service's migrations/env.py."""
    cfg = context.config
    url = cfg.attributes.get("url") or settings.database_url(cfg.attributes["service"])
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


# -- the kit's own tables, as migration steps -----------------------------------------
# Every service's first revision creates the outbox and the inbox, and a later one the
# Idempotency-Key answers; these are the one copy of those steps.

def create_outbox_and_inbox(op):
    import sqlalchemy as sa

    from .tables import UTCDateTime
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "handler"))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("exchange", sa.String(length=100), nullable=False),
        sa.Column("routing_key", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_published_at"), ["published_at"],
                              unique=False)


def drop_outbox_and_inbox(op):
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))
    op.drop_table("outbox")
    op.drop_table("inbox")


def create_idempotency_keys(op):
    import sqlalchemy as sa

    from .tables import UTCDateTime
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"))
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"],
                              unique=False)


def drop_idempotency_keys(op):
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))
    op.drop_table("idempotency_keys")
