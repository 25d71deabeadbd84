"""The verbs of 金点子 idea contests.  Plain functions taking validated data and the acting user: they
check permission and the phase (:mod:`civic.proposals.phases`), change the session, flush, write the
audit log.  Lists live in :mod:`civic.proposals.queries`.

Who is who:

* the **organiser** is a residents' committee or a street centre; its staff (head/handler) configure
  the contest, publish the ranking and adopt ideas; its head/moderator staff moderate;
* a **participant** is a resident with a unit (:func:`civic.property.service.units_of_resident`) under
  one of the contest's places; only participants submit, support and report;
* **jurors** are appointed per contest (staff or residents).

State changes are exclusive under concurrency, on SQLite as on PostgreSQL: contests (schedule,
ranking publication), implementations (status) and milestones (progress) carry an optimistic-lock
``version`` (moderation: :mod:`civic.proposals.moderation`); adoption and juror appointment rest on
unique keys.  Of two requests acting at once one wins, the other gets a 409 with the domain's code.
Supports stay SQL-side counters and never collide.

Anchors: Decidim's proposals/evaluation/accountability components and CONSUL's participatory budgets.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app

from civic.accounts.memberships import acting_memberships
from civic.core import audit
from civic.core.db import as_utc, claim_row, flush_or, insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.photos import process_photos
from civic.core.storage import MediaStore
from civic.core.text import require_text, search_tokens
from civic.extensions import db
from civic.property import service as registry
from civic.proposals import moderation, ranking
from civic.proposals.models import (
    Comment,
    Contest,
    ContestPhase,
    ContestPhoto,
    ContestPlace,
    Criterion,
    Idea,
    Implementation,
    Juror,
    Milestone,
    MilestoneUpdate,
    PhotoUpload,
    RankingEntry,
    Score,
    Support,
    SupportEvent,
    SupportQuota,
)
from civic.proposals.notify import notify
from civic.proposals.phases import PHASE_NAMES, PHASES, current_phase, require_action

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
    org = registry.get_organisation(data["organisation_id"])
    if org.kind not in ORGANISER_KINDS:
        raise ValidationFailed("主办方须为居委会或街镇中心", code="organiser_kind_invalid", details={"kind": org.kind})
    if actor.kind != "admin" and not any(
            o.id == org.id for _m, o in acting_memberships(actor, roles=ORGANISER_ROLES)):
        raise Forbidden("仅限主办组织的工作人员操作", code="not_organiser", details={"organisation_id": org.id})
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
    the later is refused (``contest_changed``).

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
    for row in db.session.scalars(sa.select(ContestPhase).where(ContestPhase.contest_id == contest.id)):
        row.starts_at, row.ends_at = new[row.phase]
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


# --- photos ------------------------------------------------------------------------------------

def upload_photos(actor, files: list[tuple[str, bytes]]) -> list[PhotoUpload]:
    """Process and store up to 9 photos (the civic photo pipeline); they wait to be claimed by an idea
    or a progress update of the same user.

    :raises ValidationFailed: ``photos_required``, ``too_many_photos``; the pipeline's photo errors.
    """
    if not files:
        raise ValidationFailed("请上传照片", code="photos_required")
    if len(files) > PHOTOS_MAX:
        raise ValidationFailed(f"最多 {PHOTOS_MAX} 张照片", code="too_many_photos", details={"max": PHOTOS_MAX})
    stored = process_photos(files, store=MediaStore(current_app.config["MEDIA_DIR"]))
    rows = [PhotoUpload(uploader_id=actor.id, display_key=s.display_key, thumb_key=s.thumb_key,
                        width=s.width, height=s.height) for s in stored]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _claim_photos(actor, keys: list[str], already: list[dict] = ()) -> list[dict]:
    """Photos for an idea or an update, in the order given: each entry of ``keys`` is the display
    key of the actor's upload, or (to keep one already attached) its display key or token.  A new
    photo gets an unguessable ``token`` (its URL, see :func:`photo_for`); the owner's photos JSON is
    ``[{"display_key", "thumb_key", "width", "height", "token"}]``.

    :raises ValidationFailed: ``too_many_photos``, ``photo_unknown``.
    """
    if len(keys) > PHOTOS_MAX:
        raise ValidationFailed(f"最多 {PHOTOS_MAX} 张照片", code="too_many_photos", details={"max": PHOTOS_MAX})
    known = {p["display_key"]: p for p in already}
    known.update({p["token"]: p for p in already if p.get("token")})
    out = []
    for key in keys:
        if key in known:
            out.append(known[key])
            continue
        up = db.session.scalar(sa.select(PhotoUpload).where(PhotoUpload.uploader_id == actor.id,
                                                            PhotoUpload.display_key == key).limit(1))
        if up is None:
            raise ValidationFailed("照片须先上传", code="photo_unknown", details={"key": key})
        out.append({"display_key": up.display_key, "thumb_key": up.thumb_key, "width": up.width,
                    "height": up.height, "token": secrets.token_urlsafe(32)})
    return out


def _index_photos(photos: list[dict], *, idea_id: int | None = None, milestone_update_id: int | None = None) -> None:
    """One :class:`ContestPhoto` row per token not yet indexed (the serving endpoint looks tokens up)."""
    tokens = [p["token"] for p in photos if p.get("token")]
    if not tokens:
        return
    have = set(db.session.scalars(sa.select(ContestPhoto.access_token).where(ContestPhoto.access_token.in_(tokens))))
    for p in photos:
        if p.get("token") and p["token"] not in have:
            db.session.add(ContestPhoto(access_token=p["token"], idea_id=idea_id,
                                        milestone_update_id=milestone_update_id,
                                        display_key=p["display_key"], thumb_key=p["thumb_key"]))
    db.session.flush()


def photo_for(actor, token: str) -> ContestPhoto:
    """A photo of an idea or of a progress update, for ``GET /api/v1/contest-photos/<token>``.

    * Attached to the current version of an approved idea (or to an update of one): staff,
      administrators, the author, and residents of the contest's places.
    * Otherwise (pending, hidden or rejected idea; a photo a later edit removed): only the idea's
      author and the contest organiser's moderators.

    :raises NotFound: ``photo_not_found`` (also when the actor may not see it: no hint it exists).
    """
    row = db.session.scalar(sa.select(ContestPhoto).where(ContestPhoto.access_token == token)) if token else None
    if row is not None:
        if row.idea_id is not None:
            idea = get_idea(row.idea_id)
            attached = idea.photos
        else:
            update = db.session.get(MilestoneUpdate, row.milestone_update_id)
            impl = db.session.get(Implementation, db.session.get(Milestone, update.milestone_id).implementation_id)
            idea = get_idea(impl.idea_id)
            attached = update.photos
        contest = get_contest(idea.contest_id)
        public = idea.state == "approved" and any(p.get("token") == token for p in attached)
        if actor.id == idea.author_id or (public and (actor.kind in ("staff", "admin")
                                                      or participant_units(contest, actor))):
            return row
        if moderation.is_moderator(actor, contest.organisation_id):
            return row
    raise NotFound("找不到该照片", code="photo_not_found")


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


def _idea_content(contest: Contest, data: dict) -> dict:
    category = require_text(data.get("category"), "category", 40)
    if contest.categories and category not in contest.categories:
        raise ValidationFailed("类别不在本次征集的类别中", code="category_invalid",
                               details={"category": category, "allowed": contest.categories})
    return {"title": require_text(data.get("title"), "title", TITLE_MAX),
            "text": require_text(data.get("text"), "text", TEXT_MAX), "category": category}


def _apply(idea: Idea, content: dict) -> dict:
    idea.title, idea.text, idea.category = content["title"], content["text"], content["category"]
    idea.photos = content["photos"]
    idea.search_tokens = f" {search_tokens(idea.title + ' ' + idea.text)} "
    return {"title": idea.title, "text": idea.text, "category": idea.category, "photos": idea.photos}


def submit_idea(actor, contest_id: int, data: dict) -> Idea:
    """A participant submits an idea during submission.  It waits in the residents' committee's queue
    (state ``pending``) until approved.

    ``data``: ``title`` (≤50), ``text`` (Chinese, ≤2,000 characters after tidying), ``category``,
    ``photos`` (≤9 keys from :func:`upload_photos`).
    :raises Forbidden: ``not_a_participant``.  :raises Conflict: ``phase_forbids_action``.
    :raises ValidationFailed: ``text_required``, ``text_too_long``, ``category_invalid``, ``photo_unknown``.
    """
    contest = get_contest(contest_id)
    require_phase(contest, "submit")
    require_participant(contest, actor)
    content = _idea_content(contest, data)
    content["photos"] = _claim_photos(actor, data.get("photos") or [])
    idea = Idea(contest_id=contest.id, author_id=actor.id, state="pending", version=1, support_count=0)
    _apply(idea, content)
    db.session.add(idea)
    db.session.flush()
    _index_photos(idea.photos, idea_id=idea.id)
    moderation.start(IDEA_KIND, idea, state="pending", author=actor)
    audit.record("idea.submit", "idea", idea.id, actor=actor, data={"contest_id": contest.id})
    db.session.flush()
    return idea


def edit_idea(actor, idea_id: int, data: dict) -> Idea:
    """The author edits their idea, during submission only; the previous version is kept.

    :raises Forbidden: ``not_author``.  :raises Conflict: ``phase_forbids_action``; ``idea_closed``
        (rejected ideas are not edited); ``moderation_changed`` (moderated or edited meanwhile).
    """
    idea = get_idea(idea_id)
    if idea.author_id != actor.id:
        raise Forbidden("只有作者可以修改", code="not_author")
    contest = get_contest(idea.contest_id)
    require_phase(contest, "edit")
    if idea.state == "rejected":
        raise Conflict("该金点子未被采用，不能修改", code="idea_closed")
    merged = {"title": idea.title, "text": idea.text, "category": idea.category, **data}
    content = _idea_content(contest, merged)
    keys = data["photos"] if data.get("photos") is not None else [p["display_key"] for p in idea.photos]
    content["photos"] = _claim_photos(actor, keys, idea.photos)
    moderation.note_change("idea", idea.id)  # an edit and a moderator's decision at once: one is a 409
    stored = _apply(idea, content)
    _index_photos(idea.photos, idea_id=idea.id)
    idea.version += 1
    moderation.add_version("idea", idea.id, stored, editor=actor, edit_kind="author")
    audit.record("idea.edit", "idea", idea.id, actor=actor, data={"version": idea.version})
    db.session.flush()
    return idea


class IdeaKind:
    item_type = "idea"
    label = "金点子"

    def load(self, item_id):
        return get_idea(item_id)

    def author_id(self, obj):
        return obj.author_id

    def organisation_id(self, obj):
        return get_contest(obj.contest_id).organisation_id

    def report_threshold(self, obj):
        return get_contest(obj.contest_id).report_threshold

    def set_state(self, obj, state):
        obj.state = state

    def content(self, obj):
        return {"title": obj.title, "text": obj.text, "category": obj.category, "photos": obj.photos}

    def apply_edit(self, obj, content):
        contest = get_contest(obj.contest_id)
        merged = {**self.content(obj), **content}
        checked = _idea_content(contest, merged)
        keep = set(content.get("photos", [p["display_key"] for p in obj.photos]))
        checked["photos"] = [p for p in obj.photos if p["display_key"] in keep or p.get("token") in keep]
        obj.version += 1
        return _apply(obj, checked)

    def check(self, obj, action):
        require_phase(get_contest(obj.contest_id), action)

    def require_reporter(self, obj, user):
        require_participant(get_contest(obj.contest_id), user)


class CommentKind(moderation.CommentLike):
    item_type = "comment"
    label = "评论"
    model = Comment
    body_max = COMMENT_MAX

    def organisation_id(self, obj):
        return get_contest(get_idea(obj.idea_id).contest_id).organisation_id

    def report_threshold(self, obj):
        return get_contest(get_idea(obj.idea_id).contest_id).report_threshold

    def check(self, obj, action):
        require_phase(get_contest(get_idea(obj.idea_id).contest_id), action)

    def require_reporter(self, obj, user):
        require_participant(get_contest(get_idea(obj.idea_id).contest_id), user)


IDEA_KIND = IdeaKind()
COMMENT_KIND = CommentKind()
moderation.register(IDEA_KIND)
moderation.register(COMMENT_KIND)


def add_comment(actor, idea_id: int, body: str) -> Comment:
    """A participant, organiser staff or juror comments on an approved idea (shown at once; reports and
    moderators may hide it).

    :raises Forbidden: ``not_a_participant``.  :raises Conflict: ``idea_not_open``.
    """
    idea = visible_idea(actor, idea_id)
    contest = get_contest(idea.contest_id)
    require_phase(contest, "comment")
    if idea.state != "approved":
        raise Conflict("该金点子当前未公开", code="idea_not_open", details={"state": idea.state})
    if not (participant_units(contest, actor) or moderation.is_moderator(actor, contest.organisation_id)
            or is_organiser(actor, contest) or is_juror(contest, actor)):
        raise Forbidden("仅限本次征集范围内的居民参与", code="not_a_participant")
    c = Comment(idea_id=idea.id, author_id=actor.id, body=require_text(body, "body", COMMENT_MAX))
    db.session.add(c)
    db.session.flush()
    moderation.start(COMMENT_KIND, c, state="approved", author=actor)
    audit.record("comment.create", "comment", c.id, actor=actor, data={"idea_id": idea.id})
    db.session.flush()
    return c


def report(actor, item_type: str, item_id: int, reason: str):
    """A participant reports an item of any moderated kind (see :func:`civic.proposals.moderation.report`);
    the kind's ``require_reporter(obj, user)`` says who may (contests: participants)."""
    kind = moderation.kind_of(item_type)
    kind.require_reporter(kind.load(item_id), actor)
    return moderation.report(actor, item_type, item_id, reason)


