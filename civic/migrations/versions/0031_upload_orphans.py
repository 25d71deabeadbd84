"""Upload pieces left to delete (issue #19 point 3): ``upload_orphan`` lists the media-store keys of
resumable-upload pieces whose rows are gone; a key's row goes once the store has deleted it, and the
hourly purge retries those the store refused.  civic.core.resumable.UploadOrphan.

Revision ID: 0031_upload_orphans
Revises: 0030_routing_sources
Create Date: 2026-12-07 01:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0031_upload_orphans'
down_revision = '0030_routing_sources'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'upload_orphan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_orphan')),
    )
    with op.batch_alter_table('upload_orphan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_orphan_key'), ['key'], unique=False)


def downgrade():
    with op.batch_alter_table('upload_orphan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_orphan_key'))
    op.drop_table('upload_orphan')
