"""civic's Method of Equal Shares with its completion against pabutools (the reference library:
https://pabutools.readthedocs.io) on the Pabulib instances shipped in tests/data/pabulib/ (real
participatory budgets: Łódź, Warszawa, Merced County; source https://pabulib.org) and on random
elections: the same funded projects, and MES's own in the same order.

pabutools is given civic's tie-breaking (lower cost, then id) and the same completion: MES with
``Cost_Sat`` and ``voter_budget_increment``, then ``greedy_utilitarian_welfare`` with ``Cost_Sat``
(greedy by votes) on top.  The Pabulib runs add 10 units of the currency per step rather than 1:
pabutools takes up to a minute per instance per unit step on this machine; the unit step was checked
by the same comparison when the fast MES was written (docs/bench-budgets.md)."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("pabutools")

from pabutools.election import (  # noqa: E402
    ApprovalBallot,
    ApprovalMultiProfile,
    ApprovalProfile,
    Cost_Sat,
    Instance,
)
from pabutools.election import Project as PabuProject  # noqa: E402
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares  # noqa: E402
from pabutools.tiebreaking import TieBreakingRule  # noqa: E402

from civic.budgets import pabulib  # noqa: E402
from civic.budgets.rules import Project, compute  # noqa: E402

PABULIB = sorted((Path(__file__).parents[1] / "data" / "pabulib").glob("*.pb"))
CIVIC_TIES = TieBreakingRule(lambda _instance, _profile, project: (project.cost, project.name))


def _pabutools(projects: list[Project], ballots: list[frozenset[str]], budget: int, increment: int):
    """pabutools' MES (with the completion by budget increase) and the greedy top-up."""
    instance = Instance(budget_limit=budget)
    pp = {p.id: PabuProject(p.id, p.cost) for p in projects}
    instance.update(pp.values())
    profile = ApprovalMultiProfile(profile=ApprovalProfile([ApprovalBallot([pp[i] for i in b]) for b in ballots]))
    mes = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, tie_breaking=CIVIC_TIES,
                                 voter_budget_increment=increment)
    full = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=CIVIC_TIES,
                                      initial_budget_allocation=mes)
    return [p.name for p in mes], {p.name for p in full}


def _same(projects, ballots, budget, increment):
    civic = compute("equal_shares", projects, ballots, budget, increment=increment).winners
    mes, funded = _pabutools(projects, ballots, budget, increment)
    votes = compute("greedy", projects, ballots, budget).votes
    # pabutools' greedy may add a project nobody chose (density 0) if it fits; civic never funds one
    assert set(civic) == {p for p in funded if votes[p]}
    assert civic[:len(mes)] == mes


@pytest.mark.parametrize("path", PABULIB, ids=lambda p: p.stem)
def test_pabulib_instances_give_pabutools_winners(path):
    inst = pabulib.read(path)
    assert inst.meta["vote_type"] == "approval"
    _same(inst.projects, inst.ballots, inst.budget, increment=10)


@pytest.mark.parametrize("seed", range(25))
def test_random_elections_give_pabutools_winners(seed):
    rng = random.Random(seed)
    projects = [Project(f"p{i}", rng.choice((10, 20, 30, 50, 80))) for i in range(rng.randint(2, 9))]
    ids = [p.id for p in projects]
    ballots = [frozenset(rng.sample(ids, rng.randint(1, min(4, len(ids))))) for _ in range(rng.randint(1, 40))]
    _same(projects, ballots, rng.randint(2, 20) * 10, increment=1)
