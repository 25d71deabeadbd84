"""The verbs of 路管会 / 弄管会 deliberation (RULES.md §4; 城市居民委员会组织法 Arts. 10-11;
上海市居民委员会工作条例 Arts. 10, 13, 16, 17).

Who is who:

* **members** of a committee hold a role (``chair``, ``secretary``, ``member``) for a term of office;
  only members whose term covers the day count (for quorum, votes, raising topics).  The chair and
  the secretary run meetings ("officers");
* the **convening organisation** (a residents' committee covering the place) sets up the committee,
  its members and its rule-sets; its head/moderator staff moderate topic comments;
* a **resident of the road or lane** is a resident with a unit in its *catchment*
  (:func:`catchment`).

Every decision is taken under a rule-set version (:class:`RuleSet`), stored with the motion; a new
version never changes a past result.  Thresholds are exact :class:`~fractions.Fraction` values.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa
from flask import current_app

from civic.accounts.memberships import acting_memberships
from civic.core import audit
from civic.core.db import as_utc, claim_row, flush_or, insert_once, to_shanghai, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.jobs import periodic
from civic.core.photos import process_photos
from civic.core.storage import MediaStore
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.proposals import moderation
from civic.proposals.deliberation_models import (
    COMMITTEE_KINDS,
    MEMBER_ROLES,
    SPEAKS_FOR,
    VOTE_CHOICES,
    ActionItem,
    ActionUpdate,
    AgendaItem,
    Attendance,
    Committee,
    CommitteeMember,
    Cosign,
    Meeting,
    Motion,
    MotionVote,
    OwnersVoteReferral,
    Resolution,
    RuleSet,
    Topic,
    TopicComment,
)
from civic.proposals.notify import notify

CONVENER_KINDS = ("residents_committee", "street_centre")
CONVENER_ROLES = ("head", "handler")
OFFICERS = ("chair", "secretary")
PLACE_KINDS = {"road_committee": ("road_section",), "lane_committee": ("lane",),
               "council": ("lane", "road_section", "community", "compound")}
TEXT_MAX = 2000
COMMENT_MAX = 500
PHOTOS_MAX = 9
CHECKIN_EARLY = dt.timedelta(hours=2)

#: Defaults of a committee's first rule-set.  RULES.md §4: quorum more than half of members, a motion
#: passes with more than half of those present, notice with the agenda.  The notice period, the
#: co-signatures and the publication period are civic's defaults (no statute sets them); each
#: committee's charter changes them with a new version.
DEFAULT_RULES = {
    "quorum": "1/2", "quorum_strict": True,
    "majority": "1/2", "majority_strict": True, "majority_base": "present",
    "abstentions": "present_not_for",
    "notice_days": 3, "cosign_required": 5, "cosign_days": 30, "publish_days": 30,
}

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


# --- exact thresholds ----------------------------------------------------------------------------

def parse_fraction(value: str, field: str) -> Fraction:
    """``"1/2"`` → ``Fraction(1, 2)``; must lie in (0, 1].  Floats are refused (``"0.5"`` is not a
    fraction of people).

    :raises ValidationFailed: ``fraction_invalid``.
    """
    try:
        if not isinstance(value, str) or "." in value:
            raise ValueError
        f = Fraction(value.strip())
    except (ValueError, ZeroDivisionError):
        raise ValidationFailed("比例须写成分数，如 1/2", code="fraction_invalid",
                               details={"field": field, "value": value}) from None
    if not 0 < f <= 1:
        raise ValidationFailed("比例须大于 0 且不超过 1", code="fraction_invalid", details={"field": field, "value": value})
    return f


def threshold_text(fraction: str, strict: bool) -> str:
    return (">" if strict else ">=") + str(Fraction(fraction))


def meets(part: int, whole: int, fraction: str, strict: bool) -> tuple[Fraction, bool]:
    """``(part/whole, whether it meets the threshold)``; an empty whole meets nothing."""
    if whole <= 0:
        return Fraction(0), False
    share = Fraction(part, whole)
    need = Fraction(fraction)
    return share, (share > need if strict else share >= need)


@dataclass(frozen=True)
class Count:
    agree: int
    oppose: int
    abstain: int
    present: int
    members: int


def tally(count: Count, rules: RuleSet) -> dict:
    """Whether a motion passes under ``rules``, with the figures shown.

    Base: ``present`` (members present) or ``members`` (all current members); abstentions either
    count as present but not for (they stay in the base) or are ``excluded`` from the base.
    Returns e.g. ``{"agree": 3, "oppose": 3, "abstain": 0, "base": 6, "fraction": "1/2",
    "threshold": ">1/2", "passed": false, "rule_set_version": 1}``.  RULES.md §4.
    """
    base = count.present if rules.majority_base == "present" else count.members
    if rules.abstentions == "excluded":
        base -= count.abstain
    share, passed = meets(count.agree, base, rules.majority, rules.majority_strict)
    return {"agree": count.agree, "oppose": count.oppose, "abstain": count.abstain, "base": base,
            "fraction": str(share), "threshold": threshold_text(rules.majority, rules.majority_strict),
            "passed": passed, "rule_set_version": rules.version}


def quorum(present: int, members: int, rules: RuleSet) -> dict:
    share, met = meets(present, members, rules.quorum, rules.quorum_strict)
    return {"present": present, "members": members, "fraction": str(share),
            "threshold": threshold_text(rules.quorum, rules.quorum_strict), "met": met}


# --- committees, members, rules ------------------------------------------------------------------

def get_committee(committee_id: int) -> Committee:
    c = db.session.get(Committee, committee_id)
    if c is None:
        raise NotFound("找不到该议事机构", code="committee_not_found", details={"committee_id": committee_id})
    return c


def _require_convener(actor, org_id: int) -> None:
    if actor.kind == "admin":
        return
    if not any(o.id == org_id for _m, o in acting_memberships(actor, org_kinds=CONVENER_KINDS, roles=CONVENER_ROLES)):
        raise Forbidden("仅限召集该议事机构的居委会工作人员", code="not_convener", details={"organisation_id": org_id})


def create_committee(actor, data: dict) -> Committee:
    """Set up a committee: ``{"kind", "name", "place_id", "organisation_id", "rules"?: {...}}``.  The
    place is a road section (road_committee) or lane (lane_committee); the convening residents'
    committee must cover it.  Creates rule-set version 1 from :data:`DEFAULT_RULES` and ``rules``.

    :raises ValidationFailed: ``committee_kind_invalid``, ``place_kind_invalid``.
    :raises Forbidden: ``not_convener``, ``out_of_scope``.
    """
    kind = data.get("kind")
    if kind not in COMMITTEE_KINDS:
        raise ValidationFailed("议事机构类型无效", code="committee_kind_invalid", details={"kind": kind})
    place = registry.get_place(data["place_id"])
    if place.kind not in PLACE_KINDS[kind]:
        raise ValidationFailed("议事机构服务的地点类型不符", code="place_kind_invalid",
                               details={"kind": kind, "place_kind": place.kind})
    org_id = data["organisation_id"]
    _require_convener(actor, org_id)
    if not registry.organisation_covers(org_id, place.id):
        raise Forbidden("该组织不覆盖此地点", code="out_of_scope", details={"place_id": place.id})
    c = Committee(kind=kind, name=require_text(data["name"], "name", 100), place_id=place.id, organisation_id=org_id)
    db.session.add(c)
    db.session.flush()
    audit.record("committee.create", "committee", c.id, actor=actor, data={"kind": kind, "place_id": place.id})
    add_rule_set(actor, c.id, data.get("rules") or {})
    return c


def add_member(actor, committee_id: int, data: dict) -> CommitteeMember:
    """Appoint a member: ``{"user_id", "role", "speaks_for", "term_start": date, "term_end"?: date}``.

    :raises ValidationFailed: ``member_role_invalid``, ``speaks_for_invalid``, ``term_invalid``,
        ``user_not_found``.
    """
    c = get_committee(committee_id)
    _require_convener(actor, c.organisation_id)
    if data.get("role") not in MEMBER_ROLES:
        raise ValidationFailed("成员角色无效", code="member_role_invalid", details={"role": data.get("role")})
    if data.get("speaks_for") not in SPEAKS_FOR:
        raise ValidationFailed("代表方无效", code="speaks_for_invalid", details={"speaks_for": data.get("speaks_for")})
    if data.get("term_end") and data["term_end"] < data["term_start"]:
        raise ValidationFailed("任期结束不能早于开始", code="term_invalid")
    from civic.accounts.models import User

    if db.session.get(User, data["user_id"]) is None:
        raise ValidationFailed("找不到该用户", code="user_not_found", details={"user_id": data["user_id"]})
    m = CommitteeMember(committee_id=c.id, user_id=data["user_id"], role=data["role"], speaks_for=data["speaks_for"],
                        term_start=data["term_start"], term_end=data.get("term_end"))
    db.session.add(m)
    db.session.flush()
    audit.record("committee.member_add", "committee", c.id, actor=actor,
                 data={"user_id": m.user_id, "role": m.role, "speaks_for": m.speaks_for})
    return m


def _today(now: dt.datetime | None = None) -> dt.date:
    return to_shanghai(now or utcnow()).date()


def current_members(committee_id: int, on: dt.date | None = None) -> list[CommitteeMember]:
    """Members whose term covers ``on`` (Shanghai date, default today)."""
    on = on or _today()
    return list(db.session.scalars(sa.select(CommitteeMember).where(
        CommitteeMember.committee_id == committee_id, CommitteeMember.term_start <= on,
        sa.or_(CommitteeMember.term_end.is_(None), CommitteeMember.term_end >= on)).order_by(CommitteeMember.id)))


def membership(committee_id: int, user, on: dt.date | None = None) -> CommitteeMember | None:
    return next((m for m in current_members(committee_id, on) if m.user_id == user.id), None)


def _require_officer(committee_id: int, user, on: dt.date | None = None) -> CommitteeMember:
    m = membership(committee_id, user, on)
    if m is None or m.role not in OFFICERS:
        raise Forbidden("仅限主任或秘书操作", code="not_an_officer")
    return m


def add_rule_set(actor, committee_id: int, data: dict) -> RuleSet:
    """A new version of the rules (previous version's values, changed by ``data``).  Fractions as
    strings ("1/2") with ``*_strict`` flags; ``majority_base`` present|members; ``abstentions``
    present_not_for|excluded; day counts are whole days.

    :raises ValidationFailed: ``fraction_invalid``, ``rules_invalid``.
    """
    c = get_committee(committee_id)
    _require_convener(actor, c.organisation_id)
    last = current_rules(committee_id, required=False)
    base = {k: getattr(last, k) for k in DEFAULT_RULES} if last else dict(DEFAULT_RULES)
    unknown = set(data) - set(DEFAULT_RULES)
    if unknown:
        raise ValidationFailed("未知的议事规则项", code="rules_invalid", details={"fields": sorted(unknown)})
    rules = {**base, **data}
    for f in ("quorum", "majority"):
        rules[f] = str(parse_fraction(rules[f], f))
    if rules["majority_base"] not in ("present", "members") or rules["abstentions"] not in ("present_not_for", "excluded"):
        raise ValidationFailed("表决基数或弃权计法无效", code="rules_invalid")
    for f in ("notice_days", "cosign_required", "cosign_days", "publish_days"):
        if not isinstance(rules[f], int) or isinstance(rules[f], bool) or rules[f] < 0:
            raise ValidationFailed("天数和人数须为非负整数", code="rules_invalid", details={"field": f})
    rs = RuleSet(committee_id=c.id, version=(last.version + 1) if last else 1, created_by_id=actor.id, **rules)
    db.session.add(rs)
    db.session.flush()
    audit.record("committee.rules", "committee", c.id, actor=actor, data={"version": rs.version, **rules})
    return rs


def current_rules(committee_id: int, *, required: bool = True) -> RuleSet | None:
    rs = db.session.scalar(sa.select(RuleSet).where(RuleSet.committee_id == committee_id)
                           .order_by(RuleSet.version.desc()).limit(1))
    if rs is None and required:
        raise NotFound("该议事机构没有议事规则", code="rules_not_found")
    return rs


# --- catchment: who are the residents of a road or lane -----------------------------------------

def catchment(committee: Committee):
    """The place whose units' residents are "residents of the road or lane".

    Reading: the lane's or road section's own subtree when units are registered under it; otherwise
    the nearest compound or community above it (its "parent community": a lane inside a compound
    serves that compound's households, a lane under a community that community's); a road section
    directly under a street has neither, so its street.  Why: the registry hangs buildings only
    under compounds, so lanes and road sections are bare places without units, and the compound or
    community is the smallest registered area that certainly holds the households along them
    (RULES.md §4; the residents' committee that convenes the committee serves the same community).
    The first branch keeps the reading right if the registry later registers units by lane.
    """
    place = registry.get_place(committee.place_id)
    if registry.units_under(place):
        return place
    for p in reversed(registry.ancestors(place)[:-1]):
        if p.kind in ("compound", "community"):
            return p
    return registry.get_place(place.parent_id)


def is_resident_of(committee: Committee, user) -> bool:
    area = catchment(committee)
    return any(unit.path.startswith(area.path) for _link, unit in registry.units_of_resident(user.id))


def _require_resident(committee: Committee, user) -> None:
    if user.kind != "resident" or not is_resident_of(committee, user):
        raise Forbidden("仅限本路段/弄堂的居民", code="not_a_resident_here")


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
    (:func:`civic.proposals.service.can_see`)."""
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

    :raises NotFound: ``topic_not_found`` (not seen by ``user``).  :raises Conflict: ``topic_hidden``.
    """
    t = visible_topic(user, topic_id)
    if t.moderation_state not in moderation.VISIBLE_STATES:
        raise Conflict("该议题已被隐藏，恢复显示前不能联署、讨论或列入议程", code="topic_hidden",
                       details={"topic_id": t.id, "moderation_state": t.moderation_state})
    return t


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


def raise_topic(actor, committee_id: int, data: dict, now: dt.datetime | None = None) -> Topic:
    """A current member, or a resident of the road/lane, raises a topic: ``{"title", "text",
    "changes_use"?: bool, "common_part"?: bool}``.  A member's topic is ``proposed`` for the officers
    to schedule or decline; a resident's gathers co-signatures and goes onto the agenda when
    ``cosign_required`` residents co-sign within ``cosign_days`` (rule-set).

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
              cosign_until=None if as_member else now + dt.timedelta(days=rules.cosign_days),
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
    """
    now = now or utcnow()
    t = shown_topic(actor, topic_id)
    c = get_committee(t.committee_id)
    if t.raised_as != "resident" or t.state != "proposed":
        raise Conflict("该议题不在征集联署", code="cosign_not_open", details={"state": t.state})
    if now >= as_utc(t.cosign_until):
        raise Conflict("联署期限已过", code="cosign_window_closed", details={"until": t.cosign_until.isoformat()})
    _require_resident(c, actor)
    if actor.id == t.raised_by_id:
        raise Forbidden("提出人不能联署自己的议题", code="own_topic")
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
    """
    t = shown_topic(actor, topic_id)
    _require_officer(t.committee_id, actor)
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
    """
    t = shown_topic(actor, topic_id)
    c = get_committee(t.committee_id)
    if t.state in ("closed", "declined"):
        raise Conflict("议题已结束", code="topic_closed", details={"state": t.state})
    _require_participant(c, actor)
    cm = TopicComment(topic_id=t.id, author_id=actor.id, body=require_text(body, "body", COMMENT_MAX))
    db.session.add(cm)
    db.session.flush()
    moderation.start(TOPIC_COMMENT_KIND, cm, state="approved", author=actor)
    audit.record("topic.comment", "topic_comment", cm.id, actor=actor, data={"topic_id": t.id})
    return cm


def comments(actor, topic_id: int) -> list[TopicComment]:
    """The comments of a topic ``actor`` sees, oldest first: shown ones, plus hidden ones to their
    author and to moderators (as ideas' comments, :func:`civic.proposals.queries.list_comments`).

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
        obj.title = require_text(content.get("title", obj.title), "title", 100)
        obj.text = require_text(content.get("text", obj.text), "text", TEXT_MAX)
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


# --- meetings ------------------------------------------------------------------------------------

def get_meeting(meeting_id: int) -> Meeting:
    m = db.session.get(Meeting, meeting_id)
    if m is None:
        raise NotFound("找不到该会议", code="meeting_not_found", details={"meeting_id": meeting_id})
    return m


def convene(actor, committee_id: int, data: dict, now: dt.datetime | None = None) -> Meeting:
    """Officers call a meeting: ``{"title", "starts_at": aware datetime, "location", "topic_ids"}``.
    The notice with the agenda goes to every current member now, at least ``notice_days`` before
    (RULES.md §4).  Proposed topics on the agenda move to ``on_agenda``.

    :raises Conflict: ``notice_too_short`` (details: ``notice_days``, ``earliest``),
        ``topic_not_schedulable``, ``topic_hidden``, ``topic_changed``.
    :raises NotFound: ``topic_not_found`` (also a topic hidden from the officer).
    :raises ValidationFailed: ``agenda_empty``.
    """
    now = now or utcnow()
    c = get_committee(committee_id)
    _require_officer(c.id, actor, _today(now))
    rules = current_rules(c.id)
    starts_at = as_utc(data["starts_at"])
    earliest = now + dt.timedelta(days=rules.notice_days)
    if starts_at < earliest:
        raise Conflict(f"须至少提前 {rules.notice_days} 天通知", code="notice_too_short",
                       details={"notice_days": rules.notice_days, "earliest": to_shanghai(earliest).isoformat()})
    ids = list(dict.fromkeys(data.get("topic_ids") or []))
    if not ids:
        raise ValidationFailed("议程不能为空", code="agenda_empty")
    topics = [shown_topic(actor, i) for i in ids]
    for t in topics:
        if t.committee_id != c.id or t.state not in ("proposed", "on_agenda", "discussed"):
            raise Conflict("该议题不能列入议程", code="topic_not_schedulable", details={"topic_id": t.id, "state": t.state})
    m = Meeting(committee_id=c.id, title=require_text(data["title"], "title", 100),
                location=data.get("location") or "", starts_at=starts_at, notice_sent_at=now,
                rule_set_id=rules.id, checkin_code=f"{secrets.randbelow(10**6):06d}", convened_by_id=actor.id)
    db.session.add(m)
    db.session.flush()
    for pos, t in enumerate(topics, start=1):
        db.session.add(AgendaItem(meeting_id=m.id, topic_id=t.id, position=pos))
        if t.state != "on_agenda":
            _transition(t, "schedule", actor)
    agenda = "；".join(f"{i}. {t.title}" for i, t in enumerate(topics, start=1))
    when = to_shanghai(starts_at).strftime("%Y-%m-%d %H:%M")
    notify([mem.user_id for mem in current_members(c.id, _today(now))], kind="meeting_notice",
           subject_type="meeting", subject_id=m.id, title=f"{c.name}会议通知：{when}",
           body=f"地点：{m.location}。议程：{agenda}")
    audit.record("meeting.convene", "meeting", m.id, actor=actor,
                 data={"starts_at": starts_at.isoformat(), "topic_ids": ids, "rule_set_version": rules.version})
    db.session.flush()
    return m


def agenda(meeting_id: int) -> list[Topic]:
    return list(db.session.scalars(sa.select(Topic).join(AgendaItem, AgendaItem.topic_id == Topic.id)
                                   .where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.position)))


def _meeting_day(m: Meeting) -> dt.date:
    return to_shanghai(as_utc(m.starts_at)).date()


def _mark(m: Meeting, user_id: int, method: str, by) -> Attendance:
    a = insert_once(Attendance(meeting_id=m.id, user_id=user_id, method=method, marked_by_id=by.id),
                    Conflict("已签到", code="already_checked_in"))
    audit.record("meeting.attend", "meeting", m.id, actor=by, data={"user_id": user_id, "method": method})
    return a


def check_in(actor, meeting_id: int, code: str, now: dt.datetime | None = None) -> Attendance:
    """A member checks in with the code the secretary shows, from two hours before the start.

    :raises Forbidden: ``not_a_member``.  :raises Conflict: ``checkin_not_open``, ``already_checked_in``.
    :raises ValidationFailed: ``checkin_code_wrong``.
    """
    now = now or utcnow()
    m = get_meeting(meeting_id)
    if membership(m.committee_id, actor, _meeting_day(m)) is None:
        raise Forbidden("仅限本届成员签到", code="not_a_member")
    if now < as_utc(m.starts_at) - CHECKIN_EARLY or m.minutes is not None:
        raise Conflict("当前不能签到", code="checkin_not_open")
    if not secrets.compare_digest(str(code or ""), m.checkin_code):
        raise ValidationFailed("签到码不正确", code="checkin_code_wrong")
    return _mark(m, actor.id, "code", actor)


def mark_attendance(actor, meeting_id: int, user_id: int) -> Attendance:
    """The secretary (or chair) marks a member present.

    :raises Forbidden: ``not_an_officer``.  :raises ValidationFailed: ``not_a_member``.
    """
    m = get_meeting(meeting_id)
    day = _meeting_day(m)
    _require_officer(m.committee_id, actor, day)
    if user_id not in {x.user_id for x in current_members(m.committee_id, day)}:
        raise ValidationFailed("此人不是本届成员", code="not_a_member", details={"user_id": user_id})
    return _mark(m, user_id, "secretary", actor)


def attendance(meeting_id: int) -> list[Attendance]:
    return list(db.session.scalars(sa.select(Attendance).where(Attendance.meeting_id == meeting_id)
                                   .order_by(Attendance.id)))


def quorum_of(m: Meeting, rules: RuleSet | None = None) -> dict:
    rules = rules or db.session.get(RuleSet, m.rule_set_id)
    members = {x.user_id for x in current_members(m.committee_id, _meeting_day(m))}
    present = len({a.user_id for a in attendance(m.id)} & members)
    return quorum(present, len(members), rules)


def record_minutes(actor, meeting_id: int, minutes: str) -> Meeting:
    """Officers record (or correct) the minutes; recorded minutes end check-in.  Written under the
    meeting's version: of two officers writing at once one wins, the other must reload.

    :raises Forbidden: ``not_an_officer``.  :raises Conflict: ``meeting_changed``.
    """
    m = get_meeting(meeting_id)
    _require_officer(m.committee_id, actor, _meeting_day(m))
    m.minutes = require_text(minutes, "minutes", 20000)
    audit.record("meeting.minutes", "meeting", m.id, actor=actor)
    flush_or(Conflict("会议纪要已被他人更新，请刷新后重试", code="meeting_changed", details={"meeting_id": m.id}))
    return m


# --- motions and votes ---------------------------------------------------------------------------

def get_motion(motion_id: int) -> Motion:
    mo = db.session.get(Motion, motion_id)
    if mo is None:
        raise NotFound("找不到该动议", code="motion_not_found", details={"motion_id": motion_id})
    return mo


def open_motion(actor, meeting_id: int, topic_id: int, text: str) -> Motion:
    """Officers put a motion on an agenda topic to the vote, under the committee's current rule-set.

    One motion at a time per topic: a second is refused while one is open (two open motions could
    both pass, and the topic can be decided only once).  Opening claims the topic row under its
    version, so of two officers opening motions at once one wins.

    :raises Conflict: ``needs_owners_vote`` (Civil Code Art. 278 item 8: never a committee decision),
        ``topic_not_on_agenda``, ``topic_transition_invalid``, ``quorum_not_met`` (details: the quorum),
        ``motion_already_open`` (details: ``topic_id``, ``motion_id``), ``topic_hidden``, ``topic_changed``.
    :raises NotFound: ``topic_not_found`` (also a topic hidden from the officer).
    """
    m = get_meeting(meeting_id)
    _require_officer(m.committee_id, actor, _meeting_day(m))
    t = shown_topic(actor, topic_id)
    if t.needs_owners_vote:
        raise Conflict("改变共有部分用途须由业主共同决定，议事机构不能表决", code="needs_owners_vote",
                       details={"topic_id": t.id, "source": "民法典第二百七十八条第一款第八项"})
    if t.id not in {x.id for x in agenda(m.id)}:
        raise Conflict("该议题不在本次会议议程中", code="topic_not_on_agenda", details={"topic_id": t.id})
    if t.state not in ("on_agenda", "discussed"):
        raise Conflict("议题当前状态不允许表决", code="topic_transition_invalid", details={"state": t.state})
    pending = db.session.scalar(sa.select(Motion.id).where(Motion.topic_id == t.id, Motion.state == "open")
                                .order_by(Motion.id).limit(1))
    if pending is not None:
        raise Conflict("该议题已有正在表决的动议，请先结束该动议的表决", code="motion_already_open",
                       details={"topic_id": t.id, "motion_id": pending})
    rules = current_rules(m.committee_id)
    q = quorum_of(m, rules)
    if not q["met"]:
        raise Conflict("出席人数未达法定人数", code="quorum_not_met", details=q)
    if t.state == "on_agenda":
        _transition(t, "discuss", actor)
    else:
        # Already discussed: still move its version on, so that a concurrent open_motion that also
        # found no open motion loses (topic_changed) instead of opening a second one.
        claim_row(t, _topic_changed(t))
    mo = Motion(meeting_id=m.id, topic_id=t.id, text=require_text(text, "text", TEXT_MAX),
                rule_set_id=rules.id, rule_set_version=rules.version)
    db.session.add(mo)
    db.session.flush()
    audit.record("motion.open", "motion", mo.id, actor=actor, data={"topic_id": t.id, "rule_set_version": rules.version})
    return mo


def cast(actor, motion_id: int, choice: str) -> MotionVote:
    """A member present votes ``agree``, ``oppose`` or ``abstain``, once per motion.

    :raises Forbidden: ``not_present``.  :raises Conflict: ``motion_closed``, ``already_voted``.
    :raises ValidationFailed: ``choice_invalid``.
    """
    if choice not in VOTE_CHOICES:
        raise ValidationFailed("表决意见须为同意、反对或弃权", code="choice_invalid", details={"choice": choice})
    mo = get_motion(motion_id)
    if mo.state != "open":
        raise Conflict("该动议已结束表决", code="motion_closed")
    m = get_meeting(mo.meeting_id)
    present = {a.user_id for a in attendance(m.id)}
    if membership(m.committee_id, actor, _meeting_day(m)) is None or actor.id not in present:
        raise Forbidden("仅限出席会议的成员表决", code="not_present")
    # Claimed while open: a close that committed meanwhile refuses the vote; a close that comes
    # later waits for this transaction and counts the vote (close_motion counts after its claim).
    if not _claim(Motion, mo.id, Motion.state == "open"):
        raise Conflict("该动议已结束表决", code="motion_closed")
    v = insert_once(MotionVote(motion_id=mo.id, user_id=actor.id, choice=choice),
                    Conflict("您已对该动议表决", code="already_voted"))
    audit.record("motion.vote", "motion", mo.id, actor=actor)  # the choice stays in motion_vote only
    return v


def close_motion(actor, motion_id: int, resolution_text: str | None = None, now: dt.datetime | None = None) -> Motion:
    """Close the vote: count under the motion's rule-set version (:func:`tally`), publish the result
    until ``publish_days`` later, and, if it passed, record the resolution and mark the topic
    decided.  Followers of the topic are told the result.

    The motion is claimed first (``open`` → ``closed`` under its version: of two closes one wins),
    and the votes are counted after the claim, so that none cast before is missed and none after
    is accepted (:func:`cast`).  ``result`` is :func:`tally`'s, with ``quorum``, ``threshold_met``
    (the votes met the majority) and, when the topic left ``on_agenda``/``discussed`` while the
    vote was open (e.g. another motion decided it), ``passed`` false and a ``note``: the motion is
    closed without a resolution rather than left open for good.

    :raises Conflict: ``motion_closed``, ``topic_changed``.
    """
    now = now or utcnow()
    mo = get_motion(motion_id)
    m = get_meeting(mo.meeting_id)
    _require_officer(m.committee_id, actor, _meeting_day(m))
    if mo.state != "open":
        raise Conflict("该动议已结束表决", code="motion_closed")
    mo.state, mo.closed_at = "closed", now
    flush_or(Conflict("该动议已结束表决", code="motion_closed"))
    rules = db.session.get(RuleSet, mo.rule_set_id)
    counts = {c: 0 for c in VOTE_CHOICES}
    for choice, n in db.session.execute(sa.select(MotionVote.choice, sa.func.count()).where(
            MotionVote.motion_id == mo.id).group_by(MotionVote.choice)):
        counts[choice] = n
    q = quorum_of(m, rules)
    result = tally(Count(counts["agree"], counts["oppose"], counts["abstain"], q["present"], q["members"]), rules)
    result["quorum"], result["threshold_met"] = q, result["passed"]
    t = get_topic(mo.topic_id)
    db.session.refresh(t)  # its state as committed now, not as this session may have read it earlier
    if t.state not in TOPIC_TRANSITIONS["decide"][0]:
        result["passed"] = False
        result["note"] = f"表决期间该议题{TOPIC_STATE_NAMES[t.state]}，本动议不再形成决议"
    mo.result, mo.passed = result, result["passed"]
    mo.published_until = now + dt.timedelta(days=rules.publish_days)
    audit.record("motion.close", "motion", mo.id, actor=actor, data=result)
    if mo.passed:
        db.session.add(Resolution(motion_id=mo.id, topic_id=t.id, text=resolution_text or mo.text,
                                  rule_set_version=mo.rule_set_version))
        _transition(t, "decide", actor)
    verdict = "通过" if mo.passed else ("未形成决议" if result["threshold_met"] else "未通过")
    _tell_followers(t, "motion_result", f"议题「{t.title}」的动议{verdict}",
                    f"同意 {result['agree']}，反对 {result['oppose']}，弃权 {result['abstain']}；"
                    f"同意占 {result['fraction']}（须 {result['threshold']}）。" + result.get("note", ""))
    db.session.flush()
    return mo


def resolution_of(motion_id: int) -> Resolution | None:
    return db.session.scalar(sa.select(Resolution).where(Resolution.motion_id == motion_id))


def published_results(committee_id: int, now: dt.datetime | None = None) -> list[Motion]:
    """Closed motions whose publication period (``published_until``) has not ended."""
    now = now or utcnow()
    return list(db.session.scalars(sa.select(Motion).join(Meeting, Meeting.id == Motion.meeting_id).where(
        Meeting.committee_id == committee_id, Motion.state == "closed", Motion.published_until > now)
        .order_by(Motion.id)))


# --- follow-up -----------------------------------------------------------------------------------

def get_action_item(item_id: int) -> ActionItem:
    a = db.session.get(ActionItem, item_id)
    if a is None:
        raise NotFound("找不到该督办事项", code="action_item_not_found", details={"action_item_id": item_id})
    return a


def _committee_of_resolution(res: Resolution) -> Committee:
    return get_committee(get_topic(res.topic_id).committee_id)


def add_action_item(actor, resolution_id: int, data: dict) -> ActionItem:
    """Officers turn a resolution into an action item: ``{"title", "organisation_id", "due_on": date}``.

    :raises NotFound: ``resolution_not_found``.
    """
    res = db.session.get(Resolution, resolution_id)
    if res is None:
        raise NotFound("找不到该决议", code="resolution_not_found")
    c = _committee_of_resolution(res)
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
    stored = process_photos(files, store=MediaStore(current_app.config["MEDIA_DIR"])) if files else []
    return [{"display_key": s.display_key, "thumb_key": s.thumb_key, "width": s.width, "height": s.height}
            for s in stored]


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


@periodic("deliberation_overdue", hour=1, minute=30)
def flag_overdue(now: dt.datetime | None = None) -> int:
    """Daily at 01:30 Asia/Shanghai: flag open action items past their due date (Shanghai date of
    ``now``) and tell the committee's officers.  Returns how many were newly flagged.

    Each flag is a conditional UPDATE (still open, not yet flagged) without a version bump: an item
    closed meanwhile is skipped, and a close from a read before the flag still succeeds."""
    today = _today(now)
    found = list(db.session.scalars(sa.select(ActionItem).where(
        ActionItem.state == "open", ActionItem.overdue.is_(False), ActionItem.due_on < today)))
    items = []
    for a in found:
        flagged = db.session.execute(
            sa.update(ActionItem).where(ActionItem.id == a.id, ActionItem.state == "open",
                                        ActionItem.overdue.is_(False))
            .values(overdue=True).execution_options(synchronize_session=False))
        db.session.refresh(a)
        if flagged.rowcount != 1:
            continue
        items.append(a)
        audit.record("action_item.overdue", "action_item", a.id, data={"due_on": a.due_on.isoformat()})
        c = _committee_of_resolution(db.session.get(Resolution, a.resolution_id))
        notify([m.user_id for m in current_members(c.id, today) if m.role in OFFICERS], kind="action_item_overdue",
               subject_type="action_item", subject_id=a.id, title=f"督办事项「{a.title}」已逾期",
               body=f"应于 {a.due_on.isoformat()} 前完成。")
    db.session.flush()
    return len(items)


# --- views ---------------------------------------------------------------------------------------

def meeting_view(actor, m: Meeting) -> dict:
    """A meeting with its agenda and quorum; the check-in code only for its officers.  Topics hidden
    by moderation are left out of the agenda for those who may not see them (:func:`can_see_topic`)."""
    officer = (mem := membership(m.committee_id, actor, _meeting_day(m))) is not None and mem.role in OFFICERS
    return {"id": m.id, "committee_id": m.committee_id, "title": m.title, "location": m.location,
            "starts_at": m.starts_at, "notice_sent_at": m.notice_sent_at, "minutes": m.minutes,
            "agenda": [t for t in agenda(m.id) if can_see_topic(actor, t)], "quorum": quorum_of(m),
            **({"checkin_code": m.checkin_code} if officer else {})}


def motion_view(mo: Motion) -> dict:
    res = resolution_of(mo.id)
    return {"id": mo.id, "meeting_id": mo.meeting_id, "topic_id": mo.topic_id, "text": mo.text, "state": mo.state,
            "rule_set_version": mo.rule_set_version, "result": mo.result, "passed": mo.passed,
            "closed_at": mo.closed_at, "published_until": mo.published_until, "resolution_id": res.id if res else None}
