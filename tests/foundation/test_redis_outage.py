"""Redis down, nothing lost (issue #17 point 5).

civic is pointed at a Redis of its own (a ``redis-server`` these tests start and stop on a free
port), on the session's database (SQLite, or PostgreSQL in CI's second run).  With that Redis down,
cases are filed and people log in: every request succeeds, each job waits in the outbox
(``job_outbox``).  Once Redis is back, the relay and real RQ workers run every job exactly once,
however many relays and workers race for it; rate limits keep holding, in each process's memory,
while Redis is away.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from civic.core import jobs, outbox
from civic.core.audit import AuditEntry
from civic.core.db import commit, utcnow
from civic.core.errors import RateLimited
from civic.core.notifications import Notification, notify
from civic.core.outbox import OutboxJob
from civic.extensions import db
from tests.complaints.conftest import w  # noqa: F401  (the test street, as a fixture)
from tests.complaints.helpers import act, post_case
from tests.conftest import REPO, REQUIRE
from tests.foundation import jobs_for_tests
from tests.foundation.conftest import free_port

REDIS_SERVER = shutil.which("redis-server")

pytestmark = pytest.mark.skipif(not REDIS_SERVER and not REQUIRE, reason="needs redis-server on PATH")


class RedisServer:
    """A redis-server on a free port of 127.0.0.1, without persistence: down until :meth:`start`."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self):
        assert REDIS_SERVER, "redis-server not found"
        self.proc = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis

        probe = Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                probe.ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None


@pytest.fixture
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def outage(make_app, redis_server):
    """An app whose Redis (``redis_server``, not started) is down (its engine disposed by make_app)."""
    return make_app({"REDIS_URL": redis_server.url})


def _worker(app, redis_url: str) -> subprocess.Popen:
    """``flask civic worker --burst``, as deployed: a process of its own on the same database."""
    env = {**os.environ, "CIVIC_DATABASE_URL": app.config["DATABASE_URL"], "CIVIC_REDIS_URL": redis_url,
           "CIVIC_MEDIA_DIR": app.config["MEDIA_DIR"], "CIVIC_SECRET_KEY": app.config["SECRET_KEY"]}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "civic", "civic", "worker", "--burst"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _sends(proc: subprocess.Popen) -> int:
    """How many messages the worker's ``dev`` notification adapter sent (one log line each)."""
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-3000:]
    return (out + err).count("DEV NOTIFY user=")


def _rows():
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxJob).order_by(OutboxJob.id)).all()


def _notifications():
    db.session.expire_all()
    return db.session.scalars(sa.select(Notification).order_by(Notification.id)).all()


def test_with_redis_down_intake_and_logins_succeed_and_each_notification_is_sent_once_when_it_is_back(
        outage, redis_server, w):  # noqa: F811
    client = outage.test_client()
    cases = []
    for i in range(3):
        r = post_case(client, w.rh, category="noise", place_id=w.units[i].id)
        assert r.status_code == 201, r.get_data(as_text=True)
        cases.append(r.get_json()["id"])
    assert act(client, w.h["police"], cases[0], "acknowledge").status_code == 200
    staff = client.post("/api/v1/auth/login", json={"username": w.staff["police"].username,
                                                    "password": "test-pass-123"})
    assert staff.status_code == 200, staff.get_data(as_text=True)
    wechat = client.post("/api/v1/auth/wechat", json={"code": "wx-during-the-outage"})
    assert wechat.status_code == 200, wechat.get_data(as_text=True)
    # Read here, not inside the outage app's context: w.resident belongs to the test's own session,
    # which would load it through the current app's engine (Flask-SQLAlchemy picks the engine of
    # current_app) and keep that connection of the outage app checked out until the test ends.
    resident_id = w.resident.id

    with outage.app_context():
        sent = [n for n in _notifications() if n.user_id == resident_id]
        assert [n.payload["status"] for n in sent] == ["routed"] * 3 + ["acknowledged"]
        assert {n.status for n in _notifications()} == {"pending"}
        rows = _rows()
        # One outbox row per notification, written with it, none relayed: Redis is down.
        assert sorted(r.args[0] for r in rows if r.func.endswith("send_notification")) == \
            sorted(n.id for n in _notifications())
        assert all(r.relayed_at is None and r.started_at is None for r in rows)
        waiting = len(rows)

    redis_server.start()
    delivered = _sends(_worker(outage, redis_server.url))

    with outage.app_context():
        notes = _notifications()
        assert delivered == len(notes)
        assert [(n.status, n.attempts) for n in notes] == [("sent", 1)] * len(notes)
        rows = _rows()
        assert len(rows) == waiting
        assert all(r.relayed_at and r.done_at and r.attempts == 1 and not r.failed_at for r in rows)
    # A second worker finds nothing left to do.
    assert _sends(_worker(outage, redis_server.url)) == 0


def _pending_notifications(app, user_id: int, n: int) -> list[int]:
    """``n`` notifications committed while Redis is down: their rows wait in the outbox."""
    with app.app_context():
        ids = [notify(user_id, "complaint_status", f"第 {i} 条", {"i": i}, dedupe_key=f"outage:{i}").id
               for i in range(n)]
        commit()
        assert {r.relayed_at for r in _rows()} == {None}
        return ids


