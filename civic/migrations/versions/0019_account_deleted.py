"""A deleted account's tombstone: ``user_account.deleted_at`` (PIPL Art. 47, issue #16 pt 3).

Revision ID: 0019_account_deleted
Revises: 0018_unit_claims
Create Date: 2026-12-06 04:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_account_deleted'
down_revision = '0018_unit_claims'
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column added without a table rebuild on both SQLite and PostgreSQL.
    op.add_column('user_account', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