# --- support -----------------------------------------------------------------------------------

def _insert(model):
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def _bump(idea_id: int, delta: int) -> int:
    # One UPDATE: the row lock serialises concurrent clicks, so the counter stays exact.
    return db.session.execute(
        sa.update(Idea).where(Idea.id == idea_id)
        .values(support_count=Idea.support_count + delta, updated_at=Idea.updated_at)
        .returning(Idea.support_count)
    ).scalar_one()


def _evidence(idea: Idea, actor, action: str, ip: str | None, device_id: str | None) -> None:
    db.session.add(SupportEvent(idea_id=idea.id, contest_id=idea.contest_id, resident_id=actor.id, action=action,
                                ip=ip, device_id=(device_id or None) and device_id[:100],
                                account_created_at=getattr(actor, "created_at", None)))


def support(actor, idea_id: int, *, ip: str | None = None, device_id: str | None = None) -> dict:
    """A participant supports an idea: once per resident per idea (a second click changes nothing),
    during the support phase, within the contest's cap.  Records the client's IP and device id.

    :returns: ``{"idea_id", "supported": True, "support_count", "changed"}``.
    :raises Forbidden: ``not_a_participant``.
    :raises Conflict: ``phase_forbids_action``; ``idea_not_open``; ``support_cap_reached``
        (details ``{"cap"}``).
    """
    idea = get_idea(idea_id)
    contest = get_contest(idea.contest_id)
    require_phase(contest, "support")
    if idea.state != "approved":
        raise Conflict("该金点子当前未公开", code="idea_not_open", details={"state": idea.state})
    require_participant(contest, actor)
    now = utcnow()
    # RETURNING, not rowcount: psycopg reports no reliable rowcount for INSERT ... ON CONFLICT DO NOTHING.
    changed = db.session.execute(
        _insert(Support).values(idea_id=idea.id, contest_id=contest.id, resident_id=actor.id, active=True,
                                created_at=now).on_conflict_do_nothing(index_elements=["idea_id", "resident_id"])
        .returning(Support.id)
    ).scalar_one_or_none() is not None
    if not changed:
        changed = db.session.execute(
            sa.update(Support).where(Support.idea_id == idea.id, Support.resident_id == actor.id,
                                     Support.active.is_(False)).values(active=True, withdrawn_at=None)
        ).rowcount == 1
    if not changed:
        return {"idea_id": idea.id, "supported": True, "changed": False,
                "support_count": db.session.scalar(sa.select(Idea.support_count).where(Idea.id == idea.id))}
    if contest.support_cap is not None:
        db.session.execute(_insert(SupportQuota).values(contest_id=contest.id, resident_id=actor.id, active_count=0)
                           .on_conflict_do_nothing(index_elements=["contest_id", "resident_id"]))
        ok = db.session.execute(
            sa.update(SupportQuota).where(SupportQuota.contest_id == contest.id, SupportQuota.resident_id == actor.id,
                                          SupportQuota.active_count < contest.support_cap)
            .values(active_count=SupportQuota.active_count + 1)
        ).rowcount
        if not ok:
            raise Conflict(f"本次征集每人最多支持 {contest.support_cap} 个金点子", code="support_cap_reached",
                           details={"cap": contest.support_cap})
    count = _bump(idea.id, +1)
    _evidence(idea, actor, "support", ip, device_id)
    return {"idea_id": idea.id, "supported": True, "changed": True, "support_count": count}


