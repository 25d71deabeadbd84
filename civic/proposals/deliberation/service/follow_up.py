"""Follow-up of resolutions: action items, their progress updates with photos, and closing with evidence.

The photos (progress and closing evidence) are served by token (civic.core.media) to whoever may see
the topic the resolution came from (:func:`action_photo`), every access audited: the original to the
responsible organisation, the blurred rendition to the others; the organisation's staff review the blur
(:func:`_photo_reviewer`, the kind's reviewer rule for :func:`civic.core.blur.review`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.core import audit, blur, media
from civic.core.db import flush_or, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.photos import process_photos
from civic.core.storage import media_store
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.proposals.deliberation.models import (
    ActionItem,
    ActionUpdate,
    Committee,
    Resolution,
)
from civic.proposals.deliberation.service.committees import (
    OFFICERS,
    PHOTOS_MAX,
    TEXT_MAX,
    _require_officer,
    get_committee,
    membership,
)
from civic.proposals.deliberation.service.topics import _claim, _tell_followers, can_see_topic, get_topic

# --- follow-up -----------------------------------------------------------------------------------

def get_action_item(item_id: int) -> ActionItem:
    a = db.session.get(ActionItem, item_id)
    if a is None:
        raise NotFound("找不到该督办事项", code="action_item_not_found", details={"action_item_id": item_id})
    return a


def _committee_of_resolution(res: Resolution) -> Committee:
    return get_committee(get_topic(res.topic_id).committee_id)


CONVENER_ROLES = ("head", "handler")


def add_action_item(actor, resolution_id: int, data: dict) -> ActionItem:
    """Officers turn a resolution into an action item: ``{"title", "organisation_id", "due_on": date}``.
    So may the staff (head, handler) of the residents' committee that convened the committee: it
    carries out what its committees resolve, and a resolution it funds through a budget round
    (civic.budgets) gets its milestones from the round's organiser.

    :raises NotFound: ``resolution_not_found``.  :raises Forbidden: ``not_an_officer``.
    """
    res = db.session.get(Resolution, resolution_id)
    if res is None:
        raise NotFound("找不到该决议", code="resolution_not_found")
    c = _committee_of_resolution(res)
    if not any(o.id == c.organisation_id for _m, o in acting_memberships(actor, roles=CONVENER_ROLES)):
        _require_officer(c.id, actor)
    org = registry.get_organisation(data["organisation_id"])
    a = ActionItem(resolution_id=res.id, title=require_text(data["title"], "title", 200), organisation_id=org.id,
                   due_on=data["due_on"])
    db.session.add(a)
    db.session.flush()
    audit.record("action_item.create", "action_item", a.id, actor=actor,
                 data={"organisation_id": org.id, "due_on": a.due_on.isoformat()})
    return a


def _require_carrier(actor, a: ActionItem) -> None:
    c = _committee_of_resolution(db.session.get(Resolution, a.resolution_id))
    m = membership(c.id, actor)
    if m is not None and m.role in OFFICERS:
        return
    if any(o.id == a.organisation_id for _m, o in acting_memberships(actor)):
        return
    raise Forbidden("仅限责任单位或议事机构主任、秘书", code="not_responsible")


def _photos(files: list[tuple[str, bytes]]) -> list[dict]:
    if len(files) > PHOTOS_MAX:
        raise ValidationFailed(f"最多 {PHOTOS_MAX} 张照片", code="too_many_photos", details={"max": PHOTOS_MAX})
    stored = process_photos(files, store=media_store()) if files else []
    blur.request_all(stored)  # faces and plates found in the queue, before anyone else can see it
    return media.with_tokens({"display_key": s.display_key, "thumb_key": s.thumb_key, "width": s.width,
                              "height": s.height} for s in stored)


def update_action_item(actor, item_id: int, note: str, files: list[tuple[str, bytes]] = ()) -> ActionUpdate:
    """The responsible organisation (or an officer) reports progress with photos (photo pipeline).

    :raises Conflict: ``action_item_closed``.  :raises Forbidden: ``not_responsible``.
    """
    a = get_action_item(item_id)
    _require_carrier(actor, a)
    if a.state != "open":
        raise Conflict("督办事项已办结", code="action_item_closed")
    u = ActionUpdate(action_item_id=a.id, author_id=actor.id, note=require_text(note, "note", TEXT_MAX),
                     photos=_photos(list(files)))
    if not _claim(ActionItem, a.id, ActionItem.state == "open"):  # closed since we read it
        raise Conflict("督办事项已办结", code="action_item_closed")
    db.session.add(u)
    db.session.flush()
    audit.record("action_item.update", "action_item", a.id, actor=actor, data={"photos": len(u.photos)})
    return u


def close_action_item(actor, item_id: int, note: str, files: list[tuple[str, bytes]], now: dt.datetime | None = None) -> ActionItem:
    """Close with evidence: a note and at least one photo.  Followers of the topic are told.

    Written under the item's version (``open`` → ``closed``): of requests closing at once one wins,
    the others get ``action_item_closed`` and leave the winner's evidence as it is.  The photos are
    processed before the write, so the row (PostgreSQL) or database (SQLite) lock is held briefly.

    :raises ValidationFailed: ``evidence_required``.  :raises Conflict: ``action_item_closed``.
    """
    a = get_action_item(item_id)
    _require_carrier(actor, a)
    if a.state != "open":
        raise Conflict("督办事项已办结", code="action_item_closed")
    if not files or not (note or "").strip():
        raise ValidationFailed("办结须附说明和至少一张照片", code="evidence_required")
    note, photos = require_text(note, "note", TEXT_MAX), _photos(list(files))
    a.state, a.closed_at, a.overdue = "closed", now or utcnow(), False
    a.evidence_note, a.evidence_photos = note, photos
    flush_or(Conflict("督办事项已办结", code="action_item_closed"))
    audit.record("action_item.close", "action_item", a.id, actor=actor, data={"photos": len(a.evidence_photos)})
    t = get_topic(db.session.get(Resolution, a.resolution_id).topic_id)
    _tell_followers(t, "action_item_closed", f"督办事项「{a.title}」已办结", a.evidence_note)
    db.session.flush()
    return a


def action_items(resolution_id: int) -> list[ActionItem]:
    return list(db.session.scalars(sa.select(ActionItem).where(ActionItem.resolution_id == resolution_id)
                                   .order_by(ActionItem.id)))


def action_updates(item_id: int) -> list[ActionUpdate]:
    return list(db.session.scalars(sa.select(ActionUpdate).where(ActionUpdate.action_item_id == item_id)
                                   .order_by(ActionUpdate.id)))


# --- the photos ----------------------------------------------------------------------------------

def action_photo_links(actor, a: ActionItem, photos: list[dict] | None, lookup: blur.Lookup | None = None) -> list[dict]:
    """Progress or closing photos of ``a`` as ``actor`` (one who may see its topic) gets them:
    ``[{"url", "thumbnail_url", "width", "height", "blur_status"}]`` (:func:`civic.core.media.links`;
    store keys are never shown).  ``blur_status`` ``"original"`` for the responsible organisation's
    staff (:func:`sees_original`, the rule :func:`action_photo` serves by), else ``"blurred"``, or
    ``"pending"``/``"failed"`` with ``url`` and ``thumbnail_url`` None until the blurred rendition exists.
    ``lookup``: the blur rows read at once (:func:`civic.core.blur.lookup`), else one query here."""
    shown = [p for p in (photos or []) if p.get("token")]
    if lookup is None:
        lookup = blur.lookup(p["display_key"] for p in shown)
    original = sees_original(actor, a)
    return [media.links(f"/api/v1/action-items/{a.id}/photos/{p['token']}", p.get("width"), p.get("height"),
                        kind=ACTION_PHOTO.name, display_key=p["display_key"], original=original, lookup=lookup)
            for p in shown]


def action_item_view(actor, a: ActionItem) -> dict:
    """An action item as ``actor`` gets it (:class:`~civic.proposals.deliberation.schemas.DelibActionItemSchema`):
    its fields and ``evidence_photos`` as :func:`action_photo_links` shows them to ``actor``."""
    return {**{k: getattr(a, k) for k in ("id", "resolution_id", "title", "organisation_id", "due_on", "state",
                                          "overdue", "closed_at", "evidence_note")},
            "evidence_photos": action_photo_links(actor, a, a.evidence_photos)}


def action_update_view(actor, u: ActionUpdate) -> dict:
    """A progress update as ``actor`` gets it (:class:`~civic.proposals.deliberation.schemas.DelibActionUpdateSchema`):
    ``{"id", "note", "created_at", "photos"}``, the photos as :func:`action_photo_links` shows them."""
    return {"id": u.id, "note": u.note, "created_at": u.created_at,
            "photos": action_photo_links(actor, get_action_item(u.action_item_id), u.photos)}


def _find_photo(item_id: int, token: str) -> tuple[ActionItem | None, dict | None, str | None]:
    """``(item, photo entry, stage)``: the entry carrying ``token`` among the item's closing evidence
    (``"evidence"``) and its progress updates' photos (``"progress"``), or Nones."""
    a = db.session.get(ActionItem, item_id)
    if a is None or not token:
        return a, None, None
    found = media.find_token(a.evidence_photos, token)
    if found is not None:
        return a, found, "evidence"
    for u in action_updates(a.id):
        found = media.find_token(u.photos, token)
        if found is not None:
            return a, found, "progress"
    return a, None, None


