"""Cursor (keyset) pagination for lists.

A page is ``{"items": [...], "next_cursor": "..." | null}``.  The cursor is an opaque, URL-safe
encoding of the last row's sort key; the next page is ``WHERE (sort, id) < (last_sort, last_id)``
(or ``>`` for ascending), which an index serves at the same cost on page 1 and page 10,000, unlike
OFFSET.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import marshmallow as ma
import sqlalchemy as sa

from civic.core.errors import BadRequest
from civic.core.schemas import Integer
from civic.extensions import db

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class PageArgs(ma.Schema):
    cursor = ma.fields.String(load_default=None, metadata={"description": "上一页返回的 next_cursor"})
    limit = Integer(
        load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT)
    )


def as_page(result: tuple[list, str | None]) -> dict:
    """``(items, next_cursor)`` from :func:`paginate` as the response body of a page schema."""
    items, cursor = result
    return {"items": items, "next_cursor": cursor}


def page_schema(item_schema: type[ma.Schema], name: str | None = None) -> type[ma.Schema]:
    """A response schema ``{"items": [item_schema], "next_cursor": str|null}``."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next_cursor": ma.fields.String(allow_none=True),
        },
        name=name or f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
    )


def encode_cursor(values: list[Any]) -> str:
    out = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(out).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != n:
            raise ValueError
        return values
    except (ValueError, TypeError) as exc:
        raise BadRequest("分页游标无效", code="cursor_invalid") from exc


def paginate(stmt: sa.Select, sort_cols: list, *, cursor: str | None, limit: int, descending: bool = True):
    """Run ``stmt`` keyset-paginated on ``sort_cols`` (the last must be unique, e.g. the id).

    :returns: ``(rows, next_cursor)``.
    :raises BadRequest: ``cursor_invalid`` for a cursor that was not ours.
    """
    if cursor:
        values = cursor_values(cursor, sort_cols)
        cmp = sa.tuple_(*sort_cols) < sa.tuple_(*values) if descending else (
            sa.tuple_(*sort_cols) > sa.tuple_(*values)
        )
        stmt = stmt.where(cmp)
    order = [c.desc() if descending else c.asc() for c in sort_cols]
    rows = db.session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, c.key) for c in sort_cols])
    return rows, next_cursor


def cursor_values(cursor: str, sort_cols: list) -> list[Any]:
    """The values of a client's ``cursor`` for ``sort_cols``, each checked against its column's type
    (an aware datetime, an integer within the column's range — int4 unless ``BigInteger`` —, a
    string...), for a keyset query of one's own.

    :raises BadRequest: ``cursor_invalid`` for a cursor that was not ours."""
    return [_cursor_value(c, v) for c, v in zip(sort_cols, decode_cursor(cursor, len(sort_cols)), strict=True)]


def _cursor_value(col, value):
    # A cursor comes from the client: a value of the wrong type would reach the database (an error
    # on PostgreSQL, a silent wrong comparison on SQLite), so each must match its column's type.
    if _is_datetime_col(col):
        try:
            value = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise BadRequest("分页游标无效", code="cursor_invalid") from exc
        if value.tzinfo is None:
            raise BadRequest("分页游标无效", code="cursor_invalid")
        return value
    try:
        expected = col.type.python_type
    except (AttributeError, NotImplementedError):
        expected = None
    ok = value is not None and not isinstance(value, bool) and (
        expected is None or isinstance(value, expected) or (expected is float and isinstance(value, int))
    )
    if expected is None:
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    bits = 63 if isinstance(getattr(col, "type", None), sa.BigInteger) else 31
    if isinstance(value, int) and not -(2**bits) <= value < 2**bits:
        ok = False  # beyond the column (PostgreSQL int4/int8), or more than SQLite can bind
    if not ok:
        raise BadRequest("分页游标无效", code="cursor_invalid")
    return value


def _is_datetime_col(col) -> bool:
    try:
        return isinstance(col.type, sa.DateTime) or getattr(col.type, "impl", None).__class__ is sa.DateTime
    except AttributeError:
        return False
