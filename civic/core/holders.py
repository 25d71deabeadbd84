"""Which rows still hold a stored file (the store is content-addressed: one file, many holders).

Read from the models' metadata (columns declaring ``info={"media": ...}`` or a blurred rendition),
so the core names no domain.  Used by :mod:`civic.core.media` (which re-exports it) and
:mod:`civic.core.blur` before a file is deleted.
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.extensions import db

__all__ = ["keys_in_use", "kinds_holding"]


def keys_in_use(keys, *, skip_tables: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """Which of the store ``keys`` some row still holds, in any column declaring a media kind
    (``info={"media": ...}``: a key column, or a JSON list of stored photos).

    The store is content-addressed: the same photo sent twice, to two domains, is one file.  So a
    domain deleting a file it no longer needs (a decided claim's document) deletes only the keys
    this returns nothing for.  Read from the metadata, so the core names no domain; one indexed or
    scanning query per column, meant for the few keys of one object, not for bulk purges.  Blurred
    renditions (``info={"media_rendition": "blurred"}``) count as holders; a blur row's copy of
    the original's keys does not (it follows the original).  ``skip_tables``: tables whose rows the
    caller has checked itself (the retention of one domain's originals).
    """
    keys = {k for k in keys if k}
    found: set[str] = set()
    if not keys:
        return found
    for table, col, kind in _holding_columns():
        if table.name in skip_tables or (not kind and col.info.get("media_rendition") != "blurred"):
            continue
        if isinstance(col.type, sa.JSON):
            for key in keys - found:
                if db.session.scalar(sa.select(sa.literal(1)).select_from(table).where(
                        sa.cast(col, sa.Text).contains(key)).limit(1)):
                    found.add(key)
        else:
            found |= set(db.session.scalars(sa.select(col).where(col.in_(sorted(keys))).distinct()))
    return found


def kinds_holding(key: str) -> set[str]:
    """The media kinds (``info={"media": kind}``) whose rows hold the store ``key``: more than one
    when the same photo was stored in two domains (a case and a contest idea, say: the store is
    content-addressed, so it is one file with one blur record).  One query per media column."""
    found: set[str] = set()
    for table, col, kind in _holding_columns():
        if not kind or kind in found:
            continue
        where = sa.cast(col, sa.Text).contains(key) if isinstance(col.type, sa.JSON) else col == key
        if db.session.scalar(sa.select(sa.literal(1)).select_from(table).where(where).limit(1)):
            found.add(kind)
    return found


def _holding_columns():
    """``(table, column, media kind or None)`` of every column that holds store keys: a media kind's
    (``info={"media": kind}``) or a blur record's rendition (``info={"media_rendition": ...}``)."""
    for table in db.metadata.sorted_tables:
        for col in table.columns:
            if col.info.get("media") or col.info.get("media_rendition"):
                yield table, col, col.info.get("media")
