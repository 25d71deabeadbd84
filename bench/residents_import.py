"""The committee's register import: 20,000 resident links in one CSV (issue #16, Speed).

Builds a compound with 20,000 units (bulk inserts), 10,000 existing resident accounts, and a CSV of
20,000 rows (10,000 tying existing accounts, 10,000 creating new ones; owners, co-owners, tenants),
then times ``civic.residents.importer.import_register_csv`` plus the commit, and a bad file of the
same size (one bad row in every hundred: refused whole, every bad row reported).

Run from the repository root: ``python -m bench.residents_import [--db URL]`` (default: a SQLite
file in a temporary folder; a PostgreSQL URL's public schema is DROPPED).  Prints the times; the
result is written down in docs/bench-residents.md by hand.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = 20_000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    if url.startswith("postgresql"):
        import sqlalchemy as sa

        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    from civic import create_app, init_migrations

    app = create_app({"DATABASE_URL": url, "MEDIA_DIR": str(tmp / "media"), "SECRET_KEY": "bench"})
    init_migrations(app)
    with app.app_context():
        from flask_migrate import upgrade

        from civic.accounts.models import User
        from civic.core.db import commit
        from civic.core.errors import ValidationFailed
        from civic.extensions import db
        from civic.property import service as reg
        from civic.residents.importer import import_register_csv

        upgrade()
        d = reg.create_place(kind="district", code="D", name="区")
        s = reg.create_place(kind="street", code="S", name="街道", parent=d)
        c = reg.create_place(kind="community", code="CM", name="社区", parent=s)
        comp = reg.create_place(kind="compound", code="C", name="小区", parent=c)
        codes = []
        for b in range(N // 500):
            building = reg.create_place(kind="building", code=f"B{b}", name=f"{b + 1}号楼", parent=comp)
            specs = [{"code": f"U{b}-{i}", "name": f"{i}室", "area": Decimal("88.50"), "area_source": "registry"}
                     for i in range(500)]
            reg.create_units(building, specs)
            codes += [sp["code"] for sp in specs]
        db.session.add_all([User(kind="resident", display_name=f"居民{i}", phone=f"138{i:08d}")
                            for i in range(N // 2)])
        commit()
        relations = ("owner", "co_owner", "tenant")
        rows = ["unit_code,name,phone,relation,representative"]
        for i, code in enumerate(codes):
            phone = f"138{i:08d}" if i < N // 2 else f"139{i:08d}"
            rows.append(f"{code},居民{i},{phone},{relations[i % 3]},{1 if i % 3 == 1 else ''}")
        bad = "\n".join(r if i % 100 or i == 0 else r.replace(",138", ",1X8").replace(",139", ",1X9")
                        for i, r in enumerate(rows)) + "\n"
        t = time.perf_counter()
        try:
            import_register_csv(bad)
        except ValidationFailed as exc:
            refused = len(exc.details["errors"])
        db.session.rollback()
        t_bad = time.perf_counter() - t
        t = time.perf_counter()
        result = import_register_csv("\n".join(rows) + "\n")
        commit()
        t_good = time.perf_counter() - t
        print(f"database: {url.split(':')[0]}")
        print(f"good file: {result['links']} links, {result['residents_created']} new residents in {t_good:.1f} s")
        print(f"bad file: refused whole, {refused} bad rows reported, in {t_bad:.1f} s")


if __name__ == "__main__":
    main()
