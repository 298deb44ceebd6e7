"""the kit's organisation projection: urn and contact email (kept from organisation.onboarded)

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
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('urn', sa.String(length=6), nullable=True))
        batch.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch.create_index(batch.f('ix_organisations_contact_email'), ['contact_email'],
                           unique=False)


def downgrade():
    with op.batch_alter_table('organisations') as batch:
        batch.drop_index(batch.f('ix_organisations_contact_email'))
        batch.drop_column('contact_email')
        batch.drop_column('urn')
