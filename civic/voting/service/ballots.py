"""Ballots: recording the delivery of ballots to units (what lets an unreturned ballot be deemed,
RULES.md §1), residents casting their head's one ballot online or as its registered proxy, the
ballot-row helpers paper entry shares (insert once; hold a head's paper ballot; choices checked
against the matters), receipt codes (shown once, only their hash kept) and what a receipt or a
resident's own ballots recorded.

Sources (RULES.md §1): SPC 法释〔2009〕7号 Art. 9 (one head, one ballot, for all its units; a
co-owner who does not represent the unit votes only as a proxy); 上海市住宅物业管理规定 Art. 18
(written voting, proxies).  A ballot once cast is not changed.
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.core import audit, receipts
from civic.core.db import insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.extensions import db
from civic.voting.access import actor_role
from civic.voting.models import (
    DELIVERY_METHODS,
    Ballot,
    Delivery,
    HeadMember,
    Matter,
    PaperEntry,
    RosterPerson,
    VoteUnit,
)
from civic.voting.service.electorate import _eligible_heads
from civic.voting.service.votes import (
    _hold_state,
    _require_state,
    get_vote,
    matters_of,
    visible_vote,
    vote_to_act_on,
)

ONLINE_CHOICES = ("agree", "oppose", "abstain")


def _receipt() -> tuple[str, str]:
    """A random receipt code shown once and its SHA-256 (:mod:`civic.core.receipts`, shared with budget rounds)."""
    return receipts.new_receipt()


def _receipt_hash(code: str) -> str:
    return receipts.receipt_hash(code)


# --- deliveries ----------------------------------------------------------------------------------

def record_deliveries(vote_id: int, data: dict, actor) -> dict:
    """Record that ballots were delivered to units (per unit; needed before an unreturned ballot
    can be deemed an abstention or to follow the majority, RULES.md §1).  Vote must be open.

    ``data``: ``roster_unit_ids`` (list), ``method`` (hand, mail, mailbox, electronic),
    ``delivered_at`` (default now).  Units already recorded are left as they were.
    :returns: ``{"recorded": n, "already": n}``.
    Order: permission (:func:`~civic.voting.service.votes.vote_to_act_on`), then the phase.
    """
    vote, org = vote_to_act_on(vote_id, actor)
    _require_state(vote, "open", code="vote_not_open")
    if data["method"] not in DELIVERY_METHODS:
        raise ValidationFailed("送达方式无效", code="delivery_method_invalid",
                               details={"allowed": list(DELIVERY_METHODS)})
    ids = sorted(set(data["roster_unit_ids"]))
    known = set(db.session.scalars(sa.select(VoteUnit.roster_unit_id).where(
        VoteUnit.vote_id == vote.id, VoteUnit.roster_unit_id.in_(ids))))
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValidationFailed("这些房屋不在本次表决的业主名册中", code="unit_not_on_roster",
                               details={"roster_unit_ids": unknown[:100]})
    _hold_state(vote, "open", code="vote_not_open")  # deliveries decide deemed heads at publication
    already = set(db.session.scalars(sa.select(Delivery.roster_unit_id).where(
        Delivery.vote_id == vote.id, Delivery.roster_unit_id.in_(ids))))
    when = data.get("delivered_at") or utcnow()
    new = [i for i in ids if i not in already]
    if new:
        db.session.execute(sa.insert(Delivery), [
            {"vote_id": vote.id, "roster_unit_id": i, "method": data["method"], "delivered_at": when,
             "recorded_by_id": actor.id} for i in new])
    audit.record("vote.deliveries", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"method": data["method"], "recorded": len(new), "unit_ids": new[:1000]})
    return {"recorded": len(new), "already": len(already)}


# --- ballots -------------------------------------------------------------------------------------

def _check_choices(choices: dict, matters: list[Matter], allowed: tuple[str, ...], *, fill_blank: bool) -> dict:
    keys = {str(m.id) for m in matters}
    out = {}
    for k, v in choices.items():
        if str(k) not in keys:
            raise ValidationFailed("选票包含不属于本次表决的事项", code="ballot_matter_unknown",
                                   details={"matter_id": k})
        if v not in allowed:
            raise ValidationFailed("选项无效", code="ballot_choice_invalid",
                                   details={"matter_id": k, "choice": v, "allowed": list(allowed)})
        out[str(k)] = v
    missing = sorted(keys - set(out), key=int)
    if missing:
        if not fill_blank:
            raise ValidationFailed("请对每一项表决事项作出选择", code="ballot_choices_incomplete",
                                   details={"matter_ids": [int(m) for m in missing]})
        # A returned paper ballot left unmarked on a matter is a blank vote: it participates.
        out.update(dict.fromkeys(missing, "blank"))
    return out


def cast_ballot(vote_id: int, data: dict, actor) -> dict:
    """Cast the head's one ballot online (or as its registered proxy): a choice for each matter,
    for all the head's units (SPC Art. 9: one owner of several units is one head).

    ``data``: ``choices`` ``{"<matter id>": "agree"|"oppose"|"abstain"}`` for every matter;
    ``head_id`` only when the resident may vote for several heads.
    :returns: ``{"ballot_id", "head_id", "kind", "cast_at", "receipt_code"}`` -- the receipt code
        is shown once (only its hash is kept).
    :raises Forbidden: ``owner_not_verified`` (no account link to the roster: e.g. a tenant),
        ``ballot_not_owner`` (on the roster but not an owner, e.g. the buyer of a sold-but-undelivered
        unit; or a head the resident is not in), ``ballot_not_representative`` (a co-owner who does
        not represent the unit and holds no registered proxy); :raises Conflict: ``vote_not_open``,
        ``ballot_already_cast`` (also when concurrent requests race: the unique constraint decides);
        :raises ValidationFailed: ``ballot_head_required``, ``ballot_choices_incomplete``,
        ``ballot_choice_invalid``, ``ballot_matter_unknown``; :raises NotFound: ``vote_not_found``
        (a vote the resident may not see, :func:`~civic.voting.service.votes.visible_vote`: a draft,
        another compound's vote).

    Order: who may vote (the vote seen, an owner or proxy holder in it), then the phase, then the
    choices: an outsider learns nothing of the vote's phase (issue #15).
    """
    vote = visible_vote(vote_id, actor)
    persons, heads, who, proxies = _eligible_heads(vote, actor)
    if not heads:
        if persons:
            raise Forbidden("您在业主名册上不是业主（如已购未交付房屋的买受人），不能投票", code="ballot_not_owner")
        raise Forbidden("请先通过手机验证码验证业主身份", code="owner_not_verified")
    _require_state(vote, "open", code="vote_not_open")
    head_id = data.get("head_id")
    if head_id is None:
        usable = [h for h, k in heads.items() if k != "not_representative"]
        if len(usable) > 1:
            raise ValidationFailed("您可为多个业主投票，请指定 head_id", code="ballot_head_required",
                                   details={"head_ids": sorted(usable)})
        head_id = usable[0] if usable else next(iter(heads))
    if head_id not in heads:
        raise Forbidden("您不是该业主，也不是其委托代理人", code="ballot_not_owner", details={"head_id": head_id})
    if heads[head_id] == "not_representative":
        raise Forbidden("共有房屋由代表业主投票；其他共有人须持有已登记的书面委托",
                        code="ballot_not_representative", details={"head_id": head_id})
    kind = heads[head_id]
    choices = _check_choices(data["choices"], matters_of(vote.id), ONLINE_CHOICES, fill_blank=False)
    unit_id = db.session.scalar(sa.select(sa.func.min(VoteUnit.roster_unit_id)).where(
        VoteUnit.vote_id == vote.id, VoteUnit.head_id == head_id))
    code, digest = _receipt()
    _hold_state(vote, "open", code="vote_not_open")  # not a ballot after closing
    values = {"roster_unit_id": unit_id, "kind": kind, "person_id": who[head_id], "cast_by_id": actor.id,
              "proxy_id": proxies.get(head_id), "choices": choices, "receipt_hash": digest, "cast_at": utcnow()}
    ballot = _reuse_empty_paper_ballot(vote.id, head_id, values)
    if ballot is None:
        ballot = Ballot(vote_id=vote.id, head_id=head_id, **values)
        _insert_ballot(ballot)
    audit.record("ballot.cast", "vote", vote.id, actor=actor, data={"head_id": head_id, "kind": kind})
    return {"ballot_id": ballot.id, "head_id": head_id, "kind": kind, "cast_at": ballot.cast_at,
            "receipt_code": code}


def _reuse_empty_paper_ballot(vote_id: int, head_id: int, values: dict) -> Ballot | None:
    """The head's paper ballot whose every entry was withdrawn is no returned ballot: an online
    (or proxy) ballot takes its row (the withdrawn entries stay in the record, pointing at it).
    The row is held first (:func:`_hold_paper_ballot`), so a paper entry being made for the head at
    the same moment is seen (PostgreSQL would otherwise re-check only the row, not the entries),
    and two concurrent casts cannot both take it.  ``None`` if no such row."""
    live = sa.select(PaperEntry.id).where(PaperEntry.ballot_id == Ballot.id,
                                          PaperEntry.withdrawn_at.is_(None)).exists()
    ballot_id = db.session.scalar(sa.select(Ballot.id).where(
        Ballot.vote_id == vote_id, Ballot.head_id == head_id, Ballot.kind == "paper", ~live))
    if ballot_id is None:
        return None
    _hold_paper_ballot(ballot_id, head_id)
    done = db.session.execute(sa.update(Ballot).where(Ballot.id == ballot_id, Ballot.kind == "paper", ~live)
                              .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("该业主已投票，选票一经投出不能更改", code="ballot_already_cast", details={"head_id": head_id})
    ballot = db.session.get(Ballot, ballot_id)
    db.session.refresh(ballot)
    return ballot


def _insert_ballot(ballot: Ballot) -> None:
    """Insert under a savepoint: the unique (vote, head) constraint turns a concurrent duplicate
    into 409 ``ballot_already_cast``, never a 500 and never two ballots."""
    exists = db.session.scalar(sa.select(Ballot.id).where(Ballot.vote_id == ballot.vote_id,
                                                          Ballot.head_id == ballot.head_id))
    if exists:
        raise Conflict("该业主已投票，选票一经投出不能更改", code="ballot_already_cast",
                       details={"head_id": ballot.head_id})
    insert_once(ballot, Conflict("该业主已投票，选票一经投出不能更改", code="ballot_already_cast",
                                 details={"head_id": ballot.head_id}))


def _hold_paper_ballot(ballot_id: int, head_id: int,
                       message: str = "该业主已在线投票，不能再录入纸质选票") -> None:
    """Hold the head's paper ballot row until this transaction ends: a no-op conditional UPDATE
    (``kind`` stays ``paper``).  Whatever changes a head's paper entries takes it first, so two
    entries for two units of one head (or an entry and an online ballot taking the row) are checked
    one after the other, the second seeing what the first wrote: on PostgreSQL the row lock makes it
    wait, and READ COMMITTED then reads what committed; on SQLite the UPDATE takes the write lock.
    :raises Conflict: ``ballot_already_cast`` when the head's ballot is no longer a paper ballot."""
    done = db.session.execute(sa.update(Ballot).where(Ballot.id == ballot_id, Ballot.kind == "paper")
                              .values(kind=Ballot.kind).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(message, code="ballot_already_cast", details={"head_id": head_id})


# --- receipts, own ballot ------------------------------------------------------------------------

def _choices_out(choices: dict | None, matters: list[Matter]) -> list[dict]:
    choices = choices or {}
    return [{"matter_id": m.id, "number": m.number, "title": m.title, "choice": choices.get(str(m.id))}
            for m in matters]


def receipt(code: str, actor) -> dict:
    """What was recorded for a receipt code: the vote, the kind, each matter's choice, and whether
    it counts (a paper entry counts once confirmed).

    Who: anyone signed in who holds the code.  The code is a capability, not an id: random, shown
    once to the voter, stored only as its hash (:func:`_receipt_hash`), so holding it is the proof
    of having been given it, and the vote's own visibility (:func:`visible_vote`) does not apply:
    a voter may ask someone they trust to check it.  A code nobody was given finds nothing.

    :raises NotFound: ``receipt_not_found``."""
    digest = _receipt_hash(code)
    ballot = db.session.scalar(sa.select(Ballot).where(Ballot.receipt_hash == digest))
    if ballot is not None:
        vote = get_vote(ballot.vote_id)
        return {"vote_id": vote.id, "vote_title": vote.title, "kind": ballot.kind, "recorded_at": ballot.cast_at,
                "counted": True, "choices": _choices_out(ballot.choices, matters_of(vote.id))}
    entry = db.session.scalar(sa.select(PaperEntry).where(PaperEntry.receipt_hash == digest))
    if entry is None:
        raise NotFound("找不到该回执码对应的选票", code="receipt_not_found")
    vote = get_vote(entry.vote_id)
    return {"vote_id": vote.id, "vote_title": vote.title, "kind": "paper", "recorded_at": entry.entered_at,
            "counted": entry.confirmed_at is not None and entry.withdrawn_at is None,
            "withdrawn": entry.withdrawn_at is not None, "choices": _choices_out(entry.choices, matters_of(vote.id))}


def my_ballots(vote_id: int, actor) -> list[dict]:
    """The resident's own ballots in this vote: those of the heads they are an owner in, and those
    they cast as proxy (``[]`` when none).  Only on a vote the resident may see
    (:func:`civic.voting.service.votes.visible_vote`, the rule of the vote list).

    :raises NotFound: ``vote_not_found`` (also a vote the resident may not see)."""
    vote = visible_vote(vote_id, actor)
    persons = list(db.session.scalars(sa.select(RosterPerson.id).where(
        RosterPerson.roster_id == vote.roster_id, RosterPerson.user_id == actor.id)))
    head_ids = set(db.session.scalars(sa.select(HeadMember.head_id).where(
        HeadMember.vote_id == vote.id, HeadMember.person_id.in_(persons)))) if persons else set()
    stmt = sa.select(Ballot).where(Ballot.vote_id == vote.id,
                                   sa.or_(Ballot.head_id.in_(head_ids), Ballot.cast_by_id == actor.id))
    matters = matters_of(vote.id)
    out = []
    for b in db.session.scalars(stmt.order_by(Ballot.id)):
        if b.kind == "paper":
            for e in db.session.scalars(sa.select(PaperEntry).where(PaperEntry.ballot_id == b.id)):
                out.append({"head_id": b.head_id, "kind": "paper", "recorded_at": e.entered_at,
                            "counted": e.confirmed_at is not None and e.withdrawn_at is None,
                            "withdrawn": e.withdrawn_at is not None, "choices": _choices_out(e.choices, matters)})
        else:
            out.append({"head_id": b.head_id, "kind": b.kind, "recorded_at": b.cast_at, "counted": True,
                        "choices": _choices_out(b.choices, matters)})
    return out
