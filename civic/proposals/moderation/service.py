"""Content moderation: the rules (see the package's docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.core import audit
from civic.core.db import changes, claim_row, edit, insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.text import require_text
from civic.extensions import db
from civic.proposals.moderation.models import (
    ContentVersion,
    ModeratedItem,
    ModerationAppeal,
    ModerationDecision,
    ModerationReport,
)
from civic.proposals.notify import notify

MODERATOR_ROLES = ("head", "moderator")
REASON_MAX = 500

# action -> (states it may start from, state it leads to, reason required)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "approve": (("pending", "hidden"), "approved", False),
    "hide": (("pending", "approved", "hidden"), "hidden", True),
    "reject": (("pending", "approved", "hidden"), "rejected", True),
}
VISIBLE_STATES = ("approved",)
ACTION_NAMES = {"approve": "通过", "hide": "隐藏", "reject": "不予采用", "auto_hide": "因多次举报暂时隐藏",
                "appeal_overturned": "申诉成立，恢复显示"}
STATE_NAMES = {"pending": "待审核", "approved": "已通过", "hidden": "已隐藏", "rejected": "不予采用"}
# Why an item waits in the queue (see :func:`queue_for`); every waiting item has exactly one.
QUEUE_REASONS = {"pending": "待审核", "reported": "因举报隐藏", "appealed": "已申诉"}
APPEAL_OUTCOMES = {"upheld": "维持原决定", "overturned": "申诉成立，恢复显示"}


class ModeratedKind(Protocol):
    """What a kind of content tells the moderation machinery.  ``obj`` is the kind's own row."""

    item_type: str
    label: str  # Chinese name for messages, e.g. "金点子"

    def load(self, item_id: int) -> Any: ...
    def author_id(self, obj) -> int: ...
    def organisation_id(self, obj) -> int: ...
    def report_threshold(self, obj) -> int: ...
    def set_state(self, obj, state: str) -> None: ...
    def content(self, obj) -> dict: ...
    # validates, applies what differs (civic.core.db.edit), returns the stored content (the same as
    # content(obj) before when nothing changed)
    def apply_edit(self, obj, content: dict) -> dict: ...
    def check(self, obj, action: str) -> None: ...  # phase rules: raise if the action is not allowed now
    def require_reporter(self, obj, user) -> None: ...  # raise Forbidden unless ``user`` may report it


class CommentLike:
    """The parts of :class:`ModeratedKind` every comment shares: a row of ``model`` with one text
    ``body`` (up to ``body_max`` characters) by ``author_id``, its moderation state in ``state``.
    A comment kind adds ``item_type``, ``label`` and where it belongs (organisation, report threshold,
    phase check, who may report)."""

    model: type
    body_max: int

    def load(self, item_id: int):
        obj = db.session.get(self.model, item_id)
        if obj is None:
            raise NotFound("找不到该评论", code="comment_not_found", details={"comment_id": item_id})
        return obj

    def author_id(self, obj) -> int:
        return obj.author_id

    def set_state(self, obj, state: str) -> None:
        obj.state = state

    def content(self, obj) -> dict:
        return {"body": obj.body}

    def apply_edit(self, obj, content: dict) -> dict:
        edit(obj, {"body": require_text(content.get("body", obj.body), "body", self.body_max)})
        return self.content(obj)


KINDS: dict[str, ModeratedKind] = {}


def _changed() -> Conflict:
    return Conflict("该内容刚被他人处理或修改，请刷新后重试", code="moderation_changed")


def note_change(item_type: str, item_id: int) -> None:
    """Claim the item's moderation row for a change made by its kind (e.g. the author's edit), so
    that the change and a moderator's decision on the old content exclude each other (409
    ``moderation_changed`` for the later one)."""
    rec = state_of(item_type, item_id)
    if rec is not None:
        claim_row(rec, _changed())


def register(kind: ModeratedKind) -> None:
    KINDS[kind.item_type] = kind


def kind_of(item_type: str) -> ModeratedKind:
    try:
        return KINDS[item_type]
    except KeyError:
        raise NotFound("未知的内容类型", code="item_type_unknown", details={"item_type": item_type}) from None


