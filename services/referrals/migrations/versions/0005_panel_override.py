"""panel override at triage: accepted although criteria were unmet, and why

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referrals') as batch:
        batch.add_column(sa.Column('panel_override', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('override_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('referrals') as batch:
        batch.drop_column('override_reason')
        batch.drop_column('panel_override')
