"""Resumable uploads (tus 1.0, issue #19 point 3): ``upload`` (one per upload, bound to its
account, with its kind, length, offset, expiry and status) and ``upload_piece`` (the pieces stored
in the media store, by offset).  civic.core.resumable.

Revision ID: 0029_uploads
Revises: 0028_photo_blur
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0029_uploads'
down_revision = '0028_photo_blur'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'upload',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('filetype', sa.String(length=100), nullable=True),
        sa.Column('length', sa.BigInteger(), nullable=False),
        sa.Column('offset', sa.BigInteger(), nullable=False),
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('consumed_for', sa.String(length=80), nullable=True),
        sa.CheckConstraint("status IN ('receiving', 'complete', 'consumed')", name=op.f('ck_upload_status')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_upload_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upload')),
    )
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_user_id'), ['user_id'], unique=False)
    op.create_table(
        'upload_piece',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('upload_id', sa.String(length=32), nullable=False),
        sa.Column('offset', sa.BigInteger(), nullable=False),
        sa.Column('length', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['upload_id'], ['upload.id'], name=op.f('fk_upload_piece_upload_id_upload'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_piece')),
        sa.UniqueConstraint('upload_id', 'offset', name=op.f('uq_upload_piece_upload_id_offset')),
    )


def downgrade():
    op.drop_table('upload_piece')
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_user_id'))
        batch_op.drop_index(batch_op.f('ix_upload_expires_at'))
    op.drop_table('upload')