@dataclass
class Item:
    kind: ModeratedKind
    obj: Any
    record: ModeratedItem


def _get(item_type: str, item_id: int, *, lock: bool = False) -> Item:
    kind = kind_of(item_type)
    obj = kind.load(item_id)
    stmt = sa.select(ModeratedItem).where(ModeratedItem.item_type == item_type, ModeratedItem.item_id == item_id)
    if lock:
        stmt = stmt.with_for_update()
    rec = db.session.scalar(stmt)
    if rec is None:
        raise NotFound("找不到该内容", code="item_not_found", details={"item_type": item_type, "item_id": item_id})
    return Item(kind, obj, rec)


def _item_for(user, item_type: str, item_id: int, *, lock: bool = False) -> Item:
    """The item, for a write by ``user``: the first check of every verb below, before any check of
    the item's state or of the input (issue #15: permission before state).  Content that is not
    shown (pending, hidden, rejected) exists only for its author and its moderators (as in
    :func:`detail` and each kind's own reads): to anyone else it is ``item_not_found``, the same
    error as for an item that does not exist.  Shown content is public: the verb's own permission
    check then answers 403.

    :raises NotFound: ``item_not_found``."""
    missing = NotFound("找不到该内容", code="item_not_found", details={"item_type": item_type, "item_id": item_id})
    try:
        item = _get(item_type, item_id, lock=lock)
    except NotFound:
        raise missing from None
    rec = item.record
    if rec.state not in VISIBLE_STATES and user.id != rec.author_id and not is_moderator(user, rec.organisation_id):
        raise missing
    return item


def start(kind: ModeratedKind, obj, *, state: str, author) -> ModeratedItem:
    """Put a new item under moderation in ``state`` (``pending`` for pre-moderated content, ``approved``
    for content shown at once) and keep its first version.  Called by the kind's create verb."""
    rec = ModeratedItem(item_type=kind.item_type, item_id=obj.id, author_id=kind.author_id(obj),
                        organisation_id=kind.organisation_id(obj), state=state)
    db.session.add(rec)
    kind.set_state(obj, state)
    add_version(kind.item_type, obj.id, kind.content(obj), editor=author, edit_kind="author")
    return rec


def add_version(item_type: str, item_id: int, content: dict, *, editor, edit_kind: str,
                reason: str | None = None) -> ContentVersion:
    last = db.session.scalar(sa.select(sa.func.max(ContentVersion.version)).where(
        ContentVersion.item_type == item_type, ContentVersion.item_id == item_id)) or 0
    v = ContentVersion(item_type=item_type, item_id=item_id, version=last + 1, content=content,
                       editor_id=editor.id, edit_kind=edit_kind, reason=reason)
    db.session.add(v)
    return v


def versions(item_type: str, item_id: int) -> list[ContentVersion]:
    return list(db.session.scalars(sa.select(ContentVersion).where(
        ContentVersion.item_type == item_type, ContentVersion.item_id == item_id).order_by(ContentVersion.version)))


def shown_versions(user, item_type: str, item_id: int) -> list[ContentVersion]:
    """The versions of an item ``user`` may read, oldest first.

    The author and the moderators of the item's organisation (administrators too) read every
    version, the original included (:func:`detail`).  Anyone else reads the versions from the latest
    moderator's edit on: a moderator edits content to take something out of public view (a phone
    number, a name), so the versions before that edit are no more public than hidden content is.
    Without a moderator's edit, every version is public (the author's own edits).

    :raises NotFound: ``item_not_found`` (an item never put under moderation)."""
    rec = state_of(item_type, item_id)
    if rec is None:
        raise NotFound("找不到该内容", code="item_not_found", details={"item_type": item_type, "item_id": item_id})
    rows = versions(item_type, item_id)
    if user.id == rec.author_id or is_moderator(user, rec.organisation_id):
        return rows
    edited = [v.version for v in rows if v.edit_kind == "moderator"]
    return [v for v in rows if v.version >= max(edited)] if edited else rows


