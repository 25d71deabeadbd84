"""The retention table: how long each kind of record keeps personal data, on what ground, and the
job that enforces it (PIPL Art. 19: no longer than the purpose needs; Art. 47: delete when it is
reached).

Each domain registers its rows with :func:`register` at import; ``docs/privacy.md`` holds the same
table for people (``tests/foundation/test_personal_data.py`` compares them row by row).  A row with
``enforce`` is applied by the daily job :func:`enforce_retention` (03:40 Asia/Shanghai): the job
calls ``enforce(now)``, which removes or anonymises what has passed its period and returns how many
rows it changed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from civic.core.jobs import periodic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    kind: str  # the record, e.g. "complaint.photo_gps"
    # Where a *deleted* account's personal data (name, phone, openid) stays until ``enforce`` ends
    # it; empty when deletion removes it at once (tests/foundation/test_personal_data.py sweeps).
    tables: tuple[str, ...]
    keep: str  # for how long, in words (Chinese or English), as in docs/privacy.md
    then: str  # what happens at the end
    source: str  # the law, or "civic's choice (law silent): ..." with the reading taken
    period_days: int | None = None
    enforce: Callable[[dt.datetime], int] | None = None


RULES: dict[str, Rule] = {}


def register(kind: str, *, tables: tuple[str, ...] | list[str], keep: str, then: str, source: str,
             period_days: int | None = None, enforce: Callable[[dt.datetime], int] | None = None) -> None:
    """Register one row of the retention table (idempotent by ``kind``)."""
    RULES[kind] = Rule(kind, tuple(tables), keep, then, source, period_days, enforce)


def kept_tables() -> set[str]:
    """Every table some rule keeps a deleted account's personal data in, for a while."""
    return {t for r in RULES.values() for t in r.tables}


@periodic("retention", hour=3, minute=40)
def enforce_retention(now: dt.datetime | None = None) -> dict[str, int]:
    """Apply every rule that has an ``enforce``; ``{kind: rows changed}``."""
    from civic.core.db import utcnow

    now = now or utcnow()
    done = {}
    for kind in sorted(RULES):
        rule = RULES[kind]
        if rule.enforce is not None:
            done[kind] = rule.enforce(now)
    log.info("retention: %s", done)
    return done
