"""Configuration: defaults in code, then CIVIC_* environment variables, then the test mapping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from civic import create_app
from civic.config import DEV_SECRET_KEY

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("CIVIC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CIVIC_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def test_defaults_are_the_embedded_setup(clean_env, make_app):
    app = make_app({"DATABASE_URL": None, "MEDIA_DIR": None, "REDIS_URL": None, "SECRET_KEY": DEV_SECRET_KEY})
    assert app.config["DATABASE_URL"] == f"sqlite:///{clean_env / 'civic.db'}"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{clean_env / 'civic.db'}"
    assert app.config["MEDIA_DIR"] == str(clean_env / "media")
    assert app.config["REDIS_URL"] is None
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["ENV"] == "development"
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"timeout": 30.0}


def test_default_instance_folder_is_beside_the_package(clean_env, monkeypatch, make_app):
    monkeypatch.delenv("CIVIC_INSTANCE_PATH")
    app = create_app()
    assert Path(app.instance_path) == REPO / "instance"
    assert app.config["DATABASE_URL"] == f"sqlite:///{REPO / 'instance' / 'civic.db'}"


def test_environment_overrides_defaults(clean_env, monkeypatch, make_app, tmp_path):
    monkeypatch.setenv("CIVIC_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("CIVIC_MEDIA_DIR", str(tmp_path / "photos"))
    monkeypatch.setenv("CIVIC_REDIS_URL", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("CIVIC_OTP_TTL_SECONDS", "120")
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'env.db'}"
    assert app.config["MEDIA_DIR"] == str(tmp_path / "photos")
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6379/9"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/9"
    assert app.config["OTP_TTL_SECONDS"] == 120


def test_environment_booleans_are_parsed(clean_env, monkeypatch, make_app):
    monkeypatch.setenv("CIVIC_RUN_SCHEDULER", "false")
    assert create_app().config["RUN_SCHEDULER"] is False


def test_mapping_overrides_environment(clean_env, monkeypatch, make_app):
    monkeypatch.setenv("CIVIC_OTP_TTL_SECONDS", "120")
    app = make_app({"OTP_TTL_SECONDS": 60})
    assert app.config["OTP_TTL_SECONDS"] == 60


def test_postgres_urls_use_psycopg3(clean_env, monkeypatch, make_app):
    monkeypatch.setenv("CIVIC_DATABASE_URL", "postgres://civic@db.example:5432/civic")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://civic@db.example:5432/civic"
    # No ping per checkout: civic.core.db.ping_after_idle checks a connection idle for 10 s or more.
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {}
    assert app.config["DB_PING_AFTER_IDLE_S"] == 10


def test_numeric_secret_key_stays_text(clean_env, monkeypatch, make_app):
    # from_prefixed_env reads JSON: without care this would be the int 12345678901234567890.
    monkeypatch.setenv("CIVIC_SECRET_KEY", "12345678901234567890")
    monkeypatch.setenv("CIVIC_WECHAT_APPID", "20240101")
    app = create_app()
    assert app.config["SECRET_KEY"] == "12345678901234567890"
    assert app.config["WECHAT_APPID"] == "20240101"


def test_production_refuses_the_development_secret(clean_env, monkeypatch, make_app):
    monkeypatch.setenv("CIVIC_ENV", "production")
    with pytest.raises(RuntimeError, match="CIVIC_SECRET_KEY"):
        make_app({"SECRET_KEY": DEV_SECRET_KEY})


def test_production_refuses_an_empty_secret(clean_env, monkeypatch, make_app):
    monkeypatch.setenv("CIVIC_ENV", "production")
    with pytest.raises(RuntimeError, match="CIVIC_SECRET_KEY"):
        make_app({"SECRET_KEY": ""})


def test_production_starts_with_its_own_secret_and_production_parts(clean_env, monkeypatch, make_app):
    # The environment an operator writes (docs/deploy.md): every part chosen by a CIVIC_* variable.
    for key, value in {"ENV": "production", "WECHAT_ADAPTER": "wechat", "WECHAT_APPID": "wx0123",
                       "WECHAT_SECRET": "s", "NOTIFY_ADAPTER": "wechat", "SMS_ADAPTER": "none"}.items():
        monkeypatch.setenv(f"CIVIC_{key}", value)
    app = make_app({"SECRET_KEY": "s3cret-from-the-vault"})
    assert app.config["ENV"] == "production"
    assert app.config["SECRET_KEY"] == "s3cret-from-the-vault"
