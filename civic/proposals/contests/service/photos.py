"""Photos of ideas and milestone updates: uploaded first, claimed by the idea or update that shows them, served through the viewer's right to see it
(the original to the author, the blurred rendition to the others), their blur reviewed by the contest organiser's moderators
(:func:`_reviewer`, the kind's reviewer rule for :func:`civic.core.blur.review`)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.core import blur, media
from civic.core.errors import NotFound, ValidationFailed
from civic.core.photos import process_photos
from civic.core.storage import media_store
from civic.extensions import db
from civic.proposals import moderation
from civic.proposals.contests.models import (
    ContestPhoto,
    Implementation,
    Milestone,
    MilestoneUpdate,
    PhotoUpload,
)
from civic.proposals.contests.service.contests import PHOTOS_MAX, get_contest, get_idea, participant_units

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
    stored = process_photos(files, store=media_store())
    rows = [PhotoUpload(uploader_id=actor.id, display_key=s.display_key, thumb_key=s.thumb_key,
                        width=s.width, height=s.height) for s in stored]
    db.session.add_all(rows)
    db.session.flush()
    blur.request_all(stored)  # faces and plates found in the queue, before anyone else can see it
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


def _locate(token: str):
    """``(row, idea, attached, taker, contest)`` of the photo with ``token``, or None: the idea it
    belongs to (for an update's photo, the idea the update's implementation carries out), the owner's
    current photo list, and who took it (the idea's or the update's author)."""
    row = db.session.scalar(sa.select(ContestPhoto).where(ContestPhoto.access_token == token)) if token else None
    if row is None:
        return None
    if row.idea_id is not None:
        idea = get_idea(row.idea_id)
        attached, taker = idea.photos, idea.author_id
    else:
        update = db.session.get(MilestoneUpdate, row.milestone_update_id)
        impl = db.session.get(Implementation, db.session.get(Milestone, update.milestone_id).implementation_id)
        idea = get_idea(impl.idea_id)
        attached, taker = update.photos, update.author_id
    return row, idea, attached, taker, get_contest(idea.contest_id)


def _sees(actor, token: str, idea, attached, contest) -> bool:
    """The rule of :func:`photo_for`: an approved idea's current photos (and its updates'): staff,
    administrators, the author, residents of the contest's places; any other: the author and the
    organiser's moderators."""
    public = idea.state == "approved" and any(p.get("token") == token for p in attached)
    return (actor.id == idea.author_id or (public and (actor.kind in ("staff", "admin")
                                                       or participant_units(contest, actor)))
            or moderation.is_moderator(actor, contest.organisation_id))


def sees_original(actor, taker_id: int) -> bool:
    """Whether ``actor`` (one who may see the photo) sees it as taken: the person who took it (the
    idea's or the progress update's author); everyone else, the organiser's moderators included, gets
    the blurred rendition (issue #19; civic.core.blur).  The rule :func:`photo_for` serves by."""
    return actor.id == taker_id


def photo_links(actor, photos: list[dict] | None, *, taker_id: int, lookup: blur.Lookup | None = None) -> list[dict]:
    """The photos of an idea or progress update (taken by ``taker_id``) as ``actor`` gets them:
    ``[{"url", "thumbnail_url", "width", "height", "blur_status", "token"}]``
    (:func:`civic.core.media.links`; store keys are never shown).  ``blur_status`` ``"original"`` for
    the taker (:func:`sees_original`), else ``"blurred"``, or ``"pending"``/``"failed"`` with ``url``
    and ``thumbnail_url`` None until the blurred rendition exists (the address would answer 409
    ``photo_blur_pending``).  ``token`` is what an edit passes to keep the photo.  ``lookup``: the blur
    rows of a whole list read at once (:func:`civic.core.blur.lookup`), else one query here."""
    shown = [p for p in (photos or []) if p.get("token")]
    if lookup is None:
        lookup = blur.lookup(p["display_key"] for p in shown)
    original = sees_original(actor, taker_id)
    return [{**media.links(f"/api/v1/contest-photos/{p['token']}", p.get("width"), p.get("height"), kind=PHOTO.name,
                           display_key=p["display_key"], original=original, lookup=lookup), "token": p["token"]}
            for p in shown]