def version_views(user, item_type: str, item_id: int, rows: list[ContentVersion]) -> list[dict]:
    """Versions of an item as ``user`` reads them (:class:`~civic.proposals.moderation.schemas.VersionSchema`):
    ``{"version", "content", "editor_id", "edit_kind", "reason", "created_at"}``.  A kind whose content
    holds more than text says how it is shown with ``shown_contents(user, obj, contents)`` (an idea's
    photos: links for ``user`` with ``blur_status``, never the stored keys); any other's content as stored."""
    kind = kind_of(item_type)
    contents = [v.content for v in rows]
    show = getattr(kind, "shown_contents", None)
    if show is not None and rows:
        contents = show(user, kind.load(item_id), contents)
    return [{"version": v.version, "content": c, "editor_id": v.editor_id, "edit_kind": v.edit_kind,
             "reason": v.reason, "created_at": v.created_at} for v, c in zip(rows, contents, strict=True)]


def is_moderator(user, organisation_id: int) -> bool:
    if user.kind == "admin":
        return True
    return any(org.id == organisation_id for _m, org in acting_memberships(user, roles=MODERATOR_ROLES))


def _require_moderator(user, item: Item) -> None:
    if not is_moderator(user, item.record.organisation_id):
        raise Forbidden("您不是该内容的审核人员", code="not_a_moderator",
                        details={"organisation_id": item.record.organisation_id})
    if user.id == item.record.author_id:
        raise Forbidden("不能审核自己发布的内容", code="own_content")


def _open_appeal(rec: ModeratedItem) -> ModerationAppeal | None:
    return db.session.scalar(sa.select(ModerationAppeal).where(
        ModerationAppeal.moderated_item_id == rec.id, ModerationAppeal.outcome.is_(None)))


def decide(user, item_type: str, item_id: int, action: str, reason: str | None = None) -> ModeratedItem:
    """A moderator approves, hides or rejects an item (the queue's three verbs).

    :param action: ``approve`` | ``hide`` | ``reject`` (see :data:`TRANSITIONS`); hide and reject need a
        reason (Chinese, up to 500 characters), which the author is told.
    :raises Forbidden: ``not_a_moderator``; ``own_content`` (nobody moderates their own content).
    :raises Conflict: ``moderation_transition_invalid`` (e.g. approving a rejected item);
        ``appeal_pending`` (the author's appeal is decided first, by :func:`decide_appeal`);
        ``moderation_changed`` (decided or edited by someone else meanwhile); ``phase_forbids_action``
        from the kind.
    :raises ValidationFailed: ``text_required`` for a missing reason.
    :raises NotFound: ``item_not_found`` (also content not shown, to a non-moderator: :func:`_item_for`).

    Order (issue #15): permission (the item seen, the moderator), then the action, the phase and the
    state, then the reason.
    """
    item = _item_for(user, item_type, item_id, lock=True)
    _require_moderator(user, item)
    if action not in TRANSITIONS:
        raise ValidationFailed("未知的审核操作", code="moderation_action_unknown", details={"action": action})
    item.kind.check(item.obj, "moderate")
    sources, to_state, needs_reason = TRANSITIONS[action]
    if _open_appeal(item.record) is not None:
        # The author's one appeal is decided by decide_appeal, by another moderator: a new decision
        # here would settle it without that review (or leave it open for ever).
        raise Conflict("作者已就该内容提出申诉，请先由其他审核人员处理申诉", code="appeal_pending")
    if item.record.state not in sources:
        raise Conflict("该内容当前状态不允许此操作", code="moderation_transition_invalid",
                       details={"state": item.record.state, "action": action})
    reason = require_text(reason, "reason", REASON_MAX) if needs_reason else (reason or None)
    rec = item.record
    from_state = rec.state
    was_restored = from_state == "hidden" and to_state == "approved"
    rec.awaiting_review = False
    rec.state = to_state
    if to_state in ("hidden", "rejected"):
        rec.reason, rec.decided_by_id, rec.decided_at = reason, user.id, utcnow()
    claim_row(rec, _changed())  # before anything else is written: a decision made meanwhile makes this one a 409
    item.kind.set_state(item.obj, to_state)
    db.session.add(ModerationDecision(moderated_item_id=rec.id, action=action, from_state=from_state,
                                      to_state=to_state, actor_id=user.id, reason=reason))
    audit.record(f"moderation.{action}", rec.item_type, rec.item_id, actor=user, note=reason,
                 data={"from": from_state, "to": to_state})
    if to_state in ("hidden", "rejected"):
        notify([rec.author_id], kind=f"moderation_{action}", subject_type=rec.item_type, subject_id=rec.item_id,
               title=f"您的{item.kind.label}已被{ACTION_NAMES[action]}",
               body=f"原因：{reason}。如有异议，可提出一次申诉。")
    elif was_restored:
        notify([rec.author_id], kind="moderation_restored", subject_type=rec.item_type, subject_id=rec.item_id,
               title=f"您的{item.kind.label}已恢复显示", body="经审核，内容恢复显示。")
    db.session.flush()
    return rec


