"""the staff directory

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 03:00:00
"""
import sqlalchemy as sa
from alembic import op

import services.common.tables

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_members',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('org_id', sa.String(length=36), nullable=False),
        sa.Column('roles', sa.String(length=300), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', services.common.tables.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', services.common.tables.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email', 'org_id'),
    )
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_members_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_members_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_members_org_id'))
        batch_op.drop_index(batch_op.f('ix_staff_members_email'))
    op.drop_table('staff_members')
