"""社区微更新 in the console: the organiser's staff set up a budget round, add adopted ideas and
resolutions as projects, review their costs, move the phases, enter and confirm paper ballots
(two people), publish the result and set the funded projects' milestones.  Every rule is
civic.budgets.service's; these views only read forms and render."""

from __future__ import annotations

import datetime as dt

from flask import render_template, request

from civic.budgets import service
from civic.budgets.pages import budget_chart, yuan
from civic.budgets.phases import PHASE_NAMES, TRANSITIONS
from civic.console.blueprint import bp, see_other, staff_page
from civic.core.db import SHANGHAI
from civic.core.errors import ValidationFailed
from civic.property import service as registry

KINDS = ("residents_committee", "street_centre")
RULE_NAMES = {"greedy": "按票数依次资助", "equal_shares": "平等份额法"}


def _int(form, key: str) -> int:
    try:
        return int((form.get(key) or "").strip())
    except ValueError as exc:
        raise ValidationFailed("请填写整数", code="field_invalid", details={"field": key}) from exc


def _fen(form, key: str) -> int:
    """A 元 amount typed with at most two decimals → integer 分 (exact: no float)."""
    text = (form.get(key) or "").strip().replace(",", "")
    whole, _, cents = text.partition(".")
    if not whole.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise ValidationFailed("金额须为元，最多两位小数", code="amount_invalid", details={"field": key})
    return int(whole) * 100 + int((cents + "00")[:2])


def _when(form, key: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(form.get(key, "")).replace(tzinfo=SHANGHAI)
    except ValueError as exc:
        raise ValidationFailed("请填写日期时间", code="field_invalid", details={"field": key}) from exc


def _organisations(user):
    from civic.accounts.memberships import acting_memberships

    # An administrator acts for no organisation here: rounds are set up by the organiser's staff.
    return [o for _m, o in acting_memberships(user, org_kinds=KINDS, roles=service.rounds.ORGANISER_ROLES)]


def _places(orgs) -> list:
    seen, out = set(), []
    for o in orgs:
        paths = registry.covered_place_paths(o.id)
        for kind in ("street", "community", "compound"):
            for p in registry.places_of_kind(kind, under_paths=paths):
                if p.id not in seen:
                    seen.add(p.id)
                    out.append(p)
    return out


@bp.get("/budgets")
@staff_page(*KINDS)
def budgets_home(user):
    """社区微更新：预算轮次列表与设立新轮次。"""
    rounds, _cursor = service.list_rounds(cursor=None, limit=100)
    orgs = _organisations(user)
    return render_template("console/budgets_home.html", rounds=rounds, orgs=orgs, places=_places(orgs),
                           phases=PHASE_NAMES, rules=RULE_NAMES, yuan=yuan)


@bp.post("/budgets")
@staff_page(*KINDS)
def budgets_create(user):
    f = request.form
    rnd = service.create_round(user, {
        "organisation_id": _int(f, "organisation_id"), "title": f.get("title", ""), "budget": _fen(f, "budget_yuan"),
        "rule": f.get("rule", ""), "vote_unit": f.get("vote_unit", ""), "ballot_mode": f.get("ballot_mode", ""),
        "max_choices": _int(f, "max_choices") if (f.get("max_choices") or "").strip() else None,
        "place_ids": [int(x) for x in f.getlist("place_ids") if x.isdigit()],
        "voting_opens_at": _when(f, "voting_opens_at"), "voting_closes_at": _when(f, "voting_closes_at")})
    return see_other("console.budgets_round", round_id=rnd.id)


@bp.get("/budgets/<int:round_id>")
@staff_page(*KINDS)
def budgets_round(user, round_id):
    """一个预算轮次：阶段、项目与费用审核、纸质选票录入与复核、结果公布、实施节点。"""
    rnd = service.get_round(round_id)
    view = service.round_view(rnd)
    organiser = service.is_organiser(user, rnd)
    projects = service.projects_of(rnd)
    pending = service.pending_entries(user, round_id) if organiser else []
    # paper ballots: the voter is found by the unit written on the paper, then picked from a list
    found = (service.paper_voter_search(user, round_id, request.args.get("find"))
             if organiser and rnd.phase == "voting" else None)
    computed = rnd.computed_at is not None
    chart = budget_chart(rnd.budget, [(p.title, p.cost) for p in projects if p.funded]) if computed else None
    return render_template("console/budgets_round.html", round=view, rnd=rnd, organiser=organiser, projects=projects,
                           pending=pending, found=found, chart=chart, next_phases=TRANSITIONS[rnd.phase], phases=PHASE_NAMES,
                           rules=RULE_NAMES, yuan=yuan, done=request.args.get("done"), user=user)


@bp.post("/budgets/<int:round_id>/transition")
@staff_page(*KINDS)
def budgets_transition(user, round_id):
    service.transition(user, round_id, request.form.get("to", ""), request.form.get("note") or None)
    return see_other("console.budgets_round", round_id=round_id, done="phase")


@bp.post("/budgets/<int:round_id>/projects")
@staff_page(*KINDS)
def budgets_add_project(user, round_id):
    service.add_project(user, round_id, request.form.get("source", ""), _int(request.form, "source_id"))
    return see_other("console.budgets_round", round_id=round_id, done="project")


@bp.post("/budgets/projects/<int:project_id>/cost")
@staff_page(*KINDS)
def budgets_review_cost(user, project_id):
    f = request.form
    p = service.review_cost(user, project_id, {"cost": _fen(f, "cost_yuan"), "feasibility_note": f.get("feasibility_note", ""),
                                               "implementing_organisation_id": _int(f, "implementing_organisation_id")})
    return see_other("console.budgets_round", round_id=p.round_id, done="cost")


@bp.post("/budgets/<int:round_id>/paper")
@staff_page(*KINDS)
def budgets_enter_paper(user, round_id):
    """录入纸质选票：投票人从按房屋查找的结果中选定（``voter`` = "居民编号:房屋编号"），不手填编号。"""
    f = request.form
    resident, _, unit = (f.get("voter") or "").partition(":")
    if not resident.isdigit() or not unit.isdigit():
        raise ValidationFailed("请先按房屋查找并选定投票人", code="voter_required", details={"field": "voter"})
    service.enter_paper(user, round_id, {"resident_id": int(resident), "unit_id": int(unit),
                                         "project_ids": [int(x) for x in f.getlist("project_ids") if x.isdigit()]})
    return see_other("console.budgets_round", round_id=round_id, done="paper")


@bp.post("/budgets/paper/<int:entry_id>/confirm")
@staff_page(*KINDS)
def budgets_confirm_paper(user, entry_id):
    e = service.confirm_paper(user, entry_id)
    return see_other("console.budgets_round", round_id=e.round_id, done="confirmed")


@bp.post("/budgets/<int:round_id>/publish")
@staff_page(*KINDS)
def budgets_publish(user, round_id):
    service.publish_result(user, round_id)
    return see_other("console.budgets_round", round_id=round_id, done="published")


@bp.post("/budgets/projects/<int:project_id>/milestones")
@staff_page(*KINDS)
def budgets_milestone(user, project_id):
    f = request.form
    due = f.get("due_on") or None
    try:
        due_on = dt.date.fromisoformat(due) if due else None
    except ValueError as exc:
        raise ValidationFailed("请填写日期", code="field_invalid", details={"field": "due_on"}) from exc
    service.add_milestone(user, project_id, f.get("title", ""), due_on)
    return see_other("console.budgets_round", round_id=service.get_project(project_id).round_id, done="milestone")
