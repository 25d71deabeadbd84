"""Fixtures for the foundation tests: fresh apps (with test-only routes), a local HTTP server."""

from __future__ import annotations

import socket
import threading

import pytest
from werkzeug.serving import make_server

from civic import create_app


@pytest.fixture
def make_app(app):
    """Build a fresh app on the session's database (``make_app({"KEY": value})``).

    The extensions are process-wide singletons that ``init_app`` re-points at the newest app
    (flask-smorest's spec, Flask-Limiter's storage and switches): their state is put back after
    the test, so the session app keeps working as before.
    """
    from civic.extensions import api, db, limiter

    saved = {obj: dict(obj.__dict__) for obj in (api, limiter)}
    made = []

    def make(extra=None):
        cfg = {k: app.config[k] for k in ("DATABASE_URL", "MEDIA_DIR", "REDIS_URL", "SECRET_KEY")}
        cfg["TESTING"] = True
        cfg.update(extra or {})
        fresh = create_app(cfg)
        made.append(fresh)
        return fresh

    yield make
    # The test's own session (the session app's context, still pushed) may have run a query inside a
    # fresh app's context, through that app's engine: Flask-SQLAlchemy binds by current_app.  End it
    # first, so its connection goes back to the pool that is disposed below, not to a disposed one
    # (a PostgreSQL connection left open, closed by the garbage collector with a ResourceWarning).
    db.session.remove()
    for fresh in made:
        with fresh.app_context():
            db.session.remove()
            engine = db.engine
            left = engine.pool.status() if engine.pool.checkedout() else None
            engine.dispose()
            assert left is None, f"a connection of a fresh app is still checked out after the test: {left}"
    for obj, state in saved.items():
        obj.__dict__.clear()
        obj.__dict__.update(state)


@pytest.fixture
def serve():
    """Serve a WSGI app on 127.0.0.1 in a thread (``url = serve(wsgi_app)``); stopped after the test."""
    servers = []

    def start(wsgi_app, threaded=True):
        server = make_server("127.0.0.1", 0, wsgi_app, threaded=threaded)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def envelope():
    """``envelope(resp, status, code)``: assert the one error envelope and return its ``error``."""

    def check(resp, status, code):
        assert resp.status_code == status, resp.get_data(as_text=True)
        assert resp.mimetype == "application/json"
        body = resp.get_json()
        assert list(body) == ["error"]
        assert body["error"]["code"] == code
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
        assert isinstance(body["error"]["details"], dict)
        return body["error"]

    return check
