"""Budget rounds, their projects and costs, phase changes, results and carrying out.

Who acts: the organiser is the round's organisation (a residents' committee or a street centre, as
for 金点子 contests); its head and handler staff set the round up, review costs, move the phases and
publish.  Other domains are reached only through their service functions: adopted ideas and their
milestones through ``civic.proposals.contests.service``, resolutions and their action items through
``civic.proposals.deliberation.service``, places and organisations through the registry.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.budgets import rules
from civic.budgets.models import (
    BALLOT_MODES,
    SOURCES,
    VOTE_UNITS,
    BudgetBallot,
    BudgetProject,
    BudgetRound,
    BudgetRoundPlace,
)
from civic.budgets.phases import PHASE_NAMES, TRANSITIONS, require_action
from civic.core import audit
from civic.core.db import as_utc, claim_row, flush_or, insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.pagination import paginate
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry

ORGANISER_KINDS = ("residents_committee", "street_centre")
ORGANISER_ROLES = ("head", "handler")
PLACE_KINDS = ("street", "community", "compound")
TITLE_MAX = 200
NOTE_MAX = 2000
BUDGET_MAX = 10**12  # 分: 100 亿元, far beyond any community fund; keeps sums inside BIGINT


def _changed() -> Conflict:
    return Conflict("该预算轮次刚被他人更新，请刷新后重试", code="round_changed")


def get_round(round_id: int) -> BudgetRound:
    r = db.session.get(BudgetRound, round_id)
    if r is None:
        raise NotFound("找不到该预算轮次", code="round_not_found", details={"round_id": round_id})
    return r


def get_project(project_id: int) -> BudgetProject:
    p = db.session.get(BudgetProject, project_id)
    if p is None:
        raise NotFound("找不到该项目", code="project_not_found", details={"project_id": project_id})
    return p


def place_ids(rnd: BudgetRound) -> list[int]:
    return list(db.session.scalars(sa.select(BudgetRoundPlace.place_id)
                                   .where(BudgetRoundPlace.round_id == rnd.id).order_by(BudgetRoundPlace.place_id)))


def projects_of(rnd: BudgetRound) -> list[BudgetProject]:
    return list(db.session.scalars(sa.select(BudgetProject).where(BudgetProject.round_id == rnd.id)
                                   .order_by(BudgetProject.id)))


def is_organiser(user, rnd: BudgetRound) -> bool:
    if user.kind == "admin":
        return True
    return any(o.id == rnd.organisation_id for _m, o in acting_memberships(user, roles=ORGANISER_ROLES))


def require_organiser(user, rnd: BudgetRound) -> None:
    if not is_organiser(user, rnd):
        raise Forbidden("仅限主办组织的工作人员操作", code="not_organiser",
                        details={"organisation_id": rnd.organisation_id})


def _check_window(opens: dt.datetime, closes: dt.datetime) -> None:
    if as_utc(closes) <= as_utc(opens):
        raise ValidationFailed("投票截止时间须晚于开始时间", code="voting_window_invalid")


def create_round(actor, data: dict) -> BudgetRound:
    """Set up a round: ``{"organisation_id", "title", "budget" (分, > 0), "rule" (rules.RULES),
    "vote_unit" ("household" | "resident"), "ballot_mode" ("budget": the chosen projects' total may
    not exceed the budget | "k": at most ``max_choices`` projects), "max_choices", "place_ids"
    (streets, communities or compounds the organisation covers), "voting_opens_at", "voting_closes_at"}``.
    The round starts in ``setup``.

    :raises Forbidden: ``not_organiser``; ``out_of_scope`` (a place the organisation does not cover).
    :raises ValidationFailed: ``organiser_kind_invalid``, ``budget_invalid``, ``rule_invalid``,
        ``vote_unit_invalid``, ``ballot_mode_invalid``, ``max_choices_required``, ``places_required``,
        ``place_kind_invalid``, ``voting_window_invalid``.
    """
    org = registry.get_organisation(data["organisation_id"])
    if actor.kind != "admin" and not any(
            o.id == org.id for _m, o in acting_memberships(actor, roles=ORGANISER_ROLES)):
        raise Forbidden("仅限主办组织的工作人员操作", code="not_organiser", details={"organisation_id": org.id})
    if org.kind not in ORGANISER_KINDS:
        raise ValidationFailed("主办方须为居委会或街镇中心", code="organiser_kind_invalid", details={"kind": org.kind})
    budget = data["budget"]
    if not 0 < budget <= BUDGET_MAX:
        raise ValidationFailed("预算总额须为正数（单位：分）", code="budget_invalid", details={"max": BUDGET_MAX})
    if data["rule"] not in rules.RULES:
        raise ValidationFailed("计票规则无效", code="rule_invalid", details={"allowed": list(rules.RULES)})
    if data["vote_unit"] not in VOTE_UNITS:
        raise ValidationFailed("投票单位无效", code="vote_unit_invalid", details={"allowed": list(VOTE_UNITS)})
    if data["ballot_mode"] not in BALLOT_MODES:
        raise ValidationFailed("选票方式无效", code="ballot_mode_invalid", details={"allowed": list(BALLOT_MODES)})
    k = data.get("max_choices")
    if data["ballot_mode"] == "k" and not k:
        raise ValidationFailed("限选方式须设置可选项目数", code="max_choices_required")
    pids = sorted(set(data.get("place_ids") or []))
    if not pids:
        raise ValidationFailed("须指定参与的地点", code="places_required")
    for pid in pids:
        place = registry.get_place(pid)
        if place.kind not in PLACE_KINDS:
            raise ValidationFailed("预算轮次的地点须为街道、社区或小区", code="place_kind_invalid",
                                   details={"place_id": pid, "kind": place.kind})
        if not registry.organisation_covers(org.id, pid):
            raise Forbidden("该地点不在主办组织的服务范围内", code="out_of_scope", details={"place_id": pid})
    _check_window(data["voting_opens_at"], data["voting_closes_at"])
    rnd = BudgetRound(organisation_id=org.id, title=require_text(data["title"], "title", TITLE_MAX), budget=budget,
                      rule=data["rule"], vote_unit=data["vote_unit"], ballot_mode=data["ballot_mode"],
                      max_choices=k if data["ballot_mode"] == "k" else None, phase="setup",
                      voting_opens_at=data["voting_opens_at"], voting_closes_at=data["voting_closes_at"],
                      created_by_id=actor.id)
    db.session.add(rnd)
    db.session.flush()
    for pid in pids:
        db.session.add(BudgetRoundPlace(round_id=rnd.id, place_id=pid))
    db.session.flush()
    audit.record("budget_round.create", "budget_round", rnd.id, actor=actor,
                 data={"budget": budget, "rule": rnd.rule, "place_ids": pids})
    return rnd


def set_window(actor, round_id: int, opens: dt.datetime, closes: dt.datetime) -> BudgetRound:
    """Move the voting window (before voting opens only: residents must know it in advance).

    :raises Conflict: ``phase_forbids_action`` once the round is in voting or later.
    """
    rnd = get_round(round_id)
    require_organiser(actor, rnd)
    if rnd.phase not in ("setup", "costing", "review"):
        require_action(rnd.phase, "configure")
    _check_window(opens, closes)
    old = (rnd.voting_opens_at.isoformat(), rnd.voting_closes_at.isoformat())
    rnd.voting_opens_at, rnd.voting_closes_at = opens, closes
    flush_or(_changed())
    audit.record("budget_round.window", "budget_round", rnd.id, actor=actor,
                 data={"from": list(old), "to": [opens.isoformat(), closes.isoformat()]})
    return rnd


def add_project(actor, round_id: int, source: str, source_id: int) -> BudgetProject:
    """Put an adopted 金点子 idea (``source="idea"``) or a committee resolution (``"resolution"``) on
    the round's list; its cost is estimated and reviewed afterwards (:func:`review_cost`).  An idea's
    implementing body defaults to the organisation named when it was adopted.

    :raises NotFound: ``idea_not_found``, ``implementation_not_found`` (not adopted),
        ``resolution_not_found``.
    :raises Conflict: ``phase_forbids_action``; ``project_exists``.
    """
    from civic.proposals.contests import service as contests
    from civic.proposals.deliberation import service as deliberation

    rnd = get_round(round_id)
    require_organiser(actor, rnd)
    require_action(rnd.phase, "add_project")
    if source not in SOURCES:
        raise ValidationFailed("项目来源无效", code="source_invalid", details={"allowed": list(SOURCES)})
    if source == "idea":
        idea = contests.adopted_idea(source_id)
        title, org_id = idea["title"], idea["organisation_id"]
    else:
        res = deliberation.resolution_summary(source_id)
        title, org_id = res["topic_title"], None
    p = insert_once(BudgetProject(round_id=rnd.id, source=source, source_id=source_id, title=title[:TITLE_MAX],
                                  implementing_organisation_id=org_id),
                    Conflict("该项目已在本轮次中", code="project_exists"))
    audit.record("budget_project.add", "budget_round", rnd.id, actor=actor,
                 data={"project_id": p.id, "source": source, "source_id": source_id})
    return p


def review_cost(actor, project_id: int, data: dict) -> BudgetProject:
    """Record the staff-reviewed cost estimate: ``{"cost" (分, > 0), "feasibility_note",
    "implementing_organisation_id"}``.  Costs are frozen once voting opened (issue #20: residents
    vote on the costs they were shown).

    :raises Conflict: ``cost_frozen`` (voting opened), ``phase_forbids_action`` (setup),
        ``project_changed``.
    :raises ValidationFailed: ``cost_invalid``; ``cost_over_budget`` (one project cannot cost more
        than the whole round); ``organisation_out_of_scope``.
    """
    p = get_project(project_id)
    rnd = get_round(p.round_id)
    require_organiser(actor, rnd)
    if rnd.phase in ("voting", "result", "carrying_out"):
        raise Conflict("投票已开始，项目费用已冻结，不能修改", code="cost_frozen",
                       details={"phase": rnd.phase, "cost": p.cost})
    require_action(rnd.phase, "review_cost")
    cost = data["cost"]
    if cost <= 0:
        raise ValidationFailed("项目费用须为正数（单位：分）", code="cost_invalid")
    if cost > rnd.budget:
        raise ValidationFailed("项目费用超过本轮预算总额", code="cost_over_budget",
                               details={"cost": cost, "budget": rnd.budget})
    org = registry.get_organisation(data["implementing_organisation_id"])
    if not any(registry.organisation_covers(org.id, pid) for pid in place_ids(rnd)):
        raise ValidationFailed(f"「{org.name}」的服务范围不包括本轮次的地点", code="organisation_out_of_scope",
                               details={"organisation_id": org.id})
    old = p.cost
    p.cost, p.implementing_organisation_id = cost, org.id
    p.feasibility_note = require_text(data["feasibility_note"], "feasibility_note", NOTE_MAX)
    p.reviewed_by_id, p.reviewed_at = actor.id, utcnow()
    flush_or(Conflict("该项目刚被他人更新，请刷新后重试", code="project_changed"))
    audit.record("budget_project.review_cost", "budget_round", rnd.id, actor=actor,
                 data={"project_id": p.id, "from": old, "to": cost, "organisation_id": org.id})
    return p


def transition(actor, round_id: int, to: str, note: str | None = None) -> BudgetRound:
    """Move the round along :data:`civic.budgets.phases.TRANSITIONS`.  Opening voting needs at least
    one project and every project's cost reviewed; moving to ``result`` closes the ballots and
    computes the result (:func:`compute_result`); ``carrying_out`` needs the result published.

    :raises Conflict: ``transition_invalid``; ``no_projects``; ``project_cost_not_reviewed``
        (details ``{"project_ids"}``); ``result_not_published``; ``round_changed``.
    """
    rnd = get_round(round_id)
    require_organiser(actor, rnd)
    if to not in TRANSITIONS.get(rnd.phase, ()):
        raise Conflict(f"「{PHASE_NAMES.get(rnd.phase, rnd.phase)}」阶段不能转到该阶段", code="transition_invalid",
                       details={"from": rnd.phase, "to": to, "allowed": list(TRANSITIONS[rnd.phase])})
    if to == "voting":
        projects = projects_of(rnd)
        if not projects:
            raise Conflict("本轮次还没有项目", code="no_projects")
        unreviewed = [p.id for p in projects if p.reviewed_at is None]
        if unreviewed:
            raise Conflict("仍有项目的费用未经审核，不能开始投票", code="project_cost_not_reviewed",
                           details={"project_ids": unreviewed})
    if to == "carrying_out" and rnd.published_at is None:
        raise Conflict("结果尚未公布", code="result_not_published")
    old = rnd.phase
    rnd.phase = to
    claim_row(rnd, _changed())
    if to == "result":
        compute_result(rnd)
    audit.record("budget_round.transition", "budget_round", rnd.id, actor=actor, note=note,
                 data={"from": old, "to": to})
    return rnd


def ballots_of(rnd: BudgetRound) -> list[frozenset[str]]:
    return [frozenset(str(i) for i in ids) for ids in db.session.scalars(
        sa.select(BudgetBallot.project_ids).where(BudgetBallot.round_id == rnd.id).order_by(BudgetBallot.id))]


def compute_result(rnd: BudgetRound) -> rules.Outcome:
    """Count the round's ballots by its rule (:func:`civic.budgets.rules.compute`: exact 分, ties by
    lower cost then id) and store each project's approvals, whether it is funded and in which order,
    and the total spent.  Called when voting closes; the result is shown once published."""
    projects = projects_of(rnd)
    outcome = rules.compute(rnd.rule, [rules.Project(str(p.id), p.cost) for p in projects], ballots_of(rnd),
                            rnd.budget)
    order = {pid: i for i, pid in enumerate(outcome.winners, start=1)}
    for p in projects:
        p.votes = outcome.votes[str(p.id)]
        p.funded = str(p.id) in order
        p.funded_position = order.get(str(p.id))
    rnd.spent, rnd.computed_at = outcome.spent, utcnow()
    db.session.flush()
    audit.record("budget_round.compute", "budget_round", rnd.id,
                 data={"rule": rnd.rule, "winners": [int(w) for w in outcome.winners], "spent": outcome.spent})
    return outcome


def publish_result(actor, round_id: int) -> BudgetRound:
    """Publish the computed result (the public page and the API show it from now on).

    :raises Conflict: ``phase_forbids_action``; ``already_published``; ``round_changed``.
    """
    rnd = get_round(round_id)
    require_organiser(actor, rnd)
    require_action(rnd.phase, "publish")
    if rnd.published_at is not None:
        raise Conflict("结果已公布", code="already_published")
    rnd.published_at = utcnow()
    claim_row(rnd, _changed())
    audit.record("budget_round.publish", "budget_round", rnd.id, actor=actor,
                 data={"spent": rnd.spent, "funded": [p.id for p in projects_of(rnd) if p.funded]})
    return rnd


def add_milestone(actor, project_id: int, title: str, due_on: dt.date | None) -> dict:
    """A milestone for a funded project, kept where the carrying out lives: an idea's milestones in
    its contest's implementation (:func:`civic.proposals.contests.service.add_milestone`), a
    resolution's as an action item for the implementing body
    (:func:`civic.proposals.deliberation.service.add_action_item`, which needs ``due_on``).
    Returns ``{"project_id", "title", "due_on"}``.

    :raises Conflict: ``phase_forbids_action``; ``project_not_funded``.
    :raises ValidationFailed: ``due_on_required`` (a resolution's action item has a deadline).
    """
    from civic.proposals.contests import service as contests
    from civic.proposals.deliberation import service as deliberation

    p = get_project(project_id)
    rnd = get_round(p.round_id)
    require_organiser(actor, rnd)
    require_action(rnd.phase, "milestone")
    if not p.funded:
        raise Conflict("该项目未获资助", code="project_not_funded")
    if p.source == "idea":
        m = contests.add_milestone(actor, p.source_id, title, due_on)
        title, due_on = m.title, m.due_on
    else:
        if due_on is None:
            raise ValidationFailed("督办事项须有完成期限", code="due_on_required")
        deliberation.add_action_item(actor, p.source_id, {"title": title, "organisation_id":
                                                          p.implementing_organisation_id, "due_on": due_on})
    audit.record("budget_project.milestone", "budget_round", rnd.id, actor=actor,
                 data={"project_id": p.id, "title": title})
    return {"project_id": p.id, "title": title, "due_on": due_on}


# --- views --------------------------------------------------------------------------------------

def round_view(rnd: BudgetRound) -> dict:
    published = rnd.published_at is not None
    return {"id": rnd.id, "organisation_id": rnd.organisation_id, "title": rnd.title, "budget": rnd.budget,
            "rule": rnd.rule, "vote_unit": rnd.vote_unit, "ballot_mode": rnd.ballot_mode,
            "max_choices": rnd.max_choices, "phase": rnd.phase, "place_ids": place_ids(rnd),
            "voting_opens_at": rnd.voting_opens_at, "voting_closes_at": rnd.voting_closes_at,
            "spent": rnd.spent if published else None, "published_at": rnd.published_at}


def project_view(p: BudgetProject, *, published: bool) -> dict:
    return {"id": p.id, "round_id": p.round_id, "source": p.source, "source_id": p.source_id, "title": p.title,
            "cost": p.cost, "feasibility_note": p.feasibility_note,
            "implementing_organisation_id": p.implementing_organisation_id,
            "reviewed": p.reviewed_at is not None, "reviewed_at": p.reviewed_at,
            "votes": p.votes if published else None, "funded": p.funded if published else None,
            "funded_position": p.funded_position if published else None}


def list_rounds(*, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Every round, newest first (rounds are public: their budgets and projects are the community's
    business), cursor-paginated."""
    rows, nxt = paginate(sa.select(BudgetRound), [BudgetRound.id], cursor=cursor, limit=limit)
    return [round_view(r) for r in rows], nxt


def project_list(round_id: int) -> list[dict]:
    rnd = get_round(round_id)
    return [project_view(p, published=rnd.published_at is not None) for p in projects_of(rnd)]


def _progress(p: BudgetProject) -> dict:
    from civic.proposals.contests import service as contests
    from civic.proposals.deliberation import service as deliberation

    if p.source == "idea":
        s = contests.implementation_summary(p.source_id)
        return {"status": s["status"], "milestones": [{"title": m["title"], "due_on": m["due_on"],
                                                       "progress": m["progress"]} for m in s["milestones"]]}
    items = deliberation.action_item_summaries(p.source_id)
    return {"status": None, "milestones": [{"title": a["title"], "due_on": a["due_on"],
                                            "progress": 100 if a["state"] == "closed" else 0} for a in items]}


def public_result(round_id: int) -> dict:
    """What the public page shows of a published round: the round, every project with its cost,
    approvals and whether funded, the funded projects' milestones, the budget used and left (分).

    :raises NotFound: ``round_not_found`` (also for a round whose result is not yet published).
    """
    rnd = get_round(round_id)
    if rnd.published_at is None:
        raise NotFound("找不到该预算轮次", code="round_not_found", details={"round_id": round_id})
    projects = sorted(projects_of(rnd), key=lambda p: (not p.funded, p.funded_position or 0, -(p.votes or 0), p.id))
    rows = []
    for p in projects:
        row = project_view(p, published=True)
        row["carrying_out"] = _progress(p) if p.funded else None
        rows.append(row)
    names = {pid: registry.get_place(pid).name for pid in place_ids(rnd)}
    return {"round": round_view(rnd), "places": list(names.values()), "projects": rows,
            "spent": rnd.spent, "left": rnd.budget - rnd.spent, "ballots": len(ballots_of(rnd))}


def published_rounds() -> list[BudgetRound]:
    return list(db.session.scalars(sa.select(BudgetRound).where(BudgetRound.published_at.is_not(None))
                                   .order_by(BudgetRound.id.desc())))
