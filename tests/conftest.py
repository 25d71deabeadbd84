"""Test fixtures: one app per session on the database CI chose, clean tables per test, factories.

* ``CIVIC_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``): run the suite on
  PostgreSQL; default: a SQLite file in a temporary folder.
* ``CIVIC_TEST_REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/15``): jobs go through RQ and a real
  ``flask civic worker``; default: in-process jobs (the embedded default).
* ``CIVIC_REQUIRE_SERVICES=1``: a test that needs PostgreSQL or Redis fails instead of skipping
  (``.ci/run`` sets it for the PostgreSQL run).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic import create_app
from civic.extensions import db as _db
from tests.shared import SHARED

REPO = Path(__file__).resolve().parents[1]

REQUIRE = os.environ.get("CIVIC_REQUIRE_SERVICES") == "1"
DB_URL = os.environ.get("CIVIC_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("CIVIC_TEST_REDIS_URL")


def pytest_terminal_summary(terminalreporter):
    # Printed even with -q: .ci/run checks it to prove which services the run used.
    terminalreporter.write_line(f"civic test database: {'postgresql' if DB_URL else 'sqlite'}; "
                                f"jobs: {'rq+redis' if REDIS_URL else 'in-process'}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and not DB_URL:
            if REQUIRE:
                item.add_marker(pytest.mark.xfail(reason="PostgreSQL required", strict=True, run=False))
            else:
                item.add_marker(pytest.mark.skip(reason="needs CIVIC_TEST_DATABASE_URL (PostgreSQL)"))
        if "redis" in item.keywords and not REDIS_URL:
            if REQUIRE:
                item.add_marker(pytest.mark.xfail(reason="Redis required", strict=True, run=False))
            else:
                item.add_marker(pytest.mark.skip(reason="needs CIVIC_TEST_REDIS_URL (Redis)"))


# .ci/run fails the PostgreSQL run when a skip reason names one of these (a service test that did
# not run); with CIVIC_REQUIRE_SERVICES=1 such a skip fails here, at the test, instead of at CI's end.
_CI_SERVICE_WORDS = re.compile(r"postgres|redis|DATABASE_URL|chromium|browser|node|schemathesis", re.I)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE and report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2]
        if _CI_SERVICE_WORDS.search(reason):
            report.outcome = "failed"
            report.longrepr = (f"skipped in the services run with a reason .ci/run reads as a service test "
                               f"that did not run: {reason!r}; run it, or word an embedded-only skip without "
                               f"naming a service")


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("civic")
    url = DB_URL or f"sqlite:///{tmp / 'test.db'}"
    if DB_URL:
        _reset_postgres(DB_URL)
    config = {
        "TESTING": True,
        "DATABASE_URL": url,
        "MEDIA_DIR": str(tmp / "media"),
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "test-secret",
    }
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    app.config["CIVIC_TEST_TMP"] = str(tmp)
    yield app
    with app.app_context():
        _db.engine.dispose()


def _truncate(app) -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if _db.engine.dialect.name == "postgresql":
            # TRUNCATE fsyncs every table's files and is slow on a busy disk; DELETE of the few
            # tables a test wrote to is not.  replica mode skips FK checks and the audit log's
            # append-only trigger for this cleanup only.
            probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
            dirty = [r[0] for r in conn.execute(sa.text(probe))]
            if dirty:
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                for t in dirty:
                    conn.execute(sa.text(f'DELETE FROM "{t}"'))
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('\"{t}\"', c.attname), 1, false) "
                        f"FROM pg_attribute c WHERE c.attrelid = '\"{t}\"'::regclass AND c.attname = 'id'"))
        else:
            for t in tables:
                conn.execute(sa.text(f'DELETE FROM "{t}"'))


@pytest.fixture(autouse=True)
def _clean(app):
    from civic.extensions import limiter

    ctx = app.app_context()
    ctx.push()
    limiter.reset()
    from civic.core.auth import principals

    principals().clear()  # the database is emptied between tests (and ids start again)
    if REDIS_URL:
        from civic.core.jobs import redis_connection

        redis_connection().flushdb()
    yield
    _db.session.remove()
    _truncate(app)
    ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def shared_dir() -> Path:
    assert SHARED.is_dir(), f"shared/ not found at {SHARED}"
    return SHARED


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto, standalone, on 127.0.0.1), started for the session on first use."""
    from tests.s3 import S3Server

    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3_server):
    """A fresh empty bucket on :func:`s3_server` (:class:`tests.s3.Bucket`: ``.config()`` selects it)."""
    from tests.s3 import Bucket

    return Bucket(s3_server)


