"""The connection to Redis and RQ, shared by :mod:`civic.core.jobs` and :mod:`civic.core.outbox`:
the queue, where a job runs (:func:`job_context`), job functions named by dotted path, back-off."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable

from flask import Flask, current_app

from civic.extensions import db

QUEUE_NAME = "civic"


def func_path(fn: Callable | str) -> str:
    return fn if isinstance(fn, str) else f"{fn.__module__}.{fn.__qualname__}"


def resolve(path: str) -> Callable:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def redis_connection():
    from redis import Redis

    app = current_app
    conn = app.extensions.get("civic_redis")
    if conn is None:
        # A connect timeout, so a Redis that is down fails a request (or /healthz) in seconds.
        conn = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5)
        app.extensions["civic_redis"] = conn
    return conn


def uses_rq() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def rq_queue():
    from rq import Queue

    return Queue(QUEUE_NAME, connection=redis_connection())


_worker_app: Flask | None = None


def _in_rq_job() -> bool:
    from rq import get_current_job

    return get_current_job() is not None


@contextlib.contextmanager
def job_context():
    """Where a job runs.  In-process (embedded) in the caller's app context and session.  Under RQ
    each job gets a fresh app context, hence a fresh session, removed afterwards: one job's objects
    or failed transaction never leak into the next one in a long-lived worker.  A plain
    ``rq worker`` (no Flask CLI) gets an app built from the ``CIVIC_*`` environment."""
    if not _in_rq_job():
        yield
        return
    global _worker_app
    from flask import has_app_context

    if has_app_context():
        app = current_app._get_current_object()
    else:
        if _worker_app is None:
            from civic import create_app

            _worker_app = create_app()
        app = _worker_app
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()


def backoff(retry: int) -> list[int]:
    """Seconds to wait before each retry: 10 s, 1 min, 5 min, 15 min, then hourly."""
    steps = [10, 60, 300, 900]
    return (steps + [3600] * max(0, retry - len(steps)))[:retry]




def burst_worker(queues=None):
    """An RQ worker that runs every job queued, in this process, and stops when the queue is empty
    (``flask civic worker --burst``, tests).  It takes no commands over Redis pub/sub: it ends by
    itself, and with redis-py 8 RQ's pub/sub thread holds a worker's exit for up to 60 s when the
    worker stops before that thread has subscribed (RQ 2.12 expects ``stop()`` to return at once)."""
    from rq import SimpleWorker

    class BurstWorker(SimpleWorker):
        def subscribe(self):
            pass

    return BurstWorker(queues or [QUEUE_NAME], connection=redis_connection())
