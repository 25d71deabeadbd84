"""Foundation speed: an authenticated GET (/api/v1/me, bearer token) under gunicorn, as a ratio to a
bare 5-line Flask JSON endpoint served by the same gunicorn config in the same run; and the time
create_app() takes in a fresh process, beside two start-up baselines timed in the same run (a bare
Flask app; the third-party libraries civic loads, without civic).

Run from the repository root:  python bench/foundation.py  [--seconds 10] [--connections 8]
Needs ``wrk`` (Debian: apt-get install wrk).  Database: a fresh SQLite file (the embedded default),
or ``CIVIC_BENCH_DATABASE_URL`` (e.g. a PostgreSQL database this script may fill).  Loads only
127.0.0.1, for a bounded time.  Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

BARE_APP = '''from flask import Flask, jsonify
app = Flask(__name__)
@app.get("/ping")
def ping():
    return jsonify(ok=True)
'''

SETUP = '''
from civic import create_app, init_migrations
from civic.accounts.service import create_staff
from civic.accounts.identity import issue_token
from civic.core.db import commit
from civic.property import service as reg
app = create_app()
init_migrations(app)
with app.app_context():
    from flask_migrate import upgrade
    upgrade()
    d = reg.create_place(kind="district", code="D-B", name="浦东新区")
    s = reg.create_place(kind="street", code="S-B", name="滨江街道", parent=d)
    c = reg.create_place(kind="community", code="CM-B", name="滨江社区", parent=s)
    rc = reg.create_organisation(kind="residents_committee", code="O-B1", name="居委会", covers=[c])
    um = reg.create_organisation(kind="urban_management", code="O-B2", name="城管", covers=[s])
    user = create_staff(username="bench", password="bench-pass-123", display_name="压测",
                        memberships=[(rc, "head"), (um, "viewer")])
    commit()
    token, _ = issue_token(user, hours=24)
    commit()
    print(token)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, path: str, headers: dict, timeout: float = 30) -> None:
    import http.client

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path, headers=headers)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
            raise SystemExit(f"{path} answered {status}")
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn on {port} did not come up")


def gunicorn(app: str, cwd: Path, env: dict, port: int) -> subprocess.Popen:
    cmd = [PY, "-m", "gunicorn", *(["-c", os.environ["GCONF"]] if os.environ.get("GCONF") else []), "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "--log-level", "warning", app]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wrk(port: int, path: str, headers: dict, seconds: int, connections: int) -> float:
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True,
                         timeout=seconds + 30).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"non-2xx answers from {path}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


# Start-up baselines, timed the same way in the same run: a bare Flask app, and the floor civic's
# third-party stack sets (every library create_app() loads, nothing of civic's own).
START_CODE = {
    "bare": "import time; t0 = time.perf_counter(); import flask; flask.Flask('bare'); "
            "print(time.perf_counter() - t0, 0)",
    "stack": ("import time; t0 = time.perf_counter(); import flask, flask_sqlalchemy, flask_migrate, "
              "flask_login, flask_wtf.csrf, flask_limiter, flask_smorest, marshmallow, click; "
              "print(time.perf_counter() - t0, 0)"),
    "civic": ("import time; t0 = time.perf_counter(); import civic; civic.create_app(); t1 = time.perf_counter(); "
              "civic.create_app(); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"),
}


def start_times(env: dict, runs: int = 9) -> dict[str, tuple[float, float]]:
    """Fresh-process start-up, medians: {name: (first call with its imports, second call alone)}.

    create_app() imports most of its dependencies lazily, so the first call pays for them; the second
    call in the same process is create_app() alone.  Runs interleave the three, so drift in the
    machine hits each alike."""
    # As a deployed server starts: with the package's bytecode compiled (pip does that for installed
    # packages; an editable checkout writes it on first import unless PYTHONDONTWRITEBYTECODE is
    # set, as it is on some CI machines, where every start would compile ~90 modules again).
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "civic")], check=True)
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in START_CODE}
    for _ in range(runs):
        for name, code in START_CODE.items():
            out = subprocess.run([PY, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
            first, second = map(float, out.stdout.split()[-2:])
            got[name].append((first, second))
    return {name: (statistics.median(f for f, _ in v), statistics.median(s for _, s in v))
            for name, v in got.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="civic-bench-"))
    db_url = os.environ.get("CIVIC_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    env = {**os.environ, "CIVIC_DATABASE_URL": db_url, "CIVIC_INSTANCE_PATH": str(tmp / "instance"),
           "CIVIC_RUN_SCHEDULER": "false", "PYTHONPATH": str(REPO)}
    env.pop("CIVIC_REDIS_URL", None)
    token = subprocess.run([PY, "-c", SETUP], cwd=REPO, env=env, capture_output=True, text=True,
                           check=True).stdout.split()[-1]
    (tmp / "bare_app.py").write_text(BARE_APP)
    auth = {"Authorization": f"Bearer {token}"}

    p_bare, p_civic = free_port(), free_port()
    bare = gunicorn("bare_app:app", tmp, env, p_bare)
    civic = gunicorn("wsgi:app", REPO, env, p_civic)
    try:
        wait_up(p_bare, "/ping", {})
        wait_up(p_civic, "/api/v1/me", auth)
        rates_bare, rates_civic = [], []
        for _ in range(args.rounds):  # interleaved, so drift in the machine hits both alike
            rates_bare.append(wrk(p_bare, "/ping", {}, args.seconds, args.connections))
            rates_civic.append(wrk(p_civic, "/api/v1/me", auth, args.seconds, args.connections))
    finally:
        for p in (bare, civic):
            p.terminate()
            p.wait(timeout=30)
    bare_rps, civic_rps = statistics.median(rates_bare), statistics.median(rates_civic)
    starts = start_times(env)
    with_import, create_only = starts["civic"]
    print(f"database: {db_url.split(':')[0]}; gunicorn -w 2 -k sync; wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s, {args.rounds} interleaved rounds, medians; cores: {os.cpu_count()}")
    print(f"bare Flask /ping:            {bare_rps:8.0f} req/s  {[round(r) for r in rates_bare]}")
    print(f"civic GET /api/v1/me:        {civic_rps:8.0f} req/s  {[round(r) for r in rates_civic]}")
    print(f"ratio civic / bare:          {civic_rps / bare_rps:8.2f}   (target >= 0.5)")
    print(f"create_app(), imports done:  {create_only * 1000:8.0f} ms  (median of 9 fresh processes)")
    print(f"import civic + create_app(): {with_import * 1000:8.0f} ms  (target < 1000 ms)")
    print(f"  baseline: import flask + Flask():          {starts['bare'][0] * 1000:6.0f} ms "
          f"(civic is {with_import / starts['bare'][0]:.1f}x)")
    print(f"  baseline: civic's third-party imports:     {starts['stack'][0] * 1000:6.0f} ms "
          f"(civic is {with_import / starts['stack'][0]:.1f}x)")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
