"""The calendar of disclosure: today's date in Asia/Shanghai and period codes.

Verbs: today_shanghai; Period, period_of (parse ``2026-03``, ``2026-Q1``, ``2026``, ``2026-03-15`` for a
cadence), periods_between.  Source: 村民委员会组织法 Art. 30 (at least quarterly, finance monthly where
busy); times are stored UTC and read in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from civic.core.db import SHANGHAI, utcnow
from civic.core.errors import ValidationFailed


def today_shanghai(now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class Period:
    code: str
    start: dt.date
    end: dt.date  # inclusive


def period_of(cadence: str, code: str) -> Period:
    """Parse a period code for ``cadence``.  :raises ValidationFailed: ``period_invalid``."""
    try:
        if cadence == "monthly" and re.fullmatch(r"\d{4}-\d{2}", code):
            y, m = int(code[:4]), int(code[5:])
            start = dt.date(y, m, 1)
        elif cadence == "quarterly" and re.fullmatch(r"\d{4}-Q[1-4]", code):
            y, q = int(code[:4]), int(code[-1])
            start = dt.date(y, 3 * q - 2, 1)
            m = 3 * q
        elif cadence == "yearly" and re.fullmatch(r"\d{4}", code):
            y, m, start = int(code), 12, dt.date(int(code), 1, 1)
        elif cadence == "immediate" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", code):
            day = dt.date.fromisoformat(code)
            return Period(code, day, day)
        else:
            raise ValueError
        end = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))
        return Period(code, start, end)
    except ValueError as exc:
        examples = {"monthly": "2026-03", "quarterly": "2026-Q1", "yearly": "2026", "immediate": "2026-03-15"}
        raise ValidationFailed(f"公开期格式应如 {examples[cadence]}", code="period_invalid",
                               details={"period": code, "cadence": cadence}) from exc


def periods_between(cadence: str, first: dt.date, last: dt.date) -> list[Period]:
    """The periods of ``cadence`` that overlap [first, last] (none for ``immediate``)."""
    out: list[Period] = []
    if cadence == "immediate":
        return out
    y, m = first.year, first.month
    while True:
        if cadence == "monthly":
            p = period_of(cadence, f"{y:04d}-{m:02d}")
        elif cadence == "quarterly":
            p = period_of(cadence, f"{y:04d}-Q{(m - 1) // 3 + 1}")
        else:
            p = period_of(cadence, f"{y:04d}")
        if p.start > last:
            return out
        if not out or out[-1].code != p.code:
            out.append(p)
        m += 1
        if m == 13:
            y, m = y + 1, 1
