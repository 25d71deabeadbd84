"""The owners' vote's verbs: create, matters, the phase machine, deliveries, owner verification,
proxies, ballots (online, proxy, paper with two-person confirmation), receipts, turnout, the tally
and its publication, and the full record.

Sources (RULES.md §1): Civil Code Art. 278 (matters, quorum, majorities), Art. 1259 (以上 includes
the boundary); SPC 法释〔2009〕7号 Arts. 8-9 (area and headcount, developer-held units, buyers of
undelivered units are not owners); 上海市住宅物业管理规定 Arts. 16 (certified roster), 18 (written
voting, proxies with a written authorisation), 69 (votes of part of a compound).

Privacy: phones are shown masked; before a vote closes, staff see who voted but never how; the
full record is for the owners' committee and the street centre after closing, and every look at it
is written to the audit log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from civic.accounts import service as accounts
from civic.core import audit
from civic.core.db import insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.photos import process_photos
from civic.core.storage import MediaStore
from civic.core.text import mask_phone, require_text, tidy
from civic.extensions import db
from civic.voting import tally as pure
from civic.voting.access import RECORD_READERS, acting_org, actor_role
from civic.voting.models import (
    DELIVERY_METHODS,
    Ballot,
    Delivery,
    Head,
    HeadMember,
    Matter,
    PaperEntry,
    Proxy,
    Roster,
    RosterOwner,
    RosterPerson,
    RosterUnit,
    Vote,
    VoteUnit,
)
from civic.voting.roster import get_roster, hold_state

ONLINE_CHOICES = ("agree", "oppose", "abstain")
PAPER_CHOICES = ("agree", "oppose", "abstain", "blank")


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


def get_vote(vote_id: int) -> Vote:
    vote = db.session.get(Vote, vote_id)
    if vote is None:
        raise NotFound("找不到该表决", code="vote_not_found", details={"vote_id": vote_id})
    return vote


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


def _store() -> MediaStore:
    return MediaStore(current_app.config["MEDIA_DIR"])


def _receipt() -> tuple[str, str]:
    """A random receipt code shown once (80 bits, ``XXXX-XXXX-XXXX-XXXX``) and its SHA-256."""
    import base64

    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
    return code, _receipt_hash(code)


def _receipt_hash(code: str) -> str:
    norm = (code or "").replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(norm.encode()).hexdigest()


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
    """Add a matter (Civil Code Art. 278 item ``number`` 1-9, title, text) to a draft vote."""
    vote = get_vote(vote_id)
    org = acting_org(actor, vote.scope_place_id)
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
    """Attach images to a draft vote's matter, through the photo pipeline (metadata stripped)."""
    vote = get_vote(vote_id)
    org = acting_org(actor, vote.scope_place_id)
    _require_state(vote, "draft", code="vote_not_draft")
    matter = db.session.get(Matter, matter_id)
    if matter is None or matter.vote_id != vote.id:
        raise NotFound("找不到该表决事项", code="matter_not_found", details={"matter_id": matter_id})
    if not files:
        raise ValidationFailed("请上传附件图片", code="attachment_required")
    stored = process_photos(files, store=_store())
    _hold_state(vote, "draft", code="vote_not_draft")
    matter.attachments = list(matter.attachments or []) + [
        {"display_key": s.display_key, "thumb_key": s.thumb_key, "width": s.width, "height": s.height}
        for s in stored
    ]
    audit.record("vote.matter_attach", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"matter_id": matter.id, "count": len(stored)})
    return matter


def matters_of(vote_id: int) -> list[Matter]:
    return list(db.session.scalars(sa.select(Matter).where(Matter.vote_id == vote_id).order_by(Matter.id)))


def transition(vote_id: int, action: str, actor, *, note: str | None = None) -> Vote:
    """Move the vote along :data:`TRANSITIONS`, audited.

    * announce: the roster must be certified (Art. 16) and there must be a matter; the notice
      period (``notice_days``) starts: voting may open at ``voting_opens_at``.
    * open: not before ``voting_opens_at``; freezes the roster into the vote's heads and units.
    * close: no more online ballots (paper ballots already returned may still be entered).
    * publish: the tally is computed, stored with the publication time, and shown to owners.

    :raises ValidationFailed: ``transition_unknown``, tally errors (``tally_conflicting_ballots``...);
        :raises Conflict: ``transition_not_allowed``, ``roster_not_certified``, ``matters_empty``,
        ``notice_period_running``, ``paper_ballots_unconfirmed``; :raises Forbidden:
        ``not_owners_committee``.
    """
    t = TRANSITIONS.get(action)
    if t is None:
        raise ValidationFailed("未知的操作", code="transition_unknown",
                               details={"action": action, "allowed": list(TRANSITIONS)})
    vote = get_vote(vote_id)
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
        vote.voting_opens_at = now + dt.timedelta(days=vote.notice_days)
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


def _pending_entries(vote_id: int) -> int:
    """How many paper entries of the vote wait for their confirmation (neither confirmed nor withdrawn)."""
    return db.session.scalar(sa.select(sa.func.count(PaperEntry.id)).where(
        PaperEntry.vote_id == vote_id, PaperEntry.confirmed_at.is_(None), PaperEntry.withdrawn_at.is_(None)))


def _blocker(vote: Vote, action: str, now: dt.datetime) -> Conflict | None:
    """What stops ``action`` on ``vote`` now (besides its phase and who asks), or ``None``: the
    roster must be certified and there must be a matter to announce (Art. 16); the notice period
    must be over to open; every paper entry must be confirmed (or withdrawn) to publish."""
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
        pending = _pending_entries(vote.id)
        if pending:
            return Conflict("还有纸质选票未经复核确认", code="paper_ballots_unconfirmed", details={"count": pending})
    return None


