"""The console's queue page for an organisation with 100,000 cases on PostgreSQL: p95 through the real
page (session, CSRF-protected login, the queue and the counts per status, Jinja rendering), against a
trivial console page (the password form: same session and layout, no query) measured in the same run.

    .venv/bin/python bench/console_queue.py [--cases 100000] [--db postgresql://postgres@127.0.0.1:5432/console_bench]

The database is dropped and rebuilt (cases generated in SQL as in bench/complaints_queue.py).
Target (issue 8): p95 < 100 ms.  Results: docs/bench-console.md.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def p95(xs):
    return statistics.quantiles(xs, n=20)[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/console_bench")
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()

    from bench._queue_data import app_with_cases

    app, pc = app_with_cases(a.db, a.cases, demo_cases=True)
    with app.app_context():

        client = app.test_client()
        tok = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").text).group(1)
        r = client.post("/console/login", data={"username": "pc_sm_he", "password": "civic-demo-2026",
                                                "csrf_token": tok})
        assert r.status_code == 303, r.status_code
        first = client.get("/console/cases").text
        assert first.count('href="/console/cases/') == 50, "a full first page of 50"
        from civic.core.pagination import encode_cursor

        deep = encode_cursor([a.cases // 2])
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
