"""Staff import speed (issue #16, "Speed"): ``flask civic import-staff`` of a 20,000-row CSV (16,000
accounts, 4,000 of them with a second role elsewhere; 200 organisations in 100 compounds), timed as
the operator runs it (a fresh process: start-up, validation, one-time passwords, bulk inserts, the
audit entries, the passwords file, the commit), beside a baseline timed in the same run: a bare
SQLAlchemy ``executemany`` INSERT of the same accounts and memberships into the same schema, with no
validation, no password hash and no audit (the floor any import of these rows stands on).

Run from the repository root:  python bench/import_staff.py  [--rows 20000] [--rounds 3]
Database: a fresh SQLite file per round (the embedded default), or ``CIVIC_BENCH_DATABASE_URL``
(a PostgreSQL database this script may DROP and fill).  Prints figures; not a test.  Results:
docs/bench-staff-import.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
COMPOUNDS = 100
ROLES = ("head", "handler", "moderator", "viewer")

PREPARE = '''
import os
from flask_migrate import upgrade
from civic import create_app, init_migrations
from civic.core.db import commit
from civic.property import service as reg
app = create_app({"RATELIMIT_ENABLED": False})
init_migrations(app)
with app.app_context():
    upgrade()
    d = reg.create_place(kind="district", code="D-B", name="浦东新区")
    s = reg.create_place(kind="street", code="S-B", name="滨江街道", parent=d)
    c = reg.create_place(kind="community", code="CM-B", name="滨江社区", parent=s)
    for i in range(%(compounds)d):
        comp = reg.create_place(kind="compound", code=f"C-{i}", name=f"小区{i}", parent=c)
        reg.create_organisation(kind="property_company", code=f"O-PC-{i}", name=f"物业{i}", covers=[comp])
        reg.create_organisation(kind="owners_committee", code=f"O-OC-{i}", name=f"业委会{i}", covers=[comp])
    commit()
'''

BASELINE = '''
import sys, time
import sqlalchemy as sa
from civic import create_app
from civic.extensions import db
from civic.accounts.models import Membership, User
from civic.core.db import utcnow
rows = [line.rstrip("\\n").split(",") for line in open(sys.argv[1], encoding="utf-8").readlines()[1:]]
app = create_app({"RATELIMIT_ENABLED": False})
with app.app_context():
    t0 = time.perf_counter()
    orgs = dict(db.session.execute(sa.text("SELECT code, id FROM organisation")).all())
    now, seen, users = utcnow(), set(), []
    for u, name, _code, _role in rows:
        if u not in seen:
            seen.add(u)
            users.append({"kind": "staff", "username": u, "display_name": name, "password_hash": "x",
                          "active": True, "must_change_password": True, "created_at": now, "updated_at": now})
    db.session.execute(sa.insert(User.__table__), users)
    ids = dict(db.session.execute(sa.text("SELECT username, id FROM user_account")).all())
    db.session.execute(sa.insert(Membership.__table__),
                       [{"user_id": ids[u], "organisation_id": orgs[c], "role": r} for u, _n, c, r in rows])
    db.session.commit()
    print(f"{time.perf_counter() - t0:.3f}")
'''


def _env(url: str, instance: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update({"CIVIC_DATABASE_URL": url, "CIVIC_INSTANCE_PATH": str(instance),
                "CIVIC_SECRET_KEY": "bench-secret", "CIVIC_RUN_SCHEDULER": "false"})
    return env


def _fresh(url: str | None, tmp: Path, name: str) -> str:
    if url is None:
        return f"sqlite:///{tmp / (name + '.db')}"
    sys.path.insert(0, str(REPO / "bench"))
    from _queue_data import fresh_database

    fresh_database(url)
    return url


def write_csv(path: Path, rows: int) -> None:
    accounts = rows * 4 // 5
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(("username", "display_name", "organisation_code", "role"))
        for i in range(accounts):
            out.writerow((f"staff{i:06d}", f"员工{i}", f"O-PC-{i % COMPOUNDS}", ROLES[i % 4]))
        for i in range(rows - accounts):
            out.writerow((f"staff{i:06d}", f"员工{i}", f"O-OC-{(i + 1) % COMPOUNDS}", "viewer"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    url = os.environ.get("CIVIC_BENCH_DATABASE_URL")
    imports, baselines = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = tmp / "staff.csv"
        write_csv(data, args.rows)
        for r in range(args.rounds):
            for kind in ("baseline", "import"):
                db_url = _fresh(url, tmp, f"{kind}{r}")
                env = _env(db_url, tmp / f"instance-{kind}{r}")
                subprocess.run([PY, "-c", PREPARE % {"compounds": COMPOUNDS}], cwd=REPO, env=env, check=True,
                               capture_output=True)
                if kind == "baseline":
                    out = subprocess.run([PY, "-c", BASELINE, str(data)], cwd=REPO, env=env, check=True,
                                         capture_output=True, text=True)
                    baselines.append(float(out.stdout.strip().splitlines()[-1]))
                else:
                    pw = tmp / f"passwords{r}.csv"
                    t0 = time.perf_counter()
                    out = subprocess.run([PY, "-m", "flask", "--app", "civic", "civic", "import-staff", str(data),
                                          "--passwords-out", str(pw)], cwd=REPO, env=env, capture_output=True,
                                         text=True)
                    took = time.perf_counter() - t0
                    if out.returncode:
                        sys.exit(out.stderr)
                    imports.append(took)
                    print(out.stdout.strip())
            print(f"round {r + 1}: import-staff {imports[-1]:.2f} s (whole command); baseline {baselines[-1]:.2f} s")
    imp, base = statistics.median(imports), statistics.median(baselines)
    print(f"rows {args.rows}, database {'postgresql' if url else 'sqlite'}")
    print(f"import-staff (fresh process, median of {args.rounds}): {imp:.2f} s  {sorted(round(x, 2) for x in imports)}")
    print(f"baseline bare INSERTs (in process, median):          {base:.2f} s  {sorted(round(x, 2) for x in baselines)}")
    print(f"ratio import / baseline: {imp / base:.1f}; target: under 60 s — {'met' if imp < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