def report(user, item_type: str, item_id: int, reason: str) -> ModeratedItem:
    """A resident reports an item of any moderated kind.  The kind's ``require_reporter(obj, user)``
    says who may (contests and committees: their participants).  At the item's threshold of reports
    an approved item is hidden pending review and its author is told why.

    :raises Forbidden: the kind's own (``not_a_participant``); ``own_content`` (reporting one's own item).
    :raises Conflict: ``already_reported``; ``item_not_visible`` (only shown items can be reported,
        also when hidden meanwhile); ``moderation_changed``.  :raises NotFound: ``item_not_found``
        (also content not shown, :func:`_item_for`).

    Order (issue #15): permission (the item seen, who may report it, not one's own), then the
    reason, the phase and the state.
    """
    item = _item_for(user, item_type, item_id, lock=True)
    item.kind.require_reporter(item.obj, user)
    rec = item.record
    if user.id == rec.author_id:
        raise Forbidden("不能举报自己发布的内容", code="own_content")
    reason = require_text(reason, "reason", REASON_MAX)
    item.kind.check(item.obj, "report")
    if rec.state not in VISIBLE_STATES:
        raise Conflict("该内容当前未公开", code="item_not_visible", details={"state": rec.state})
    exists = db.session.scalar(sa.select(ModerationReport.id).where(
        ModerationReport.moderated_item_id == rec.id, ModerationReport.reporter_id == user.id))
    if exists:
        raise Conflict("您已举报过该内容", code="already_reported")
    db.session.add(ModerationReport(moderated_item_id=rec.id, reporter_id=user.id, reason=reason))
    # Atomic in SQL: concurrent reports each add one.
    db.session.execute(sa.update(ModeratedItem).where(ModeratedItem.id == rec.id)
                       .values(report_count=ModeratedItem.report_count + 1))
    db.session.refresh(rec)
    if rec.state not in VISIBLE_STATES:
        # Hidden or rejected meanwhile (by a moderator, or by the report that reached the threshold
        # just before this one): not hidden a second time; this report is not kept either.
        raise Conflict("该内容当前未公开", code="item_not_visible", details={"state": rec.state})
    audit.record("moderation.report", rec.item_type, rec.item_id, actor=user, note=reason)
    if rec.report_count >= item.kind.report_threshold(item.obj):
        reason_text = f"被 {rec.report_count} 位居民举报，待审核"
        db.session.add(ModerationDecision(moderated_item_id=rec.id, action="auto_hide", from_state=rec.state,
                                          to_state="hidden", actor_id=None, reason=reason_text))
        audit.record("moderation.auto_hide", rec.item_type, rec.item_id, actor=None, note=reason_text,
                     data={"reports": rec.report_count})
        rec.state, rec.reason, rec.decided_by_id, rec.decided_at = "hidden", reason_text, None, utcnow()
        rec.awaiting_review = True
        claim_row(rec, _changed())
        item.kind.set_state(item.obj, "hidden")
        notify([rec.author_id], kind="moderation_auto_hide", subject_type=rec.item_type, subject_id=rec.item_id,
               title=f"您的{item.kind.label}因多次举报暂时隐藏",
               body=f"原因：{reason_text}。审核人员将尽快复核；如有异议，可提出一次申诉。")
    db.session.flush()
    return rec


