"""the class / registration group in the pupils projection (costs per class)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pupils') as batch:
        batch.add_column(sa.Column('registration_group', sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table('pupils') as batch:
        batch.drop_column('registration_group')
