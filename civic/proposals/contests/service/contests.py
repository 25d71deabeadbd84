"""Contests: their schedule, places, participants, organisers and jurors; the look-up of a contest's ideas and who may see one."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.core import audit
from civic.core.db import as_utc, claim_row, edit, insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.proposals import moderation
from civic.proposals.contests.models import (
    Contest,
    ContestPhase,
    ContestPlace,
    Criterion,
    Idea,
    Juror,
)
from civic.proposals.contests.phases import PHASE_NAMES, PHASES, current_phase, require_action

ORGANISER_KINDS = ("residents_committee", "street_centre")
ORGANISER_ROLES = ("head", "handler")
TITLE_MAX = 50
TEXT_MAX = 2000
COMMENT_MAX = 500
PHOTOS_MAX = 9
SCORE_MAX = 10

# carrying out: status -> statuses it may move to (organiser or responsible organisation staff)
IMPLEMENTATION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "adopted": ("in_progress", "suspended"),
    "in_progress": ("completed", "suspended"),
    "suspended": ("in_progress",),
    "completed": (),
}
IMPLEMENTATION_NAMES = {"adopted": "已采纳", "in_progress": "实施中", "suspended": "暂停", "completed": "已完成"}

# Manipulation signals (shown to moderators, never acted on automatically): the defaults of each
# contest's own thresholds (Contest.signal_*).
SIGNAL_DEFAULTS = {"signal_shared_residents": 3, "signal_burst_supports": 5, "signal_burst_minutes": 60,
                   "signal_new_account_days": 7}


# --- contests ----------------------------------------------------------------------------------

def get_contest(contest_id: int) -> Contest:
    c = db.session.get(Contest, contest_id)
    if c is None:
        raise NotFound("找不到该金点子征集", code="contest_not_found", details={"contest_id": contest_id})
    return c


def schedule(contest: Contest) -> dict[str, tuple[dt.datetime, dt.datetime | None]]:
    rows = db.session.scalars(sa.select(ContestPhase).where(ContestPhase.contest_id == contest.id))
    return {r.phase: (as_utc(r.starts_at), as_utc(r.ends_at)) for r in rows}


def phase_of(contest: Contest, now: dt.datetime | None = None) -> str:
    return current_phase(schedule(contest), now)


def require_phase(contest: Contest, action: str) -> str:
    phase = phase_of(contest)
    require_action(phase, action)
    return phase


def place_ids(contest: Contest) -> list[int]:
    return list(db.session.scalars(sa.select(ContestPlace.place_id).where(ContestPlace.contest_id == contest.id)
                                   .order_by(ContestPlace.place_id)))


def participant_units(contest: Contest, user) -> list[int]:
    """Ids of the user's units that lie under one of the contest's places (empty: not a participant)."""
    if user.kind != "resident":
        return []
    paths = [registry.get_place(pid).path for pid in place_ids(contest)]
    return [unit.id for _link, unit in registry.units_of_resident(user.id)
            if any(unit.path.startswith(p) for p in paths)]


def require_participant(contest: Contest, user) -> list[int]:
    units = participant_units(contest, user)
    if not units:
        raise Forbidden("仅限本次征集范围内的居民参与", code="not_a_participant", details={"contest_id": contest.id})
    return units


def is_organiser(user, contest: Contest, roles=ORGANISER_ROLES) -> bool:
    if user.kind == "admin":
        return True
    return any(org.id == contest.organisation_id for _m, org in acting_memberships(user, roles=roles))


def require_organiser(user, contest: Contest) -> None:
    if not is_organiser(user, contest):
        raise Forbidden("仅限主办组织的工作人员操作", code="not_organiser",
                        details={"organisation_id": contest.organisation_id})


def _validate_schedule(phases: dict) -> dict[str, tuple[dt.datetime, dt.datetime | None]]:
    missing = [p for p in PHASES if p not in phases]
    if missing:
        raise ValidationFailed("须设置全部六个阶段的时间", code="phases_incomplete", details={"missing": missing})
    out, prev_end = {}, None
    for name in PHASES:
        start, end = phases[name]["starts_at"], phases[name].get("ends_at")
        if end is None and name != PHASES[-1]:
            raise ValidationFailed("除实施阶段外，每个阶段须有结束时间", code="phase_end_required",
                                   details={"phase": name})
        if end is not None and end <= start:
            raise ValidationFailed("阶段的结束时间须晚于开始时间", code="phase_dates_invalid", details={"phase": name})
        if prev_end is not None and start < prev_end:
            raise ValidationFailed("各阶段须依次排列、互不重叠", code="phases_overlap", details={"phase": name})
        out[name] = (start, end)
        prev_end = end
    return out


def _criteria(items: list[dict]) -> list[tuple[str, int]]:
    """``[(name, weight)]`` of the criteria given, names tidied; each name once (the jury scores by
    criterion, and the ranking shows them by name).

    :raises ValidationFailed: ``text_required``/``text_too_long`` (field ``criteria``);
        ``criteria_duplicate`` (details ``{"field": "criteria", "name", "index"}``).
    """
    out: list[tuple[str, int]] = []
    for i, c in enumerate(items):
        name = require_text(c["name"], "criteria", 40)
        if any(name == seen for seen, _w in out):
            raise ValidationFailed(f"评审标准名称重复：「{name}」", code="criteria_duplicate",
                                   details={"field": "criteria", "name": name, "index": i})
        out.append((name, c["weight"]))
    return out


def create_contest(actor, data: dict) -> Contest:
    """Open a contest.

    ``data``: ``organisation_id`` (a residents' committee or street centre the actor heads or handles
    for), ``theme``, ``description``?, ``categories`` [str], ``place_ids`` (registry places the
    organiser covers), ``phases`` ``{phase: {"starts_at", "ends_at"}}`` for all six phases in order,
    ``criteria`` ``[{"name", "weight"}]``, ``report_threshold`` (default 3), ``support_cap`` (None),
    ``support_weight``/``jury_weight`` (defaults 40/60); the thresholds of the manipulation signals
    (:func:`signals`): ``signal_shared_residents`` (3), ``signal_burst_supports`` (5),
    ``signal_burst_minutes`` (60), ``signal_new_account_days`` (7).

    :raises Forbidden: ``not_organiser``; ``out_of_scope`` (a place the organiser does not cover).
    :raises ValidationFailed: ``organiser_kind_invalid``, ``phases_*``, ``criteria_required``,
        ``criteria_duplicate`` (two criteria of one name: details ``{"field": "criteria", "name",
        "index"}``, the index of the second).
    """
    # Permission before input (issue #15): the actor's organisation first, then what it may organise.
    org = registry.get_organisation(data["organisation_id"])
    if actor.kind != "admin" and not any(
            o.id == org.id for _m, o in acting_memberships(actor, roles=ORGANISER_ROLES)):
        raise Forbidden("仅限主办组织的工作人员操作", code="not_organiser", details={"organisation_id": org.id})
    if org.kind not in ORGANISER_KINDS:
        raise ValidationFailed("主办方须为居委会或街镇中心", code="organiser_kind_invalid", details={"kind": org.kind})
    if not data["place_ids"]:
        raise ValidationFailed("须指定参与的地点", code="places_required")
    for pid in data["place_ids"]:
        registry.get_place(pid)
        if not registry.organisation_covers(org.id, pid):
            raise Forbidden("该地点不在主办组织的服务范围内", code="out_of_scope", details={"place_id": pid})
    phases = _validate_schedule(data["phases"])
    if not data.get("criteria"):
        raise ValidationFailed("须设置评审标准", code="criteria_required")
    criteria = _criteria(data["criteria"])
    if data.get("support_weight", 40) + data.get("jury_weight", 60) <= 0:
        raise ValidationFailed("支持与评审的权重不能同时为零", code="weights_invalid")
    contest = Contest(
        organisation_id=org.id, theme=require_text(data["theme"], "theme", 200),
        description=require_text(data["description"], "description", TEXT_MAX) if data.get("description") else None,
        categories=[require_text(c, "categories", 40) for c in data.get("categories") or []],
        report_threshold=data.get("report_threshold") or 3, support_cap=data.get("support_cap"),
        support_weight=data.get("support_weight", 40), jury_weight=data.get("jury_weight", 60),
        created_by_id=actor.id, **{k: data.get(k) or v for k, v in SIGNAL_DEFAULTS.items()},
    )
    db.session.add(contest)
    db.session.flush()
    for pid in sorted(set(data["place_ids"])):
        db.session.add(ContestPlace(contest_id=contest.id, place_id=pid))
    for name, (start, end) in phases.items():
        db.session.add(ContestPhase(contest_id=contest.id, phase=name, starts_at=start, ends_at=end))
    for i, (name, weight) in enumerate(criteria):
        db.session.add(Criterion(contest_id=contest.id, name=name, weight=weight, position=i))
    audit.record("contest.create", "contest", contest.id, actor=actor, data={"theme": contest.theme})
    db.session.flush()
    return contest


def _progress(sched: dict[str, tuple[dt.datetime, dt.datetime | None]], now: dt.datetime) -> tuple[int, bool]:
    """How far a schedule has gone at ``now``: ``(index of the last phase started, or -1 before the
    first; whether that phase has ended)``.  Tuples order as the contest moves on."""
    reached, ended = -1, False
    for i, name in enumerate(PHASES):
        start, end = sched[name]
        if now < as_utc(start):
            break
        reached, ended = i, end is not None and now >= as_utc(end)
    return reached, ended


def set_schedule(actor, contest_id: int, phases: dict) -> Contest:
    """Replace a contest's phase dates (e.g. to close submission early).  Organiser staff only.

    Once the review has begun (or the ranking is published), the new dates may not take the contest
    back: a phase that has started is not made to wait again, and one that has ended is not reopened
    (now must fall in the current phase or a later one).  From the review on, jurors judge a field
    of ideas with their support counts final, and the ranking is computed from them; reopening
    submission or support would change what was judged, or what the published ranking says, after
    residents were shown it.  Before the review an organiser may still correct the dates either way
    (e.g. reopen submission closed by mistake): nothing has been judged yet.

    A change of schedule and the publication of the ranking exclude each other: of two made at once
    the later is refused (``contest_changed``).  The same dates again change nothing and write
    nothing (civic.core.db.edit).

    :raises ValidationFailed: as for :func:`create_contest`.
    :raises Conflict: ``schedule_reopens_phase`` (details ``{"phase", "new_phase",
        "ranking_published"}``: the phase now and the one the new dates would give);
        ``contest_changed`` (changed by someone else meanwhile: reload and try again).
    """
    contest = get_contest(contest_id)
    require_organiser(actor, contest)
    new = _validate_schedule(phases)
    old = schedule(contest)
    now = utcnow()
    published = contest.ranking_published_at is not None
    before, after = _progress(old, now), _progress(new, now)
    if (published or before[0] >= PHASES.index("review")) and after < before:
        why = "排名已公布" if published else "评审已开始"
        raise Conflict(f"{why}，不能把日程改回之前的阶段（当前为「{PHASE_NAMES[current_phase(old, now)]}」阶段，"
                       f"新日程将变为「{PHASE_NAMES[current_phase(new, now)]}」阶段）",
                       code="schedule_reopens_phase",
                       details={"phase": current_phase(old, now), "new_phase": current_phase(new, now),
                                "ranking_published": published})
    changed = {}
    for row in db.session.scalars(sa.select(ContestPhase).where(ContestPhase.contest_id == contest.id)):
        starts_at, ends_at = new[row.phase]
        changed.update({f"{row.phase}.{k}": v for k, v in edit(row, {"starts_at": starts_at, "ends_at": ends_at}).items()})
    if not changed:
        return contest
    claim_row(contest, Conflict("该征集刚被他人修改（如已公布排名），请刷新后重试", code="contest_changed"))
    audit.record("contest.schedule", "contest", contest.id, actor=actor,
                 data={p: [old[p][0].isoformat(), old[p][1] and old[p][1].isoformat()] for p in old})
    db.session.flush()
    return contest


def criteria_of(contest: Contest) -> list[Criterion]:
    return list(db.session.scalars(sa.select(Criterion).where(Criterion.contest_id == contest.id)
                                   .order_by(Criterion.position, Criterion.id)))


def appoint_juror(actor, contest_id: int, user_id: int) -> Juror:
    """Appoint a juror (staff or resident) for one contest.  Organiser staff, before review starts.

    :raises Conflict: ``already_juror``; ``phase_forbids_action``.
    """
    from civic.accounts.models import User

    contest = get_contest(contest_id)
    require_organiser(actor, contest)
    require_phase(contest, "appoint_juror")
    user = db.session.get(User, user_id)
    if user is None or user.kind == "admin":
        raise NotFound("找不到该用户", code="user_not_found", details={"user_id": user_id})
    if db.session.scalar(sa.select(Juror.id).where(Juror.contest_id == contest.id, Juror.user_id == user_id)):
        raise Conflict("该用户已是评委", code="already_juror")
    j = insert_once(Juror(contest_id=contest.id, user_id=user_id, appointed_by_id=actor.id),
                    Conflict("该用户已是评委", code="already_juror"))
    audit.record("contest.appoint_juror", "contest", contest.id, actor=actor, data={"user_id": user_id})
    db.session.flush()
    return j


def is_juror(contest: Contest, user) -> bool:
    return bool(db.session.scalar(sa.select(Juror.id).where(Juror.contest_id == contest.id,
                                                            Juror.user_id == user.id)))


# --- ideas -------------------------------------------------------------------------------------

def get_idea(idea_id: int) -> Idea:
    idea = db.session.get(Idea, idea_id)
    if idea is None:
        raise NotFound("找不到该金点子", code="idea_not_found", details={"idea_id": idea_id})
    return idea


def can_see(user, idea: Idea, contest: Contest | None = None) -> bool:
    if idea.state == "approved" or user.id == idea.author_id:
        return True
    return moderation.is_moderator(user, (contest or get_contest(idea.contest_id)).organisation_id)


def visible_idea(user, idea_id: int) -> Idea:
    """An idea the user may see (approved, their own, or as moderator); else ``idea_not_found``."""
    idea = get_idea(idea_id)
    if not can_see(user, idea):
        raise NotFound("找不到该金点子", code="idea_not_found", details={"idea_id": idea_id})
    return idea


def idea_versions(user, idea_id: int) -> list:
    """``GET /ideas/{id}/versions``: the versions of an idea ``user`` may see (:func:`visible_idea`),
    as :func:`civic.proposals.moderation.shown_versions` allows: every version for the author and
    the organiser's moderators; for anyone else those from the latest moderator's edit on (what a
    moderator took out of an idea is not read back from its history).

    Each as :func:`civic.proposals.moderation.version_views` shows it: the photos of a version as links
    for ``user`` with ``blur_status`` (no URL while the blurred rendition is pending), never the stored keys.

    :raises NotFound: ``idea_not_found``."""
    idea = visible_idea(user, idea_id)
    return moderation.version_views(user, "idea", idea.id, moderation.shown_versions(user, "idea", idea.id))


def contest_view(contest: Contest) -> dict:
    """A contest with its places, schedule, current phase and what that phase allows."""
    from civic.proposals.contests.phases import PHASE_ACTIONS

    sched = schedule(contest)
    phase = current_phase(sched)
    return {
        "id": contest.id, "organisation_id": contest.organisation_id, "theme": contest.theme,
        "description": contest.description, "categories": contest.categories, "place_ids": place_ids(contest),
        "phase": phase, "allowed_actions": sorted(PHASE_ACTIONS[phase]),
        "phases": {p: {"starts_at": s.isoformat(), "ends_at": e.isoformat() if e else None}
                   for p, (s, e) in sched.items()},
        "criteria": criteria_of(contest), "report_threshold": contest.report_threshold,
        "support_cap": contest.support_cap, "support_weight": contest.support_weight,
        "jury_weight": contest.jury_weight, "ranking_published_at": contest.ranking_published_at,
        **{k: getattr(contest, k) for k in SIGNAL_DEFAULTS},
    }
