"""Residents' claims to units (``unit_claim``): owner, co-owner or tenant, pending → confirmed |
refused, one pending claim per resident and unit (partial unique index), the document's keys while
pending.

Revision ID: 0018_unit_claims
Revises: 0017_staff_accounts
Create Date: 2026-12-06 04:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0018_unit_claims'
down_revision = '0017_staff_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'unit_claim',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('relation', sa.String(length=10), nullable=False),
        sa.Column('claimed_name', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decided_via', sa.String(length=20), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('refusal_reason', sa.Text(), nullable=True),
        sa.Column('document_key', sa.String(length=100), nullable=True),
        sa.Column('document_thumb_key', sa.String(length=100), nullable=True),
        sa.Column('document_token', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'refused')", name=op.f('ck_unit_claim_status_known')),
        sa.CheckConstraint("relation IN ('owner', 'co_owner', 'tenant')", name=op.f('ck_unit_claim_relation_known')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_unit_claim_decided_by_id_user_account')),
        sa.ForeignKeyConstraint(['unit_id'], ['place.id'], name=op.f('fk_unit_claim_unit_id_place')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_unit_claim_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_claim')),
    )
    with op.batch_alter_table('unit_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_claim_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_claim_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_unit_claim_pending', ['unit_id', 'user_id'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))


def downgrade():
    with op.batch_alter_table('unit_claim', schema=None) as batch_op:
        batch_op.drop_index('uq_unit_claim_pending')
        batch_op.drop_index(batch_op.f('ix_unit_claim_user_id'))
        batch_op.drop_index(batch_op.f('ix_unit_claim_unit_id'))
    op.drop_table('unit_claim')