def withdraw_support(actor, idea_id: int, *, ip: str | None = None, device_id: str | None = None) -> dict:
    """Withdraw one's support while the support phase lasts.  Soft: the row stays, marked withdrawn.

    :returns: ``{"idea_id", "supported": False, "support_count", "changed"}``.
    """
    idea = get_idea(idea_id)
    contest = get_contest(idea.contest_id)
    require_phase(contest, "withdraw_support")
    changed = db.session.execute(
        sa.update(Support).where(Support.idea_id == idea.id, Support.resident_id == actor.id,
                                 Support.active.is_(True)).values(active=False, withdrawn_at=utcnow())
    ).rowcount == 1
    if not changed:
        return {"idea_id": idea.id, "supported": False, "changed": False,
                "support_count": db.session.scalar(sa.select(Idea.support_count).where(Idea.id == idea.id))}
    if contest.support_cap is not None:
        db.session.execute(sa.update(SupportQuota).where(
            SupportQuota.contest_id == contest.id, SupportQuota.resident_id == actor.id, SupportQuota.active_count > 0
        ).values(active_count=SupportQuota.active_count - 1))
    count = _bump(idea.id, -1)
    _evidence(idea, actor, "withdraw", ip, device_id)
    return {"idea_id": idea.id, "supported": False, "changed": True, "support_count": count}


