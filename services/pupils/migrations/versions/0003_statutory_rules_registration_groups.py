"""statutory rules: phase transfer kind, post-review deadlines; registration groups
and NC year X on pupils

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

PLAN_DATES = ('phase_transfer_on', 'draft_plan_sent_on', 'draft_comments_on',
              'review_decision_on', 'amendment_notice_on', 'amended_plan_issued_on')


def upgrade():
    with op.batch_alter_table('pupils', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nc_not_followed', sa.Boolean(), nullable=False,
                                      server_default=sa.text('false')))
        batch_op.add_column(sa.Column('registration_group', sa.String(length=30),
                                      nullable=True))
        batch_op.create_index('ix_pupils_org_reg_group', ['org_id', 'registration_group'],
                              unique=False)
    with op.batch_alter_table('ehc_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phase_transfer_kind', sa.String(length=30),
                                      nullable=True))
        batch_op.add_column(sa.Column('review_decision', sa.String(length=10), nullable=True))
        for name in PLAN_DATES:
            batch_op.add_column(sa.Column(name, sa.Date(), nullable=True))
    # Plans recorded before the kind existed were all treated as reg. 18(1)(a) moves
    op.execute("UPDATE ehc_plans SET phase_transfer_kind = 'between_phases' "
               "WHERE phase_transfer_year IS NOT NULL")


def downgrade():
    with op.batch_alter_table('ehc_plans', schema=None) as batch_op:
        for name in reversed(PLAN_DATES):
            batch_op.drop_column(name)
        batch_op.drop_column('review_decision')
        batch_op.drop_column('phase_transfer_kind')
    with op.batch_alter_table('pupils', schema=None) as batch_op:
        batch_op.drop_index('ix_pupils_org_reg_group')
        batch_op.drop_column('registration_group')
        batch_op.drop_column('nc_not_followed')
