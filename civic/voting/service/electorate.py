"""Who may vote, and for which head: the certified roster frozen into the vote's heads and units
when voting opens (and the headcount a vote would freeze before that), owners linking their
account to the roster by a one-time code sent to the roster's phone (never by their own claim),
proxies registered for a head with the owner's written authorisation, the heads an account may
vote for, who may sign a paper ballot for a unit (the same rule), the names of units and heads as
staff read them, and the rosters a reader may list.

Sources (RULES.md §1): SPC 法释〔2009〕7号 Arts. 8-9 (area and headcount: one owner of several units
is one head, all developer-held units one head, the buyer of an undelivered unit is no owner);
上海市住宅物业管理规定 Arts. 16 (certified roster), 18 (proxies with a written authorisation).

Privacy: phones are shown masked.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from civic.accounts import service as accounts
from civic.core import audit
from civic.core.db import insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.photos import process_photos
from civic.core.text import mask_phone, require_text
from civic.extensions import db
from civic.voting import tally as pure
from civic.voting.access import RECORD_READERS, acting_org, actor_role
from civic.voting.models import (
    SIGNER_KINDS,
    Head,
    HeadMember,
    Proxy,
    Roster,
    RosterOwner,
    RosterPerson,
    RosterUnit,
    Vote,
    VoteUnit,
)
from civic.voting.roster import get_roster
from civic.voting.service.votes import _hold_state, _require_state, _store, get_vote, vote_to_act_on

# --- the frozen roster ---------------------------------------------------------------------------

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


def _vote_unit(vote: Vote, roster_unit_id: int) -> VoteUnit:
    vu = db.session.scalar(sa.select(VoteUnit).where(VoteUnit.vote_id == vote.id,
                                                     VoteUnit.roster_unit_id == roster_unit_id))
    if vu is None:
        raise NotFound("该房屋不在本次表决的业主名册中", code="unit_not_on_roster",
                       details={"roster_unit_id": roster_unit_id})
    return vu


def _not_entitled(reason: str, message: str, **details) -> ValidationFailed:
    return ValidationFailed(message, code="paper_signer_not_entitled", details={"reason": reason, **details})


def paper_signer(vote: Vote, head_id: int, roster_unit_id: int, kind: str | None,
                 person_id: int | None) -> dict:
    """Who signed a paper ballot for a unit, checked by the rule an online ballot is checked by
    (:func:`_eligible_heads` and :func:`civic.voting.service.ballots.cast_ballot`), so a ballot
    signed by someone with no right to vote for the unit is refused on paper exactly as online.

    Sources: SPC 法释〔2009〕7号 Art. 9 (the developer holds its unsold and sold-but-undelivered
    units; the buyer of an undelivered unit is not yet an owner; co-owners are one head, voting
    through their representative); 上海市住宅物业管理规定 Art. 18 (a proxy with a written
    authorisation, registered for the head: :func:`register_proxy`).

    * ``owner``: ``person_id`` is an owner of the unit on the frozen roster (a member of its head),
      and its representative when there are co-owners -- a co-owner who does not represent the unit
      signs only as a registered proxy.  The developer named as ``owner`` is taken as ``developer``.
    * ``proxy``: the head has a registered proxy; the entry records it and its principal.
    * ``developer``: the unit is developer-held; the entry records the roster's developer.

    :returns: ``{"signer_kind", "signer_person_id", "proxy_id"}`` for the entry.
    :raises ValidationFailed: ``paper_signer_kind_invalid``, ``paper_signer_required`` (owner
        without ``person_id``), ``paper_signer_not_entitled`` with ``details.reason`` -- the code an
        online ballot by the same person gets (``ballot_not_owner``: not an owner of the unit, e.g.
        the buyer of an undelivered unit or the developer of a delivered one;
        ``ballot_not_representative``) or ``proxy_not_registered``, ``person_not_on_roster``.
    """
    if kind not in SIGNER_KINDS:
        raise ValidationFailed("请选择签署人：业主本人、委托代理人或开发建设单位", code="paper_signer_kind_invalid",
                               details={"allowed": list(SIGNER_KINDS)})
    if kind == "proxy":
        proxy = db.session.execute(sa.select(Proxy.id, Proxy.principal_person_id).where(
            Proxy.vote_id == vote.id, Proxy.head_id == head_id)).first()
        if proxy is None:
            raise _not_entitled("proxy_not_registered", "该业主没有已登记的委托代理人：代理人签署的选票，须先登记业主的书面委托",
                                head_id=head_id)
        return {"signer_kind": "proxy", "signer_person_id": proxy.principal_person_id, "proxy_id": proxy.id}
    members = db.session.execute(
        sa.select(HeadMember.person_id, HeadMember.representative, RosterPerson.kind)
        .join(RosterPerson, RosterPerson.id == HeadMember.person_id).where(HeadMember.head_id == head_id)).all()
    if kind == "developer":
        dev = next((m for m in members if m.kind == "developer"), None)
        if dev is None:
            raise _not_entitled("ballot_not_owner", "该房屋已交付业主，不由开发建设单位持有：开发建设单位不能为其投票",
                                roster_unit_id=roster_unit_id)
        return {"signer_kind": "developer", "signer_person_id": dev.person_id, "proxy_id": None}
    if person_id is None:
        raise ValidationFailed("请选择签署选票的业主", code="paper_signer_required")
    role = db.session.scalar(sa.select(RosterOwner.role).join(RosterPerson, RosterPerson.id == RosterOwner.person_id)
                             .where(RosterOwner.roster_unit_id == roster_unit_id, RosterOwner.person_id == person_id,
                                    RosterPerson.roster_id == vote.roster_id))
    member = next((m for m in members if m.person_id == person_id), None)
    if member is None:
        if role == "buyer":
            raise _not_entitled("ballot_not_owner", "签署人是已购未交付房屋的买受人，尚不是业主，不能投票"
                                "（该房屋由开发建设单位投票）", person_id=person_id)
        on_roster = db.session.scalar(sa.select(RosterPerson.id).where(RosterPerson.id == person_id,
                                                                       RosterPerson.roster_id == vote.roster_id))
        if on_roster is None:
            raise _not_entitled("person_not_on_roster", "签署人不在本次表决的业主名册中", person_id=person_id)
        raise _not_entitled("ballot_not_owner", "签署人不是该房屋的业主，不能为其投票", person_id=person_id)
    if member.kind == "developer":
        return {"signer_kind": "developer", "signer_person_id": person_id, "proxy_id": None}
    if not member.representative:
        raise _not_entitled("ballot_not_representative", "共有房屋由代表业主签署；其他共有人须持有已登记的书面委托，"
                            "按委托代理人录入", person_id=person_id)
    return {"signer_kind": "owner", "signer_person_id": person_id, "proxy_id": None}


def unit_signers(vote: Vote, head_id: int, roster_unit_id: int) -> dict:
    """The people the paper desk may name as a unit's signer, for the form: the unit's owners on
    the roster (the developer for a developer-held unit) and its buyer if sold but not delivered
    (who is no owner: listed so the desk can record what the paper says, and be refused), each
    ``{"person_id", "name", "role": "owner" | "developer" | "buyer", "representative"}``; and the
    head's registered proxy, ``{"proxy_id", "holder_name", "principal"}`` or ``None``."""
    rows = db.session.execute(
        sa.select(RosterPerson.id, RosterPerson.name, RosterPerson.kind, RosterOwner.role, RosterOwner.representative)
        .join(RosterOwner, RosterOwner.person_id == RosterPerson.id)
        .where(RosterOwner.roster_unit_id == roster_unit_id).order_by(RosterOwner.role.desc(), RosterPerson.id)).all()
    reps = dict(db.session.execute(sa.select(HeadMember.person_id, HeadMember.representative)
                                   .where(HeadMember.head_id == head_id)).all())
    people = [{"person_id": r.id, "name": r.name,
               "role": "buyer" if r.role == "buyer" else ("developer" if r.kind == "developer" else "owner"),
               "representative": bool(reps.get(r.id))} for r in rows]
    proxy = db.session.execute(sa.select(Proxy.id, Proxy.holder_name, RosterPerson.name)
                               .join(RosterPerson, RosterPerson.id == Proxy.principal_person_id)
                               .where(Proxy.vote_id == vote.id, Proxy.head_id == head_id)).first()
    return {"people": people,
            "proxy": {"proxy_id": proxy.id, "holder_name": proxy.holder_name, "principal": proxy.name} if proxy else None}


