"""村务公开 periodic jobs."""

from __future__ import annotations

from civic.core.jobs import periodic


@periodic("village.flag_overdue", hour=1, minute=0)
def flag_overdue_daily() -> int:
    """Daily at 01:00 Asia/Shanghai: notify the town of overdue disclosures and the supervision
    committee and the town of overdue inquiries (组织法 Art. 31; 上海市实施办法 Art. 24)."""
    from civic.village.service import flag_overdue

    return flag_overdue()
