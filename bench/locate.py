"""Locate on a city's registry (issue #21 point 1): ``GET /api/v1/places/locate`` p50/p95 with the
Shanghai-shaped registry of bench/city/registry.py (13,000 compounds, 300,000 buildings, 313,000+
boundaries), beside two baselines timed in the same run: ``GET /api/v1/me`` (same client, same
token) and a bare SQL query (one place by primary key).  Also the old full scan (every boundary
read and tested, as civic did before the spatial index) on one call, and the query plans (on
SQLite the R*Tree ``place_rtree`` of migration 0024_rtree: nothing is built in the process).

Requests go through Flask's test client in this process, one after another (no network, no
gunicorn: the figure is civic's own cost per look-up).  Points: random points inside random
compounds (most fall in a compound's open ground, some in a building, some in a hole).

Run from the repository root::

    python -m bench.locate --db sqlite:////tmp/city.db [--scale 1.0] [--n 2000]
    python -m bench.locate --db postgresql://postgres@127.0.0.1:5432/<db>   # DROPS its public schema

The database is emptied, migrated and filled first (``--keep`` reuses one filled before).
Results: docs/bench-locate.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._timing import line, pct, timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--keep", action="store_true", help="the database already holds the city registry")
    args = ap.parse_args()
    from bench.city.registry import build_registry, reset_and_migrate

    if not args.keep:
        reset_and_migrate(args.db)
        t0 = time.perf_counter()
        build_registry(args.db, args.scale)
        print(f"registry built in {time.perf_counter() - t0:.1f} s")

    import sqlalchemy as sa

    from civic import create_app
    from civic.accounts.identity import issue_token
    from civic.accounts.service import create_staff
    from civic.core.db import commit
    from civic.core.geo import locate as full_scan
    from civic.extensions import db
    from civic.property import service as reg
    from civic.property.models import Place

    app = create_app({"DATABASE_URL": args.db, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    with app.app_context():
        dialect = db.engine.dialect.name
        user = create_staff(username=f"bench-locate-{random.randrange(10**9)}", password="bench-pass-123",
                            display_name="定位压测", memberships=[])
        commit()
        token, _ = issue_token(user, hours=2)
        commit()
        headers = {"Authorization": f"Bearer {token}"}
        counts = dict(db.session.execute(sa.select(Place.kind, sa.func.count()).where(Place.boundary.is_not(None))
                                         .group_by(Place.kind)).all())
        print(f"{dialect}: boundaries by kind {counts}")
        rng = random.Random(5)
        compounds = db.session.execute(sa.select(Place.id, Place.boundary).where(Place.kind == "compound")
                                       .order_by(sa.func.random()).limit(500)).all()
        from shapely import from_geojson

        points = []
        for _, boundary in compounds:
            shape = from_geojson(boundary)
            x0, y0, x1, y1 = shape.bounds
            points.append((rng.uniform(y0, y1), rng.uniform(x0, x1)))
        client = app.test_client()
        it = iter(range(10**9))

        def locate_once():
            lat, lng = points[next(it) % len(points)]
            r = client.get(f"/api/v1/places/locate?lat={lat}&lng={lng}", headers=headers)
            assert r.status_code in (200, 404), r.get_data(as_text=True)

        def me_once():
            r = client.get("/api/v1/me", headers=headers)
            assert r.status_code == 200

        some_id = compounds[0][0]

        def sql_once():
            db.session.execute(sa.select(Place.id, Place.name).where(Place.id == some_id)).one()
            db.session.rollback()

        if dialect == "sqlite":
            from civic.property import spatial

            t0 = time.perf_counter()
            spatial.candidate_boundaries(31.2, 121.5)  # a process's first look-up: nothing to build
            print(f"first look-up of this process: {(time.perf_counter() - t0) * 1000:.1f} ms")
        for warm in (locate_once, me_once, sql_once):
            timed(warm, 50)
        # Interleaved rounds, so drift of the machine (2 cores shared) hits all three alike.
        loc, me, sql = [], [], []
        for _ in range(10):
            loc += timed(locate_once, args.n // 10)
            me += timed(me_once, args.n // 10)
            sql += timed(sql_once, args.n // 10)
        base = pct(me, 95)
        print(line("bare SQL (one place by id)", sql, base, width=34))
        print(line("GET /api/v1/me", me, width=34))
        print(line("GET /api/v1/places/locate", loc, base, width=34))
        rows_t0 = time.perf_counter()
        all_rows = [(r.id, r.boundary) for r in db.session.execute(
            sa.select(Place.id, Place.boundary).where(Place.boundary.is_not(None)))]
        read_ms = (time.perf_counter() - rows_t0) * 1000
        old = timed(lambda: full_scan(*points[rng.randrange(len(points))],
                                      [(i, b) for i, b in all_rows]), 1)
        print(f"old full scan (read {len(all_rows)} boundaries {read_ms:.0f} ms once, then parse+test): "
              f"median {statistics.median(old) + read_ms:.0f} ms per look-up")
        lat, lng = points[0]
        if dialect == "postgresql":
            plan = db.session.execute(sa.text(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT id, boundary FROM place WHERE boundary IS NOT NULL AND "
                "postgis.ST_GeomFromGeoJSON(boundary) OPERATOR(postgis.&&) "
                "postgis.ST_SetSRID(postgis.ST_MakePoint(:lng, :lat), 4326) ORDER BY id"),
                {"lng": lng, "lat": lat}).scalars()
        else:
            plan = [str(r) for r in db.session.execute(sa.text(
                "EXPLAIN QUERY PLAN SELECT p.id, p.boundary FROM place_rtree r JOIN place p ON p.id = r.id "
                "WHERE r.min_lng <= :lng AND r.max_lng >= :lng AND r.min_lat <= :lat AND r.max_lat >= :lat "
                "AND p.boundary IS NOT NULL ORDER BY p.id"), {"lng": lng, "lat": lat}).all()]
            n = db.session.execute(sa.text(
                "SELECT count(*) FROM place_rtree r WHERE r.min_lng <= :lng AND r.max_lng >= :lng "
                "AND r.min_lat <= :lat AND r.max_lat >= :lat"), {"lng": lng, "lat": lat}).scalar()
            plan.append(f"candidates for this point: {n}")
        print("plan:\n  " + "\n  ".join(plan))
        db.session.rollback()
        del reg


if __name__ == "__main__":
    main()
