"""Paper ballots (书面表决票) entered by the owners' committee: entering a unit's returned ballot
with its scan, confirmation by a second member (only confirmed entries count), withdrawal of a
wrong entry (by its enterer or the committee head; a confirmed one only by the committee head,
before publication), the check that one head's entries agree, and the reads of the console's
paper desk -- finding a unit, a unit's head and its entries, the entries awaiting confirmation.
An entry's scan is served by :mod:`civic.voting.service.media`.

Sources (RULES.md §1): 上海市住宅物业管理规定 Art. 18 (written voting, proxies); Civil Code Art. 278
and SPC 法释〔2009〕7号 Art. 9 (one head, one will: entries of one head that disagree make the head
contested -- kept, neither confirmed, the results not published until the committee withdraws the
wrong one; who may sign: an owner, a registered proxy, the developer for its units, never the buyer
of an undelivered unit), Art. 12 (withdrawn entries stay in the record for the one-year revocation
period).

Privacy: before a vote closes staff see who voted, not how; the choices of entries awaiting
confirmation are shown to the owners' committee for the two-person check, and each look is audited.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from civic.accounts import service as accounts
from civic.core import audit
from civic.core.db import insert_once, to_shanghai, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound
from civic.core.photos import process_photos
from civic.core.text import mask_phone, require_text
from civic.extensions import db
from civic.voting.access import acting_org, actor_role
from civic.voting.models import Ballot, Head, HeadMember, PaperEntry, RosterPerson, Vote, VoteUnit
from civic.voting.service.ballots import (
    _check_choices,
    _choices_out,
    _hold_paper_ballot,
    _insert_ballot,
    _receipt,
)
from civic.voting.service.electorate import _vote_unit, head_names, paper_signer, unit_names, unit_signers
from civic.voting.service.media import paper_scan_url
from civic.voting.service.votes import (
    STATE_NAMES,
    _hold_state,
    _require_state,
    _store,
    get_vote,
    matters_of,
    vote_to_act_on,
)

PAPER_CHOICES = ("agree", "oppose", "abstain", "blank")


def _pending_entries(vote_id: int) -> int:
    """How many paper entries of the vote wait for their confirmation (neither confirmed nor withdrawn)."""
    return db.session.scalar(sa.select(sa.func.count(PaperEntry.id)).where(
        PaperEntry.vote_id == vote_id, PaperEntry.confirmed_at.is_(None), PaperEntry.withdrawn_at.is_(None)))


def _disagree(a: dict | None, b: dict | None) -> bool:
    """Whether two paper entries' choices disagree on some matter both answer -- the test of
    :func:`civic.voting.tally.head_votes` (RULES.md §1), which would refuse to count them."""
    a, b = a or {}, b or {}
    return any(k in b and b[k] != v for k, v in a.items())


def _conflicting_entry(vote_id: int, head_id: int, choices: dict, *, besides: int | None = None):
    """The first live (not withdrawn) paper entry of the head, other than ``besides``, whose choices
    disagree with ``choices``: a row ``(id, roster_unit_id, confirmed_at)``, or ``None``."""
    stmt = sa.select(PaperEntry.id, PaperEntry.roster_unit_id, PaperEntry.confirmed_at, PaperEntry.choices).where(
        PaperEntry.vote_id == vote_id, PaperEntry.head_id == head_id, PaperEntry.withdrawn_at.is_(None))
    if besides is not None:
        stmt = stmt.where(PaperEntry.id != besides)
    return next((r for r in db.session.execute(stmt.order_by(PaperEntry.id)) if _disagree(r.choices, choices)),
                None)


def _contested(vote_id: int, head_ids) -> dict[int, int]:
    """``{entry id: id of a live entry of the same head it disagrees with}`` over the live entries
    of ``head_ids``: the entries of contested heads (one owner, one will), for the pages."""
    ids = sorted(set(head_ids))
    if not ids:
        return {}
    rows = db.session.execute(sa.select(PaperEntry.id, PaperEntry.head_id, PaperEntry.choices).where(
        PaperEntry.vote_id == vote_id, PaperEntry.head_id.in_(ids), PaperEntry.withdrawn_at.is_(None))
        .order_by(PaperEntry.id)).all()
    out = {}
    for a in rows:
        other = next((b for b in rows if b.head_id == a.head_id and b.id != a.id and _disagree(a.choices, b.choices)),
                     None)
        if other is not None:
            out[a.id] = other.id
    return out


def _shanghai(when) -> str:
    """``YYYY-MM-DD HH:MM`` in Asia/Shanghai, for a message."""
    return to_shanghai(when).strftime("%Y-%m-%d %H:%M") if when else ""


def _conflict(vote_id: int, head_id: int, other, doing: str) -> Conflict:
    """409 ``paper_ballot_conflicts_head`` naming the head's other entry (its id, unit, state) --
    never its choices: before the vote closes staff see who voted, not how.  ``doing`` opens the
    message (what was refused, or that the entry was kept as contested)."""
    code = db.session.scalar(sa.select(VoteUnit.unit_code).where(VoteUnit.vote_id == vote_id,
                                                                 VoteUnit.roster_unit_id == other.roster_unit_id))
    name = unit_names(vote_id, [other.roster_unit_id]).get(other.roster_unit_id, code)
    state = "已复核计入" if other.confirmed_at is not None else "待复核"
    return Conflict(
        f"{doing}：同一业主名下 {name} 的纸质选票（录入编号 {other.id}，{state}）所选不同，"
        "而一名业主对每项事项只有一票。在争议解决前两张都不能复核计入，表决结果不能公布。请与业主核实，撤回录入有误的一张"
        f"（{'已复核的须由业主委员会主任在结果公布前撤回' if other.confirmed_at is not None else '未复核的由录入人或业主委员会主任撤回'}）",
        code="paper_ballot_conflicts_head",
        details={"head_id": head_id, "other_entry_id": other.id, "other_roster_unit_id": other.roster_unit_id,
                 "other_unit_code": code, "other_unit_name": name,
                 "other_state": "confirmed" if other.confirmed_at is not None else "pending"})


def enter_paper_ballot(vote_id: int, data: dict, scan: tuple[str, bytes], actor) -> dict:
    """Enter one unit's returned paper ballot (书面表决票) with its scan; it counts only once a
    second, different committee member confirms it.  A matter left unmarked is entered as blank.

    One owner, one will (Civil Code Art. 278 counts each owner once by headcount; SPC
    法释〔2009〕7号 Art. 9: the units of one owner -- 李四's 102 and 103 -- are one head, whose
    专有部分 areas are summed; RULES.md §1 "do not guess").  Reading chosen:

    * a paper ballot returned for the head's other unit *with the same choices* is entered too --
      it is the owner's own returned paper, with its own scan and receipt code, kept for the
      revocation period (SPC Art. 12) -- and the tally counts the head once
      (:func:`civic.voting.tally.head_votes`);
    * one that *disagrees* with a live entry of the head (pending or confirmed) is entered and kept
      as well, with its scan, and the head's ballot is **contested**: the response says so
      (``contested: true`` and ``conflict``, naming the other entry -- never its choices).  The
      result never stands on whichever entry happened to be confirmed first: no entry of a
      contested head can be confirmed (:func:`confirm_paper_ballot`), its confirmed ones do not
      count in the turnout (:func:`civic.voting.service.results.turnout_totals`), and the results
      cannot be published (409 ``paper_ballots_contested``,
      :func:`civic.voting.service.phases.transition`) until the committee, having asked the owner,
      withdraws the wrong entry with a reason (:func:`withdraw_paper_ballot`; a confirmed one by
      the committee head).  Refusing the second paper at the desk, as civic did before, left no
      trace of it: the committee could publish on the first one without resolving anything.
    * An online (or proxy) ballot and a paper ballot of one head: the online ballot is cast by the
      verified owner (or registered proxy) in person, timestamped and receipted, and is the head's
      ballot from then on (a ballot once cast is not changed, RULES.md §1).  A paper ballot for
      such a head is refused here (409 ``ballot_already_cast``, with when the head voted online, so
      the committee can compare it with when the paper was handed in) whatever it says: before
      the vote closes no one may compare it with how the owner voted online (staff see who voted,
      not how).  An online ballot for a head with a live paper entry is refused likewise
      (:func:`civic.voting.service.ballots.cast_ballot`), the owner being told at once.  So a head
      never has both an online and a paper ballot counted.

    Entries of one head are checked one at a time (:func:`_hold_paper_ballot`), so two entered at
    the same moment see each other.

    Who signed it is recorded and checked as an online ballot is
    (:func:`civic.voting.service.electorate.paper_signer`): an owner of the unit (its
    representative, for co-owners), the head's registered proxy, or for a developer-held unit the
    developer.  A ballot signed by anyone else -- e.g. the buyer of a unit not yet delivered, who is
    not yet its owner (SPC Art. 9) -- is refused (422 ``paper_signer_not_entitled``), exactly as
    that person's online ballot would be (``details.reason`` is the online code).

    ``data``: ``roster_unit_id``, ``choices`` ``{"<matter id>": agree|oppose|abstain|blank}``,
    ``signer_kind`` (owner | proxy | developer), ``signer_person_id`` (the roster person, for owner).
    :returns: ``{"id", "head_id", "receipt_code", "contested", "conflict", ...}`` (the receipt
        code is for the owner; ``conflict`` is ``None`` or ``{"message", "other_entry_id",
        "other_roster_unit_id", "other_unit_code", "other_unit_name", "other_state"}``).
    :raises Conflict: ``ballot_already_cast`` (the head voted online or by proxy),
        ``paper_ballot_duplicate`` (this unit's paper ballot is already entered),
        ``vote_state_invalid``; :raises ValidationFailed: ``paper_signer_not_entitled``,
        ``paper_signer_required``, ``paper_signer_kind_invalid``, ``ballot_choice_invalid``...
    Order: permission (:func:`~civic.voting.service.votes.vote_to_act_on`), then the phase and the entry.
    """
    vote, org = vote_to_act_on(vote_id, actor)
    _require_state(vote, "open", "closed")
    vu = _vote_unit(vote, data["roster_unit_id"])
    choices = _check_choices(data["choices"], matters_of(vote.id), PAPER_CHOICES, fill_blank=True)
    signer = paper_signer(vote, vu.head_id, vu.roster_unit_id, data.get("signer_kind"), data.get("signer_person_id"))
    stored = process_photos([scan], store=_store())[0]
    _hold_state(vote, "open", "closed")
    ballot = db.session.scalar(sa.select(Ballot).where(Ballot.vote_id == vote.id, Ballot.head_id == vu.head_id))
    if ballot is None:
        ballot = Ballot(vote_id=vote.id, head_id=vu.head_id, roster_unit_id=vu.roster_unit_id, kind="paper",
                        cast_at=utcnow())
        try:
            _insert_ballot(ballot)
        except Conflict:
            ballot = db.session.scalar(sa.select(Ballot).where(Ballot.vote_id == vote.id,
                                                               Ballot.head_id == vu.head_id))
    if ballot.kind != "paper":
        raise Conflict(("该业主已在线投票" if ballot.kind == "online" else "该业主的委托代理人已投票")
                       + f"（{_shanghai(ballot.cast_at)}），不能再录入纸质选票：一名业主只有一票，选票一经投出不能更改",
                       code="ballot_already_cast",
                       details={"head_id": vu.head_id, "kind": ballot.kind, "cast_at": ballot.cast_at.isoformat()})
    _hold_paper_ballot(ballot.id, vu.head_id)
    if db.session.scalar(sa.select(PaperEntry.id).where(PaperEntry.vote_id == vote.id,
                                                        PaperEntry.roster_unit_id == vu.roster_unit_id,
                                                        PaperEntry.withdrawn_at.is_(None))):
        raise Conflict("该房屋的纸质选票已录入", code="paper_ballot_duplicate",
                       details={"roster_unit_id": vu.roster_unit_id})
    other = _conflicting_entry(vote.id, vu.head_id, choices)
    code, digest = _receipt()
    entry = PaperEntry(vote_id=vote.id, ballot_id=ballot.id, head_id=vu.head_id, roster_unit_id=vu.roster_unit_id,
                       choices=choices, scan_key=stored.display_key, scan_thumb_key=stored.thumb_key,
                       entered_by_id=actor.id, entered_at=utcnow(), receipt_hash=digest, **signer)
    insert_once(entry, Conflict("该房屋的纸质选票已录入", code="paper_ballot_duplicate",
                                details={"roster_unit_id": vu.roster_unit_id}))
    conflict = None
    if other is not None:
        conflict = _conflict(vote.id, vu.head_id, other, "已录入，但该业主的选票存在争议")
        conflict = {"message": conflict.message, **{k: v for k, v in conflict.details.items() if k != "head_id"}}
    audit.record("paper_ballot.enter", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"paper_entry_id": entry.id, "roster_unit_id": vu.roster_unit_id, "head_id": vu.head_id,
                       "contested_with": other.id if other is not None else None, **signer})
    return {"id": entry.id, "vote_id": vote.id, "head_id": vu.head_id, "roster_unit_id": vu.roster_unit_id,
            "unit_code": vu.unit_code, "unit_name": unit_names(vote.id, [vu.roster_unit_id])[vu.roster_unit_id],
            "entered_at": entry.entered_at, "confirmed": False, "receipt_code": code,
            "scan_url": paper_scan_url(entry), "contested": other is not None, "conflict": conflict, **signer}


def _entry_moved(entry_id: int) -> Conflict:
    """The 409 for a paper entry whose conditional UPDATE found it no longer in the state it was
    read in: another member confirmed or withdrew it in the meantime.  Says which, as it is now."""
    confirmed_at, withdrawn_at = db.session.execute(sa.select(PaperEntry.confirmed_at, PaperEntry.withdrawn_at)
                                                    .where(PaperEntry.id == entry_id)).one()
    if withdrawn_at is not None:
        return Conflict("该纸质选票已被撤回", code="paper_already_withdrawn", details={"id": entry_id})
    if confirmed_at is not None:
        return Conflict("该纸质选票已被复核", code="paper_already_confirmed", details={"id": entry_id})
    return Conflict("该纸质选票已被他人修改，请刷新后重试", code="paper_entry_changed", details={"id": entry_id})


def _entry_to_act_on(entry_id: int, actor) -> tuple[PaperEntry, Vote, object]:
    """The entry, its vote and the organisation through which ``actor`` acts on it, checked
    before anything about the entry's or the vote's state: an entry of a vote ``actor`` may not
    see is ``paper_ballot_not_found``, as for an id that does not exist.

    :raises NotFound: ``paper_ballot_not_found``; :raises Forbidden: ``not_owners_committee``."""
    entry = db.session.get(PaperEntry, entry_id)
    missing = NotFound("找不到该纸质选票", code="paper_ballot_not_found", details={"id": entry_id})
    if entry is None:
        raise missing
    try:
        vote, org = vote_to_act_on(entry.vote_id, actor)
    except NotFound as exc:
        raise missing from exc
    return entry, vote, org


def confirm_paper_ballot(entry_id: int, actor) -> dict:
    """Confirm a paper ballot entry: a committee member other than the one who entered it checks
    the entry against the scan.  Only confirmed entries count.

    Exclusive with :func:`withdraw_paper_ballot` and with a second confirmation: one conditional
    UPDATE (``WHERE confirmed_at IS NULL AND withdrawn_at IS NULL``, rowcount checked), so of two
    members acting on the entry at once exactly one succeeds and the other gets 409 -- an entry is
    never both confirmed and withdrawn.  An entry that disagrees with another live entry of its
    head (entered before entries were checked at entry, RULES.md §1) is not confirmed: the wrong
    one must be withdrawn first.

    :raises Forbidden: ``paper_confirm_same_user``; :raises Conflict: ``paper_already_confirmed``,
        ``paper_already_withdrawn``, ``paper_ballot_conflicts_head``, ``vote_state_invalid``;
        :raises NotFound: ``paper_ballot_not_found`` (also an entry of a vote ``actor`` may not see).

    Order: permission (:func:`_entry_to_act_on`), then the phase and the entry's state.
    """
    entry, vote, org = _entry_to_act_on(entry_id, actor)
    _require_state(vote, "open", "closed")
    if entry.entered_by_id == actor.id:
        raise Forbidden("纸质选票须由录入人以外的另一名委员复核", code="paper_confirm_same_user")
    if entry.confirmed_at is not None:
        raise Conflict("该纸质选票已复核", code="paper_already_confirmed")
    if entry.withdrawn_at is not None:
        raise Conflict("该纸质选票已撤回，不能复核", code="paper_already_withdrawn")
    _hold_state(vote, "open", "closed")
    _hold_paper_ballot(entry.ballot_id, entry.head_id, "该业主已投票，此纸质选票已撤回")
    other = _conflicting_entry(vote.id, entry.head_id, entry.choices, besides=entry.id)
    if other is not None:
        raise _conflict(vote.id, entry.head_id, other, "不能复核")
    now = utcnow()
    done = db.session.execute(
        sa.update(PaperEntry).where(PaperEntry.id == entry.id, PaperEntry.confirmed_at.is_(None),
                                    PaperEntry.withdrawn_at.is_(None), PaperEntry.entered_by_id != actor.id)
        .values(confirmed_by_id=actor.id, confirmed_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise _entry_moved(entry.id)
    db.session.refresh(entry)
    audit.record("paper_ballot.confirm", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"paper_entry_id": entry.id})
    return {"id": entry.id, "vote_id": vote.id, "head_id": entry.head_id, "roster_unit_id": entry.roster_unit_id,
            "confirmed": True, "confirmed_at": entry.confirmed_at, "entered_at": entry.entered_at,
            "scan_url": paper_scan_url(entry)}


def _withdraw_org(entry: PaperEntry, vote: Vote, actor, org):
    """The organisation through which ``actor`` (already acting through ``org`` for the vote) may
    withdraw ``entry``: for an unconfirmed entry the member who entered it, or the committee head
    (or an administrator); for a confirmed one only the committee head (or an administrator).

    :raises Forbidden: ``paper_withdraw_not_allowed``; :raises Conflict: ``paper_already_confirmed``
        (a confirmed entry, and ``actor`` is not the committee head)."""
    if actor.kind == "admin":
        return org
    if entry.confirmed_at is None and entry.entered_by_id == actor.id:
        return org
    try:
        return acting_org(actor, vote.scope_place_id, roles=("head",))
    except Forbidden as exc:
        if entry.confirmed_at is not None:
            raise Conflict("该纸质选票已复核，只有业主委员会主任可在结果公布前撤回", code="paper_already_confirmed",
                           details={"id": entry.id}) from exc
        raise Forbidden("仅录入人或业主委员会主任可撤回未复核的纸质选票",
                        code="paper_withdraw_not_allowed", details={"id": entry.id}) from exc


def withdraw_paper_ballot(entry_id: int, data: dict, actor) -> dict:
    """Withdraw a wrongly entered paper ballot entry.

    Who: for an entry not yet confirmed, the committee member who entered it or the head of the
    owners' committee (or an administrator).  A confirmed entry -- what two people fixed as
    counting -- only the head of the owners' committee (or an administrator), and only before the
    results are published (vote open or closed): the way out when the head's entries disagree
    (e.g. entered before such entries were refused) and the tally answers
    ``tally_conflicting_ballots`` -- "核实后重新录入" then means: withdraw the wrong one, enter the
    right one if it is missing, confirm, publish.  Audited as ``paper_ballot.withdraw`` or
    ``paper_ballot.withdraw_confirmed`` (with who had confirmed it, and when).

    The entry is not deleted: it stays in the record, with its scan, marked withdrawn (who, when,
    why), and never counts; the unit's paper ballot can then be entered again.  The record is kept
    for the one-year revocation period (SPC Art. 12; RULES.md §1).

    Exclusive with :func:`confirm_paper_ballot`: one conditional UPDATE on the state the entry was
    read in, rowcount checked -- of a confirmation and a withdrawal at once exactly one succeeds,
    the other gets 409.  The vote's phase is held (:func:`_hold_state`), so a confirmed entry is
    never withdrawn from under a publication.

    ``data``: ``reason`` (text, required).
    :raises Forbidden: ``paper_withdraw_not_allowed`` (neither the enterer nor the committee head),
        ``not_owners_committee``; :raises Conflict: ``paper_already_confirmed`` (confirmed, and not
        the committee head; or confirmed meanwhile), ``paper_already_withdrawn``,
        ``vote_state_invalid`` (e.g. results published); :raises NotFound: ``paper_ballot_not_found``
        (also an entry of a vote ``actor`` may not see).

    Order: permission (:func:`_entry_to_act_on`), then the phase and the entry's state.
    """
    entry, vote, org = _entry_to_act_on(entry_id, actor)
    _require_state(vote, "open", "closed")
    if entry.withdrawn_at is not None:
        raise Conflict("该纸质选票已撤回", code="paper_already_withdrawn")
    org = _withdraw_org(entry, vote, actor, org)
    reason = require_text(data["reason"], "reason", 500)
    was_confirmed = entry.confirmed_at is not None
    confirmed_by_id, confirmed_at = entry.confirmed_by_id, entry.confirmed_at
    _hold_state(vote, "open", "closed")
    now = utcnow()
    state = PaperEntry.confirmed_at.is_not(None) if was_confirmed else PaperEntry.confirmed_at.is_(None)
    done = db.session.execute(
        sa.update(PaperEntry).where(PaperEntry.id == entry.id, PaperEntry.withdrawn_at.is_(None), state)
        .values(withdrawn_at=now, withdrawn_by_id=actor.id, withdrawal_reason=reason)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise _entry_moved(entry.id)
    db.session.refresh(entry)
    data_out = {"paper_entry_id": entry.id, "roster_unit_id": entry.roster_unit_id, "head_id": entry.head_id}
    if was_confirmed:
        data_out.update({"confirmed_by_id": confirmed_by_id, "confirmed_at": confirmed_at.isoformat()})
    audit.record("paper_ballot.withdraw_confirmed" if was_confirmed else "paper_ballot.withdraw", "vote", vote.id,
                 actor=actor, actor_role=actor_role(actor, org), note=reason, data=data_out)
    return {"id": entry.id, "vote_id": vote.id, "head_id": entry.head_id, "roster_unit_id": entry.roster_unit_id,
            "entered_at": entry.entered_at, "confirmed": was_confirmed, "confirmed_at": entry.confirmed_at,
            "withdrawn": True, "withdrawn_at": entry.withdrawn_at, "scan_url": paper_scan_url(entry)}


# --- reads for the staff console's paper desk -----------------------------------------------------
# The console (civic.console.votes) shows what these return; every rule stays in the verbs above.

def _natural(text: str) -> tuple:
    """Sort key: "2号楼" before "10号楼"."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def paper_unit_search(vote_id: int, actor, *, building: str | None = None, q: str | None = None,
                      limit: int = 100) -> dict:
    """Find the units of an open (or closed) vote's frozen roster for paper ballot entry, by
    building and by part of the unit code (e.g. ``"1203"`` or ``"3-1203"``).

    :returns: ``{"buildings": [names, natural order], "items": [{"roster_unit_id", "unit_code",
        "unit_name" (``滨江花园3号楼1203室``), "building", "area" (Decimal m²), "head_id", "status"}],
        "truncated": bool}``; ``status`` is
        ``None`` (nothing returned yet), ``"pending"`` / ``"confirmed"`` (this unit's live paper
        entry), or ``"online"`` / ``"proxy"`` (the head voted that way).  No filter: no items.
    :raises Forbidden: ``not_owners_committee``; :raises Conflict: ``vote_not_open`` (not frozen yet).
    """
    vote = get_vote(vote_id)
    acting_org(actor, vote.scope_place_id)
    if vote.state in ("draft", "announced"):
        raise Conflict("投票尚未开始", code="vote_not_open")
    buildings = sorted(db.session.scalars(sa.select(VoteUnit.building).where(VoteUnit.vote_id == vote.id)
                                          .distinct()), key=_natural)
    building = (building or "").strip() or None
    q = (q or "").strip()[:64] or None
    if building is None and q is None:
        return {"buildings": buildings, "items": [], "truncated": False}
    stmt = sa.select(VoteUnit.roster_unit_id, VoteUnit.unit_code, VoteUnit.building, VoteUnit.area,
                     VoteUnit.head_id).where(VoteUnit.vote_id == vote.id)
    if building:
        stmt = stmt.where(VoteUnit.building == building)
    if q:
        stmt = stmt.where(VoteUnit.unit_code.contains(q, autoescape=True))
    rows = db.session.execute(stmt.order_by(VoteUnit.roster_unit_id).limit(limit + 1)).all()
    rows.sort(key=lambda r: _natural(r.unit_code))
    truncated = len(rows) > limit
    rows = rows[:limit]
    heads = {r.head_id for r in rows}
    units = [r.roster_unit_id for r in rows]
    kinds = dict(db.session.execute(sa.select(Ballot.head_id, Ballot.kind).where(
        Ballot.vote_id == vote.id, Ballot.head_id.in_(heads), Ballot.kind != "paper")).all()) if heads else {}
    entries = dict(db.session.execute(sa.select(PaperEntry.roster_unit_id, PaperEntry.confirmed_at).where(
        PaperEntry.vote_id == vote.id, PaperEntry.roster_unit_id.in_(units),
        PaperEntry.withdrawn_at.is_(None))).all()) if units else {}
    names = unit_names(vote.id, units)
    items = []
    for r in rows:
        status = kinds.get(r.head_id)
        if status is None and r.roster_unit_id in entries:
            status = "confirmed" if entries[r.roster_unit_id] is not None else "pending"
        items.append({"roster_unit_id": r.roster_unit_id, "unit_code": r.unit_code, "unit_name": names[r.roster_unit_id],
                      "building": r.building, "area": r.area, "head_id": r.head_id, "status": status})
    return {"buildings": buildings, "items": items, "truncated": truncated}


