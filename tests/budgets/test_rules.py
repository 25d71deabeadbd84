"""civic.budgets.rules: greedy by votes and the Method of Equal Shares, on hand-worked examples
(each worked in the comments) and on properties every outcome must have."""
from __future__ import annotations

import random
from fractions import Fraction

import pytest

from civic.budgets import equal_shares as es
from civic.budgets.rules import RULES, Outcome, Project, compute


def _ballots(*groups: tuple[int, str]) -> list[frozenset[str]]:
    """(how many voters, the projects they approve as a space-separated string) → ballots."""
    return [frozenset(ids.split()) for count, ids in groups for _ in range(count)]


def test_greedy_funds_by_votes_and_skips_what_no_longer_fits():
    # votes: a 3, b 2, c 2, d 1. a (60) → 40 left; b and c tie at 2 votes: c is cheaper (30) → 10
    # left; b (50) no longer fits; d (10) still does.
    projects = [Project("a", 60), Project("b", 50), Project("c", 30), Project("d", 10)]
    ballots = _ballots((1, "a b c"), (1, "a b"), (1, "a c d"))
    out = compute("greedy", projects, ballots, 100)
    assert out == Outcome(rule="greedy", winners=["a", "c", "d"], spent=100,
                          votes={"a": 3, "b": 2, "c": 2, "d": 1})


def test_greedy_breaks_a_full_tie_by_id_and_never_funds_a_project_nobody_chose():
    projects = [Project("y", 10), Project("x", 10), Project("z", 5)]
    out = compute("greedy", projects, _ballots((1, "x y")), 10)
    assert out.winners == ["x"]
    assert compute("greedy", projects, _ballots((1, "x y")), 100).winners == ["x", "y"]  # z: 0 votes


def test_equal_shares_gives_a_40_percent_group_its_share():
    # 100 voters, budget 100 → 1 each. 60 approve a1 a2 a3, 40 approve b1 b2 b3, all cost 30.
    # Greedy: a1 a2 a3 (90), no b fits. MES: a's ρ = (30/60)/30 = 1/60 beats b's (30/40)/30 = 1/40:
    # a1, then a2 (each a-voter pays ½ twice: nothing left), a3 unaffordable; b1: each b-voter pays
    # ¾, ¼ left ×40 = 10 < 30. Spent 90: no other project fits in 10, the outcome is exhaustive.
    projects = [Project(p, 30) for p in ("a1", "a2", "a3", "b1", "b2", "b3")]
    ballots = _ballots((60, "a1 a2 a3"), (40, "b1 b2 b3"))
    assert compute("greedy", projects, ballots, 100).winners == ["a1", "a2", "a3"]
    out = compute("equal_shares", projects, ballots, 100)
    assert (out.winners, out.spent) == (["a1", "a2", "b1"], 90)


def test_completion_raises_each_voters_money_then_spends_the_rest_greedily():
    # 4 voters, budget 200 → 50 each. 3 approve a b, 1 approves c; all cost 100.
    # Plain MES: a (each of 3 pays 100/3), then the a-voters have 3 × 50/3 = 50 < 100 for b; c's one
    # voter has 50 < 100. → [a].
    projects = [Project("a", 100), Project("b", 100), Project("c", 100)]
    ballots = _ballots((3, "a b"), (1, "c"))
    assert compute("equal_shares", projects, ballots, 200, increment=None).winners == ["a"]
    # add 1: at 67 each, 3 × (67 − 100/3) = 101 ≥ 100 pays for b; c still needs 100 → [a, b], spent
    # 200: exhaustive, MES alone found it.
    assert compute("equal_shares", projects, ballots, 200, increment=1).winners == ["a", "b"]
    # add 100: at 150 each MES funds a, b and c (300 > 200): the previous outcome [a] stands and the
    # greedy completion adds b (3 votes) → the same funded projects, reached the other way.
    assert compute("equal_shares", projects, ballots, 200, increment=100).winners == ["a", "b"]


