"""村务公开: the verbs.  Catalogue, disclosures and their state machine, finance lines and vouchers,
corrections, compliance, inquiries, committee membership.

Sources: 村民委员会组织法 (2018) Arts. 30-32; 上海市实施《村民委员会组织法》办法 (2020) Arts. 23-26;
RULES.md §2.  Money is integer 分; times are stored UTC and read in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from civic.accounts.memberships import acting_memberships
from civic.core import audit
from civic.core.db import SHANGHAI, claim_row, flush_or, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.pagination import DEFAULT_LIMIT, paginate
from civic.core.text import require_text, tidy
from civic.extensions import db
from civic.property import service as registry
from civic.village.models import (
    CADENCES,
    CATEGORIES,
    LINE_KINDS,
    CatalogueItem,
    Disclosure,
    DisclosureLine,
    Inquiry,
    VillageProfile,
    Voucher,
)

INQUIRY_REPLY_DAYS = 15  # 上海市实施办法 Art. 24: a reply within 15 days
CATEGORY_NAMES = {"party": "党务", "affairs": "村务", "finance": "财务", "services": "事务"}
CADENCE_NAMES = {"monthly": "每月", "quarterly": "每季度", "yearly": "每年", "immediate": "随时"}
STATUS_NAMES = {"draft": "草稿", "submitted": "待审核", "returned": "退回修改", "signed_off": "已审核签字",
                "published": "已公开", "corrected": "已更正"}
PUBLIC_STATUSES = ("published", "corrected")

# The disclosure state machine, declared once: action -> (from statuses, to status, organisation kind
# that may take it).  A correction is not a transition: it is a new version (see create_correction);
# publishing that version moves the old one to "corrected".
# "return" is open from "signed_off" too, so that nothing signed off can be stuck for good: if publish
# is refused (a row signed off before submit checked the balances, content changed after sign-off) the
# supervision committee withdraws its signature with a reason and the committee corrects the draft.
# Only the supervision committee may do it: the committee cannot pull back accounts the supervisors
# have signed off for the villagers to see (组织法 Art. 32; see :func:`transition`).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "submit": (("draft", "returned"), "submitted", "village_committee"),
    "return": (("submitted", "signed_off"), "returned", "village_supervision"),
    "sign_off": (("submitted",), "signed_off", "village_supervision"),
    "publish": (("signed_off",), "published", "village_committee"),
}
EDITABLE = ("draft", "returned")


# --- small helpers ------------------------------------------------------------------------------

def today_shanghai(now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(SHANGHAI).date()


_YUAN_RE = re.compile(r"^\d{1,3}(,\d{3})*(\.\d{1,2})?$|^\d+(\.\d{1,2})?$")


def parse_amount(value: Any, field: str = "amount") -> int:
    """An amount as integer 分 (> 0).

    Takes an int (already 分) or a 元 string such as ``"1,234.56"`` (thousands commas optional, at
    most two decimals), parsed exactly with Decimal.  Floats are refused: they cannot hold 0.1 元.
    :raises ValidationFailed: ``amount_invalid`` with ``details.field``.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationFailed("金额须为整数（分）或元字符串", code="amount_invalid", details={"field": field})
    if isinstance(value, int):
        fen = value
    elif isinstance(value, str) and _YUAN_RE.match(value.strip()):
        try:
            fen = int(Decimal(value.strip().replace(",", "")) * 100)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
            raise ValidationFailed("金额格式不正确", code="amount_invalid", details={"field": field}) from exc
    else:
        raise ValidationFailed("金额格式不正确，例如 \"1,234.56\"", code="amount_invalid",
                               details={"field": field, "value": str(value)[:40]})
    if fen <= 0:
        raise ValidationFailed("金额须大于零", code="amount_invalid", details={"field": field})
    return fen


def parse_balance(value: Any, field: str) -> int | None:
    """A balance in 分 (may be zero or negative); ``None`` passes; 元 strings as in parse_amount."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        neg = value.strip().startswith("-")
        digits = value.strip().lstrip("-")
        if digits in ("0", "0.00", "0.0"):
            return 0
        fen = parse_amount(digits, field)
        return -fen if neg else fen
    raise ValidationFailed("余额须为整数（分）或元字符串", code="amount_invalid", details={"field": field})


def fen_to_yuan(fen: int | None) -> str:
    """``123456`` -> ``"1,234.56"`` (exact, integer arithmetic)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
PASTE_MAX_ROWS = 500


