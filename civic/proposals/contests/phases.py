"""A contest's phases and what each allows, declared once as data.

Every verb in :mod:`civic.proposals.contests.service` (and later the console pages) asks :func:`require_action`
before acting, so the table below is the only place a phase's rules live.  Before the submission
phase starts a contest is a ``draft``; after the last phase ends it is ``closed``.
"""

from __future__ import annotations

import datetime as dt

from civic.core.db import as_utc, utcnow
from civic.core.errors import Conflict

PHASES = ("submission", "moderation", "support", "review", "results", "implementation")
PHASE_NAMES = {
    "draft": "未开始",
    "submission": "征集",
    "moderation": "审核",
    "support": "支持",
    "review": "评审",
    "results": "结果公示",
    "implementation": "实施",
    "closed": "已结束",
}

# Content moderation (report, moderate, appeal) goes on in every open phase.
_MODERATION = frozenset({"comment", "report", "moderate", "appeal"})

PHASE_ACTIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"configure", "appoint_juror"}),
    "submission": _MODERATION | {"submit", "edit", "appoint_juror"},
    "moderation": _MODERATION | {"appoint_juror"},
    "support": _MODERATION | {"support", "withdraw_support", "appoint_juror"},
    "review": _MODERATION | {"score"},
    "results": _MODERATION | {"publish_ranking", "adopt"},
    "implementation": _MODERATION | {"adopt", "implement"},
    "closed": frozenset(),
}
ACTIONS = frozenset().union(*PHASE_ACTIONS.values())


def current_phase(phases: dict[str, tuple[dt.datetime, dt.datetime | None]], now: dt.datetime | None = None) -> str:
    """The phase at ``now``: the one whose ``[starts_at, ends_at)`` holds it, ``draft`` before the first,
    ``closed`` after the last.  Between two phases (a gap in the schedule) it is the earlier one's
    successor's waiting room: nothing is allowed, shown as ``closed``.

    :param phases: ``{phase: (starts_at, ends_at or None)}`` as aware datetimes.
    """
    now = now or utcnow()
    first = as_utc(phases[PHASES[0]][0])
    if now < first:
        return "draft"
    for name in PHASES:
        start, end = phases[name]
        if as_utc(start) <= now and (end is None or now < as_utc(end)):
            return name
    return "closed"


def phases_allowing(action: str) -> list[str]:
    return [p for p in PHASE_ACTIONS if action in PHASE_ACTIONS[p]]


def require_action(phase: str, action: str) -> None:
    """Raise ``Conflict`` (409, ``phase_forbids_action``) unless ``phase`` allows ``action``.

    :raises Conflict: details ``{"phase", "action", "allowed_in": [phases]}``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown contest action {action!r}")
    if action not in PHASE_ACTIONS[phase]:
        allowed = phases_allowing(action)
        raise Conflict(
            f"当前为「{PHASE_NAMES[phase]}」阶段，不能进行该操作（仅限："
            + "、".join(PHASE_NAMES[p] for p in allowed) + "阶段）",
            code="phase_forbids_action",
            details={"phase": phase, "action": action, "allowed_in": allowed},
        )
