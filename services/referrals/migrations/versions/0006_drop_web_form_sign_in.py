"""drop the old web form's sign-in tables (contract)

The referral web form moved into the portal (issue 14), which signs schools in
with its own one-time links sent through notify; nothing reads or writes
`sign_in_links` or `web_sessions` any more (the release before this one stopped
using them: expand, then contract). `organisations.contact_email` stays: it is
part of the organisation projection.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00
"""
import sqlalchemy as sa
from alembic import op

import services.common.tables

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('web_sessions')
    op.drop_table('sign_in_links')


def downgrade():
    # the tables come back empty: links and sessions are short-lived and not data to keep
    op.create_table(
        'sign_in_links',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('school_org_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', services.common.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', services.common.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', services.common.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'))
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('school_org_id', sa.String(length=36), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', services.common.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', services.common.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'))
