"""The registry's spatial index (issue #21 point 1): locate reads only bounding-box candidates
(PostGIS on PostgreSQL, SQLite's R*Tree on SQLite) and answers exactly as the old full scan did."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.core.errors import NotFound
from civic.core.geo import locate as full_scan_locate
from civic.extensions import db
from civic.property import queries
from civic.property import service as reg
from civic.property.models import Place

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.city.registry import _rect, _rounded, building_footprints, compound_shape  # noqa: E402

X0, Y0, CW, CH = 121.40, 31.20, 0.004, 0.005  # a 16 × 12 grid of compound cells


def _full_scan(lat, lng):
    rows = db.session.execute(sa.select(Place.id, Place.boundary).where(Place.boundary.is_not(None))).all()
    return full_scan_locate(lat, lng, [(r.id, r.boundary) for r in rows])


def _located(lat, lng):
    try:
        return queries.locate(lat, lng).id
    except NotFound:
        return None


def _registry(factory, cols=16, rows=12):
    """A street of ``cols × rows`` compounds (generator shapes: holes, MultiPolygons) in 2 communities,
    each compound with 2 building footprints; returns the compounds' shapes by place id."""
    rng = random.Random(7)
    d = reg.create_place(kind="district", code=factory._code("D"), name="区")
    s = reg.create_place(kind="street", code=factory._code("S"), name="街道", parent=d)
    communities = [reg.create_place(kind="community", code=factory._code("CM"), name=f"社区{k}", parent=s,
                                    boundary=json.dumps(_rect(X0 + k * CW * cols / 2, Y0,
                                                              X0 + (k + 1) * CW * cols / 2, Y0 + CH * rows)))
                   for k in range(2)]
    shapes = {}
    for i in range(cols):
        for j in range(rows):
            x, y = X0 + i * CW, Y0 + j * CH
            shape = compound_shape(x, y, x + CW, y + CH, rng)
            comp = reg.create_place(kind="compound", code=factory._code("K"), name="小区",
                                    parent=communities[i * 2 // cols], boundary=_rounded(shape))
            shapes[comp.id] = shape
            for fp in building_footprints(shape, 2, rng):
                reg.create_place(kind="building", code=factory._code("B"), name="楼", parent=comp,
                                 boundary=json.dumps(_rect(*fp)))
    factory.commit()
    return shapes


def test_locate_answers_exactly_as_the_full_scan_on_a_city_block(factory):
    shapes = _registry(factory)
    rng = random.Random(21)
    points = [(rng.uniform(Y0 - 0.002, Y0 + 12 * CH + 0.002), rng.uniform(X0 - 0.002, X0 + 16 * CW + 0.002))
              for _ in range(300)]
    # Every vertex of some boundaries: on the edge counts as in, for the index as for the full scan.
    for shape in list(shapes.values())[:20]:
        for poly in getattr(shape, "geoms", [shape]):
            points += [(y, x) for x, y in list(poly.exterior.coords)[:4]]
            points += [(y, x) for ring in poly.interiors for x, y in list(ring.coords)[:2]]
    kinds = {"building": 0, "compound": 0, "community": 0, None: 0}
    for lat, lng in points:
        expected = _full_scan(lat, lng)
        assert _located(lat, lng) == expected, (lat, lng)
        kinds[db.session.get(Place, expected).kind if expected else None] += 1
    # The sample reaches every level, so the comparison means something.
    assert all(n > 0 for n in kinds.values()), kinds


def test_on_the_edge_in_a_hole_and_in_either_part_of_a_multipolygon(factory):
    lad = factory.ladder()
    outer = [[121.50, 31.23], [121.51, 31.23], [121.51, 31.24], [121.50, 31.24], [121.50, 31.23]]
    hole = [[121.504, 31.234], [121.506, 31.234], [121.506, 31.236], [121.504, 31.236], [121.504, 31.234]]
    lad["compound"].boundary = json.dumps({"type": "Polygon", "coordinates": [outer, hole]})
    lad["community"].boundary = json.dumps(_rect(121.49, 31.22, 121.53, 31.25))
    other = reg.create_place(kind="compound", code=factory._code("K"), name="两块的小区", parent=lad["community"],
                             boundary=json.dumps({"type": "MultiPolygon", "coordinates": [
                                 _rect(121.515, 31.23, 121.518, 31.24)["coordinates"],
                                 _rect(121.522, 31.23, 121.525, 31.24)["coordinates"]]}))
    factory.commit()
    compound, community = lad["compound"].id, lad["community"].id
    assert _located(31.235, 121.50) == compound  # on the west edge
    assert _located(31.23, 121.51) == compound  # on a corner
    assert _located(31.235, 121.505) == community  # in the hole
    assert _located(31.234, 121.505) == compound  # on the hole's edge
    assert _located(31.235, 121.516) == other.id
    assert _located(31.235, 121.523) == other.id
    assert _located(31.235, 121.520) == community  # the road between the parts
    assert _located(31.30, 121.60) is None


def test_the_index_follows_boundary_edits_and_deletes(factory):
    lad = factory.ladder()
    lad["compound"].boundary = json.dumps(_rect(121.50, 31.23, 121.51, 31.24))
    factory.commit()
    assert _located(31.235, 121.505) == lad["compound"].id
    assert _located(31.235, 121.515) is None
    # Moved through the ORM.
    lad["compound"].boundary = json.dumps(_rect(121.51, 31.23, 121.52, 31.24))
    factory.commit()
    assert _located(31.235, 121.505) is None
    assert _located(31.235, 121.515) == lad["compound"].id
    # Moved by plain SQL (an import script, another process): the database keeps the index.
    db.session.execute(sa.update(Place).where(Place.id == lad["compound"].id)
                       .values(boundary=json.dumps(_rect(121.60, 31.30, 121.61, 31.31))))
    factory.commit()
    assert _located(31.235, 121.515) is None
    assert _located(31.305, 121.605) == lad["compound"].id
    # Removed, then a rolled-back change, then a new one: never the rolled-back shape.
    lad["compound"].boundary = None
    factory.commit()
    assert _located(31.305, 121.605) is None
    lad["compound"].boundary = json.dumps(_rect(121.70, 31.30, 121.71, 31.31))
    db.session.flush()
    assert _located(31.305, 121.705) == lad["compound"].id  # its own unfinished change, seen
    db.session.rollback()
    assert _located(31.305, 121.705) is None
    place = db.session.get(Place, lad["compound"].id)
    place.boundary = json.dumps(_rect(121.80, 31.30, 121.81, 31.31))
    factory.commit()
    assert _located(31.305, 121.705) is None
    assert _located(31.305, 121.805) == lad["compound"].id


def test_postgis_index_is_what_the_query_uses(app, factory):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostGIS runs on PostgreSQL (the CI's second run)")
    lad = factory.ladder()
    lad["compound"].boundary = json.dumps(_rect(121.50, 31.23, 121.51, 31.24))
    factory.commit()
    schema = db.session.execute(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'postgis'")).scalar()
    assert schema == "postgis"
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))  # a tiny table would be scanned
    plan = "\n".join(db.session.execute(sa.text(
        "EXPLAIN SELECT id, boundary FROM place WHERE boundary IS NOT NULL AND "
        "postgis.ST_GeomFromGeoJSON(boundary) OPERATOR(postgis.&&) "
        "postgis.ST_SetSRID(postgis.ST_MakePoint(121.505, 31.235), 4326) ORDER BY id")).scalars())
    db.session.rollback()
    assert "ix_place_boundary_gist" in plan, plan


def test_sqlite_r_tree_holds_each_boundary_box_and_is_what_the_query_uses(factory):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("embedded database only: SQLite's R*Tree of migration 0024_rtree")
    from shapely.geometry import shape

    shapes = _registry(factory, cols=4, rows=3)
    boxes = {r.id: r for r in db.session.execute(sa.text(
        "SELECT id, min_lng, max_lng, min_lat, max_lat FROM place_rtree"))}
    with_boundary = db.session.execute(sa.select(Place.id, Place.boundary).where(Place.boundary.is_not(None))).all()
    assert set(boxes) == {r.id for r in with_boundary}
    for r in with_boundary:
        x0, y0, x1, y1 = shape(json.loads(r.boundary)).bounds
        b = boxes[r.id]
        # 32-bit floats rounded outwards (by up to two steps of ~8e-6°): never smaller than the
    # boundary, at most ~3 m larger.
        assert b.min_lng <= x0 and b.max_lng >= x1 and b.min_lat <= y0 and b.max_lat >= y1
        assert max(x0 - b.min_lng, b.max_lng - x1, y0 - b.min_lat, b.max_lat - y1) < 3e-5
    assert len(shapes) == 12
    plan = " ".join(str(r[-1]) for r in db.session.execute(sa.text(
        "EXPLAIN QUERY PLAN SELECT p.id, p.boundary FROM place_rtree r JOIN place p ON p.id = r.id "
        "WHERE r.min_lng <= :lng AND r.max_lng >= :lng AND r.min_lat <= :lat AND r.max_lat >= :lat "
        "AND p.boundary IS NOT NULL ORDER BY p.id"), {"lng": 121.405, "lat": 31.205}))
    assert "VIRTUAL TABLE INDEX" in plan and "USING INTEGER PRIMARY KEY" in plan, plan
