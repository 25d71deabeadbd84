"""open311: partner keys, partner requests, complaint contacts, user kind "partner"

Revision ID: 0006_open311
Revises: 0005_contests
Create Date: 2026-11-29 14:48:06.054770

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_open311'
down_revision = '0005_contests'
branch_labels = None
depends_on = None


KINDS_BEFORE = "kind IN ('resident', 'staff', 'admin')"
KINDS_AFTER = "kind IN ('resident', 'staff', 'admin', 'partner')"


def _kind_check(condition):
    # Autogenerate does not compare CHECK constraints: the partner kind is added by hand.
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_account_kind_known'), condition)


def upgrade():
    _kind_check(KINDS_AFTER)
    op.create_table('open311_partner_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_name', sa.String(length=100), nullable=False),
    sa.Column('key_prefix', sa.String(length=12), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('media_hosts', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_open311_partner_key_created_by_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_open311_partner_key_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_partner_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_open311_partner_key_key_hash'))
    )
    with op.batch_alter_table('open311_partner_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_partner_key_partner_name'), ['partner_name'], unique=False)

    op.create_table('complaint_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_contact_complaint_id_complaint')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_contact')),
    sa.UniqueConstraint('complaint_id', name=op.f('uq_complaint_contact_complaint_id'))
    )
    op.create_table('open311_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('partner_key_id', sa.Integer(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('media_url', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_open311_request_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['partner_key_id'], ['open311_partner_key.id'], name=op.f('fk_open311_request_partner_key_id_open311_partner_key')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_request')),
    sa.UniqueConstraint('complaint_id', name=op.f('uq_open311_request_complaint_id'))
    )
    with op.batch_alter_table('open311_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_request_partner_key_id'), ['partner_key_id'], unique=False)



def downgrade():
    with op.batch_alter_table('open311_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_request_partner_key_id'))

    op.drop_table('open311_request')
    op.drop_table('complaint_contact')
    with op.batch_alter_table('open311_partner_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_partner_key_partner_name'))

    op.drop_table('open311_partner_key')
    op.execute("DELETE FROM user_account WHERE kind = 'partner'")
    _kind_check(KINDS_BEFORE)