def _seen(actor, item_id: int, token: str) -> tuple[ActionItem, dict, str]:
    """The item and photo for one who may see the topic, else the refusal (404 ``photo_not_found``)."""
    a, found, stage = _find_photo(item_id, token)
    if found is None or not can_see_topic(actor, get_topic(db.session.get(Resolution, a.resolution_id).topic_id)):
        raise media.not_found("photo_not_found", "找不到该照片")
    return a, found, stage


def _responsible_org(actor, a: ActionItem):
    """The responsible organisation, if ``actor`` acts for it (its staff took the photos), else None."""
    return next((o for _m, o in acting_memberships(actor) if o.id == a.organisation_id), None)


def sees_original(actor, a: ActionItem) -> bool:
    """Whether ``actor`` (one who may see the topic) sees ``a``'s photos as taken: the responsible
    organisation's staff, who took them (the lead party of the item; issue #19).  Everyone else who
    may see the topic (its readers, the committee's officers, moderators) gets the blurred rendition."""
    return _responsible_org(actor, a) is not None


def _photo_reviewer(actor, item_id: int, token: str) -> blur.ReviewTarget:
    """The kind's reviewer rule: the responsible organisation's staff, who took the photos and see
    them as taken (the lead party of the item; issue #19).

    :raises NotFound: ``photo_not_found`` (who may not see the topic, as for none).
    :raises Forbidden: ``blur_review_not_allowed`` (sees the topic, does not act for the organisation).
    """
    a, found, stage = _seen(actor, item_id, token)
    org = _responsible_org(actor, a)
    if org is None:
        raise blur.not_reviewer("只有责任单位可以审核照片打码")
    return blur.ReviewTarget(display_key=found["display_key"], url=f"/api/v1/action-items/{a.id}/photos/{token}",
                             object_type="action_item", object_id=a.id, actor_role=f"{actor.kind}@{org.kind}:{org.id}",
                             sees_original=True, width=found.get("width"), height=found.get("height"),
                             detail={"stage": stage})


