"""civic: the backend for residents' participation in neighbourhood governance (共建共治共享)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask

from civic.core import messages as _messages
from civic.core import text as _text

# Before any schema module builds its fields (they copy the messages when made): every civic module
# is imported through this package, so this runs first.
_messages.use_chinese()
# The complaint categories' keywords stay whole words in every segmentation (search index and
# queries alike), so they are registered before anything can segment.
_text.register_dictionary("civic.complaints", "data/categories.json")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory.

    Configuration: the defaults in :mod:`civic.config`, then ``CIVIC_*`` environment variables
    (``CIVIC_DATABASE_URL`` → ``DATABASE_URL``; values are parsed as JSON where they can be), then
    ``config`` (tests).

    :raises RuntimeError: with media settings that cannot work (a malformed ``CIVIC_MEDIA_URL``:
        :func:`civic.core.storage.check_media_settings`).
    :raises civic.core.parts.ProductionRefused: (a RuntimeError) in production mode
        (``CIVIC_ENV=production``) with the development secret key or any development part (SMS,
        WeChat login, notifications... the table in :mod:`civic.core.parts`), and in any mode with
        an adapter civic does not know or one missing a setting it needs; the message names every
        setting to change.  gunicorn, ``flask`` and the worker stop on it before serving anything.
    """
    from civic.config import DefaultConfig

    app = Flask(__name__, instance_path=os.environ.get("CIVIC_INSTANCE_PATH") or None,
                instance_relative_config=True)
    app.config.from_object(DefaultConfig)
    app.config.from_prefixed_env("CIVIC")
    _keep_strings(app, DefaultConfig)
    if config:
        app.config.update(config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'civic.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["DATABASE_URL"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault(
            "connect_args", {"timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000}
        )
    else:
        # No pool_pre_ping by default: civic.core.db.ping_after_idle checks a connection only after
        # DB_PING_AFTER_IDLE_S of idleness (a round trip less per request); see _init_extensions.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if app.config.get("DATABASE_READ_URL"):
        app.config["SQLALCHEMY_BINDS"] = {"replica": _normalise_db_url(app.config["DATABASE_READ_URL"])}
    if not app.config.get("MEDIA_DIR"):
        app.config["MEDIA_DIR"] = str(Path(app.instance_path) / "media")
    from civic.core.storage import check_media_settings

    check_media_settings(app.config)
    _rate_limit_storage(app)
    app.json.ensure_ascii = False  # Chinese goes out as UTF-8, not \u escapes
    app.json.sort_keys = False

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    _init_extensions(app)
    _register_modules(app)
    # After every domain's module is imported: each registers its own parts in the table.
    from civic.core import parts

    parts.check(app.config)
    return app


def start_background(app: Flask) -> None:
    """Start the embedded scheduler thread (periodic and deferred jobs) when there is no Redis.

    Called by ``wsgi.py`` (gunicorn, ``flask --app wsgi run``), not by ``create_app``, so CLI
    commands and tests start no threads.  With ``CIVIC_REDIS_URL`` set, ``flask civic worker`` runs
    the scheduler instead.
    """
    if app.config.get("REDIS_URL") or not app.config["RUN_SCHEDULER"]:
        return
    from civic.core.jobs import start_embedded_scheduler

    app.extensions["civic_scheduler"] = start_embedded_scheduler(app)


def init_migrations(app: Flask) -> None:
    """Bind Flask-Migrate (``flask db ...``).  Done only for CLI commands and tests: Alembic's import
    costs half a second that a web worker never needs."""
    from flask_migrate import Migrate

    from civic.extensions import db

    # Inside the package: an installed civic (``pip install .``, no source tree) migrates too.
    Migrate(app, db, directory=str(Path(__file__).resolve().parent / "migrations"),
            render_as_batch=True, compare_type=True)


def _keep_strings(app: Flask, defaults: type) -> None:
    # from_prefixed_env parses values as JSON, so CIVIC_SECRET_KEY=12345678 would become an int
    # (and break every HMAC).  Settings whose default is text stay the text the environment gave.
    hints = getattr(defaults, "__annotations__", {})
    for key in dir(defaults):
        raw = os.environ.get(f"CIVIC_{key}")
        if raw is None or isinstance(app.config.get(key), str):
            continue
        if isinstance(getattr(defaults, key), str) or "str" in str(hints.get(key, "")):
            app.config[key] = raw


def _rate_limit_storage(app: Flask) -> None:
    """Rate-limit counters: in Redis when ``CIVIC_REDIS_URL`` is set, else in each process's memory.

    While Redis cannot be reached, each process counts in its own memory with the same limits
    (Flask-Limiter's in-memory fallback; :func:`civic.core.http.count_attempt` follows it too) and
    goes back to Redis once it answers again (Flask-Limiter checks it at growing intervals, at most
    every 32 s): a Redis outage loosens the limits by the number of processes for a while, and
    fails no login.  Short socket timeouts, so a Redis that does not answer costs a request about a
    second, once, before the fallback takes over.
    """
    url = app.config.get("REDIS_URL")
    app.config["RATELIMIT_STORAGE_URI"] = url or "memory://"
    if url:
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})


