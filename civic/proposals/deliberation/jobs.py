"""Periodic job of deliberation: flag overdue action items; and the hook that recomputes the
co-signature windows and publication periods when a holiday notice is loaded."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import audit
from civic.core.calendar import move_deadline, recomputes_deadlines, year_bounds
from civic.core.db import utcnow
from civic.core.jobs import periodic
from civic.extensions import db
from civic.proposals.deliberation.models import (
    ActionItem,
    Motion,
    Resolution,
    RuleSet,
    Topic,
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


def _rules_when(committee_id: int, moment: dt.datetime) -> RuleSet | None:
    """The committee's rule-set version in force at ``moment`` (the newest made by then)."""
    return db.session.scalar(sa.select(RuleSet).where(RuleSet.committee_id == committee_id,
                                                      RuleSet.created_at <= moment)
                             .order_by(RuleSet.version.desc()).limit(1))


@recomputes_deadlines("deliberation")
def recompute_deadlines(year: int, calendar) -> int:
    """A holiday notice for ``year`` was loaded or corrected: recompute, where their counting touched
    ``year``, the co-signature window (``cosign_until``) of every resident's topic still gathering
    co-signatures (``proposed``), under the rule-set in force when it was raised, and the
    publication period (``published_until``) of every result still published, under its motion's
    rule-set.  Closed windows and ended publications are left alone.  Audited with before and after.
    Returns how many changed."""
    from civic.proposals.deliberation.service.meetings import publication_end
    from civic.proposals.deliberation.service.topics import cosign_closes_at

    start, end = year_bounds(year)
    now = utcnow()
    n = 0
    for t in db.session.scalars(sa.select(Topic).where(
            Topic.state == "proposed", Topic.raised_as == "resident", Topic.cosign_until >= start,
            Topic.cosign_until > now, Topic.created_at < end).order_by(Topic.id)):
        rules = _rules_when(t.committee_id, t.created_at)
        if rules is None:
            continue

        def write(after, t=t):
            # A plain UPDATE: the topic's optimistic lock guards its transitions, not this date.
            db.session.execute(sa.update(Topic).where(Topic.id == t.id).values(cosign_until=after)
                               .execution_options(synchronize_session=False))
            db.session.refresh(t)

        n += move_deadline(t, "cosign_until", cosign_closes_at(t.created_at, rules.cosign_days, calendar),
                           year=year, action="topic.cosign_window_recomputed", object_type="topic", write=write)
    for mo in db.session.scalars(sa.select(Motion).where(
            Motion.state == "closed", Motion.published_until > now, Motion.published_until >= start,
            Motion.closed_at < end).order_by(Motion.id)):
        rules = db.session.get(RuleSet, mo.rule_set_id)
        n += move_deadline(mo, "published_until", publication_end(mo.closed_at, rules.publish_days, calendar),
                           year=year, action="motion.publication_recomputed", object_type="motion")
    return n
