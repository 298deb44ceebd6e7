"""preferences belong to the recipient: record who set them

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('preferences') as batch:
        batch.add_column(sa.Column('set_by', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('preferences') as batch:
        batch.drop_column('set_by')
