"""complaint_party: partial index for the counts per status of a queue (active rows only)

Revision ID: 0010_party_counts
Revises: 0009_deliberation
Create Date: 2026-11-29 17:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010_party_counts'
down_revision = '0009_deliberation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('complaint_party', schema=None) as batch_op:
        batch_op.create_index('ix_party_active_status', ['organisation_id', 'status'], unique=False,
                              postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))


def downgrade():
    with op.batch_alter_table('complaint_party', schema=None) as batch_op:
        batch_op.drop_index('ix_party_active_status', postgresql_where=sa.text('active'),
                            sqlite_where=sa.text('active'))