def parse_pasted_lines(text: str, kind: str) -> list[dict]:
    """Finance lines pasted from a spreadsheet: one row per line, cells separated by tabs, in the
    order date / account / description / counterparty / amount (元).

    Dates as ``2026-03-05``, ``2026/3/5``, ``2026.3.5`` or ``2026年3月5日``; amounts as in
    :func:`parse_amount` (``"1,234.56"``; a leading ``¥``/``￥`` or a trailing ``元`` is dropped),
    converted exactly to integer 分.  Blank rows are skipped; a first row whose date cell is not a
    date (a header) is skipped.  ``kind`` (income/expense) applies to every row.
    Returns line dicts for :func:`create_disclosure` / :func:`update_disclosure` (``amount_fen``).
    :raises ValidationFailed: ``paste_invalid`` naming the row (1-based) and the problem;
        ``amount_invalid``; ``line_kind_invalid``; ``paste_too_long`` (over 500 rows).
    """
    if kind not in LINE_KINDS:
        raise ValidationFailed("收支类型须为收入或支出", code="line_kind_invalid", details={"kind": kind})
    rows = [r for r in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n") if r.strip()]
    if len(rows) > PASTE_MAX_ROWS:
        raise ValidationFailed(f"一次最多粘贴 {PASTE_MAX_ROWS} 行", code="paste_too_long",
                               details={"rows": len(rows), "max": PASTE_MAX_ROWS})
    out = []
    for n, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row.split("\t")]
        m = _DATE_RE.match(cells[0]) if cells else None
        if m is None and n == 1 and len(cells) >= 5:
            continue  # a header row
        if len(cells) != 5:
            raise ValidationFailed(f"第 {n} 行应有 5 列（日期、科目、摘要、往来单位、金额），实有 {len(cells)} 列",
                                   code="paste_invalid", details={"row": n, "columns": len(cells)})
        try:
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationFailed(f"第 {n} 行的日期无法识别：{cells[0][:20]}", code="paste_invalid",
                                   details={"row": n, "field": "date"})
        amount = cells[4].lstrip("¥￥").removesuffix("元").strip()
        out.append({"kind": kind, "date": day, "account": cells[1], "description": cells[2],
                    "counterparty": cells[3], "amount_fen": parse_amount(amount, f"row {n} amount")})
    if not out:
        raise ValidationFailed("没有可导入的明细行", code="paste_invalid", details={"row": 0})
    return out


def villages_for(user) -> list:
    """The villages whose affairs ``user`` works on: those covered by their village committee or
    supervision committee, and every village in their street centre's street(s).  Admins: all."""
    kinds = ("village_committee", "village_supervision", "street_centre")
    if user.kind == "admin":
        return list(db.session.scalars(sa.select(registry.Place).where(registry.Place.kind == "village")
                                       .order_by(registry.Place.code)))
    paths = {p for _m, org in acting_memberships(user, org_kinds=kinds) for p in registry.covered_place_paths(org.id)}
    if not paths:
        return []
    return list(db.session.scalars(sa.select(registry.Place).where(
        registry.Place.kind == "village", sa.or_(*[registry.Place.path.startswith(p) for p in paths]))
        .order_by(registry.Place.code)))


def village_by_code(code: str):
    """The village place with ``code``, or ``NotFound`` (``village_not_found``)."""
    place = registry.place_by_code(code)
    if place is None or place.kind != "village":
        raise NotFound("找不到该村", code="village_not_found", details={"village_code": code})
    return place


def get_disclosure(disclosure_id: int) -> Disclosure:
    d = db.session.get(Disclosure, disclosure_id)
    if d is None:
        raise NotFound("找不到该公开事项", code="disclosure_not_found", details={"disclosure_id": disclosure_id})
    return d


# --- who may act ----------------------------------------------------------------------------------

def _org_of_kind(user, village, kind: str):
    """The user's organisation of ``kind`` that covers ``village``, or None."""
    for _m, org in acting_memberships(user, org_kinds=(kind,)):
        if registry.organisation_covers(org.id, village.id):
            return org
    return None


def is_conflicted(user, village) -> bool:
    """True when ``user`` serves on both the village committee and the supervision committee of
    ``village`` (组织法 Art. 32: no village committee member sits on the supervision committee)."""
    return bool(_org_of_kind(user, village, "village_committee") and _org_of_kind(user, village, "village_supervision"))


def require_committee(user, village):
    """The acting village committee of ``village``; admins pass.  :raises Forbidden: ``not_village_committee``."""
    if user.kind == "admin":
        return None
    org = _org_of_kind(user, village, "village_committee")
    if org is None:
        raise Forbidden("仅该村村民委员会工作人员可操作", code="not_village_committee",
                        details={"village_id": village.id})
    return org


def require_supervisor(user, village):
    """The supervision committee ``user`` acts for; refuses conflicted members.

    :raises Forbidden: ``not_village_supervision``; ``supervision_conflict`` when the user is also a
        member of the village committee (组织法 Art. 32).
    """
    org = _org_of_kind(user, village, "village_supervision")
    if org is None:
        raise Forbidden("仅该村村务监督委员会成员可操作", code="not_village_supervision",
                        details={"village_id": village.id})
    if _org_of_kind(user, village, "village_committee") is not None:
        raise Forbidden("村民委员会成员不得担任村务监督委员会成员，不能审核签字", code="supervision_conflict",
                        details={"user_id": user.id, "village_id": village.id})
    return org


def require_village_reader(user, village) -> None:
    """Committee, supervision committee, the town's street centre, or an admin."""
    if user.kind == "admin":
        return
    for kind in ("village_committee", "village_supervision", "street_centre"):
        if _org_of_kind(user, village, kind) is not None:
            return
    raise Forbidden("无权查看该村的内部信息", code="out_of_scope", details={"village_id": village.id})


def _covered_villages(org_id: int) -> list[int]:
    return [int(p.strip("/").split("/")[-1]) for p in registry.covered_place_paths(org_id)]


def check_membership_conflict(user_id: int, organisation_id: int) -> None:
    """Refuse a membership that would seat one person on both committees of one village.

    :raises Conflict: ``supervision_conflict`` (组织法 Art. 32; RULES.md §2).
    """
    from civic.accounts.models import Membership
    from civic.property.models import Organisation

    org = db.session.get(Organisation, organisation_id)
    if org is None or org.kind not in ("village_committee", "village_supervision"):
        return
    other = "village_supervision" if org.kind == "village_committee" else "village_committee"
    with db.session.no_autoflush:
        for village_id in _covered_villages(org.id):
            village = registry.get_place(village_id)
            other_ids = [o.id for o in registry.organisations_covering(village, [other])]
            if other_ids and db.session.scalar(
                sa.select(sa.func.count()).select_from(Membership)
                .where(Membership.user_id == user_id, Membership.organisation_id.in_(other_ids))
            ):
                raise Conflict("村民委员会成员不得担任村务监督委员会成员", code="supervision_conflict",
                               details={"user_id": user_id, "organisation_id": org.id, "village_id": village_id})


