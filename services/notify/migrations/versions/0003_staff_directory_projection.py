"""the staff directory projection (who the SENCOs are)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 03:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_members',
        sa.Column('member_id', sa.String(length=36), nullable=False),
        sa.Column('org_id', sa.String(length=36), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('roles', sa.String(length=300), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('member_id'),
    )
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_members_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_members_org_id'))
    op.drop_table('staff_members')
