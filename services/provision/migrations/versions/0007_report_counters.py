"""what the impact report counts, kept as it changes: sessions recorded per assignment
and each target's latest outcome (rank and review day); sessions indexed by day

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assignments') as batch:
        batch.add_column(sa.Column('sessions_recorded', sa.Integer(), nullable=False,
                                   server_default='0'))
    with op.batch_alter_table('targets') as batch:
        batch.add_column(sa.Column('latest_progress', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('latest_reviewed_on', sa.Date(), nullable=True))
        batch.create_index(batch.f('ix_targets_latest_reviewed_on'), ['latest_reviewed_on'],
                           unique=False)
    with op.batch_alter_table('sessions') as batch:
        batch.create_index('ix_sessions_held_on', ['held_on'], unique=False)
    op.execute("UPDATE assignments SET sessions_recorded = "
               "(SELECT count(*) FROM sessions WHERE sessions.assignment_id = assignments.id)")
    op.execute("UPDATE targets SET "
               "latest_progress = (SELECT o.progress FROM outcomes o WHERE o.target_id = "
               "targets.id ORDER BY o.reviewed_on DESC, o.recorded_at DESC, o.id DESC LIMIT 1), "
               "latest_reviewed_on = (SELECT max(o.reviewed_on) FROM outcomes o "
               "WHERE o.target_id = targets.id)")


def downgrade():
    with op.batch_alter_table('sessions') as batch:
        batch.drop_index('ix_sessions_held_on')
    with op.batch_alter_table('targets') as batch:
        batch.drop_index(batch.f('ix_targets_latest_reviewed_on'))
        batch.drop_column('latest_reviewed_on')
        batch.drop_column('latest_progress')
    with op.batch_alter_table('assignments') as batch:
        batch.drop_column('sessions_recorded')
