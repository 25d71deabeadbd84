"""Background jobs: RQ in production, in-process in the embedded default.

* :func:`enqueue` queues a job *after the current transaction commits* (never before: a worker must
  not see a half-written row, and a rolled-back request must not send anything).  With
  ``CIVIC_REDIS_URL`` set the job is a row of the outbox (:mod:`civic.core.outbox`), written in the
  same transaction and relayed to RQ once Redis can be reached: a Redis outage delays jobs, never
  loses one, and a row runs at most once.  Without it, the job runs in this process right after
  the commit.
* :func:`enqueue_at` defers a job to a time.  Deferred jobs are rows (``deferred_job``), so they
  survive restarts in both modes; the scheduler tick claims due ones and, with Redis, hands each to
  the outbox in the claim's own transaction (as it does for each periodic run it claims).
* :func:`periodic` registers a job that runs at a wall-clock time in Asia/Shanghai.  Each run is
  claimed by inserting its (name, slot) row, so with several web processes or several workers a
  slot runs exactly once.

The scheduler tick runs in a thread of the web process in embedded mode, and in the
``flask civic worker`` process (an RQ worker, with RQ's own scheduler for retries) in production.
Jobs are plain module-level functions called by dotted path; they run inside the app context.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import SHANGHAI, UTCDateTime, after_commit, commit, utcnow
from civic.core.queue import (  # noqa: F401  (also imported from here by the worker, health and tests)
    QUEUE_NAME,
    backoff,
    func_path,
    job_context,
    redis_connection,
    resolve,
    rq_queue,
    uses_rq,
)
from civic.extensions import db

log = logging.getLogger(__name__)

class DeferredJob(db.Model):
    __tablename__ = "deferred_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    func: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    args: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)


class PeriodicRun(db.Model):
    """One row per periodic job per slot: inserting it is how a process claims the run."""

    __tablename__ = "periodic_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    slot: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.UniqueConstraint("name", "slot"),)


def run_job(path: str, *args, **kwargs):
    """Run one job and commit; roll back and re-raise if it fails (:func:`job_context`).  The RQ
    entry point of jobs queued before the outbox (:func:`civic.core.outbox.run_row` since)."""
    with job_context():
        return _run(path, args, kwargs)


def _run(path: str, args: tuple, kwargs: dict):
    try:
        result = resolve(path)(*args, **kwargs)
        commit()
        return result
    except Exception:
        db.session.rollback()
        raise


def _dispatch(path: str, args: tuple, kwargs: dict, retry: int) -> None:
    """Hand a job on, inside the transaction that decided it: with Redis, an outbox row (relayed
    after the commit); embedded, a run in this process after the commit."""
    if uses_rq():
        from civic.core import outbox

        outbox.add(path, list(args), kwargs, retry)
        return
    after_commit(lambda: _run_embedded(path, list(args), kwargs, 0, retry))


def _run_embedded(path: str, args: list, kwargs: dict, attempt: int, retry: int) -> None:
    # Embedded: run now, in this process, after the request's commit.  A failure is retried later
    # (a deferred row the tick picks up) rather than blocking the request.
    try:
        run_job(path, *args, **kwargs)
    except Exception:
        log.exception("job %s failed (attempt %d of %d)", path, attempt + 1, retry + 1)
        if attempt >= retry:
            return
        _defer_row(utcnow() + dt.timedelta(seconds=backoff(retry)[attempt]), func_path(retry_job),
                   [path, args, kwargs, attempt + 1, retry])
        commit()


def retry_job(path: str, args: list, kwargs: dict, attempt: int, retry: int) -> None:
    """A deferred retry of an embedded job (attempt ``attempt`` of ``retry``); fails over to the
    next one, so every one of the ``retry`` attempts happens, not only the first."""
    _run_embedded(path, args, kwargs, attempt, retry)


def enqueue(fn: Callable | str, *args, retry: int = 0, **kwargs) -> None:
    """Run ``fn(*args, **kwargs)`` in the background once the current transaction commits.

    Arguments must be JSON-like (ids, strings), never ORM objects: with Redis they are stored in the
    outbox row.  ``retry``: how many times a failing job is tried again, backing off (10 s, 60 s,
    5 min, ...).  A job that may be retried must itself be idempotent (the notifications' outbox
    marks what was sent).
    """
    _dispatch(func_path(fn), args, kwargs, retry)


def _defer_row(run_at: dt.datetime, path: str, args: list) -> None:
    db.session.add(DeferredJob(run_at=run_at, func=path, args=list(args)))


def enqueue_at(run_at: dt.datetime, fn: Callable | str, *args) -> None:
    """Run ``fn(*args)`` at ``run_at`` (aware datetime), or at the first tick after it."""
    _defer_row(run_at, func_path(fn), list(args))


# --- periodic jobs ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Periodic:
    name: str
    func: str
    hour: int | None  # None: every `every_minutes`
    minute: int
    every_minutes: int | None = None

    def slot(self, now: dt.datetime) -> dt.datetime | None:
        """The latest slot at or before ``now`` (aware), as UTC; None if none today yet."""
        local = now.astimezone(SHANGHAI)
        if self.every_minutes:
            minutes = (local.hour * 60 + local.minute) // self.every_minutes * self.every_minutes
            start = local.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
            return start.astimezone(dt.UTC)
        start = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if start > local:
            return None
        return start.astimezone(dt.UTC)


PERIODIC: dict[str, Periodic] = {}


def periodic(name: str, *, hour: int | None = None, minute: int = 0, every_minutes: int | None = None):
    """Register a job to run daily at ``hour:minute`` Asia/Shanghai (or every N minutes).  The job
    takes a keyword ``now`` (aware datetime): the tick's time, which it must use as its clock."""

    def deco(fn):
        PERIODIC[name] = Periodic(name, func_path(fn), hour, minute, every_minutes)
        return fn

    return deco