def add_committee_member(village, *, organisation_id: int, user_id: int, role: str, actor):
    """Seat a staff user on the village committee or the supervision committee of ``village``.

    Admins or the street centre of the town above the village may do it.
    :raises Forbidden: ``out_of_scope``; :raises ValidationFailed: ``organisation_invalid``;
    :raises Conflict: ``supervision_conflict`` (组织法 Art. 32).
    """
    from civic.accounts.models import STAFF_ROLES, Membership, User

    if actor.kind != "admin" and _org_of_kind(actor, village, "street_centre") is None:
        raise Forbidden("仅管理员或街镇中心可任命村两委成员", code="out_of_scope")
    org = registry.get_organisation(organisation_id)
    if org.kind not in ("village_committee", "village_supervision") or not registry.organisation_covers(org.id, village.id):
        raise ValidationFailed("该组织不是本村的村民委员会或村务监督委员会", code="organisation_invalid",
                               details={"organisation_id": organisation_id})
    user = db.session.get(User, user_id)
    if user is None or user.kind != "staff":
        raise ValidationFailed("只能任命工作人员账号", code="user_invalid", details={"user_id": user_id})
    if role not in STAFF_ROLES:
        raise ValidationFailed("未知的角色", code="role_invalid", details={"role": role})
    check_membership_conflict(user.id, org.id)
    m = Membership(user_id=user.id, organisation_id=org.id, role=role)
    db.session.add(m)
    db.session.flush()
    audit.record("village.member_added", "organisation", org.id, actor=actor,
                 data={"user_id": user.id, "role": role, "village_id": village.id})
    return m


@event.listens_for(Session, "before_flush")
def _guard(session: Session, flush_context, instances):
    # Memberships however they are made (create_staff, imports) obey Art. 32; published disclosures
    # are frozen (RULES.md §2: never edited in place).
    from civic.accounts.models import Membership

    for obj in list(session.new):
        if isinstance(obj, Membership) and obj.user_id and obj.organisation_id:
            check_membership_conflict(obj.user_id, obj.organisation_id)
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Disclosure):
            hist = sa.inspect(obj).attrs.status.history
            old = hist.deleted[0] if hist.deleted else obj.status
            if old in PUBLIC_STATUSES:
                changed = {a.key for a in sa.inspect(obj).attrs if a.history.has_changes()}
                if obj in session.deleted or changed - {"status", "corrected_by_id", "corrected_at", "updated_at"}:
                    raise RuntimeError("a published disclosure is never changed; publish a correction")
        elif isinstance(obj, (DisclosureLine, Voucher)) and (obj in session.deleted or session.is_modified(obj)):
            line = obj if isinstance(obj, DisclosureLine) else obj.line
            if line is not None and line.disclosure is not None and line.disclosure.status in PUBLIC_STATUSES:
                raise RuntimeError("a published disclosure's lines are never changed")


# --- one writer at a time -------------------------------------------------------------------------

DISCLOSURE_CHANGED = "该公开事项刚被他人处理，本次操作未执行，请刷新后查看当前状态"


def _changed(disclosure_id: int) -> Conflict:
    return Conflict(DISCLOSURE_CHANGED, code="disclosure_changed", details={"disclosure_id": disclosure_id})


def claim(d: Disclosure) -> None:
    """Take the disclosure's row for this transaction before writing it or anything hanging on it
    (its lines, vouchers, a correction, its publication).

    Writes ``updated_at`` under the optimistic lock: ``UPDATE ... WHERE id = :id AND row_version =
    <as read>`` (SQLAlchemy ``version_id_col``).  If another worker changed the row after this one
    read it, nothing matches and the action is refused, so the checks made on what was read (its
    status, its content) cannot be overtaken.  Once claimed the row stays this transaction's until
    it ends (PostgreSQL holds the row lock, SQLite the database write lock), so a second worker's
    claim waits and then fails.  Works alike on SQLite, where ``SELECT ... FOR UPDATE`` protects
    nothing.  Of any number of concurrent state changes of one disclosure exactly one wins.

    :raises Conflict: ``disclosure_changed`` (409); the caller's transaction must be rolled back
        (a request's is).
    """
    claim_row(d, _changed(d.id))


# --- catalogue ------------------------------------------------------------------------------------

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
    """Change an item's title, legal basis, cadence, due days or active flag (committee or admin)."""
    require_committee(actor, village)
    item = db.session.get(CatalogueItem, item_id)
    if item is None or item.village_id != village.id:
        raise NotFound("目录中没有该事项", code="catalogue_item_not_found", details={"item_id": item_id})
    _check_item_fields(data)
    before = {k: getattr(item, k) for k in data}
    for key, value in data.items():
        setattr(item, key, value)
    db.session.flush()
    audit.record("village.catalogue_item_changed", "village_catalogue_item", item.id, actor=actor,
                 data={"before": before, "after": dict(data)})
    bump(village.id)
    return item


def update_settings(village, data: dict, actor) -> VillageProfile:
    """Set ``many_transactions`` and/or ``tracking_since`` (committee or admin)."""
    require_committee(actor, village)
    prof = ensure_village(village)
    before = {k: str(getattr(prof, k)) for k in data}
    for key, value in data.items():
        setattr(prof, key, value)
    db.session.flush()
    audit.record("village.settings_changed", "village_profile", prof.id, actor=actor,
                 data={"before": before, "after": {k: str(v) for k, v in data.items()}})
    return prof


