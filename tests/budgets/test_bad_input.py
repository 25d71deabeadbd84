"""Bad input (issue #20): a ballot over the budget, a vote outside the voting window, an ineligible
resident, a project without a reviewed cost, a cost change after voting opened — each a clear
envelope error, and nothing changed."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.budgets.models import BudgetBallot, BudgetPaperEntry, BudgetProject, BudgetRound
from civic.core.audit import AuditEntry
from civic.core.db import utcnow
from civic.extensions import db
from tests.budgets.conftest import API


def _counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(BudgetBallot)),
            db.session.scalar(sa.select(sa.func.count()).select_from(BudgetPaperEntry)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)))


def _voting(bw, **kw):
    rid = bw.round(**kw)["id"]
    projects = bw.projects(rid)
    assert bw.move(rid, "review").status_code == 200 and bw.move(rid, "voting").status_code == 200
    return rid, projects


def _error(r, status, code):
    assert r.status_code == status, r.json
    assert r.json["error"]["code"] == code and r.json["error"]["message"]
    return r.json["error"]


def test_a_ballot_over_the_budget_is_refused(bw):
    rid, (garden, rail, shed) = _voting(bw, budget=500000)
    before = _counts()
    err = _error(bw.vote(rid, bw.author, [garden["id"], rail["id"], shed["id"]]), 422, "ballot_over_budget")
    assert err["details"] == {"total": 570000, "budget": 500000} and "5700.00" in err["message"]
    assert _counts() == before


def test_a_ballot_over_k_is_refused(bw):
    rid, (garden, rail, shed) = _voting(bw, ballot_mode="k", max_choices=2, budget=10_000_000)
    before = _counts()
    _error(bw.vote(rid, bw.author, [garden["id"], rail["id"], shed["id"]]), 422, "ballot_over_limit")
    assert _counts() == before
    assert bw.vote(rid, bw.author, [garden["id"], shed["id"]]).status_code == 201


def test_a_paper_ballot_over_the_budget_is_refused(bw):
    rid, (garden, rail, shed) = _voting(bw, budget=500000)
    before = _counts()
    r = bw.client.post(f"{API}/budget-rounds/{rid}/paper-ballots", headers=bw.h[bw.head],
                       json={"resident_id": bw.neighbour.id, "project_ids": [garden["id"], rail["id"], shed["id"]]})
    _error(r, 422, "ballot_over_budget")
    assert _counts() == before


def test_a_vote_before_the_window_opens_is_refused(bw):
    now = utcnow()
    rid, (garden, *_rest) = _voting(bw, opens=now + dt.timedelta(days=1), closes=now + dt.timedelta(days=8))
    before = _counts()
    _error(bw.vote(rid, bw.author, [garden["id"]]), 409, "voting_not_open")
    assert _counts() == before


def test_a_vote_after_the_window_closed_is_refused(bw):
    now = utcnow()
    rid, (garden, *_rest) = _voting(bw, opens=now - dt.timedelta(days=8), closes=now - dt.timedelta(minutes=1))
    before = _counts()
    _error(bw.vote(rid, bw.author, [garden["id"]]), 409, "voting_not_open")
    assert _counts() == before


def test_a_vote_before_the_voting_phase_is_refused(bw):
    rid = bw.round()["id"]
    garden, *_rest = bw.projects(rid)
    before = _counts()
    _error(bw.vote(rid, bw.author, [garden["id"]]), 409, "voting_not_open")
    assert _counts() == before


def test_a_vote_after_the_result_is_refused_and_changes_nothing(bw):
    rid, (garden, rail, _shed) = _voting(bw)
    assert bw.vote(rid, bw.author, [garden["id"]]).status_code == 201
    assert bw.move(rid, "result").status_code == 200
    before = _counts()
    _error(bw.vote(rid, bw.author, [rail["id"]]), 409, "voting_not_open")
    assert _counts() == before
    assert db.session.scalar(sa.select(BudgetBallot.project_ids)) == [garden["id"]]


def test_an_ineligible_resident_is_refused(bw):
    rid, (garden, *_rest) = _voting(bw)
    before = _counts()
    _error(bw.vote(rid, bw.outsider, [garden["id"]]), 403, "not_eligible")
    r = bw.client.post(f"{API}/budget-rounds/{rid}/paper-ballots", headers=bw.h[bw.head],
                       json={"resident_id": bw.outsider.id, "project_ids": [garden["id"]]})
    _error(r, 403, "not_eligible")
    # A household the resident does not belong to.
    _error(bw.vote(rid, bw.author, [garden["id"]], unit_id=bw.unit2.id), 403, "not_eligible")
    assert _counts() == before


def test_voting_cannot_open_with_a_project_without_a_reviewed_cost(bw):
    rid = bw.round()["id"]
    garden, rail, shed = bw.projects(rid, costs=(300000, None, 120000))
    bw.move(rid, "review")
    before = _counts()
    err = _error(bw.move(rid, "voting"), 409, "project_cost_not_reviewed")
    assert err["details"] == {"project_ids": [rail["id"]]}
    assert db.session.get(BudgetRound, rid).phase == "review" and _counts() == before
    # nor can anyone vote on it meanwhile
    _error(bw.vote(rid, bw.author, [garden["id"]]), 409, "voting_not_open")
    assert db.session.get(BudgetProject, rail["id"]).cost is None and _counts() == before


def test_a_cost_change_after_voting_opened_is_refused(bw):
    rid, (garden, *_rest) = _voting(bw)
    before = _counts()
    err = _error(bw.review(garden["id"], 1000), 409, "cost_frozen")
    assert err["details"]["cost"] == 300000
    assert db.session.get(BudgetProject, garden["id"]).cost == 300000 and _counts() == before


def test_a_project_not_in_the_round_is_refused(bw):
    rid, (garden, *_rest) = _voting(bw)
    other = bw.round()["id"]
    before = _counts()
    _error(bw.vote(other, bw.author, [garden["id"]]), 409, "voting_not_open")
    _error(bw.vote(rid, bw.author, [garden["id"], 999999]), 422, "project_not_in_round")
    assert _counts() == before


def test_only_adopted_ideas_become_projects(bw):
    c = bw.contest(phase="submission")
    idea = bw.idea(c["id"], title="未采纳的点子")
    rid = bw.round()["id"]
    bw.move(rid, "costing")
    r = bw.client.post(f"{API}/budget-rounds/{rid}/projects", json={"source": "idea", "source_id": idea["id"]},
                       headers=bw.h[bw.head])
    _error(r, 404, "implementation_not_found")


def test_residents_cannot_set_up_rounds_or_review_costs(bw):
    rid = bw.round()["id"]
    garden, *_rest = bw.projects(rid)
    r = bw.client.put(f"{API}/budget-projects/{garden['id']}/cost", headers=bw.h[bw.author],
                      json={"cost": 1, "feasibility_note": "x", "implementing_organisation_id": bw.rc.id})
    _error(r, 403, "wrong_account_kind")
    _error(bw.move(rid, "review", who=bw.mod), 403, "not_organiser")
