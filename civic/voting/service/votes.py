"""The vote itself: look it up (and check or hold its phase before a write), create it, add its
matters and their attachments (through the photo pipeline), and the reads around it -- the vote
lists, a vote for its readers, the compounds a reader covers, the nine matters of Civil Code Art. 278
with the majority each needs, and the display names of phases, choices, channels and counting modes.

Sources (RULES.md §1): Civil Code Art. 278 (the nine matters; items 6-8 need 3/4 of the
participants), Art. 1259 (以上 includes the boundary); 上海市住宅物业管理规定 Art. 69 (a vote on
the roster of part of a compound).  Counting modes other than ``strict`` only where the vote's
rules of procedure enable them (RULES.md §1).
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.core import audit, media
from civic.core.errors import Conflict, NotFound, ValidationFailed
from civic.core.photos import process_photos
from civic.core.storage import media_store
from civic.core.text import require_text, tidy
from civic.extensions import db
from civic.voting import tally as pure
from civic.voting.access import RECORD_READERS, acting_org, actor_role
from civic.voting.models import Matter, Proxy, Roster, RosterPerson, Vote
from civic.voting.roster import get_roster, hold_state


def get_vote(vote_id: int) -> Vote:
    vote = db.session.get(Vote, vote_id)
    if vote is None:
        raise NotFound("找不到该表决", code="vote_not_found", details={"vote_id": vote_id})
    return vote


def vote_to_act_on(vote_id: int, actor, **acting) -> tuple[Vote, object]:
    """The vote and the organisation through which ``actor`` acts on it: the permission check
    every write on a vote makes first, before any check of the vote's state or of the input
    (issue #15: an outsider learns nothing of a vote's phase).

    A vote ``actor`` may not see (:func:`visible_vote`, the list's rule) is ``vote_not_found``, as
    for an id that does not exist; a vote they see but may not act on (the street centre, an
    owners' committee member without the head's role) is ``not_owners_committee``.  ``acting``:
    the keywords of :func:`civic.voting.access.acting_org` (``org_kinds``, ``roles``).

    :raises NotFound: ``vote_not_found``.  :raises Forbidden: ``not_owners_committee``.
    """
    vote = visible_vote(vote_id, actor)
    return vote, acting_org(actor, vote.scope_place_id, **acting)


def _require_state(vote: Vote, *states: str, code: str = "vote_state_invalid") -> None:
    if vote.state not in states:
        raise Conflict("表决当前阶段不允许此操作", code=code,
                       details={"state": vote.state, "allowed_states": list(states)})


def _hold_state(vote: Vote, *states: str, code: str = "vote_state_invalid") -> None:
    """:func:`_require_state` checked again in the database and held until the transaction ends
    (:func:`civic.voting.roster.hold_state`): a phase change (:func:`transition`) made at the same
    moment either comes first, and this is refused, or waits for this to commit -- never a ballot
    cast after closing, a matter added after the announcement, or a paper entry withdrawn after
    the results were computed for publication.  Call it just before the writes it guards.
    :raises Conflict: ``code``, with the phase now."""
    ok, now = hold_state(Vote.__table__.c.state, vote.id, states)
    if not ok:
        raise Conflict("表决当前阶段不允许此操作", code=code,
                       details={"state": now, "allowed_states": list(states)})


def _store():
    return media_store()


# --- votes and matters ---------------------------------------------------------------------------

def create_vote(data: dict, actor) -> Vote:
    """Create a draft vote on a roster (a compound, or part of one: Art. 69).

    ``data``: ``roster_id``, ``title``, ``description``, ``notice_days`` (default 15),
    ``counting_mode`` (``strict`` default; ``deemed_abstain``/``deemed_majority`` only with
    ``rules_allow_deemed``: the vote's rules of procedure enable them, RULES.md §1).
    :raises ValidationFailed: ``counting_mode_not_enabled``; :raises Forbidden: ``not_owners_committee``.
    """
    roster = get_roster(data["roster_id"])
    org = acting_org(actor, roster.scope_place_id)
    mode = data.get("counting_mode", "strict")
    allow = bool(data.get("rules_allow_deemed", False))
    if mode != "strict" and not allow:
        raise ValidationFailed("议事规则未规定未投票视为弃权或随多数，只能采用严格计票",
                               code="counting_mode_not_enabled", details={"counting_mode": mode})
    vote = Vote(roster_id=roster.id, compound_id=roster.compound_id, scope_place_id=roster.scope_place_id,
                title=require_text(data["title"], "title", 200), description=tidy(data.get("description") or ""),
                notice_days=data.get("notice_days", 15), counting_mode=mode, rules_allow_deemed=allow,
                created_by_id=actor.id)
    db.session.add(vote)
    db.session.flush()
    audit.record("vote.create", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"roster_id": roster.id, "counting_mode": mode, "notice_days": vote.notice_days})
    return vote


def add_matter(vote_id: int, data: dict, actor) -> Matter:
    """Add a matter (Civil Code Art. 278 item ``number`` 1-9, title, text) to a draft vote.

    Order: permission (:func:`vote_to_act_on`), then the phase.  :raises NotFound:
    ``vote_not_found``; :raises Forbidden: ``not_owners_committee``; :raises Conflict: ``vote_not_draft``."""
    vote, org = vote_to_act_on(vote_id, actor)
    _require_state(vote, "draft", code="vote_not_draft")
    _hold_state(vote, "draft", code="vote_not_draft")
    matter = Matter(vote_id=vote.id, number=data["number"], title=require_text(data["title"], "title", 200),
                    text=tidy(data.get("text") or "", max_len=20000), attachments=[])
    db.session.add(matter)
    db.session.flush()
    audit.record("vote.matter_add", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"matter_id": matter.id, "number": matter.number})
    return matter


def add_attachments(vote_id: int, matter_id: int, files: list[tuple[str, bytes]], actor) -> Matter:
    """Attach images to a draft vote's matter, through the photo pipeline (metadata stripped).  Each
    is served at an unguessable address to whoever may read the vote
    (:func:`civic.voting.service.media.matter_attachment`).

    Order: permission (:func:`vote_to_act_on`), then the phase, the matter and the files."""
    vote, org = vote_to_act_on(vote_id, actor)
    _require_state(vote, "draft", code="vote_not_draft")
    matter = db.session.get(Matter, matter_id)
    if matter is None or matter.vote_id != vote.id:
        raise NotFound("找不到该表决事项", code="matter_not_found", details={"matter_id": matter_id})
    if not files:
        raise ValidationFailed("请上传附件图片", code="attachment_required")
    stored = process_photos(files, store=_store())
    _hold_state(vote, "draft", code="vote_not_draft")
    # Each gets its token (its address, civic.core.media), served by service.matter_attachment.
    matter.attachments = list(matter.attachments or []) + media.with_tokens(
        {"display_key": s.display_key, "thumb_key": s.thumb_key, "width": s.width, "height": s.height}
        for s in stored
    )
    audit.record("vote.matter_attach", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"matter_id": matter.id, "count": len(stored)})
    return matter


def matters_of(vote_id: int) -> list[Matter]:
    return list(db.session.scalars(sa.select(Matter).where(Matter.vote_id == vote_id).order_by(Matter.id)))


def vote_detail(vote_id: int, actor) -> dict:
    """``GET /votes/{id}``: the vote and its matters, for whoever finds it in :func:`list_votes`
    (:func:`visible_vote`: a resident sees the announced and later votes of a compound where they
    are a verified owner on a roster, never a draft; the owners' committee and the street centre
    covering the compound see every vote, drafts included; administrators all).
    :returns: ``{"vote": Vote, "matters": [Matter]}``.  :raises NotFound: ``vote_not_found``."""
    vote = visible_vote(vote_id, actor)
    return {"vote": vote, "matters": matters_of(vote.id)}


# --- lists ---------------------------------------------------------------------------------------

def votes_visible_to(actor) -> sa.ColumnElement[bool]:
    """The votes ``actor`` may see, as a condition on :class:`Vote` -- the one rule behind the list
    (:func:`list_votes`) and every read of one vote (:func:`visible_vote`), so the two cannot drift:

    * a resident: votes past ``draft`` (announced, open, closed, published) of a compound where they
      are linked to a person on one of the compound's rosters (verified by phone, :func:`verify_owner`);
      a draft is the committee's working copy, made known to the owners only by its announcement
      (the ``announce`` phase, :mod:`civic.voting.service.phases`); and, past ``draft``, the votes
      where they hold a registered proxy (:func:`~civic.voting.service.electorate.register_proxy`:
      they cast that head's ballot, so they see its vote);
    * staff: every vote, drafts included, of a compound covered by an organisation of theirs of a
      kind in :data:`civic.voting.access.RECORD_READERS` (owners' committee, street centre), i.e.
      of :func:`compounds_for` (the console's list); other staff (property company, residents'
      committee, police...) see none;
    * an administrator: every vote.
    """
    if actor.kind == "admin":
        return sa.true()
    if actor.kind == "resident":
        mine = sa.select(Roster.compound_id).join(RosterPerson, RosterPerson.roster_id == Roster.id).where(
            RosterPerson.user_id == actor.id)
        seen = Vote.compound_id.in_(mine)
        if actor.phone:  # a proxy holder votes for a head: they see that vote, owner or not
            seen = sa.or_(seen, Vote.id.in_(sa.select(Proxy.vote_id).where(Proxy.holder_phone == actor.phone)))
        return sa.and_(seen, Vote.state != "draft")
    return Vote.compound_id.in_([p.id for p in compounds_for(actor)])


def visible_vote(vote_id: int, actor) -> Vote:
    """The vote, if ``actor`` may see it (:func:`votes_visible_to`, the list's own rule); otherwise
    ``vote_not_found``, the same answer as for an id that does not exist, so a draft's existence is
    not revealed.  Every ``GET /votes/{id}/...`` reads the vote through this first.

    :raises NotFound: ``vote_not_found``."""
    vote = db.session.scalar(sa.select(Vote).where(Vote.id == vote_id, votes_visible_to(actor)))
    if vote is None:
        raise NotFound("找不到该表决", code="vote_not_found", details={"vote_id": vote_id})
    return vote


def list_votes(actor, *, compound_id: int | None, status: str | None, cursor: str | None,
               limit: int) -> tuple[list[Vote], str | None]:
    """Votes, newest first, cursor-paginated (civic.core.pagination).

    Scope: staff of an owners' committee or street centre see the votes of a compound their
    organisation covers (``compound_id`` required for them); an administrator sees all; a resident
    sees the votes (not drafts) of the compounds where they are linked to a person on a roster
    (verified by phone, :func:`verify_owner`), optionally narrowed by ``compound_id``.
    ``status``: one of the vote states.
    :raises ValidationFailed: ``compound_required``; :raises Forbidden: ``not_owners_committee``.
    """
    from civic.core.pagination import paginate

    stmt = sa.select(Vote).where(votes_visible_to(actor))
    if actor.kind == "resident":
        if compound_id is not None:
            stmt = stmt.where(Vote.compound_id == compound_id)
    else:
        if compound_id is None:
            if actor.kind != "admin":
                raise ValidationFailed("请指定小区 compound_id", code="compound_required")
        else:
            acting_org(actor, compound_id, org_kinds=RECORD_READERS)
            stmt = stmt.where(Vote.compound_id == compound_id)
    if status:
        stmt = stmt.where(Vote.state == status)
    return paginate(stmt, [Vote.id], cursor=cursor, limit=limit)


# --- reads for the staff console -----------------------------------------------------------------
# The console (civic.console.votes) shows what these return; every rule stays in the verbs above.

#: Civil Code Art. 278 para. 1, items (1)-(9) (RULES.md §1).
MATTER_ITEMS: dict[int, str] = {
    1: "制定和修改业主大会议事规则",
    2: "制定和修改管理规约",
    3: "选举业主委员会或者更换业主委员会成员",
    4: "选聘和解聘物业服务企业或者其他管理人",
    5: "使用建筑物及其附属设施的维修资金",
    6: "筹集建筑物及其附属设施的维修资金",
    7: "改建、重建建筑物及其附属设施",
    8: "改变共有部分的用途或者利用共有部分从事经营活动",
    9: "有关共有和共同管理权利的其他重大事项",
}


STATE_NAMES = {"draft": "草稿", "announced": "公告中", "open": "投票中", "closed": "投票已结束",
               "published": "结果已公布"}
CHOICE_NAMES = {"agree": "同意", "oppose": "反对", "abstain": "弃权", "blank": "未填写"}
CHANNEL_NAMES = {"online": "在线投票", "proxy": "委托代理", "paper": "纸质选票"}
COUNTING_MODE_NAMES = {"strict": "严格计票（未投票不计入参与表决）", "deemed_abstain": "已送达未投票视为弃权",
                       "deemed_majority": "已送达未投票视为随多数"}


def matter_items() -> list[dict]:
    """The nine matters of Civil Code Art. 278 with the majority each needs, for a form:
    ``[{"number", "name", "special", "rule"}]``.  Items 6-8 are special (3/4 of the participants
    by area and by headcount, ``以上`` including the boundary: Art. 1259); the others need more
    than half.  Every matter also needs the quorum: participants 2/3 of all area and headcount."""
    return [{"number": n, "name": name, "special": n in pure.SPECIAL_ITEMS,
             "rule": ("参与表决专有部分面积和人数均四分之三以上同意" if n in pure.SPECIAL_ITEMS
                      else "参与表决专有部分面积和人数均过半数同意")}
            for n, name in MATTER_ITEMS.items()]


def compounds_for(actor) -> list:
    """The compounds whose rosters and votes ``actor`` may read: those covered by their owners'
    committee or street centre (:data:`civic.voting.access.RECORD_READERS`), ordered by code;
    administrators: every compound.  ``[Place]``."""
    from civic.accounts.memberships import acting_memberships
    from civic.property import service as registry

    if actor.kind == "admin":
        return registry.places_of_kind("compound")
    paths = {p for _m, org in acting_memberships(actor, org_kinds=RECORD_READERS)
             for p in registry.covered_place_paths(org.id)}
    return registry.places_of_kind("compound", paths)


def vote_for_reader(vote_id: int, actor) -> Vote:
    """The vote, for the owners' committee and the street centre covering it (and administrators).

    :raises NotFound: ``vote_not_found``; :raises Forbidden: ``not_owners_committee``."""
    vote = get_vote(vote_id)
    acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
    return vote
