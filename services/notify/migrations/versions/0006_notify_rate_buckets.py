"""GOV.UK Notify rate limit buckets shared by replicas

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
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