def _roster_rows(roster_id: int) -> tuple[list, dict[int, list[tuple[int, bool]]], list[pure.RosterUnit]]:
    """The roster's unit rows (id order), their owners ``{unit id: [(person id, representative)]}``
    (role ``owner`` only: a buyer of an undelivered unit is no owner, SPC Art. 9), and the units as
    :class:`civic.voting.tally.RosterUnit` for :func:`civic.voting.tally.build_heads`."""
    units = db.session.execute(
        sa.select(RosterUnit.id, RosterUnit.unit_code, RosterUnit.building, RosterUnit.area,
                  RosterUnit.area_source, RosterUnit.developer_status)
        .where(RosterUnit.roster_id == roster_id).order_by(RosterUnit.id)).all()
    ties = db.session.execute(
        sa.select(RosterOwner.roster_unit_id, RosterOwner.person_id, RosterOwner.representative)
        .join(RosterUnit, RosterUnit.id == RosterOwner.roster_unit_id)
        .where(RosterUnit.roster_id == roster_id, RosterOwner.role == "owner")).all()
    owners: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for uid, pid, rep in ties:
        owners[uid].append((pid, bool(rep)))
    roster_units = [pure.RosterUnit(unit_id=u.id, area=Decimal(u.area), area_source=u.area_source,
                                    owner_ids=frozenset(p for p, _ in owners[u.id]),
                                    developer_held=u.developer_status is not None) for u in units]
    return units, owners, roster_units


def _freeze(vote: Vote) -> dict:
    """Freeze the roster into the vote: heads (SPC Art. 9) and units with their areas (Art. 8).

    Bulk inserts: a 10,000-unit roster freezes in a few statements.
    """
    units, owners, roster_units = _roster_rows(vote.roster_id)
    heads = pure.build_heads(roster_units)
    by_id = {u.id: u for u in units}
    db.session.execute(sa.insert(Head), [
        {"vote_id": vote.id, "key": h.key, "area": h.area, "unit_count": len(h.unit_ids),
         "label": ", ".join(by_id[i].unit_code for i in h.unit_ids[:3]) + ("…" if len(h.unit_ids) > 3 else "")}
        for h in heads])
    head_ids = dict(db.session.execute(sa.select(Head.key, Head.id).where(Head.vote_id == vote.id)).all())
    unit_rows, member_rows = [], {}
    for h in heads:
        hid = head_ids[h.key]
        for uid in h.unit_ids:
            u = by_id[uid]
            unit_rows.append({"vote_id": vote.id, "head_id": hid, "roster_unit_id": uid, "unit_code": u.unit_code,
                              "building": u.building, "area": u.area, "area_source": u.area_source,
                              "developer_held": u.developer_status is not None})
            for pid, rep in owners[uid]:
                key = (hid, pid)
                member_rows[key] = member_rows.get(key, False) or rep
    db.session.execute(sa.insert(VoteUnit), unit_rows)
    db.session.execute(sa.insert(HeadMember), [
        {"vote_id": vote.id, "head_id": hid, "person_id": pid, "representative": rep}
        for (hid, pid), rep in member_rows.items()])
    # A head of several units whose units name different representatives has one: the lowest id.
    reps: dict[int, list[int]] = defaultdict(list)
    for (hid, pid), rep in member_rows.items():
        if rep:
            reps[hid].append(pid)
    for hid, pids in reps.items():
        if len(pids) > 1:
            db.session.execute(sa.update(HeadMember).where(HeadMember.head_id == hid,
                                                          HeadMember.person_id.in_(sorted(pids)[1:]))
                               .values(representative=False))
    db.session.flush()
    return {"heads": len(heads), "units": len(unit_rows)}


# --- deliveries, verification, proxies -----------------------------------------------------------

def _vote_unit(vote: Vote, roster_unit_id: int) -> VoteUnit:
    vu = db.session.scalar(sa.select(VoteUnit).where(VoteUnit.vote_id == vote.id,
                                                     VoteUnit.roster_unit_id == roster_unit_id))
    if vu is None:
        raise NotFound("该房屋不在本次表决的业主名册中", code="unit_not_on_roster",
                       details={"roster_unit_id": roster_unit_id})
    return vu


def record_deliveries(vote_id: int, data: dict, actor) -> dict:
    """Record that ballots were delivered to units (per unit; needed before an unreturned ballot
    can be deemed an abstention or to follow the majority, RULES.md §1).  Vote must be open.

    ``data``: ``roster_unit_ids`` (list), ``method`` (hand, mail, mailbox, electronic),
    ``delivered_at`` (default now).  Units already recorded are left as they were.
    :returns: ``{"recorded": n, "already": n}``.
    """
    vote = get_vote(vote_id)
    org = acting_org(actor, vote.scope_place_id)
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


def _heads_of_persons(vote: Vote, person_ids: list[int]) -> list[dict]:
    rows = db.session.execute(
        sa.select(Head.id, Head.label, Head.area, Head.unit_count, HeadMember.representative)
        .join(HeadMember, HeadMember.head_id == Head.id)
        .where(HeadMember.vote_id == vote.id, HeadMember.person_id.in_(person_ids)).order_by(Head.id)).all()
    return [{"head_id": r.id, "label": r.label, "area": r.area, "units": r.unit_count,
             "representative": r.representative} for r in rows]


def verify_owner(vote_id: int, data: dict, actor) -> dict:
    """Link the resident's account to an owner on the vote's roster, by the phone number on the
    roster confirmed with a one-time code -- never by the resident's own claim.

    Without ``code``: sends the code (purpose ``roster``) to ``phone`` if that phone is on the
    roster; returns ``{"sent": True, "expires_at", "phone"}`` (masked).  With ``code``: checks it
    and links; returns ``{"verified": True, "person_id", "name", "phone", "heads": [...]}``.
    Reading chosen: the roster is published to the owners (Art. 16), so saying that a phone is not
    on it reveals nothing secret; the endpoint is rate-limited.

    :raises Forbidden: ``roster_phone_unknown`` (a tenant, or anyone not on the roster);
        :raises Conflict: ``roster_person_linked`` (already linked to another account),
        ``vote_state_invalid``; :raises Unauthenticated: ``otp_invalid``, ``otp_expired``, ``otp_locked``.
    """
    vote = get_vote(vote_id)
    _require_state(vote, "announced", "open")
    phone = accounts.normalise_phone(data["phone"])
    person = db.session.scalar(sa.select(RosterPerson).where(RosterPerson.roster_id == vote.roster_id,
                                                             RosterPerson.phone == phone))
    if person is None:
        raise Forbidden("该手机号不在本次表决的业主名册中", code="roster_phone_unknown")
    if not data.get("code"):
        expires = accounts.request_otp(phone, purpose="roster")
        return {"sent": True, "expires_at": expires, "phone": mask_phone(phone)}
    accounts.check_otp(phone, data["code"], purpose="roster")
    if person.user_id not in (None, actor.id):
        raise Conflict("该业主已关联另一个账号，请联系业主委员会", code="roster_person_linked")
    # One conditional UPDATE: of two accounts verifying the same roster person at once, one links
    # it and the other gets roster_person_linked (a plain read-then-write would let the last win).
    linked = db.session.execute(
        sa.update(RosterPerson).where(RosterPerson.id == person.id,
                                      sa.or_(RosterPerson.user_id.is_(None), RosterPerson.user_id == actor.id))
        .values(user_id=actor.id, verified_at=utcnow()).execution_options(synchronize_session=False))
    if linked.rowcount != 1:
        raise Conflict("该业主已关联另一个账号，请联系业主委员会", code="roster_person_linked")
    db.session.refresh(person)
    audit.record("roster.person_verified", "roster", vote.roster_id, actor=actor,
                 data={"person_id": person.id, "vote_id": vote.id})
    db.session.flush()
    return {"verified": True, "person_id": person.id, "name": person.name, "phone": mask_phone(phone),
            "heads": _heads_of_persons(vote, [person.id])}


