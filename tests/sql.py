"""Counting the SQL statements the app sends (the N+1 tests of list pages)."""

from __future__ import annotations

import contextlib
import re

import sqlalchemy as sa

from civic.extensions import db


@contextlib.contextmanager
def statements():
    """Collects the SQL statements the app sends on its engine while the block runs (their text, in
    order: ``len()`` is the number of round trips through SQLAlchemy)."""
    seen: list[str] = []

    def listen(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)


def reading(seen: list[str], table: str) -> list[str]:
    """The statements among ``seen`` that name ``table`` (as a whole word)."""
    word = re.compile(rf"\b{re.escape(table)}\b")
    return [s for s in seen if word.search(s)]
