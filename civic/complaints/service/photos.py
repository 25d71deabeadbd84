"""Case photos: the media store, the in-memory staging of intake photos, the lead party's result
photos and serving a photo to those who may see the case.

Verbs: add_result_photos, photo_for (and _Staged, used by intake; the store is the core's
:func:`civic.core.storage.media_store`, re-exported for the package's callers).  ``PHOTO`` is the
photos' media kind; the lead party reviews their blur through the core (:func:`civic.core.blur.review`,
its rule :func:`_reviewer`).  Every photo goes through civic.core.photos (formats, size, EXIF
stripped; GPS read only with consent, RULES.md §5).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from civic.complaints.models import ComplaintPhoto
from civic.complaints.service.privacy import get_for
from civic.complaints.service.workflow import require_open
from civic.core import audit, blur, media
from civic.core.errors import Forbidden, NotFound, ValidationFailed
from civic.core.photos import process_photos
from civic.core.storage import MediaBackend, key_for, media_store
from civic.extensions import db

MAX_PHOTOS = 9


class _Staged:
    """A store in memory: intake photos are processed into it, and written to the media store only
    once every check of the case passed (a case refused for its location leaves no file behind)."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}

    def put(self, data: bytes, ext: str) -> str:
        key = key_for(data, ext)
        self.blobs[key] = (data, ext)
        return key

    def open(self, key: str) -> bytes:
        return self.blobs[key][0]

    def exists(self, key: str) -> bool:
        return key in self.blobs

    def delete(self, key: str) -> bool:
        return self.blobs.pop(key, None) is not None

    def write_to(self, store: MediaBackend) -> None:
        """Write every blob; on a failed write remove what this call created, then re-raise."""
        created = []
        try:
            for key, (data, ext) in self.blobs.items():
                if not store.exists(key):
                    store.put(data, ext)
                    created.append(key)
        except BaseException:
            for key in created:
                store.delete(key)
            raise


def add_result_photos(user, complaint_id: int, files: Sequence[tuple[str, bytes]]) -> list[ComplaintPhoto]:
    """The lead party attaches photos of the result, through the same pipeline as intake.

    :raises Forbidden: ``transition_not_allowed`` (not the lead).  :raises Conflict:
        ``complaint_closed``, ``complaint_merged`` (nothing is stored).  :raises ValidationFailed:
        ``photos_required``, ``too_many_photos``, the pipeline's photo errors.
    """
    c, v = get_for(user, complaint_id, log_view=False)
    org = v.acting_org(("lead",))
    if org is None:
        raise Forbidden("只有主办方可以上传处置照片", code="transition_not_allowed")
    require_open(c, "上传处置照片")
    if not files:
        raise ValidationFailed("请至少上传 1 张照片", code="photos_required")
    have = sum(1 for p in c.photos if p.stage == "result")
    if have + len(files) > MAX_PHOTOS:
        raise ValidationFailed(f"处置照片最多 {MAX_PHOTOS} 张", code="too_many_photos",
                               details={"max": MAX_PHOTOS, "count": have + len(files)})
    stored = process_photos(list(files), store=media_store(), read_gps=False)
    rows = []
    for p in stored:
        row = ComplaintPhoto(complaint_id=c.id, stage="result", access_token=secrets.token_urlsafe(32),
                             display_key=p.display_key, thumb_key=p.thumb_key, width=p.width, height=p.height,
                             uploaded_by=user.id)
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    blur.request_all(stored)
    audit.record("complaint.result_photos", "complaint", c.id, actor=user,
                 actor_role=f"{user.kind}@{org.kind}:{org.id}", data={"count": len(rows)})
    return rows


def sees_original(user, v, photo: ComplaintPhoto) -> bool:
    """Whether ``user`` (their roles ``v`` on the case) may see ``photo`` as taken: the person who
    took it and the staff of the case's lead party; every other viewer of the case (co-complainants,
    assisting parties, the street's oversight, administrators, Open311 partners, public pages) gets
    the blurred rendition.  Issue #19; PIPL Arts. 6, 26 (civic.core.blur)."""
    return photo.uploaded_by == getattr(user, "id", None) or v.acting_org(("lead",)) is not None


