"""WeChat for real (issue #17 point 3): code2session login and subscribe-message notifications
against a local server playing WeChat's documented API (tests/vendors.py: stable_token,
jscode2session, message/subscribe/send); the access token cached and refreshed once across
workers (in Redis, with a lock; in this process without Redis)."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import threading
import time

import pytest
import sqlalchemy as sa

from civic.core import wechat
from civic.core.db import commit, utcnow
from civic.core.jobs import DeferredJob, tick
from civic.core.notifications import Notification, notify
from civic.extensions import db
from tests.jobs import drain
from tests.vendors import WeChatApi

APPID, SECRET = "wx0123456789abcdef", "wechat-app-secret-5e1d"


@pytest.fixture(scope="module")
def server():
    s = WeChatApi(APPID, SECRET)
    yield s
    s.stop()


@pytest.fixture
def wx(app, server, monkeypatch):
    """The app on the ``wechat`` adapters, pointed at the local server, with its state emptied."""
    for key, value in {"WECHAT_ADAPTER": "wechat", "NOTIFY_ADAPTER": "wechat", "WECHAT_APPID": APPID,
                       "WECHAT_SECRET": SECRET,
                       "WECHAT_CODE2SESSION_URL": f"{server.url}/sns/jscode2session",
                       "WECHAT_TOKEN_URL": f"{server.url}/cgi-bin/stable_token",
                       "WECHAT_SUBSCRIBE_URL": f"{server.url}/cgi-bin/message/subscribe/send",
                       "WECHAT_TEMPLATE_IDS": {"complaint_status": "tmpl-complaint-status-0001"}}.items():
        monkeypatch.setitem(app.config, key, value)
    for bag in (server.script, server.requests, server.token_calls, server.messages):
        bag.clear()
    server.codes.clear(), server.used.clear(), server.refused.clear(), server.tokens.clear()
    server.current = None
    wechat.forget_token()
    yield server
    wechat.forget_token()


# --- code2session ------------------------------------------------------------------------------------

def test_a_code_logs_in_once_then_is_used(client, wx, envelope):
    wx.codes["081abcCode"] = "oWx-resident-1"
    resp = client.post("/api/v1/auth/wechat", json={"code": "081abcCode"})
    assert resp.status_code == 200 and resp.get_json()["created"] is True
    err = envelope(client.post("/api/v1/auth/wechat", json={"code": "081abcCode"}), 401, "wechat_code_used")
    assert err["details"] == {"errcode": 40163}


@pytest.mark.parametrize(("errcode", "status", "code"), [
    (40029, 401, "wechat_code_invalid"),
    (40163, 401, "wechat_code_used"),
    (45011, 429, "wechat_rate_limited"),
    (-1, 503, "wechat_unavailable"),
    (40125, 503, "wechat_misconfigured"),
])
def test_each_code2session_errcode_is_a_civic_error(client, wx, envelope, errcode, status, code):
    wx.codes["081abcCode"] = "oWx-resident-1"
    wx.script.append(("/sns/jscode2session", errcode))
    envelope(client.post("/api/v1/auth/wechat", json={"code": "081abcCode"}), status, code)


def test_an_unknown_code_is_invalid(client, wx, envelope):
    envelope(client.post("/api/v1/auth/wechat", json={"code": "never-issued"}), 401, "wechat_code_invalid")


def test_a_wrong_secret_is_a_configuration_error(app, client, wx, envelope, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_SECRET", "not-the-secret")
    wx.codes["081abcCode"] = "oWx-resident-1"
    envelope(client.post("/api/v1/auth/wechat", json={"code": "081abcCode"}), 503, "wechat_misconfigured")


# --- subscribe messages ------------------------------------------------------------------------------

def _resident(factory, openid):
    user = factory.resident()
    user.wechat_openid = openid
    commit()
    return user


def _notify(user, key, template="complaint_status"):
    n = notify(user.id, template, "您反映的问题已签收", {"thing1": "楼道堆物", "phrase2": "已签收"}, dedupe_key=key)
    commit()  # the in-process queue sends it right after the commit; with Redis, a worker does
    drain()
    db.session.expire_all()
    return db.session.get(Notification, n.id)


def test_a_notification_is_a_subscribe_message_with_a_cached_token(factory, wx):
    user = _resident(factory, "oWx-resident-2")
    first, second = _notify(user, "k1"), _notify(user, "k2")
    assert (first.status, second.status) == ("sent", "sent")
    assert [m["touser"] for m in wx.messages] == ["oWx-resident-2"] * 2
    assert wx.messages[0]["template_id"] == "tmpl-complaint-status-0001"
    assert wx.messages[0]["data"] == {"thing1": {"value": "楼道堆物"}, "phrase2": {"value": "已签收"}}
    assert len(wx.token_calls) == 1  # the second message used the cached token
    assert wx.token_calls[0] == {"grant_type": "client_credential", "appid": APPID, "secret": SECRET,
                                 "force_refresh": False}


def test_a_refused_subscription_is_marked_refused_and_never_retried(factory, wx):
    user = _resident(factory, "oWx-refuser")
    wx.refused.add("oWx-refuser")
    n = _notify(user, "k3")
    assert n.status == "refused" and "43101" in n.last_error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeferredJob)) == 0
    tick(utcnow() + dt.timedelta(hours=2))
    drain()
    assert db.session.get(Notification, n.id).status == "refused"
    assert len([r for r in wx.requests if r["path"].endswith("/subscribe/send")]) == 1


def test_a_user_without_wechat_is_refused_without_a_call(factory, wx):
    user = factory.resident()
    factory.commit()
    assert _notify(user, "k4").status == "refused"
    assert wx.requests == []


@pytest.mark.parametrize("errcode", [42001, 40001])
def test_a_refused_token_is_refreshed_once_and_the_message_sent(factory, wx, errcode):
    user = _resident(factory, "oWx-resident-3")
    assert _notify(user, "k5").status == "sent"
    if errcode == 42001:
        wx.expire_tokens()  # WeChat says: access_token expired
    else:
        wx.tokens.clear()  # WeChat says: invalid credential
    assert _notify(user, "k6").status == "sent"
    assert [c["force_refresh"] for c in wx.token_calls] == [False, True]
    assert len(wx.messages) == 2


def test_system_busy_fails_the_row_and_the_queue_sends_it_later(factory, wx):
    user = _resident(factory, "oWx-resident-4")
    wx.script.append(("/cgi-bin/message/subscribe/send", -1))
    n = _notify(user, "k7")
    assert n.status == "failed" and "errcode -1" in n.last_error
    from civic.core.jobs import uses_rq

    if uses_rq():  # RQ schedules its own retry (tests/complaints/test_notifications.py covers it)
        return
    tick(utcnow() + dt.timedelta(seconds=11))  # the first back-off step is 10 s
    drain()
    db.session.expire_all()
    assert db.session.get(Notification, n.id).status == "sent"
    assert len(wx.messages) == 1


def test_a_token_endpoint_refusal_is_a_failed_row(app, factory, wx, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_SECRET", "not-the-secret")
    user = _resident(factory, "oWx-resident-5")
    n = _notify(user, "k8")
    assert n.status == "failed" and "40125" in n.last_error and wx.messages == []


# --- the access token across workers ---------------------------------------------------------------

def _race(app, calls: int, fn) -> list:
    barrier, out = threading.Barrier(calls), []

    def worker():
        with app.app_context():
            barrier.wait()
            out.append(fn())

    threads = [threading.Thread(target=worker) for _ in range(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def test_without_redis_one_thread_fetches_the_token_for_all(app, wx):
    tokens = _race(app, 8, wechat.access_token)
    assert len(set(tokens)) == 1 and len(wx.token_calls) == 1
    stale = tokens[0]
    refreshed = _race(app, 6, lambda: wechat.access_token(stale=stale))
    assert len(set(refreshed)) == 1 and refreshed[0] != stale
    assert [c["force_refresh"] for c in wx.token_calls] == [False, True]  # refreshed once, not six times


@pytest.fixture
def private_redis(app, monkeypatch, tmp_path):
    """A Redis of this test's own on a free port (the shared one is other tests' business)."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    from redis import Redis

    conn = Redis(port=port)
    for _ in range(100):
        try:
            conn.ping()
            break
        except Exception:
            time.sleep(0.05)
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setitem(app.extensions, "civic_redis", conn)
    yield conn
    proc.terminate()
    proc.wait(10)