def register_proxy(vote_id: int, data: dict, scan: tuple[str, bytes], actor) -> Proxy:
    """Register a proxy for a head (上海市住宅物业管理规定 Art. 18): the owner's written authorisation
    is scanned (through the photo pipeline); the holder (identified by phone) then votes for the
    head as instructed.  A co-owner who does not represent the unit votes only this way.

    ``data``: ``principal_person_id`` (an owner in the head), ``holder_name``, ``holder_phone``.
    :raises NotFound: ``person_not_on_roster``; :raises Conflict: ``proxy_exists`` (also when two
        registrations race: the unique (vote, head) constraint decides), ``vote_not_open``.
    """
    vote = get_vote(vote_id)
    org = acting_org(actor, vote.scope_place_id)
    _require_state(vote, "open", code="vote_not_open")
    member = db.session.scalar(sa.select(HeadMember).where(HeadMember.vote_id == vote.id,
                                                           HeadMember.person_id == data["principal_person_id"]))
    if member is None:
        raise NotFound("委托人不是本次表决名册上的业主", code="person_not_on_roster",
                       details={"person_id": data["principal_person_id"]})
    holder_phone = accounts.normalise_phone(data["holder_phone"])
    if db.session.scalar(sa.select(Proxy.id).where(Proxy.vote_id == vote.id, Proxy.head_id == member.head_id)):
        raise Conflict("该业主已登记委托代理人", code="proxy_exists", details={"head_id": member.head_id})
    holder_name = require_text(data["holder_name"], "holder_name", 100)
    stored = process_photos([scan], store=_store())[0]
    _hold_state(vote, "open", code="vote_not_open")
    proxy = Proxy(vote_id=vote.id, head_id=member.head_id, principal_person_id=member.person_id,
                  holder_name=holder_name, holder_phone=holder_phone,
                  scan_key=stored.display_key, scan_thumb_key=stored.thumb_key, registered_by_id=actor.id)
    insert_once(proxy, Conflict("该业主已登记委托代理人", code="proxy_exists", details={"head_id": member.head_id}))
    audit.record("vote.proxy_register", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"proxy_id": proxy.id, "head_id": proxy.head_id})
    return proxy


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


