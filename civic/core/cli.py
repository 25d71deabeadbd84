"""``flask civic ...``: seed, import, workers, scheduler."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from civic.core.db import commit
from civic.core.errors import CivicError
from civic.extensions import db

civic_cli = AppGroup("civic", help="civic administration commands")


def _fail(exc: CivicError):
    click.echo(f"错误 {exc.code}: {exc.message}", err=True)
    for e in exc.details.get("errors", []):
        click.echo(f"  第 {e['line']} 行 {e.get('column') or ''}: {e['reason']}", err=True)
    db.session.rollback()
    sys.exit(1)


@civic_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if the registry already has places.")
def seed_demo(if_empty):
    """Load the demo street (communities, compounds, a village, organisations, accounts)."""
    from civic.demo import load_demo

    try:
        summary = load_demo(if_empty=if_empty, cases=True)
        commit()
    except CivicError as exc:
        _fail(exc)
    click.echo(json.dumps(summary, ensure_ascii=False))


@civic_cli.command("import-places")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_places(path):
    """Import a places CSV (all or nothing)."""
    from civic.property.importer import import_places_csv

    try:
        with open(path, encoding="utf-8-sig") as f:
            report = import_places_csv(f.read())
        commit()
    except CivicError as exc:
        _fail(exc)
    click.echo(f"imported {report.places} places")


@civic_cli.command("import-organisations")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_organisations(path):
    """Import an organisations CSV (all or nothing)."""
    from civic.property.importer import import_organisations_csv

    try:
        with open(path, encoding="utf-8-sig") as f:
            report = import_organisations_csv(f.read())
        commit()
    except CivicError as exc:
        _fail(exc)
    click.echo(f"imported {report.organisations} organisations")


@civic_cli.command("import-seed")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_seed(path):
    """Import a seed JSON file of places and organisations (all or nothing)."""
    from civic.property.importer import import_seed as do_import

    try:
        with open(path, encoding="utf-8") as f:
            report = do_import(json.load(f))
        commit()
    except CivicError as exc:
        _fail(exc)
    click.echo(f"imported {report.places} places, {report.organisations} organisations")


@civic_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="管理员")
def create_admin(username, password, name):
    """Create an administrator account."""
    from civic.accounts.service import create_staff, validate_password

    try:
        validate_password(password)
        create_staff(username=username, password=password, display_name=name, kind="admin")
        commit()
    except CivicError as exc:
        _fail(exc)
    click.echo(f"administrator {username} created")


@civic_cli.command("tick")
def tick_once():
    """Run due periodic and deferred jobs once (cron-friendly)."""
    from civic.core.jobs import tick

    click.echo(json.dumps(tick(), ensure_ascii=False))


@civic_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst):
    """An RQ worker (with RQ's scheduler, for retries) running jobs inside the app context, plus the
    periodic tick (not with --burst).  Needs CIVIC_REDIS_URL."""
    import threading

    from rq import SimpleWorker

    from civic.core.jobs import QUEUE_NAME, redis_connection, tick

    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("CIVIC_REDIS_URL is not set: the embedded default runs jobs in-process")
    app = current_app._get_current_object()
    stop = threading.Event()

    def ticker():
        while not stop.wait(app.config["SCHEDULER_TICK_SECONDS"]):
            with app.app_context():
                try:
                    tick()
                except Exception:
                    app.logger.exception("tick failed")
                    db.session.rollback()

    if not burst:
        threading.Thread(target=ticker, daemon=True, name="civic-tick").start()
    # SimpleWorker runs each job in this process instead of a fork: a forked work horse would
    # share the parent's database connections.  run_job gives every job its own app context and
    # session.
    w = SimpleWorker([QUEUE_NAME], connection=redis_connection())
    try:
        w.work(burst=burst, with_scheduler=not burst, logging_level="INFO")
    finally:
        stop.set()
