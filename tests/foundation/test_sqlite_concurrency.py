"""SQLite runs with WAL, a busy timeout and foreign keys on, so two gunicorn workers on the
embedded default never fail with "database is locked"."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.extensions import db

from .conftest import free_port

REPO = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _pragmas(app) -> dict:
    with app.app_context(), db.engine.connect() as conn:
        return {name: conn.execute(sa.text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")}


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(make_app, tmp_path):
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"})
    assert _pragmas(app) == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}


def test_busy_timeout_follows_the_setting(make_app, tmp_path):
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SQLITE_BUSY_TIMEOUT_MS": 1234})
    assert _pragmas(app)["busy_timeout"] == 1234


def test_sqlite_refuses_a_dangling_foreign_key(make_app, tmp_path):
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            conn.execute(sa.text("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                                 "parent_id INTEGER NOT NULL REFERENCES parent(id))"))
        with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"), db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO child (parent_id) VALUES (42)"))


def _env(db_path: Path, instance: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update({
        "CIVIC_DATABASE_URL": f"sqlite:///{db_path}",
        "CIVIC_INSTANCE_PATH": str(instance),
        "CIVIC_SECRET_KEY": "gunicorn-test-secret",
        "CIVIC_RATELIMIT_ENABLED": "false",
        "CIVIC_RUN_SCHEDULER": "false",
    })
    return env


def _flask(env, *args):
    subprocess.run([sys.executable, "-m", "flask", "--app", "civic", *args], cwd=REPO, env=env,
                   check=True, capture_output=True, timeout=120)


def _post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def gunicorn_server(tmp_path):
    """Two gunicorn workers (plus threads, for more overlap) on a migrated SQLite file."""
    db_path = tmp_path / "civic.db"
    env = _env(db_path, tmp_path / "instance")
    _flask(env, "db", "upgrade")
    _flask(env, "civic", "create-admin", "--username", "admin", "--password", "gunicorn-pass-2026")
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [str(GUNICORN), "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base, db_path
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_two_gunicorn_workers_write_concurrently_without_lock_errors(gunicorn_server):
    base, db_path = gunicorn_server
    phones = [f"139{n:08d}" for n in range(160)]
    jobs = [("/api/v1/auth/otp", {"phone": p}) for p in phones]
    jobs += [("/api/v1/auth/login", {"username": "admin", "password": "gunicorn-pass-2026"})] * 40
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda j: _post(base + j[0], j[1]), jobs))

    statuses = sorted({status for status, _ in results})
    assert statuses == [200, 202], [body for status, body in results if status >= 300][:3]
    con = sqlite3.connect(db_path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert sorted(r[0] for r in con.execute("SELECT phone FROM otp_challenge")) == phones
        assert con.execute("SELECT count(*) FROM api_token").fetchone()[0] == 40
        assert con.execute("SELECT count(*) FROM audit_entry WHERE action = 'auth.login'").fetchone()[0] == 40
    finally:
        con.close()


def test_a_savepoint_insert_as_the_first_write_is_undone_with_its_request(app, client, factory):
    """insert_once() flushes under a savepoint.  As a request's first write on SQLite, pysqlite used to
    let that SAVEPOINT open the transaction, and its RELEASE committed the row at once: a later
    failure of the same request could not roll it back.  Both databases must undo it."""
    from civic.core.db import insert_once
    from civic.core.errors import Conflict
    from civic.property.models import Place

    db.session.rollback()  # a fresh transaction, as at the start of a request
    insert_once(Place(kind="district", code="SAVEPOINT-1", name="回滚区"), Conflict("dup"))
    db.session.rollback()  # the request failed later on
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Place).where(Place.code == "SAVEPOINT-1")) == 0
    # ... and a request that succeeds keeps it, once.
    insert_once(Place(kind="district", code="SAVEPOINT-2", name="提交区"), Conflict("dup"))
    with pytest.raises(Conflict):
        insert_once(Place(kind="district", code="SAVEPOINT-2", name="又一个"), Conflict("dup"))
    db.session.commit()
    assert db.session.scalars(sa.select(Place.name).where(Place.code.like("SAVEPOINT-%"))).all() == ["提交区"]
