"""Supports (one per participant, soft-withdrawn, never deleted), the evidence kept with each click, and the manipulation signals shown to moderators."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from civic.core.db import as_utc, utcnow
from civic.core.errors import Conflict, Forbidden
from civic.extensions import db
from civic.proposals import moderation
from civic.proposals.contests.models import (
    Idea,
    Support,
    SupportEvent,
    SupportQuota,
)
from civic.proposals.contests.service.contests import (
    get_contest,
    require_participant,
    require_phase,
    visible_idea,
)

# --- support -----------------------------------------------------------------------------------

def _insert(model):
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def _bump(idea_id: int, delta: int) -> int:
    # One UPDATE: the row lock serialises concurrent clicks, so the counter stays exact.
    return db.session.execute(
        sa.update(Idea).where(Idea.id == idea_id)
        .values(support_count=Idea.support_count + delta, updated_at=Idea.updated_at)
        .returning(Idea.support_count)
    ).scalar_one()


def _evidence(idea: Idea, actor, action: str, ip: str | None, device_id: str | None) -> None:
    db.session.add(SupportEvent(idea_id=idea.id, contest_id=idea.contest_id, resident_id=actor.id, action=action,
                                ip=ip, device_id=(device_id or None) and device_id[:100],
                                account_created_at=getattr(actor, "created_at", None)))


def support(actor, idea_id: int, *, ip: str | None = None, device_id: str | None = None) -> dict:
    """A participant supports an idea: once per resident per idea (a second click changes nothing),
    during the support phase, within the contest's cap.  Records the client's IP and device id.

    :returns: ``{"idea_id", "supported": True, "support_count", "changed"}``.
    :raises Forbidden: ``not_a_participant``.
    :raises Conflict: ``phase_forbids_action``; ``idea_not_open``; ``support_cap_reached``
        (details ``{"cap"}``).  :raises NotFound: ``idea_not_found`` (also an idea ``actor`` may not see).

    Order (issue #15): the idea seen, then the participant, then the phase and the idea's state.
    """
    idea = visible_idea(actor, idea_id)
    contest = get_contest(idea.contest_id)
    require_participant(contest, actor)
    require_phase(contest, "support")
    if idea.state != "approved":
        raise Conflict("该金点子当前未公开", code="idea_not_open", details={"state": idea.state})
    now = utcnow()
    # RETURNING, not rowcount: psycopg reports no reliable rowcount for INSERT ... ON CONFLICT DO NOTHING.
    changed = db.session.execute(
        _insert(Support).values(idea_id=idea.id, contest_id=contest.id, resident_id=actor.id, active=True,
                                created_at=now).on_conflict_do_nothing(index_elements=["idea_id", "resident_id"])
        .returning(Support.id)
    ).scalar_one_or_none() is not None
    if not changed:
        changed = db.session.execute(
            sa.update(Support).where(Support.idea_id == idea.id, Support.resident_id == actor.id,
                                     Support.active.is_(False)).values(active=True, withdrawn_at=None)
        ).rowcount == 1
    if not changed:
        return {"idea_id": idea.id, "supported": True, "changed": False,
                "support_count": db.session.scalar(sa.select(Idea.support_count).where(Idea.id == idea.id))}
    if contest.support_cap is not None:
        db.session.execute(_insert(SupportQuota).values(contest_id=contest.id, resident_id=actor.id, active_count=0)
                           .on_conflict_do_nothing(index_elements=["contest_id", "resident_id"]))
        ok = db.session.execute(
            sa.update(SupportQuota).where(SupportQuota.contest_id == contest.id, SupportQuota.resident_id == actor.id,
                                          SupportQuota.active_count < contest.support_cap)
            .values(active_count=SupportQuota.active_count + 1)
        ).rowcount
        if not ok:
            raise Conflict(f"本次征集每人最多支持 {contest.support_cap} 个金点子", code="support_cap_reached",
                           details={"cap": contest.support_cap})
    count = _bump(idea.id, +1)
    _evidence(idea, actor, "support", ip, device_id)
    return {"idea_id": idea.id, "supported": True, "changed": True, "support_count": count}


def withdraw_support(actor, idea_id: int, *, ip: str | None = None, device_id: str | None = None) -> dict:
    """Withdraw one's support while the support phase lasts.  Soft: the row stays, marked withdrawn.

    :returns: ``{"idea_id", "supported": False, "support_count", "changed"}``.
    :raises NotFound: ``idea_not_found`` (also an idea ``actor`` may not see), before the phase is checked.
    """
    idea = visible_idea(actor, idea_id)
    contest = get_contest(idea.contest_id)
    require_phase(contest, "withdraw_support")
    changed = db.session.execute(
        sa.update(Support).where(Support.idea_id == idea.id, Support.resident_id == actor.id,
                                 Support.active.is_(True)).values(active=False, withdrawn_at=utcnow())
    ).rowcount == 1
    if not changed:
        return {"idea_id": idea.id, "supported": False, "changed": False,
                "support_count": db.session.scalar(sa.select(Idea.support_count).where(Idea.id == idea.id))}
    if contest.support_cap is not None:
        db.session.execute(sa.update(SupportQuota).where(
            SupportQuota.contest_id == contest.id, SupportQuota.resident_id == actor.id, SupportQuota.active_count > 0
        ).values(active_count=SupportQuota.active_count - 1))
    count = _bump(idea.id, -1)
    _evidence(idea, actor, "withdraw", ip, device_id)
    return {"idea_id": idea.id, "supported": False, "changed": True, "support_count": count}


def signals(actor, contest_id: int) -> list[dict]:
    """Signs of manipulated support, for moderators: the evidence, never a verdict.

    * ``shared_device``: one device id used by ≥ ``signal_shared_residents`` (default 3) different
      residents to support;
    * ``shared_network``: one IP address used by ≥ ``signal_shared_residents`` different residents;
    * ``new_account_burst``: ≥ ``signal_burst_supports`` (5) supports of one idea within
      ``signal_burst_minutes`` (60) from accounts under ``signal_new_account_days`` (7) days old.

    The thresholds are the contest's own settings.

    :returns: ``[{"kind", "key", "residents", "idea_ids", "events", "first_at", "last_at"}]``.
    :raises Forbidden: ``not_a_moderator``.
    """
    contest = get_contest(contest_id)
    if not moderation.is_moderator(actor, contest.organisation_id):
        raise Forbidden("仅限审核人员查看", code="not_a_moderator")
    events = list(db.session.scalars(sa.select(SupportEvent).where(
        SupportEvent.contest_id == contest.id, SupportEvent.action == "support").order_by(SupportEvent.id)))
    out = []
    for kind, attr in (("shared_device", "device_id"), ("shared_network", "ip")):
        groups = defaultdict(list)
        for e in events:
            if getattr(e, attr):
                groups[getattr(e, attr)].append(e)
        for key, evs in sorted(groups.items()):
            residents = {e.resident_id for e in evs}
            if len(residents) >= contest.signal_shared_residents:
                out.append(_signal(kind, key, evs))
    by_idea = defaultdict(list)
    window = dt.timedelta(minutes=contest.signal_burst_minutes)
    for e in events:
        created = as_utc(e.account_created_at)
        if created is not None and as_utc(e.at) - created < dt.timedelta(days=contest.signal_new_account_days):
            by_idea[e.idea_id].append(e)
    for idea_id, evs in sorted(by_idea.items()):
        start = 0
        for end in range(len(evs)):
            while as_utc(evs[end].at) - as_utc(evs[start].at) > window:
                start += 1
            if end - start + 1 >= contest.signal_burst_supports:
                out.append(_signal("new_account_burst", str(idea_id), evs[start:end + 1]))
                break
    return out


def _signal(kind, key, evs):
    return {"kind": kind, "key": key, "residents": len({e.resident_id for e in evs}),
            "idea_ids": sorted({e.idea_id for e in evs}), "events": len(evs),
            "first_at": evs[0].at, "last_at": evs[-1].at}
