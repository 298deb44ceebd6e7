"""each referral counts its events: the `sequence` every referral event carries

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # existing referrals start at 0: their earlier events carried no sequence
    with op.batch_alter_table('referrals') as batch:
        batch.add_column(sa.Column('event_sequence', sa.Integer(), nullable=False,
                                   server_default='0'))


def downgrade():
    with op.batch_alter_table('referrals') as batch:
        batch.drop_column('event_sequence')
