"""idempotency keys (the kit's table of Idempotency-Key answers)

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from services.common.migrations import create_idempotency_keys, drop_idempotency_keys

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    create_idempotency_keys(op)


def downgrade():
    drop_idempotency_keys(op)
