"""A budget round's phases and what each allows, declared once as data (STYLE.md: state machines as
data).  Every verb of :mod:`civic.budgets.service` asks :func:`require_action` before acting; phase
changes are made by the organiser's staff (head, handler) along :data:`TRANSITIONS` and audited.

Phases (issue #20): ``setup`` (the round is being set up) → ``costing`` (projects proposed from
adopted 金点子 ideas and committee resolutions, costs estimated) → ``review`` (staff review the
costs) → ``voting`` (residents vote within ``[voting_opens_at, voting_closes_at)``; costs are frozen)
→ ``result`` (ballots closed, the rule's result computed, then published) → ``carrying_out`` (funded
projects carried out, milestones reported).
"""

from __future__ import annotations

from civic.core.errors import Conflict

PHASES = ("setup", "costing", "review", "voting", "result", "carrying_out")
PHASE_NAMES = {"setup": "筹备", "costing": "项目测算", "review": "费用审核", "voting": "投票",
               "result": "结果", "carrying_out": "实施"}

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "setup": ("costing",),
    "costing": ("review",),
    "review": ("costing", "voting"),
    "voting": ("result",),
    "result": ("carrying_out",),
    "carrying_out": (),
}

PHASE_ACTIONS: dict[str, frozenset[str]] = {
    "setup": frozenset({"configure", "add_project"}),
    "costing": frozenset({"add_project", "review_cost"}),
    "review": frozenset({"review_cost"}),
    "voting": frozenset({"vote", "paper"}),
    "result": frozenset({"publish"}),
    "carrying_out": frozenset({"milestone"}),
}
ACTIONS = frozenset().union(*PHASE_ACTIONS.values())


def require_action(phase: str, action: str, *, code: str = "phase_forbids_action") -> None:
    """Raise ``Conflict`` (409, ``code``, details ``{"phase", "action", "allowed_in"}``) unless
    ``phase`` allows ``action``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown budget round action {action!r}")
    if action not in PHASE_ACTIONS[phase]:
        allowed = [p for p in PHASES if action in PHASE_ACTIONS[p]]
        raise Conflict(f"当前为「{PHASE_NAMES[phase]}」阶段，不能进行该操作（仅限："
                       + "、".join(PHASE_NAMES[p] for p in allowed) + "阶段）",
                       code=code, details={"phase": phase, "action": action, "allowed_in": allowed})