def _eligible_heads(vote: Vote, actor) -> tuple[list[int], dict[int, str], dict[int, int], dict[int, int]]:
    """(linked person ids, head → "online"|"proxy"|"not_representative", head → person, head → proxy)."""
    persons = list(db.session.scalars(sa.select(RosterPerson.id).where(
        RosterPerson.roster_id == vote.roster_id, RosterPerson.user_id == actor.id)))
    heads: dict[int, str] = {}
    who: dict[int, int] = {}
    proxies: dict[int, int] = {}
    if persons:
        for hid, pid, rep in db.session.execute(
                sa.select(HeadMember.head_id, HeadMember.person_id, HeadMember.representative)
                .where(HeadMember.vote_id == vote.id, HeadMember.person_id.in_(persons))):
            if rep or heads.get(hid) != "online":
                heads[hid] = "online" if rep else "not_representative"
                who[hid] = pid
    if actor.phone:
        for pid, hid, principal in db.session.execute(
                sa.select(Proxy.id, Proxy.head_id, Proxy.principal_person_id)
                .where(Proxy.vote_id == vote.id, Proxy.holder_phone == actor.phone)):
            if heads.get(hid) != "online":
                heads[hid] = "proxy"
                who[hid] = principal
                proxies[hid] = pid
    return persons, heads, who, proxies


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
        ``ballot_choice_invalid``, ``ballot_matter_unknown``.
    """
    vote = get_vote(vote_id)
    _require_state(vote, "open", code="vote_not_open")
    persons, heads, who, proxies = _eligible_heads(vote, actor)
    if not heads:
        if persons:
            raise Forbidden("您在业主名册上不是业主（如已购未交付房屋的买受人），不能投票", code="ballot_not_owner")
        raise Forbidden("请先通过手机验证码验证业主身份", code="owner_not_verified")
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


def _conflict(vote_id: int, head_id: int, other, doing: str) -> Conflict:
    """409 ``paper_ballot_conflicts_head`` naming the head's other entry (its id, unit, state) --
    never its choices: before the vote closes staff see who voted, not how."""
    code = db.session.scalar(sa.select(VoteUnit.unit_code).where(VoteUnit.vote_id == vote_id,
                                                                 VoteUnit.roster_unit_id == other.roster_unit_id))
    state = "已复核计入" if other.confirmed_at is not None else "待复核"
    return Conflict(
        f"{doing}：同一业主名下房屋 {code} 的纸质选票（录入编号 {other.id}，{state}）所选不同，"
        "而一名业主对每项事项只有一票。请与业主核实：若那一张录入有误，请先撤回"
        f"（{'已复核的须由业主委员会主任在结果公布前撤回' if other.confirmed_at is not None else '由录入人或业主委员会主任撤回'}）"
        "后再录入",
        code="paper_ballot_conflicts_head",
        details={"head_id": head_id, "other_entry_id": other.id, "other_roster_unit_id": other.roster_unit_id,
                 "other_unit_code": code, "other_state": "confirmed" if other.confirmed_at is not None else "pending"})


def enter_paper_ballot(vote_id: int, data: dict, scan: tuple[str, bytes], actor) -> dict:
    """Enter one unit's returned paper ballot (书面表决票) with its scan; it counts only once a
    second, different committee member confirms it.  A matter left unmarked is entered as blank.

    One head, one vote (SPC 法释〔2009〕7号 Art. 9; RULES.md §1): the units of one owner (李四's
    102 and 103) are one head.  Reading chosen: a paper ballot returned for the head's other unit
    *with the same choices* is entered too -- it is the owner's own returned paper, it gets its own
    scan and receipt code (so the owner can check each ballot they handed in) and stays in the
    record for the revocation period (SPC Art. 12), and the tally counts the head once
    (:func:`civic.voting.tally.head_votes`).  One that *disagrees* with a live entry of the head
    (pending or confirmed) is refused here, when it is entered: the tally could not count the
    head ("do not guess"), and refusing now keeps the vote publishable.  The committee then asks
    the owner and withdraws the wrong entry (:func:`withdraw_paper_ballot`) before entering again.
    Entries of one head are checked one at a time (:func:`_hold_paper_ballot`), so two entered at
    the same moment cannot both pass.

    ``data``: ``roster_unit_id``, ``choices`` ``{"<matter id>": agree|oppose|abstain|blank}``.
    :returns: ``{"id", "head_id", "receipt_code", ...}`` (the receipt code is for the owner).
    :raises Conflict: ``ballot_already_cast`` (the head voted online or by proxy),
        ``paper_ballot_duplicate`` (this unit's paper ballot is already entered),
        ``paper_ballot_conflicts_head`` (another live entry of the head chose differently: its id,
        unit code and state in ``details``), ``vote_state_invalid``.
    """
    vote = get_vote(vote_id)
    org = acting_org(actor, vote.scope_place_id)
    _require_state(vote, "open", "closed")
    vu = _vote_unit(vote, data["roster_unit_id"])
    choices = _check_choices(data["choices"], matters_of(vote.id), PAPER_CHOICES, fill_blank=True)
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
        raise Conflict("该业主已在线投票，不能再录入纸质选票", code="ballot_already_cast",
                       details={"head_id": vu.head_id})
    _hold_paper_ballot(ballot.id, vu.head_id)
    if db.session.scalar(sa.select(PaperEntry.id).where(PaperEntry.vote_id == vote.id,
                                                        PaperEntry.roster_unit_id == vu.roster_unit_id,
                                                        PaperEntry.withdrawn_at.is_(None))):
        raise Conflict("该房屋的纸质选票已录入", code="paper_ballot_duplicate",
                       details={"roster_unit_id": vu.roster_unit_id})
    other = _conflicting_entry(vote.id, vu.head_id, choices)
    if other is not None:
        raise _conflict(vote.id, vu.head_id, other, "不能录入")
    code, digest = _receipt()
    entry = PaperEntry(vote_id=vote.id, ballot_id=ballot.id, head_id=vu.head_id, roster_unit_id=vu.roster_unit_id,
                       choices=choices, scan_key=stored.display_key, scan_thumb_key=stored.thumb_key,
                       entered_by_id=actor.id, entered_at=utcnow(), receipt_hash=digest)
    insert_once(entry, Conflict("该房屋的纸质选票已录入", code="paper_ballot_duplicate",
                                details={"roster_unit_id": vu.roster_unit_id}))
    audit.record("paper_ballot.enter", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"paper_entry_id": entry.id, "roster_unit_id": vu.roster_unit_id, "head_id": vu.head_id})
    return {"id": entry.id, "vote_id": vote.id, "head_id": vu.head_id, "roster_unit_id": vu.roster_unit_id,
            "unit_code": vu.unit_code, "entered_at": entry.entered_at, "confirmed": False, "receipt_code": code}


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
        :raises NotFound: ``paper_ballot_not_found``.
    """
    entry = db.session.get(PaperEntry, entry_id)
    if entry is None:
        raise NotFound("找不到该纸质选票", code="paper_ballot_not_found", details={"id": entry_id})
    vote = get_vote(entry.vote_id)
    org = acting_org(actor, vote.scope_place_id)
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
            "confirmed": True, "confirmed_at": entry.confirmed_at, "entered_at": entry.entered_at}


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
        ``vote_state_invalid`` (e.g. results published); :raises NotFound: ``paper_ballot_not_found``.
    """
    entry = db.session.get(PaperEntry, entry_id)
    if entry is None:
        raise NotFound("找不到该纸质选票", code="paper_ballot_not_found", details={"id": entry_id})
    vote = get_vote(entry.vote_id)
    org = acting_org(actor, vote.scope_place_id)
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
            "withdrawn": True, "withdrawn_at": entry.withdrawn_at}


# --- receipts, own ballot, turnout ---------------------------------------------------------------

def _choices_out(choices: dict | None, matters: list[Matter]) -> list[dict]:
    choices = choices or {}
    return [{"matter_id": m.id, "number": m.number, "title": m.title, "choice": choices.get(str(m.id))}
            for m in matters]


def receipt(code: str, actor) -> dict:
    """What was recorded for a receipt code: the vote, the kind, each matter's choice, and whether
    it counts (a paper entry counts once confirmed).  :raises NotFound: ``receipt_not_found``."""
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
    they cast as proxy."""
    vote = get_vote(vote_id)
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


def turnout(vote_id: int, actor) -> dict:
    """Who has voted (to remind the others), never how: per head, its units and whether (and how:
    online, proxy, paper) a ballot was returned.  For the owners' committee and the street centre."""
    vote = get_vote(vote_id)
    acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
    if vote.state in ("draft", "announced"):
        raise Conflict("投票尚未开始", code="vote_not_open")
    # a paper ballot whose entries were all withdrawn is not a returned ballot
    live_paper = sa.select(PaperEntry.id).where(PaperEntry.ballot_id == Ballot.id,
                                                PaperEntry.withdrawn_at.is_(None)).exists()
    voted = dict(db.session.execute(sa.select(Ballot.head_id, Ballot.kind).where(
        Ballot.vote_id == vote.id, sa.or_(Ballot.kind != "paper", live_paper))).all())
    heads = db.session.execute(sa.select(Head.id, Head.label, Head.unit_count, Head.area)
                               .where(Head.vote_id == vote.id).order_by(Head.id)).all()
    items = [{"head_id": h.id, "label": h.label, "units": h.unit_count, "area": h.area,
              "voted": h.id in voted, "channel": voted.get(h.id)} for h in heads]
    return {"vote_id": vote.id, "state": vote.state, "heads": len(items), "voted": len(voted), "items": items}


