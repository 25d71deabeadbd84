"""Running queued jobs in tests, the same way on both runs of the suite."""

from __future__ import annotations


def drain() -> None:
    """Run queued jobs now: in-process (SQLite run) they already ran after their commit; with Redis,
    a real RQ worker works the queue in burst mode in this process (no fork: the test's app context
    and session), then the session forgets what it held, so the test reads what the jobs wrote."""
    from civic.core.jobs import redis_connection, rq_queue, uses_rq
    from civic.extensions import db

    if uses_rq():
        from rq import SimpleWorker

        SimpleWorker([rq_queue()], connection=redis_connection()).work(burst=True, logging_level="WARNING")
        db.session.expire_all()
