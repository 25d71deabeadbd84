"""/healthz reports the database and Redis."""

from __future__ import annotations


def test_health_is_ok(client, app):
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "dialect": "postgresql" if "postgres" in app.config["DATABASE_URL"]
                                else "sqlite"}
    assert body["redis"]["ok"] is True
    assert body["redis"]["configured"] is bool(app.config["REDIS_URL"])


def test_health_with_redis_down_is_503(app, client, monkeypatch):
    # Point the running app at a Redis that is not there (nothing listens on port 1).  Not a second
    # app: that would rebind the shared extensions (the rate limiter's storage) to the broken URL.
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.extensions, "civic_redis", None)
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 503
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert (body["redis"]["configured"], body["redis"]["ok"]) == (True, False)