def appeal(user, item_type: str, item_id: int, text: str) -> ModerationAppeal:
    """The author appeals, once, against hiding or rejection.

    :raises Forbidden: ``not_author``.
    :raises Conflict: ``appeal_not_allowed`` (item not hidden or rejected); ``already_appealed``;
        ``moderation_changed`` (decided meanwhile).  :raises NotFound: ``item_not_found`` (also
        content not shown, to anyone but its author and moderators: :func:`_item_for`).

    Order (issue #15): permission (the item seen, the author), then the text, the phase and the state.
    """
    item = _item_for(user, item_type, item_id, lock=True)
    rec = item.record
    if user.id != rec.author_id:
        raise Forbidden("只有作者可以申诉", code="not_author")
    text = require_text(text, "text", REASON_MAX)
    item.kind.check(item.obj, "appeal")
    if rec.state not in ("hidden", "rejected"):
        raise Conflict("该内容未被隐藏或驳回，无需申诉", code="appeal_not_allowed", details={"state": rec.state})
    if db.session.scalar(sa.select(ModerationAppeal.id).where(ModerationAppeal.moderated_item_id == rec.id)):
        raise Conflict("每项内容只能申诉一次", code="already_appealed")
    rec.awaiting_review = True
    claim_row(rec, _changed())  # a decision made meanwhile (e.g. restoring the item) makes the appeal a 409
    # The unique key settles two appeals sent at once.
    a = insert_once(ModerationAppeal(moderated_item_id=rec.id, appellant_id=user.id, text=text),
                    Conflict("每项内容只能申诉一次", code="already_appealed"))
    audit.record("moderation.appeal", rec.item_type, rec.item_id, actor=user, note=text)
    db.session.flush()
    return a


def _same_moderator(rec: ModeratedItem, user) -> bool:
    """Whether ``user`` hid or rejected the item themselves (then someone else decides the appeal)."""
    return rec.decided_by_id == user.id


def decide_appeal(user, item_type: str, item_id: int, outcome: str, note: str | None = None) -> ModerationAppeal:
    """A moderator decides the appeal: ``overturned`` restores the item, ``upheld`` keeps the decision.

    The moderator who hid or rejected the item may not decide (RULES: a different person reviews).
    :raises Forbidden: ``not_a_moderator``, ``own_content``, ``same_moderator``.
    :raises Conflict: ``no_pending_appeal``; ``moderation_changed`` (decided by someone else meanwhile).
    :raises NotFound: ``item_not_found`` (also content not shown, to a non-moderator).

    Order (issue #15): permission (the item seen, the moderator), then the outcome and the appeal's state.
    """
    item = _item_for(user, item_type, item_id, lock=True)
    _require_moderator(user, item)
    if outcome not in ("upheld", "overturned"):
        raise ValidationFailed("申诉结果须为 upheld 或 overturned", code="appeal_outcome_invalid")
    rec = item.record
    a = db.session.scalar(sa.select(ModerationAppeal).where(ModerationAppeal.moderated_item_id == rec.id))
    if a is None or a.outcome is not None:
        raise Conflict("没有待处理的申诉", code="no_pending_appeal")
    if _same_moderator(rec, user):
        raise Forbidden("申诉须由作出原决定以外的审核人员处理", code="same_moderator",
                        details={"decided_by_id": rec.decided_by_id})
    note = require_text(note, "note", REASON_MAX) if note else None
    from_state = rec.state
    rec.awaiting_review = False
    if outcome == "overturned":
        rec.state = "approved"
    claim_row(rec, _changed())  # of two moderators deciding the appeal at once, one wins: the other gets a 409
    a.outcome, a.note, a.decided_by_id, a.decided_at = outcome, note, user.id, utcnow()
    audit.record(f"moderation.appeal_{outcome}", rec.item_type, rec.item_id, actor=user, note=note)
    if outcome == "overturned":
        db.session.add(ModerationDecision(moderated_item_id=rec.id, action="appeal_overturned", from_state=from_state,
                                          to_state="approved", actor_id=user.id, reason=note))
        item.kind.set_state(item.obj, "approved")
    notify([rec.author_id], kind=f"appeal_{outcome}", subject_type=rec.item_type, subject_id=rec.item_id,
           title="您的申诉已处理：" + ("申诉成立，内容恢复显示" if outcome == "overturned" else "维持原决定"),
           body=note or "")
    db.session.flush()
    return a


