"""deliberation: version columns (optimistic locking) on topics, meetings, motions and action items;
co-signature counts recounted from the rows (concurrent co-signatures lost increments before)

Revision ID: 0013_delib_versions
Revises: 0011_party_counts
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013_delib_versions'
down_revision = '0011_party_counts'
branch_labels = None
depends_on = None

TABLES = ('delib_topic', 'delib_meeting', 'delib_motion', 'delib_action_item')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    op.execute("UPDATE delib_topic SET cosign_count = "
               "(SELECT count(*) FROM delib_cosign WHERE delib_cosign.topic_id = delib_topic.id)")


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
