"""The village's profile and its catalogue of what must be disclosed.

Verbs: ensure_village (profile, catalogue seeded from ``data/catalogue.json``), bump (the public
content changed), catalogue, effective_cadence, add_catalogue_item, update_catalogue_item,
update_settings.  Sources: 村民委员会组织法 Art. 30; 上海市实施《村民委员会组织法》办法 (2020) Art. 23;
RULES.md §2 (the catalogue is data per village).
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import sqlalchemy as sa

from civic.core import audit
from civic.core.db import edit, utcnow
from civic.core.errors import Conflict, NotFound, ValidationFailed
from civic.core.text import require_text
from civic.extensions import db
from civic.village.models import CADENCES, CATEGORIES, CatalogueItem, VillageProfile
from civic.village.service.committees import require_committee
from civic.village.service.periods import today_shanghai

CATEGORY_NAMES = {"party": "党务", "affairs": "村务", "finance": "财务", "services": "事务"}
CADENCE_NAMES = {"monthly": "每月", "quarterly": "每季度", "yearly": "每年", "immediate": "随时"}


def _seed() -> dict:
    return json.loads(resources.files("civic.village").joinpath("data/catalogue.json").read_text(encoding="utf-8"))


def ensure_village(village, *, tracking_since: dt.date | None = None) -> VillageProfile:
    """The village's profile, creating it and seeding its catalogue from ``data/catalogue.json``
    (RULES.md §2: the catalogue is data per village) on first use."""
    prof = db.session.scalar(sa.select(VillageProfile).where(VillageProfile.village_id == village.id))
    if prof is not None:
        return prof
    prof = VillageProfile(village_id=village.id, many_transactions=False,
                          tracking_since=tracking_since or today_shanghai(), content_version=0)
    db.session.add(prof)
    seed = _seed()
    for item in seed["items"]:
        db.session.add(CatalogueItem(
            village_id=village.id, code=item["code"], category=item["category"], title=item["title"],
            legal_basis=item["legal_basis"], cadence=item["cadence"],
            monthly_if_busy=bool(item.get("monthly_if_busy")), due_days=item.get("due_days", seed["due_days_default"]),
            active=True,
        ))
    db.session.flush()
    return prof


def bump(village_id: int) -> None:
    """Mark the village's public content as changed (new ETag, cache key)."""
    db.session.execute(
        sa.update(VillageProfile).where(VillageProfile.village_id == village_id)
        .values(content_version=VillageProfile.content_version + 1, changed_at=utcnow())
    )


def catalogue(village, *, active_only: bool = False) -> list[CatalogueItem]:
    """The village's catalogue items, by category and code."""
    stmt = sa.select(CatalogueItem).where(CatalogueItem.village_id == village.id)
    if active_only:
        stmt = stmt.where(CatalogueItem.active.is_(True))
    order = sa.case({c: i for i, c in enumerate(CATEGORIES)}, value=CatalogueItem.category)
    return list(db.session.scalars(stmt.order_by(order, CatalogueItem.code)))


def effective_cadence(item: CatalogueItem, profile: VillageProfile) -> str:
    """Finance items flagged ``monthly_if_busy`` are monthly where the village has many
    transactions (组织法 Art. 30 para. 2); otherwise the item's own cadence."""
    if item.monthly_if_busy and profile.many_transactions:
        return "monthly"
    return item.cadence


def _check_item_fields(data: dict) -> None:
    if "category" in data and data["category"] not in CATEGORIES:
        raise ValidationFailed("未知的公开类别", code="category_invalid", details={"category": data["category"]})
    if "cadence" in data and data["cadence"] not in CADENCES:
        raise ValidationFailed("未知的公开周期", code="cadence_invalid", details={"cadence": data["cadence"]})


def add_catalogue_item(village, data: dict, actor) -> CatalogueItem:
    """Add an item to the village's catalogue (committee or admin).

    ``data``: code, category, title, legal_basis, cadence, monthly_if_busy?, due_days?.
    :raises Conflict: ``catalogue_item_exists``.
    """
    require_committee(actor, village)
    ensure_village(village)
    _check_item_fields(data)
    if db.session.scalar(sa.select(CatalogueItem.id).where(CatalogueItem.village_id == village.id,
                                                          CatalogueItem.code == data["code"])):
        raise Conflict("目录中已有该事项", code="catalogue_item_exists", details={"code": data["code"]})
    item = CatalogueItem(village_id=village.id, code=data["code"], category=data["category"],
                         title=require_text(data["title"], "title", 200),
                         legal_basis=require_text(data["legal_basis"], "legal_basis", 2000),
                         cadence=data["cadence"], monthly_if_busy=data.get("monthly_if_busy", False),
                         due_days=data.get("due_days", 10), active=True)
    db.session.add(item)
    db.session.flush()
    audit.record("village.catalogue_item_added", "village_catalogue_item", item.id, actor=actor, data=dict(data))
    bump(village.id)
    return item


def update_catalogue_item(village, item_id: int, data: dict, actor) -> CatalogueItem:
    """Change an item's title, legal basis, cadence, due days or active flag (committee or admin).
    Values that change nothing leave the item, the audit log and the public page's content version
    as they are (civic.core.db.edit)."""
    require_committee(actor, village)
    item = db.session.get(CatalogueItem, item_id)
    if item is None or item.village_id != village.id:
        raise NotFound("目录中没有该事项", code="catalogue_item_not_found", details={"item_id": item_id})
    _check_item_fields(data)
    changed = edit(item, data)
    if not changed:
        return item
    db.session.flush()
    audit.record("village.catalogue_item_changed", "village_catalogue_item", item.id, actor=actor,
                 data={"before": {k: b for k, (b, _a) in changed.items()},
                       "after": {k: a for k, (_b, a) in changed.items()}})
    bump(village.id)
    return item


def update_settings(village, data: dict, actor) -> VillageProfile:
    """Set ``many_transactions`` and/or ``tracking_since`` (committee or admin).  Values that change
    nothing write nothing (civic.core.db.edit)."""
    require_committee(actor, village)
    prof = ensure_village(village)
    changed = edit(prof, data)
    if not changed:
        return prof
    db.session.flush()
    audit.record("village.settings_changed", "village_profile", prof.id, actor=actor,
                 data={"before": {k: str(b) for k, (b, _a) in changed.items()},
                       "after": {k: str(a) for k, (_b, a) in changed.items()}})
    return prof