# --- tally and results ---------------------------------------------------------------------------

def _hundredths(col):
    """``col`` (Numeric m², two places) as integer hundredths, computed by the database: exact on
    PostgreSQL (numeric); on SQLite (no decimal type) ``round`` removes the binary error of a
    two-place value, exact for any area below 10¹³ m²."""
    return sa.cast(sa.func.round(col * 100), sa.BigInteger)


def tally_inputs(vote_id: int, mode: str):
    """The tally's inputs from the frozen roster and the counted ballots, in lean queries
    (tuples; areas as integer hundredths straight from SQL; no ORM objects, no Decimal):

    * ``roster``: :class:`civic.voting.tally.FrozenRoster` -- frozen head id -> area hundredths.
      The heads were built and validated once, when the vote opened (``_freeze`` calls
      :func:`civic.voting.tally.build_heads`, SPC Art. 9), so they are not regrouped here;
    * ``matters``: :class:`civic.voting.tally.Matter` list (key = matter id);
    * ``rows``: ``(head id, roster unit id, choice per matter...)`` for online/proxy ballots and
      confirmed paper entries (a matter absent from the stored choices is ``None``);
    * ``deemable``: heads all of whose units have a recorded delivery (deemed modes only).
    """
    head_area = dict(db.session.execute(
        sa.select(Head.id, _hundredths(Head.area)).where(Head.vote_id == vote_id)).all())
    unit_count = db.session.scalar(sa.select(sa.func.count()).select_from(VoteUnit)
                                   .where(VoteUnit.vote_id == vote_id))
    matters = [pure.Matter(number=number, key=str(mid)) for mid, number in db.session.execute(
        sa.select(Matter.id, Matter.number).where(Matter.vote_id == vote_id).order_by(Matter.id)).all()]
    keys = [m.key for m in matters]
    # The choices as JSON text, parsed here by the C json decoder: one parse per ballot (PostgreSQL's
    # ``->>`` per matter re-parses the json document once per matter, which costs more).
    online = sa.select(Ballot.head_id, Ballot.roster_unit_id, sa.cast(Ballot.choices, sa.Text)).where(
        Ballot.vote_id == vote_id, Ballot.kind != "paper")
    paper = sa.select(PaperEntry.head_id, PaperEntry.roster_unit_id, sa.cast(PaperEntry.choices, sa.Text)).where(
        PaperEntry.vote_id == vote_id, PaperEntry.confirmed_at.is_not(None),
        PaperEntry.withdrawn_at.is_(None))
    loads = json.loads
    rows = []
    for head_id, unit_id, text in db.session.execute(online.union_all(paper)):
        choices = loads(text) if text else {}
        rows.append((head_id, unit_id, *[choices.get(k) for k in keys]))
    deemable: list[int] = []
    if mode != "strict":
        delivered = sa.func.count(Delivery.id)
        deemable = list(db.session.scalars(
            sa.select(VoteUnit.head_id)
            .outerjoin(Delivery, sa.and_(Delivery.vote_id == VoteUnit.vote_id,
                                         Delivery.roster_unit_id == VoteUnit.roster_unit_id))
            .where(VoteUnit.vote_id == vote_id).group_by(VoteUnit.head_id)
            .having(delivered == sa.func.count(VoteUnit.id))))
    return pure.FrozenRoster(head_area=head_area, unit_count=unit_count), matters, rows, deemable


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while the tally loads and counts tens of thousands of
    small tuples: they hold no reference cycles, and the collections their allocation triggers
    (each walking every live object of the process) cost more than the count itself.  Reference
    counting still frees everything; the collector is re-enabled (if it was on) on the way out."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def run_tally(vote: Vote):
    """Load the inputs (:func:`tally_inputs`) and tally them with the trusted entry point
    :func:`civic.voting.tally.tally_frozen` -- the same counting as ``tally()`` (Civil Code
    Art. 278; RULES.md §1) without re-validating the roster validated at freeze time.

    :returns: ``(TallyResult, matters, head votes)``.
    :raises TallyInputInvalid: 422, e.g. ``tally_conflicting_ballots`` naming the head (its id and
        unit codes) when one head's confirmed paper ballots disagree.
    """
    try:
        with _gc_paused():
            roster, matters, rows, deemable = tally_inputs(vote.id, vote.counting_mode)
            votes = pure.head_votes(matters, rows)
            result = pure.tally_frozen(roster, matters, votes, mode=vote.counting_mode,
                                       deemable_heads=deemable, rules_allow_deemed=vote.rules_allow_deemed)
    except pure.TallyInputInvalid as exc:
        if exc.code == "tally_conflicting_ballots":
            _name_head(vote, exc)
        raise
    return result, matters, votes


def _name_head(vote: Vote, exc) -> None:
    """Name the conflicting head by its frozen id and all its unit codes."""
    head_id = exc.details.get("head_key")
    codes = sorted(db.session.scalars(sa.select(VoteUnit.unit_code).where(
        VoteUnit.vote_id == vote.id, VoteUnit.head_id == head_id)))
    exc.details["head_id"] = head_id
    exc.details["unit_codes"] = codes
    exc.message = _conflicting_message(codes)


def _conflicting_message(codes: list[str]) -> str:
    """What the committee is told when one head's confirmed paper entries disagree: what is wrong
    and the way out (:func:`withdraw_paper_ballot` by the committee head, then enter again)."""
    return (f"同一业主（房屋 {', '.join(codes)}）的纸质选票不一致，无法计票：请与业主核实，"
            "由业主委员会主任撤回录入有误的一张（已复核的也可在结果公布前撤回），再重新录入")


