"""school calendars (term dates, INSET days) and named progress levels

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 03:40:00

Outcomes recorded on the old scale (-2 much worse … 0 no change, 1 met, 2 exceeded)
become levels: 2 exceeded, 1 met, anything below working_towards; `progress` then
holds the level's rank (0 not yet started … 4 exceeded) for the reports' sums.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('school_terms',
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('academic_year', sa.String(length=7), nullable=False),
    sa.Column('term', sa.String(length=10), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('half_term_starts_on', sa.Date(), nullable=True),
    sa.Column('half_term_ends_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('org_id', 'academic_year', 'term')
    )
    op.create_table('school_inset_days',
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('academic_year', sa.String(length=7), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'day')
    )
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=20), nullable=True))
    op.execute("UPDATE outcomes SET level = CASE WHEN progress >= 2 THEN 'exceeded' "
               "WHEN progress = 1 THEN 'met' ELSE 'working_towards' END")
    op.execute("UPDATE outcomes SET progress = CASE level WHEN 'exceeded' THEN 4 "
               "WHEN 'met' THEN 3 ELSE 1 END")
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.alter_column('level', existing_type=sa.String(length=20), nullable=False)


def downgrade():
    op.execute("UPDATE outcomes SET progress = CASE level WHEN 'exceeded' THEN 2 "
               "WHEN 'met' THEN 1 ELSE 0 END")
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_column('level')
    op.drop_table('school_inset_days')
    op.drop_table('school_terms')
