"""The pool's liveness check only after idle (civic.core.db.ping_after_idle): a connection killed
while it sat idle in the pool is replaced on checkout, and a request goes through (PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civic.core.db import _IDLE_SINCE
from civic.extensions import db

pytestmark = pytest.mark.postgres


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT pg_backend_pid()"))


def test_a_connection_killed_while_idle_is_replaced_on_checkout(app):
    engine = db.engine
    assert not engine.pool._pre_ping  # the per-checkout ping is off: ours replaces it
    db.session.remove()
    pid = _backend_pid(engine)  # (the pool may hold others)
    other = sa.create_engine(engine.url)
    with other.begin() as conn:
        assert conn.scalar(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}) is True
    other.dispose()
    # Idle for longer than DB_PING_AFTER_IDLE_S: the checkout pings, finds it dead, connects anew.
    for rec in list(engine.pool._pool.queue):
        rec.info[_IDLE_SINCE] -= app.config["DB_PING_AFTER_IDLE_S"] + 1
    new = _backend_pid(engine)
    assert new != pid


def test_a_request_after_the_database_dropped_idle_connections(app, client, factory):
    u = factory.resident()
    h = factory.token(u)
    assert client.get("/api/v1/me", headers=h).status_code == 200
    engine = db.engine
    db.session.remove()
    # Every connection idle in this app's pool, and only those (other parts of the suite, such as the
    # RQ worker, keep theirs).
    pids = [rec.dbapi_connection.info.backend_pid for rec in list(engine.pool._pool.queue)
            if rec.dbapi_connection is not None]
    assert pids
    other = sa.create_engine(engine.url)
    with other.begin() as conn:
        for pid in pids:
            assert conn.scalar(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}) is True
    other.dispose()
    for rec in list(engine.pool._pool.queue):
        rec.info[_IDLE_SINCE] -= app.config["DB_PING_AFTER_IDLE_S"] + 1
    db.session.remove()
    assert client.get("/api/v1/me", headers=h).status_code == 200
    assert db.session.scalar(sa.text("SELECT count(*) FROM user_account")) >= 1
