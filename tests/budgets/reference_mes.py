"""The plain exact Method of Equal Shares as it stood before the fast one (civic 2026-12-06,
``civic/budgets/equal_shares.py`` at the merge of i20-budgets): exact rationals on every value, voters
grouped in classes of equal money, no float anywhere.  Kept here as the reference the fast
implementation must agree with, decision for decision (tests/budgets/test_equal_shares.py)."""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from civic.budgets.equal_shares import _Q, _Election, complete
from civic.budgets.equal_shares import _exact_payment as _payment  # the plain water-filling, shared
from civic.budgets.rules import Project


def mes(projects: Sequence[Project], election: _Election, per_voter: Fraction, utility: str,
        funded: Sequence[int] = ()) -> list[int]:  # noqa: C901 — kept as it was
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
    """The completion as civic.budgets.equal_shares runs it, every step with the plain ``mes``."""
    return complete(projects, _Election(projects, ballots), budget, increment, utility, mes)
