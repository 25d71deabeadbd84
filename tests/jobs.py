"""Running queued jobs in tests, the same way on both runs of the suite."""

from __future__ import annotations


def drain() -> None:
    """Run queued jobs now: in-process (SQLite run) they already ran after their commit; with Redis,
    a real RQ worker works the queue in burst mode in this process (no fork: the test's app context
    and session), then the session forgets what it held, so the test reads what the jobs wrote."""
    from civic.core.jobs import uses_rq
    from civic.core.queue import burst_worker
    from civic.extensions import db

    if uses_rq():
        burst_worker().work(burst=True, logging_level="WARNING")
        db.session.expire_all()