def _reviewer(actor, token: str) -> blur.ReviewTarget:
    """The kind's reviewer rule: the contest organiser's moderators (``head``/``moderator`` staff of the
    residents' committee or street centre that organises it, and administrators:
    :func:`civic.proposals.moderation.is_moderator`), who check residents' ideas before anyone else
    sees them.  They see the blurred rendition (the original is only the author's), which is what
    they correct: a face or plate left visible, a region that hides nothing.

    :raises NotFound: ``photo_not_found`` (who may not see the photo, as for none).
    :raises Forbidden: ``blur_review_not_allowed`` (the author, residents and staff who see it).
    """
    found = _locate(token)
    if found is None:
        raise NotFound("找不到该照片", code="photo_not_found")
    row, idea, attached, taker, contest = found
    if not _sees(actor, token, idea, attached, contest):
        raise NotFound("找不到该照片", code="photo_not_found")
    if not moderation.is_moderator(actor, contest.organisation_id):
        raise blur.not_reviewer("只有征集主办方的审核人员可以审核照片打码")
    org = next((o for _m, o in acting_memberships(actor, roles=moderation.MODERATOR_ROLES)
                if o.id == contest.organisation_id), None)
    shown = media.find_token(attached, token) or {}
    return blur.ReviewTarget(display_key=row.display_key, url=f"/api/v1/contest-photos/{token}", object_type="idea",
                             object_id=idea.id, actor_role=f"staff@{org.kind}:{org.id}" if org else actor.kind,
                             sees_original=sees_original(actor, taker), width=shown.get("width"), height=shown.get("height"),
                             detail={"photo_id": row.id})


PHOTO = media.register_kind(media.MediaKind(
    "contests.photo", "/api/v1/contest-photos/<string:token>",
    "an approved idea's current photos (and its progress updates'): staff, administrators, the author and "
    "residents of the contest's places; any other photo (pending, hidden or rejected idea, a photo a later "
    "edit removed): the author and the organiser's moderators only; the original only to the person who "
    "took it (the idea's or the update's author), the others the blurred rendition (civic.core.blur); its "
    "blur reviewed by the organiser's moderators",
    blurred=True, reviewer=_reviewer))


def photo_for(actor, token: str, size: str | None = None, rendition: str | None = None) -> media.Opened:
    """A photo of an idea or of a progress update, for ``GET /api/v1/contest-photos/<token>``.

    * Attached to the current version of an approved idea (or to an update of one): staff,
      administrators, the author, and residents of the contest's places.
    * Otherwise (pending, hidden or rejected idea; a photo a later edit removed): only the idea's
      author and the contest organiser's moderators.

    Audited (``media.opened`` on the idea).

    The original only to the person who took it; everyone else the blurred rendition
    (:func:`civic.core.blur.keys_for`).  ``rendition="blurred"``: the taker asks for what the others see.

    :raises NotFound: ``photo_not_found`` (also when the actor may not see it: no hint it exists).
    :raises Conflict: 409 ``photo_blur_pending`` while the blurred rendition is being made.
    """
    found = _locate(token)
    if found is not None:
        row, idea, attached, taker, contest = found
        if _sees(actor, token, idea, attached, contest):
            return media.opened(PHOTO.name, actor, "idea", idea.id, display_key=row.display_key,
                                thumb_key=row.thumb_key, token=token, size=size,
                                detail={"contest_photo_id": row.id},
                                original=sees_original(actor, taker) and rendition != "blurred")
    raise NotFound("找不到该照片", code="photo_not_found")
