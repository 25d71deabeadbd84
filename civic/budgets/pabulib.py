"""A reader of Pabulib ``.pb`` files (https://pabulib.org/format): real participatory-budgeting
instances, used to check civic's rules against pabutools and to import published results.

The format is a sectioned CSV, ``;``-separated, possibly with quoted fields: a line ``META`` then
``key;value`` rows (``budget``, ``vote_type``, ``currency``, ...), a line ``PROJECTS`` then a header
(``project_id;cost;...``) and one row per project, a line ``VOTES`` then a header (``voter_id;vote;...``)
and one row per voter, ``vote`` being the comma-separated project ids the voter chose.

Only what the rules need is kept: costs and the budget must be whole numbers of the file's currency
unit (Pabulib's are; a file with fractional costs is refused rather than rounded).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from civic.budgets.rules import Project


@dataclass
class Instance:
    """One Pabulib instance: ``meta`` (the META section, strings), ``projects`` (``Project(id,
    cost)``, cost in the file's currency unit, in file order), ``ballots`` (one frozenset of project
    ids per voter, in file order), ``budget`` (integer, same unit)."""

    meta: dict[str, str]
    projects: list[Project]
    ballots: list[frozenset[str]] = field(default_factory=list)
    budget: int = 0


def _whole(text: str, what: str) -> int:
    """``"400000"`` or ``"400000.0"`` → 400000; anything fractional or not a number → ValueError."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{what}: {text!r} is not a number") from None
    if value != value.to_integral_value():
        raise ValueError(f"{what}: {text!r} is not a whole number")
    return int(value)


def parse(text: str) -> Instance:
    """Parse the text of a ``.pb`` file; raises ``ValueError`` on a malformed file (no META/PROJECTS/
    VOTES section, a missing column, a vote for an unknown project, a fractional cost)."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"):
        if not row or not any(cell.strip() for cell in row):
            continue
        head = row[0].strip()
        if len(row) == 1 and head.upper() in ("META", "PROJECTS", "VOTES"):
            current = head.upper()
            sections[current] = []
            continue
        if current is None:
            raise ValueError("a .pb file starts with a META section")
        sections[current].append([cell.strip() for cell in row])
    for name in ("META", "PROJECTS", "VOTES"):
        if name not in sections or not sections[name]:
            raise ValueError(f"the {name} section is missing")
    meta = {row[0]: row[1] if len(row) > 1 else "" for row in sections["META"][1:]}
    header = sections["PROJECTS"][0]
    if "project_id" not in header or "cost" not in header:
        raise ValueError("PROJECTS needs the columns project_id and cost")
    pid, pcost = header.index("project_id"), header.index("cost")
    projects = [Project(row[pid], _whole(row[pcost], f"cost of project {row[pid]}"))
                for row in sections["PROJECTS"][1:]]
    known = {p.id for p in projects}
    header = sections["VOTES"][0]
    if "vote" not in header:
        raise ValueError("VOTES needs the column vote")
    vcol = header.index("vote")
    ballots = []
    for row in sections["VOTES"][1:]:
        chosen = frozenset(v.strip() for v in (row[vcol] if vcol < len(row) else "").split(",") if v.strip())
        if not chosen <= known:
            raise ValueError(f"voter {row[0]} chose unknown projects {sorted(chosen - known)}")
        ballots.append(chosen)
    if "budget" not in meta:
        raise ValueError("META needs the budget")
    return Instance(meta=meta, projects=projects, ballots=ballots, budget=_whole(meta["budget"], "budget"))


def read(path: str | Path) -> Instance:
    """Read a ``.pb`` file (UTF-8); see ``parse``."""
    return parse(Path(path).read_text(encoding="utf-8"))
