"""village_disclosure: row_version (optimistic lock) and a publication date exactly on public rows

Two workers acting on one disclosure at once (publish and return, two sign-offs) both succeeded and
could leave a returned row with a publication date.  ``row_version`` is SQLAlchemy's version_id_col
(not the correction ``version``); the check constraint refuses a half-written row.  Rows a race has
already left returned (or otherwise unpublished) with a ``published_at`` get it cleared first: they
are not on the public page, and the audit log keeps both actions.

On SQLite the batch operation rebuilds the table (copy, DROP, rename).  civic's connections enforce
foreign keys, and dropping village_disclosure would then fail on its inquiries or, worse, cascade
to its lines (ON DELETE CASCADE): foreign keys are switched off around the rebuild, outside the
transaction as SQLite requires, and on again after it.

Revision ID: 0012_village_versions
Revises: 0011_delib_versions
Create Date: 2026-11-30 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012_village_versions'
down_revision = '0011_delib_versions'
branch_labels = None
depends_on = None

PUBLIC = "('published', 'corrected')"


def _sqlite_foreign_keys(on: bool):
    # PRAGMA foreign_keys is a no-op inside a transaction: run it in an autocommit block.
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    op.execute(f"UPDATE village_disclosure SET published_at = NULL WHERE status NOT IN {PUBLIC}")
    with op.batch_alter_table('village_disclosure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row_version', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_village_disclosure_published_at_iff_public'),
            f"(status IN {PUBLIC} AND published_at IS NOT NULL) OR (status NOT IN {PUBLIC} AND published_at IS NULL)")
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('village_disclosure', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_village_disclosure_published_at_iff_public'), type_='check')
        batch_op.drop_column('row_version')
    _sqlite_foreign_keys(True)
