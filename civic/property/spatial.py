"""The spatial index of the registry's boundaries (issue #21): which places may contain a point.

A look-up reads only the few places whose bounding box holds the point, never every boundary:

- **PostgreSQL**: PostGIS.  Migration 0023_spatial keeps a partial GiST expression index on
  ``ST_GeomFromGeoJSON(boundary)`` (SRID 4326, WGS-84), maintained by PostgreSQL on every insert,
  boundary edit and delete whoever writes; the query is the index's bounding-box operator ``&&``.
- **SQLite**: an in-process ``shapely.STRtree`` over every boundary, rebuilt when the token in
  ``spatial_version`` (changed by SQLite triggers on any boundary change, by any process) differs
  from the one it was built at.  A rebuild reads the boundaries once (about 2 s for 313,000 in a
  city registry: docs/bench-locate.md); each look-up then costs a primary-key read of the token.

Either way the candidates are then tested exactly by :func:`civic.core.geo.locate` (shapely
``covers``, the boundary counts as in; smallest area wins), the same test the full scan made, so
the answers are the same as before (tests/property/test_spatial.py compares them).
"""

from __future__ import annotations

import threading

import numpy as np
import shapely
import sqlalchemy as sa

from civic.extensions import db
from civic.property.models import Place, SpatialVersion

_POSTGIS_SCHEMA: dict[str, str] = {}  # engine url → schema of the postgis extension


def _postgis_schema(conn) -> str:
    key = str(conn.engine.url)
    if key not in _POSTGIS_SCHEMA:
        schema = conn.execute(sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'postgis'")).scalar()
        if schema is None:
            raise RuntimeError("PostGIS is not installed in this database: run `flask db upgrade` "
                               "(migration 0023_spatial) after scripts/setup")
        _POSTGIS_SCHEMA[key] = schema
    return _POSTGIS_SCHEMA[key]


class _StrIndex:
    """One process's STRtree over a SQLite database's boundaries, with the token it was built at."""

    def __init__(self) -> None:
        # (token, tree, ids) replaced whole, so a thread never sees one build's tree with another's ids.
        self.state: tuple[int | None, shapely.STRtree | None, np.ndarray] = (None, None, np.empty(0, np.int64))
        self.lock = threading.Lock()

    def candidates(self, session, lng: float, lat: float) -> list[int]:
        token = session.execute(sa.select(SpatialVersion.token).where(SpatialVersion.name == "place")).scalar()
        built, tree, ids = self.state
        # No row (someone emptied the table; the next boundary change writes it again): the index
        # cannot know what changed, so it is rebuilt for every look-up until then.
        if token is None or token != built or tree is None:
            with self.lock:
                tree, ids = self._rebuild(session, token)
        return sorted(int(i) for i in ids[tree.query(shapely.Point(lng, lat))])

    def _rebuild(self, session, token):
        rows = session.execute(sa.select(Place.id, Place.boundary).where(Place.boundary.is_not(None))).all()
        ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
        # GEOS's vectorised GeoJSON reader; the tree only needs each boundary's envelope.
        geoms = shapely.envelope(shapely.from_geojson([r.boundary for r in rows], on_invalid="ignore"))
        tree = shapely.STRtree(geoms)
        self.state = (token, tree, ids)
        return tree, ids


_STR_INDEXES: dict[str, _StrIndex] = {}


def candidate_boundaries(lat: float, lng: float) -> list[tuple[int, str]]:
    """``(place id, GeoJSON boundary)`` of every place whose boundary's bounding box holds the point,
    in id order: a superset of the places containing it, read through the spatial index.

    :param lat: latitude, WGS-84 decimal degrees.
    :param lng: longitude, WGS-84 decimal degrees.
    """
    session = db.session
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        g = _postgis_schema(conn)
        rows = session.execute(sa.text(
            f"SELECT id, boundary FROM place WHERE boundary IS NOT NULL AND {g}.ST_GeomFromGeoJSON(boundary) "
            f"OPERATOR({g}.&&) {g}.ST_SetSRID({g}.ST_MakePoint(:lng, :lat), 4326) ORDER BY id"),
            {"lng": lng, "lat": lat}).all()
        return [(r.id, r.boundary) for r in rows]
    index = _STR_INDEXES.setdefault(str(conn.engine.url), _StrIndex())
    ids = index.candidates(session, lng, lat)
    if not ids:
        return []
    rows = session.execute(sa.select(Place.id, Place.boundary).where(Place.id.in_(ids)).order_by(Place.id)).all()
    return [(r.id, r.boundary) for r in rows if r.boundary is not None]