def unit_names(vote_id: int, roster_unit_ids=None) -> dict[int, str]:
    """``{roster unit id: name}`` of the vote's frozen units (all, or those given), as staff read
    them -- ``滨江花园1号楼101室``, never the registry code ``C-BJHY-1-101``: the registry's name of
    the unit (:func:`civic.property.service.unit_full_names`) for a roster built from the registry,
    and for an imported unit with no place, the compound's name, the building and the unit as the
    roster lists it (:func:`civic.property.service.full_unit_name`)."""
    from civic.property import service as registry

    stmt = (sa.select(VoteUnit.roster_unit_id, VoteUnit.unit_code, VoteUnit.building, RosterUnit.place_id)
            .join(RosterUnit, RosterUnit.id == VoteUnit.roster_unit_id).where(VoteUnit.vote_id == vote_id))
    if roster_unit_ids is not None:
        ids = sorted(set(roster_unit_ids))
        if not ids:
            return {}
        rows = [r for i in range(0, len(ids), 500)
                for r in db.session.execute(stmt.where(VoteUnit.roster_unit_id.in_(ids[i:i + 500])))]
    else:
        rows = db.session.execute(stmt).all()
    names = registry.unit_full_names(r.place_id for r in rows if r.place_id)
    compound = None
    out = {}
    for r in rows:
        if r.place_id in names:
            out[r.roster_unit_id] = names[r.place_id]
            continue
        if compound is None:
            compound = registry.get_place(db.session.get(Vote, vote_id).compound_id).name
        out[r.roster_unit_id] = registry.full_unit_name(compound, r.building or "", r.unit_code)
    return out


