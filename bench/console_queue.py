"""The console's queue page for an organisation with 100,000 cases on PostgreSQL: p95 through the real
page (session, CSRF-protected login, the queue and the counts per status, Jinja rendering), against a
trivial console page (the password form: same session and layout, no query) measured in the same run.

    .venv/bin/python bench/console_queue.py [--cases 100000] [--db postgresql://postgres@127.0.0.1:5432/console_bench]

The database is dropped and rebuilt (cases generated in SQL as in bench/complaints_queue.py).
Target (issue 8): p95 < 100 ms.  Results: docs/bench-console.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def p95(xs):
    return statistics.quantiles(xs, n=20)[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/console_bench")
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()

    admin_url = a.db.rsplit("/", 1)[0] + "/postgres"
    dbname = a.db.rsplit("/", 1)[1]
    eng = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
    eng.dispose()

    os.environ["CIVIC_DATABASE_URL"] = a.db
    from flask_migrate import upgrade

    from civic import create_app, init_migrations
    from civic.core.db import commit
    from civic.demo import load_demo
    from civic.extensions import db

    app = create_app({"RATELIMIT_ENABLED": False})
    init_migrations(app)
    with app.app_context():
        upgrade()
        load_demo(cases=True)
        commit()
        pc = db.session.execute(sa.text("SELECT id FROM organisation WHERE code='O-PC-SM'")).scalar()
        rc = db.session.execute(sa.text("SELECT id FROM organisation WHERE code='O-RC-BJ'")).scalar()
        unit = db.session.execute(sa.text("SELECT id, path FROM place WHERE code='C-BJHY-1-101'")).one()
        ladder = [int(x) for x in unit.path.strip("/").split("/")]
        resident = db.session.execute(sa.text("SELECT id FROM user_account WHERE wechat_openid='dev-zhang_san'")).scalar()
        t0 = time.perf_counter()
        # 1M cases for one property company (every status), built in SQL.
        db.session.execute(sa.text("""
            INSERT INTO complaint (id, category, description, status, complainant_id, place_id, building_id,
                compound_id, community_id, street_id, district_id, location_source, gps_consent, urgent,
                lead_organisation_id, lead_fallback, deadlines_provisional, overdue, reopen_count, version,
                created_at, updated_at, acknowledge_due, resolve_due)
            SELECT g + 10, (ARRAY['green_damage','public_space_occupation','ebike_charging','waste_sorting'])[1 + g % 4],
                   '楼道堆物，影响消防通道，请物业处理。案件编号 ' || g,
                   (ARRAY['routed','acknowledged','in_progress','resolved','closed','closed','closed','closed'])[1 + g % 8],
                   :resident, :unit, :building, :compound, :community, :street, :district, 'place', false, false,
                   :pc, false, false, (g % 50 = 0), 0, 1,
                   now() - make_interval(secs => (:n - g) * 30), now(), now(), now() + interval '5 days'
            FROM generate_series(1, :n) g"""),
            {"n": a.cases, "resident": resident, "unit": unit.id, "building": ladder[4], "compound": ladder[3],
             "community": ladder[2], "street": ladder[1], "district": ladder[0], "pc": pc})
        db.session.execute(sa.text("""
            INSERT INTO complaint_party (complaint_id, organisation_id, role, may_see_complainant, active, status, overdue)
            SELECT id, :pc, 'lead', false, true, status, overdue FROM complaint WHERE id > 10
            UNION ALL
            SELECT id, :rc, 'assist', true, true, status, overdue FROM complaint WHERE id > 10"""), {"pc": pc, "rc": rc})
        db.session.execute(sa.text("SELECT setval('complaint_id_seq', :n + 10)"), {"n": a.cases})
        commit()
        db.session.execute(sa.text("VACUUM ANALYZE") if False else sa.text("ANALYZE"))
        commit()
        print(f"built {a.cases:,} cases in {time.perf_counter() - t0:.1f} s")

        client = app.test_client()
        tok = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").text).group(1)
        r = client.post("/console/login", data={"username": "pc_sm_he", "password": "civic-demo-2026",
                                                "csrf_token": tok})
        assert r.status_code == 303, r.status_code
        first = client.get("/console/cases").text
        assert first.count('href="/console/cases/') == 50, "a full first page of 50"
        from civic.core.pagination import _encode

        deep = _encode([a.cases // 2])
        pages = {
            "baseline: /console/password": "/console/password",
            "queue, first page + counts": "/console/cases",
            "queue, status=in_progress": "/console/cases?status=in_progress",
            "queue, overdue only": "/console/cases?overdue=1",
            "queue, deep page (middle)": f"/console/cases?cursor={deep}",
        }
        results = {}
        for label, url in pages.items():
            times = []
            for _ in range(a.requests):
                t = time.perf_counter()
                resp = client.get(url)
                times.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200, (url, resp.status_code)
            results[label] = (statistics.median(times), p95(times))
        base = results["baseline: /console/password"][1]
        print(f"\n{'page':34s} {'p50 ms':>8s} {'p95 ms':>8s} {'p95/baseline':>13s}  (n={a.requests}, {a.cases:,} cases, target p95 < 100 ms)")
        for label, (p50, p) in results.items():
            print(f"{label:34s} {p50:8.2f} {p:8.2f} {p / base:13.2f}")


if __name__ == "__main__":
    main()
