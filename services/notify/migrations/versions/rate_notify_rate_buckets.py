"""GOV.UK Notify rate limit buckets shared by replicas

Revision ID: notify_rate
Revises: notify_idem
"""
import sqlalchemy as sa
from alembic import op

revision = 'notify_rate'
down_revision = 'notify_idem'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notify_rate_buckets',
        sa.Column('bucket', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('bucket'),
    )


def downgrade():
    op.drop_table('notify_rate_buckets')
