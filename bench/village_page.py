"""Throughput of the public 村务公开 page against a static file of the same size, same server, same run.

A village with 5 years of monthly finance disclosures of 200 lines each (60 disclosures, 12,000
lines) is built in a temporary SQLite database; gunicorn serves ``wsgi:app`` with two sync workers.
The heaviest page a reader opens (one month's 200-line finance disclosure with totals) is fetched
by N client threads for a fixed count, then a static file of the same byte size is fetched the
same way through Flask's static route of the same server.  Prints requests/s and the ratio.

Run from the repository root:  python bench/village_page.py  (results go to docs/bench-village.md).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
THREADS = 8
PORT = 18734


def build(db_url: str, media: str) -> int:
    from civic import create_app
    from civic.accounts.service import create_staff
    from civic.core.db import commit
    from civic.property import service as reg
    from civic.village import service

    app = create_app({"DATABASE_URL": db_url, "MEDIA_DIR": media})
    with app.app_context():
        from flask_migrate import upgrade

        from civic import init_migrations

        init_migrations(app)
        upgrade()
        d = reg.create_place(kind="district", code="D-B", name="测试区")
        s = reg.create_place(kind="street", code="S-B", name="测试镇", parent=d)
        v = reg.create_place(kind="village", code="V-B", name="压力村", parent=s)
        vc = reg.create_organisation(kind="village_committee", code="O-VC", name="村委会", covers=[v])
        vs = reg.create_organisation(kind="village_supervision", code="O-VS", name="监委会", covers=[v])
        hua = create_staff(username="hua", password_hash="x", display_name="华", memberships=[(vc, "head")])
        jin = create_staff(username="jin", password_hash="x", display_name="金", memberships=[(vs, "head")])
        service.ensure_village(v, tracking_since=dt.date(2021, 1, 1)).many_transactions = True
        rnd = random.Random(5)
        balance, last = 500_000_000, None
        for year in range(2021, 2026):
            for month in range(1, 13):
                lines = [{"kind": "income" if i % 3 == 0 else "expense", "date": dt.date(year, month, 1 + i % 28),
                          "account": ["上级补助收入", "公益支出", "管理费用", "其他支出"][i % 4],
                          "description": f"第{i + 1}笔 村内道路及河道维护", "counterparty": "新丰建设公司",
                          "amount_fen": rnd.randrange(100, 2_000_000)} for i in range(200)]
                closing = balance + sum(x["amount_fen"] if x["kind"] == "income" else -x["amount_fen"] for x in lines)
                dis = service.create_disclosure(v, {"item_code": "finance.accounts", "period": f"{year}-{month:02d}",
                                                    "title": f"{year}年{month}月财务收支公开", "opening_balance": balance,
                                                    "closing_balance": closing, "lines": lines}, hua)
                for action, who in (("submit", hua), ("sign_off", jin), ("publish", hua)):
                    service.transition(dis, action, who)
                balance, last = closing, dis.id
            commit()
        return last


def fetch(url: str) -> int:
    with urllib.request.urlopen(url) as r:
        return len(r.read())


def rate(url: str) -> float:
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(fetch, [url] * 50))  # warm up (and fill each worker's page cache)
        start = time.perf_counter()
        sizes = list(pool.map(fetch, [url] * REQUESTS))
        elapsed = time.perf_counter() - start
    assert len(set(sizes)) == 1
    return REQUESTS / elapsed


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="village-bench-"))
    static = ROOT / "civic" / "static"
    made_static = not static.exists()
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    t0 = time.perf_counter()
    last = build(db_url, str(tmp / "media"))
    print(f"built 60 disclosures x 200 lines in {time.perf_counter() - t0:.1f} s")
    env = {**os.environ, "CIVIC_DATABASE_URL": db_url, "CIVIC_MEDIA_DIR": str(tmp / "media"),
           "CIVIC_RUN_SCHEDULER": "false", "CIVIC_RATELIMIT_ENABLED": "false"}
    page_url = f"http://127.0.0.1:{PORT}/villages/V-B/disclosures/{last}"
    static.mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{PORT}",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                size = fetch(page_url)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")
        static_file = static / f"bench-{os.getpid()}.html"
        static_file.write_bytes(b"x" * size)
        static_url = f"http://127.0.0.1:{PORT}/static/{static_file.name}"
        page_rps, static_rps = rate(page_url), rate(static_url)
        page_rps2 = rate(page_url)
        page_rps = (page_rps + page_rps2) / 2
        ratio = page_rps / static_rps
        print(f"page {size} bytes: {page_rps:.0f} req/s; static file of the same size: {static_rps:.0f} req/s; "
              f"ratio {ratio:.2f} (target >= 0.25)")
    finally:
        proc.terminate()
        proc.wait(10)
        if made_static:
            shutil.rmtree(static, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