def signals(actor, contest_id: int) -> list[dict]:
    """Signs of manipulated support, for moderators: the evidence, never a verdict.

    * ``shared_device``: one device id used by ≥ ``signal_shared_residents`` (default 3) different
      residents to support;
    * ``shared_network``: one IP address used by ≥ ``signal_shared_residents`` different residents;
    * ``new_account_burst``: ≥ ``signal_burst_supports`` (5) supports of one idea within
      ``signal_burst_minutes`` (60) from accounts under ``signal_new_account_days`` (7) days old.

    The thresholds are the contest's own settings.

    :returns: ``[{"kind", "key", "residents", "idea_ids", "events", "first_at", "last_at"}]``.
    :raises Forbidden: ``not_a_moderator``.
    """
    contest = get_contest(contest_id)
    if not moderation.is_moderator(actor, contest.organisation_id):
        raise Forbidden("仅限审核人员查看", code="not_a_moderator")
    events = list(db.session.scalars(sa.select(SupportEvent).where(
        SupportEvent.contest_id == contest.id, SupportEvent.action == "support").order_by(SupportEvent.id)))
    out = []
    for kind, attr in (("shared_device", "device_id"), ("shared_network", "ip")):
        groups = defaultdict(list)
        for e in events:
            if getattr(e, attr):
                groups[getattr(e, attr)].append(e)
        for key, evs in sorted(groups.items()):
            residents = {e.resident_id for e in evs}
            if len(residents) >= contest.signal_shared_residents:
                out.append(_signal(kind, key, evs))
    by_idea = defaultdict(list)
    window = dt.timedelta(minutes=contest.signal_burst_minutes)
    for e in events:
        created = as_utc(e.account_created_at)
        if created is not None and as_utc(e.at) - created < dt.timedelta(days=contest.signal_new_account_days):
            by_idea[e.idea_id].append(e)
    for idea_id, evs in sorted(by_idea.items()):
        start = 0
        for end in range(len(evs)):
            while as_utc(evs[end].at) - as_utc(evs[start].at) > window:
                start += 1
            if end - start + 1 >= contest.signal_burst_supports:
                out.append(_signal("new_account_burst", str(idea_id), evs[start:end + 1]))
                break
    return out