def moderator_edit(user, item_type: str, item_id: int, content: dict, reason: str) -> tuple[ContentVersion, bool]:
    """A moderator corrects an item's content (e.g. removes a phone number).  The author's version stays
    in the history; the new version records who edited and why.

    An edit that changes nothing (the same content, after the kind's tidying) makes no version and
    writes nothing (civic.core.db.edit, issue 15 point 13): the item's latest version is returned.

    :returns: ``(version, created)``: the new version and True, or the latest one and False.
    :raises Forbidden: ``not_a_moderator``, ``own_content``.  :raises Conflict: ``moderation_changed``.
    :raises NotFound: ``item_not_found`` (also content not shown, to a non-moderator).

    Order (issue #15): permission (the item seen, the moderator), then the reason, the phase and the content.
    """
    item = _item_for(user, item_type, item_id, lock=True)
    _require_moderator(user, item)
    reason = require_text(reason, "reason", REASON_MAX)
    item.kind.check(item.obj, "moderate")
    before = item.kind.content(item.obj)
    stored = item.kind.apply_edit(item.obj, content)
    if not changes(before, stored):
        return versions(item_type, item_id)[-1], False
    claim_row(item.record, _changed())  # an edit and a decision (or another edit) made at once: the later one is a 409
    v = add_version(item_type, item_id, stored, editor=user, edit_kind="moderator", reason=reason)
    audit.record("moderation.edit", item_type, item_id, actor=user, note=reason, data={"version": v.version})
    db.session.flush()
    return v, True


def queue(user, organisation_id: int, *, cursor: str | None = None, limit: int = 20):
    """The organisation's queue: items pending, hidden by reports, or appealed, oldest first, in
    standard cursor pages (civic.core.pagination): ``(rows, next_cursor)``.

    :raises Forbidden: ``not_a_moderator``.  :raises BadRequest: ``cursor_invalid``.
    """
    from civic.core.pagination import paginate

    return paginate(_waiting(user, organisation_id), [ModeratedItem.id], cursor=cursor, limit=limit,
                    descending=False)


def moderated_organisation_ids(user) -> list[int] | None:
    """Ids of the organisations whose content ``user`` moderates (a ``head`` or ``moderator``
    membership, see :data:`MODERATOR_ROLES`), in id order; ``None`` for an administrator, who
    moderates every organisation's content."""
    if user.kind == "admin":
        return None
    return sorted({org.id for _m, org in acting_memberships(user, roles=MODERATOR_ROLES)})


def _appeal_open():
    return sa.exists().where(ModerationAppeal.moderated_item_id == ModeratedItem.id, ModerationAppeal.outcome.is_(None))


# reason -> the condition that picks it out of the waiting items (the three partition them).
_REASON_WHERE = {
    "pending": lambda: ModeratedItem.state == "pending",
    "appealed": lambda: sa.and_(ModeratedItem.state != "pending", _appeal_open()),
    "reported": lambda: sa.and_(ModeratedItem.state != "pending", ~_appeal_open()),
}


