"""The Method of Equal Shares (MES) for approval ballots, exact, with the usual completion.

The rule (Peters & Skowron 2020; Peters, Pierczyński & Skowron 2021; https://equalshares.net): the
budget is split equally among the n ballots; each round funds the project whose supporters can pay
for it with the smallest *affordability* ρ, each supporter paying ``min(own money, ρ·u)`` where ``u``
is the supporter's utility for the project; the supporters' money goes down by what they paid. It
stops when no project can be paid for by its supporters.

* **Utilities**: ``"cost"`` (default: an approval of a project is worth its cost, pabutools
  ``Cost_Sat``; the variant equalshares.net recommends for approval ballots and Pabulib's usual
  "equal shares", so a 50,000-元 bench counts for ten times a 5,000-元 one) or ``"cardinality"``
  (every approval worth 1, pabutools ``Cardinality_Sat``).
* **Completion** (MES alone usually leaves money unspent): pabutools' ``voter_budget_increment``
  ("add1", equalshares.net): run MES with each voter's money raised by ``increment`` 分 at a time
  until the outcome is *exhaustive* (no project with a supporter still fits into the real budget) –
  or until it would cost more than the budget, in which case the previous outcome stands; then the
  money still left is spent greedily by votes (``rules.greedy``, pabutools
  ``greedy_utilitarian_welfare`` with ``Cost_Sat``, run on top of the MES outcome).
  ``increment=None`` is plain MES with no completion at all.
* **Ties** between projects of equal ρ: ``rules.tie_key`` (lower cost, then id).

Exactness: money per voter and ρ are exact rationals (``gmpy2.mpq``, GMP's, or ``fractions.Fraction``
without gmpy2: the same numbers); only integer counts go through numpy.
Speed: ballots are grouped (identical ballots once, with a multiplicity), and voters whose money is
equal form one *class* – MES treats them alike, so a project's payment is computed over its
supporters' classes (a handful) rather than over its supporters; ρ only grows, so each round
evaluates the projects lazily in the order of their last ρ (pabutools does the same).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

try:  # GMP's exact rationals: the same values as fractions.Fraction, some 20 times faster
    from gmpy2 import mpq as _Q
except ImportError:  # pragma: no cover — gmpy2 is a dependency; Fraction gives the same results
    _Q = Fraction

if TYPE_CHECKING:
    from civic.budgets.rules import Project

UTILITIES = ("cost", "cardinality")


class _Election:
    """The ballots of one election, grouped, with each project's supporting groups as numpy arrays."""

    def __init__(self, projects: Sequence[Project], ballots: Sequence[frozenset[str]]):
        self.n = len(ballots)
        groups = Counter(b for b in ballots if b)
        index = {p.id: i for i, p in enumerate(projects)}
        self.mult = np.fromiter(groups.values(), dtype=np.int64, count=len(groups))
        members: list[list[int]] = [[] for _ in projects]
        for g, ballot in enumerate(groups):
            for pid in ballot:
                members[index[pid]].append(g)
        self.supporters = [np.asarray(m, dtype=np.int64) for m in members]
        self.votes = [int(self.mult[s].sum()) for s in self.supporters]
        self.groups = len(groups)


def _payment(cost: int, classes: list[tuple[Fraction, int]]) -> Fraction | None:
    """What each supporter pays (``q``, the cap: a supporter with less pays all they have) so that
    the supporters together pay ``cost`` exactly; ``None`` if all their money is not enough.
    ``classes``: (money, how many supporters) sorted by money ascending. Voters of one class either
    all pay in full or all pay q: if q = R/k exceeds one member's money, it exceeds it again after
    that member has paid (R − m > (k−1)·m)."""
    remaining, count = _Q(cost), sum(c for _, c in classes)
    for money, c in classes:
        q = remaining / count
        if q <= money:
            return q
        remaining -= money * c
        count -= c
    return None


