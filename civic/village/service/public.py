"""What the public page shows: published and corrected disclosures only, never drafts.

Verbs: public_version (ETag and cache key), public_index, public_disclosure_hash, public_disclosure,
public_vouchers_shown, public_voucher.  Sources: 村民委员会组织法 Art. 30 (村务公开); RULES.md §2.  The asker of an inquiry is
never shown.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import blur
from civic.core.db import commit
from civic.core.errors import NotFound
from civic.extensions import db
from civic.village.models import (
    CATEGORIES,
    CatalogueItem,
    Disclosure,
    DisclosureLine,
    VillageProfile,
    Voucher,
)
from civic.village.service.catalogue import catalogue
from civic.village.service.content import totals
from civic.village.service.disclosures import versions
from civic.village.service.inquiries import public_inquiries
from civic.village.service.workflow import PUBLIC_STATUSES


def public_version(village) -> tuple[int, dt.datetime | None]:
    """``(content_version, changed_at)`` of the village's public content (no writes)."""
    row = db.session.execute(sa.select(VillageProfile.content_version, VillageProfile.changed_at)
                             .where(VillageProfile.village_id == village.id)).first()
    return (row[0], row[1]) if row else (0, None)


def public_index(village, *, year: str | None = None, category: str | None = None) -> dict:
    """What the public index shows: the years with published disclosures, and for ``year``
    (default: the latest) the public disclosures by period and category.  Drafts never appear."""
    years = sorted({p[:4] for p in db.session.scalars(
        sa.select(Disclosure.period).where(Disclosure.village_id == village.id,
                                           Disclosure.status.in_(PUBLIC_STATUSES)).distinct())}, reverse=True)
    year = year if year in years else (years[0] if years else None)
    stmt = (sa.select(Disclosure.id, Disclosure.period, Disclosure.category, Disclosure.title, Disclosure.status,
                      Disclosure.version, Disclosure.published_at, Disclosure.content_hash)
            .where(Disclosure.village_id == village.id, Disclosure.status.in_(PUBLIC_STATUSES),
                   Disclosure.period.startswith(year or "-")))
    if category in CATEGORIES:
        stmt = stmt.where(Disclosure.category == category)
    rows = db.session.execute(stmt.order_by(Disclosure.period.desc(), Disclosure.category, Disclosure.id)).all()
    periods: dict[str, dict[str, list]] = {}
    for r in rows:
        periods.setdefault(r.period, {}).setdefault(r.category, []).append(r)
    items = catalogue(village, active_only=True)
    return {"years": years, "year": year, "category": category if category in CATEGORIES else None,
            "periods": periods, "items": items}


def public_disclosure_hash(village, disclosure_id: int) -> str:
    """The content hash of a public disclosure of ``village`` (one indexed lookup); else NotFound."""
    row = db.session.execute(sa.select(Disclosure.content_hash).where(
        Disclosure.id == disclosure_id, Disclosure.village_id == village.id,
        Disclosure.status.in_(PUBLIC_STATUSES))).first()
    if row is None:
        raise NotFound("找不到该公开事项", code="disclosure_not_found", details={"disclosure_id": disclosure_id})
    return row[0]


def public_disclosure(village, disclosure_id: int) -> dict:
    """A public disclosure with its lines, totals, versions and inquiries (asker never included).

    :raises NotFound: ``disclosure_not_found`` for drafts or another village's disclosure.
    """
    d = db.session.get(Disclosure, disclosure_id)
    if d is None or d.village_id != village.id or d.status not in PUBLIC_STATUSES:
        raise NotFound("找不到该公开事项", code="disclosure_not_found", details={"disclosure_id": disclosure_id})
    item = db.session.get(CatalogueItem, d.item_id)
    vs = versions(d)
    inquiries = [{"question": i.question, "asked_at": i.asked_at, "due_at": i.due_at, "answer": i.answer,
                  "answered_at": i.answered_at} for i in public_inquiries([v.id for v in vs])]
    return {"d": d, "item": item, "totals": totals(d), "versions": vs, "inquiries": inquiries}


def public_vouchers_shown(disclosure_id: int) -> frozenset[int]:
    """The ids of a disclosure's vouchers whose blurred rendition exists: the public page shows those
    and says of the others that they are being blurred (their address answers 409
    ``photo_blur_pending`` until then: the public page is beyond every circle that may see an
    original).  Two queries, whatever the number of vouchers; part of the page's cache key, so the
    page changes when a rendition is made.  A voucher stored before blurring existed has no blur row
    yet: it gets one, and its job, here (as :func:`civic.core.blur.keys_for` does on a first showing)."""
    rows = db.session.execute(sa.select(Voucher.id, Voucher.display_key, Voucher.thumb_key)
                              .join(DisclosureLine, DisclosureLine.id == Voucher.line_id)
                              .where(DisclosureLine.disclosure_id == disclosure_id)).all()
    found = blur.lookup(k for _, k, _ in rows)
    missing = [{"display_key": k, "thumb_key": t} for _, k, t in rows if not found.known(k)]
    if missing:
        blur.request_all(missing)
        commit()
    return frozenset(i for i, k, _ in rows if found.state(k, original=False) == "blurred")


def public_voucher(village, voucher_id: int) -> Voucher:
    """A voucher of a public (published or corrected) disclosure of ``village``; else NotFound."""
    v = db.session.get(Voucher, voucher_id)
    if v is None or v.line.disclosure.village_id != village.id or v.line.disclosure.status not in PUBLIC_STATUSES:
        raise NotFound("找不到该凭证", code="voucher_not_found", details={"voucher_id": voucher_id})
    return v
