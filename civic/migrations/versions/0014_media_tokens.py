"""Access tokens for stored files that had none: proxies' authorisations, paper ballot scans, village
vouchers (a column each), vote matter attachments and action-item photos (a ``token`` in each entry
of their JSON lists).  Existing rows get fresh random tokens.

Revision ID: 0014_media_tokens
Revises: 0013_contest_versions
Create Date: 2026-12-06 02:30:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0014_media_tokens'
down_revision = '0013_contest_versions'
branch_labels = None
depends_on = None

# (table, token column)
COLUMNS = (('voting_proxy', 'scan_token'), ('voting_paper_entry', 'scan_token'), ('village_voucher', 'access_token'))
# (table, JSON column holding [{"display_key", "thumb_key", "width", "height"(, "token")}])
JSON_LISTS = (('voting_matter', 'attachments'), ('delib_action_item', 'evidence_photos'),
              ('delib_action_update', 'photos'))


def _token() -> str:
    return secrets.token_urlsafe(32)


def _sqlite_foreign_keys(on: bool):
    # A batch alter rebuilds the table on SQLite (copy, DROP, rename); with civic's foreign keys on,
    # the DROP fails on the rows that point at it.  PRAGMA foreign_keys is a no-op inside a
    # transaction: run it in an autocommit block.
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    bind = op.get_bind()
    _sqlite_foreign_keys(False)
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.String(length=64), nullable=True))
        t = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.String))
        for (row_id,) in bind.execute(sa.select(t.c.id).order_by(t.c.id)).all():
            bind.execute(t.update().where(t.c.id == row_id).values({column: _token()}))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=64), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_{column}'), [column])
    _sqlite_foreign_keys(True)
    for table, column in JSON_LISTS:
        t = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.JSON))
        for row_id, items in bind.execute(sa.select(t.c.id, t.c[column]).order_by(t.c.id)).all():
            if items and any(not p.get('token') for p in items):
                items = [dict(p, token=p.get('token') or _token()) for p in items]
                bind.execute(t.update().where(t.c.id == row_id).values({column: items}))


def downgrade():
    bind = op.get_bind()
    for table, column in JSON_LISTS:
        t = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.JSON))
        for row_id, items in bind.execute(sa.select(t.c.id, t.c[column]).order_by(t.c.id)).all():
            if items:
                bind.execute(t.update().where(t.c.id == row_id)
                             .values({column: [{k: v for k, v in p.items() if k != 'token'} for p in items]}))
    _sqlite_foreign_keys(False)
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_{column}'), type_='unique')
            batch_op.drop_column(column)
    _sqlite_foreign_keys(True)
