"""Module-level job functions the job tests enqueue (a real RQ worker imports them by path)."""

from __future__ import annotations

from civic.core import audit

FAILURES_LEFT = {"flaky": 0}


def mark(n: int) -> None:
    """The job's effect, visible in the database: one audit entry."""
    audit.record("job.ran", "job", n)


def mark_periodic() -> None:
    audit.record("job.ran", "periodic", "00:30")


def flaky(n: int) -> None:
    """Fails while FAILURES_LEFT["flaky"] > 0 (in-process tests only)."""
    if FAILURES_LEFT["flaky"] > 0:
        FAILURES_LEFT["flaky"] -= 1
        raise RuntimeError("flaky job failed on purpose")
    audit.record("job.ran", "flaky", n)
