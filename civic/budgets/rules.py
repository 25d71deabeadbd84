"""Participatory-budgeting rules: approval ballots over costed projects → the funded projects.

Interface (used by the budget rounds of ``civic.budgets``)::

    compute(rule, projects, ballots, budget) -> Outcome

* ``projects``: ``Project(id, cost)``, cost in integer 分 (> 0);
* ``ballots``: one ``frozenset`` of approved project ids per ballot (a household or a resident, as
  the round says); ids not among the projects are an error;
* ``budget``: the round's total, integer 分 (≥ 0);
* ``rule``: one of ``RULES``: ``"greedy"`` or ``"equal_shares"``.

Everything is exact: costs and budgets are integers, the Method of Equal Shares keeps each voter's
money and each ρ as ``fractions.Fraction`` — never floats, since a float comparison can fund a
different project than the law's arithmetic would.

Ties are broken by one documented rule, the same for both rules (``tie_key``): fewer 分 first, then
the project id in code-point order. (Funding the cheaper of two equally supported projects leaves more
of the budget for others; the id makes the result total and deterministic.) The comparison with
pabutools in the tests gives pabutools the same order as its tie-breaking.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

RULES = ("greedy", "equal_shares")


@dataclass(frozen=True)
class Project:
    """A costed project: ``id`` (a string, unique in the round), ``cost`` in integer 分 (> 0)."""

    id: str
    cost: int


@dataclass
class Outcome:
    """The result of a rule.

    * ``rule``: the rule's name (one of ``RULES``);
    * ``winners``: the funded project ids in the order the rule selected them;
    * ``spent``: the sum of the winners' costs, integer 分 (never more than the budget);
    * ``votes``: approvals per project id (every project, 0 when nobody approved it).
    """

    rule: str
    winners: list[str]
    spent: int
    votes: dict[str, int] = field(default_factory=dict)


def tie_key(project: Project) -> tuple[int, str]:
    """The tie-breaking order shared by every rule: lower cost first, then lower id (code points)."""
    return (project.cost, project.id)


def _check(projects: Sequence[Project], ballots: Sequence[frozenset[str]], budget: int) -> dict[str, int]:
    """Validate the input and count approvals; raises ``ValueError`` (a programming error: the
    budget service validates ballots before they reach a rule)."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise ValueError(f"budget must be a non-negative integer in 分, not {budget!r}")
    votes: dict[str, int] = {}
    for p in projects:
        if isinstance(p.cost, bool) or not isinstance(p.cost, int) or p.cost <= 0:
            raise ValueError(f"project {p.id!r}: cost must be a positive integer in 分, not {p.cost!r}")
        if p.id in votes:
            raise ValueError(f"project {p.id!r} appears twice")
        votes[p.id] = 0
    for ballot in ballots:
        for pid in ballot:
            if pid not in votes:
                raise ValueError(f"a ballot approves unknown project {pid!r}")
            votes[pid] += 1
    return votes


def greedy(projects: Sequence[Project], votes: dict[str, int], budget: int) -> list[str]:
    """Greedy by votes (CONSUL/Decidim practice; pabutools ``greedy_utilitarian_welfare`` with
    ``Cardinality_Sat``): projects by approvals, most first (ties by ``tie_key``); each is funded if it
    still fits in what is left, otherwise skipped (a later, cheaper one may still fit). Projects with
    no approval are never funded (they add no welfare)."""
    order = sorted(projects, key=lambda p: (-votes[p.id], *tie_key(p)))
    left, winners = budget, []
    for p in order:
        if votes[p.id] > 0 and p.cost <= left:
            winners.append(p.id)
            left -= p.cost
    return winners


def compute(rule: str, projects: Sequence[Project], ballots: Sequence[frozenset[str]],
            budget: int, *, increment: int | None = 100, utility: str = "cost") -> Outcome:
    """Apply ``rule`` (``"greedy"`` or ``"equal_shares"``) to approval ballots; see the module
    docstring for the shapes. ``increment`` (分 per voter, ``None``: no completion) and ``utility``
    (``"cost"`` or ``"cardinality"``) only matter to equal shares: see ``civic.budgets.equal_shares``.
    Raises ``ValueError`` for an unknown rule or invalid input."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; one of {RULES}")
    votes = _check(projects, ballots, budget)
    if rule == "greedy":
        winners = greedy(projects, votes, budget)
    else:
        from civic.budgets.equal_shares import equal_shares  # noqa: PLC0415 — keeps this module small
        winners = equal_shares(projects, ballots, budget, increment=increment, utility=utility)
    cost = {p.id: p.cost for p in projects}
    return Outcome(rule=rule, winners=winners, spent=sum(cost[w] for w in winners), votes=votes)
