"""Capacity (issue 21 point 4): a realistic request mix driven by locust (bench/locustfile_mix.py)
against gunicorn + PostgreSQL + Redis + an RQ worker on this machine, at 1 and 2 gunicorn workers:
throughput and p95 per request kind, and where a worker's time goes (py-spy, sampled during the
2-worker run).  ``GET /api/v1/me`` runs inside the mix as the baseline of the same run.

    .venv/bin/python bench/load_mix.py [--db postgresql://postgres@127.0.0.1:5432/civic_scale]
        [--redis redis://127.0.0.1:6379/7] [--users 12] [--seconds 60]

The database is the city of bench/_city_data.py (10,000,000 cases): it gains the cases the run files.
Results and the capacity plan drawn from them: docs/capacity.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import REPO, VENV_BIN, Gunicorn  # noqa: E402

OUT = Path(tempfile.gettempdir()) / "civic-load"


def fixtures(db: str, media: str) -> dict:
    """Tokens for 300 residents and the handlers of 300 property companies, 200 building ids, the
    photo, and the public URLs, written to a JSON file for the locustfile."""
    os.environ["CIVIC_DATABASE_URL"] = db
    from bench._city_data import CITY, place_id, resident_id, staff_id
    from bench.complaints_intake import make_photo
    from civic import create_app
    from civic.accounts.identity import issue_token
    from civic.accounts.models import User
    from civic.core.db import commit
    from civic.extensions import db as _db

    app = create_app({"RATELIMIT_ENABLED": False, "MEDIA_DIR": media})
    import random

    rng = random.Random(4)
    with app.app_context():
        residents = [issue_token(_db.session.get(User, resident_id(i)), hours=24)[0]
                     for i in rng.sample(range(CITY["residents"]), 300)]
        staff = [issue_token(_db.session.get(User, staff_id("property_company", i, 0)), hours=24)[0]
                 for i in rng.sample(range(CITY["compounds"] // CITY["compounds_per_pc"]), 300)]
        commit()
    n_buildings = CITY["compounds"] * CITY["buildings_per_compound"]
    photo = OUT / "photo.jpg"
    photo.write_bytes(make_photo())
    fix = {"residents": residents, "staff": staff, "photo": str(photo),
           "places": [place_id("building", rng.randrange(n_buildings)) for _ in range(200)],
           "village_url": "/villages/V-XF/", "open311_url": "/open311/v2/requests.json"}
    path = OUT / "fixtures.json"
    path.write_text(json.dumps(fix))
    return fix


def run_locust(host: str, users: int, seconds: int, tag: str) -> list[dict]:
    prefix = OUT / tag
    subprocess.run([str(VENV_BIN / "locust"), "-f", str(REPO / "bench" / "locustfile_mix.py"), "--headless",
                    "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host, "--csv", str(prefix),
                    "--only-summary", "--loglevel", "WARNING"],
                   env={**os.environ, "CIVIC_LOAD_FIXTURES": str(OUT / "fixtures.json")}, check=False,
                   capture_output=True)
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def spy(pid: int, seconds: int) -> Counter:
    """Sample a gunicorn worker with py-spy for ``seconds``; returns samples per area of the code."""
    raw = OUT / f"spy-{pid}.txt"
    subprocess.run([str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "50",
                    "--format", "raw", "--output", str(raw), "--nonblocking"], capture_output=True, check=False)
    areas: Counter = Counter()
    if not raw.exists():
        return areas
    rules = [("photo pipeline (Pillow decode/resize/encode, civic.core.photos)", ("PIL/", "core/photos.py")),
             ("waiting on PostgreSQL (psycopg)", ("psycopg",)),
             ("SQLAlchemy (ORM, SQL compilation)", ("sqlalchemy/",)),
             ("Jinja templates", ("jinja2/",)),
             ("marshmallow / flask-smorest serialisation", ("marshmallow/", "flask_smorest/")),
             ("Redis / RQ", ("redis/", "rq/")),
             ("reading the request (werkzeug multipart, sockets)", ("werkzeug/", "gunicorn/")),
             ]
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        area = "civic code and the rest"
        # The innermost frame that belongs to a named area decides (a psycopg wait inside the ORM is a DB wait).
        for frame in reversed(frames):
            hit = next((name for name, keys in rules if any(k in frame for k in keys)), None)
            if hit:
                area = hit
                break
        if "gunicorn/" in frames[-1] and ("select" in frames[-1] or "wait" in frames[-1] or "sleep" in frames[-1]):
            area = "idle (gunicorn waiting for a request)"
        areas[area] += int(count)
    return areas


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of process ``pid`` so far (with ``children``: also of its children
    that ended, e.g. RQ's work-horses); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def db_backends(db: str) -> list[int]:
    """Pids of the PostgreSQL backends connected to ``db``'s database (other than this query's)."""
    import sqlalchemy as sa

    engine = sa.create_engine(db.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as c:
        pids = list(c.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND pid <> pg_backend_pid()")).scalars())
    engine.dispose()
    return pids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/civic_scale")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    ap.add_argument("--users", type=int, default=12)
    ap.add_argument("--seconds", type=int, default=60)
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    media = str(OUT / "media")
    fixtures(a.db, media)
    env = {"CIVIC_DATABASE_URL": a.db, "CIVIC_REDIS_URL": a.redis, "CIVIC_MEDIA_DIR": media,
           "CIVIC_RUN_SCHEDULER": "false", "CIVIC_RATELIMIT_ENABLED": "false"}
    worker = subprocess.Popen([str(VENV_BIN / "flask"), "--app", "civic", "civic", "worker"], cwd=REPO,
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {}
    cpu: dict[int, dict[str, float]] = {}
    areas = Counter()
    try:
        for workers in (1, 2):
            with Gunicorn("wsgi:app", env, workers=workers) as g:
                time.sleep(2)
                profiler = None
                if workers == 2:
                    kids = subprocess.run(["pgrep", "-P", str(g.proc.pid)], capture_output=True, text=True).stdout.split()
                    if kids:
                        import threading

                        profiler = threading.Thread(target=lambda kids=kids: areas.update(spy(int(kids[0]), a.seconds - 10)))
                        profiler.start()
                # CPU seconds spent during the run by the gunicorn workers, the RQ worker (with its
                # work-horses) and the PostgreSQL backends of this database: cost per request,
                # whatever else the machine is doing.
                kids = [int(k) for k in subprocess.run(["pgrep", "-P", str(g.proc.pid)], capture_output=True,
                                                        text=True).stdout.split()]
                before = {"app": sum(cpu_seconds(k) for k in kids), "rq": cpu_seconds(worker.pid, children=True),
                          "db": {p: cpu_seconds(p) for p in db_backends(a.db)}}
                t0 = time.time()
                results[workers] = run_locust(f"http://127.0.0.1:{g.port}", a.users, a.seconds, f"w{workers}")
                backends = db_backends(a.db)
                cpu[workers] = {"wall": time.time() - t0, "app": sum(cpu_seconds(k) for k in kids) - before["app"],
                                "rq": cpu_seconds(worker.pid, children=True) - before["rq"],
                                "db": sum(cpu_seconds(p) - before["db"].get(p, 0.0) for p in backends),
                                "load": os.getloadavg()[0]}
                if profiler:
                    profiler.join()
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:  # a job still running: the results matter more
            worker.kill()
    print(f"locust: {a.users} users, no think time, {a.seconds} s per run; gunicorn sync workers; "
          f"one RQ worker; load average at the end: {os.getloadavg()[0]:.1f}")
    for workers, rows in results.items():
        c = cpu[workers]
        total = next((r for r in rows if r["Name"] == "Aggregated"), None)
        n = int(total["Request Count"]) if total else 0
        photos = sum(int(r["Request Count"]) for r in rows if r["Name"].startswith("resident: file a case"))
        print(f"\n== gunicorn -w {workers} == (load average at its end {c['load']:.1f})")
        if n:
            print(f"CPU during the run ({c['wall']:.0f} s): gunicorn workers {c['app']:.1f} s, RQ worker "
                  f"{c['rq']:.1f} s, PostgreSQL backends {c['db']:.1f} s; {n} requests ({photos} with a photo): "
                  f"app {1000 * c['app'] / n:.1f} ms, PostgreSQL {1000 * c['db'] / n:.1f} ms, "
                  f"RQ {1000 * c['rq'] / n:.1f} ms of CPU per request of the mix")
        print(f"{'request':42s} {'count':>6s} {'fail':>5s} {'req/s':>7s} {'p50 ms':>7s} {'p95 ms':>7s}")
        for r in rows:
            print(f"{r['Name']:42s} {r['Request Count']:>6s} {r['Failure Count']:>5s} "
                  f"{float(r['Requests/s']):7.2f} {r['50%']:>7s} {r['95%']:>7s}")
    total = sum(areas.values())
    if total:
        print("\nWhere one worker's time went (py-spy samples during the 2-worker run):")
        for name, n in areas.most_common():
            print(f"  {100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
