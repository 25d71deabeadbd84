"""Open data: the public record of every village as a SQLite file (sqlite-utils) plus CSV files.

Only what the public page shows: published and corrected disclosures, their lines (amounts in 分
and 元), answered inquiries' questions and answers.  Never an asker, a staff member or a phone.
Chinese full-text search: the text is segmented with :func:`civic.core.text.search_tokens` into a
``search_text`` column indexed by FTS5, and queries are segmented the same way
(``search(db, "道路")``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
import sqlite_utils

from civic.core.db import to_shanghai
from civic.core.text import search_tokens
from civic.extensions import db
from civic.property import service as registry
from civic.village.models import CatalogueItem, Disclosure, DisclosureLine, Inquiry
from civic.village.service import PUBLIC_STATUSES, fen_to_yuan


def _iso(value):
    return to_shanghai(value).isoformat() if value else None


def export(out: str) -> dict[str, int]:
    """Write ``out`` (replaced if present) and ``<stem>_<table>.csv`` beside it.

    :returns: rows per table.
    """
    path = Path(out)
    if path.exists():
        path.unlink()
    target = sqlite_utils.Database(path)
    villages: dict[int, object] = {}
    items = {i.id: i for i in db.session.scalars(sa.select(CatalogueItem))}
    disclosures, lines = [], []
    ds = db.session.scalars(sa.select(Disclosure).where(Disclosure.status.in_(PUBLIC_STATUSES))
                            .order_by(Disclosure.id)).all()
    for d in ds:
        village = villages.get(d.village_id) or registry.get_place(d.village_id)
        villages[d.village_id] = village
        text = " ".join([d.title, d.body] + [f"{ln.account} {ln.description} {ln.counterparty}" for ln in d.lines])
        disclosures.append({
            "id": d.id, "village_code": village.code, "village_name": village.name, "category": d.category,
            "item_code": items[d.item_id].code, "period": d.period, "title": d.title, "body": d.body,
            "version": d.version, "status": d.status, "supersedes_id": d.supersedes_id,
            "correction_reason": d.correction_reason, "opening_balance_fen": d.opening_balance,
            "closing_balance_fen": d.closing_balance, "content_hash": d.content_hash,
            "published_at": _iso(d.published_at), "search_text": search_tokens(text),
        })
    ids = [d.id for d in ds]
    for ln in db.session.scalars(sa.select(DisclosureLine).where(DisclosureLine.disclosure_id.in_(ids))
                                 .order_by(DisclosureLine.disclosure_id, DisclosureLine.position)):
        lines.append({"id": ln.id, "disclosure_id": ln.disclosure_id, "position": ln.position, "kind": ln.kind,
                      "date": ln.date.isoformat(), "account": ln.account, "description": ln.description,
                      "counterparty": ln.counterparty, "amount_fen": ln.amount, "amount_yuan": fen_to_yuan(ln.amount)})
    inquiries = [{"id": i.id, "disclosure_id": i.disclosure_id, "question": i.question, "answer": i.answer,
                  "asked_on": to_shanghai(i.asked_at).date().isoformat(), "answered_at": _iso(i.answered_at)}
                 for i in db.session.scalars(sa.select(Inquiry).where(Inquiry.disclosure_id.in_(ids),
                                                                      Inquiry.answered_at.is_not(None))
                                             .order_by(Inquiry.id))]
    tables = {"disclosures": disclosures, "lines": lines, "inquiries": inquiries}
    target["disclosures"].insert_all(disclosures, pk="id") if disclosures else target["disclosures"].create(
        {"id": int, "title": str, "search_text": str}, pk="id")
    if lines:
        target["lines"].insert_all(lines, pk="id", foreign_keys=[("disclosure_id", "disclosures")])
    if inquiries:
        target["inquiries"].insert_all(inquiries, pk="id", foreign_keys=[("disclosure_id", "disclosures")])
    target["disclosures"].enable_fts(["search_text"], fts_version="FTS5", create_triggers=True)
    target.close()
    for name, rows in tables.items():
        with (path.parent / f"{path.stem}_{name}.csv").open("w", encoding="utf-8-sig", newline="") as f:
            if rows:
                w = csv.DictWriter(f, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
    return {k: len(v) for k, v in tables.items()}


def search(target: sqlite_utils.Database, query: str) -> list[dict]:
    """Disclosures matching ``query``, segmented like the index (so "道路" finds 道路硬化工程)."""
    return list(target["disclosures"].search(search_tokens(query)))
