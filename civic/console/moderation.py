"""内容审核 in the console: the queue of residents' content waiting for a moderator (pending, hidden by
reports, appealed) across the organisations the user moderates, and an item page with its content,
versions, reports, decisions and appeal, offering exactly the decisions the service would accept.

Every rule is civic.proposals.moderation's: who moderates (``head``/``moderator`` of the moderating
organisation, administrators), the state machine (TRANSITIONS), reasons, the one appeal decided by a
moderator other than the one who hid the item, and no moderation of one's own content.
"""

from __future__ import annotations

from flask import render_template, request, url_for

from civic.accounts import service as accounts
from civic.console import blur_review
from civic.console.blueprint import MODERATION_KINDS, bp, see_other, staff_page
from civic.core.errors import ValidationFailed
from civic.core.pagination import MAX_LIMIT
from civic.core.text import mask_name
from civic.property import service as registry
from civic.proposals import moderation
from civic.proposals.contests import service  # the kinds register on import; its photos' kind
from civic.proposals.deliberation import service as deliberation  # noqa: F401

PAGE = 30
EDIT_KINDS = {"author": "作者", "moderator": "审核人员修改"}


def _int_arg(name: str, default: int | None = None, lo: int = 1, hi: int = 2**31 - 1) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ValidationFailed("请输入整数", code="field_invalid", details={"field": name}) from exc
    if not lo <= number <= hi:
        raise ValidationFailed(f"须在 {lo} 到 {hi} 之间", code="value_out_of_range", details={"field": name})
    return number


def _people(user, ids) -> dict[int, str]:
    """``{user id: how the console names them}``: residents by masked name (PIPL; the API gives
    moderators only their id), staff by name; the viewer is marked."""
    out = {}
    for uid, u in accounts.users_by_ids({i for i in ids if i}).items():
        name = f"居民 {mask_name(u.display_name) or ''}".strip() if u.kind == "resident" else u.display_name
        out[uid] = f"{name}（您）" if uid == user.id else name
    return out


def _labels() -> dict[str, str]:
    return {t: k.label for t, k in moderation.KINDS.items()}


@bp.get("/moderation")
@staff_page(*MODERATION_KINDS)
def moderation_queue(user):
    """内容审核队列：待审核、因举报隐藏、已申诉的金点子、评论和议题，可按类型与待办类型筛选。"""
    args = request.args
    org_id = _int_arg("org")
    item_type = args.get("type") or None
    reason = args.get("reason") or None
    limit = _int_arg("limit", PAGE, hi=MAX_LIMIT)
    rows, next_cursor = moderation.queue_for(user, organisation_id=org_id, item_type=item_type, reason=reason,
                                             cursor=args.get("cursor") or None, limit=limit)
    counts = moderation.queue_counts(user, organisation_id=org_id, item_type=item_type)
    entries = moderation.queue_entries(rows)
    org_ids = moderation.moderated_organisation_ids(user)
    orgs = [registry.get_organisation(i) for i in org_ids or []]
    org_names = {i: registry.get_organisation(i).name for i in {e["item"].organisation_id for e in entries}}
    return render_template(
        "console/moderation_queue.html", entries=entries, next_cursor=next_cursor, counts=counts,
        total=sum(counts.values()), orgs=orgs, org_id=org_id, item_type=item_type, reason=reason,
        limit=limit if limit != PAGE else None,
        show_org=org_ids is None or len(org_ids) > 1, org_names=org_names, labels=_labels(),
        reasons=moderation.QUEUE_REASONS, states=moderation.STATE_NAMES,
        people=_people(user, [e["item"].author_id for e in entries]))


@bp.get("/moderation/<item_type>/<int:item_id>")
@staff_page(*MODERATION_KINDS)
def moderation_item(user, item_type, item_id):
    """审核详情：当前内容、全部版本、举报、处理记录与申诉；只提供服务允许的操作。"""
    d = moderation.detail(user, item_type, item_id)
    opts = moderation.options(user, item_type, item_id)
    entry = moderation.queue_entries([d["item"]])[0]
    rec, appeal = d["item"], d["appeal"]
    ids = [rec.author_id, rec.decided_by_id, *(r.reporter_id for r in d["reports"]),
           *(x.actor_id for x in d["decisions"]), *(v.editor_id for v in d["versions"])]
    if appeal is not None:
        ids += [appeal.appellant_id, appeal.decided_by_id]
    # An idea's photos as this moderator gets them: the blurred rendition (the original is the
    # author's), or "in progress" while the blur job has not made it (its address would answer 409).
    photos = service.photo_links(user, (entry["content"] or {}).get("photos"), taker_id=rec.author_id)
    return render_template(
        "console/moderation_item.html", d=d, rec=rec, appeal=appeal, opts=opts, entry=entry, photos=photos,
        people=_people(user, ids), org=registry.get_organisation(rec.organisation_id),
        states=moderation.STATE_NAMES, reasons=moderation.QUEUE_REASONS, action_names=moderation.ACTION_NAMES,
        outcomes=moderation.APPEAL_OUTCOMES, edit_kinds=EDIT_KINDS, reason_max=moderation.REASON_MAX)


@bp.post("/moderation/<item_type>/<int:item_id>/decisions")
@staff_page(*MODERATION_KINDS)
def moderation_decide(user, item_type, item_id):
    """通过、隐藏（须填写原因）、不予采用（须填写原因）。"""
    moderation.decide(user, item_type, item_id, request.form.get("action", ""), request.form.get("reason") or None)
    return see_other("console.moderation_item", item_type=item_type, item_id=item_id)


@bp.post("/moderation/<item_type>/<int:item_id>/appeal")
@staff_page(*MODERATION_KINDS)
def moderation_appeal(user, item_type, item_id):
    """处理申诉：维持原决定或申诉成立（须由原决定人以外的审核人员）。"""
    moderation.decide_appeal(user, item_type, item_id, request.form.get("outcome", ""),
                             request.form.get("note") or None)
    return see_other("console.moderation_item", item_type=item_type, item_id=item_id)


# 审核打码 of a contest photo: the organiser's moderators (civic.proposals.contests.service.photos._reviewer).
blur_review.register_review_pages(
    service.PHOTO, "/moderation/contest-photos/<token>", "moderation_photo_blur", staff_kinds=MODERATION_KINDS,
    subject="金点子", others="居民、其他工作人员和公开页面",
    back=lambda idea_id: url_for("console.moderation_item", item_type="idea", item_id=idea_id))