@pytest.fixture(params=["filesystem", "bucket"])
def media_backend(request, app, monkeypatch):
    """Runs the test twice: with the filesystem store (the embedded default; yields None), then with
    the app's media in a fresh bucket under the prefix ``media`` (yields the :class:`tests.s3.Bucket`)."""
    if request.param == "filesystem":
        return None
    bucket = request.getfixturevalue("bucket")
    for name, value in bucket.config("media").items():
        monkeypatch.setitem(app.config, name, value)
    return bucket


# --- factories --------------------------------------------------------------------------------

@pytest.fixture
def factory(app):
    return Factory()


@functools.cache
def _hash(password: str) -> str:
    """scrypt is slow on purpose; hash each test password once per session."""
    from civic.accounts.service import hash_password

    return hash_password(password)


class Factory:
    """Builds registry places, organisations and accounts; returns what it made (committed)."""

    def __init__(self):
        self.n = 0

    def _code(self, prefix):
        self.n += 1
        return f"{prefix}-{self.n}"

    def commit(self):
        from civic.core.db import commit

        commit()

    def ladder(self):
        """district → street → community → compound → building → 2 units; returns a dict."""
        from decimal import Decimal

        from civic.property import service as reg

        d = reg.create_place(kind="district", code=self._code("D"), name="测试区")
        s = reg.create_place(kind="street", code=self._code("S"), name="测试街道", parent=d)
        c = reg.create_place(kind="community", code=self._code("CM"), name="测试社区", parent=s)
        comp = reg.create_place(kind="compound", code=self._code("C"), name="测试小区", parent=c,
                                centre=(31.2396, 121.5058))
        b = reg.create_place(kind="building", code=self._code("B"), name="1号楼", parent=comp)
        u1 = reg.create_place(kind="unit", code=self._code("U"), name="101室", parent=b,
                              area=Decimal("88.50"), area_source="registry")
        u2 = reg.create_place(kind="unit", code=self._code("U"), name="102室", parent=b,
                              area=Decimal("92.10"), area_source="survey")
        self.commit()
        return {"district": d, "street": s, "community": c, "compound": comp, "building": b,
                "units": [u1, u2]}

    def org(self, kind, covers, name=None):
        from civic.property import service as reg

        org = reg.create_organisation(kind=kind, code=self._code("O"), name=name or f"测试{kind}", covers=covers)
        self.commit()
        return org

    def staff(self, org=None, role="handler", username=None, password="test-pass-123"):
        from civic.accounts.service import create_staff

        user = create_staff(username=username or self._code("staff"), password_hash=_hash(password),
                            display_name="测试员", memberships=[(org, role)] if org else [])
        self.commit()
        return user

    def admin(self):
        from civic.accounts.service import create_staff

        user = create_staff(username=self._code("admin"), password_hash=_hash("test-pass-123"),
                            display_name="管理员", kind="admin")
        self.commit()
        return user

    def resident(self, phone=None, units=(), relation="owner"):
        from civic.accounts.service import create_resident
        from civic.property import service as reg

        self.n += 1
        user = create_resident(display_name="测试居民", phone=phone or f"139{self.n:08d}")
        for u in units:
            reg.link_resident(user, u, relation)
        self.commit()
        return user

    def token(self, user) -> dict:
        from civic.accounts.identity import issue_token

        token, _ = issue_token(user)
        self.commit()
        return {"Authorization": f"Bearer {token}"}
