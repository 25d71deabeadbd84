""""Cases near me" (issue #18 point 5, issue #21 point 1): ``GET /api/v1/my/nearby-complaints``
p50/p95 beside a baseline timed in the same run, ``GET /api/v1/me`` (same client, same resident's
token), and the query plans that show the spatial index at work (never a scan of every case).

The data: one street of ``--compounds`` compounds spread over a 20 × 20 km square around People's
Square (boundaries 150 m squares), and ``--cases`` cases at random points in them, of which
``--open`` (a fraction) are open and the rest closed -- the shape of years of history, where "near
me" must read the open ones only.  The cases are inserted directly (a bulk INSERT, said so: intake
runs the photo pipeline and routing per case, which bench/complaints_intake.py measures), then the
recount is not needed (the list reads the cases, not the counts).  The resident owns a unit in the
first compound.

Three kinds of request, interleaved in rounds so drift of the machine hits all alike:

* ``GET /api/v1/me`` (the baseline);
* ``GET /api/v1/my/nearby-complaints`` without a point (the open cases of the resident's compound);
* the same with a point and ``radius_m`` 500 and 2,000 (the cap): PostGIS ``ST_DWithin`` on the
  partial GiST index of the open cases' points on PostgreSQL, the partial B-tree of the open cases'
  lat/lng on SQLite.

Run from the repository root::

    python -m bench.nearby --db sqlite:////tmp/nearby.db [--cases 100000] [--n 2000]
    python -m bench.nearby --db postgresql://postgres@127.0.0.1:5432/<db>   # DROPS its public schema

Results: docs/bench-nearby.md.  Say the load (``uptime``) beside every figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._timing import line, pct, timed  # noqa: E402

CENTRE = (31.2304, 121.4737)  # People's Square, WGS-84
HALF_SPAN_M = 10_000


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (lat + north_m / 111_195, lng + east_m / (111_195 * math.cos(math.radians(lat))))


def build(args) -> None:
    import sqlalchemy as sa

    from civic import create_app
    from civic.accounts.service import create_resident
    from civic.complaints.models import Complaint
    from civic.core.db import commit, utcnow
    from civic.demo import _square
    from civic.extensions import db
    from civic.property import service as reg

    app = create_app({"DATABASE_URL": args.db, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    rng = random.Random(18)
    with app.app_context():
        d = reg.create_place(kind="district", code="BD", name="压测区")
        s = reg.create_place(kind="street", code="BS", name="压测街道", parent=d)
        cm = reg.create_place(kind="community", code="BC", name="压测社区", parent=s)
        compounds = []
        for i in range(args.compounds):
            lat, lng = offset(*CENTRE, rng.uniform(-HALF_SPAN_M, HALF_SPAN_M), rng.uniform(-HALF_SPAN_M, HALF_SPAN_M))
            compounds.append(reg.create_place(kind="compound", code=f"BCP{i}", name=f"压测小区{i}", parent=cm,
                                              centre=(lat, lng), boundary=_square(lat, lng, 150)))
        b = reg.create_place(kind="building", code="BB0", name="1号楼", parent=compounds[0])
        from decimal import Decimal

        unit = reg.create_place(kind="unit", code="BU0", name="101室", parent=b, area=Decimal("80.00"),
                                area_source="registry")
        resident = create_resident(display_name="压测居民", phone="13900000000")
        reg.link_resident(resident, unit, "owner")
        commit()
        now = utcnow()
        open_statuses = ("routed", "acknowledged", "in_progress")
        batch = []
        t0 = time.perf_counter()
        for _ in range(args.cases):
            comp = compounds[rng.randrange(len(compounds))]
            lat, lng = offset(comp.centre_lat, comp.centre_lng, rng.uniform(-140, 140), rng.uniform(-140, 140))
            is_open = rng.random() < args.open
            at = now - dt.timedelta(days=rng.uniform(0, 3650))
            batch.append({"category": "noise", "description": "压测", "complainant_id": resident.id,
                          "status": rng.choice(open_statuses) if is_open else "closed",
                          "place_id": comp.id, "compound_id": comp.id, "community_id": cm.id, "street_id": s.id,
                          "district_id": d.id, "lat": lat, "lng": lng, "location_source": "point",
                          "gps_consent": False, "urgent": False, "lead_fallback": False,
                          "deadlines_provisional": False, "overdue": False, "reopen_count": 0, "version": 1,
                          "created_at": at, "updated_at": at})
            if len(batch) == 10_000:
                db.session.execute(sa.insert(Complaint), batch)
                batch = []
        if batch:
            db.session.execute(sa.insert(Complaint), batch)
        commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE complaint"))
            commit()
        print(f"{args.cases} cases inserted directly in {time.perf_counter() - t0:.1f} s "
              f"({args.open:.0%} open), {args.compounds} compounds")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--open", type=float, default=0.05, help="fraction of the cases that are open")
    ap.add_argument("--compounds", type=int, default=400)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    from bench.city.registry import reset_and_migrate

    reset_and_migrate(args.db)
    build(args)

    import sqlalchemy as sa

    from civic import create_app
    from civic.accounts.identity import issue_token
    from civic.accounts.models import User
    from civic.core.db import commit
    from civic.extensions import db

    app = create_app({"DATABASE_URL": args.db, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    with app.app_context():
        dialect = db.engine.dialect.name
        resident = db.session.scalar(sa.select(User).where(User.phone == "13900000000"))
        token, _ = issue_token(resident, hours=2)
        commit()
        # A request has a session of its own in a server; here the requests share this app context's
        # session, where the resident loaded above would be expired by each request's end and read
        # again by the next: a query a server never makes.
        db.session.remove()
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        rng = random.Random(5)
        points = [offset(*CENTRE, rng.uniform(-HALF_SPAN_M, HALF_SPAN_M), rng.uniform(-HALF_SPAN_M, HALF_SPAN_M))
                  for _ in range(500)]
        it = iter(range(10**9))
        found: dict[str, list[int]] = {"500": [], "2000": [], "compound": []}

        def me_once():
            assert client.get("/api/v1/me", headers=headers).status_code == 200

        def compound_once():
            r = client.get("/api/v1/my/nearby-complaints", headers=headers)
            assert r.status_code == 200, r.get_data(as_text=True)
            found["compound"].append(len(r.get_json()["items"]))

        def radius(m):
            def once():
                lat, lng = points[next(it) % len(points)]
                r = client.get("/api/v1/my/nearby-complaints", headers=headers,
                               query_string={"lat": lat, "lng": lng, "datum": "wgs84", "radius_m": m})
                assert r.status_code == 200, r.get_data(as_text=True)
                found[str(m)].append(len(r.get_json()["items"]))
            return once

        kinds = {"me": me_once, "compound": compound_once, "500": radius(500), "2000": radius(2000)}
        for fn in kinds.values():
            timed(fn, 30)
        # Round trips and this process's CPU per request, counted apart from the timed rounds (the
        # listener itself costs time): statements through SQLAlchemy, plus the pool's checks.
        stmts = {"n": 0}

        def count(*_a):
            stmts["n"] += 1

        sa.event.listen(db.engine, "before_cursor_execute", count)
        cost: dict[str, tuple[float, float]] = {}
        for k, fn in kinds.items():
            ns, cpu = [], []
            for _ in range(50):
                stmts["n"] = 0
                c0 = time.process_time()
                fn()
                cpu.append((time.process_time() - c0) * 1000)
                ns.append(stmts["n"])
            cost[k] = (statistics.median(ns), statistics.median(cpu))
        sa.event.remove(db.engine, "before_cursor_execute", count)
        ms: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(10):
            for k, fn in kinds.items():
                ms[k] += timed(fn, args.n // 10)
        base = pct(ms["me"], 95)
        print(f"{dialect}; load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        print(line("GET /api/v1/me (baseline)", ms["me"]))
        print(line("nearby: own compound (no point)", ms["compound"], base))
        print(line("nearby: point, radius 500 m", ms["500"], base))
        print(line("nearby: point, radius 2,000 m (the cap)", ms["2000"], base))
        print("statements and app CPU per request (median of 50): " + "; ".join(
            f"{k} {n:.0f} stmts {c:.2f} ms CPU" for k, (n, c) in cost.items()))
        print("items per page (limit 20), median: " + ", ".join(
            f"{k} {statistics.median(v):.0f}" for k, v in found.items()))
        lat, lng = points[0]
        from civic.complaints.models import OPEN_SQL

        if dialect == "postgresql":
            plan = db.session.execute(sa.text(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT id, lat, lng FROM complaint WHERE lat IS NOT NULL AND "
                f"lng IS NOT NULL AND {OPEN_SQL} AND postgis.ST_DWithin("
                "postgis.geography(postgis.ST_SetSRID(postgis.ST_MakePoint(lng, lat), 4326)), "
                "postgis.geography(postgis.ST_SetSRID(postgis.ST_MakePoint(:lng, :lat), 4326)), 2020)"),
                {"lat": lat, "lng": lng}).scalars().all()
        else:
            from civic.core.geo import bbox_around

            a, b, c, d = bbox_around(lat, lng, 2000)
            plan = [str(r) for r in db.session.execute(sa.text(
                "EXPLAIN QUERY PLAN SELECT id, lat, lng FROM complaint WHERE lat IS NOT NULL AND lng IS NOT NULL "
                f"AND {OPEN_SQL} AND lat BETWEEN {a} AND {c} AND lng BETWEEN {b} AND {d}")).all()]
        plan += [str(r[0] if dialect == "postgresql" else r) for r in db.session.execute(sa.text(
            ("EXPLAIN ANALYZE " if dialect == "postgresql" else "EXPLAIN QUERY PLAN ")
            + f"SELECT id FROM complaint WHERE compound_id IN (1, 2) AND {OPEN_SQL} ORDER BY id DESC LIMIT 21")).all()]
        print("plans:\n  " + "\n  ".join(plan))
        db.session.rollback()


if __name__ == "__main__":
    main()