def test_two_relays_at_once_put_each_row_into_redis_once(outage, redis_server, w):  # noqa: F811
    _pending_notifications(outage, w.resident.id, 12)
    redis_server.start()
    barrier, counts = threading.Barrier(2), []

    def relay():
        with outage.app_context():
            barrier.wait()
            counts.append(outbox.relay())
            db.session.remove()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with outage.app_context():
        assert jobs.rq_queue().count == 12
        assert all(r.relayed_at for r in _rows())
        # Relayed long ago and never started (as if Redis had lost it): relayed again, and RQ still
        # holds the job, so nothing is added.
        outage.config["OUTBOX_REDELIVER_SECONDS"] = 0
        assert outbox.relay() == 12
        assert jobs.rq_queue().count == 12


def test_two_workers_given_every_job_twice_send_each_notification_once(outage, redis_server, w):  # noqa: F811
    ids = _pending_notifications(outage, w.resident.id, 12)
    redis_server.start()
    with outage.app_context():
        assert outbox.relay() == 12
        queue = jobs.rq_queue()
        for row in _rows():  # a second delivery of every row, as a duplicate relay would make
            queue.push_job_id(outbox.rq_job_id(row.id))
        assert queue.count == 24
    workers = [_worker(outage, redis_server.url) for _ in range(2)]
    assert sum(_sends(p) for p in workers) == 12
    with outage.app_context():
        assert [(n.id, n.status, n.attempts) for n in _notifications()] == [(i, "sent", 1) for i in ids]
        assert all(r.done_at and r.attempts == 1 for r in _rows())


def test_a_row_delivered_again_after_it_ran_does_nothing(outage, redis_server):
    redis_server.start()
    with outage.app_context():
        jobs.enqueue(jobs_for_tests.mark, 31)
        commit()
        (row,) = _rows()
        assert outbox.run_row(row.id) == "done"
        # Redis forgot the finished job (its result expired, or Redis restarted): relayed again, or
        # handed to RQ twice, the row does not run twice.
        assert outbox.run_row(row.id) == "skipped"
        ran = db.session.scalars(sa.select(AuditEntry.object_id).where(AuditEntry.action == "job.ran")).all()
        assert ran == ["31"]


def test_a_failing_job_gives_its_claim_back_until_its_last_attempt(outage, redis_server):
    redis_server.start()
    jobs_for_tests.FAILURES_LEFT["flaky"] = 5
    try:
        with outage.app_context():
            jobs.enqueue(jobs_for_tests.flaky, 4, retry=1)
            commit()
            (row,) = _rows()
            for _ in range(2):
                with pytest.raises(RuntimeError):
                    outbox.run_row(row.id)
            (row,) = _rows()
            assert (row.attempts, row.done_at is None, row.failed_at is not None) == (2, True, True)
            assert "flaky job failed on purpose" in row.last_error
            assert outbox.run_row(row.id) == "skipped"  # failed for good: never run again
    finally:
        jobs_for_tests.FAILURES_LEFT["flaky"] = 0


def test_a_deferred_job_due_while_redis_is_down_runs_once_it_is_back(outage, redis_server, monkeypatch):
    from civic.core.queue import burst_worker

    monkeypatch.setattr(jobs, "PERIODIC", {})  # only the deferred job: the domains' daily jobs are not the point
    with outage.app_context():
        jobs.enqueue_at(utcnow(), jobs_for_tests.mark, 41)
        commit()
        assert "tests.foundation.jobs_for_tests.mark" in jobs.tick()  # claimed: handed to the outbox
        (row,) = [r for r in _rows() if r.func.endswith(".mark")]
        assert row.relayed_at is None
    redis_server.start()
    with outage.app_context():
        jobs.tick()
        burst_worker().work(burst=True, logging_level="WARNING")
        db.session.expire_all()
        ran = db.session.scalars(sa.select(AuditEntry.object_id).where(AuditEntry.action == "job.ran")).all()
        assert ran == ["41"]


def test_rate_limits_hold_in_memory_while_redis_is_down(outage, envelope):
    client = outage.test_client()
    codes = [client.post("/api/v1/auth/wechat", json={"code": "same-code"}).status_code for _ in range(10)]
    assert codes == [200] * 10
    envelope(client.post("/api/v1/auth/wechat", json={"code": "same-code"}), 429, "rate_limited")
    assert client.post("/api/v1/auth/wechat", json={"code": "a-neighbour"}).status_code == 200


def test_a_count_in_a_service_falls_back_to_memory_when_redis_is_down(outage):
    from civic.core.http import count_attempt

    with outage.test_request_context("/"):
        count_attempt("outage_test", "2 per minute", "k")  # the first touch of the dead Redis
        count_attempt("outage_test", "2 per minute", "k")
        with pytest.raises(RateLimited):
            count_attempt("outage_test", "2 per minute", "k")
