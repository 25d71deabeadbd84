"""Ideas and comments: submitting, editing (versions kept by moderation), visibility, and the moderated kinds ``idea`` and ``comment``."""

from __future__ import annotations

from civic.core import audit, blur
from civic.core.db import edit
from civic.core.errors import Conflict, Forbidden, ValidationFailed
from civic.core.text import require_text, search_tokens
from civic.extensions import db
from civic.proposals import moderation
from civic.proposals.contests.models import (
    Comment,
    Contest,
    Idea,
)
from civic.proposals.contests.service.contests import (
    COMMENT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    get_contest,
    get_idea,
    is_juror,
    is_organiser,
    participant_units,
    require_participant,
    require_phase,
    visible_idea,
)
from civic.proposals.contests.service.photos import _claim_photos, _index_photos, photo_links

IDEA_FIELDS = ("id", "contest_id", "author_id", "title", "text", "category", "state", "version", "support_count",
               "created_at")


def idea_views(actor, ideas: list[Idea]) -> list[dict]:
    """Ideas as ``actor`` (one who may see them) gets them (:class:`~civic.proposals.contests.schemas.IdeaSchema`):
    their fields and ``photos`` as :func:`~civic.proposals.contests.service.photos.photo_links` shows
    them to ``actor`` (``blur_status``; no URL while the blurred rendition is pending).  The blur
    rows of all the ideas' photos are read in one query, whatever the number of ideas."""
    lookup = blur.lookup(p["display_key"] for i in ideas for p in (i.photos or []) if p.get("token"))
    return [{**{k: getattr(i, k) for k in IDEA_FIELDS},
             "photos": photo_links(actor, i.photos, taker_id=i.author_id, lookup=lookup)} for i in ideas]


def idea_view(actor, idea: Idea) -> dict:
    """One idea as ``actor`` gets it (:func:`idea_views`)."""
    return idea_views(actor, [idea])[0]


def idea_page(actor, page: tuple[list[Idea], str | None]) -> tuple[list[dict], str | None]:
    """A page of ideas ``(ideas, next_cursor)`` (:mod:`civic.proposals.contests.queries`) as ``actor``
    gets it (:func:`idea_views`)."""
    ideas, cursor = page
    return idea_views(actor, list(ideas)), cursor


def _idea_content(contest: Contest, data: dict) -> dict:
    category = require_text(data.get("category"), "category", 40)
    if contest.categories and category not in contest.categories:
        raise ValidationFailed("类别不在本次征集的类别中", code="category_invalid",
                               details={"category": category, "allowed": contest.categories})
    return {"title": require_text(data.get("title"), "title", TITLE_MAX),
            "text": require_text(data.get("text"), "text", TEXT_MAX), "category": category}


def _apply(idea: Idea, content: dict) -> dict:
    """Set the idea's content (title, text, category, photos) where it differs; returns what changed
    (civic.core.db.edit: ``{}`` for an edit that changes nothing)."""
    changed = edit(idea, {k: content[k] for k in ("title", "text", "category", "photos")})
    if changed.keys() & {"title", "text"}:
        idea.search_tokens = f" {search_tokens(idea.title + ' ' + idea.text)} "
    return changed


def _stored(idea: Idea) -> dict:
    return {"title": idea.title, "text": idea.text, "category": idea.category, "photos": idea.photos}


