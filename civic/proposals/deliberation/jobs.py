"""Periodic job of deliberation: flag overdue action items."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import audit
from civic.core.jobs import periodic
from civic.extensions import db
from civic.proposals.deliberation.models import (
    ActionItem,
    Resolution,
)
from civic.proposals.deliberation.service.committees import OFFICERS, _today, current_members
from civic.proposals.deliberation.service.follow_up import _committee_of_resolution
from civic.proposals.notify import notify


@periodic("deliberation_overdue", hour=1, minute=30)
def flag_overdue(now: dt.datetime | None = None) -> int:
    """Daily at 01:30 Asia/Shanghai: flag open action items past their due date (Shanghai date of
    ``now``) and tell the committee's officers.  Returns how many were newly flagged.

    Each flag is a conditional UPDATE (still open, not yet flagged) without a version bump: an item
    closed meanwhile is skipped, and a close from a read before the flag still succeeds."""
    today = _today(now)
    found = list(db.session.scalars(sa.select(ActionItem).where(
        ActionItem.state == "open", ActionItem.overdue.is_(False), ActionItem.due_on < today)))
    items = []
    for a in found:
        flagged = db.session.execute(
            sa.update(ActionItem).where(ActionItem.id == a.id, ActionItem.state == "open",
                                        ActionItem.overdue.is_(False))
            .values(overdue=True).execution_options(synchronize_session=False))
        db.session.refresh(a)
        if flagged.rowcount != 1:
            continue
        items.append(a)
        audit.record("action_item.overdue", "action_item", a.id, data={"due_on": a.due_on.isoformat()})
        c = _committee_of_resolution(db.session.get(Resolution, a.resolution_id))
        notify([m.user_id for m in current_members(c.id, today) if m.role in OFFICERS], kind="action_item_overdue",
               subject_type="action_item", subject_id=a.id, title=f"督办事项「{a.title}」已逾期",
               body=f"应于 {a.due_on.isoformat()} 前完成。")
    db.session.flush()
    return len(items)