def conflicting_paper_heads(vote_id: int) -> list[dict]:
    """The heads whose confirmed, not withdrawn paper entries disagree (:func:`_disagree`, the test
    of :func:`civic.voting.tally.head_votes`; RULES.md §1), which the tally refuses to count
    (``tally_conflicting_ballots``) -- entered before such entries were refused at entry, or by
    hand.  Never the choices themselves: only where to look.

    :returns: ``[{"head_id", "unit_codes" (all the head's units, sorted), "message" (what to do),
        "entries": [{"id", "roster_unit_id", "unit_code"}] (the live confirmed entries, id order)}]``,
        in head id order; ``[]`` when every head's entries agree.
    """
    several = (sa.select(PaperEntry.head_id)
               .where(PaperEntry.vote_id == vote_id, PaperEntry.confirmed_at.is_not(None),
                      PaperEntry.withdrawn_at.is_(None))
               .group_by(PaperEntry.head_id).having(sa.func.count(PaperEntry.id) > 1))
    rows = db.session.execute(
        sa.select(PaperEntry.id, PaperEntry.head_id, PaperEntry.roster_unit_id, PaperEntry.choices)
        .where(PaperEntry.vote_id == vote_id, PaperEntry.confirmed_at.is_not(None),
               PaperEntry.withdrawn_at.is_(None), PaperEntry.head_id.in_(several))
        .order_by(PaperEntry.head_id, PaperEntry.id)).all()
    by_head: dict[int, list] = defaultdict(list)
    for r in rows:
        by_head[r.head_id].append(r)
    bad = [h for h, rs in by_head.items()
           if any(_disagree(a.choices, b.choices) for i, a in enumerate(rs) for b in rs[i + 1:])]
    if not bad:
        return []
    units = db.session.execute(sa.select(VoteUnit.head_id, VoteUnit.roster_unit_id, VoteUnit.unit_code).where(
        VoteUnit.vote_id == vote_id, VoteUnit.head_id.in_(bad))).all()
    codes = {u.roster_unit_id: u.unit_code for u in units}
    out = []
    for h in sorted(bad):
        head_codes = sorted(u.unit_code for u in units if u.head_id == h)
        out.append({"head_id": h, "unit_codes": head_codes, "message": _conflicting_message(head_codes),
                    "entries": [{"id": r.id, "roster_unit_id": r.roster_unit_id, "unit_code": codes.get(r.roster_unit_id)}
                                for r in by_head[h]]})
    return out


def building_cells(vote_id: int) -> list[tuple]:
    """``(building, head id, units, area hundredths)`` per head per building, grouped in SQL."""
    return db.session.execute(
        sa.select(VoteUnit.building, VoteUnit.head_id, sa.func.count(),
                  sa.cast(sa.func.sum(_hundredths(VoteUnit.area)), sa.BigInteger))
        .where(VoteUnit.vote_id == vote_id).group_by(VoteUnit.building, VoteUnit.head_id)).all()


def compute_results(vote: Vote) -> dict:
    """The results: the tally (exact fractions as strings, rounded percentages for display), the
    matters' titles, and a breakdown per building (:func:`civic.voting.tally.building_breakdown`:
    units, heads and area; per matter participating and agreeing units, heads and area, and the
    participation fractions -- a head spanning two buildings counts as one head in each)."""
    result, pmatters, votes = run_tally(vote)
    out = result.to_dict()
    titles = {str(m.id): m for m in matters_of(vote.id)}
    for md in out["matters"]:
        m = titles[md["matter_key"]]
        md.update({"matter_id": m.id, "number": m.number, "title": m.title})
    with _gc_paused():
        buildings = pure.building_breakdown(pmatters, building_cells(vote.id), votes)
    for b in buildings:
        for cell in b["matters"]:
            cell["matter_id"] = int(cell.pop("matter_key"))
    out["buildings"] = buildings
    out["vote_id"] = vote.id
    out["counting_mode"] = vote.counting_mode
    out["note"] = "未投票不计入参与表决" if vote.counting_mode == "strict" else (
        "已送达未投票视为弃权" if vote.counting_mode == "deemed_abstain" else "已送达未投票视为随多数")
    return out


def results(vote_id: int, actor) -> dict:
    """Published results (any signed-in user), or, once closed, a preview for the owners'
    committee and street centre.  :raises Conflict: ``results_not_published``."""
    vote = get_vote(vote_id)
    if vote.state == "published":
        return vote.result
    if vote.state == "closed":
        acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
        return {**compute_results(vote), "preview": True}
    raise Conflict("表决结果尚未公布", code="results_not_published", details={"state": vote.state})


def full_record(vote_id: int, actor) -> dict:
    """Every ballot: online, proxy or paper, with its choices, who cast it or who entered and who
    confirmed it, and when.  For the owners' committee and the street centre, once voting is
    closed (kept for the one-year revocation period, SPC Art. 12); each look is audited."""
    from civic.accounts.service import users_by_ids

    vote = get_vote(vote_id)
    org = acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
    _require_state(vote, "closed", "published", code="record_not_available")
    matters = matters_of(vote.id)
    heads = dict(db.session.execute(sa.select(Head.id, Head.label).where(Head.vote_id == vote.id)).all())
    codes = dict(db.session.execute(sa.select(VoteUnit.roster_unit_id, VoteUnit.unit_code)
                                    .where(VoteUnit.vote_id == vote.id)).all())
    persons = dict(db.session.execute(
        sa.select(RosterPerson.id, RosterPerson.name).where(RosterPerson.roster_id == vote.roster_id)).all())
    ballots = db.session.scalars(sa.select(Ballot).where(Ballot.vote_id == vote.id).order_by(Ballot.id)).all()
    entries = db.session.scalars(sa.select(PaperEntry).where(PaperEntry.vote_id == vote.id)
                                 .order_by(PaperEntry.id)).all()
    users = users_by_ids({b.cast_by_id for b in ballots if b.cast_by_id}
                         | {e.entered_by_id for e in entries} | {e.confirmed_by_id for e in entries if e.confirmed_by_id}
                         | {e.withdrawn_by_id for e in entries if e.withdrawn_by_id})

    def uname(uid):
        return users[uid].display_name if uid in users else None

    items = []
    for b in ballots:
        if b.kind == "paper":
            continue
        items.append({"ballot_id": b.id, "head_id": b.head_id, "head": heads.get(b.head_id), "kind": b.kind,
                      "owner": persons.get(b.person_id), "cast_by": uname(b.cast_by_id), "at": b.cast_at,
                      "unit_code": None, "entered_by": None, "confirmed_by": None, "confirmed_at": None,
                      "counted": True, "choices": _choices_out(b.choices, matters)})
    for e in entries:
        items.append({"ballot_id": e.ballot_id, "head_id": e.head_id, "head": heads.get(e.head_id), "kind": "paper",
                      "owner": None, "cast_by": None, "at": e.entered_at, "unit_code": codes.get(e.roster_unit_id),
                      "entered_by": uname(e.entered_by_id), "confirmed_by": uname(e.confirmed_by_id),
                      "confirmed_at": e.confirmed_at, "counted": e.confirmed_at is not None and e.withdrawn_at is None,
                      "withdrawn_at": e.withdrawn_at, "withdrawn_by": uname(e.withdrawn_by_id),
                      "withdrawal_reason": e.withdrawal_reason, "scan_key": e.scan_key,
                      "choices": _choices_out(e.choices, matters)})
    audit.record("vote.record_viewed", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"ballots": len(items)})
    return {"vote_id": vote.id, "state": vote.state, "items": items}


