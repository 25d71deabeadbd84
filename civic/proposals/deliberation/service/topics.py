"""Topics: raised by residents or members, co-signed onto the agenda, declined, closed or referred to an owners' vote; their comments, and the moderated kinds ``topic`` and ``topic_comment``."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import audit
from civic.core.calendar import legal_period_end
from civic.core.db import as_utc, edit, flush_or, insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.proposals import moderation
from civic.proposals.deliberation.models import (
    Committee,
    Cosign,
    OwnersVoteReferral,
    Topic,
    TopicComment,
)
from civic.proposals.deliberation.service.committees import (
    COMMENT_MAX,
    OFFICERS,
    TEXT_MAX,
    _require_officer,
    _require_resident,
    _today,
    current_members,
    current_rules,
    get_committee,
    is_resident_of,
    membership,
)
from civic.proposals.notify import notify

# Topic state machine, declared once: action -> (from states, to state, who).  "who" is
# "officer" (chair/secretary), "system" (co-signature threshold, motion results).
TOPIC_TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "schedule": (("proposed", "discussed"), "on_agenda", "officer"),
    "cosigned": (("proposed",), "on_agenda", "system"),
    "decline": (("proposed",), "declined", "officer"),
    "discuss": (("on_agenda",), "discussed", "system"),
    "decide": (("on_agenda", "discussed"), "decided", "system"),
    "close": (("decided", "declined"), "closed", "officer"),
    "refer_to_owners": (("proposed", "on_agenda", "discussed"), "closed", "officer"),
}
TOPIC_STATE_NAMES = {"proposed": "已提出", "on_agenda": "已列入议程", "declined": "不予列入",
                     "discussed": "已讨论", "decided": "已作出决议", "closed": "已结束"}


# --- topics --------------------------------------------------------------------------------------

def get_topic(topic_id: int) -> Topic:
    """The topic whatever its moderation state (for the system and moderation; requests use
    :func:`visible_topic`).  :raises NotFound: ``topic_not_found``."""
    t = db.session.get(Topic, topic_id)
    if t is None:
        raise NotFound("找不到该议题", code="topic_not_found", details={"topic_id": topic_id})
    return t


def can_see_topic(user, t: Topic) -> bool:
    """Whether ``user`` may see ``t``.  A shown topic (moderation ``approved``) is seen by everyone who
    reads topics; a pending, hidden or rejected one only by its author and the moderators of the
    convening organisation (its ``head``/``moderator`` staff, administrators), as ideas are
    (:func:`civic.proposals.contests.service.can_see`)."""
    if t.moderation_state in moderation.VISIBLE_STATES or user.id == t.raised_by_id:
        return True
    return moderation.is_moderator(user, get_committee(t.committee_id).organisation_id)


def visible_topic(user, topic_id: int) -> Topic:
    """A topic ``user`` may see (:func:`can_see_topic`); else ``topic_not_found``, no hint it exists.

    :raises NotFound: ``topic_not_found``.
    """
    t = get_topic(topic_id)
    if not can_see_topic(user, t):
        raise NotFound("找不到该议题", code="topic_not_found", details={"topic_id": topic_id})
    return t


def shown_topic(user, topic_id: int) -> Topic:
    """A topic that may gather support (co-signatures, comments, a place on an agenda, a motion):
    seen by ``user`` and shown by moderation.  Its author and moderators still see a hidden one, but
    nothing is added to it until a moderator restores it.

    A write checks its own permission between the two halves (:func:`visible_topic`, then who may
    act, then :func:`require_shown`): the hidden state is told only to who may act on the topic.

    :raises NotFound: ``topic_not_found`` (not seen by ``user``).  :raises Conflict: ``topic_hidden``.
    """
    t = visible_topic(user, topic_id)
    require_shown(t)
    return t


def require_shown(t: Topic) -> None:
    """The second half of :func:`shown_topic`: the topic is shown by moderation.

    :raises Conflict: ``topic_hidden``."""
    if t.moderation_state not in moderation.VISIBLE_STATES:
        raise Conflict("该议题已被隐藏，恢复显示前不能联署、讨论或列入议程", code="topic_hidden",
                       details={"topic_id": t.id, "moderation_state": t.moderation_state})


def _claim(model, row_id: int, *conditions) -> bool:
    """Take the row for this transaction if it still meets ``conditions``: a conditional UPDATE that
    changes only ``updated_at`` (no version bump: nothing the row says has changed).  Whether it
    matched.  It orders concurrent writers on the row: PostgreSQL holds the row lock until commit
    (a later UPDATE waits, then re-checks the conditions on the committed row); pysqlite starts the
    transaction and takes the database write lock, so what is read afterwards is what was committed.
    (Unlike :func:`civic.core.db.claim_row` it checks conditions, not a version read earlier.)"""
    done = db.session.execute(sa.update(model).where(model.id == row_id, *conditions)
                              .values(updated_at=utcnow()).execution_options(synchronize_session=False))
    return done.rowcount == 1


def _topic_changed(topic: Topic) -> Conflict:
    return Conflict("议题已被他人更改，请刷新后重试", code="topic_changed", details={"topic_id": topic.id})


def _transition(topic: Topic, action: str, actor, *, note: str | None = None) -> None:
    """Apply ``action`` of :data:`TOPIC_TRANSITIONS` and write it at once under the topic's version.

    :raises Conflict: ``topic_transition_invalid`` (not from this state), ``topic_changed`` (another
        request changed the topic since it was read).
    """
    sources, to_state, _who = TOPIC_TRANSITIONS[action]
    if topic.state not in sources:
        raise Conflict("议题当前状态不允许此操作", code="topic_transition_invalid",
                       details={"state": topic.state, "action": action})
    audit.record(f"topic.{action}", "topic", topic.id, actor=actor, note=note,
                 data={"from": topic.state, "to": to_state})
    topic.state = to_state
    flush_or(_topic_changed(topic))


def followers(topic: Topic) -> list[int]:
    """The raiser and every co-signer."""
    ids = db.session.scalars(sa.select(Cosign.resident_id).where(Cosign.topic_id == topic.id))
    return sorted({topic.raised_by_id, *ids})


def _tell_followers(topic: Topic, kind: str, title: str, body: str) -> None:
    notify(followers(topic), kind=kind, subject_type="topic", subject_id=topic.id, title=title, body=body)


def _needs_owners_vote(committee: Committee, changes_use: bool, common_part: bool) -> bool:
    # Civil Code Art. 278 item 8: changing the use of a common part is for the owners.  A lane inside
    # a compound is an owners' common part; otherwise the topic says so itself (``common_part``).
    if not changes_use:
        return False
    if common_part:
        return True
    return registry.ancestor_of_kind(registry.get_place(committee.place_id), "compound") is not None


def cosign_closes_at(raised_at: dt.datetime, cosign_days: int, calendar=None) -> dt.datetime:
    """When a resident's topic raised at ``raised_at`` stops taking co-signatures: the end (23:59:59
    Asia/Shanghai) of the ``cosign_days``-th day after the day it was raised, moved to the first
    working day after it when that day is off (Civil Code Arts. 201, 203: a period in days; the
    residents keep the whole of it)."""
    return legal_period_end(raised_at, cosign_days, calendar).due


def raise_topic(actor, committee_id: int, data: dict, now: dt.datetime | None = None) -> Topic:
    """A current member, or a resident of the road/lane, raises a topic: ``{"title", "text",
    "changes_use"?: bool, "common_part"?: bool}``.  A member's topic is ``proposed`` for the officers
    to schedule or decline; a resident's gathers co-signatures and goes onto the agenda when
    ``cosign_required`` residents co-sign within ``cosign_days`` (rule-set): until ``cosign_until``
    (:func:`cosign_closes_at`).

    :raises Forbidden: ``not_a_resident_here``.
    """
    now = now or utcnow()
    c = get_committee(committee_id)
    rules = current_rules(c.id)
    as_member = membership(c.id, actor, _today(now)) is not None
    if not as_member:
        _require_resident(c, actor)
    changes_use, common_part = bool(data.get("changes_use")), bool(data.get("common_part"))
    t = Topic(committee_id=c.id, title=require_text(data["title"], "title", 100),
              text=require_text(data["text"], "text", TEXT_MAX), raised_by_id=actor.id,
              raised_as="member" if as_member else "resident", state="proposed",
              cosign_until=None if as_member else cosign_closes_at(now, rules.cosign_days),
              changes_use=changes_use, common_part=common_part,
              needs_owners_vote=_needs_owners_vote(c, changes_use, common_part))
    db.session.add(t)
    db.session.flush()
    moderation.start(TOPIC_KIND, t, state="approved", author=actor)
    audit.record("topic.raise", "topic", t.id, actor=actor,
                 data={"raised_as": t.raised_as, "needs_owners_vote": t.needs_owners_vote})
    return t


def cosign(actor, topic_id: int, now: dt.datetime | None = None) -> Topic:
    """A resident of the road/lane co-signs a resident's topic (once; not the raiser).  At the
    rule-set's ``cosign_required`` within the window the topic goes onto the agenda, the officers
    and followers are notified.

    The count is the number of co-signature rows, and the threshold transition happens once, also
    when co-signatures race: a request first claims the topic row with a conditional UPDATE (only
    while ``proposed`` and shown), which serialises co-signers (PostgreSQL: the row lock until
    commit; SQLite: the database write lock), then inserts its row and counts the rows: every
    co-signature committed before is seen, so each writes the exact figure and exactly one request
    sees the threshold reached while ``proposed``.

    :raises NotFound: ``topic_not_found`` (hidden from the actor).
    :raises Conflict: ``cosign_not_open`` (not a resident's proposed topic, or it left ``proposed``
        meanwhile), ``cosign_window_closed``, ``already_cosigned``, ``topic_hidden``.
    :raises Forbidden: ``not_a_resident_here``, ``own_topic``.

    Order (issue #15): permission (the topic seen, a resident of the road/lane, not the raiser),
    then the topic's state and window.
    """
    now = now or utcnow()
    t = visible_topic(actor, topic_id)
    c = get_committee(t.committee_id)
    _require_resident(c, actor)
    if actor.id == t.raised_by_id:
        raise Forbidden("提出人不能联署自己的议题", code="own_topic")
    require_shown(t)
    if t.raised_as != "resident" or t.state != "proposed":
        raise Conflict("该议题不在征集联署", code="cosign_not_open", details={"state": t.state})
    if now >= as_utc(t.cosign_until):
        raise Conflict("联署期限已过", code="cosign_window_closed", details={"until": t.cosign_until.isoformat()})
    if not _claim(Topic, t.id, Topic.state == "proposed", Topic.moderation_state.in_(moderation.VISIBLE_STATES)):
        db.session.refresh(t)  # reached the agenda, was declined or hidden since we read it
        raise Conflict("该议题不在征集联署", code="cosign_not_open", details={"state": t.state})
    insert_once(Cosign(topic_id=t.id, resident_id=actor.id, created_at=now),
                Conflict("您已联署该议题", code="already_cosigned"))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Cosign).where(Cosign.topic_id == t.id))
    # No version bump: a count is no transition, and the claim above already orders co-signers.
    db.session.execute(sa.update(Topic).where(Topic.id == t.id).values(cosign_count=count)
                       .execution_options(synchronize_session=False))
    db.session.refresh(t)
    audit.record("topic.cosign", "topic", t.id, actor=actor, data={"count": t.cosign_count})
    rules = current_rules(c.id)
    if t.cosign_count >= rules.cosign_required:
        _transition(t, "cosigned", None, note=f"{t.cosign_count} 位居民联署")
        officers = [m.user_id for m in current_members(c.id, _today(now)) if m.role in OFFICERS]
        notify(officers + followers(t), kind="topic_on_agenda", subject_type="topic", subject_id=t.id,
               title=f"议题「{t.title}」经 {t.cosign_count} 位居民联署列入议程", body="将在下次会议讨论。")
    db.session.flush()
    return t


def schedule_topic(actor, topic_id: int) -> Topic:
    """Officers put a topic onto the agenda (``schedule``).

    :raises NotFound: ``topic_not_found``.  :raises Forbidden: ``not_an_officer``.
    :raises Conflict: ``topic_hidden``, ``topic_transition_invalid``, ``topic_changed``.
    Order (issue #15): permission (the topic seen, an officer), then the topic's state.
    """
    t = visible_topic(actor, topic_id)
    _require_officer(t.committee_id, actor)
    require_shown(t)
    _transition(t, "schedule", actor)
    _tell_followers(t, "topic_on_agenda", f"议题「{t.title}」已列入议程", "将在下次会议讨论。")
    db.session.flush()
    return t


def decline_topic(actor, topic_id: int, reason: str) -> Topic:
    """Officers decline a proposed topic, with a reason told to its followers.  A resident topic that
    reached its co-signatures is already on the agenda and cannot be declined.

    :raises NotFound: ``topic_not_found``.  :raises Conflict: ``topic_transition_invalid``, ``topic_changed``.
    :raises ValidationFailed: ``text_required``.
    """
    t = visible_topic(actor, topic_id)
    _require_officer(t.committee_id, actor)
    reason = require_text(reason, "reason", 500)
    _transition(t, "decline", actor, note=reason)
    t.decline_reason = reason
    _tell_followers(t, "topic_declined", f"议题「{t.title}」未列入议程", f"原因：{reason}")
    db.session.flush()
    return t


def close_topic(actor, topic_id: int, note: str | None = None) -> Topic:
    t = visible_topic(actor, topic_id)
    _require_officer(t.committee_id, actor)
    _transition(t, "close", actor, note=note)
    db.session.flush()
    return t


def refer_to_owners(actor, topic_id: int, note: str) -> OwnersVoteReferral:
    """Hand a topic that needs an owners' vote (Civil Code Art. 278 item 8) to the owners: records
    the referral (and the compound, if the place lies in one), closes the topic for the committee and
    tells its followers.  civic/voting's ``create_vote`` needs a certified roster and an owners'
    committee actor, so no draft vote is created here; the owners' committee links it later.

    :raises Conflict: ``owners_vote_not_needed``, ``topic_transition_invalid``, ``topic_changed``.
    """
    t = visible_topic(actor, topic_id)
    _require_officer(t.committee_id, actor)
    if not t.needs_owners_vote:
        raise Conflict("该议题不涉及改变共有部分用途", code="owners_vote_not_needed")
    note = require_text(note, "note", 500)
    compound = registry.ancestor_of_kind(registry.get_place(get_committee(t.committee_id).place_id), "compound")
    _transition(t, "refer_to_owners", actor, note=note)
    r = OwnersVoteReferral(topic_id=t.id, compound_id=compound.id if compound else None,
                           referred_by_id=actor.id, note=note)
    db.session.add(r)
    _tell_followers(t, "topic_referred", f"议题「{t.title}」已提交业主共同决定",
                    "改变共有部分用途须由业主共同决定（民法典第二百七十八条第一款第八项）。")
    db.session.flush()
    return r


def _can_take_part(c: Committee, user) -> bool:
    return (membership(c.id, user) is not None or (user.kind == "resident" and is_resident_of(c, user))
            or moderation.is_moderator(user, c.organisation_id))


def _require_participant(c: Committee, user) -> None:
    if not _can_take_part(c, user):
        raise Forbidden("仅限本路段/弄堂的居民和成员", code="not_a_resident_here")


def add_comment(actor, topic_id: int, body: str) -> TopicComment:
    """Members, residents of the road/lane and moderators discuss a topic (shown at once; reports and
    moderators may hide it through the shared moderation).

    :raises NotFound: ``topic_not_found``.  :raises Forbidden: ``not_a_resident_here``.
    :raises Conflict: ``topic_closed``, ``topic_hidden``.
    Order (issue #15): permission (the topic seen, who may take part), then the topic's state.
    """
    t = visible_topic(actor, topic_id)
    c = get_committee(t.committee_id)
    _require_participant(c, actor)
    require_shown(t)
    if t.state in ("closed", "declined"):
        raise Conflict("议题已结束", code="topic_closed", details={"state": t.state})
    cm = TopicComment(topic_id=t.id, author_id=actor.id, body=require_text(body, "body", COMMENT_MAX))
    db.session.add(cm)
    db.session.flush()
    moderation.start(TOPIC_COMMENT_KIND, cm, state="approved", author=actor)
    audit.record("topic.comment", "topic_comment", cm.id, actor=actor, data={"topic_id": t.id})
    return cm


def comments(actor, topic_id: int) -> list[TopicComment]:
    """The comments of a topic ``actor`` sees, oldest first: shown ones, plus hidden ones to their
    author and to moderators (as ideas' comments, :func:`civic.proposals.contests.queries.list_comments`).

    :raises NotFound: ``topic_not_found`` (the topic is hidden from ``actor``).
    """
    t = visible_topic(actor, topic_id)
    stmt = sa.select(TopicComment).where(TopicComment.topic_id == t.id)
    if not moderation.is_moderator(actor, get_committee(t.committee_id).organisation_id):
        stmt = stmt.where(sa.or_(TopicComment.state.in_(moderation.VISIBLE_STATES), TopicComment.author_id == actor.id))
    return list(db.session.scalars(stmt.order_by(TopicComment.id)))


class TopicKind:
    item_type = "topic"
    label = "议题"

    def load(self, item_id):
        return get_topic(item_id)

    def author_id(self, obj):
        return obj.raised_by_id

    def organisation_id(self, obj):
        return get_committee(obj.committee_id).organisation_id

    def report_threshold(self, obj):
        return 3

    def set_state(self, obj, state):
        obj.moderation_state = state

    def content(self, obj):
        return {"title": obj.title, "text": obj.text}

    def apply_edit(self, obj, content):
        edit(obj, {"title": require_text(content.get("title", obj.title), "title", 100),
                   "text": require_text(content.get("text", obj.text), "text", TEXT_MAX)})
        return self.content(obj)

    def check(self, obj, action):
        return None

    def require_reporter(self, obj, user):
        visible_topic(user, obj.id)
        _require_participant(get_committee(obj.committee_id), user)


class TopicCommentKind(moderation.CommentLike):
    item_type = "topic_comment"
    label = "议题评论"
    model = TopicComment
    body_max = COMMENT_MAX

    def organisation_id(self, obj):
        return get_committee(get_topic(obj.topic_id).committee_id).organisation_id

    def report_threshold(self, obj):
        return 3

    def check(self, obj, action):
        return None

    def require_reporter(self, obj, user):
        # A hidden topic's comments go with it (404), as its page does.
        _require_participant(get_committee(visible_topic(user, obj.topic_id).committee_id), user)


TOPIC_KIND = TopicKind()
TOPIC_COMMENT_KIND = TopicCommentKind()
moderation.register(TOPIC_KIND)
moderation.register(TOPIC_COMMENT_KIND)