def photo_links(user, v, c, photo: ComplaintPhoto, lookup: blur.Lookup | None = None) -> dict:
    """A case photo as ``user`` (their roles ``v`` on the case) gets it: ``{"stage", "url",
    "thumbnail_url", "width", "height", "blur_status"}`` (:func:`civic.core.media.links`):
    ``blur_status`` ``"original"`` for those :func:`sees_original` admits, else ``"blurred"``, or
    ``"pending"``/``"failed"`` with ``url`` and ``thumbnail_url`` None until the blurred rendition
    exists (the address would answer 409 ``photo_blur_pending``).  ``lookup``: the case's photos'
    blur rows read at once (:func:`civic.core.blur.lookup`)."""
    url = f"/api/v1/complaints/{c.id}/photos/{photo.access_token}"
    return {"stage": photo.stage, **media.links(url, photo.width, photo.height, kind=PHOTO.name,
                                                display_key=photo.display_key,
                                                original=sees_original(user, v, photo), lookup=lookup)}


def photo_for(user, complaint_id: int, token: str, size: str | None = None,
              rendition: str | None = None) -> media.Opened:
    """A case photo (intake or result), only for those who may see the case
    (:func:`~civic.complaints.service.privacy.get_for`).  Audited (``media.opened`` on the case).

    :raises NotFound: ``photo_not_found``; ``complaint_not_found`` when the case is not theirs to see.
    ``rendition="blurred"``: one who sees the original asks for what the others see (the review).

    :raises Conflict: 409 ``photo_blur_pending``: the viewer gets the blurred rendition
        (:func:`sees_original`) and it is not made yet.
    """
    c, v = get_for(user, complaint_id, log_view=False)
    photo = db.session.scalar(sa.select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == c.id,
                                                              ComplaintPhoto.access_token == token))
    if photo is None:
        raise NotFound("找不到该照片", code="photo_not_found")
    return media.opened(PHOTO.name, user, "complaint", c.id, display_key=photo.display_key,
                        thumb_key=photo.thumb_key, token=token, size=size, actor_role=v.actor_role(),
                        detail={"photo_id": photo.id, "stage": photo.stage},
                        original=sees_original(user, v, photo) and rendition != "blurred")


# --- the lead party's review of a blurred photo (civic.core.blur.review) ------------------------------

def _reviewer(user, complaint_id: int, token: str) -> blur.ReviewTarget:
    """The kind's reviewer rule: the staff of the case's lead party, who see the original (issue #19).

    :raises NotFound: ``complaint_not_found`` (not theirs to see), ``photo_not_found``.
    :raises Forbidden: ``blur_review_not_allowed`` (sees the case, is not the lead party).
    """
    c, v = get_for(user, complaint_id, log_view=False)
    photo = db.session.scalar(sa.select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == c.id,
                                                              ComplaintPhoto.access_token == token))
    if photo is None:
        raise NotFound("找不到该照片", code="photo_not_found")
    org = v.acting_org(("lead",))
    if org is None:
        raise blur.not_reviewer("只有主办方可以审核照片打码")
    return blur.ReviewTarget(display_key=photo.display_key, url=f"/api/v1/complaints/{c.id}/photos/{photo.access_token}",
                             object_type="complaint", object_id=c.id, actor_role=f"{user.kind}@{org.kind}:{org.id}",
                             sees_original=sees_original(user, v, photo), width=photo.width, height=photo.height,
                             detail={"photo_id": photo.id, "stage": photo.stage})


PHOTO = media.register_kind(media.MediaKind(
    "complaints.photo", "/api/v1/complaints/<int:complaint_id>/photos/<token>",
    "whoever may see the case (privacy.get_for): the complainant, co-complainants and supporters (\"me too\"), the parties it "
    "is routed to, the street's oversight and administrators; the original only to the person who took "
    "it and the lead party's staff, the others the blurred rendition (civic.core.blur); its blur reviewed "
    "by the lead party's staff", blurred=True, reviewer=_reviewer))