def _signal(kind, key, evs):
    return {"kind": kind, "key": key, "residents": len({e.resident_id for e in evs}),
            "idea_ids": sorted({e.idea_id for e in evs}), "events": len(evs),
            "first_at": evs[0].at, "last_at": evs[-1].at}


# --- jury --------------------------------------------------------------------------------------

def score_idea(actor, idea_id: int, scores: dict[int, int]) -> list[Score]:
    """A juror scores every criterion of an approved idea, 0-10; scoring again replaces their scores.

    :raises Forbidden: ``not_a_juror``; ``juror_conflict`` (the juror lives in a unit of the author's:
        same household).
    :raises Conflict: ``phase_forbids_action``; ``idea_not_open``.
    :raises ValidationFailed: ``scores_incomplete`` (every criterion, nothing else), ``score_out_of_range``.
    """
    idea = get_idea(idea_id)
    contest = get_contest(idea.contest_id)
    require_phase(contest, "score")
    if not is_juror(contest, actor):
        raise Forbidden("您不是本次征集的评委", code="not_a_juror")
    if idea.state != "approved":
        raise Conflict("该金点子当前未公开", code="idea_not_open", details={"state": idea.state})
    mine = {u.id for _l, u in registry.units_of_resident(actor.id)}
    theirs = {u.id for _l, u in registry.units_of_resident(idea.author_id)}
    if actor.id == idea.author_id or mine & theirs:
        audit.record("idea.juror_conflict", "idea", idea.id, actor=actor)
        raise Forbidden("评委不能为本户居民的金点子评分（利益冲突）", code="juror_conflict",
                        details={"idea_id": idea.id, "unit_ids": sorted(mine & theirs)})
    criteria = {c.id: c for c in criteria_of(contest)}
    if set(scores) != set(criteria):
        raise ValidationFailed("须为每一项评审标准打分", code="scores_incomplete",
                               details={"criteria": sorted(criteria), "given": sorted(scores)})
    for cid, v in scores.items():
        if not 0 <= v <= SCORE_MAX:
            raise ValidationFailed("分数须在 0 到 10 之间", code="score_out_of_range", details={"criterion_id": cid})
    existing = {s.criterion_id: s for s in db.session.scalars(sa.select(Score).where(
        Score.idea_id == idea.id, Score.juror_id == actor.id))}
    out = []
    for cid, v in sorted(scores.items()):
        s = existing.get(cid) or Score(idea_id=idea.id, juror_id=actor.id, criterion_id=cid, value=v)
        s.value = v
        db.session.add(s)
        out.append(s)
    audit.record("idea.score", "idea", idea.id, actor=actor, data={str(k): v for k, v in sorted(scores.items())})
    db.session.flush()
    return out