def submit_idea(actor, contest_id: int, data: dict) -> Idea:
    """A participant submits an idea during submission.  It waits in the residents' committee's queue
    (state ``pending``) until approved.

    ``data``: ``title`` (≤50), ``text`` (Chinese, ≤2,000 characters after tidying), ``category``,
    ``photos`` (≤9 keys from :func:`upload_photos`).
    :raises Forbidden: ``not_a_participant``.  :raises Conflict: ``phase_forbids_action``.
    :raises ValidationFailed: ``text_required``, ``text_too_long``, ``category_invalid``, ``photo_unknown``.

    Order (issue #15): who may submit (a participant), then the phase, then the content.
    """
    contest = get_contest(contest_id)
    require_participant(contest, actor)
    require_phase(contest, "submit")
    content = _idea_content(contest, data)
    content["photos"] = _claim_photos(actor, data.get("photos") or [])
    idea = Idea(contest_id=contest.id, author_id=actor.id, state="pending", version=1, support_count=0,
                title="", text="", category="", photos=[])
    _apply(idea, content)
    db.session.add(idea)
    db.session.flush()
    _index_photos(idea.photos, idea_id=idea.id)
    moderation.start(IDEA_KIND, idea, state="pending", author=actor)
    audit.record("idea.submit", "idea", idea.id, actor=actor, data={"contest_id": contest.id})
    db.session.flush()
    return idea


def edit_idea(actor, idea_id: int, data: dict) -> Idea:
    """The author edits their idea, during submission only; the previous version is kept.  An edit
    that changes nothing (no field, or the same values) makes no version: the idea is returned as
    it is (civic.core.db.edit).

    :raises Forbidden: ``not_author``.  :raises Conflict: ``phase_forbids_action``; ``idea_closed``
        (rejected ideas are not edited); ``moderation_changed`` (moderated or edited meanwhile).
    :raises NotFound: ``idea_not_found`` (also an idea ``actor`` may not see, :func:`visible_idea`).

    Order (issue #15): the idea seen, then the author, then the phase and the idea's state, then
    the content.
    """
    idea = visible_idea(actor, idea_id)
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
    if not _apply(idea, content):
        return idea
    moderation.note_change("idea", idea.id)  # an edit and a moderator's decision at once: one is a 409
    _index_photos(idea.photos, idea_id=idea.id)
    idea.version += 1
    moderation.add_version("idea", idea.id, _stored(idea), editor=actor, edit_kind="author")
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

    def shown_contents(self, user, obj, contents: list[dict]) -> list[dict]:
        """Versions' contents as ``user`` reads them: each version's ``photos`` as the idea's photos
        are shown (:func:`~civic.proposals.contests.service.photos.photo_links`: links with
        ``blur_status`` for ``user``, never the stored keys)."""
        lookup = blur.lookup(p["display_key"] for c in contents for p in (c.get("photos") or []) if p.get("token"))
        return [{**c, "photos": photo_links(user, c.get("photos"), taker_id=obj.author_id, lookup=lookup)}
                if "photos" in c else c for c in contents]

    def apply_edit(self, obj, content):
        contest = get_contest(obj.contest_id)
        merged = {**self.content(obj), **content}
        checked = _idea_content(contest, merged)
        keep = set(content.get("photos", [p["display_key"] for p in obj.photos]))
        checked["photos"] = [p for p in obj.photos if p["display_key"] in keep or p.get("token") in keep]
        if _apply(obj, checked):
            obj.version += 1
        return _stored(obj)

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
    :raises NotFound: ``idea_not_found`` (also an idea ``actor`` may not see).

    Order (issue #15): the idea seen, then who may comment, then the phase and the idea's state.
    """
    idea = visible_idea(actor, idea_id)
    contest = get_contest(idea.contest_id)
    if not (participant_units(contest, actor) or moderation.is_moderator(actor, contest.organisation_id)
            or is_organiser(actor, contest) or is_juror(contest, actor)):
        raise Forbidden("仅限本次征集范围内的居民参与", code="not_a_participant")
    require_phase(contest, "comment")
    if idea.state != "approved":
        raise Conflict("该金点子当前未公开", code="idea_not_open", details={"state": idea.state})
    c = Comment(idea_id=idea.id, author_id=actor.id, body=require_text(body, "body", COMMENT_MAX))
    db.session.add(c)
    db.session.flush()
    moderation.start(COMMENT_KIND, c, state="approved", author=actor)
    audit.record("comment.create", "comment", c.id, actor=actor, data={"idea_id": idea.id})
    db.session.flush()
    return c
