"""Ballots of a budget round: who may vote, online ballots (changeable until voting closes), paper
ballots entered by one staff member and confirmed by a second, receipts.

Rules (issue #20): eligible are residents tied to units in the round's places
(:func:`civic.residents.service.units_within`); one ballot per household (the unit: the lowest of a
resident's units there unless they name one) or per resident, as the round says; approval within the
budget (the chosen projects' total may not exceed it) or of at most k projects.  Receipts as for
owners' votes (:mod:`civic.core.receipts`): a code shown once, its hash kept.
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.budgets.models import BudgetBallot, BudgetPaperEntry, BudgetRound
from civic.budgets.phases import require_action
from civic.budgets.service.rounds import get_round, place_ids, projects_of, require_organiser
from civic.core import audit, receipts
from civic.core.db import as_utc, flush_or, insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.extensions import db


def _require_open(rnd: BudgetRound, action: str) -> None:
    require_action(rnd.phase, action, code="voting_not_open")
    now = utcnow()
    if not as_utc(rnd.voting_opens_at) <= now < as_utc(rnd.voting_closes_at):
        raise Conflict("不在投票时间内", code="voting_not_open",
                       details={"opens_at": rnd.voting_opens_at.isoformat(),
                                "closes_at": rnd.voting_closes_at.isoformat()})


def voter_key(rnd: BudgetRound, resident_id: int, unit_id: int | None = None) -> str:
    """The key of the one ballot ``resident_id`` casts in ``rnd``: ``resident:<id>`` or ``unit:<id>``.

    :raises Forbidden: ``not_eligible`` (no unit in the round's places; or ``unit_id`` is not one of
        the resident's units there).
    """
    from civic.residents import service as residents

    units = residents.units_within(resident_id, place_ids(rnd))
    if not units or (unit_id is not None and unit_id not in units):
        raise Forbidden("您不是本轮次所在地点的居民，不能投票", code="not_eligible",
                        details={"unit_id": unit_id} if unit_id is not None else None)
    if rnd.vote_unit == "resident":
        return f"resident:{resident_id}"
    return f"unit:{unit_id if unit_id is not None else units[0]}"


def check_choices(rnd: BudgetRound, project_ids: list[int]) -> list[int]:
    """The chosen projects, sorted and without repeats, checked against the round.

    :raises ValidationFailed: ``choices_required``; ``project_not_in_round`` (details
        ``{"project_ids"}``); ``ballot_over_budget`` (details ``{"total", "budget"}``, 分);
        ``ballot_over_limit`` (details ``{"chosen", "max_choices"}``).
    """
    chosen = sorted(set(project_ids))
    if not chosen:
        raise ValidationFailed("请至少选择一个项目", code="choices_required")
    costs = {p.id: p.cost for p in projects_of(rnd)}
    unknown = [i for i in chosen if i not in costs]
    if unknown:
        raise ValidationFailed("所选项目不属于本轮次", code="project_not_in_round", details={"project_ids": unknown})
    if rnd.ballot_mode == "budget":
        total = sum(costs[i] for i in chosen)
        if total > rnd.budget:
            raise ValidationFailed(f"所选项目合计 {total / 100:.2f} 元，超过预算 {rnd.budget / 100:.2f} 元",
                                   code="ballot_over_budget", details={"total": total, "budget": rnd.budget})
    elif len(chosen) > rnd.max_choices:
        raise ValidationFailed(f"最多可选 {rnd.max_choices} 个项目", code="ballot_over_limit",
                               details={"chosen": len(chosen), "max_choices": rnd.max_choices})
    return chosen


def _store(rnd: BudgetRound, key: str, chosen: list[int], *, kind: str, cast_by_id: int | None) -> tuple[BudgetBallot, str, bool]:
    code, digest = receipts.new_receipt()
    ballot = db.session.scalar(sa.select(BudgetBallot).where(BudgetBallot.round_id == rnd.id,
                                                             BudgetBallot.voter_key == key))
    changed = Conflict("您的选票刚被更新，请刷新后重试", code="ballot_changed")
    if ballot is None:
        ballot = insert_once(BudgetBallot(round_id=rnd.id, voter_key=key, cast_by_id=cast_by_id, kind=kind,
                                          project_ids=chosen, receipt_hash=digest, replaced_receipts=[],
                                          cast_at=utcnow()), changed)
        return ballot, code, False
    ballot.replaced_receipts = [*ballot.replaced_receipts, ballot.receipt_hash]
    ballot.project_ids, ballot.receipt_hash, ballot.kind = chosen, digest, kind
    ballot.cast_by_id, ballot.cast_at = cast_by_id, utcnow()
    flush_or(changed)
    return ballot, code, True


def cast(actor, round_id: int, project_ids: list[int], unit_id: int | None = None) -> dict:
    """A resident casts or changes their ballot while voting is open.  Returns ``{"ballot_id",
    "project_ids", "cast_at", "changed", "receipt_code"}``: the receipt code is shown only here.

    Order: the round, the window, eligibility, then the choices; nothing is written on any error.

    :raises Conflict: ``voting_not_open``; ``ballot_changed``.
    :raises Forbidden: ``not_eligible``.
    :raises ValidationFailed: see :func:`check_choices`.
    """
    rnd = get_round(round_id)
    _require_open(rnd, "vote")
    key = voter_key(rnd, actor.id, unit_id)
    chosen = check_choices(rnd, project_ids)
    ballot, code, changed = _store(rnd, key, chosen, kind="online", cast_by_id=actor.id)
    audit.record("budget_ballot.change" if changed else "budget_ballot.cast", "budget_round", rnd.id, actor=actor,
                 data={"ballot_id": ballot.id})  # the choices stay out of the log: a ballot is personal data
    return {"ballot_id": ballot.id, "project_ids": chosen, "cast_at": ballot.cast_at, "changed": changed,
            "receipt_code": code}


def my_ballot(actor, round_id: int) -> dict:
    """The actor's own ballot(s) in the round: ``{"project_ids", "cast_at", "kind"}`` per key.

    :raises NotFound: ``ballot_not_found``.
    """
    from civic.residents import service as residents

    rnd = get_round(round_id)
    keys = [f"resident:{actor.id}"] if rnd.vote_unit == "resident" else [
        f"unit:{u}" for u in residents.units_within(actor.id, place_ids(rnd))]
    ballot = db.session.scalar(sa.select(BudgetBallot).where(BudgetBallot.round_id == rnd.id,
                                                             BudgetBallot.voter_key.in_(keys or ["-"]))
                               .order_by(BudgetBallot.id))
    if ballot is None:
        raise NotFound("您在本轮次还没有投票", code="ballot_not_found")
    return {"ballot_id": ballot.id, "project_ids": ballot.project_ids, "cast_at": ballot.cast_at, "kind": ballot.kind}


def receipt(code: str) -> dict:
    """What a receipt code recorded: ``{"round_id", "project_ids", "cast_at", "current"}``; a code
    replaced by a later change of the same ballot answers ``current: false`` and no choices.

    :raises NotFound: ``receipt_not_found``.
    """
    digest = receipts.receipt_hash(code)
    ballot = db.session.scalar(sa.select(BudgetBallot).where(BudgetBallot.receipt_hash == digest))
    if ballot is not None:
        return {"round_id": ballot.round_id, "project_ids": ballot.project_ids, "cast_at": ballot.cast_at,
                "current": True}
    # Only changed ballots hold replaced receipts (version > 1); JSON has no equality or containment
    # operator common to SQLite and PostgreSQL, so their hashes are compared here.
    for b in db.session.scalars(sa.select(BudgetBallot).where(BudgetBallot.version > 1)):
        if digest in (b.replaced_receipts or []):
            return {"round_id": b.round_id, "project_ids": None, "cast_at": None, "current": False}
    raise NotFound("找不到该回执", code="receipt_not_found")


# --- paper ballots ------------------------------------------------------------------------------

def enter_paper(actor, round_id: int, data: dict) -> BudgetPaperEntry:
    """One staff member types a paper ballot: ``{"resident_id", "unit_id" (optional), "project_ids"}``.
    It counts once a second staff member confirms it (:func:`confirm_paper`).

    :raises Conflict: ``voting_not_open``.  :raises Forbidden: ``not_organiser``, ``not_eligible``.
    :raises ValidationFailed: see :func:`check_choices`.
    """
    rnd = get_round(round_id)
    require_organiser(actor, rnd)
    _require_open(rnd, "paper")
    key = voter_key(rnd, data["resident_id"], data.get("unit_id"))
    chosen = check_choices(rnd, data["project_ids"])
    entry = BudgetPaperEntry(round_id=rnd.id, voter_key=key, resident_id=data["resident_id"], project_ids=chosen,
                             entered_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    audit.record("budget_paper.enter", "budget_round", rnd.id, actor=actor, data={"entry_id": entry.id})
    return entry


def get_entry(entry_id: int) -> BudgetPaperEntry:
    e = db.session.get(BudgetPaperEntry, entry_id)
    if e is None:
        raise NotFound("找不到该纸质选票录入", code="paper_entry_not_found")
    return e


def confirm_paper(actor, entry_id: int) -> BudgetPaperEntry:
    """A second staff member confirms a paper entry; it then becomes (or replaces) the voter's ballot.

    :raises Conflict: ``same_staff`` (the one who entered it cannot confirm it); ``already_confirmed``;
        ``voting_not_open``; ``paper_entry_changed``.
    """
    e = get_entry(entry_id)
    rnd = get_round(e.round_id)
    require_organiser(actor, rnd)
    _require_open(rnd, "paper")
    if e.confirmed_at is not None:
        raise Conflict("该纸质选票已确认", code="already_confirmed")
    if e.entered_by_id == actor.id:
        raise Conflict("纸质选票须由另一名工作人员确认", code="same_staff")
    chosen = check_choices(rnd, e.project_ids)  # the projects are frozen, but the check is cheap and sure
    ballot, _code, changed = _store(rnd, e.voter_key, chosen, kind="paper", cast_by_id=e.resident_id)
    e.confirmed_by_id, e.confirmed_at, e.ballot_id = actor.id, utcnow(), ballot.id
    flush_or(Conflict("该纸质选票刚被他人确认", code="paper_entry_changed"))
    audit.record("budget_paper.confirm", "budget_round", rnd.id, actor=actor,
                 data={"entry_id": e.id, "ballot_id": ballot.id, "replaced": changed})
    return e


def pending_entries(actor, round_id: int) -> list[BudgetPaperEntry]:
    rnd = get_round(round_id)
    require_organiser(actor, rnd)
    return list(db.session.scalars(sa.select(BudgetPaperEntry).where(
        BudgetPaperEntry.round_id == rnd.id, BudgetPaperEntry.confirmed_at.is_(None)).order_by(BudgetPaperEntry.id)))


def entry_view(e: BudgetPaperEntry) -> dict:
    return {"id": e.id, "round_id": e.round_id, "resident_id": e.resident_id, "project_ids": e.project_ids,
            "entered_by_id": e.entered_by_id, "confirmed_by_id": e.confirmed_by_id, "confirmed_at": e.confirmed_at,
            "ballot_id": e.ballot_id}


PAPER_SEARCH_MAX = 30


def paper_voter_search(actor, round_id: int, q: str | None, limit: int = PAPER_SEARCH_MAX) -> dict:
    """Who a paper ballot is from, found by the unit written on it rather than by a code: the units
    in the round's places whose full name (``滨江花园3号楼1203室``) contains ``q`` (e.g. ``1203``,
    ``3号楼1203``), each with its residents (display name, phone masked: the organiser's staff
    match the paper's signature, they need no more).  Only the organiser's staff may search.

    :returns: ``{"q", "items": [{"unit_id", "unit_name", "residents": [{"id", "name", "phone"}]}],
        "truncated": bool}`` (at most ``limit`` units, by name); no ``q``: no items.
    :raises Forbidden: ``not_organiser``.
    """
    from civic.accounts.service import users_by_ids
    from civic.core.text import mask_phone
    from civic.property import service as registry

    rnd = get_round(round_id)
    require_organiser(actor, rnd)
    q = (q or "").strip()[:64]
    if not q:
        return {"q": "", "items": [], "truncated": False}
    paths = [registry.get_place(pid).path for pid in place_ids(rnd)]
    # The database matches and cuts (was: every unit name of the round's places made in Python on
    # each search, thousands for a street).
    found = registry.units_named(paths, q.replace(" ", ""), limit=limit + 1)
    truncated = len(found) > limit
    names = dict(found[:limit])
    hits = list(names)
    links = registry.residents_of_units(hits)
    users = users_by_ids({link.user_id for ls in links.values() for link in ls})
    items = [{"unit_id": u, "unit_name": names[u],
              "residents": [{"id": link.user_id, "name": users[link.user_id].display_name,
                             "phone": mask_phone(users[link.user_id].phone)}
                            for link in links.get(u, []) if link.user_id in users]} for u in hits]
    return {"q": q, "items": items, "truncated": truncated}
