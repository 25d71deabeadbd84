"""Jobs: after commit (never for a failed request), deferred, periodic at 00:30 Beijing time exactly
once, retries; and a real RQ worker against the same database and Redis."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.core import jobs
from civic.core.audit import AuditEntry
from civic.core.db import commit
from civic.core.errors import ValidationFailed
from civic.extensions import db
from tests.foundation import jobs_for_tests

REPO = Path(__file__).resolve().parents[2]


def _request(app, view):
    """Serve one POST through the app's real request cycle (before/after-request hooks, the one
    commit, the error envelope) with ``view`` as the view: routes cannot be added to the session
    app once it has served a request, and a second app would rebind the shared extensions."""
    with app.test_request_context("/test/job", method="POST"):
        rv = app.preprocess_request()
        if rv is None:
            try:
                rv = view()
            except Exception as exc:  # what Flask's dispatch does
                rv = app.handle_user_exception(exc)
        return app.process_response(app.make_response(rv))


def _enqueue_ok(n):
    def view():
        jobs.enqueue(jobs_for_tests.mark, n)
        return {"queued": True}
    return view


def _enqueue_then_fail(n):
    def view():
        jobs.enqueue(jobs_for_tests.mark, n)
        raise ValidationFailed("失败", code="failed_on_purpose")
    return view


@pytest.fixture
def embedded(app, monkeypatch):
    """In-process jobs (the embedded default), also in the PostgreSQL + Redis run."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    return app


def _ran(object_type="job"):
    return sorted(db.session.scalars(sa.select(AuditEntry.object_id)
                                     .where(AuditEntry.action == "job.ran", AuditEntry.object_type == object_type)))


def test_job_runs_in_process_right_after_the_request_commits(embedded):
    resp = _request(embedded, _enqueue_ok(7))
    assert resp.status_code == 200
    assert _ran() == ["7"]


def test_job_enqueued_by_a_failed_request_never_runs(embedded):
    resp = _request(embedded, _enqueue_then_fail(8))
    assert resp.status_code == 422
    assert _ran() == []


def test_job_enqueued_then_rolled_back_never_runs(embedded):
    jobs.enqueue(jobs_for_tests.mark, 9)
    db.session.rollback()
    commit()
    assert _ran() == []


def test_deferred_job_runs_at_the_first_tick_after_its_time(embedded):
    at = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    jobs.enqueue_at(at, jobs_for_tests.mark, 5)
    commit()
    # Other domains' periodic jobs may also run at these ticks; only the deferred one matters here.
    mark = "tests.foundation.jobs_for_tests.mark"
    assert mark not in jobs.tick(at - dt.timedelta(seconds=1))
    assert mark in jobs.tick(at)
    assert mark not in jobs.tick(at + dt.timedelta(minutes=5))
    assert _ran() == ["5"]


@pytest.fixture
def at_0030():
    jobs.periodic("test.at_0030", hour=0, minute=30)(jobs_for_tests.mark_periodic)
    yield
    jobs.PERIODIC.pop("test.at_0030")


def test_periodic_job_does_not_run_a_second_before_0030_beijing(embedded, at_0030):
    assert "test.at_0030" not in jobs.tick(dt.datetime(2026, 3, 1, 16, 29, 59, tzinfo=dt.UTC))
    assert _ran("periodic") == []


def test_periodic_job_runs_at_0030_beijing(embedded, at_0030):
    assert "test.at_0030" in jobs.tick(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))
    assert _ran("periodic") == ["00:30"]
    run = db.session.scalar(sa.select(jobs.PeriodicRun).where(jobs.PeriodicRun.name == "test.at_0030"))
    assert run.slot == dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    assert run.finished_at is not None and run.error is None


def test_periodic_job_runs_once_per_slot(embedded, at_0030):
    jobs.tick(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))
    assert "test.at_0030" not in jobs.tick(dt.datetime(2026, 3, 1, 16, 45, tzinfo=dt.UTC))
    assert _ran("periodic") == ["00:30"]


def test_periodic_job_runs_once_when_two_threads_tick_together(embedded, at_0030):
    now = dt.datetime(2026, 3, 1, 16, 30, 5, tzinfo=dt.UTC)
    barrier, results = threading.Barrier(2), []

    def worker():
        with embedded.app_context():  # a thread of its own: its own session
            barrier.wait()
            results.append("test.at_0030" in jobs.tick(now))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert _ran("periodic") == ["00:30"]


def test_embedded_retry_tries_every_attempt_with_backoff(embedded, caplog):
    caplog.set_level(logging.CRITICAL, logger="civic.core.jobs")  # the two failures are expected
    jobs_for_tests.FAILURES_LEFT["flaky"] = 2
    jobs.enqueue(jobs_for_tests.flaky, 3, retry=2)
    commit()
    assert _ran("flaky") == []
    first = db.session.scalar(sa.select(jobs.DeferredJob))
    jobs.tick(first.run_at)  # second attempt: fails again, deferred once more
    second = db.session.scalar(sa.select(jobs.DeferredJob).where(jobs.DeferredJob.claimed_at.is_(None)))
    assert (first.args[3], second.args[3]) == (1, 2)  # attempt numbers
    assert second.run_at - first.run_at > dt.timedelta(seconds=45)  # 10 s, then 60 s
    jobs.tick(second.run_at)
    assert _ran("flaky") == ["3"]


@pytest.mark.redis
def test_real_rq_worker_runs_a_job_enqueued_by_a_committed_request(app):
    assert _request(app, _enqueue_ok(11)).status_code == 200
    assert _request(app, _enqueue_then_fail(12)).status_code == 422
    assert jobs.rq_queue().count == 1  # the failed request queued nothing
    assert _ran() == []  # not run in-process
    env = {**os.environ, "CIVIC_DATABASE_URL": app.config["DATABASE_URL"],
           "CIVIC_REDIS_URL": app.config["REDIS_URL"], "CIVIC_MEDIA_DIR": app.config["MEDIA_DIR"]}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "civic", "civic", "worker", "--burst"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    db.session.remove()
    assert _ran() == ["11"]
    assert jobs.rq_queue().count == 0