def _normalise_db_url(url: str) -> str:
    # One driver for PostgreSQL everywhere: psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _init_extensions(app: Flask) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from civic.extensions import api, csrf, db, limiter, login_manager

    if app.config.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    db.init_app(app)
    _ping_after_idle(app)
    if click.get_current_context(silent=True) is not None or app.config.get("TESTING"):
        init_migrations(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    _limit_in_views_only(app, limiter)
    api.init_app(app, spec_kwargs={"info": {"description": "civic：共建共治共享的社区治理后台 API"}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})


def _ping_after_idle(app: Flask) -> None:
    """The server databases' engines (primary and replica) check a pooled connection on checkout
    only after ``DB_PING_AFTER_IDLE_S`` seconds idle (civic.core.db.ping_after_idle); not where the
    deployment asked for SQLAlchemy's own ``pool_pre_ping``, nor on SQLite (no server to lose)."""
    from civic.core.db import ping_after_idle
    from civic.extensions import db

    if app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
        return
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name != "sqlite":
                ping_after_idle(engine, float(app.config["DB_PING_AFTER_IDLE_S"]))


def _limit_in_views_only(app: Flask, limiter) -> None:
    """civic sets no application-wide or default limits: every limit is a decorator on the view it
    guards (login, OTP, public writes, Open311), and Flask-Limiter checks those inside the view.  Its
    before_request check would then find nothing to count on every request, at a cost of about a
    tenth of an authenticated GET, so it is taken off.  Set a default limit and this puts it back."""
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or manager._blueprint_limits:
        return  # those are checked before the view: keep Flask-Limiter's hook
    funcs = app.before_request_funcs.get(None, [])
    funcs[:] = [f for f in funcs if getattr(f, "__self__", None) is not limiter]


def _register_modules(app: Flask) -> None:
    from civic.core import http

    http.init_app(app)
    # Import every model module so metadata is complete (migrations, create_all in tests).
    from civic import models  # noqa: F401
    from civic.accounts.routes import blp as auth_blp
    from civic.accounts.staff_routes import blp as staff_blp
    from civic.budgets.routes import blp as budgets_blp
    from civic.complaints.routes import blp as complaints_blp
    from civic.core.cli import civic_cli
    from civic.core.resumable_routes import blp as uploads_blp
    from civic.core.routes import audit_blp, calendar_blp, inbox_blp
    from civic.core.routes import blp as core_blp
    from civic.extensions import api
    from civic.open311.routes import admin_blp as open311_admin_blp
    from civic.open311.routes import bp as open311_bp
    from civic.property.routes import blp as registry_blp
    from civic.proposals.contests.routes import blp as contests_blp
    from civic.proposals.deliberation.routes import blp as deliberation_blp
    from civic.proposals.moderation.routes import mod_blp as moderation_blp
    from civic.residents.routes import blp as residents_blp
    from civic.village.routes import blp as village_blp
    from civic.voting.routes import blp as voting_blp

    for blp in (core_blp, auth_blp, registry_blp, audit_blp, calendar_blp, inbox_blp, complaints_blp, village_blp,
                voting_blp, contests_blp, moderation_blp, open311_admin_blp, deliberation_blp, staff_blp,
                residents_blp, budgets_blp, uploads_blp):
        api.register_blueprint(blp)
    from civic import cli as _app_cli  # noqa: F401  (seed-demo)
    from civic.accounts import init_app as init_accounts
    from civic.core.routes import docs_blueprint
    from civic.property import cli as _property_cli  # noqa: F401  (the registry imports)
    from civic.residents import cli as _residents_cli  # noqa: F401  (import-residents)
    from civic.village import cli as _village_cli  # noqa: F401  (export-open-data)

    init_accounts(app)
    from civic.core import pages as public_pages
    from civic.village import pages as village_pages

    app.register_blueprint(docs_blueprint())
    app.register_blueprint(public_pages.bp)
    app.register_blueprint(village_pages.bp)
    from civic.budgets import pages as budget_pages

    app.register_blueprint(budget_pages.bp)
    app.register_blueprint(open311_bp)
    from civic.console.routes import bp as console_bp

    app.register_blueprint(console_bp)
    app.cli.add_command(civic_cli)
