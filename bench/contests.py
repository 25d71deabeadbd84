"""Speed of 金点子 contests on PostgreSQL behind gunicorn (2 workers), bounded load on 127.0.0.1.

1. Exactness: 200 clients (one resident each) click support / withdraw on ONE idea at once, several
   rounds each; afterwards idea.support_count must equal the active support rows.
2. Throughput: the same number of threads for the same time do an authenticated GET of a contest,
   then support/withdraw clicks; prints support rps / GET rps (target ≥ 0.5).
3. Listing: a contest of 10,000 approved ideas listed by support count (first page and deep cursor
   pages) over HTTP; prints p50/p95 in ms (target p95 < 50 ms) and the plan PostgreSQL chose.

Run from the repository root (the database's public schema is DROPPED first; use your own database):
    CIVIC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/contests_test python bench/contests.py
Results go to docs/bench-contests.md by hand; this prints them.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

URL = os.environ.get("CIVIC_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/contests_test")
CLIENTS = 200
ROUNDS = 5
THREADS = 16
SECONDS = 8
IDEAS = 10_000


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def setup():
    import datetime as dt

    import sqlalchemy as sa

    from civic import create_app
    from civic.accounts.identity import issue_token
    from civic.accounts.service import create_resident, create_staff
    from civic.core.db import commit, utcnow
    from civic.extensions import db
    from civic.property import service as reg
    from civic.proposals import moderation
    from civic.proposals.contests import service
    from civic.proposals.contests.models import Idea
    from civic.proposals.contests.phases import PHASES
    from civic.proposals.moderation.models import ModeratedItem
    from tests.conftest import _reset_postgres

    _reset_postgres(URL)
    app = create_app({"DATABASE_URL": URL, "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        d = reg.create_place(kind="district", code="D", name="区")
        s = reg.create_place(kind="street", code="S", name="街道", parent=d)
        c = reg.create_place(kind="community", code="CM", name="社区", parent=s)
        comp = reg.create_place(kind="compound", code="C", name="小区", parent=c)
        b = reg.create_place(kind="building", code="B", name="1号楼", parent=comp)
        from decimal import Decimal

        units = reg.create_units(b, [{"code": f"U{i}", "name": f"{i}室", "area": Decimal("90.00"),
                                      "area_source": "registry"} for i in range(CLIENTS + 1)])
        rc = reg.create_organisation(kind="residents_committee", code="RC", name="居委会", covers=[c])
        head = create_staff(username="head", password_hash="!", display_name="主任", memberships=[(rc, "head")])
        mod = create_staff(username="mod", password_hash="!", display_name="社工", memberships=[(rc, "moderator")])
        residents = []
        for i, u in enumerate(units):
            r = create_resident(display_name=f"居民{i}", phone=f"1390{i:07d}")
            reg.link_resident(r, u, "owner")
            residents.append(r)
        db.session.flush()
        now = utcnow()

        def phases(current):
            idx = PHASES.index(current)
            base = now - dt.timedelta(hours=1) - dt.timedelta(days=10 * idx)
            return {p: {"starts_at": base + dt.timedelta(days=10 * i),
                        "ends_at": None if p == "implementation" else base + dt.timedelta(days=10 * (i + 1))}
                    for i, p in enumerate(PHASES)}

        def contest():
            return service.create_contest(head, {"organisation_id": rc.id, "theme": "绿化", "place_ids": [comp.id],
                                                 "phases": phases("submission"),
                                                 "criteria": [{"name": "可行性", "weight": 1}]})

        hot = contest()
        idea = service.submit_idea(residents[0], hot.id, {"title": "口袋花园", "text": "种花", "category": "绿化"})
        moderation.decide(mod, "idea", idea.id, "approve")
        service.set_schedule(head, hot.id, phases("support"))
        big = contest()
        rnd = random.Random(6)
        author = residents[0].id
        rows = [{"contest_id": big.id, "author_id": author, "title": f"点子{i}", "text": "绿化提升", "category": "绿化",
                 "photos": [], "state": "approved", "version": 1, "support_count": int(rnd.paretovariate(1.2)) - 1,
                 "search_tokens": " 绿化 提升 ", "created_at": now, "updated_at": now} for i in range(IDEAS)]
        db.session.execute(sa.insert(Idea), rows)
        ids = db.session.scalars(sa.select(Idea.id).where(Idea.contest_id == big.id)).all()
        db.session.execute(sa.insert(ModeratedItem), [
            {"item_type": "idea", "item_id": i, "author_id": author, "organisation_id": rc.id, "state": "approved",
             "awaiting_review": False, "report_count": 0, "created_at": now, "updated_at": now} for i in ids])
        tokens = [issue_token(r)[0] for r in residents[1:]]
        commit()
        db.session.execute(sa.text("ANALYZE"))
        commit()
        plan = db.session.execute(sa.text(
            "EXPLAIN SELECT * FROM idea WHERE contest_id = :c AND state = 'approved' "
            "ORDER BY support_count DESC, id DESC LIMIT 21"), {"c": big.id}).scalars().all()
        return {"idea": idea.id, "hot": hot.id, "big": big.id, "tokens": tokens, "plan": plan}


def request(conn, method, path, token):
    conn.request(method, path, headers={"Authorization": f"Bearer {token}", "Content-Length": "0"})
    r = conn.getresponse()
    body = r.read()
    return r.status, body


def exactness(port, info):
    barrier = threading.Barrier(CLIENTS)
    errors = []

    def client(token):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        for _ in range(ROUNDS):
            for method in ("PUT", "DELETE", "PUT"):
                status, body = request(conn, method, f"/api/v1/ideas/{info['idea']}/support", token)
                if status != 200:
                    errors.append((status, body[:200]))
        conn.close()

    threads = [threading.Thread(target=client, args=(t,)) for t in info["tokens"][:CLIENTS]]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, errors


def throughput(port, info, method_path):
    stop = time.perf_counter() + SECONDS
    counts = [0] * THREADS

    def worker(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        token = info["tokens"][i]
        n = 0
        while time.perf_counter() < stop:
            method, path = method_path(n)
            status, _ = request(conn, method, path, token)
            assert status == 200, status
            n += 1
        counts[i] = n
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / SECONDS


def listing(port, info):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    token = info["tokens"][0]
    times = []
    cursors = [None]
    for _ in range(300):
        cursor = random.choice(cursors)
        path = f"/api/v1/contests/{info['big']}/ideas?sort=supported&limit=20" + (f"&cursor={cursor}" if cursor else "")
        t0 = time.perf_counter()
        status, body = request(conn, "GET", path, token)
        times.append((time.perf_counter() - t0) * 1000)
        assert status == 200
        nxt = json.loads(body)["next_cursor"]
        if nxt and len(cursors) < 200:
            cursors.append(nxt)
    conn.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main():
    info = setup()
    port = free_port()
    env = {**os.environ, "CIVIC_DATABASE_URL": URL, "CIVIC_RATELIMIT_ENABLED": "false", "CIVIC_RUN_SCHEDULER": "false"}
    env.pop("CIVIC_REDIS_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        elapsed, errors = exactness(port, info)
        from civic import create_app
        from civic.extensions import db

        app = create_app({"DATABASE_URL": URL})
        with app.app_context():
            import sqlalchemy as sa

            count = db.session.execute(sa.text("SELECT support_count FROM idea WHERE id = :i"), {"i": info["idea"]}).scalar()
            active = db.session.execute(sa.text("SELECT count(*) FROM idea_support WHERE idea_id = :i AND active"),
                                        {"i": info["idea"]}).scalar()
            events = db.session.execute(sa.text("SELECT count(*) FROM idea_support_event WHERE idea_id = :i"),
                                        {"i": info["idea"]}).scalar()
        print(f"exactness: {CLIENTS} clients x {ROUNDS} rounds of support/withdraw/support in {elapsed:.1f} s; "
              f"non-200: {len(errors)}; support_count={count}, active rows={active}, evidence rows={events}; "
              f"{'EXACT' if count == active else 'MISMATCH'}")
        get_rps = throughput(port, info, lambda n: ("GET", f"/api/v1/contests/{info['hot']}"))
        sup_rps = throughput(port, info, lambda n: ("PUT" if n % 2 == 0 else "DELETE",
                                                    f"/api/v1/ideas/{info['idea']}/support"))
        print(f"throughput ({THREADS} threads, {SECONDS} s each): GET contest {get_rps:.0f} rps; "
              f"support/withdraw {sup_rps:.0f} rps; ratio {sup_rps / get_rps:.2f} (target >= 0.50)")
        p50, p95 = listing(port, info)
        print(f"listing {IDEAS} ideas by support count: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 < 50 ms)")
        print("plan:\n  " + "\n  ".join(info["plan"]))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