def _claim(p: Periodic, slot: dt.datetime, now: dt.datetime) -> bool:
    """Insert the (name, slot) row and hand its run on (:func:`_dispatch`) in the same transaction:
    True if this process won the slot, False if another did.  A claimed slot always has its job,
    whether Redis was up or not."""
    try:
        with db.session.begin_nested():
            run = PeriodicRun(name=p.name, slot=slot)
            db.session.add(run)
        # The job judges "due" and "overdue" as of this tick (a test's or cron's clock), not its own.
        _dispatch(func_path(run_periodic), (run.id, p.func), {"now": now.isoformat()}, 0)
        commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def run_periodic(run_id: int, path: str, now: dt.datetime | str | None = None) -> None:
    """Run a claimed periodic job and note on its ``periodic_run`` row when it finished, or why
    it failed (the failure is kept even though the job's own changes are rolled back).  ``now``:
    the tick's time (aware; ISO 8601 text when it came through the outbox)."""
    if isinstance(now, str):
        now = dt.datetime.fromisoformat(now)
    fn = resolve(path)
    try:
        # Periodic jobs that take ``now`` judge "due" as of the tick that claimed them.
        fn(now=now) if "now" in inspect.signature(fn).parameters else fn()
        db.session.flush()
    except Exception as exc:
        db.session.rollback()
        run = db.session.get(PeriodicRun, run_id)
        run.finished_at, run.error = utcnow(), f"{type(exc).__name__}: {exc}"[:2000]
        commit()
        raise
    db.session.get(PeriodicRun, run_id).finished_at = utcnow()


def tick(now: dt.datetime | None = None) -> list[str]:
    """Run what is due: periodic slots not yet claimed, and deferred jobs whose time has come;
    with Redis, then relay the outbox (what these claims handed on, and any row a Redis outage or
    a dead process left behind: :func:`civic.core.outbox.relay`).

    Returns the names/paths dispatched (for tests and logs).  Safe to call from many processes at
    once: claims are rows with unique keys.  A missed slot (the process was down at 00:30) runs at
    the next tick the same day.
    """
    now = now or utcnow()
    done: list[str] = []
    for p in list(PERIODIC.values()):
        slot = p.slot(now)
        if slot is not None and _claim(p, slot, now):
            done.append(p.name)
    due = db.session.scalars(
        sa.select(DeferredJob)
        .where(DeferredJob.run_at <= now, DeferredJob.claimed_at.is_(None))
        .order_by(DeferredJob.run_at)
        .limit(100)
    ).all()
    for job in due:
        path, args = job.func, tuple(job.args)
        claimed = db.session.execute(
            sa.update(DeferredJob)
            .where(DeferredJob.id == job.id, DeferredJob.claimed_at.is_(None))
            .values(claimed_at=now)
        ).rowcount
        if claimed:
            done.append(path)
            _dispatch(path, args, {}, 0)  # in the claim's transaction
        commit()
    commit()
    if uses_rq():
        from civic.core import outbox

        outbox.relay(now=utcnow())
    return done


def start_embedded_scheduler(app: Flask) -> threading.Thread:
    """A daemon thread running :func:`tick` every few seconds inside the app context."""
    stop = threading.Event()
    interval = app.config["SCHEDULER_TICK_SECONDS"]

    def loop():
        while not stop.wait(interval):
            with app.app_context():
                try:
                    tick()
                except Exception:
                    log.exception("scheduler tick failed")
                    db.session.rollback()

    t = threading.Thread(target=loop, name="civic-scheduler", daemon=True)
    t.stop = stop  # type: ignore[attr-defined]
    t.start()
    return t