def _waiting(user, organisation_id: int | None = None, item_type: str | None = None,
             reason: str | None = None) -> sa.Select:
    """The waiting items ``user`` moderates: pending, or awaiting review (hidden by reports, appealed)."""
    if item_type is not None and item_type not in KINDS:
        raise ValidationFailed("未知的内容类型", code="item_type_unknown", details={"item_type": item_type})
    if reason is not None and reason not in QUEUE_REASONS:
        raise ValidationFailed("未知的待办类型", code="queue_reason_unknown", details={"reason": reason})
    if organisation_id is not None:
        if not is_moderator(user, organisation_id):
            raise Forbidden("您不是该组织的审核人员", code="not_a_moderator",
                            details={"organisation_id": organisation_id})
        orgs: list[int] | None = [organisation_id]
    else:
        orgs = moderated_organisation_ids(user)
        if orgs == []:
            raise Forbidden("您不是任何组织的审核人员", code="not_a_moderator")
    stmt = sa.select(ModeratedItem).where(
        sa.or_(ModeratedItem.awaiting_review.is_(True), ModeratedItem.state == "pending"))
    if orgs is not None:
        stmt = stmt.where(ModeratedItem.organisation_id.in_(orgs))
    if item_type is not None:
        stmt = stmt.where(ModeratedItem.item_type == item_type)
    if reason is not None:
        stmt = stmt.where(_REASON_WHERE[reason]())
    return stmt


def queue_for(user, *, organisation_id: int | None = None, item_type: str | None = None,
              reason: str | None = None, cursor: str | None = None, limit: int = 20):
    """The queue across every organisation ``user`` moderates (administrators: all), optionally of
    one organisation, one kind (``idea``, ``comment``, ``topic``...) and one reason of
    :data:`QUEUE_REASONS`: ``pending`` (never decided), ``appealed`` (an appeal awaits a decision),
    ``reported`` (hidden by reports, awaiting review).  Oldest first, in standard cursor pages:
    ``(rows, next_cursor)``, rows being :class:`ModeratedItem`.  The same items as :func:`queue`.

    :raises Forbidden: ``not_a_moderator`` (of ``organisation_id``, or of any organisation).
    :raises ValidationFailed: ``item_type_unknown``, ``queue_reason_unknown``.
    :raises BadRequest: ``cursor_invalid``.
    """
    from civic.core.pagination import paginate

    return paginate(_waiting(user, organisation_id, item_type, reason), [ModeratedItem.id], cursor=cursor,
                    limit=limit, descending=False)


def queue_counts(user, *, organisation_id: int | None = None, item_type: str | None = None) -> dict[str, int]:
    """How many items :func:`queue_for` holds for each reason: ``{"pending": n, "reported": n,
    "appealed": n}`` (same scope and errors as :func:`queue_for`)."""
    out = {}
    for reason in QUEUE_REASONS:
        stmt = _waiting(user, organisation_id, item_type, reason).with_only_columns(sa.func.count())
        out[reason] = db.session.scalar(stmt)
    return out


def _reason_of(rec: ModeratedItem, appeal: ModerationAppeal | None) -> str | None:
    if rec.state == "pending":
        return "pending"
    if appeal is not None and appeal.outcome is None:
        return "appealed"
    return "reported" if rec.awaiting_review else None


def queue_entries(rows: list[ModeratedItem]) -> list[dict]:
    """What a queue shows of each item, in the order given::

        {"item": ModeratedItem, "label": "金点子", "content": {...the kind's current content...},
         "reason": "pending" | "reported" | "appealed" | None, "waiting_since": datetime (UTC),
         "appeal": ModerationAppeal | None}

    ``waiting_since``: when submitted (pending), when the appeal was made (appealed), when it was
    hidden (reported); for an item no longer waiting, when it was last decided.
    """
    ids = [r.id for r in rows]
    appeals = {a.moderated_item_id: a for a in db.session.scalars(
        sa.select(ModerationAppeal).where(ModerationAppeal.moderated_item_id.in_(ids)))} if ids else {}
    out = []
    for rec in rows:
        kind = kind_of(rec.item_type)
        appeal = appeals.get(rec.id)
        reason = _reason_of(rec, appeal)
        since = {"pending": rec.created_at, "appealed": appeal.created_at if appeal else None}.get(
            reason, rec.decided_at or rec.created_at)
        out.append({"item": rec, "label": kind.label, "content": kind.content(kind.load(rec.item_id)),
                    "reason": reason, "waiting_since": since, "appeal": appeal})
    return out


