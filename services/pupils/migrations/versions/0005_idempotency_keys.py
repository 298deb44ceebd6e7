"""idempotency keys (the kit's table of Idempotency-Key answers)

Revision ID: 0005
Revises: 0004
"""
from alembic import op

from services.common.migrations import create_idempotency_keys, drop_idempotency_keys

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    create_idempotency_keys(op)


def downgrade():
    drop_idempotency_keys(op)
