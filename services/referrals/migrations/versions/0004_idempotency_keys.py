"""idempotency keys (the kit's table of Idempotency-Key answers)

Revision ID: 0004
Revises: 0003
"""
from alembic import op

from services.common.migrations import create_idempotency_keys, drop_idempotency_keys

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    create_idempotency_keys(op)


def downgrade():
    drop_idempotency_keys(op)
