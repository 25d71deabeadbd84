"""SQLite's own R*Tree for the spatial look-ups (issue #21 point 1): the bounding boxes of the places'
boundaries (``place_rtree``) and the cases' points (``complaint_rtree``), kept by triggers on every
insert, edit and delete by any writer; the in-process STRtree and its ``spatial_version`` token go.

SQLite: ``CREATE VIRTUAL TABLE ... USING rtree`` (the R*Tree module is compiled into Python's
sqlite3 and every SQLite build civic supports; ``pragma compile_options`` lists ENABLE_RTREE).  A
boundary's box is computed in SQL from its GeoJSON ``coordinates`` with ``json_tree`` (positions are
``[lng, lat]``: array index 0 is the longitude, 1 the latitude), so the triggers need no Python
function and hold for a plain ``sqlite3`` shell too.  The R*Tree stores 32-bit floats and rounds a
box outwards, so it is a superset: the exact test on the candidates decides.

PostgreSQL: PostGIS's GiST indexes of 0023_spatial do this already: only ``spatial_version`` (which
stayed at 0 there) is dropped.

Revision ID: 0024_rtree
Revises: 0023_spatial
Create Date: 2026-12-06 21:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024_rtree'
down_revision = '0023_spatial'
branch_labels = None
depends_on = None

# The box of a GeoJSON (Multi)Polygon string ``{b}``: min/max of the positions' first and second numbers
# (no row when there are none: an aggregate without rows would give one row of NULLs, stored as 0).
_BOX = ("SELECT {id}, min(CASE WHEN key = 0 THEN value END), max(CASE WHEN key = 0 THEN value END), "
        "min(CASE WHEN key = 1 THEN value END), max(CASE WHEN key = 1 THEN value END) "
        "FROM json_tree({b}, '$.coordinates') WHERE type IN ('integer', 'real') {cond} HAVING count(*) > 0")

PLACE_TRIGGERS = {
    'place_rtree_added': "AFTER INSERT ON place WHEN NEW.boundary IS NOT NULL BEGIN "
                         "INSERT INTO place_rtree " + _BOX.format(id="NEW.id", b="NEW.boundary", cond="") + "; END",
    'place_rtree_changed': "AFTER UPDATE OF id, boundary ON place BEGIN "
                           "DELETE FROM place_rtree WHERE id = OLD.id; "
                           "INSERT INTO place_rtree "
                           + _BOX.format(id="NEW.id", b="NEW.boundary", cond="AND NEW.boundary IS NOT NULL") + "; END",
    'place_rtree_removed': "AFTER DELETE ON place BEGIN DELETE FROM place_rtree WHERE id = OLD.id; END",
}
COMPLAINT_TRIGGERS = {
    'complaint_rtree_added': "AFTER INSERT ON complaint WHEN NEW.lat IS NOT NULL AND NEW.lng IS NOT NULL BEGIN "
                             "INSERT INTO complaint_rtree VALUES (NEW.id, NEW.lat, NEW.lat, NEW.lng, NEW.lng); END",
    'complaint_rtree_changed': "AFTER UPDATE OF id, lat, lng ON complaint BEGIN "
                               "DELETE FROM complaint_rtree WHERE id = OLD.id; "
                               "INSERT INTO complaint_rtree SELECT NEW.id, NEW.lat, NEW.lat, NEW.lng, NEW.lng "
                               "WHERE NEW.lat IS NOT NULL AND NEW.lng IS NOT NULL; END",
    'complaint_rtree_removed': "AFTER DELETE ON complaint BEGIN DELETE FROM complaint_rtree WHERE id = OLD.id; END",
}
OLD_TRIGGERS = {
    'place_boundary_added': "AFTER INSERT ON place WHEN NEW.boundary IS NOT NULL",
    'place_boundary_changed': "AFTER UPDATE OF boundary ON place WHEN OLD.boundary IS NOT NEW.boundary",
    'place_boundary_removed': "AFTER DELETE ON place WHEN OLD.boundary IS NOT NULL",
}


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for name in OLD_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("CREATE VIRTUAL TABLE place_rtree USING rtree(id, min_lng, max_lng, min_lat, max_lat)")
        op.execute("CREATE VIRTUAL TABLE complaint_rtree USING rtree(id, min_lat, max_lat, min_lng, max_lng)")
        # A GROUP BY over every boundary's positions: the boxes of the places already stored.
        op.execute("INSERT INTO place_rtree SELECT p.id, min(CASE WHEN j.key = 0 THEN j.value END), "
                   "max(CASE WHEN j.key = 0 THEN j.value END), min(CASE WHEN j.key = 1 THEN j.value END), "
                   "max(CASE WHEN j.key = 1 THEN j.value END) FROM place p, json_tree(p.boundary, '$.coordinates') j "
                   "WHERE p.boundary IS NOT NULL AND j.type IN ('integer', 'real') GROUP BY p.id")
        op.execute("INSERT INTO complaint_rtree SELECT id, lat, lat, lng, lng FROM complaint "
                   "WHERE lat IS NOT NULL AND lng IS NOT NULL")
        for name, body in {**PLACE_TRIGGERS, **COMPLAINT_TRIGGERS}.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    op.drop_table('spatial_version')


def downgrade():
    op.create_table(
        'spatial_version',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('token', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_spatial_version')),
    )
    op.execute("INSERT INTO spatial_version (name, token) VALUES ('place', 0)")
    if op.get_bind().dialect.name == 'sqlite':
        for name in (*PLACE_TRIGGERS, *COMPLAINT_TRIGGERS):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS place_rtree")
        op.execute("DROP TABLE IF EXISTS complaint_rtree")
        for name, when in OLD_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN "
                       "INSERT OR REPLACE INTO spatial_version (name, token) VALUES ('place', random()); END")