def test_cost_and_cardinality_utilities_differ_as_documented():
    # 10 voters, budget 100 → 10 each. x (60) has 6 supporters, y (30) 5 of the same 6.
    # cost utilities: ρ = payment/cost: x (10/60 = 1/6) beats y (6/30 = 1/5); the 6 pay 10 each: y
    # unaffordable. cardinality: ρ = payment: y (6) beats x (10); then x's supporters have
    # 5 × 4 + 10 = 30 < 60.
    projects = [Project("x", 60), Project("y", 30)]
    ballots = _ballots((5, "x y"), (1, "x"), (4, ""))
    cost = compute("equal_shares", projects, ballots, 100, increment=None, utility="cost")
    card = compute("equal_shares", projects, ballots, 100, increment=None, utility="cardinality")
    assert (cost.winners, card.winners) == (["x"], ["y"])


def test_exact_arithmetic_the_budget_splits_into_thirds():
    # 3 voters, budget 100 → 100/3 each, not 33.333…: a (100) needs every last third of a 分.
    out = compute("equal_shares", [Project("a", 100)], _ballots((3, "a")), 100, increment=None)
    assert out.winners == ["a"] and out.spent == 100


@pytest.mark.parametrize("bad", [
    lambda: compute("borda", [Project("a", 1)], [], 1),
    lambda: compute("greedy", [Project("a", 0)], [], 1),
    lambda: compute("greedy", [Project("a", 1.5)], [], 1),
    lambda: compute("greedy", [Project("a", 1), Project("a", 2)], [], 1),
    lambda: compute("greedy", [Project("a", 1)], [frozenset({"b"})], 1),
    lambda: compute("greedy", [Project("a", 1)], [], -1),
    lambda: compute("equal_shares", [Project("a", 1)], [], 1, utility="borda"),
    lambda: compute("equal_shares", [Project("a", 1)], [], 1, increment=0),
])
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError):
        bad()


def test_no_ballots_fund_nothing():
    for rule in RULES:
        assert compute(rule, [Project("a", 1)], [], 10).winners == []


def _random_election(seed: int) -> tuple[list[Project], list[frozenset[str]], int]:
    rng = random.Random(seed)
    projects = [Project(f"p{i}", rng.randint(1, 50) * 1000) for i in range(rng.randint(2, 12))]
    ids = [p.id for p in projects]
    ballots = [frozenset(rng.sample(ids, rng.randint(0, min(4, len(ids))))) for _ in range(rng.randint(1, 60))]
    return projects, ballots, rng.randint(1, 150) * 1000


@pytest.mark.parametrize("seed", range(40))
def test_properties_on_random_elections(seed):
    projects, ballots, budget = _random_election(seed)
    cost = {p.id: p.cost for p in projects}
    shuffled = list(ballots)
    random.Random(seed).shuffle(shuffled)
    for rule in RULES:
        out = compute(rule, projects, ballots, budget, increment=1000)
        assert out.spent == sum(cost[w] for w in out.winners) <= budget
        assert len(set(out.winners)) == len(out.winners)
        assert all(out.votes[w] > 0 for w in out.winners)
        # deterministic, and the order of the ballots does not matter
        assert compute(rule, projects, shuffled, budget, increment=1000) == out
        # with completion both rules leave no approved project that would still fit
        left = budget - out.spent
        assert not [p for p in projects if p.id not in out.winners and out.votes[p.id] and p.cost <= left]


@pytest.mark.parametrize("seed", range(10))
def test_gmp_rationals_and_python_fractions_agree(seed, monkeypatch):
    # the fallback without gmpy2 computes the same outcome (both exact)
    projects, ballots, budget = _random_election(100 + seed)
    fast = compute("equal_shares", projects, ballots, budget, increment=1000)
    monkeypatch.setattr(es, "_Q", Fraction)
    assert compute("equal_shares", projects, ballots, budget, increment=1000) == fast