def compute_ranking(contest: Contest) -> list[ranking.Ranked]:
    """The ranking of the contest's approved ideas now (see :mod:`civic.proposals.ranking`)."""
    ideas = list(db.session.scalars(sa.select(Idea).where(Idea.contest_id == contest.id, Idea.state == "approved")))
    scores: dict[int, dict[int, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    if ideas:
        for s in db.session.scalars(sa.select(Score).where(Score.idea_id.in_([i.id for i in ideas]))):
            scores[s.idea_id][s.juror_id][s.criterion_id] = s.value
    facts = [ranking.IdeaFacts(i.id, i.support_count, as_utc(i.created_at), scores[i.id]) for i in ideas]
    weights = {c.id: c.weight for c in criteria_of(contest)}
    return ranking.rank(facts, weights, support_weight=contest.support_weight, jury_weight=contest.jury_weight)


def publish_ranking(actor, contest_id: int) -> list[RankingEntry]:
    """Freeze and publish the ranking, with each idea's breakdown, in the results phase.  Authors are told.
    Once published, the schedule cannot take the contest back to an earlier phase (:func:`set_schedule`).

    :raises Conflict: ``ranking_already_published`` (also when published, or the contest changed, by
        another request meanwhile); ``phase_forbids_action``.
    """
    contest = get_contest(contest_id)
    require_organiser(actor, contest)
    require_phase(contest, "publish_ranking")
    if contest.ranking_published_at is not None:
        raise Conflict("排名已公布", code="ranking_already_published")
    # Claim the publication first: of two requests publishing at once (or one changing the schedule
    # meanwhile) the later finds the contest's version moved on.
    contest.ranking_published_at = utcnow()
    flush_or(Conflict("排名已公布（或征集刚被他人修改），请刷新后查看", code="ranking_already_published"))
    rows = []
    for r in compute_ranking(contest):
        rows.append(RankingEntry(
            contest_id=contest.id, idea_id=r.idea_id, rank=r.rank, support_count=r.support_count,
            support_score=ranking.as_decimal(r.support_score), jury_mean=ranking.as_decimal(r.jury_mean),
            jury_score=ranking.as_decimal(r.jury_score), final_score=ranking.as_decimal(r.final_score),
            jurors=r.jurors))
    db.session.add_all(rows)
    audit.record("contest.publish_ranking", "contest", contest.id, actor=actor,
                 data={"ranking": [[r.rank, r.idea_id, str(r.final_score)] for r in rows]})
    db.session.flush()
    for r in rows:
        idea = get_idea(r.idea_id)
        notify([idea.author_id], kind="ranking_published", subject_type="idea", subject_id=idea.id,
               title=f"「{contest.theme}」结果公布", body=f"您的金点子「{idea.title}」排名第 {r.rank}。")
    return rows


def published_ranking(actor, contest_id: int, *, preview: bool = False) -> list[dict]:
    """The published ranking (everyone), or for organiser staff with ``preview`` the ranking as it
    stands.  Each row: rank, idea id and title, supports, support/jury/final scores (6 decimals).

    :raises Conflict: ``ranking_not_published``.
    """
    contest = get_contest(contest_id)
    if contest.ranking_published_at is None:
        if not (preview and is_organiser(actor, contest)):
            raise Conflict("排名尚未公布", code="ranking_not_published")
        return [{"rank": r.rank, "idea_id": r.idea_id, "title": get_idea(r.idea_id).title,
                 "support_count": r.support_count, "support_score": ranking.as_decimal(r.support_score),
                 "jury_mean": ranking.as_decimal(r.jury_mean), "jury_score": ranking.as_decimal(r.jury_score),
                 "final_score": ranking.as_decimal(r.final_score), "jurors": r.jurors}
                for r in compute_ranking(contest)]
    rows = db.session.execute(sa.select(RankingEntry, Idea.title).join(Idea, Idea.id == RankingEntry.idea_id)
                              .where(RankingEntry.contest_id == contest.id).order_by(RankingEntry.rank)).all()
    return [{"rank": e.rank, "idea_id": e.idea_id, "title": title, "support_count": e.support_count,
             "support_score": e.support_score, "jury_mean": e.jury_mean, "jury_score": e.jury_score,
             "final_score": e.final_score, "jurors": e.jurors} for e, title in rows]


# --- carrying out ------------------------------------------------------------------------------

def _supporters(idea_id: int) -> list[int]:
    return list(db.session.scalars(sa.select(Support.resident_id).where(Support.idea_id == idea_id,
                                                                        Support.active.is_(True))))


def _tell_people(idea: Idea, kind: str, title: str, body: str) -> None:
    notify([idea.author_id, *_supporters(idea.id)], kind=kind, subject_type="idea", subject_id=idea.id,
           title=title, body=body)


def get_implementation(idea_id: int) -> Implementation:
    impl = db.session.scalar(sa.select(Implementation).where(Implementation.idea_id == idea_id))
    if impl is None:
        raise NotFound("该金点子尚未被采纳", code="implementation_not_found", details={"idea_id": idea_id})
    return impl


def _adopted_already(idea_id: int) -> bool:
    return db.session.scalar(sa.select(Implementation.id).where(Implementation.idea_id == idea_id)) is not None


def idea_place_ids(idea: Idea, contest: Contest | None = None) -> list[int]:
    """The places an idea is about: its author's units within the contest's places (an idea is
    about the author's own compound), or, when the author no longer lives there, the contest's places."""
    contest = contest or get_contest(idea.contest_id)
    from civic.accounts.models import User

    units = participant_units(contest, db.session.get(User, idea.author_id))
    return units or place_ids(contest)


def adopt(actor, idea_id: int, organisation_id: int, note: str | None = None) -> Implementation:
    """Adopt a ranked idea and name the organisation responsible for carrying it out.  The author and
    supporters are notified.

    The organisation must cover the idea's place (:func:`idea_place_ids`; registry coverage, see
    :func:`civic.property.service.organisation_covers`): a property company can carry out work only
    in the compounds it manages.

    :raises Conflict: ``ranking_not_published``; ``idea_not_ranked``; ``already_adopted`` (also when
        adopted by another request meanwhile).
    :raises ValidationFailed: ``organisation_out_of_scope`` (details ``{"organisation_id", "place_ids"}``).
    """
    idea = get_idea(idea_id)
    contest = get_contest(idea.contest_id)
    require_organiser(actor, contest)
    require_phase(contest, "adopt")
    if contest.ranking_published_at is None:
        raise Conflict("排名尚未公布", code="ranking_not_published")
    if not db.session.scalar(sa.select(RankingEntry.id).where(RankingEntry.idea_id == idea.id)):
        raise Conflict("该金点子不在公布的排名中", code="idea_not_ranked")
    if _adopted_already(idea.id):
        raise Conflict("该金点子已被采纳", code="already_adopted")
    org = registry.get_organisation(organisation_id)
    places = idea_place_ids(idea, contest)
    if not any(registry.organisation_covers(org.id, pid) for pid in places):
        raise ValidationFailed(f"「{org.name}」的服务范围不包括该金点子所在地点，不能由其负责实施",
                               code="organisation_out_of_scope",
                               details={"organisation_id": org.id, "place_ids": places})
    # The unique key on idea_id settles two adoptions made at once.
    impl = insert_once(Implementation(idea_id=idea.id, organisation_id=org.id, status="adopted",
                                      adopted_by_id=actor.id,
                                      note=require_text(note, "note", TEXT_MAX) if note else None),
                       Conflict("该金点子已被采纳", code="already_adopted"))
    audit.record("idea.adopt", "idea", idea.id, actor=actor, data={"organisation_id": org.id})
    _tell_people(idea, "idea_adopted", f"金点子「{idea.title}」已被采纳",
                 f"由{org.name}负责实施。")
    return impl


def _require_implementer(actor, contest: Contest, impl: Implementation) -> None:
    if is_organiser(actor, contest):
        return
    if any(o.id == impl.organisation_id for _m, o in acting_memberships(actor, roles=ORGANISER_ROLES)):
        return
    raise Forbidden("仅限主办或负责实施的组织操作", code="not_implementer")


def set_implementation_status(actor, idea_id: int, status: str, note: str | None = None) -> Implementation:
    """Move the carrying out along :data:`IMPLEMENTATION_TRANSITIONS`; author and supporters are told.

    :raises Conflict: ``implementation_transition_invalid``; ``implementation_changed`` (another
        status change was made meanwhile: of two at once, one wins).
    """
    impl = get_implementation(idea_id)
    idea = get_idea(idea_id)
    contest = get_contest(idea.contest_id)
    _require_implementer(actor, contest, impl)
    require_phase(contest, "implement")
    if status not in IMPLEMENTATION_TRANSITIONS.get(impl.status, ()):
        raise Conflict("当前状态不能变更为该状态", code="implementation_transition_invalid",
                       details={"from": impl.status, "to": status,
                                "allowed": list(IMPLEMENTATION_TRANSITIONS[impl.status])})
    old = impl.status
    impl.status = status
    flush_or(Conflict("实施状态刚被他人更新，请刷新后重试", code="implementation_changed"))
    audit.record("idea.implementation_status", "idea", idea.id, actor=actor, note=note,
                 data={"from": old, "to": status})
    _tell_people(idea, "implementation_status", f"金点子「{idea.title}」{IMPLEMENTATION_NAMES[status]}",
                 note or f"实施状态：{IMPLEMENTATION_NAMES[old]} → {IMPLEMENTATION_NAMES[status]}")
    db.session.flush()
    return impl


def add_milestone(actor, idea_id: int, title: str, due_on: dt.date | None = None) -> Milestone:
    impl = get_implementation(idea_id)
    contest = get_contest(get_idea(idea_id).contest_id)
    _require_implementer(actor, contest, impl)
    require_phase(contest, "implement")
    m = Milestone(implementation_id=impl.id, title=require_text(title, "title", TITLE_MAX), due_on=due_on, progress=0)
    db.session.add(m)
    db.session.flush()
    audit.record("idea.milestone_add", "idea", idea_id, actor=actor, data={"milestone_id": m.id})
    return m


def update_milestone(actor, milestone_id: int, progress: int, note: str | None = None,
                     photos: list[str] | None = None) -> MilestoneUpdate:
    """Report progress (percent, 0-100, never backwards) on a milestone, with a note and photos.

    :raises Conflict: ``progress_backwards``; ``milestone_changed`` (progress reported by someone else
        meanwhile: of two reports at once, one wins).
    :raises ValidationFailed: ``progress_out_of_range``.
    """
    m = db.session.get(Milestone, milestone_id)
    if m is None:
        raise NotFound("找不到该实施节点", code="milestone_not_found")
    impl = db.session.get(Implementation, m.implementation_id)
    idea = get_idea(impl.idea_id)
    contest = get_contest(idea.contest_id)
    _require_implementer(actor, contest, impl)
    require_phase(contest, "implement")
    if not 0 <= progress <= 100:
        raise ValidationFailed("进度须在 0 到 100 之间", code="progress_out_of_range")
    if progress < m.progress:
        raise Conflict("进度不能倒退", code="progress_backwards", details={"current": m.progress})
    note = require_text(note, "note", TEXT_MAX) if note else None
    claimed = _claim_photos(actor, photos or [])
    m.progress = progress
    # Claimed also when the progress stays: the update is checked against what was read.
    claim_row(m, Conflict("该实施节点的进度刚被他人更新，请刷新后重试", code="milestone_changed"))
    u = MilestoneUpdate(milestone_id=m.id, author_id=actor.id, progress=progress, note=note, photos=claimed)
    db.session.add(u)
    db.session.flush()
    _index_photos(u.photos, milestone_update_id=u.id)
    audit.record("idea.milestone_update", "idea", idea.id, actor=actor,
                 data={"milestone_id": m.id, "progress": progress})
    return u


def implementation_view(actor, idea_id: int) -> dict:
    visible_idea(actor, idea_id)
    impl = get_implementation(idea_id)
    milestones = list(db.session.scalars(sa.select(Milestone).where(Milestone.implementation_id == impl.id)
                                         .order_by(Milestone.id)))
    updates = defaultdict(list)
    if milestones:
        for u in db.session.scalars(sa.select(MilestoneUpdate).where(
                MilestoneUpdate.milestone_id.in_([m.id for m in milestones])).order_by(MilestoneUpdate.id)):
            updates[u.milestone_id].append(u)
    return {"idea_id": idea_id, "organisation_id": impl.organisation_id, "status": impl.status, "note": impl.note,
            "milestones": [{"id": m.id, "title": m.title, "due_on": m.due_on, "progress": m.progress,
                            "updates": updates[m.id]} for m in milestones]}


def contest_view(contest: Contest) -> dict:
    """A contest with its places, schedule, current phase and what that phase allows."""
    from civic.proposals.phases import PHASE_ACTIONS

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
