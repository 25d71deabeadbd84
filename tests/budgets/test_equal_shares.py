"""The fast Method of Equal Shares (float-guided, exact decisions) against the plain exact one it
replaced (tests/budgets/reference_mes.py): the same winners in the same order, run by run and with
the completion, on random elections made to tie (few distinct costs and ballots, budgets that split
into thirds), on larger ones, and on the Pabulib instances; and why the completion still takes
every step (its stopping condition is not monotone)."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from civic.budgets import equal_shares as es
from civic.budgets import pabulib
from civic.budgets.rules import Project
from tests.budgets import reference_mes as ref

PABULIB = sorted((Path(__file__).parents[1] / "data" / "pabulib").glob("*.pb"))


def _election(seed: int, *, voters: int, projects: int, patterns: int | None = None):
    """A random election; ``patterns``: how many distinct ballots (few → many ties and classes
    of equal money)."""
    rng = random.Random(seed)
    ps = [Project(f"p{i:02d}", rng.choice((10, 20, 30, 60, 90)) * rng.choice((1, 1, 7))) for i in range(projects)]
    ids = [p.id for p in ps]
    pool = [frozenset(rng.sample(ids, rng.randint(0, min(5, len(ids))))) for _ in range(patterns or voters)]
    ballots = [rng.choice(pool) for _ in range(voters)]
    budget = rng.randint(1, 3) * sum(p.cost for p in ps) // rng.choice((3, 4, 6))
    return ps, ballots, budget


@pytest.mark.parametrize("utility", ["cost", "cardinality"])
@pytest.mark.parametrize("seed", range(60))
def test_each_run_takes_the_reference_decisions(seed, utility):
    ps, ballots, budget = _election(seed, voters=random.Random(seed).randint(3, 90), projects=8,
                                    patterns=random.Random(seed).randint(1, 12))
    election = es._Election(ps, ballots)
    for extra in (0, 1, 7, 30, 100):
        per_voter = es._Q(budget, len(ballots)) + extra
        assert es.mes(ps, election, per_voter, utility) == ref.mes(ps, election, per_voter, utility)


@pytest.mark.parametrize("utility", ["cost", "cardinality"])
@pytest.mark.parametrize("seed", range(30))
def test_completion_gives_the_reference_winners(seed, utility):
    ps, ballots, budget = _election(1000 + seed, voters=60, projects=10, patterns=15)
    for increment in (1, 10, None):
        assert (es.equal_shares(ps, ballots, budget, increment=increment, utility=utility)
                == ref.equal_shares(ps, ballots, budget, increment=increment, utility=utility))


@pytest.mark.parametrize("seed", range(3))
def test_larger_elections_with_completion(seed):
    # 3,000 ballots over 40 projects: thousands of money classes by the last rounds
    ps, ballots, budget = _election(2000 + seed, voters=3000, projects=40)
    assert es.equal_shares(ps, ballots, budget, increment=50) == ref.equal_shares(ps, ballots, budget, increment=50)


def test_exact_ties_are_decided_exactly():
    # 3 voters. At 70 each: a (90: 30 each) first, then b (90: 30 of the 40 left, ρ = 30/90) and
    # c (120: all 40 left, ρ = 40/120) tie exactly at ρ = 1/3 and the cheaper b wins; c pays
    # with all the money its supporters have – a payment equal to the money, decided exactly.
    ps = [Project("a", 90), Project("b", 90), Project("c", 120)]
    ballots = [frozenset("abc"), frozenset("abc"), frozenset("abc")]
    election = es._Election(ps, ballots)
    for per_voter in (es._Q(100), es._Q(70), es._Q(210, 3), es._Q(301, 3)):
        assert es.mes(ps, election, per_voter, "cost") == ref.mes(ps, election, per_voter, "cost")
    assert es.mes(ps, election, es._Q(70), "cost") == [0, 1]
    ac = [frozenset("ac")] * 3
    assert es.mes([ps[0], ps[2]], es._Election([ps[0], ps[2]], ac), es._Q(70), "cost") == [0, 1]
    assert ref.mes([ps[0], ps[2]], es._Election([ps[0], ps[2]], ac), es._Q(70), "cost") == [0, 1]


def test_the_class_table_grows_when_a_run_needs_more_classes():
    # a run starts from buffers of 3 classes (2 in use from the start): every split must grow them
    import numpy as np

    ps, ballots, budget = _election(77, voters=400, projects=12)
    election = es._Election(ps, ballots)
    election.buffers = (np.empty(3), np.zeros((3, len(ps)), dtype=np.uint8))
    per_voter = es._Q(budget, len(ballots)) + 5
    assert es.mes(ps, election, per_voter, "cost") == ref.mes(ps, election, per_voter, "cost")
    assert len(election.buffers[0]) > 3 and not election.buffers[1].any()  # grown, and left clean
    assert es.mes(ps, election, per_voter + 50, "cost") == ref.mes(ps, election, per_voter + 50, "cost")


@pytest.mark.parametrize("path", PABULIB, ids=lambda p: p.stem)
def test_pabulib_instances_match_the_reference(path):
    inst = pabulib.read(path)
    election = es._Election(inst.projects, inst.ballots)
    start = es._Q(inst.budget, len(inst.ballots))
    for extra in (0, 40, 200):  # PLN/USD per voter, as the completion raises it
        assert (es.mes(inst.projects, election, start + extra, "cost")
                == ref.mes(inst.projects, election, start + extra, "cost"))


def test_the_completions_stopping_condition_is_not_monotone():
    # Found by a search over small random elections: with 1 more per voter the outcome is over the
    # budget at steps 8 and 9, within it (and not exhaustive) at step 10, over again at 11.  So a
    # bisection for the first stopping step could land on another step than the step-by-step
    # completion; civic runs every step.
    ps = [Project("p0", 50), Project("p1", 70), Project("p2", 30), Project("p3", 70), Project("p4", 30),
          Project("p5", 20)]
    ballots = [frozenset(b.split()) for b in ("p3 p5", "p3", "p4", "p2 p5", "p3 p4 p5", "p0 p5", "p0 p1 p3",
                                               "p0 p1 p4", "p3")]
    budget = 150
    election = es._Election(ps, ballots)
    start = es._Q(budget, len(ballots))

    def state(k):
        won = es.mes(ps, election, start + k, "cost")
        spent = sum(ps[j].cost for j in won)
        if spent > budget:
            return "over"
        return "exhaustive" if not [p for j, p in enumerate(ps) if j not in won and spent + p.cost <= budget] else "go"

    assert [state(k) for k in range(7, 12)] == ["go", "over", "over", "go", "over"]
    # the completion stops at the first step over the budget and keeps step 7's outcome
    assert es.equal_shares(ps, ballots, budget, increment=1) == ref.equal_shares(ps, ballots, budget, increment=1)
