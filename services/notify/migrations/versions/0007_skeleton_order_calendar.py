"""The shared organisation projection (urn, contact_email index); deliveries carry
an iCalendar invitation and their place in a subject's order

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import services.common.tables

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('urn', sa.String(length=6), nullable=True))
        batch.create_index('ix_organisations_contact_email', ['contact_email'])
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('calendar_method', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('calendar_ics', sa.Text(), nullable=True))
        batch.add_column(sa.Column('order_key', sa.String(length=50), nullable=True))
        batch.add_column(sa.Column('order_seq', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('order_deadline', services.common.tables.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('waiting', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_index('ix_deliveries_order', ['order_key', 'recipient'])
    op.create_table(
        'order_sequences',
        sa.Column('order_key', sa.String(length=50), nullable=False),
        sa.Column('sequence', sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('order_key', 'sequence'),
    )


def downgrade():
    op.drop_table('order_sequences')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_index('ix_deliveries_order')
        for column in ('waiting', 'order_deadline', 'order_seq', 'order_key', 'calendar_ics',
                       'calendar_method'):
            batch.drop_column(column)
    with op.batch_alter_table('organisations') as batch:
        batch.drop_index('ix_organisations_contact_email')
        batch.drop_column('urn')
