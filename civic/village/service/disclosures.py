"""Drafting and editing disclosures, their finance lines and vouchers, and their corrections.

Verbs: get_disclosure, create_disclosure, update_disclosure, delete_line, add_vouchers,
create_correction (a new version of a published disclosure), versions, list_disclosures,
view_disclosure, voucher_file (a voucher photo served; its blur reviewed by the village committee:
_voucher_reviewer, the kind's reviewer rule for :func:`civic.core.blur.review`).  Sources: 村民委员会组织法 Art. 30; RULES.md §2 (published content is never edited in
place).  Review and publication are :mod:`civic.village.service.workflow`'s.
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.core import audit, blur, media
from civic.core.db import edit
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.pagination import DEFAULT_LIMIT, paginate
from civic.core.text import require_text, tidy
from civic.extensions import db
from civic.property import service as registry
from civic.village.models import LINE_KINDS, CatalogueItem, Disclosure, DisclosureLine, Voucher
from civic.village.service.catalogue import effective_cadence, ensure_village
from civic.village.service.committees import require_committee, require_village_reader, sits_on_a_committee
from civic.village.service.money import parse_amount, parse_balance
from civic.village.service.periods import period_of
from civic.village.service.workflow import EDITABLE, PUBLIC_STATUSES, claim


def get_disclosure(disclosure_id: int) -> Disclosure:
    d = db.session.get(Disclosure, disclosure_id)
    if d is None:
        raise NotFound("找不到该公开事项", code="disclosure_not_found", details={"disclosure_id": disclosure_id})
    return d


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


def _set_content(d: Disclosure, data: dict, item: CatalogueItem) -> dict:
    """Set the balances given in ``data`` where they differ and append its ``lines``; returns what
    changed (civic.core.db.edit), with ``"lines"`` when lines were appended."""
    changed = edit(d, {key: parse_balance(data[key], key)
                       for key in ("opening_balance", "closing_balance") if key in data})
    if data.get("lines"):
        if item.category != "finance":
            raise ValidationFailed("只有财务公开可以填写收支明细", code="lines_not_finance")
        start = len(d.lines)
        for i, line in enumerate(data["lines"]):
            d.lines.append(_line(line, start + i))
        changed["lines"] = (start, len(d.lines))
    return changed


def require_seen(d: Disclosure, actor):
    """The first check of every write on a disclosure (issue #15: permission before state): a
    disclosure ``actor`` may not see (:func:`view_disclosure`: not yet public, and not its village's
    committees or the town) is ``disclosure_not_found``, as for an id that does not exist, before
    anything is said of its state or checked of the input.  Returns its village.

    :raises NotFound: ``disclosure_not_found``."""
    village = registry.get_place(d.village_id)
    if d.status not in PUBLIC_STATUSES and not sees_unpublished(actor, village):
        raise NotFound("找不到该公开事项", code="disclosure_not_found", details={"disclosure_id": d.id})
    return village


def _editable(d: Disclosure, actor) -> None:
    """Permission (seen, then the village committee), then state (a draft or returned one)."""
    village = require_seen(d, actor)
    require_committee(actor, village)
    if d.status not in EDITABLE:
        raise Conflict("已提交或已公开的内容不能修改", code="disclosure_locked", details={"status": d.status})


def update_disclosure(d: Disclosure, data: dict, actor) -> Disclosure:
    """Change title/body/balances of a draft or returned disclosure; ``lines`` given are appended.

    An edit that changes nothing (an empty body, the same values, no lines) writes nothing: the row's
    version stays, no audit entry (civic.core.db.edit), and the disclosure is returned as it is.

    :raises Conflict: ``disclosure_locked`` (submitted or later), ``disclosure_changed`` (another
        worker changed it meanwhile, e.g. submitted it: see :func:`claim`).
    """
    _editable(d, actor)
    text = {}
    if "title" in data:
        text["title"] = require_text(data["title"], "title", 200)
    if "body" in data:
        text["body"] = tidy(data["body"] or "", 20000)
    changed = {**edit(d, text), **_set_content(d, data, db.session.get(CatalogueItem, d.item_id))}
    if not changed:
        return d
    claim(d)  # the changes go out in the claiming UPDATE, under the row's version
    audit.record("disclosure.edit", "village_disclosure", d.id, actor=actor, data={"fields": sorted(changed)})
    return d


def delete_line(d: Disclosure, line_id: int, actor) -> None:
    """Delete a line of a draft.  :raises Conflict: ``disclosure_locked``, ``disclosure_changed``.
    Order: permission (:func:`_editable`: seen, the village committee), then state, then the line."""
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
    blur.request_all(stored)  # faces and plates found in the queue, before publication shows it
    claim(d)
    line.vouchers.extend(out)
    db.session.flush()
    audit.record("disclosure.vouchers_added", "village_disclosure", d.id, actor=actor,
                 data={"line_id": line.id, "keys": [v.display_key for v in out]})
    return out


def create_correction(d: Disclosure, data: dict, actor) -> Disclosure:
    """Draft a new version of a published disclosure (RULES.md §2: never edited in place).

    Copies the content (lines and vouchers) unless ``title``/``body``/balances/``lines`` are given,
    records ``reason``; the new version goes through review like any draft.  The published version
    is claimed (:func:`claim`) with the new draft, so two corrections drafted at once make one draft.
    :raises Conflict: ``not_published``, ``correction_pending``, ``disclosure_changed``.
    :raises NotFound: ``disclosure_not_found`` (not seen, :func:`require_seen`); :raises Forbidden:
        ``not_village_committee``.  Order: permission, then state, then the content.
    """
    village = require_seen(d, actor)
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
    if not sees_unpublished(actor, village):
        stmt = stmt.where(Disclosure.status.in_(PUBLIC_STATUSES))
    if status:
        stmt = stmt.where(Disclosure.status == status)
    if period:
        stmt = stmt.where(Disclosure.period.startswith(period))
    return paginate(stmt, [Disclosure.period, Disclosure.id], cursor=cursor, limit=limit)


def sees_unpublished(actor, village) -> bool:
    """Whether ``actor`` sees the village's disclosures that are not public yet (draft, submitted,
    returned, signed off): its village committee, its supervision committee, the town's street
    centre and administrators (:func:`~civic.village.service.committees.require_village_reader`).
    Everyone else sees only :data:`~civic.village.service.workflow.PUBLIC_STATUSES`.  The one rule
    behind the list (:func:`list_disclosures`) and the single read (:func:`view_disclosure`)."""
    try:
        require_village_reader(actor, village)
    except Forbidden:
        return False
    return True


def sees_voucher_original(actor, village) -> bool:
    """Whether ``actor`` sees the village's voucher photos as taken: the two committees who draft,
    review and sign its disclosures (:func:`~civic.village.service.committees.sits_on_a_committee`).
    The town's street centre and administrators read the disclosures (:func:`sees_unpublished`) but
    get the blurred rendition, as the street centre and administrators do for a case's photos: the
    original is for those whose work needs it (issue #19), the reading that protects the people in
    the photo."""
    return sits_on_a_committee(actor, village)


def view_disclosure(d: Disclosure, actor) -> Disclosure:
    """``GET /village-disclosures/{id}``: a public disclosure (published or superseded by a
    correction) for any signed-in user, as the village's list shows it; one not yet public only for
    those who see it in the list (:func:`sees_unpublished`).  To anyone else a disclosure not yet
    public does not exist: 404, never a 403 that would tell a villager a draft is being prepared.

    :raises NotFound: ``disclosure_not_found``."""
    if d.status not in PUBLIC_STATUSES and not sees_unpublished(actor, registry.get_place(d.village_id)):
        raise NotFound("找不到该公开事项", code="disclosure_not_found", details={"disclosure_id": d.id})
    return d


# --- vouchers, served ------------------------------------------------------------------------------

def voucher_url(v: Voucher) -> str:
    """A voucher's address in the API, for whoever may view its disclosure."""
    return f"/api/v1/village-disclosures/{v.line.disclosure_id}/vouchers/{v.access_token}"


def voucher_links(actor, d: Disclosure, vouchers: list[Voucher], lookup: blur.Lookup | None = None) -> list[dict]:
    """Vouchers of ``d`` as ``actor`` (one who may view it) gets them: ``[{"id", "url", "thumbnail_url",
    "width", "height", "blur_status"}]`` (:func:`civic.core.media.links`; store keys are never shown).
    ``blur_status`` ``"original"`` for the village's two committees (:func:`sees_voucher_original`,
    the rule :func:`voucher_file` serves by), else ``"blurred"``, or
    ``"pending"``/``"failed"`` with ``url`` and ``thumbnail_url`` None until the blurred rendition
    exists (the address would answer 409 ``photo_blur_pending``).  ``lookup``: the blur rows read at
    once (:func:`civic.core.blur.lookup`), else one query here."""
    if lookup is None:
        lookup = blur.lookup(v.display_key for v in vouchers)
    original = sees_voucher_original(actor, registry.get_place(d.village_id))
    return [{"id": v.id, **media.links(voucher_url(v), v.width, v.height, kind=VOUCHER.name,
                                       display_key=v.display_key, original=original, lookup=lookup)}
            for v in vouchers]


DISCLOSURE_FIELDS = ("id", "village_id", "category", "period", "title", "body", "status", "version", "series_id",
                     "supersedes_id", "corrected_by_id", "correction_reason", "review_note", "opening_balance",
                     "closing_balance", "content_hash", "submitted_at", "signed_off_at", "published_at",
                     "corrected_at")
LINE_FIELDS = ("id", "position", "kind", "date", "account", "description", "counterparty", "amount")


def disclosure_view(d: Disclosure, actor) -> dict:
    """A disclosure as ``actor`` (one who may view it) gets it (:class:`~civic.village.schemas.DisclosureOut`):
    its fields, ``totals`` (:func:`~civic.village.service.content.totals`) and ``lines``, each with
    its ``vouchers`` as :func:`voucher_links` shows them to ``actor`` (the blur rows of all the
    disclosure's vouchers read in one query)."""
    from civic.village.service.content import totals

    lookup = blur.lookup(v.display_key for ln in d.lines for v in ln.vouchers)
    return {**{k: getattr(d, k) for k in DISCLOSURE_FIELDS}, "totals": totals(d),
            "lines": [{**{k: getattr(ln, k) for k in LINE_FIELDS},
                       "vouchers": voucher_links(actor, d, list(ln.vouchers), lookup)} for ln in d.lines]}


def _seen_voucher(actor, disclosure_id: int, token: str) -> tuple[Voucher, Disclosure]:
    """The voucher and its disclosure for one who may view the disclosure, else 404 ``voucher_not_found``."""
    v = db.session.scalar(sa.select(Voucher).where(Voucher.access_token == token)) if token else None
    if v is None or v.line.disclosure_id != disclosure_id:
        raise NotFound("找不到该凭证", code="voucher_not_found")
    d = get_disclosure(disclosure_id)
    try:
        view_disclosure(d, actor)
    except (Forbidden, NotFound):
        raise NotFound("找不到该凭证", code="voucher_not_found") from None
    return v, d


def _voucher_reviewer(actor, disclosure_id: int, token: str) -> blur.ReviewTarget:
    """The kind's reviewer rule: the village committee, who drafts the disclosure and attaches its
    vouchers, and sees them as taken (:func:`~civic.village.service.committees.require_committee`:
    its staff, and administrators as for every act of the committee).  The supervision committee sees
    the original too but reviews the disclosure, not its photos; the town sees the blurred rendition.  Allowed in every state:
    a face left readable on the public page is corrected at once (the voucher itself is unchanged;
    RULES.md §2 concerns the content).

    :raises NotFound: ``voucher_not_found`` (who may not view the disclosure, as for none).
    :raises Forbidden: ``blur_review_not_allowed`` (views it, is not the village committee).
    """
    v, d = _seen_voucher(actor, disclosure_id, token)
    village = registry.get_place(d.village_id)
    try:
        org = require_committee(actor, village)
    except Forbidden:
        raise blur.not_reviewer("只有本村村民委员会可以审核凭证打码") from None
    return blur.ReviewTarget(display_key=v.display_key, url=voucher_url(v), object_type="village_disclosure",
                             object_id=d.id, actor_role=f"{actor.kind}@{org.kind}:{org.id}" if org else actor.kind,
                             sees_original=sees_voucher_original(actor, village), width=v.width, height=v.height,
                             detail={"photo_id": v.id})


VOUCHER = media.register_kind(media.MediaKind(
    "village.voucher", "/api/v1/village-disclosures/<int:disclosure_id>/vouchers/<token>",
    "whoever may view the disclosure (view_disclosure): its village's committees and the town while it "
    "is a draft or under review; once published or corrected anyone, as the public page shows it "
    "(村民委员会组织法 Art. 30: 村务公开); the original only to the village's committees and the town (who "
    "draft, review and sign it), everyone else the blurred rendition (civic.core.blur); its blur reviewed "
    "by the village committee", blurred=True, reviewer=_voucher_reviewer))


def voucher_file(actor, disclosure_id: int, token: str, size: str | None = None,
                 rendition: str | None = None) -> media.Opened:
    """A voucher photo of a disclosure, for whoever may view it (:func:`view_disclosure`): before
    publication the village's committees (who draft, review and sign it) and the town; once public,
    every signed-in user.  Audited (``media.opened`` on the disclosure).

    The original only to the village's two committees (:func:`sees_voucher_original`); everyone else
    — the town and administrators included — gets the blurred rendition (:func:`civic.core.blur.keys_for`).  ``rendition="blurred"``: those
    who see the original ask for what the others see (the review).

    :raises NotFound: ``voucher_not_found`` (unknown, or not entitled: the same answer).
    :raises Conflict: 409 ``photo_blur_pending`` while the blurred rendition is being made.
    """
    v, d = _seen_voucher(actor, disclosure_id, token)
    return media.opened(VOUCHER.name, actor, "village_disclosure", d.id, display_key=v.display_key,
                        thumb_key=v.thumb_key, token=token, size=size, detail={"voucher_id": v.id},
                        original=sees_voucher_original(actor, registry.get_place(d.village_id)) and rendition != "blurred")