def mes(projects: Sequence[Project], election: _Election, per_voter: Fraction, utility: str,
        funded: Sequence[int] = ()) -> list[int]:
    """One run of MES with ``per_voter`` money each (in 分, a Fraction); returns project indices in
    selection order. ``funded`` are indices already selected (not considered again)."""
    if election.n == 0:
        return []
    cls = np.zeros(election.groups, dtype=np.int64)  # each group's class
    money: list[Fraction] = [per_voter]                # each class's money per voter
    class_of: dict[Fraction, int] = {per_voter: 0}
    costs = [p.cost for p in projects]
    keys = [(p.cost, p.id) for p in projects]
    # ρ lower bounds: the first round's ρ, all voters rich: cost/(votes·u) for u = cost → 1/votes.
    rho: dict[int, Fraction] = {}
    for j, p in enumerate(projects):
        if election.votes[j] and j not in funded:
            rho[j] = _Q(1, election.votes[j]) if utility == "cost" else _Q(p.cost, election.votes[j])
    winners: list[int] = []
    while rho:
        best: Fraction | None = None
        best_q = _Q(0)
        chosen = -1
        # classes by money, ascending, once per round: each project then reads its supporters'
        # classes in that order from a bincount, with no sorting of its own
        order = sorted(range(len(money)), key=money.__getitem__)
        rank = np.empty(len(money), dtype=np.int64)
        rank[order] = np.arange(len(money))
        ranked = rank[cls]
        for j in sorted(rho, key=lambda j: (rho[j], keys[j])):
            if best is not None and rho[j] > best:
                break  # ρ never falls, so no later project can beat the best
            sup = election.supporters[j]
            counts = np.bincount(ranked[sup], weights=election.mult[sup], minlength=len(money))
            classes = [(money[order[i]], int(counts[i])) for i in np.flatnonzero(counts).tolist()]
            q = _payment(costs[j], classes)
            if q is None:
                del rho[j]  # its supporters can no longer afford it, nor ever will in this run
                continue
            r = q / costs[j] if utility == "cost" else q
            rho[j] = r
            if best is None or r < best or (r == best and keys[j] < keys[chosen]):
                best, best_q, chosen = r, q, j
        if chosen < 0:
            break
        winners.append(chosen)
        del rho[chosen]
        sup = election.supporters[chosen]
        new_class: dict[int, int] = {}
        for c in np.unique(cls[sup]).tolist():
            left = money[c] - min(money[c], best_q)
            if left not in class_of:
                class_of[left] = len(money)
                money.append(left)
            new_class[c] = class_of[left]
        remap = np.arange(len(money), dtype=np.int64)
        for c, d in new_class.items():
            remap[c] = d
        cls[sup] = remap[cls[sup]]
    return winners


def equal_shares(projects: Sequence[Project], ballots: Sequence[frozenset[str]], budget: int, *,
                 increment: int | None = 100, utility: str = "cost") -> list[str]:
    """MES with the completion above; returns the funded project ids in selection order (MES's,
    then the greedy completion's). ``increment``: 分 added to each voter's money per step (default
    100 分 = 1 元, as equalshares.net and Pabulib add one unit of currency), ``None`` for none.
    Raises ``ValueError`` for an unknown utility or a non-positive increment."""
    from civic.budgets.rules import greedy  # noqa: PLC0415 — rules imports this module lazily

    if utility not in UTILITIES:
        raise ValueError(f"unknown utility {utility!r}; one of {UTILITIES}")
    if increment is not None and (isinstance(increment, bool) or not isinstance(increment, int)
                                  or increment <= 0):
        raise ValueError(f"increment must be a positive integer in 分 or None, not {increment!r}")
    election = _Election(projects, ballots)
    if election.n == 0:
        return []
    costs = [p.cost for p in projects]
    per_voter = _Q(budget, election.n)
    outcome = mes(projects, election, per_voter, utility)
    if increment is not None:
        supported = [j for j in range(len(projects)) if election.votes[j]]
        while True:
            spent = sum(costs[j] for j in outcome)
            if not any(j not in outcome and spent + costs[j] <= budget for j in supported):
                break  # exhaustive
            per_voter += increment
            raised = mes(projects, election, per_voter, utility)
            if sum(costs[j] for j in raised) > budget:
                break  # the previous outcome stands
            outcome = raised
    winners = [projects[j].id for j in outcome]
    spent = sum(costs[j] for j in outcome)
    if increment is not None:
        rest = [p for p in projects if p.id not in set(winners)]
        votes = {p.id: election.votes[j] for j, p in enumerate(projects)}
        winners += greedy(rest, votes, budget - spent)
    return winners
