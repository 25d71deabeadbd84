"""``flask civic ...``: the command group, and the core's own commands (workers, scheduler).

Each domain adds its commands to :data:`civic_cli` in its own ``cli.py`` (accounts: create-admin;
property: the registry imports; village: open data; :mod:`civic.demo`: seed-demo), imported by
:func:`civic.create_app`."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from civic.core.errors import CivicError
from civic.extensions import db

civic_cli = AppGroup("civic", help="civic administration commands")


def fail(exc: CivicError):
    """End a command on a domain error: its code and message (and a CSV import's line errors) on
    stderr, the session rolled back, exit status 1."""
    click.echo(f"错误 {exc.code}: {exc.message}", err=True)
    for e in exc.details.get("errors", []):
        click.echo(f"  第 {e['line']} 行 {e.get('column') or ''}: {e['reason']}", err=True)
    db.session.rollback()
    sys.exit(1)


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
