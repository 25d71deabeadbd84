"""Where the time of a queue page, of "my cases" and of Open311's list goes on the 10,000,000-case city (issue 21 point 4):
for each request, the number of SQL statements, the time spent inside them (cursor execute + fetch),
the rest (Flask, auth, marshmallow, Python, the pool's ping, BEGIN/ROLLBACK) and this process's CPU
time (``time.process_time``: what the request costs the app server, whatever the machine's load);
with ``--profile``, cProfile's top functions by own time.  Beside ``GET /api/v1/me`` from the same run.

    .venv/bin/python bench/profile_requests.py [--db postgresql://postgres@127.0.0.1:5432/civic_scale] [--n 100]

The city: bench/_city_data.py.  Prints the statements of one request of each kind, so a reader can
see which query to cut.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/civic_scale")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--profile", action="store_true", help="cProfile the requests (slows them: figures then differ)")
    a = ap.parse_args()
    os.environ["CIVIC_DATABASE_URL"] = a.db
    rng = random.Random(4)

    from bench._city_data import CITY, resident_id, staff_id
    from bench._queue_data import bearer
    from civic import create_app
    from civic.core.pagination import encode_cursor
    from civic.extensions import db

    app = create_app({"RATELIMIT_ENABLED": False})
    with app.app_context():
        n_cases = db.session.scalar(sa.text("SELECT max(id) FROM complaint"))
        client = app.test_client()

        n_pc = CITY["compounds"] // CITY["compounds_per_pc"]
        pcs = [bearer(staff_id("property_company", i, 0)) for i in rng.sample(range(n_pc), 20)]
        rcs = [bearer(staff_id("residents_committee", i, 0)) for i in rng.sample(range(CITY["communities"]), 20)]
        scs = [bearer(staff_id("street_centre", i, 0)) for i in rng.sample(range(CITY["streets"]), 20)]
        res = [bearer(resident_id(r)) for r in rng.sample(range(CITY["residents"]), 20)]
        deep = encode_cursor([n_cases // 2])
        kinds = {
            "GET /me (baseline)": ("/api/v1/me", pcs),
            "queue first page: property company": ("/api/v1/queue?limit=20", pcs),
            "queue deep page: property company": (f"/api/v1/queue?limit=20&cursor={deep}", pcs),
            "queue first page: residents' committee": ("/api/v1/queue?limit=20", rcs),
            "queue first page: street centre": ("/api/v1/queue?limit=20", scs),
            "queue deep page: street centre": (f"/api/v1/queue?limit=20&cursor={deep}", scs),
            "GET /my/complaints": ("/api/v1/my/complaints", res),
            "Open311 requests.json (page 1 of 50)": ("/open311/v2/requests.json", res),
            "Open311 requests.json?page=200": ("/open311/v2/requests.json?page=200", res),
        }
        sql = {"n": 0, "t": 0.0, "stmts": []}

        def before(conn, cursor, statement, parameters, context, executemany):
            context._t0 = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            sql["n"] += 1
            sql["t"] += time.perf_counter() - context._t0
            sql["stmts"].append(statement.split("\n")[0][:160])

        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
        print(f"cases: {n_cases:,}; {a.n} requests per kind, warm (each user asked once first)")
        print(f"\n{'request':42s} {'p50 ms':>7s} {'p95 ms':>7s} {'stmts':>6s} {'sql ms':>7s} {'rest ms':>8s} "
              f"{'cpu ms':>7s}")
        profiles = {}
        for label, (url, heads) in kinds.items():
            for h in heads:  # warm: the principal cache, the plan cache, the pages read
                assert client.get(url, headers=h).status_code == 200
            ts, ns, sqlt, cpu = [], [], [], []
            prof = cProfile.Profile()
            for i in range(a.n):
                sql.update(n=0, t=0.0, stmts=[])
                t, c0 = time.perf_counter(), time.process_time()
                if a.profile:
                    prof.enable()
                r = client.get(url, headers=heads[i % len(heads)])
                if a.profile:
                    prof.disable()
                ts.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
                assert r.status_code == 200, r.status_code
                ns.append(sql["n"])
                sqlt.append(sql["t"] * 1000)
            profiles[label] = (prof, list(sql["stmts"]))
            print(f"{label:42s} {statistics.median(ts):7.2f} {statistics.quantiles(ts, n=20)[-1]:7.2f} "
                  f"{statistics.median(ns):6.0f} {statistics.median(sqlt):7.2f} "
                  f"{statistics.median(ts) - statistics.median(sqlt):8.2f} {statistics.median(cpu):7.2f}")
        for label, (prof, stmts) in profiles.items():
            print(f"\n== {label}: the statements of one request")
            for s in stmts:
                print("   ", s)
            if not a.profile:
                continue
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(a.top)
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


if __name__ == "__main__":
    main()