def _entry_out(e: PaperEntry, users: dict, codes: dict, actor, names: dict | None = None) -> dict:
    def name(uid):
        return users[uid].display_name if uid in users else None

    state = "withdrawn" if e.withdrawn_at else ("confirmed" if e.confirmed_at else "pending")
    return {"id": e.id, "roster_unit_id": e.roster_unit_id, "unit_code": codes.get(e.roster_unit_id),
            "unit_name": (names or {}).get(e.roster_unit_id, codes.get(e.roster_unit_id)), "head_id": e.head_id,
            "signer_kind": e.signer_kind, "state": state, "mine": e.entered_by_id == actor.id,
            "entered_by": name(e.entered_by_id), "entered_at": e.entered_at,
            "confirmed_by": name(e.confirmed_by_id), "confirmed_at": e.confirmed_at,
            "withdrawn_by": name(e.withdrawn_by_id), "withdrawn_at": e.withdrawn_at,
            "withdrawal_reason": e.withdrawal_reason}


def _may_withdraw(entry: PaperEntry, vote: Vote, actor, org) -> bool:
    """Whether :func:`withdraw_paper_ballot` would let ``actor`` withdraw ``entry`` now (for the page)."""
    if entry.withdrawn_at is not None or vote.state not in ("open", "closed"):
        return False
    try:
        _withdraw_org(entry, vote, actor, org)
    except (Forbidden, Conflict):
        return False
    return True


