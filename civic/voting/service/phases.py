"""The vote's phase machine, declared once in :data:`TRANSITIONS`: draft → announced → open → closed
→ published, each change made by the owners' committee head (or an administrator); what blocks a
change now (certified roster and a matter to announce, the notice period to open, unconfirmed --
or, for the console, disagreeing -- paper entries to publish), its side effects (freezing the
roster when voting opens, computing the results when they are published), and the changes a user
may make now.

Sources (RULES.md §1): 上海市住宅物业管理规定 Art. 16 (certified roster); Civil Code Art. 278 (the
results); SPC 法释〔2009〕7号 Art. 9 (the roster frozen into heads).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from civic.core import audit
from civic.core.calendar import legal_period_over, move_deadline, recomputes_deadlines, year_bounds
from civic.core.db import utcnow
from civic.core.errors import Conflict, Forbidden, ValidationFailed
from civic.extensions import db
from civic.voting.access import acting_org, actor_role
from civic.voting.models import Vote
from civic.voting.roster import get_roster
from civic.voting.service.electorate import _freeze
from civic.voting.service.paper import _pending_entries
from civic.voting.service.results import compute_results, conflicting_paper_heads
from civic.voting.service.votes import STATE_NAMES, get_vote, matters_of, visible_vote

# --- the phase machine, declared once ------------------------------------------------------------

@dataclass(frozen=True)
class Transition:
    source: tuple[str, ...]
    target: str
    org_kinds: tuple[str, ...]
    roles: tuple[str, ...] | None
    label: str


#: draft → announced (notice period) → open (roster frozen) → closed → published.  Made by the
#: owners' committee of the compound, by a member with role ``head`` (or an administrator).
TRANSITIONS: dict[str, Transition] = {
    "announce": Transition(("draft",), "announced", ("owners_committee",), ("head",), "公告"),
    "open": Transition(("announced",), "open", ("owners_committee",), ("head",), "开始投票"),
    "close": Transition(("open",), "closed", ("owners_committee",), ("head",), "结束投票"),
    "publish": Transition(("closed",), "published", ("owners_committee",), ("head",), "公布结果"),
}


def voting_opens_at(announced_at: dt.datetime, notice_days: int, calendar=None) -> dt.datetime:
    """When voting may open after a notice of ``notice_days`` days given at ``announced_at``: 00:00
    Asia/Shanghai of the day after the notice period's last day.  The period is counted as the
    Civil Code counts periods in days (Arts. 201, 203): from the day after the announcement, to
    24:00 of the ``notice_days``-th day, moved to the first working day after it when that day is
    off, so owners always get the full notice (a holiday at its end lengthens it, never shortens).
    E.g. announced 2026-01-20 15:00 with 15 days → voting from 2026-02-05 00:00."""
    return legal_period_over(announced_at, notice_days, calendar).due


@recomputes_deadlines("voting")
def recompute_opening_times(year: int, calendar) -> int:
    """A holiday notice for ``year`` was loaded or corrected: recompute :func:`voting_opens_at` for
    every announced vote (not yet open) whose notice period touched ``year``.  Audited with before
    and after.  Returns how many changed."""
    start, end = year_bounds(year)
    n = 0
    for vote in db.session.scalars(sa.select(Vote).where(
            Vote.state == "announced", Vote.announced_at < end, Vote.voting_opens_at >= start).order_by(Vote.id)):
        n += move_deadline(vote, "voting_opens_at", voting_opens_at(vote.announced_at, vote.notice_days, calendar),
                           year=year, action="vote.opening_recomputed", object_type="vote")
    return n


def transition(vote_id: int, action: str, actor, *, note: str | None = None) -> Vote:
    """Move the vote along :data:`TRANSITIONS`, audited.

    * announce: the roster must be certified (Art. 16) and there must be a matter; the notice
      period (``notice_days``, 15 by default: 业主大会议事 notice 15 days before) starts, counted as a
      period in days (:func:`voting_opens_at`): voting may open at ``voting_opens_at``.
    * open: not before ``voting_opens_at``; freezes the roster into the vote's heads and units.
    * close: no more online ballots (paper ballots already returned may still be entered).
    * publish: the tally is computed, stored with the publication time, and shown to owners.

    :raises ValidationFailed: ``transition_unknown``, tally errors (``tally_conflicting_ballots``...);
        :raises Conflict: ``transition_not_allowed``, ``roster_not_certified``, ``matters_empty``,
        ``notice_period_running``, ``paper_ballots_contested`` (a head's live paper entries
        disagree: ``details.heads`` names them), ``paper_ballots_unconfirmed``; :raises Forbidden:
        ``not_owners_committee``; :raises NotFound: ``vote_not_found`` (also a vote ``actor`` may
        not see).

    Order: permission (the vote seen, then the transition's organisations and roles), then the
    phase and the transition's conditions (issue #15).
    """
    vote = visible_vote(vote_id, actor)
    t = TRANSITIONS.get(action)
    if t is None:
        raise ValidationFailed("未知的操作", code="transition_unknown",
                               details={"action": action, "allowed": list(TRANSITIONS)})
    org = acting_org(actor, vote.scope_place_id, org_kinds=t.org_kinds, roles=t.roles)
    if vote.state not in t.source:
        raise Conflict(f"表决处于“{STATE_NAMES[vote.state]}”阶段，不能{t.label}", code="transition_not_allowed",
                       details={"state": vote.state, "action": action})
    now = utcnow()
    data: dict = {"from": vote.state, "to": t.target}
    # The phase change itself first, as one conditional UPDATE: of two requests at once one wins
    # and the other gets 409 (never a roster frozen twice, a result computed twice); the checks
    # and side effects below then run holding the row, after whatever held its phase
    # (:func:`_hold_state`: a ballot, a paper entry) has committed.  A blocker rolls it all back.
    won = db.session.execute(sa.update(Vote).where(Vote.id == vote.id, Vote.state == vote.state)
                             .values(state=t.target).execution_options(synchronize_session=False))
    if won.rowcount != 1:
        state = db.session.scalar(sa.select(Vote.state).where(Vote.id == vote.id))
        raise Conflict(f"表决处于“{STATE_NAMES[state]}”阶段，不能{t.label}", code="transition_not_allowed",
                       details={"state": state, "action": action})
    blocker = _blocker(vote, action, now)
    if blocker is not None:
        raise blocker
    if action == "announce":
        vote.announced_at = now
        vote.voting_opens_at = voting_opens_at(now, vote.notice_days)
        data["voting_opens_at"] = vote.voting_opens_at.isoformat()
    elif action == "open":
        data.update(_freeze(vote))
        vote.opened_at = now
    elif action == "close":
        vote.closed_at = now
    elif action == "publish":
        vote.result = compute_results(vote)
        vote.published_at = now
        vote.result["published_at"] = now.isoformat()
    vote.state = t.target
    audit.record(f"vote.{action}", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 note=note, data=data)
    return vote


def _blocker(vote: Vote, action: str, now: dt.datetime) -> Conflict | None:
    """What stops ``action`` on ``vote`` now (besides its phase and who asks), or ``None``: the
    roster must be certified and there must be a matter to announce (Art. 16); the notice period
    must be over to open; to publish, no head may be contested (two of its live paper entries
    disagreeing: :func:`conflicting_paper_heads`) and every paper entry must be confirmed (or
    withdrawn)."""
    if action == "announce":
        if get_roster(vote.roster_id).status != "certified":
            return Conflict("业主名册尚未确认公布", code="roster_not_certified", details={"roster_id": vote.roster_id})
        if not matters_of(vote.id):
            return Conflict("表决没有任何事项", code="matters_empty")
    elif action == "open":
        if now < vote.voting_opens_at:
            return Conflict("公告期未满，不能开始投票", code="notice_period_running",
                            details={"voting_opens_at": vote.voting_opens_at.isoformat()})
    elif action == "publish":
        # One owner, one will (Civil Code Art. 278; SPC 法释〔2009〕7号 Art. 9): a head whose paper
        # entries disagree is resolved by the committee, never by which entry was confirmed first.
        contested = conflicting_paper_heads(vote.id)
        if contested:
            message = "；".join(c["message"] for c in contested[:3])
            if len(contested) > 3:
                message += f"；另有 {len(contested) - 3} 名业主的纸质选票不一致"
            return Conflict(message, code="paper_ballots_contested", details={"heads": [
                {"head_id": c["head_id"], "unit_codes": c["unit_codes"], "unit_names": c["unit_names"],
                 "entry_ids": [e["id"] for e in c["entries"]]} for c in contested[:100]], "count": len(contested)})
        pending = _pending_entries(vote.id)
        if pending:
            return Conflict("还有纸质选票未经复核确认", code="paper_ballots_unconfirmed", details={"count": pending})
    return None


def available_transitions(vote_id: int, actor) -> list[dict]:
    """The phase changes of :data:`TRANSITIONS` that ``actor`` may make on the vote in its present
    phase: ``[{"action", "label", "blocked"}]``, where ``blocked`` is ``None`` or the message of
    what stops it now (roster not certified, no matter, notice period running, paper entries
    unconfirmed, for publishing a contested head (:func:`conflicting_paper_heads`: the message says
    to withdraw the wrong entry)).  :func:`transition` remains the one that decides."""
    vote = get_vote(vote_id)
    now = utcnow()
    out = []
    for action, t in TRANSITIONS.items():
        if vote.state not in t.source:
            continue
        try:
            acting_org(actor, vote.scope_place_id, org_kinds=t.org_kinds, roles=t.roles)
        except Forbidden:
            continue
        blocker = _blocker(vote, action, now)
        blocked = blocker.message if blocker else None
        out.append({"action": action, "label": t.label, "blocked": blocked})
    return out
