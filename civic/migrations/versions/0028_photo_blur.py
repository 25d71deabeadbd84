"""Blurred renditions of stored photos (issue #19 point 1): one row per original, with the regions
found or drawn, the job's status and who reviewed it (civic.core.blur).

Revision ID: 0028_photo_blur
Revises: 0027_complaint_supporters
Create Date: 2026-12-06 21:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0028_photo_blur'
down_revision = '0027_complaint_supporters'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'photo_blur',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('display_key', sa.String(length=120), nullable=False),
        sa.Column('thumb_key', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('regions', sa.JSON(), nullable=False),
        sa.Column('blurred_display_key', sa.String(length=120), nullable=True),
        sa.Column('blurred_thumb_key', sa.String(length=120), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blurred_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reviewed_by', sa.Integer(), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('original_deleted_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['reviewed_by'], ['user_account.id'], name=op.f('fk_photo_blur_reviewed_by_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_blur')),
        sa.UniqueConstraint('display_key', name=op.f('uq_photo_blur_display_key')),
    )


def downgrade():
    op.drop_table('photo_blur')
