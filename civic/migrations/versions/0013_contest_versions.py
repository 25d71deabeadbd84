"""Optimistic-lock versions for contests, moderated items, implementations and milestones

Revision ID: 0013_contest_versions
Revises: 0012_village_versions
Create Date: 2026-11-30 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013_contest_versions'
down_revision = '0012_village_versions'
branch_labels = None
depends_on = None

TABLES = ('contest', 'moderated_item', 'idea_implementation', 'idea_milestone')


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
            batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    _sqlite_foreign_keys(False)
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
    _sqlite_foreign_keys(True)
