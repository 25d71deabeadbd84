"""Meetings (notice, agenda, check-in codes, attendance, quorum, minutes) and the motions voted at them, with their resolutions."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa

from civic.core import audit
from civic.core.calendar import legal_period_end, legal_period_over
from civic.core.db import as_utc, claim_row, edit, flush_or, insert_once, to_shanghai, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.text import require_text
from civic.extensions import db
from civic.proposals.deliberation.models import (
    VOTE_CHOICES,
    AgendaItem,
    Attendance,
    Meeting,
    Motion,
    MotionVote,
    Resolution,
    RuleSet,
    Topic,
)
from civic.proposals.deliberation.service.committees import (
    CHECKIN_EARLY,
    OFFICERS,
    TEXT_MAX,
    _require_officer,
    _today,
    current_members,
    current_rules,
    get_committee,
    membership,
)
from civic.proposals.deliberation.service.thresholds import Count, quorum, tally
from civic.proposals.deliberation.service.topics import (
    TOPIC_STATE_NAMES,
    TOPIC_TRANSITIONS,
    _claim,
    _tell_followers,
    _topic_changed,
    _transition,
    can_see_topic,
    get_topic,
    shown_topic,
)
from civic.proposals.notify import notify

# --- meetings ------------------------------------------------------------------------------------

def get_meeting(meeting_id: int) -> Meeting:
    m = db.session.get(Meeting, meeting_id)
    if m is None:
        raise NotFound("找不到该会议", code="meeting_not_found", details={"meeting_id": meeting_id})
    return m


def convene(actor, committee_id: int, data: dict, now: dt.datetime | None = None) -> Meeting:
    """Officers call a meeting: ``{"title", "starts_at": aware datetime, "location", "topic_ids"}``.
    The notice with the agenda goes to every current member now, at least ``notice_days`` before
    (RULES.md §4), counted as a period in days (Civil Code Arts. 201, 203, 204: the charter sets no
    other method): from the day after the notice, the meeting no earlier than 00:00 Asia/Shanghai of
    the day after the ``notice_days``-th day, or after the first working day following it when
    that day is off, so members get the full notice.  Proposed topics on the agenda move to
    ``on_agenda``.

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
    earliest = legal_period_over(now, rules.notice_days).due if rules.notice_days else now
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
    meeting's version: of two officers writing at once one wins, the other must reload.  The same
    minutes again change nothing and write nothing (civic.core.db.edit).

    :raises Forbidden: ``not_an_officer``.  :raises Conflict: ``meeting_changed``.
    """
    m = get_meeting(meeting_id)
    _require_officer(m.committee_id, actor, _meeting_day(m))
    if not edit(m, {"minutes": require_text(minutes, "minutes", 20000)}):
        return m
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
    :raises ValidationFailed: ``choice_invalid``.  :raises NotFound: ``motion_not_found`` (also a
        motion ``actor`` may not see, :func:`visible_motion`).

    Order (issue #15): permission (the motion seen, a member present at its meeting), then the
    choice and the motion's state: to anyone else a closed motion and an open one answer alike.
    """
    mo = visible_motion(actor, motion_id)
    m = get_meeting(mo.meeting_id)
    present = {a.user_id for a in attendance(m.id)}
    if membership(m.committee_id, actor, _meeting_day(m)) is None or actor.id not in present:
        raise Forbidden("仅限出席会议的成员表决", code="not_present")
    if choice not in VOTE_CHOICES:
        raise ValidationFailed("表决意见须为同意、反对或弃权", code="choice_invalid", details={"choice": choice})
    if mo.state != "open":
        raise Conflict("该动议已结束表决", code="motion_closed")
    # Claimed while open: a close that committed meanwhile refuses the vote; a close that comes
    # later waits for this transaction and counts the vote (close_motion counts after its claim).
    if not _claim(Motion, mo.id, Motion.state == "open"):
        raise Conflict("该动议已结束表决", code="motion_closed")
    v = insert_once(MotionVote(motion_id=mo.id, user_id=actor.id, choice=choice),
                    Conflict("您已对该动议表决", code="already_voted"))
    audit.record("motion.vote", "motion", mo.id, actor=actor)  # the choice stays in motion_vote only
    return v


def publication_end(closed_at: dt.datetime, publish_days: int, calendar=None) -> dt.datetime:
    """Until when a result closed at ``closed_at`` stays published: a publication period of
    ``publish_days`` days counted as the Civil Code counts periods in days (Arts. 201, 203): the
    end of the ``publish_days``-th day after the closing day, moved to the first working day after
    it when that day is off, so residents can read it for the whole period.  0: not published."""
    if not publish_days:
        return closed_at
    return legal_period_end(closed_at, publish_days, calendar).due


def close_motion(actor, motion_id: int, resolution_text: str | None = None, now: dt.datetime | None = None) -> Motion:
    """Close the vote: count under the motion's rule-set version (:func:`tally`), publish the result
    until ``publish_days`` later (:func:`publication_end`), and, if it passed, record the resolution and mark the topic
    decided.  Followers of the topic are told the result.

    The motion is claimed first (``open`` → ``closed`` under its version: of two closes one wins),
    and the votes are counted after the claim, so that none cast before is missed and none after
    is accepted (:func:`cast`).  ``result`` is :func:`tally`'s, with ``quorum``, ``threshold_met``
    (the votes met the majority) and, when the topic left ``on_agenda``/``discussed`` while the
    vote was open (e.g. another motion decided it), ``passed`` false and a ``note``: the motion is
    closed without a resolution rather than left open for good.

    :raises Conflict: ``motion_closed``, ``topic_changed``.  :raises Forbidden: ``not_an_officer``.
    :raises NotFound: ``motion_not_found`` (also a motion ``actor`` may not see).
    Order (issue #15): permission (the motion seen, an officer), then the motion's state.
    """
    now = now or utcnow()
    mo = visible_motion(actor, motion_id)
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
    mo.published_until = publication_end(now, rules.publish_days)
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


def motion_seen_by(actor, mo: Motion) -> bool:
    """Whether ``actor`` may see motion ``mo``: whoever may see its topic (:func:`can_see_topic`:
    everyone while the topic is shown; its author and the convening organisation's moderators once
    moderation hides it), since a motion restates its topic.  The one rule of the committee's
    results list (:func:`published_results`) and of ``GET /motions/{id}`` (:func:`visible_motion`)."""
    return can_see_topic(actor, get_topic(mo.topic_id))


def visible_motion(actor, motion_id: int) -> Motion:
    """``GET /motions/{id}``: the motion, for whoever may see it (:func:`motion_seen_by`); anyone
    else gets the answer of a motion that does not exist.

    :raises NotFound: ``motion_not_found``."""
    mo = get_motion(motion_id)
    if not motion_seen_by(actor, mo):
        raise NotFound("找不到该动议", code="motion_not_found", details={"motion_id": motion_id})
    return mo


def published_results(committee_id: int, now: dt.datetime | None = None, *, actor=None) -> list[Motion]:
    """Closed motions whose publication period (``published_until``) has not ended, oldest first;
    with ``actor``, only those ``actor`` may see (:func:`motion_seen_by`, as ``GET /motions/{id}``).

    :raises NotFound: ``committee_not_found``."""
    now = now or utcnow()
    committee_id = get_committee(committee_id).id
    rows = list(db.session.scalars(sa.select(Motion).join(Meeting, Meeting.id == Motion.meeting_id).where(
        Meeting.committee_id == committee_id, Motion.state == "closed", Motion.published_until > now)
        .order_by(Motion.id)))
    return rows if actor is None else [mo for mo in rows if motion_seen_by(actor, mo)]


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