ACTION_PHOTO = media.register_kind(media.MediaKind(
    "deliberation.action_photo", "/api/v1/action-items/<int:item_id>/photos/<token>",
    "whoever may see the topic the resolution came from (can_see_topic): the follow-up of a resolution "
    "is shown to the readers of the resolution; a hidden topic's only to its author and moderators; the "
    "original only to the responsible organisation's staff, the others the blurred rendition (civic.core.blur); "
    "its blur reviewed by the responsible organisation's staff",
    blurred=True, reviewer=_photo_reviewer))


def action_photo(actor, item_id: int, token: str, size: str | None = None,
                 rendition: str | None = None) -> media.Opened:
    """A progress or closing-evidence photo of an action item, for whoever may see the topic the
    resolution came from (:func:`~civic.proposals.deliberation.service.topics.can_see_topic`).
    Audited (``media.opened`` on the action item).  The original only to the responsible
    organisation's staff, the blurred rendition to everyone else (:func:`civic.core.blur.keys_for`);
    ``rendition="blurred"``: the organisation's staff ask for what the others see (their review).

    :raises NotFound: ``photo_not_found`` (unknown item or token, or not entitled: the same answer).
    :raises Conflict: 409 ``photo_blur_pending`` while the blurred rendition is being made.
    """
    a, found, _stage = _seen(actor, item_id, token)
    original = sees_original(actor, a) and rendition != "blurred"
    return media.opened(ACTION_PHOTO.name, actor, "action_item", a.id, display_key=found["display_key"],
                        thumb_key=found["thumb_key"], token=token, size=size, original=original)


def resolution_summary(resolution_id: int) -> dict:
    """A resolution as another domain may cite it (a budget round's project):
    ``{"id", "topic_title", "text"}``.

    :raises NotFound: ``resolution_not_found``.
    """
    res = db.session.get(Resolution, resolution_id)
    if res is None:
        raise NotFound("找不到该决议", code="resolution_not_found", details={"resolution_id": resolution_id})
    return {"id": res.id, "topic_title": get_topic(res.topic_id).title, "text": res.text}


def action_item_summaries(resolution_id: int) -> list[dict]:
    """A resolution's action items for a public page: ``[{"title", "due_on", "state"}]``, oldest first."""
    return [{"title": a.title, "due_on": a.due_on, "state": a.state} for a in action_items(resolution_id)]
