"""The spatial index of the registry's boundaries (issue #21): which places may contain a point.

A look-up reads only the few places whose bounding box holds the point, never every boundary:

- **PostgreSQL**: PostGIS.  Migration 0023_spatial keeps a partial GiST expression index on
  ``ST_GeomFromGeoJSON(boundary)`` (SRID 4326, WGS-84), maintained by PostgreSQL on every insert,
  boundary edit and delete whoever writes; the query is the index's bounding-box operator ``&&``.
- **SQLite**: SQLite's own R*Tree module.  Migration 0024_rtree keeps the virtual table
  ``place_rtree`` (each boundary's bounding box, 32-bit floats rounded outwards) with triggers on
  every insert, boundary edit and delete, whoever writes; the query is a range of that tree joined
  to ``place`` by primary key.  Nothing is held in the process: a boundary change is seen by the
  next look-up of every process, and by the writing transaction itself.

Either way the candidates are then tested exactly by :func:`civic.core.geo.locate` (shapely
``covers``, the boundary counts as in; smallest area wins), the same test the full scan made, so
the answers are the same as before (tests/foundation/test_spatial.py compares them).
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.extensions import db

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
    else:
        rows = session.execute(sa.text(
            "SELECT p.id, p.boundary FROM place_rtree r JOIN place p ON p.id = r.id "
            "WHERE r.min_lng <= :lng AND r.max_lng >= :lng AND r.min_lat <= :lat AND r.max_lat >= :lat "
            "AND p.boundary IS NOT NULL ORDER BY p.id"), {"lng": lng, "lat": lat}).all()
    return [(r.id, r.boundary) for r in rows]
