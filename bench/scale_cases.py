"""Ten years of cases (issue 21 point 3): on the city built by bench/_city_data.py (10,000,000 cases),
p95 of every kind of organisation's queue (first and deep page), a street centre's oversight page and
CSV read from the pre-aggregated counts on the read replica, a resident's "my cases" and the duplicate
check, through the real endpoints (auth, query, serialisation, Jinja), beside two baselines from the
same run: ``GET /api/v1/me`` (the same request path with no case query) and a bare ``SELECT 1``.
Then the query plans (EXPLAIN ANALYZE).

    .venv/bin/python bench/_city_data.py --cases 10000000          # once: ~10 min, see its docstring
    .venv/bin/python bench/scale_cases.py [--db postgresql://postgres@127.0.0.1:5432/civic_scale]

The database is not rebuilt; the script upgrades it to the newest migration first (0026 fills the
counts from the stored cases: its time is printed).  There is no second PostgreSQL server on this
machine: the "replica" is ``CIVIC_DATABASE_READ_URL`` pointing at the same database, so the reads take
the replica's code path (a second engine and session) but not a second machine.
Targets: queues, my cases and duplicates p95 < 20 ms; oversight page and CSV < 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def p95(xs):
    return statistics.quantiles(xs, n=20)[-1] if len(xs) > 1 else xs[0]


def timed(fn, n):
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/civic_scale")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--plans-only", action="store_true", help="print the query plans only")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.environ["CIVIC_DATABASE_URL"] = a.db
    os.environ["CIVIC_DATABASE_READ_URL"] = a.db

    from flask_migrate import upgrade

    from bench._city_data import CITY, org_id, resident_id, staff_id
    from bench._queue_data import bearer
    from civic import create_app, init_migrations
    from civic.core.pagination import encode_cursor
    from civic.extensions import db

    app = create_app({"RATELIMIT_ENABLED": False})
    init_migrations(app)
    with app.app_context():
        t = time.perf_counter()
        upgrade()
        print(f"migrations upgraded in {time.perf_counter() - t:.1f} s (0026 fills the counts from every case)")
        n_cases = db.session.scalar(sa.text("SELECT max(id) FROM complaint"))
        print(f"cases: {n_cases:,}; counts rows: "
              f"{db.session.scalar(sa.text('SELECT count(*) FROM complaint_count')):,}, "
              f"duration rows: {db.session.scalar(sa.text('SELECT count(*) FROM complaint_duration_count')):,}")
        if a.plans_only:
            from civic.complaints.models import Complaint

            n_pc = CITY["compounds"] // CITY["compounds_per_pc"]
            sample = {"property_company": rng.sample(range(n_pc), 1),
                      "residents_committee": rng.sample(range(CITY["communities"]), 1)}
            plans(db, n_cases, sample, org_id, db.session.scalar(
                sa.select(Complaint).where(Complaint.id > n_cases - 20_000).limit(1)))
            return
        client = app.test_client()

        n_pc = CITY["compounds"] // CITY["compounds_per_pc"]
        sample = {"property_company": rng.sample(range(n_pc), 40),
                  "residents_committee": rng.sample(range(CITY["communities"]), 40),
                  "street_centre": rng.sample(range(CITY["streets"]), 40)}
        heads = {k: [bearer(staff_id(k, i, 0)) for i in v] for k, v in sample.items()}
        deep = encode_cursor([n_cases // 2])
        rows = []

        def get(url, h, status=200):
            r = client.get(url, headers=h)
            assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:300])
            return r

        me = heads["property_company"][0]
        rows.append(("baseline: GET /api/v1/me", timed(lambda i: get("/api/v1/me", me), a.requests)))
        rows.append(("baseline: SELECT 1", timed(lambda i: db.session.execute(sa.text("SELECT 1")), a.requests)))
        for kind, hs in heads.items():
            first = get("/api/v1/queue?limit=20", hs[0]).get_json()
            assert len(first["items"]) == 20, (kind, first)
            rows.append((f"queue first page: {kind}",
                         timed(lambda i, hs=hs: get("/api/v1/queue?limit=20", hs[i % len(hs)]), a.requests)))
            rows.append((f"queue deep page (case {n_cases // 2:,}): {kind}",
                         timed(lambda i, hs=hs: get(f"/api/v1/queue?limit=20&cursor={deep}", hs[i % len(hs)]), a.requests)))
            rows.append((f"queue first page, status=in_progress: {kind}",
                         timed(lambda i, hs=hs: get("/api/v1/queue?limit=20&status=in_progress", hs[i % len(hs)]),
                               a.requests)))

        residents = [bearer(resident_id(r)) for r in rng.sample(range(CITY["residents"]), 40)]
        mine = get("/api/v1/my/complaints", residents[0]).get_json()
        assert mine["items"], mine
        rows.append(("resident: GET /my/complaints", timed(lambda i: get("/api/v1/my/complaints", residents[i % 40]),
                                                          a.requests)))

        from civic.complaints.models import Complaint
        from civic.complaints.service.intake import possible_duplicates

        recent = list(db.session.scalars(sa.select(Complaint).where(Complaint.id > n_cases - 20_000)
                                         .order_by(sa.func.random()).limit(50)))
        found = sum(len(possible_duplicates(c)) for c in recent)
        rows.append((f"duplicates of a new case (found {found / len(recent):.1f} each)",
                     timed(lambda i: possible_duplicates(recent[i % len(recent)]), a.requests)))

        # The street centre's oversight: the console page and its CSV, logged in through the form.
        consoles = []
        for i in sample["street_centre"][:10]:
            c = app.test_client()
            tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/console/login").text).group(1)
            r = c.post("/console/login", data={"username": f"x-street_centre-{i}-0", "password": "civic-demo-2026",
                                               "csrf_token": tok})
            assert r.status_code == 303, r.status_code
            consoles.append(c)
        page = consoles[0].get("/console/oversight")
        assert page.status_code == 200 and "合计" in page.text, page.status_code
        csv_text = consoles[0].get("/console/oversight.csv").get_data(as_text=True)
        print(f"oversight CSV of one street: {len(csv_text.splitlines())} lines; total line: "
              f"{csv_text.splitlines()[-1][:120]}")
        n_over = max(20, a.requests // 5)
        rows.append(("street centre: /console/oversight", timed(lambda i: consoles[i % 10].get("/console/oversight"),
                                                                n_over)))
        rows.append(("street centre: /console/oversight.csv",
                     timed(lambda i: consoles[i % 10].get("/console/oversight.csv"), n_over)))

        print(f"\n{'request':58s} {'n':>5s} {'p50 ms':>8s} {'p95 ms':>8s}")
        for label, ts in rows:
            print(f"{label:58s} {len(ts):5d} {statistics.median(ts):8.2f} {p95(ts):8.2f}")

        plans(db, n_cases, sample, org_id, recent[0])


def plans(db, n_cases, sample, org_id, case):
    """EXPLAIN (ANALYZE, BUFFERS) of the queries behind each figure."""
    pc = org_id("property_company", sample["property_company"][0])
    rc = org_id("residents_committee", sample["residents_committee"][0])
    street = db.session.scalar(sa.text("SELECT street_id FROM complaint WHERE lead_organisation_id = :o LIMIT 1"),
                               {"o": pc})
    resident = case.complainant_id
    deep = n_cases // 2
    queries = {
        "queue first page (property company): the ids' range and their rows, one statement":
            "SELECT * FROM complaint WHERE id IN (SELECT complaint_id FROM complaint_party "
            f"WHERE organisation_id = {pc} AND active IS true ORDER BY complaint_id DESC LIMIT 21)",
        "queue deep page (residents' committee): the same":
            "SELECT * FROM complaint WHERE id IN (SELECT complaint_id FROM complaint_party "
            f"WHERE organisation_id = {rc} AND active IS true AND complaint_id < {deep} "
            "ORDER BY complaint_id DESC LIMIT 21)",
        "queue deep page (street centre): the same":
            "SELECT * FROM complaint WHERE id IN (SELECT id FROM complaint "
            f"WHERE street_id IN ({street}) AND id < {deep} ORDER BY id DESC LIMIT 21)",
        "Open311 GET requests.json (no filter: the last 90 days, first page of 50)":
            "SELECT * FROM complaint WHERE created_at >= now() - interval '90 days' AND created_at <= now() "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
        "Open311 GET requests.json?page=200 (offset 9,950, the deepest allowed is 10,000)":
            "SELECT * FROM complaint WHERE created_at >= now() - interval '90 days' AND created_at <= now() "
            "ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET 9950",
        "oversight: counts of one street (pre-aggregated)":
            "SELECT lead_organisation_id, status, sum(cases), sum(overdue), sum(rated), sum(satisfied), sum(rating_sum) "
            f"FROM complaint_count WHERE street_id IN ({street}) GROUP BY lead_organisation_id, status",
        "oversight: duration histograms of one street (pre-aggregated)":
            "SELECT lead_organisation_id, measure, tenths, sum(cases) FROM complaint_duration_count "
            f"WHERE street_id IN ({street}) AND cases > 0 GROUP BY lead_organisation_id, measure, tenths",
        "oversight BEFORE (the scan it replaces: counts of one street)":
            "SELECT lead_organisation_id, status, count(*), sum(CASE WHEN overdue THEN 1 ELSE 0 END) FROM complaint "
            f"WHERE street_id IN ({street}) GROUP BY lead_organisation_id, status",
        "my cases":
            # As civic.complaints.service.queue.my_complaints sends it: the cases filed or supported.
            f"SELECT * FROM complaint WHERE id IN (SELECT complaint_id AS id FROM complaint_reporter WHERE user_id = {resident} "
            f"UNION SELECT complaint_id FROM complaint_supporter WHERE user_id = {resident} ORDER BY id DESC LIMIT 21) "
            "ORDER BY id DESC",
        "duplicates":
            f"SELECT * FROM complaint WHERE category = '{case.category}' AND created_at >= now() - interval '14 days' "
            "AND status IN ('submitted','routed','acknowledged','in_progress','returned','reopened') "
            f"AND id != {case.id} AND building_id = {case.building_id} ORDER BY id DESC LIMIT 20",
    }
    print("\nQuery plans (EXPLAIN ANALYZE, BUFFERS):")
    for label, sql in queries.items():
        plan = db.session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).scalars().all()
        print(f"\n-- {label}\n" + "\n".join(plan))


if __name__ == "__main__":
    main()