# --- periods --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    code: str
    start: dt.date
    end: dt.date  # inclusive


def period_of(cadence: str, code: str) -> Period:
    """Parse a period code for ``cadence``.  :raises ValidationFailed: ``period_invalid``."""
    try:
        if cadence == "monthly" and re.fullmatch(r"\d{4}-\d{2}", code):
            y, m = int(code[:4]), int(code[5:])
            start = dt.date(y, m, 1)
        elif cadence == "quarterly" and re.fullmatch(r"\d{4}-Q[1-4]", code):
            y, q = int(code[:4]), int(code[-1])
            start = dt.date(y, 3 * q - 2, 1)
            m = 3 * q
        elif cadence == "yearly" and re.fullmatch(r"\d{4}", code):
            y, m, start = int(code), 12, dt.date(int(code), 1, 1)
        elif cadence == "immediate" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", code):
            day = dt.date.fromisoformat(code)
            return Period(code, day, day)
        else:
            raise ValueError
        end = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))
        return Period(code, start, end)
    except ValueError as exc:
        examples = {"monthly": "2026-03", "quarterly": "2026-Q1", "yearly": "2026", "immediate": "2026-03-15"}
        raise ValidationFailed(f"公开期格式应如 {examples[cadence]}", code="period_invalid",
                               details={"period": code, "cadence": cadence}) from exc


def periods_between(cadence: str, first: dt.date, last: dt.date) -> list[Period]:
    """The periods of ``cadence`` that overlap [first, last] (none for ``immediate``)."""
    out: list[Period] = []
    if cadence == "immediate":
        return out
    y, m = first.year, first.month
    while True:
        if cadence == "monthly":
            p = period_of(cadence, f"{y:04d}-{m:02d}")
        elif cadence == "quarterly":
            p = period_of(cadence, f"{y:04d}-Q{(m - 1) // 3 + 1}")
        else:
            p = period_of(cadence, f"{y:04d}")
        if p.start > last:
            return out
        if not out or out[-1].code != p.code:
            out.append(p)
        m += 1
        if m == 13:
            y, m = y + 1, 1


# --- disclosures ----------------------------------------------------------------------------------

def _line(data: dict, position: int) -> DisclosureLine:
    kind = data.get("kind")
    if kind not in LINE_KINDS:
        raise ValidationFailed("收支类型须为 income 或 expense", code="line_kind_invalid",
                               details={"position": position, "kind": kind})
    amount = data.get("amount_fen") if data.get("amount_fen") is not None else data.get("amount_yuan")
    return DisclosureLine(
        position=position, kind=kind, date=data["date"],
        account=require_text(data.get("account"), "account", 100),
        description=require_text(data.get("description"), "description", 500),
        counterparty=tidy(data.get("counterparty") or "", 200),
        amount=parse_amount(amount, f"lines[{position}].amount"),
    )


def _item_by_code(village, code: str) -> CatalogueItem:
    item = db.session.scalar(sa.select(CatalogueItem).where(CatalogueItem.village_id == village.id,
                                                           CatalogueItem.code == code))
    if item is None or not item.active:
        raise ValidationFailed("目录中没有该公开事项", code="catalogue_item_unknown", details={"item_code": code})
    return item


def create_disclosure(village, data: dict, actor) -> Disclosure:
    """Draft a disclosure for one catalogue item and period (village committee staff).

    ``data``: item_code, period (per the item's effective cadence), title, body?, opening_balance /
    closing_balance (分 int or 元 string; finance), lines? ``[{kind, date, account, description,
    counterparty, amount_fen | amount_yuan}]``.
    :raises ValidationFailed: ``catalogue_item_unknown``, ``period_invalid``, ``amount_invalid``,
        ``lines_not_finance``.  :raises Forbidden: ``not_village_committee``.
    """
    require_committee(actor, village)
    prof = ensure_village(village)
    item = _item_by_code(village, data["item_code"])
    period_of(effective_cadence(item, prof), data["period"])
    d = Disclosure(village_id=village.id, item_id=item.id, category=item.category, period=data["period"],
                   title=require_text(data["title"], "title", 200), body=tidy(data.get("body") or "", 20000),
                   status="draft", version=1, created_by_id=actor.id)
    _set_content(d, data, item)
    db.session.add(d)
    db.session.flush()
    d.series_id = d.id
    audit.record("disclosure.create", "village_disclosure", d.id, actor=actor,
                 data={"item": item.code, "period": d.period, "lines": len(d.lines)})
    return d


def _set_content(d: Disclosure, data: dict, item: CatalogueItem) -> None:
    for key in ("opening_balance", "closing_balance"):
        if key in data:
            setattr(d, key, parse_balance(data[key], key))
    if data.get("lines"):
        if item.category != "finance":
            raise ValidationFailed("只有财务公开可以填写收支明细", code="lines_not_finance")
        start = len(d.lines)
        for i, line in enumerate(data["lines"]):
            d.lines.append(_line(line, start + i))


def _editable(d: Disclosure, actor) -> None:
    village = registry.get_place(d.village_id)
    require_committee(actor, village)
    if d.status not in EDITABLE:
        raise Conflict("已提交或已公开的内容不能修改", code="disclosure_locked", details={"status": d.status})


