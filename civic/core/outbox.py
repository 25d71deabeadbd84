"""The job outbox: with Redis (``CIVIC_REDIS_URL``), a job is a row first and an RQ job second.

Why: a job enqueued straight into Redis after the commit is lost for good when Redis is down at
that moment (and the request that enqueued it answered 500, though its change was saved).  Here
:func:`civic.core.jobs.enqueue` writes a ``job_outbox`` row in the same transaction as the change
it follows, so the job exists exactly when the change does; the relay moves rows to RQ whenever
Redis can be reached (the transactional outbox: Richardson, *Microservices Patterns*, ch. 3).

The life of a row, each step one UPDATE guarded by the step before it:

* **written** with the business change (``relayed_at`` NULL).  A rollback drops both.
* **relayed** (:func:`relay`): right after the commit by the process that wrote it, and again by
  every scheduler tick for rows left behind (Redis was down, the process died).  The RQ job's id is
  derived from the row's id (:func:`rq_job_id`) and enqueued with RQ's ``unique=True``, so two
  relays racing on one row (two workers' ticks, a tick and the web process) put it into Redis
  once.  Only then is ``relayed_at`` written; a relay that dies in between is repeated harmlessly.
* **started** (:func:`run_row`, the RQ job): the worker claims the row (``started_at``) before
  running it.  A second delivery of the same row (RQ ran a duplicate, a relay re-sent a job whose
  result Redis had already expired) finds it started or done and does nothing: a row runs at most
  once.  A job that fails gives its claim back (RQ retries it with back-off, ``retry`` times),
  and is marked ``failed_at`` after its last attempt.  A worker that dies mid-job leaves its row
  started and not done: it is not run again (as for a notification left ``sending``), and the row
  shows what happened.
* **done** (``done_at``), written in the same transaction as the job's own last changes.

Redis that comes back empty (restarted without persistence) loses the jobs it held: a row relayed
more than ``OUTBOX_REDELIVER_SECONDS`` ago and never started is relayed again; ``unique=True``
makes that a no-op while RQ still holds the job (queued behind others, or waiting for a retry).

Without Redis (the embedded default) none of this is used: jobs run in-process after the commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import UTCDateTime, after_commit, utcnow
from civic.extensions import db

log = logging.getLogger(__name__)


class OutboxJob(db.Model):
    """One job to run on an RQ worker, written with the change it follows."""

    __tablename__ = "job_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    func: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    args: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    kwargs: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    retry: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    relayed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)


def rq_job_id(row_id: int) -> str:
    """The RQ job id of outbox row ``row_id``: one row, one RQ job (RQ's ids may not hold ``:``)."""
    return f"civic-outbox-{row_id}"


def add(path: str, args: list, kwargs: dict, retry: int) -> OutboxJob:
    """Write the row for ``path(*args, **kwargs)`` in the current transaction (arguments JSON-like),
    and relay it once that transaction commits.  Returns the row (flushed: it has its id)."""
    row = OutboxJob(func=path, args=list(args), kwargs=dict(kwargs), retry=retry)
    db.session.add(row)
    db.session.flush()
    row_id = row.id
    after_commit(lambda: relay_after_commit([row_id]))
    return row


# --- the relay ------------------------------------------------------------------------------------

def relay_after_commit(ids: list[int]) -> None:
    """Relay the rows a transaction just committed.  Never raises: whatever fails here (Redis down,
    the database gone between two statements) leaves the rows for the next tick, and the request or
    job that wrote them has succeeded already.  After a failed relay this process leaves Redis
    alone for ``OUTBOX_RELAY_PAUSE_SECONDS``: a Redis that does not answer would cost every request
    its connect timeout, and the tick relays what is left behind anyway."""
    state = current_app.extensions.setdefault("civic_outbox", {"paused_until": 0.0})
    if time.monotonic() < state["paused_until"]:
        return
    try:
        if relay(ids=ids) < len(ids):
            state["paused_until"] = time.monotonic() + current_app.config["OUTBOX_RELAY_PAUSE_SECONDS"]
    except Exception:
        log.exception("outbox: relay after commit failed; rows %s wait for the next tick", ids)
        db.session.rollback()


def _due(now: dt.datetime, ids: list[int] | None):
    q = sa.select(OutboxJob.id, OutboxJob.func, OutboxJob.retry)
    if ids is not None:
        return q.where(OutboxJob.id.in_(ids), OutboxJob.relayed_at.is_(None)).order_by(OutboxJob.id)
    stale = now - dt.timedelta(seconds=current_app.config["OUTBOX_REDELIVER_SECONDS"])
    never = OutboxJob.relayed_at.is_(None)
    lost = sa.and_(OutboxJob.relayed_at < stale, OutboxJob.started_at.is_(None),
                   OutboxJob.done_at.is_(None), OutboxJob.failed_at.is_(None))
    return q.where(sa.or_(never, lost)).order_by(OutboxJob.id).limit(current_app.config["OUTBOX_RELAY_BATCH"])


def relay(*, ids: list[int] | None = None, now: dt.datetime | None = None) -> int:
    """Put outbox rows into RQ and mark them relayed; returns how many were relayed.

    ``ids``: these rows (just committed), if not relayed yet.  Without: every row never relayed,
    and rows relayed more than ``OUTBOX_REDELIVER_SECONDS`` before ``now`` that never started
    (Redis lost them), oldest first, ``OUTBOX_RELAY_BATCH`` at most.  Safe to run in many
    processes at once (see the module's docstring).  Stops at the first Redis error, logging it:
    the rows not relayed wait for the next call.  Commits the session.
    """
    from redis.exceptions import RedisError
    from rq import Retry
    from rq.exceptions import DuplicateJobError

    from civic.core.queue import backoff, rq_queue

    now = now or utcnow()
    rows = db.session.execute(_due(now, ids)).all()
    db.session.commit()  # no read transaction held open while Redis is slow
    if not rows:
        return 0
    relayed: list[int] = []
    try:
        queue = rq_queue()
        for row_id, path, retry in rows:
            with contextlib.suppress(DuplicateJobError):  # another relay put it there already
                queue.enqueue_call(run_row, args=(row_id,), job_id=rq_job_id(row_id), unique=True,
                                   description=f"{path} (outbox {row_id})",
                                   retry=Retry(max=retry, interval=backoff(retry)) if retry else None)
            relayed.append(row_id)
    except RedisError as exc:
        log.warning("outbox: Redis unreachable (%s: %s); %d of %d rows relayed, the rest wait for the "
                    "next tick", type(exc).__name__, exc, len(relayed), len(rows))
    finally:
        if relayed:
            db.session.execute(sa.update(OutboxJob).where(OutboxJob.id.in_(relayed)).values(relayed_at=now))
            db.session.commit()
    return len(relayed)


# --- running a row ----------------------------------------------------------------------------------

def run_row(row_id: int) -> str:
    """The RQ job of outbox row ``row_id``: run it unless it has run or is running.

    Returns ``"done"``, or ``"skipped"`` for a second delivery (the row started, done or failed
    already) or a row that no longer exists.  A failing job's exception propagates (RQ retries it)
    after its claim is given back, or after the row is marked failed on its last attempt.
    """
    from civic.core.queue import job_context

    with job_context():
        return _run_row(row_id)


def _run_row(row_id: int) -> str:
    from civic.core.db import commit
    from civic.core.queue import resolve

    claimed = db.session.execute(
        sa.update(OutboxJob)
        .where(OutboxJob.id == row_id, OutboxJob.started_at.is_(None), OutboxJob.done_at.is_(None),
               OutboxJob.failed_at.is_(None))
        .values(started_at=utcnow(), attempts=OutboxJob.attempts + 1)
    ).rowcount
    db.session.commit()
    row = db.session.get(OutboxJob, row_id)
    if not claimed or row is None:
        log.info("outbox: row %s already run, running or gone: this delivery does nothing", row_id)
        return "skipped"
    path, args, kwargs, attempts, retry = row.func, row.args, row.kwargs, row.attempts, row.retry
    try:
        resolve(path)(*args, **kwargs)
        row.done_at = utcnow()
        commit()  # the job's last changes and the row's "done", together
    except Exception as exc:
        db.session.rollback()
        last = attempts > retry
        db.session.execute(
            sa.update(OutboxJob).where(OutboxJob.id == row_id)
            .values(started_at=None if not last else OutboxJob.started_at,
                    failed_at=utcnow() if last else None,
                    last_error=f"{type(exc).__name__}: {exc}"[:2000]))
        db.session.commit()
        raise
    return "done"


def pending_count() -> int:
    """Rows not yet done, failed or started: what a Redis outage has left waiting."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxJob).where(
        OutboxJob.done_at.is_(None), OutboxJob.failed_at.is_(None), OutboxJob.started_at.is_(None))) or 0
