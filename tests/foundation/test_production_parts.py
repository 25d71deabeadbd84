"""No silent development parts in production (issue #17 point 4): the table in civic.core.parts.

With ``CIVIC_ENV=production`` every development value of every part in the table refuses to start,
naming the setting; what production needs today (docs/deploy.md) starts; ``/healthz`` names the
parts in use and nothing secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from civic.config import DEV_SECRET_KEY
from civic.core import parts

REPO = Path(__file__).resolve().parents[2]

# What production needs today, exactly as docs/deploy.md lists it ("What production refuses").
PRODUCTION = {
    "ENV": "production",
    "SECRET_KEY": "k9V2-a-long-random-secret-from-the-vault-0f3c9e",
    "WECHAT_ADAPTER": "wechat",
    "WECHAT_APPID": "wx0123456789abcdef",
    "WECHAT_SECRET": "wechat-app-secret-5e1d",
    "NOTIFY_ADAPTER": "wechat",
    "SMS_ADAPTER": "none",  # phone login off, said out loud (aliyun and tencent: tests/foundation/test_sms_vendors.py)
}


def _refusal(make_app, config) -> str:
    with pytest.raises(parts.ProductionRefused) as info:
        make_app(config)
    return str(info.value)


def test_what_production_needs_today_starts(make_app):
    app = make_app(PRODUCTION)
    assert app.config["ENV"] == "production"
    assert app.config["SMS_ADAPTER"] == "none"


def test_the_table_holds_every_development_part(app):
    # The session app has imported every domain, so every row is registered.  A part with
    # development values that is not here would be a silent one.
    assert {"secret_key", "sms", "wechat_login", "notifications", "rate_limits", "csrf",
            "open311_media_loopback", "session_cookie"} <= {name for name, p in parts.PARTS.items() if p.development}


def test_every_development_value_of_every_part_is_refused_in_production_naming_its_setting(app, make_app):
    """The sweep: one app per (part, development value), everything else as production needs."""
    tried = []
    for part in parts.PARTS.values():
        for value in part.development:
            message = _refusal(make_app, {**PRODUCTION, part.setting: value})
            faults = message.splitlines()[1:]
            assert len(faults) == 1, message  # only the part we broke
            assert f"CIVIC_{part.setting}" in faults[0], message
            assert "for development only" in faults[0]
            tried.append((part.name, value))
    assert ("sms", "dev") in tried and ("wechat_login", "dev") in tried and ("notifications", "dev") in tried
    assert ("secret_key", DEV_SECRET_KEY) in tried and ("secret_key", "") in tried


def test_the_development_defaults_all_refused_at_once(make_app):
    message = _refusal(make_app, {"ENV": "production", "SECRET_KEY": DEV_SECRET_KEY})
    for setting in ("CIVIC_SECRET_KEY", "CIVIC_SMS_ADAPTER", "CIVIC_WECHAT_ADAPTER", "CIVIC_NOTIFY_ADAPTER"):
        assert setting in message
    assert DEV_SECRET_KEY not in message  # a secret is named, never shown
    assert "CIVIC_ENV=production" in message


def test_development_parts_start_in_development(make_app):
    app = make_app({"SECRET_KEY": DEV_SECRET_KEY})
    assert (app.config["ENV"], app.config["SMS_ADAPTER"], app.config["WECHAT_ADAPTER"]) == ("development", "dev", "dev")


@pytest.mark.parametrize("env", ["development", "production"])
def test_an_adapter_civic_does_not_know_is_refused_everywhere(make_app, env):
    message = _refusal(make_app, {**PRODUCTION, "ENV": env, "SMS_ADAPTER": "aliyn"})
    assert "CIVIC_SMS_ADAPTER='aliyn' is not a sms adapter civic knows (known: dev, aliyun, tencent, none)" in message


def test_an_adapter_missing_its_settings_is_refused(make_app):
    message = _refusal(make_app, {**PRODUCTION, "WECHAT_APPID": "", "WECHAT_SECRET": ""})
    assert "CIVIC_WECHAT_ADAPTER='wechat' needs CIVIC_WECHAT_APPID, CIVIC_WECHAT_SECRET set" in message
    assert "CIVIC_NOTIFY_ADAPTER='wechat' needs CIVIC_WECHAT_APPID, CIVIC_WECHAT_SECRET set" in message


def test_a_flag_is_refused_only_for_its_development_value(make_app):
    assert make_app({**PRODUCTION, "RATELIMIT_ENABLED": True, "OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS": False})
    assert "CIVIC_OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS" in _refusal(
        make_app, {**PRODUCTION, "OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS": True})


def test_production_phone_login_is_off_not_silent(make_app, envelope):
    app = make_app(PRODUCTION)
    with app.app_context():
        resp = app.test_client().post("/api/v1/auth/otp", json={"phone": "13900009999"})
        envelope(resp, 503, "sms_unavailable")


# --- /healthz ---------------------------------------------------------------------------------------

def test_health_names_the_parts_in_use_and_nothing_secret(make_app):
    app = make_app({**PRODUCTION, "MEDIA_URL": "s3://civic-media/pudong?endpoint=https://oss-cn-shanghai.aliyuncs.com"
                                               "&region=cn-shanghai",
                    "MEDIA_ACCESS_KEY": "AKIDEXAMPLE", "MEDIA_SECRET_KEY": "wJalrXUt"})
    with app.app_context():
        resp = app.test_client().get("/healthz")
    body = resp.get_json()
    assert body["env"] == "production"
    assert body["parts"] == {"notifications": "wechat", "media": "s3", "jobs": "rq" if app.config["REDIS_URL"]
                             else "in-process", "rate_limits": "redis" if app.config["REDIS_URL"] else "memory",
                             "wechat_login": "wechat", "sms": "none"}
    text = resp.get_data(as_text=True)
    for secret in (PRODUCTION["SECRET_KEY"], PRODUCTION["WECHAT_SECRET"], PRODUCTION["WECHAT_APPID"],
                   "AKIDEXAMPLE", "wJalrXUt", "aliyuncs"):
        assert secret not in text


def test_health_in_development_shows_the_development_adapters(client):
    parts_in_use = client.get("/healthz").get_json()["parts"]
    assert (parts_in_use["sms"], parts_in_use["wechat_login"], parts_in_use["notifications"],
            parts_in_use["media"]) == ("dev", "dev", "dev", "filesystem")


# --- the processes that serve: they stop before serving anything -----------------------------------

def _env(tmp_path, **settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update({"CIVIC_INSTANCE_PATH": str(tmp_path), "CIVIC_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                "CIVIC_RUN_SCHEDULER": "false"})
    env.update({f"CIVIC_{k}": v for k, v in settings.items()})
    return env


GUNICORN = Path(sys.executable).with_name("gunicorn")


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed beside this Python")
def test_gunicorn_refuses_to_load_a_development_part_in_production(tmp_path):
    env = _env(tmp_path, **{**PRODUCTION, "SMS_ADAPTER": "dev"})
    done = subprocess.run([str(GUNICORN), "--check-config", "wsgi:app"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "CIVIC_SMS_ADAPTER='dev' is for development only" in done.stderr
    env = _env(tmp_path, **PRODUCTION)
    done = subprocess.run([str(GUNICORN), "--check-config", "wsgi:app"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_flask_cli_refuses_the_development_secret_in_production(tmp_path):
    env = _env(tmp_path, **{**PRODUCTION, "SECRET_KEY": DEV_SECRET_KEY})
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "civic", "routes"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "CIVIC_SECRET_KEY is for development only" in done.stderr
    assert DEV_SECRET_KEY not in done.stderr.split("CIVIC_SECRET_KEY", 1)[1]