def paper_unit(vote_id: int, roster_unit_id: int, actor) -> dict:
    """One unit of the frozen roster, for entering its paper ballot: the unit (with its
    ``unit_name``, ``滨江花园1号楼101室``, as every unit below), its head (SPC
    Art. 9: every unit of the head, the owners with masked phones and who represents them), the
    head's ballot channel if it voted online or by proxy, and the paper entries of the head's units
    (state ``pending`` / ``confirmed`` / ``withdrawn``, who entered and confirmed them; never the
    choices: before the vote closes staff see who voted, not how), each with ``can_withdraw``:
    whether ``actor`` may withdraw it now (:func:`_withdraw_org`: a pending entry its enterer or
    the committee head, a confirmed one only the committee head or an administrator; the vote open
    or closed, not published).

    ``contested`` (and each entry's): the head's live entries disagree (:func:`enter_paper_ballot`:
    none counts until the wrong one is withdrawn).
    ``signers`` (:func:`civic.voting.service.electorate.unit_signers`): whom the form offers as
    the ballot's signer.  ``may_enter`` / ``blocked`` say whether an entry can be made now and, if not, why (for the
    page; :func:`enter_paper_ballot` decides).
    :raises Forbidden: ``not_owners_committee``; :raises NotFound: ``unit_not_on_roster``.
    """
    vote = get_vote(vote_id)
    org = acting_org(actor, vote.scope_place_id)
    vu = _vote_unit(vote, roster_unit_id)
    head = db.session.get(Head, vu.head_id)
    units = db.session.execute(sa.select(VoteUnit.roster_unit_id, VoteUnit.unit_code, VoteUnit.area).where(
        VoteUnit.head_id == head.id).order_by(VoteUnit.roster_unit_id)).all()
    members = db.session.execute(
        sa.select(RosterPerson.name, RosterPerson.phone, RosterPerson.kind, HeadMember.representative)
        .join(HeadMember, HeadMember.person_id == RosterPerson.id)
        .where(HeadMember.head_id == head.id).order_by(RosterPerson.id)).all()
    kind = db.session.scalar(sa.select(Ballot.kind).where(Ballot.vote_id == vote.id, Ballot.head_id == head.id))
    entries = db.session.scalars(sa.select(PaperEntry).where(PaperEntry.vote_id == vote.id,
                                                             PaperEntry.head_id == head.id)
                                 .order_by(PaperEntry.id)).all()
    users = accounts.users_by_ids({uid for e in entries
                                   for uid in (e.entered_by_id, e.confirmed_by_id, e.withdrawn_by_id) if uid})
    codes = {u.roster_unit_id: u.unit_code for u in units}
    names = unit_names(vote.id, list(codes))
    out_entries = [{**_entry_out(e, users, codes, actor, names), "can_withdraw": _may_withdraw(e, vote, actor, org)}
                   for e in entries]
    contested = _contested(vote.id, [head.id])
    for e in out_entries:
        e["contested"] = e["id"] in contested
    live = next((e for e in out_entries if e["roster_unit_id"] == vu.roster_unit_id and e["state"] != "withdrawn"),
                None)
    blocked = None
    if vote.state not in ("open", "closed"):
        blocked = f"表决处于“{STATE_NAMES[vote.state]}”阶段，不能录入纸质选票"
    elif kind in ("online", "proxy"):
        blocked = ("该业主已在线投票" if kind == "online" else "该业主的委托代理人已投票") + "，不能再录入纸质选票"
    elif live is not None:
        blocked = "该房屋的纸质选票已录入，" + ("已复核计入" if live["state"] == "confirmed" else "等待另一名委员复核")
    return {
        "vote": vote,
        "unit": {"roster_unit_id": vu.roster_unit_id, "unit_code": vu.unit_code,
                 "unit_name": names[vu.roster_unit_id], "building": vu.building,
                 "area": vu.area, "area_source": vu.area_source, "developer_held": vu.developer_held},
        "head": {"head_id": head.id, "label": head_names(vote.id, [head.id]).get(head.id, ""), "area": head.area, "unit_count": head.unit_count,
                 "units": [{"roster_unit_id": u.roster_unit_id, "unit_code": u.unit_code,
                            "unit_name": names[u.roster_unit_id], "area": u.area} for u in units],
                 "members": [{"name": m.name, "phone": mask_phone(m.phone), "kind": m.kind,
                              "representative": m.representative} for m in members]},
        "ballot_kind": kind,
        "signers": unit_signers(vote, head.id, vu.roster_unit_id),
        "entries": out_entries,
        "contested": bool(contested),
        "may_enter": blocked is None,
        "blocked": blocked,
    }


