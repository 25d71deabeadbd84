"""Personal data providers: how each domain answers a resident's rights (PIPL Arts. 44-47).

The core knows no domain.  Each domain registers, at import, a :class:`Provider` naming the columns
that tie its rows to a person (``"table.column"``, foreign keys to ``user_account``) and the verbs
the core calls for them:

* ``export(user_id) -> dict``: the domain's part of ``GET /api/v1/my/data`` (PIPL Arts. 44-45);
* ``erase(user_id, now)``: remove or anonymise the person's data that no law requires to keep
  (PIPL Art. 47), when the account is deleted.  What it keeps is a row of the retention table
  (:mod:`civic.core.retention`), which says for how long and on what ground.

A column that ties a row to a *staff member's act* (who certified, who entered) is declared
:func:`exempt` with its reason.  ``tests/foundation/test_personal_data.py`` fails on any foreign
key to ``user_account`` that is neither covered nor exempt, so a new domain cannot forget one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

PROVIDERS: dict[str, Provider] = {}
EXEMPT: dict[str, str] = {}


@dataclass(frozen=True)
class Provider:
    name: str
    columns: tuple[str, ...]
    export: Callable[[int], dict]
    erase: Callable[[int, dt.datetime], None] | None = None
    order: int = 100  # erase order: lower first (an account's own row goes last)
    notes: dict = field(default_factory=dict)


def register(name: str, *, columns: tuple[str, ...] | list[str], export: Callable[[int], dict],
             erase: Callable[[int, dt.datetime], None] | None = None, order: int = 100,
             staff_acts: Mapping[str, str] | None = None) -> None:
    """Register a domain's provider (idempotent by name: a re-import replaces it).  ``staff_acts``:
    ``{"table.column": what act it records}`` for the domain's columns naming a staff member, each
    declared :func:`exempt` as "a staff act: …"."""
    PROVIDERS[name] = Provider(name, tuple(columns), export, erase, order)
    for column, act in (staff_acts or {}).items():
        exempt(column, f"a staff act: {act}")


def exempt(column: str, reason: str) -> None:
    """Declare that ``"table.column"`` (a foreign key to ``user_account``) records a staff member's
    act or a system account, not a resident's personal data, with the reason."""
    EXEMPT[column] = reason


def covered() -> dict[str, str]:
    """``{"table.column": provider name}`` over every provider."""
    return {c: p.name for p in PROVIDERS.values() for c in p.columns}


def export_for(user_id: int) -> dict:
    """Every provider's part, keyed by provider name, in name order."""
    return {name: PROVIDERS[name].export(user_id) for name in sorted(PROVIDERS)}


def erase_for(user_id: int, now: dt.datetime) -> list[str]:
    """Run every provider's ``erase`` (lowest ``order`` first); returns the names that ran."""
    done = []
    for p in sorted(PROVIDERS.values(), key=lambda p: (p.order, p.name)):
        if p.erase is not None:
            p.erase(user_id, now)
            done.append(p.name)
    return done


def rows_of(table: str, column: str, user_id: int, *, drop: tuple[str, ...] = ()) -> list[dict]:
    """The rows of ``table`` whose ``column`` is ``user_id``, as JSON-ready dicts (datetimes as ISO
    text, decimals as text), without the columns in ``drop`` (secrets such as access tokens)."""
    import decimal

    import sqlalchemy as sa

    from civic.extensions import db

    t = db.metadata.tables[table]
    out = []
    for row in db.session.execute(sa.select(t).where(t.c[column] == user_id).order_by(*t.primary_key.columns)):
        item = {}
        for k, v in row._mapping.items():
            if k in drop:
                continue
            if isinstance(v, dt.datetime | dt.date):
                v = v.isoformat()
            elif isinstance(v, decimal.Decimal):
                v = str(v)
            item[k] = v
        out.append(item)
    return out


def columns_export(columns: tuple[str, ...], *, drop: tuple[str, ...] = ()) -> Callable[[int], dict]:
    """An ``export`` that lists, for each ``"table.column"``, the rows tied to the person by that
    column (``{"table.column": [row, ...]}``): for domains whose rows are the person's own acts."""

    def export(user_id: int) -> dict:
        out = {}
        for col in columns:
            table, _, column = col.partition(".")
            out[col] = rows_of(table, column, user_id, drop=drop)
        return out

    return export


def linked_users(*columns) -> set[int]:
    """The account ids that the given ORM columns (foreign keys to ``user_account``) hold, without
    NULLs: the accounts whose deletion a domain's retention job has to look at (a domain passes
    them to ``accounts.service.deleted_accounts``)."""
    import sqlalchemy as sa  # noqa: PLC0415 — the core's registry stays importable without a database

    from civic.extensions import db  # noqa: PLC0415

    out: set[int] = set()
    for column in columns:
        out |= set(db.session.scalars(sa.select(column).where(column.is_not(None)).distinct()))
    return out
