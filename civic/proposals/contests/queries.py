"""Read-only lists for the mini-program: a contest's ideas (newest, most supported, or a shuffled order
stable per resident), Chinese search, and a resident's own ideas, supports and notifications.
All cursor-paginated (keyset)."""

from __future__ import annotations

import base64
import hashlib
import json

import sqlalchemy as sa

from civic.core.errors import BadRequest
from civic.core.pagination import paginate
from civic.core.text import search_token_list
from civic.extensions import db
from civic.proposals import moderation
from civic.proposals.contests.models import Comment, Contest, Idea, Support
from civic.proposals.contests.service import get_contest, visible_idea

# The shuffle key: (id · a + b) mod P with P the prime 2^31 - 1 and a, b drawn from
# sha256(resident, contest).  For a given resident it is a bijection on ids below P (a ≠ 0), so keys are
# unique and keyset pagination on (key, id) is exact; different residents get different multipliers, so
# different orders, and the same resident always gets the same one.  Products stay below 2^62 (no
# overflow in SQLite's or PostgreSQL's 64-bit integers).
_P = 2_147_483_647


def shuffle_params(resident_id: int, contest_id: int) -> tuple[int, int]:
    h = hashlib.sha256(f"civic-shuffle:{resident_id}:{contest_id}".encode()).digest()
    a = int.from_bytes(h[:8], "big") % (_P - 1) + 1
    b = int.from_bytes(h[8:16], "big") % _P
    return a, b


def shuffle_key(idea_id: int, a: int, b: int) -> int:
    return (idea_id * a + b) % _P


def _search_filter(stmt, q: str | None):
    if not q:
        return stmt
    tokens = search_token_list(q)
    if not tokens:
        raise BadRequest("请输入搜索词", code="search_empty")
    for t in dict.fromkeys(tokens):
        escaped = t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Idea.search_tokens.like(f"% {escaped} %", escape="\\"))
    return stmt


def list_ideas(actor, contest_id: int, *, sort: str = "newest", q: str | None = None, cursor: str | None = None,
               limit: int = 20):
    """A contest's approved ideas.

    :param sort: ``newest`` (submission time), ``supported`` (support count, then newest id), ``shuffle``
        (an order fixed for this resident and contest).
    :param q: Chinese search: every jieba token of ``q`` must be a token of the idea's title + text.
    :returns: ``(ideas, next_cursor)``.
    """
    contest = get_contest(contest_id)
    stmt = _search_filter(sa.select(Idea).where(Idea.contest_id == contest.id, Idea.state == "approved"), q)
    if sort == "supported":
        return paginate(stmt, [Idea.support_count, Idea.id], cursor=cursor, limit=limit)
    if sort == "newest":
        return paginate(stmt, [Idea.created_at, Idea.id], cursor=cursor, limit=limit)
    a, b = shuffle_params(actor.id, contest.id)
    key = (sa.cast(Idea.id, sa.BigInteger) * sa.literal(a, sa.BigInteger) + b) % _P  # int4 would overflow
    if cursor:
        try:
            last = int(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))))
        except (ValueError, TypeError) as exc:
            raise BadRequest("分页游标无效", code="cursor_invalid") from exc
        stmt = stmt.where(key > last)
    rows = list(db.session.scalars(stmt.order_by(key, Idea.id).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = base64.urlsafe_b64encode(json.dumps(shuffle_key(rows[-1].id, a, b)).encode()).decode().rstrip("=")
    return rows, next_cursor


def list_contests(*, cursor: str | None = None, limit: int = 20):
    return paginate(sa.select(Contest), [Contest.id], cursor=cursor, limit=limit)


def list_comments(actor, idea_id: int, *, cursor: str | None = None, limit: int = 20):
    """Shown comments of an idea, oldest first (hidden ones only to their author and moderators)."""
    idea = visible_idea(actor, idea_id)
    stmt = sa.select(Comment).where(Comment.idea_id == idea.id)
    if not moderation.is_moderator(actor, get_contest(idea.contest_id).organisation_id):
        stmt = stmt.where(sa.or_(Comment.state == "approved", Comment.author_id == actor.id))
    return paginate(stmt, [Comment.id], cursor=cursor, limit=limit, descending=False)


def my_ideas(actor, *, cursor=None, limit=20):
    return paginate(sa.select(Idea).where(Idea.author_id == actor.id), [Idea.id], cursor=cursor, limit=limit)


def my_supports(actor, *, cursor=None, limit=20):
    """The resident's active supports, newest first."""
    return paginate(sa.select(Support).where(Support.resident_id == actor.id, Support.active.is_(True)),
                    [Support.id], cursor=cursor, limit=limit)
