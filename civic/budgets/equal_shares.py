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
  ``increment=None`` is plain MES with no completion at all.  The stopping condition is not
  monotone in the voter's money (a richer run can fund a cheaper set, see the tests), so no step is
  skipped: every step is run, each one cheaply (below).
* **Ties** between projects of equal ρ: ``rules.tie_key`` (lower cost, then id).

Exactness and speed.  The outcome is the one exact rational arithmetic gives (every decision is
taken on ``gmpy2.mpq`` values, GMP's, or ``fractions.Fraction`` without gmpy2: the same numbers);
floats only *guide* the work:

* ballots are grouped (identical ballots once, with a multiplicity); each group's money is kept as
  a float, and as an exact value through its *class*: the rounds in which it paid that round's
  payment ``q`` (its money is then the voter's budget minus those ``q``), or "paid all it had" (0).
* each round, projects are evaluated lazily in the order of a lower bound on their ρ (ρ never falls
  during a run); a project's payment is found in floats by water-filling over its supporters'
  classes, with an error bound ``tol`` far above float rounding (``_REL`` of the money involved);
* every project whose float ρ is within the bounds of the best one is then computed exactly (the
  poor/rich split taken from the floats, classes within ``tol`` of the payment decided exactly, the
  payment ``(cost − exact money of the poor) / number of the rich`` from integer counts of who paid
  which round) and the winner is the exact minimum, ties by ``tie_key``; a project is dropped as
  unaffordable only when its supporters' money is short of its cost beyond the bound, or exactly.

So the winners are those of the plain exact algorithm (kept in the tests as the reference and
compared on random and Pabulib instances, with pabutools too), some 20 times faster on 50,000
ballots (and over 100 times pabutools' MES) (``bench/budgets_mes.py``, docs/bench-budgets.md).
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

# Relative error bound for the float guide: float rounding over a run is below 1e-13 of the money
# involved, so 1e-9 leaves a wide margin; anything closer than this is decided in exact rationals.
_REL = 1e-9

class _Election:
    """The ballots of one election, grouped, with each project's supporting groups (numpy arrays)
    and their multiplicities (floats: exact small integers, for dot products)."""

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
        weights = self.mult.astype(np.float64)
        self.weights = [weights[s] for s in self.supporters]
        self.votes = [int(self.mult[s].sum()) for s in self.supporters]
        self.groups = len(groups)
        self.buffers: tuple[np.ndarray, np.ndarray] | None = None  # reused by the runs, see _Run


def _float_payment(cost: int, money: np.ndarray, count: np.ndarray, n: int) -> tuple[float, float] | None:
    """Water-filling in floats: the ``q`` with ``Σ count·min(money, q) = cost`` over ``n`` voters
    (poor/rich iteration: those with less than q pay all they have, the others q) and how many pay
    q; ``None`` if the money is short.  A guide only: the exact value is computed for the projects
    that matter."""
    q = cost / n
    poor = money < q
    k = np.count_nonzero(poor)
    if not k:  # the usual case early in a run: everyone can pay an equal share
        return q, float(n)
    for _ in range(len(money) + 1):  # the poor only grow: at most one pass per class
        cp = count[poor]
        rich = n - cp.sum()
        if rich <= 0:
            return None
        q = (cost - money[poor] @ cp) / rich
        poor = money < q
        k, was = np.count_nonzero(poor), k
        if k == was:
            break
    return float(q), float(rich)


def _exact_payment(cost: int, classes: list[tuple]) -> object | None:
    """The plain exact water-filling (the fallback when the floats are off): ``classes`` are
    (money, how many) sorted by money; what each pays at most, or ``None`` if short."""
    remaining, count = _Q(cost), sum(c for _, c in classes)
    for money, c in classes:
        q = remaining / count
        if q <= money:
            return q
        remaining -= money * c
        count -= c
    return None


class _Run:
    """The state of one MES run at ``per_voter`` money each (see the module docstring)."""

    def __init__(self, projects: Sequence[Project], election: _Election, per_voter):
        self.per_voter = per_voter
        self.budget_f = float(per_voter)
        g, p = election.groups, len(projects)
        self.cls = np.zeros(g, dtype=np.int64)  # each group's class
        # money[c]: class c's money per voter, float; paid[c, t] = 1 if class c paid round t's q.
        # One pair of buffers per election, reused run after run (the completion makes hundreds
        # of runs: fresh pages each time cost more than the run); a run clears what it used.
        if election.buffers is None:
            cap = 2 * g + 16  # a first guess: each round adds one class per class it splits
            election.buffers = (np.empty(cap), np.zeros((cap, p), dtype=np.uint8))
        self.election = election
        self.money, self.paid = election.buffers
        self.cap = len(self.money)
        self.money[0], self.money[1] = self.budget_f, 0.0
        self.nclass = 2                         # 0: paid nothing yet; 1: paid all it had (0 left)
        self.qs: list = []                      # each round's exact payment q

    def value(self, c: int):
        """The exact money per voter of class ``c``."""
        if c == 1:
            return _Q(0)
        v = self.per_voter
        for t in np.flatnonzero(self.paid[c, :len(self.qs)]).tolist():
            v -= self.qs[t]
        return v

    def money_sum(self, classes: np.ndarray, counts: np.ndarray):
        """The exact money of ``counts[i]`` voters in each of ``classes[i]``: the voters' budget
        less, for each round, q times how many of them paid it."""
        live = classes != 1
        classes, counts = classes[live], counts[live]
        if not len(classes):
            return _Q(0)
        paid = counts @ self.paid[classes, :len(self.qs)].astype(np.float64)
        v = self.per_voter * int(counts.sum())
        for t in np.flatnonzero(paid).tolist():
            v -= self.qs[t] * int(paid[t])
        return v

    def exact_payment(self, cost: int, money: np.ndarray, count: np.ndarray, classes: np.ndarray,
                      qf: float, tol: float):
        """The exact payment for a project whose float payment is ``qf``: classes clearly under
        ``qf`` (by more than ``tol``) pay all they have, those clearly over pay q, those within
        ``tol`` are placed by their exact money.  Returns (q, which classes pay all they have: a
        mask over the arrays, those with exactly q included) or (None, None) when the supporters
        cannot pay the cost."""
        near = {i: self.value(int(classes[i])) for i in np.flatnonzero(np.abs(money - qf) <= tol).tolist()}
        poor = money < qf - tol
        poor_money = self.money_sum(classes[poor], count[poor])
        rich = int(count[~poor].sum())
        found: set[int] = set()
        while True:
            extra = sum((near[i] * int(count[i]) for i in found), _Q(0))
            payers = rich - sum(int(count[i]) for i in found)
            q = (cost - poor_money - extra) / payers if payers else None
            more = {i for i, v in near.items() if i not in found and q is not None and v < q}
            if not more:
                break
            found |= more
        if q is not None and abs(float(q) - qf) <= tol / 2:
            for i, v in near.items():
                if v <= q:  # found poor, or with exactly q: pays all it has either way
                    poor[i] = True
            return q, poor
        # the float guide was off (only near an unaffordable cost): the plain exact computation
        values = [self.value(int(c)) for c in classes]
        q = _exact_payment(cost, sorted(zip(values, (int(n) for n in count), strict=True), key=lambda t: t[0]))
        if q is None:
            return None, None
        return q, np.array([v <= q for v in values], dtype=bool)

    def pay(self, election: _Election, j: int, q, classes: np.ndarray, poor: np.ndarray) -> None:
        """Project ``j`` is funded at payment ``q``: the ``poor`` classes (at most q each) pay all
        they have (→ class 1), the others pay q (→ one new class each: the same rounds and this one)."""
        self.qs.append(q)
        qf = float(q)
        rich = classes[~poor]
        r, n, t = len(rich), self.nclass, len(self.qs)
        if n + r > self.cap:  # more classes than the first guess: grow (kept for the next runs)
            self.cap = 2 * (n + r)
            self.money = np.concatenate([self.money[:n], np.empty(self.cap - n)])
            self.paid = np.concatenate([self.paid[:n], np.zeros((self.cap - n, self.paid.shape[1]), np.uint8)])
            self.election.buffers = (self.money, self.paid)
        remap = np.empty(n, dtype=np.int64)  # only the supporters' classes are read back
        remap[classes[poor]] = 1
        remap[rich] = np.arange(n, n + r)
        self.money[n:n + r] = self.money[rich] - qf
        self.paid[n:n + r, :t - 1] = self.paid[rich, :t - 1]
        self.paid[n:n + r, t - 1] = 1
        self.nclass = n + r
        sup = election.supporters[j]
        self.cls[sup] = remap[self.cls[sup]]


def mes(projects: Sequence[Project], election: _Election, per_voter, utility: str,
        funded: Sequence[int] = ()) -> list[int]:
    """One run of MES with ``per_voter`` money each (in 分, an exact rational); returns project
    indices in selection order. ``funded`` are indices already selected (not considered again)."""
    if election.n == 0:
        return []
    run = _Run(projects, election, per_voter)
    costs = [p.cost for p in projects]
    keys = [(p.cost, p.id) for p in projects]
    card = utility != "cost"
    # lower bounds on ρ: the first round's ρ, all voters rich: cost/(votes·u) → 1/votes for u = cost
    lower: dict[int, float] = {}
    for j, p in enumerate(projects):
        if election.votes[j] and j not in funded:
            lower[j] = (p.cost / election.votes[j] if card else 1.0 / election.votes[j]) * (1 - _REL)
    winners: list[int] = []
    while lower:
        best_hi = None      # the best float ρ plus its error bound
        evaluated = []
        for j in sorted(lower, key=lower.__getitem__):
            if best_hi is not None and lower[j] > best_hi:
                break  # ρ never falls, so no later project can reach the best
            sup = election.supporters[j]
            counts = np.bincount(run.cls[sup], weights=election.weights[j], minlength=run.nclass)
            classes = counts.nonzero()[0]
            money, count = run.money[classes], counts[classes]
            cost, votes = costs[j], election.votes[j]
            scale = _REL * (run.budget_f * votes + cost)  # far above the floats' error in sums
            total = money @ count
            if total < cost - scale or (total < cost + scale and run.money_sum(classes, count) < cost):
                del lower[j]  # its supporters can no longer afford it, nor ever will in this run
                continue
            guide = _float_payment(cost, money, count, votes)
            if guide is None:  # within the error of affording it: the exact payment decides
                qf, tol = float(money.max()), scale
            else:
                qf, tol = guide[0], scale / guide[1]
            rho, err = (qf, tol) if card else (qf / cost, tol / cost)
            lower[j] = rho - err
            evaluated.append((rho - err, j, money, count, classes, qf, tol))
            if best_hi is None or rho + err < best_hi:
                best_hi = rho + err
        chosen, best, paying = -1, None, None
        for low, j, money, count, classes, qf, tol in evaluated:
            if low > best_hi:
                continue  # certainly worse than the best
            q, poor = run.exact_payment(costs[j], money, count, classes, qf, tol)
            if q is None:
                del lower[j]
                continue
            rho = q if card else q / costs[j]
            if best is None or rho < best or (rho == best and keys[j] < keys[chosen]):
                chosen, best, paying = j, rho, (q, classes, poor)
        if chosen < 0:
            if not evaluated:
                break
            continue
        winners.append(chosen)
        del lower[chosen]
        run.pay(election, chosen, *paying)
    run.paid[:run.nclass, :len(run.qs)] = 0  # the buffer clean for the next run
    return winners


def equal_shares(projects: Sequence[Project], ballots: Sequence[frozenset[str]], budget: int, *,
                 increment: int | None = 100, utility: str = "cost") -> list[str]:
    """MES with the completion above; returns the funded project ids in selection order (MES's,
    then the greedy completion's). ``increment``: 分 added to each voter's money per step (default
    100 分 = 1 元, as equalshares.net and Pabulib add one unit of currency), ``None`` for none.
    Raises ``ValueError`` for an unknown utility or a non-positive increment."""
    if utility not in UTILITIES:
        raise ValueError(f"unknown utility {utility!r}; one of {UTILITIES}")
    if increment is not None and (isinstance(increment, bool) or not isinstance(increment, int)
                                  or increment <= 0):
        raise ValueError(f"increment must be a positive integer in 分 or None, not {increment!r}")
    return complete(projects, _Election(projects, ballots), budget, increment, utility, mes)


def complete(projects: Sequence[Project], election: _Election, budget: int, increment: int | None,
             utility: str, run) -> list[str]:
    """The completion (module docstring) over ``run(projects, election, per_voter, utility)``, one
    MES run per step: ``mes`` here, the plain exact one in the tests' reference."""
    from civic.budgets.rules import greedy  # noqa: PLC0415 — rules imports this module lazily

    if election.n == 0:
        return []
    costs = [p.cost for p in projects]
    per_voter = _Q(budget, election.n)
    outcome = run(projects, election, per_voter, utility)
    if increment is not None:
        supported = [j for j in range(len(projects)) if election.votes[j]]
        while True:
            spent = sum(costs[j] for j in outcome)
            if not any(j not in outcome and spent + costs[j] <= budget for j in supported):
                break  # exhaustive
            per_voter += increment
            raised = run(projects, election, per_voter, utility)
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
