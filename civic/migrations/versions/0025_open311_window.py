"""Index of the cases by filing time (``ix_complaint_created``: created_at, id) for Open311's
GET requests: a window of at most 90 days, newest first, one page at a time, is a range of this
index at any number of cases (issue #21 point 3; civic.open311.service.list_requests).

Revision ID: 0025_open311_window
Revises: 0024_rtree
Create Date: 2026-12-06 21:40:00

"""
from alembic import op

revision = '0025_open311_window'
down_revision = '0024_rtree'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_complaint_created', 'complaint', ['created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_complaint_created', table_name='complaint')
