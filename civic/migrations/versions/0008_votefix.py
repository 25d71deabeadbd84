"""voting: withdrawal of unconfirmed paper entries (one live entry per unit)

Revision ID: 0008_votefix
Revises: 0007_polish
"""

import sqlalchemy as sa
from alembic import op

import civic.core.db

revision = "0008_votefix"
down_revision = '0007_polish'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("voting_paper_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", civic.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_voting_paper_entry_withdrawn_by_id_user_account"),
                                    "user_account", ["withdrawn_by_id"], ["id"])
        batch_op.drop_constraint("uq_voting_paper_entry_vote_id_roster_unit_id", type_="unique")
    op.create_index("uq_voting_paper_entry_live_unit", "voting_paper_entry", ["vote_id", "roster_unit_id"],
                    unique=True, postgresql_where=sa.text("withdrawn_at IS NULL"),
                    sqlite_where=sa.text("withdrawn_at IS NULL"))


def downgrade():
    op.drop_index("uq_voting_paper_entry_live_unit", table_name="voting_paper_entry")
    op.execute("DELETE FROM voting_paper_entry WHERE withdrawn_at IS NOT NULL")
    with op.batch_alter_table("voting_paper_entry", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_voting_paper_entry_vote_id_roster_unit_id", ["vote_id", "roster_unit_id"])
        batch_op.drop_constraint(batch_op.f("fk_voting_paper_entry_withdrawn_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_by_id")
        batch_op.drop_column("withdrawn_at")