def test_with_redis_every_worker_shares_one_token_and_one_refresh(app, wx, private_redis):
    tokens = _race(app, 8, wechat.access_token)
    assert len(set(tokens)) == 1 and len(wx.token_calls) == 1
    assert private_redis.get(f"civic:wechat:token:{APPID}").decode() == tokens[0]
    assert 6900 - 300 <= private_redis.ttl(f"civic:wechat:token:{APPID}") <= 7200 - 300
    # Another worker process: nothing in its memory, the token comes from Redis.
    wechat.forget_token()
    assert wechat.access_token() == tokens[0] and len(wx.token_calls) == 1
    refreshed = _race(app, 6, lambda: wechat.access_token(stale=tokens[0]))
    assert len(set(refreshed)) == 1 and refreshed[0] != tokens[0]
    assert [c["force_refresh"] for c in wx.token_calls] == [False, True]
    assert private_redis.get(f"civic:wechat:token:{APPID}").decode() == refreshed[0]


def test_with_redis_down_the_process_cache_serves(app, wx, monkeypatch):
    from redis import Redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setitem(app.extensions, "civic_redis", Redis(port=port, socket_connect_timeout=1))
    first = wechat.access_token()
    assert wechat.access_token() == first and len(wx.token_calls) == 1


def test_production_takes_the_wechat_adapters(make_app):
    app = make_app({"ENV": "production", "SECRET_KEY": "k9V2-a-long-random-secret-from-the-vault-0f3c9e",
                    "WECHAT_ADAPTER": "wechat", "WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET,
                    "NOTIFY_ADAPTER": "wechat", "SMS_ADAPTER": "none"})
    assert app.config["WECHAT_TOKEN_URL"].endswith("/cgi-bin/stable_token")


def test_every_vendor_setting_is_documented_in_readme_and_deploy_guide(app):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    readme, deploy = (repo / "README.md").read_text(), (repo / "docs/deploy.md").read_text()
    settings = [k for k in app.config if k.startswith(("SMS_", "WECHAT_")) or k == "NOTIFY_ADAPTER"]
    assert len(settings) >= 20
    missing = [k for k in settings if f"CIVIC_{k}`" not in readme or f"CIVIC_{k}`" not in deploy]
    assert missing == []
