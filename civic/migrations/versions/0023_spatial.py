"""Spatial index of the registry's boundaries (issue #21): PostGIS on PostgreSQL, an in-process
STRtree invalidated by ``spatial_version`` on SQLite (civic.property.spatial).

PostgreSQL: the ``postgis`` extension (Debian package postgresql-15-postgis-3, installed by
scripts/setup and .ci/run) is created in its own schema ``postgis`` (so that its table
``spatial_ref_sys`` is not among civic's, and survives a dropped public schema), and a partial GiST
expression index on ``ST_GeomFromGeoJSON(boundary)`` is kept up to date by PostgreSQL itself on
every insert, boundary edit and delete; likewise a GiST index of the cases' points as geography
(the duplicate radius, ``ST_DWithin`` in metres).  SQLite: three triggers give ``spatial_version`` a new
random token whenever a boundary is added, changed or removed, by any writer.

Revision ID: 0023_spatial
Revises: 0020_job_outbox
Create Date: 2026-12-06 18:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0023_spatial'
down_revision = '0022_case_counts'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    'place_boundary_added': "AFTER INSERT ON place WHEN NEW.boundary IS NOT NULL",
    'place_boundary_changed': "AFTER UPDATE OF boundary ON place WHEN OLD.boundary IS NOT NEW.boundary",
    'place_boundary_removed': "AFTER DELETE ON place WHEN OLD.boundary IS NOT NULL",
}


def upgrade():
    op.create_table(
        'spatial_version',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('token', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_spatial_version')),
    )
    op.execute("INSERT INTO spatial_version (name, token) VALUES ('place', 0)")
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for name, when in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN "
                       "INSERT OR REPLACE INTO spatial_version (name, token) VALUES ('place', random()); END")
    elif dialect == 'postgresql':
        op.execute("CREATE SCHEMA IF NOT EXISTS postgis")
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA postgis")
        schema = op.get_bind().execute(sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'postgis'")).scalar()
        op.execute(f"CREATE INDEX ix_place_boundary_gist ON place USING gist "
                   f"({schema}.ST_GeomFromGeoJSON(boundary)) WHERE boundary IS NOT NULL")
        # Cases' points, as geography (metres) for ST_DWithin: the duplicate radius.
        op.execute(f"CREATE INDEX ix_complaint_point_gist ON complaint USING gist "
                   f"({schema}.geography({schema}.ST_SetSRID({schema}.ST_MakePoint(lng, lat), 4326))) "
                   f"WHERE lat IS NOT NULL AND lng IS NOT NULL")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_place_boundary_gist")
        op.execute("DROP INDEX IF EXISTS ix_complaint_point_gist")
    op.drop_table('spatial_version')
