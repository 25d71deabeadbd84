"""Staff accounts managed in civic (issue #16 point 1): ``user_account.must_change_password`` (a
password reset or an imported one-time password must be changed at the next login) and
``user_account.disabled_at`` (when the account was disabled).

Revision ID: 0017_staff_accounts
Revises: 0016_paper_signer
Create Date: 2026-12-06 04:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017_staff_accounts'
down_revision = '0016_paper_signer'
branch_labels = None
depends_on = None


def _sqlite_foreign_keys(on: bool):
    # A batch alter may rebuild the table on SQLite (copy, DROP, rename): with foreign keys on, the
    # DROP fails on the many rows pointing at user_account.  The PRAGMA is a no-op in a transaction.
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
        batch_op.drop_column('must_change_password')
    _sqlite_foreign_keys(True)