def update_disclosure(d: Disclosure, data: dict, actor) -> Disclosure:
    """Change title/body/balances of a draft or returned disclosure; ``lines`` given are appended.

    :raises Conflict: ``disclosure_locked`` (submitted or later), ``disclosure_changed`` (another
        worker changed it meanwhile, e.g. submitted it: see :func:`claim`).
    """
    _editable(d, actor)
    claim(d)
    if "title" in data:
        d.title = require_text(data["title"], "title", 200)
    if "body" in data:
        d.body = tidy(data["body"] or "", 20000)
    _set_content(d, data, db.session.get(CatalogueItem, d.item_id))
    db.session.flush()
    audit.record("disclosure.edit", "village_disclosure", d.id, actor=actor, data={"fields": sorted(data)})
    return d


def delete_line(d: Disclosure, line_id: int, actor) -> None:
    """Delete a line of a draft.  :raises Conflict: ``disclosure_locked``, ``disclosure_changed``."""
    _editable(d, actor)
    line = db.session.get(DisclosureLine, line_id)
    if line is None or line.disclosure_id != d.id:
        raise NotFound("找不到该明细", code="line_not_found", details={"line_id": line_id})
    claim(d)
    d.lines.remove(line)
    db.session.flush()
    audit.record("disclosure.line_deleted", "village_disclosure", d.id, actor=actor, data={"line_id": line_id})


def add_vouchers(d: Disclosure, line_id: int, files: list[tuple[str, bytes]], actor, store) -> list[Voucher]:
    """Attach voucher photos to a line, through the photo pipeline (metadata stripped, sniffed by
    content, all-or-nothing).  :raises: the pipeline's photo_* errors; ``line_not_found``;
    Conflict ``disclosure_locked``, ``disclosure_changed``."""
    from civic.core.photos import process_photos

    _editable(d, actor)
    line = db.session.get(DisclosureLine, line_id)
    if line is None or line.disclosure_id != d.id:
        raise NotFound("找不到该明细", code="line_not_found", details={"line_id": line_id})
    if not files:
        raise ValidationFailed("请上传凭证照片", code="photo_required")
    stored = process_photos(files, store=store)
    out = [Voucher(display_key=s.display_key, thumb_key=s.thumb_key, width=s.width, height=s.height) for s in stored]
    claim(d)
    line.vouchers.extend(out)
    db.session.flush()
    audit.record("disclosure.vouchers_added", "village_disclosure", d.id, actor=actor,
                 data={"line_id": line.id, "keys": [v.display_key for v in out]})
    return out


def totals(d: Disclosure) -> dict:
    """``{"income", "expense", "by_account": [{"account", "income", "expense"}], "balanced",
    "expected_closing"}``; all in 分."""
    income = sum(ln.amount for ln in d.lines if ln.kind == "income")
    expense = sum(ln.amount for ln in d.lines if ln.kind == "expense")
    accounts: dict[str, dict] = {}
    for ln in d.lines:
        row = accounts.setdefault(ln.account, {"account": ln.account, "income": 0, "expense": 0})
        row[ln.kind] += ln.amount
    expected = None if d.opening_balance is None else d.opening_balance + income - expense
    balanced = d.closing_balance is None and expected is None or expected == d.closing_balance
    return {"income": income, "expense": expense, "by_account": sorted(accounts.values(), key=lambda r: r["account"]),
            "expected_closing": expected, "balanced": balanced}


def content_of(d: Disclosure) -> dict:
    """The canonical content a hash is taken over: what the public reads, nothing else."""
    item = db.session.get(CatalogueItem, d.item_id)
    return {
        "village_id": d.village_id, "item": item.code, "category": d.category, "period": d.period,
        "version": d.version, "supersedes": d.supersedes_id, "correction_reason": d.correction_reason,
        "title": d.title, "body": d.body,
        "opening_balance": d.opening_balance, "closing_balance": d.closing_balance,
        "lines": [{"kind": ln.kind, "date": ln.date.isoformat(), "account": ln.account,
                   "description": ln.description, "counterparty": ln.counterparty, "amount": ln.amount,
                   "vouchers": [v.display_key for v in ln.vouchers]} for ln in d.lines],
    }


