"""Villagers' inquiries about published disclosures and the committee's answers.

Verbs: is_villager, ask, answer, overdue_inquiries, list_inquiries, public_inquiries.  Sources:
村民委员会组织法 Art. 31 (villagers may inquire); 上海市实施《村民委员会组织法》办法 (2020) Art. 24 (a reply
within 15 days).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import audit
from civic.core.calendar import legal_period_end, move_deadline, year_bounds
from civic.core.db import utcnow
from civic.core.errors import Conflict, Forbidden, NotFound
from civic.core.pagination import DEFAULT_LIMIT, paginate
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.village.models import Disclosure, Inquiry
from civic.village.service.catalogue import bump
from civic.village.service.committees import require_committee, require_village_reader
from civic.village.service.disclosures import require_seen
from civic.village.service.workflow import PUBLIC_STATUSES

INQUIRY_REPLY_DAYS = 15  # 上海市实施办法 Art. 24: a reply within 15 days


def reply_due(asked_at: dt.datetime, calendar=None) -> dt.datetime:
    """When the committee's reply to an inquiry asked at ``asked_at`` is due: the end (23:59:59
    Asia/Shanghai) of the 15th day after the day it was asked, or, when that day is a day off, of the
    first working day after it (上海市实施办法 Art. 24 "15日内"; Civil Code Arts. 201, 203: the day
    asked does not count, the period ends at 24:00 of its last day and moves past a holiday).
    E.g. asked 2025-09-16 10:00 → due 2025-10-09 23:59:59 (1–8 October off)."""
    return legal_period_end(asked_at, INQUIRY_REPLY_DAYS, calendar).due


def is_villager(user, village) -> bool:
    """True when the registry ties ``user`` to a home in ``village``: owner, co-owner or tenant of a
    unit under it (registry facts entered by staff or import, never the resident's own claim; see
    civic.property.service.link_resident)."""
    return any(unit.path.startswith(village.path) for _link, unit in registry.units_of_resident(user.id))


def ask(d: Disclosure, question: str, actor) -> Inquiry:
    """A villager asks about a published disclosure of their own village; the committee owes a
    reply within 15 days (上海市实施办法 Art. 24).

    Who may ask: 组织法 Art. 31 gives the right to inquire into 村务公开 to the village's 村民, and the
    15-day reply is a duty to them.  civic reads "villager" as a resident the registry ties to a
    home in the village (:func:`is_villager`).  Anyone else (a resident of a compound elsewhere) is
    refused rather than admitted uncounted: a question on the public page that the committee need
    not answer would pass for an unanswered villager's question, and counted it would let outsiders
    fill the committee's reply duty and the town's overdue figures.  Anyone may still read the public
    page, and failures to publish go to the town government (Art. 31).
    Returns the new :class:`Inquiry` (``due_at``: :func:`reply_due`, the end of the 15th day).
    :raises Forbidden: ``wrong_account_kind`` (not a resident), ``not_villager``.
    :raises Conflict: ``not_published``.  :raises NotFound: ``disclosure_not_found`` (a
        disclosure not yet public: to a villager it does not exist yet).

    Order (issue #15): who may ask (a resident who sees the disclosure, a villager of its
    village), then its state, then the question.
    """
    if actor.kind != "resident":
        raise Forbidden("仅村民可以提出查询", code="wrong_account_kind")
    village = require_seen(d, actor)
    if not is_villager(actor, village):
        raise Forbidden("仅在本村登记的村民可以就本村公开事项提出查询", code="not_villager",
                        details={"village_code": village.code})
    if d.status not in PUBLIC_STATUSES:
        raise Conflict("只能就已公开的内容提出查询", code="not_published")
    now = utcnow()
    inq = Inquiry(disclosure_id=d.id, village_id=d.village_id, asker_id=actor.id,
                  question=require_text(question, "question", 2000), asked_at=now,
                  due_at=reply_due(now))
    db.session.add(inq)
    db.session.flush()
    audit.record("inquiry.ask", "village_inquiry", inq.id, actor=actor, data={"disclosure_id": d.id})
    bump(d.village_id)
    return inq


def answer(inquiry_id: int, text: str, actor) -> Inquiry:
    """The committee answers an inquiry (shown on the public page); an inquiry is answered once.

    The answer is written by one conditional UPDATE (``WHERE answered_at IS NULL``, row count
    checked), so of two answers sent at once exactly one is kept, on SQLite as on PostgreSQL.
    :raises NotFound: ``inquiry_not_found``.  :raises Conflict: ``already_answered``.
    :raises Forbidden: ``not_village_committee``.  Order: permission, then state.
    """
    inq = db.session.get(Inquiry, inquiry_id)
    if inq is None:
        raise NotFound("找不到该查询", code="inquiry_not_found", details={"inquiry_id": inquiry_id})
    require_committee(actor, registry.get_place(inq.village_id))
    if inq.answered_at is not None:
        raise Conflict("该查询已答复", code="already_answered")
    reply = require_text(text, "answer", 5000)
    table = Inquiry.__table__
    done = db.session.execute(
        sa.update(table).where(table.c.id == inq.id, table.c.answered_at.is_(None))
        .values(answer=reply, answered_by_id=actor.id, answered_at=utcnow())).rowcount
    if done != 1:
        raise Conflict("该查询已由他人答复，请刷新后查看", code="already_answered")
    db.session.refresh(inq)
    audit.record("inquiry.answer", "village_inquiry", inq.id, actor=actor,
                 data={"late": inq.answered_at > inq.due_at})
    bump(inq.village_id)
    return inq


def _overdue_stmt(village, now: dt.datetime):
    return sa.select(Inquiry).where(Inquiry.village_id == village.id, Inquiry.answered_at.is_(None),
                                    Inquiry.due_at < now)


def overdue_inquiries(village, now: dt.datetime | None = None) -> list[Inquiry]:
    """Unanswered inquiries past their 15-day reply date (上海市实施办法 Art. 24), oldest first."""
    return list(db.session.scalars(_overdue_stmt(village, now or utcnow()).order_by(Inquiry.id)))


def list_inquiries(village, actor, *, overdue: bool = False, cursor: str | None = None,
                   limit: int = DEFAULT_LIMIT) -> tuple[list[Inquiry], str | None]:
    """Inquiries for the committee, the supervision committee and the town office: newest first, or
    with ``overdue`` only the unanswered ones past their reply date, oldest first.  A keyset page:
    ``(rows, next_cursor)``.

    :raises Forbidden: not a reader of the village.  :raises BadRequest: ``cursor_invalid``."""
    require_village_reader(actor, village)
    if overdue:
        return paginate(_overdue_stmt(village, utcnow()), [Inquiry.id], cursor=cursor, limit=limit, descending=False)
    return paginate(sa.select(Inquiry).where(Inquiry.village_id == village.id), [Inquiry.id], cursor=cursor,
                    limit=limit)


def public_inquiries(disclosure_ids: list[int]) -> list[Inquiry]:
    return list(db.session.scalars(sa.select(Inquiry).where(Inquiry.disclosure_id.in_(disclosure_ids))
                                   .order_by(Inquiry.id)))


def recompute_reply_dues(year: int, calendar) -> int:
    """A holiday notice for ``year`` was loaded or corrected: recompute the reply date of every
    unanswered inquiry whose 15 days touched ``year`` (:func:`reply_due`); answered ones keep theirs.
    Each change is audited with before and after.  Returns how many changed."""
    start, end = year_bounds(year)
    n = 0
    for inq in db.session.scalars(sa.select(Inquiry).where(
            Inquiry.answered_at.is_(None), Inquiry.asked_at < end, Inquiry.due_at >= start).order_by(Inquiry.id)):
        n += move_deadline(inq, "due_at", reply_due(inq.asked_at, calendar), year=year,
                           action="inquiry.due_recomputed", object_type="village_inquiry")
    return n