def vote_detail(vote_id: int) -> dict:
    vote = get_vote(vote_id)
    return {"vote": vote, "matters": matters_of(vote.id)}


def rosters_of(vote: Vote) -> Roster:
    return get_roster(vote.roster_id)


# --- lists ---------------------------------------------------------------------------------------

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

    stmt = sa.select(Vote)
    if actor.kind == "resident":
        mine = sa.select(Roster.compound_id).join(RosterPerson, RosterPerson.roster_id == Roster.id).where(
            RosterPerson.user_id == actor.id)
        stmt = stmt.where(Vote.compound_id.in_(mine), Vote.state != "draft")
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


def list_rosters(actor, *, compound_id: int, cursor: str | None, limit: int) -> tuple[list[Roster], str | None]:
    """The rosters (every version) of a compound, newest first, cursor-paginated.  For the owners'
    committee and the street centre covering the compound (and administrators).
    :raises Forbidden: ``not_owners_committee``."""
    from civic.core.pagination import paginate

    acting_org(actor, compound_id, org_kinds=RECORD_READERS)
    return paginate(sa.select(Roster).where(Roster.compound_id == compound_id), [Roster.id],
                    cursor=cursor, limit=limit)


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


def available_transitions(vote_id: int, actor) -> list[dict]:
    """The phase changes of :data:`TRANSITIONS` that ``actor`` may make on the vote in its present
    phase: ``[{"action", "label", "blocked"}]``, where ``blocked`` is ``None`` or the message of
    what stops it now (roster not certified, no matter, notice period running, paper entries
    unconfirmed; for publishing also one head's confirmed paper entries disagreeing
    (:func:`conflicting_paper_heads`), which the tally would refuse: the message says to have the
    committee head withdraw the wrong one).  :func:`transition` remains the one that decides."""
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
        if blocked is None and action == "publish":
            conflicts = conflicting_paper_heads(vote.id)
            blocked = "；".join(c["message"] for c in conflicts[:3]) or None
            if len(conflicts) > 3:
                blocked += f"；另有 {len(conflicts) - 3} 名业主的纸质选票不一致"
        out.append({"action": action, "label": t.label, "blocked": blocked})
    return out


def _natural(text: str) -> tuple:
    """Sort key: "2号楼" before "10号楼"."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def paper_unit_search(vote_id: int, actor, *, building: str | None = None, q: str | None = None,
                      limit: int = 100) -> dict:
    """Find the units of an open (or closed) vote's frozen roster for paper ballot entry, by
    building and by part of the unit code (e.g. ``"1203"`` or ``"3-1203"``).

    :returns: ``{"buildings": [names, natural order], "items": [{"roster_unit_id", "unit_code",
        "building", "area" (Decimal m²), "head_id", "status"}], "truncated": bool}``; ``status`` is
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
    items = []
    for r in rows:
        status = kinds.get(r.head_id)
        if status is None and r.roster_unit_id in entries:
            status = "confirmed" if entries[r.roster_unit_id] is not None else "pending"
        items.append({"roster_unit_id": r.roster_unit_id, "unit_code": r.unit_code, "building": r.building,
                      "area": r.area, "head_id": r.head_id, "status": status})
    return {"buildings": buildings, "items": items, "truncated": truncated}


