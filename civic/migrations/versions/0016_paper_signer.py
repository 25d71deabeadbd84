"""Who signed a paper ballot: ``voting_paper_entry.signer_kind`` (owner, proxy, developer),
``signer_person_id`` (the roster person who signed; for a proxy, the principal) and ``proxy_id``
(the registered proxy).  Entries made before stay NULL (their signer was not recorded).

Revision ID: 0016_paper_signer
Revises: 0015_village_reveal
Create Date: 2026-12-06 03:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016_paper_signer'
down_revision = '0015_village_reveal'
branch_labels = None
depends_on = None


def _sqlite_foreign_keys(on: bool):
    # A batch alter rebuilds the table on SQLite (copy, DROP, rename): with foreign keys on, the
    # DROP fails on rows pointing at it.  PRAGMA foreign_keys is a no-op inside a transaction.
    if op.get_bind().dialect.name == 'sqlite':
        with op.get_context().autocommit_block():
            op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('voting_paper_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signer_kind', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('signer_person_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('proxy_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_voting_paper_entry_signer_person_id_voting_roster_person'),
                                    'voting_roster_person', ['signer_person_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_voting_paper_entry_proxy_id_voting_proxy'),
                                    'voting_proxy', ['proxy_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_voting_paper_entry_signer_kind_known'),
            "signer_kind IS NULL OR signer_kind IN ('owner', 'proxy', 'developer')")
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('voting_paper_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_voting_paper_entry_signer_kind_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_voting_paper_entry_proxy_id_voting_proxy'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_voting_paper_entry_signer_person_id_voting_roster_person'),
                                 type_='foreignkey')
        batch_op.drop_column('proxy_id')
        batch_op.drop_column('signer_person_id')
        batch_op.drop_column('signer_kind')
    _sqlite_foreign_keys(True)
