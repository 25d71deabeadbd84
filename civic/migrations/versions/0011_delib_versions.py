"""deliberation: version columns (optimistic locking) on topics, meetings, motions and action items;
co-signature counts recounted from the rows (concurrent co-signatures lost increments before)

Revision ID: 0011_delib_versions
Revises: 0010_party_counts
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011_delib_versions'
down_revision = '0010_party_counts'
branch_labels = None
depends_on = None

TABLES = ('delib_topic', 'delib_meeting', 'delib_motion', 'delib_action_item')


def _sqlite_foreign_keys(on: bool):
    # Dropping a column rebuilds the table on SQLite (copy, DROP, rename); with civic's foreign keys
    # on, the DROP fails on the rows that point at it (or cascades to them).  PRAGMA foreign_keys is a
    # no-op inside a transaction: run it in an autocommit block.
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    op.execute("UPDATE delib_topic SET cosign_count = "
               "(SELECT count(*) FROM delib_cosign WHERE delib_cosign.topic_id = delib_topic.id)")


def downgrade():
    _sqlite_foreign_keys(False)
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
    _sqlite_foreign_keys(True)
