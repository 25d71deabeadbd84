"""村务公开 periodic jobs, and the hook that recomputes inquiries' reply dates when a holiday notice
is loaded."""

from __future__ import annotations

from civic.core.calendar import recomputes_deadlines
from civic.core.jobs import periodic


@recomputes_deadlines("village")
def recompute_deadlines(year: int, calendar) -> int:
    """Unanswered inquiries' 15-day reply dates touched by ``year`` (see
    :func:`civic.village.service.inquiries.recompute_reply_dues`)."""
    from civic.village.service.inquiries import recompute_reply_dues

    return recompute_reply_dues(year, calendar)


@periodic("village.flag_overdue", hour=1, minute=0)
def flag_overdue_daily() -> int:
    """Daily at 01:00 Asia/Shanghai: notify the town of overdue disclosures and the supervision
    committee and the town of overdue inquiries (组织法 Art. 31; 上海市实施办法 Art. 24)."""
    from civic.village.service import flag_overdue

    return flag_overdue()
