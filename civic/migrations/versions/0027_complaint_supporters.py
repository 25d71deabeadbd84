""""Me too" (issue #18 point 5) and "cases near me" (issue #21): residents supporting a nearby open
case, their count in the pre-aggregated oversight counts, and the indexes of the open cases of a
compound and of the open cases' points.

``complaint_supporter``: one row per resident per case.  ``complaint_tally.supporters`` and
``complaint_count.supporters``: the street centre's figures (civic.complaints.counts) count them
without a scan.  Indexes: ``ix_complaint_compound_status`` (a compound's open cases),
``ix_complaint_open_point`` (a partial B-tree of the open cases' lat/lng: the radius search on
SQLite), and on PostgreSQL ``ix_complaint_open_point_gist`` (a partial GiST index of the open cases'
points as geography: ``ST_DWithin`` in metres, holding the open cases only).

Revision ID: 0027_complaint_supporters
Revises: 0026_triage
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0027_complaint_supporters'
down_revision = '0026_triage'
branch_labels = None
depends_on = None

OPEN_SQL = ("status IN ('submitted', 'routed', 'acknowledged', 'in_progress', 'returned', 'reopened')")
POINT_WHERE = f"lat IS NOT NULL AND lng IS NOT NULL AND {OPEN_SQL}"


def upgrade():
    op.create_table(
        'complaint_supporter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'],
                                name=op.f('fk_complaint_supporter_complaint_id_complaint')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_complaint_supporter_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_supporter')),
        sa.UniqueConstraint('complaint_id', 'user_id', name='uq_complaint_supporter'),
    )
    with op.batch_alter_table('complaint_supporter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_supporter_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('complaint_tally', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supporters', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('complaint_count', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supporters', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_compound_status', ['compound_id', 'status'], unique=False)
        batch_op.create_index('ix_complaint_open_point', ['lat', 'lng'], unique=False,
                              sqlite_where=sa.text(POINT_WHERE), postgresql_where=sa.text(POINT_WHERE))
    if op.get_bind().dialect.name == 'postgresql':
        schema = op.get_bind().execute(sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'postgis'")).scalar()
        op.execute(f"CREATE INDEX ix_complaint_open_point_gist ON complaint USING gist "
                   f"({schema}.geography({schema}.ST_SetSRID({schema}.ST_MakePoint(lng, lat), 4326))) "
                   f"WHERE {POINT_WHERE}")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_complaint_open_point_gist")
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_open_point')
        batch_op.drop_index('ix_complaint_compound_status')
    with op.batch_alter_table('complaint_count', schema=None) as batch_op:
        batch_op.drop_column('supporters')
    with op.batch_alter_table('complaint_tally', schema=None) as batch_op:
        batch_op.drop_column('supporters')
    with op.batch_alter_table('complaint_supporter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_supporter_user_id'))
    op.drop_table('complaint_supporter')
