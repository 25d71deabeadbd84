"""Carrying out adopted ideas: adoption by an organisation, status, milestones and their progress updates."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.core import audit, blur
from civic.core.db import claim_row, flush_or, insert_once
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.proposals.contests.models import (
    Contest,
    Idea,
    Implementation,
    Milestone,
    MilestoneUpdate,
    RankingEntry,
    Support,
)
from civic.proposals.contests.service.contests import (
    IMPLEMENTATION_NAMES,
    IMPLEMENTATION_TRANSITIONS,
    ORGANISER_ROLES,
    TEXT_MAX,
    TITLE_MAX,
    get_contest,
    get_idea,
    is_organiser,
    participant_units,
    place_ids,
    require_organiser,
    require_phase,
    visible_idea,
)
from civic.proposals.contests.service.photos import _claim_photos, _index_photos, photo_links
from civic.proposals.notify import notify

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
    :raises NotFound: ``idea_not_found`` (also an idea ``actor`` may not see).

    Order (issue #15): the idea seen, the organiser, then the phase and the ranking, then the input.
    """
    idea = visible_idea(actor, idea_id)
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


def _update_views(actor, updates: list[MilestoneUpdate]) -> list[dict]:
    lookup = blur.lookup(p["display_key"] for u in updates for p in (u.photos or []) if p.get("token"))
    return [{"id": u.id, "progress": u.progress, "note": u.note, "created_at": u.created_at,
             "photos": photo_links(actor, u.photos, taker_id=u.author_id, lookup=lookup)} for u in updates]


def milestone_update_view(actor, u: MilestoneUpdate) -> dict:
    """A progress update as ``actor`` gets it (:class:`~civic.proposals.contests.schemas.MilestoneUpdateSchema`):
    ``{"id", "progress", "note", "created_at", "photos"}``, the photos as
    :func:`~civic.proposals.contests.service.photos.photo_links` shows them (``blur_status``; no URL
    while the blurred rendition is pending)."""
    return _update_views(actor, [u])[0]


def implementation_view(actor, idea_id: int) -> dict:
    """``GET /ideas/{id}/implementation`` for one who may see the idea: ``{"idea_id", "organisation_id",
    "status", "note", "milestones": [{"id", "title", "due_on", "progress", "updates": [update]}]}``,
    each update as :func:`milestone_update_view` shows it (the blur rows of all their photos read in
    one query).

    :raises NotFound: ``idea_not_found``, ``implementation_not_found``."""
    visible_idea(actor, idea_id)
    impl = get_implementation(idea_id)
    milestones = list(db.session.scalars(sa.select(Milestone).where(Milestone.implementation_id == impl.id)
                                         .order_by(Milestone.id)))
    updates = []
    if milestones:
        updates = list(db.session.scalars(sa.select(MilestoneUpdate).where(
            MilestoneUpdate.milestone_id.in_([m.id for m in milestones])).order_by(MilestoneUpdate.id)))
    by_milestone = defaultdict(list)
    for u, shown in zip(updates, _update_views(actor, updates), strict=True):
        by_milestone[u.milestone_id].append(shown)
    return {"idea_id": idea_id, "organisation_id": impl.organisation_id, "status": impl.status, "note": impl.note,
            "milestones": [{"id": m.id, "title": m.title, "due_on": m.due_on, "progress": m.progress,
                            "updates": by_milestone[m.id]} for m in milestones]}


def adopted_idea(idea_id: int) -> dict:
    """An adopted idea as another domain may cite it (a budget round's project):
    ``{"id", "title", "organisation_id", "status"}`` (the organisation named at adoption).

    :raises NotFound: ``idea_not_found``; ``implementation_not_found`` (the idea is not adopted).
    """
    idea = get_idea(idea_id)
    impl = get_implementation(idea.id)
    return {"id": idea.id, "title": idea.title, "organisation_id": impl.organisation_id, "status": impl.status}


def implementation_summary(idea_id: int) -> dict:
    """The carrying out of an adopted idea for a public page, without people or photos:
    ``{"status", "milestones": [{"id", "title", "due_on", "progress"}]}`` (progress in percent).

    :raises NotFound: ``implementation_not_found``.
    """
    impl = get_implementation(idea_id)
    milestones = db.session.scalars(sa.select(Milestone).where(Milestone.implementation_id == impl.id)
                                    .order_by(Milestone.id))
    return {"status": impl.status, "milestones": [{"id": m.id, "title": m.title, "due_on": m.due_on,
                                                   "progress": m.progress} for m in milestones]}
