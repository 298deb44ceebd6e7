"""The portal's own tables: sign-in sessions, one-time link tokens, OpenID
Connect login states and rate-limit counters. No business data and no copy of
another service's tables: every page reads through the services' APIs.

Secrets are stored as SHA-256 hashes only (session ids, link tokens, states).
"""

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table

from services.common.tables import UTCDateTime, platform_tables

metadata = MetaData()
platform_tables(metadata)  # the kit's DatabaseProvider expects outbox and inbox


class Base:  # senctl and the migrations read `Base.metadata`, as in every service
    metadata = metadata


sessions = Table(
    "sessions", metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    Column("sub", String(320), nullable=False, index=True),   # the person's email, lower case
    Column("name", String(200), nullable=True),
    Column("method", String(10), nullable=False),             # "oidc" or "email"
    Column("choices", JSON, nullable=False),                  # memberships the person may act as
    Column("org_id", String(36), nullable=True),              # the chosen one (None: not chosen)
    Column("org_name", String(200), nullable=True),
    Column("org_kind", String(40), nullable=True),
    Column("roles", JSON, nullable=False),
    Column("pupils", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
)

link_tokens = Table(
    "link_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)

login_states = Table(
    "login_states", metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("nonce", String(64), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

rate_limits = Table(
    "rate_limits", metadata,
    Column("key", String(80), primary_key=True),   # "email:<sha256>" or "ip:<sha256>"
    Column("window_start", UTCDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
)