def head_names(vote_id: int, head_ids, *, shown: int = 3) -> dict[int, str]:
    """``{head id: label}`` naming each head by its units' names (:func:`unit_names`), the first
    ``shown`` in roster order and "等 n 户" for the rest: what the turnout and paper pages show
    instead of the frozen label of unit codes."""
    ids = sorted(set(head_ids))
    if not ids:
        return {}
    rows = []
    for i in range(0, len(ids), 500):
        rows += db.session.execute(sa.select(VoteUnit.head_id, VoteUnit.roster_unit_id).where(
            VoteUnit.vote_id == vote_id, VoteUnit.head_id.in_(ids[i:i + 500])).order_by(VoteUnit.roster_unit_id)).all()
    by_head: dict[int, list[int]] = defaultdict(list)
    for hid, uid in rows:
        by_head[hid].append(uid)
    names = unit_names(vote_id, [u for us in by_head.values() for u in us[:shown]])
    out = {}
    for hid, us in by_head.items():
        label = "、".join(names[u] for u in us[:shown])
        out[hid] = label + (f" 等 {len(us)} 户" if len(us) > shown else "")
    return out


def rosters_of(vote: Vote) -> Roster:
    return get_roster(vote.roster_id)


# --- verification, proxies ----------------------------------------------------------------------

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
        ``vote_state_invalid``; :raises Unauthenticated: ``otp_invalid``, ``otp_expired``, ``otp_locked``;
        :raises NotFound: ``vote_not_found`` (also a draft: to residents it does not exist yet,
        :func:`~civic.voting.service.votes.votes_visible_to`).

    Order: the vote as residents may know it (announced or later), then the phone on its roster
    (who may verify here), then the phase: a caller not on the roster learns nothing of the phase.
    """
    vote = get_vote(vote_id)
    if vote.state == "draft":  # the committee's working copy: announced to no one yet
        raise NotFound("找不到该表决", code="vote_not_found", details={"vote_id": vote_id})
    phone = accounts.normalise_phone(data["phone"])
    person = db.session.scalar(sa.select(RosterPerson).where(RosterPerson.roster_id == vote.roster_id,
                                                             RosterPerson.phone == phone))
    if person is None:
        raise Forbidden("该手机号不在本次表决的业主名册中", code="roster_phone_unknown")
    _require_state(vote, "announced", "open")
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
    Order: permission (:func:`~civic.voting.service.votes.vote_to_act_on`), then the phase.
    """
    vote, org = vote_to_act_on(vote_id, actor)
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


# --- lists ---------------------------------------------------------------------------------------

def list_rosters(actor, *, compound_id: int, cursor: str | None, limit: int) -> tuple[list[Roster], str | None]:
    """The rosters (every version) of a compound, newest first, cursor-paginated.  For the owners'
    committee and the street centre covering the compound (and administrators).
    :raises Forbidden: ``not_owners_committee``."""
    from civic.core.pagination import paginate

    acting_org(actor, compound_id, org_kinds=RECORD_READERS)
    return paginate(sa.select(Roster).where(Roster.compound_id == compound_id), [Roster.id],
                    cursor=cursor, limit=limit)