def content_hash(d: Disclosure) -> str:
    """SHA-256 (hex) over the canonical JSON (sorted keys, no spaces, UTF-8) of :func:`content_of`."""
    blob = json.dumps(content_of(d), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def needs_balances(d: Disclosure) -> bool:
    """True for a finance disclosure: its catalogue item is in the finance category, so it states
    opening and closing balances that must add up with its lines (组织法 Art. 30: income and
    expenditure are disclosed; RULES.md §2: what is published is true)."""
    return d.category == "finance"


# What each action refused for unbalanced accounts says it could not do.
_BALANCE_ACTIONS = {"submit": "不能提交审核", "sign_off": "不能审核签字", "publish": "不能公开"}


def check_balances(d: Disclosure, action: str = "publish") -> None:
    """Refuse a finance disclosure whose balances are missing or do not add up.

    Applied on ``submit`` (so the committee fixes it while it is still a draft), ``sign_off`` and
    ``publish``: opening balance + income − expense must equal the closing balance, to the 分.
    Non-finance disclosures pass.  The message states the amounts in 元 (two decimals); the details
    keep integer 分 (the API's money unit).
    :raises ValidationFailed: ``balance_required`` (details ``{"missing": [field, ...]}``).
    :raises Conflict: ``balance_mismatch`` (details in 分: ``opening_balance``, ``income``, ``expense``,
        ``closing_balance``, ``expected_closing``, ``difference`` = closing − expected).
    """
    if not needs_balances(d):
        return
    refused = _BALANCE_ACTIONS.get(action, "不能继续")
    missing = [k for k in ("opening_balance", "closing_balance") if getattr(d, k) is None]
    if missing:
        names = "和".join({"opening_balance": "期初余额", "closing_balance": "期末余额"}[k] for k in missing)
        raise ValidationFailed(f"财务公开须填写{names}，{refused}", code="balance_required",
                               details={"missing": missing})
    t = totals(d)
    if not t["balanced"]:
        diff = d.closing_balance - t["expected_closing"]
        raise Conflict(
            f"期初余额 {fen_to_yuan(d.opening_balance)} 元 + 收入 {fen_to_yuan(t['income'])} 元 − 支出 "
            f"{fen_to_yuan(t['expense'])} 元 = 应有期末余额 {fen_to_yuan(t['expected_closing'])} 元，填报的期末余额 "
            f"{fen_to_yuan(d.closing_balance)} 元比应有的{'多' if diff > 0 else '少'} {fen_to_yuan(abs(diff))} 元，"
            f"{refused}",
            code="balance_mismatch", details={
                "opening_balance": d.opening_balance, "income": t["income"], "expense": t["expense"],
                "closing_balance": d.closing_balance, "expected_closing": t["expected_closing"],
                "difference": diff})


def transition(d: Disclosure, action: str, actor, note: str | None = None) -> Disclosure:
    """Move a disclosure through :data:`TRANSITIONS` (draft → submitted → signed_off → published;
    submitted or signed_off → returned → submitted).

    The committee drafts, submits and publishes; the supervision committee returns or signs off
    (组织法 Art. 32).  Publishing a correction marks the version it supersedes ``corrected``.

    Finance disclosures are checked on submit, sign-off and publish (:func:`check_balances`), so an
    unbalanced account is caught while the committee can still edit it.  No state is a dead end:
    should publish still be refused after sign-off, the supervision committee returns the disclosure
    (withdrawing its signature: ``signed_off_by_id``/``signed_off_at`` are cleared, the audit log keeps
    the sign-off) and the committee corrects and resubmits it.  Only the supervision committee may
    return a signed-off disclosure: the committee alone could otherwise hold back accounts the
    supervisors have approved for villagers to see; a committee that sits on a signed-off disclosure
    shows as overdue to the town (:func:`street_overview`).

    ``note``: the review note; required to return (the committee must know what to fix), optional
    on sign-off, kept in the audit log for every action.

    Exclusive under concurrency (SQLite and PostgreSQL): the row is claimed (:func:`claim`) before
    anything is written, so of two workers acting at once (publish and return, two sign-offs, two
    publications) exactly one wins and the other gets ``disclosure_changed``; its writes, audit entry
    included, are rolled back with its request.  A row is never half-written (a returned row never
    keeps ``published_at``: also a CHECK constraint).
    :raises ValidationFailed: ``action_unknown``, ``note_required`` (return without a reason),
        ``balance_required`` (finance; submit, sign_off, publish).
    :raises Conflict: ``transition_invalid``, ``disclosure_changed`` (another worker changed the
        disclosure since it was read), ``balance_mismatch`` (finance; submit, sign_off, publish;
        details: the figures in 分), ``content_changed`` (publish).
    :raises Forbidden: ``not_village_committee``, ``not_village_supervision``, ``supervision_conflict``.
    """
    if action not in TRANSITIONS:
        raise ValidationFailed("未知的操作", code="action_unknown", details={"action": action,
                                                                          "allowed": sorted(TRANSITIONS)})
    sources, target, kind = TRANSITIONS[action]
    village = registry.get_place(d.village_id)
    if kind == "village_committee":
        require_committee(actor, village)
    else:
        require_supervisor(actor, village)
    if d.status not in sources:
        raise Conflict(f"当前状态（{STATUS_NAMES[d.status]}）不能执行该操作", code="transition_invalid",
                       details={"status": d.status, "action": action})
    reason = tidy(note or "", 2000)
    if action == "return" and not reason:
        raise ValidationFailed("退回修改须填写退回理由，村民委员会据此修改", code="note_required",
                               details={"action": action, "field": "note"})
    # One transition at a time: the status checked above is the row's status until commit.
    claim(d)
    now = utcnow()
    before = d.status
    if action == "submit":
        check_balances(d, action)
        d.submitted_at = now
        d.content_hash = content_hash(d)
    elif action == "return":
        d.review_note = reason
        d.content_hash = None
        d.signed_off_by_id = d.signed_off_at = None
    elif action == "sign_off":
        check_balances(d, action)
        d.signed_off_by_id, d.signed_off_at = actor.id, now
        d.review_note = reason or None
    elif action == "publish":
        check_balances(d, action)
        if content_hash(d) != d.content_hash:
            raise Conflict("内容与审核签字时不一致", code="content_changed")
        d.published_at = now
    d.status = target
    if action == "publish":
        if d.supersedes_id:
            old = db.session.get(Disclosure, d.supersedes_id)
            old.status, old.corrected_by_id, old.corrected_at = "corrected", d.id, now
            audit.record("disclosure.corrected", "village_disclosure", old.id, actor=actor,
                         data={"from": "published", "to": "corrected", "by_version": d.id})
        bump(d.village_id)
    flush_or(_changed(d.id))
    audit.record(f"disclosure.{action}", "village_disclosure", d.id, actor=actor, note=note,
                 data={"from": before, "to": target, "content_hash": d.content_hash})
    return d


def create_correction(d: Disclosure, data: dict, actor) -> Disclosure:
    """Draft a new version of a published disclosure (RULES.md §2: never edited in place).

    Copies the content (lines and vouchers) unless ``title``/``body``/balances/``lines`` are given,
    records ``reason``; the new version goes through review like any draft.  The published version
    is claimed (:func:`claim`) with the new draft, so two corrections drafted at once make one draft.
    :raises Conflict: ``not_published``, ``correction_pending``, ``disclosure_changed``.
    """
    village = registry.get_place(d.village_id)
    require_committee(actor, village)
    if d.status != "published":
        raise Conflict("只能更正已公开的最新版本", code="not_published", details={"status": d.status})
    if db.session.scalar(sa.select(Disclosure.id).where(Disclosure.supersedes_id == d.id)):
        raise Conflict("该版本已有更正在办理中", code="correction_pending")
    reason = require_text(data.get("reason"), "reason", 2000)
    new = Disclosure(village_id=d.village_id, item_id=d.item_id, category=d.category, period=d.period,
                     title=require_text(data.get("title") or d.title, "title", 200),
                     body=tidy(data["body"], 20000) if "body" in data else d.body,
                     status="draft", version=d.version + 1, series_id=d.series_id, supersedes_id=d.id,
                     correction_reason=reason, opening_balance=d.opening_balance,
                     closing_balance=d.closing_balance, created_by_id=actor.id)
    item = db.session.get(CatalogueItem, d.item_id)
    if "lines" not in data:
        for ln in d.lines:
            copy = DisclosureLine(position=ln.position, kind=ln.kind, date=ln.date, account=ln.account,
                                  description=ln.description, counterparty=ln.counterparty, amount=ln.amount)
            copy.vouchers = [Voucher(display_key=v.display_key, thumb_key=v.thumb_key, width=v.width,
                                     height=v.height) for v in ln.vouchers]
            new.lines.append(copy)
    _set_content(new, {k: v for k, v in data.items() if k in ("opening_balance", "closing_balance", "lines")}, item)
    claim(d)  # after the check for a pending correction: a correction drafted since fails the claim
    db.session.add(new)
    db.session.flush()
    audit.record("disclosure.correction_drafted", "village_disclosure", new.id, actor=actor, note=reason,
                 data={"supersedes": d.id, "version": new.version})
    return new


def versions(d: Disclosure) -> list[Disclosure]:
    """All versions of the disclosure's series that the public may see (published or corrected)."""
    return list(db.session.scalars(sa.select(Disclosure).where(
        Disclosure.series_id == d.series_id, Disclosure.status.in_(PUBLIC_STATUSES)).order_by(Disclosure.version)))


def list_disclosures(village, actor, *, status: str | None = None, period: str | None = None,
                     cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> tuple[list[Disclosure], str | None]:
    """Disclosures of the village, newest period first: all of them for its committees and the town,
    else only public ones.  A keyset page: ``(rows, next_cursor)``.

    :raises BadRequest: ``cursor_invalid``."""
    stmt = sa.select(Disclosure).where(Disclosure.village_id == village.id)
    try:
        require_village_reader(actor, village)
    except Forbidden:
        stmt = stmt.where(Disclosure.status.in_(PUBLIC_STATUSES))
    if status:
        stmt = stmt.where(Disclosure.status == status)
    if period:
        stmt = stmt.where(Disclosure.period.startswith(period))
    return paginate(stmt, [Disclosure.period, Disclosure.id], cursor=cursor, limit=limit)


def view_disclosure(d: Disclosure, actor) -> Disclosure:
    if d.status not in PUBLIC_STATUSES:
        require_village_reader(actor, registry.get_place(d.village_id))
    return d


# --- compliance -----------------------------------------------------------------------------------

def compliance(village, on: dt.date | None = None, *, period: str | None = None) -> list[dict]:
    """Which catalogue items are published, due or overdue, per period (RULES.md §2: at least
    quarterly; finance monthly where busy; immediate items are event-driven and not scheduled).

    A period's disclosure is due from the day after the period ends until ``due_days`` later;
    after that it is overdue.  Periods start from the profile's ``tracking_since``.
    Returns ``[{"item_code", "title", "category", "cadence", "period", "due_on", "status",
    "disclosure_id"}]`` with status ``published``, ``current`` (period not over), ``due``, ``overdue``.
    """
    on = on or today_shanghai()
    prof = ensure_village(village)
    published = {(r.item_id, r.period): r.id for r in db.session.execute(
        sa.select(Disclosure.item_id, Disclosure.period, sa.func.max(Disclosure.id).label("id"))
        .where(Disclosure.village_id == village.id, Disclosure.status.in_(PUBLIC_STATUSES))
        .group_by(Disclosure.item_id, Disclosure.period))}
    out = []
    for item in catalogue(village, active_only=True):
        cadence = effective_cadence(item, prof)
        for p in periods_between(cadence, prof.tracking_since, on):
            if period and p.code != period and not p.code.startswith(period):
                continue
            due_on = p.end + dt.timedelta(days=item.due_days)
            did = published.get((item.id, p.code))
            if did:
                status = "published"
            elif on <= p.end:
                status = "current"
            elif on <= due_on:
                status = "due"
            else:
                status = "overdue"
            out.append({"item_code": item.code, "item_id": item.id, "title": item.title, "category": item.category,
                        "cadence": cadence, "period": p.code, "due_on": due_on, "status": status,
                        "disclosure_id": did})
    return out


def village_compliance(village, actor, on: dt.date | None = None, period: str | None = None) -> dict:
    require_village_reader(actor, village)
    rows = compliance(village, on, period=period)
    return {"village_code": village.code, "on": on or today_shanghai(), "items": rows}


def street_overview(street_code: str, actor, on: dt.date | None = None) -> dict:
    """The town office's view of its villages: counts of published/due/overdue items and overdue
    inquiries per village (组织法 Art. 31: failures are reported to the town government)."""
    from civic.property.queries import list_places

    street = registry.place_by_code(street_code)
    if street is None or street.kind != "street":
        raise NotFound("找不到该街道/镇", code="street_not_found", details={"street_code": street_code})
    if actor.kind != "admin" and _org_of_kind(actor, street, "street_centre") is None:
        raise Forbidden("仅本街镇中心可查看", code="out_of_scope", details={"place_id": street.id})
    on = on or today_shanghai()
    villages, cursor = [], None
    while True:
        rows, cursor = list_places(kind="village", parent_id=street.id, cursor=cursor, limit=100)
        villages.extend(rows)
        if not cursor:
            break
    out = []
    for v in villages:
        rows = compliance(v, on)
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("published", "current", "due", "overdue")}
        out.append({"village_code": v.code, "village_name": v.name, **counts,
                    "overdue_items": [r for r in rows if r["status"] == "overdue"],
                    "overdue_inquiries": len(overdue_inquiries(v))})
    return {"street_code": street.code, "on": on, "villages": out}


# --- inquiries ------------------------------------------------------------------------------------

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
    Returns the new :class:`Inquiry` (``due_at`` = ``asked_at`` + 15 days).
    :raises Forbidden: ``wrong_account_kind`` (not a resident), ``not_villager``.
    :raises Conflict: ``not_published``.
    """
    if actor.kind != "resident":
        raise Forbidden("仅村民可以提出查询", code="wrong_account_kind")
    if d.status not in PUBLIC_STATUSES:
        raise Conflict("只能就已公开的内容提出查询", code="not_published")
    village = registry.get_place(d.village_id)
    if not is_villager(actor, village):
        raise Forbidden("仅在本村登记的村民可以就本村公开事项提出查询", code="not_villager",
                        details={"village_code": village.code})
    now = utcnow()
    inq = Inquiry(disclosure_id=d.id, village_id=d.village_id, asker_id=actor.id,
                  question=require_text(question, "question", 2000), asked_at=now,
                  due_at=now + dt.timedelta(days=INQUIRY_REPLY_DAYS))
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


# --- notices (through the core outbox) -------------------------------------------------------------

NOTICE_TEMPLATES = {"disclosure_overdue": "village_disclosure_overdue", "inquiry_overdue": "village_inquiry_overdue"}


def notify_organisation(org, village, kind: str, subject: str, title: str, payload: dict) -> int:
    """Tell every active staff member of ``org`` through the one outbox (civic.core.notifications),
    once per ``subject`` and user: ``dedupe_key`` ``"village:<subject>:u<user id>"``.  A user on two
    organisations (the town and the supervision committee) hears of one subject once.

    :returns: the number of new messages queued (sent after commit by the core send job).
    """
    from civic.accounts.service import staff_of
    from civic.core.notifications import notify

    made = 0
    for uid in staff_of(org.id):
        made += notify(uid, NOTICE_TEMPLATES[kind], title,
                       {**payload, "kind": kind, "organisation_id": org.id, "village_code": village.code},
                       dedupe_key=f"village:{subject}:u{uid}", object_type="village", object_id=village.id
                       ) is not None
    return made


def flag_overdue(now: dt.datetime | None = None) -> int:
    """Tell the town (the staff of the street centre over the village) of overdue items, and the
    supervision committee and the town of overdue inquiries (组织法 Art. 31; 上海市实施办法 Art. 24).

    Messages go through the core outbox; the street office's overview reads overdue state from the
    village's own tables (:func:`street_overview`), not from these messages.
    Returns the number of new messages.  Idempotent: one message per item, period and user
    (per inquiry and user).
    """
    now = now or utcnow()
    on = today_shanghai(now)
    made = 0
    for prof in db.session.scalars(sa.select(VillageProfile).order_by(VillageProfile.id)).all():
        village = registry.get_place(prof.village_id)
        street = registry.ancestor_of_kind(village, "street")
        centres = registry.organisations_covering(street, ["street_centre"]) if street else []
        supervisors = registry.organisations_covering(village, ["village_supervision"])
        for row in compliance(village, on):
            if row["status"] != "overdue":
                continue
            for org in centres:
                made += notify_organisation(
                    org, village, "disclosure_overdue", f"{village.id}:overdue:{row['item_code']}:{row['period']}",
                    f"{village.name}「{row['title']}」{row['period']} 逾期未公开",
                    {"item_code": row["item_code"], "title": row["title"], "period": row["period"],
                     "due_on": row["due_on"].isoformat()})
        for inq in overdue_inquiries(village, now):
            for org in centres + supervisors:
                made += notify_organisation(
                    org, village, "inquiry_overdue", f"inquiry:{inq.id}:overdue",
                    f"{village.name}村民查询逾期未答复", {"inquiry_id": inq.id, "disclosure_id": inq.disclosure_id,
                                                  "due_at": inq.due_at.isoformat()})
    db.session.flush()
    if made:
        audit.record("village.overdue_flagged", "village", "all", data={"notices": made, "on": on.isoformat()})
    return made


# --- the public page ------------------------------------------------------------------------------

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


def public_voucher(village, voucher_id: int) -> Voucher:
    """A voucher of a public (published or corrected) disclosure of ``village``; else NotFound."""
    v = db.session.get(Voucher, voucher_id)
    if v is None or v.line.disclosure.village_id != village.id or v.line.disclosure.status not in PUBLIC_STATUSES:
        raise NotFound("找不到该凭证", code="voucher_not_found", details={"voucher_id": voucher_id})
    return v