def pending_paper_entries(vote_id: int, actor) -> list[dict]:
    """The vote's paper entries awaiting confirmation (neither confirmed nor withdrawn), oldest
    first, for the confirming member to check each against its scan: the unit (by name), the head
    (its units' names and its owners' names, to compare with the name on the ballot), the choices entered per matter, who entered it and when, and what ``actor`` may do with it:
    ``contested_with`` (the id of a live entry of the same head that disagrees, or ``None``),
    ``can_confirm`` (not the member who entered it, and not contested: :func:`confirm_paper_ballot`) and
    ``can_withdraw`` (the enterer or the committee head: :func:`withdraw_paper_ballot`).

    Showing choices before the vote closes is what the two-person check needs; it is limited to
    the owners' committee and to unconfirmed entries, and each look is audited
    (``vote.paper_pending_viewed``), like every look at the full record.
    :raises Forbidden: ``not_owners_committee``.
    """
    vote = get_vote(vote_id)
    org = acting_org(actor, vote.scope_place_id)
    entries = db.session.scalars(sa.select(PaperEntry).where(
        PaperEntry.vote_id == vote.id, PaperEntry.confirmed_at.is_(None), PaperEntry.withdrawn_at.is_(None))
        .order_by(PaperEntry.id)).all()
    if not entries:
        return []
    units = {u.roster_unit_id: u for u in db.session.execute(
        sa.select(VoteUnit.roster_unit_id, VoteUnit.unit_code, VoteUnit.building, VoteUnit.area).where(
            VoteUnit.vote_id == vote.id, VoteUnit.roster_unit_id.in_([e.roster_unit_id for e in entries])))}
    labels = head_names(vote.id, {e.head_id for e in entries})
    names = unit_names(vote.id, list(units))
    owners: dict[int, list[str]] = defaultdict(list)
    for hid, name in db.session.execute(
            sa.select(HeadMember.head_id, RosterPerson.name).join(RosterPerson, RosterPerson.id == HeadMember.person_id)
            .where(HeadMember.head_id.in_({e.head_id for e in entries})).order_by(RosterPerson.id)):
        owners[hid].append(name)
    users = accounts.users_by_ids({e.entered_by_id for e in entries})
    matters = matters_of(vote.id)
    codes = {uid: u.unit_code for uid, u in units.items()}
    contested = _contested(vote.id, {e.head_id for e in entries})
    items = []
    for e in entries:
        try:
            _withdraw_org(e, vote, actor, org)
            can_withdraw = True
        except Forbidden:
            can_withdraw = False
        u = units[e.roster_unit_id]
        items.append({**_entry_out(e, users, codes, actor, names), "building": u.building, "area": u.area,
                      "head_label": labels.get(e.head_id), "owners": owners[e.head_id],
                      "choices": _choices_out(e.choices, matters),
                      "contested_with": contested.get(e.id),
                      "can_confirm": e.entered_by_id != actor.id and e.id not in contested,
                      "can_withdraw": can_withdraw})
    audit.record("vote.paper_pending_viewed", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"paper_entry_ids": [e.id for e in entries][:1000]})
    return items


def paper_entry_vote_id(entry_id: int) -> int | None:
    """The vote of a paper entry, or ``None`` when there is no such entry (for a page to go back to;
    it says nothing more, and every action checks its actor again)."""
    return db.session.scalar(sa.select(PaperEntry.vote_id).where(PaperEntry.id == entry_id))