def _entry_out(e: PaperEntry, users: dict, codes: dict, actor) -> dict:
    def name(uid):
        return users[uid].display_name if uid in users else None

    state = "withdrawn" if e.withdrawn_at else ("confirmed" if e.confirmed_at else "pending")
    return {"id": e.id, "roster_unit_id": e.roster_unit_id, "unit_code": codes.get(e.roster_unit_id),
            "head_id": e.head_id, "state": state, "mine": e.entered_by_id == actor.id,
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
    """One unit of the frozen roster, for entering its paper ballot: the unit, its head (SPC
    Art. 9: every unit of the head, the owners with masked phones and who represents them), the
    head's ballot channel if it voted online or by proxy, and the paper entries of the head's units
    (state ``pending`` / ``confirmed`` / ``withdrawn``, who entered and confirmed them; never the
    choices: before the vote closes staff see who voted, not how), each with ``can_withdraw``:
    whether ``actor`` may withdraw it now (:func:`_withdraw_org`: a pending entry its enterer or
    the committee head, a confirmed one only the committee head or an administrator; the vote open
    or closed, not published).

    ``may_enter`` / ``blocked`` say whether an entry can be made now and, if not, why (for the
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
    out_entries = [{**_entry_out(e, users, codes, actor), "can_withdraw": _may_withdraw(e, vote, actor, org)}
                   for e in entries]
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
        "unit": {"roster_unit_id": vu.roster_unit_id, "unit_code": vu.unit_code, "building": vu.building,
                 "area": vu.area, "area_source": vu.area_source, "developer_held": vu.developer_held},
        "head": {"head_id": head.id, "label": head.label, "area": head.area, "unit_count": head.unit_count,
                 "units": [{"roster_unit_id": u.roster_unit_id, "unit_code": u.unit_code, "area": u.area}
                           for u in units],
                 "members": [{"name": m.name, "phone": mask_phone(m.phone), "kind": m.kind,
                              "representative": m.representative} for m in members]},
        "ballot_kind": kind,
        "entries": out_entries,
        "may_enter": blocked is None,
        "blocked": blocked,
    }


def pending_paper_entries(vote_id: int, actor) -> list[dict]:
    """The vote's paper entries awaiting confirmation (neither confirmed nor withdrawn), oldest
    first, for the confirming member to check each against its scan: the unit, the head (its
    label and its owners' names, to compare with the name on the ballot), the choices entered per matter, who entered it and when, and what ``actor`` may do with it:
    ``can_confirm`` (not the member who entered it: :func:`confirm_paper_ballot`) and
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
    labels = dict(db.session.execute(sa.select(Head.id, Head.label).where(
        Head.id.in_({e.head_id for e in entries}))).all())
    owners: dict[int, list[str]] = defaultdict(list)
    for hid, name in db.session.execute(
            sa.select(HeadMember.head_id, RosterPerson.name).join(RosterPerson, RosterPerson.id == HeadMember.person_id)
            .where(HeadMember.head_id.in_({e.head_id for e in entries})).order_by(RosterPerson.id)):
        owners[hid].append(name)
    users = accounts.users_by_ids({e.entered_by_id for e in entries})
    matters = matters_of(vote.id)
    codes = {uid: u.unit_code for uid, u in units.items()}
    items = []
    for e in entries:
        try:
            _withdraw_org(e, vote, actor, org)
            can_withdraw = True
        except Forbidden:
            can_withdraw = False
        u = units[e.roster_unit_id]
        items.append({**_entry_out(e, users, codes, actor), "building": u.building, "area": u.area,
                      "head_label": labels.get(e.head_id), "owners": owners[e.head_id],
                      "choices": _choices_out(e.choices, matters),
                      "can_confirm": e.entered_by_id != actor.id, "can_withdraw": can_withdraw})
    audit.record("vote.paper_pending_viewed", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"paper_entry_ids": [e.id for e in entries][:1000]})
    return items


def paper_entry_vote_id(entry_id: int) -> int | None:
    """The vote of a paper entry, or ``None`` when there is no such entry (for a page to go back to;
    it says nothing more, and every action checks its actor again)."""
    return db.session.scalar(sa.select(PaperEntry.vote_id).where(PaperEntry.id == entry_id))


def paper_entry_scan(entry_id: int, actor) -> tuple[str, str]:
    """The stored scan of a paper entry, ``(display_key, thumb_key)`` (JPEG copies made by the
    photo pipeline), for the owners' committee of the vote's compound.

    :raises NotFound: ``paper_ballot_not_found``; :raises Forbidden: ``not_owners_committee``."""
    entry = db.session.get(PaperEntry, entry_id)
    if entry is None:
        raise NotFound("找不到该纸质选票", code="paper_ballot_not_found", details={"id": entry_id})
    acting_org(actor, get_vote(entry.vote_id).scope_place_id)
    return entry.scan_key, entry.scan_thumb_key


def turnout_totals(vote_id: int, actor) -> dict:
    """Turnout as totals of the frozen roster, in SQL (areas as integer hundredths, so exact):

    ``{"heads", "units", "area", "returned": {...}, "counted": {...}, "pending_entries",
    "fractions": {"area", "heads"}, "percents": {"area", "heads"}}`` where ``returned`` and
    ``counted`` are ``{"heads", "units", "area"}``: heads with a returned ballot (online, proxy, or
    a paper entry not withdrawn, as :func:`turnout` counts them), and heads whose ballot counts in
    the tally now (online, proxy, or a confirmed paper entry).  A head takes part with all its units
    and its whole area (SPC Art. 9; RULES.md §1).  ``fractions`` are the counted share of all area
    and heads as exact ``"n/d"``; ``percents`` are for display only.  Areas are Decimal m².
    For the owners' committee and the street centre, once voting has opened.
    :raises Conflict: ``vote_not_open``; :raises Forbidden: ``not_owners_committee``.
    """
    vote = get_vote(vote_id)
    acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
    if vote.state in ("draft", "announced"):
        raise Conflict("投票尚未开始", code="vote_not_open")
    other = sa.select(Ballot.head_id).where(Ballot.vote_id == vote.id, Ballot.kind != "paper")
    live = sa.select(PaperEntry.head_id).where(PaperEntry.vote_id == vote.id, PaperEntry.withdrawn_at.is_(None))
    confirmed = live.where(PaperEntry.confirmed_at.is_not(None))

    def sums(*where):
        heads, units, area = db.session.execute(
            sa.select(sa.func.count(Head.id), sa.func.coalesce(sa.func.sum(Head.unit_count), 0),
                      sa.func.coalesce(sa.func.sum(_hundredths(Head.area)), 0))
            .where(Head.vote_id == vote.id, *where)).one()
        return int(heads), int(units), int(area)

    all_h, all_u, all_a = sums()
    ret = sums(sa.or_(Head.id.in_(other), Head.id.in_(live)))
    cnt = sums(sa.or_(Head.id.in_(other), Head.id.in_(confirmed)))

    def part(t):
        return {"heads": t[0], "units": t[1], "area": pure.area_from_hundredths(t[2])}

    area_share = pure.share(cnt[2], all_a or 1)
    heads_share = pure.share(cnt[0], all_h or 1)
    return {"vote_id": vote.id, "state": vote.state, "heads": all_h, "units": all_u,
            "area": pure.area_from_hundredths(all_a), "returned": part(ret), "counted": part(cnt),
            "pending_entries": _pending_entries(vote.id),
            "fractions": {"area": area_share[0], "heads": heads_share[0]},
            "percents": {"area": area_share[1], "heads": heads_share[1]}}


def roster_head_count(roster_id: int) -> dict:
    """The roster's headcount as a vote on it would freeze it (SPC Art. 9, by
    :func:`civic.voting.tally.build_heads`): ``{"heads": n, "problem": None}``, or for a roster
    that cannot be grouped yet (a draft unit without owner...) ``{"heads": None, "problem": message}``."""
    get_roster(roster_id)
    _units, _owners, roster_units = _roster_rows(roster_id)
    if not roster_units:
        return {"heads": 0, "problem": None}
    try:
        return {"heads": len(pure.build_heads(roster_units)), "problem": None}
    except pure.TallyInputInvalid as exc:
        return {"heads": None, "problem": exc.message}