def options(user, item_type: str, item_id: int) -> dict:
    """What ``user`` may do with the item now, by the very checks :func:`decide` and
    :func:`decide_appeal` make, so that a page offers only what will succeed::

        {"own_content": bool,            # nobody moderates their own content
         "actions": [{"action", "name", "to_state", "needs_reason"}],  # TRANSITIONS from the state
                                         # (none while an appeal is open)
         "blocked": str | None,          # the kind's message when its phase allows no moderation
         "appeal_open": bool,            # an appeal awaits a decision
         "same_moderator": bool,         # ...and ``user`` made the decision appealed against
         "may_decide_appeal": bool}

    :raises Forbidden: ``not_a_moderator``.  :raises NotFound: ``item_not_found``.
    """
    item = _get(item_type, item_id)
    rec = item.record
    own = False
    try:
        _require_moderator(user, item)
    except Forbidden as exc:
        if exc.code != "own_content":
            raise
        own = True
    appeal = db.session.scalar(sa.select(ModerationAppeal).where(ModerationAppeal.moderated_item_id == rec.id))
    appeal_open = appeal is not None and appeal.outcome is None
    actions, blocked = [], None
    if not own and not appeal_open:  # decide() refuses while an appeal is open
        try:
            item.kind.check(item.obj, "moderate")
        except Conflict as exc:
            blocked = exc.message
        else:
            actions = [{"action": a, "name": ACTION_NAMES[a], "to_state": to, "needs_reason": needs}
                       for a, (sources, to, needs) in TRANSITIONS.items() if rec.state in sources]
    same = appeal_open and _same_moderator(rec, user)
    return {"own_content": own, "actions": actions, "blocked": blocked, "appeal_open": appeal_open,
            "same_moderator": same, "may_decide_appeal": appeal_open and not own and not same}


def detail(user, item_type: str, item_id: int) -> dict:
    """Everything a moderator sees about an item: state, reports, appeal, decisions, every version.

    Who: the moderators of the item's organisation (its ``head``/``moderator`` staff) and
    administrators, as the queue (:func:`queue_for`) shows it to them.  Anyone else learns nothing
    of content that is not shown (pending, hidden, rejected): 404, as for an item that does not
    exist; for shown content (whose existence is public) 403 ``not_a_moderator``.

    :raises NotFound: ``item_not_found`` (the same error for a missing item and a hidden one);
    :raises Forbidden: ``not_a_moderator``."""
    missing = NotFound("找不到该内容", code="item_not_found", details={"item_type": item_type, "item_id": item_id})
    try:
        item = _get(item_type, item_id)
    except NotFound:
        raise missing from None
    if not is_moderator(user, item.record.organisation_id):
        if item.record.state not in VISIBLE_STATES:
            raise missing
        raise Forbidden("您不是该内容的审核人员", code="not_a_moderator")
    rec = item.record
    return {
        "item": rec,
        "reports": list(db.session.scalars(sa.select(ModerationReport).where(
            ModerationReport.moderated_item_id == rec.id).order_by(ModerationReport.id))),
        "appeal": db.session.scalar(sa.select(ModerationAppeal).where(ModerationAppeal.moderated_item_id == rec.id)),
        "decisions": list(db.session.scalars(sa.select(ModerationDecision).where(
            ModerationDecision.moderated_item_id == rec.id).order_by(ModerationDecision.id))),
        "versions": versions(item_type, item_id),
    }


def detail_view(user, item_type: str, item_id: int) -> dict:
    """:func:`detail` for the API: its versions as :func:`version_views` shows them to ``user`` (an
    idea's photos as links with ``blur_status``, never the stored keys).  Raises as :func:`detail`."""
    found = detail(user, item_type, item_id)
    return {**found, "versions": version_views(user, item_type, item_id, found["versions"])}


def state_of(item_type: str, item_id: int) -> ModeratedItem | None:
    return db.session.scalar(sa.select(ModeratedItem).where(
        ModeratedItem.item_type == item_type, ModeratedItem.item_id == item_id))
