"""Blurred renditions of stored photos: who sees the original, who the blurred copy, and the job
that makes it (issue #19 point 1).

A resident's photo of a public place carries passers-by's faces and cars' number plates.  The
**original** (the stored display copy and its thumbnail) is shown only to those the owning domain
names (for a case: the person who took it and the staff of the case's lead party); everyone else the
domain lets see the photo gets the **blurred rendition**, with faces and plates pixelated beyond
recognition (:mod:`civic.core.detect`).  Until that rendition exists they get no photo: the API shows
``blur_status: "pending"`` without a URL, and the file's address answers 409 ``photo_blur_pending``.
Source: PIPL Arts. 6 (minimum necessary), 13, 26 (images in public places are for public safety only
and not to be shown further without consent); civic's reading: a face or plate shown to anyone
beyond the circle that needs it is a disclosure, so it is blurred.

* one row per stored photo (:class:`PhotoBlur`, keyed by the original's content key, so a photo sent
  twice is blurred once), with the regions found (``source`` ``auto``) or drawn by staff (``manual``),
  and removed false ones (kept, flagged ``removed``, so a regeneration does not bring them back);
* :func:`request` after a photo is stored: a pending row and a job in the queue (intake never waits);
* :func:`blur_photo`, the job: detect, blur, store the rendition beside the original, ``done``;
  a failure leaves ``failed`` and the photo stays hidden from those who may not see the original;
* :func:`keys_for` is **the one rule** every serving path applies (``civic.core.media.opened`` and the
  public pages call it); :func:`state` is the same rule for a representation (URL or ``pending``);
* review, for every blurred kind (:func:`review`, :func:`review_add_region`,
  :func:`review_remove_region`): the kind's ``reviewer`` (:class:`civic.core.media.MediaKind`) says
  who reviews (a case: the lead party's staff; a contest: the organiser's moderators; an action item:
  the responsible organisation; a voucher: the village committee) and finds the photo; staff add a
  region by hand and remove a false one (:func:`add_region`, :func:`remove_region`), audited on the
  photo's object, the rendition regenerated at once;
* retention: :func:`forget_original` deletes the original's files once the domain says its purpose
  ended; from then on everyone gets the blurred copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core import audit, personal_data
from civic.core.db import UTCDateTime, after_commit, commit, is_postgres, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.jobs import periodic
from civic.extensions import db

log = logging.getLogger(__name__)

__all__ = ["Lookup", "PhotoBlur", "ReviewTarget", "add_region", "blur_photo", "forget_original", "keys_for",
           "lookup", "not_reviewer", "regenerate", "remove_region", "request", "review", "review_add_region",
           "review_remove_region", "state", "states"]

STATUSES = ("pending", "done", "failed")


class PhotoBlur(db.Model):
    """The blurred rendition of one stored photo, and the regions it hides.

    ``regions``: ``[{"id", "x", "y", "w", "h", "kind": "face"|"plate"|"manual", "score",
    "source": "auto"|"manual", "removed": bool, "by": user id or None, "at": ISO time}]``, box
    coordinates as fractions (0..1) of the image's width and height.
    """

    __tablename__ = "photo_blur"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The original's store keys (content addresses): renditions of a file another column declares.
    display_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, unique=True,
                                             info={"media_rendition": "original"})
    thumb_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media_rendition": "original"})
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="pending")
    regions: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    blurred_display_key: Mapped[str | None] = mapped_column(sa.String(120), info={"media_rendition": "blurred"})
    blurred_thumb_key: Mapped[str | None] = mapped_column(sa.String(120), info={"media_rendition": "blurred"})
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    blurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    original_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


personal_data.exempt("photo_blur.reviewed_by", "a staff member's act (the review of a blurred photo)")


# --- queueing ------------------------------------------------------------------------------------------

def _schedule(blur_id: int) -> None:
    """The job, after the commit: with Redis an RQ job at once; embedded, a deferred row the
    scheduler's next tick runs in its own thread, so the request that stored the photo never waits
    for the detector (the embedded mode would otherwise run it inside that request)."""
    from civic.core import jobs

    if jobs.uses_rq():
        jobs.enqueue(blur_photo, blur_id, retry=2)
    else:
        jobs.enqueue_at(utcnow(), blur_photo, blur_id)


RETRY_AFTER = dt.timedelta(hours=1)  # the queue's own two retries come first
RETRY_FOR = dt.timedelta(days=7)  # a photo that still fails after a week is left to a reviewer


@periodic("core.retry_failed_blurs", every_minutes=60)
def retry_failed(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Hourly: queue the detection again for photos whose blur job failed (a worker out of memory, the
    store or the queue down) more than :data:`RETRY_AFTER` ago, while they are younger than
    :data:`RETRY_FOR`.  A failed photo stays hidden from everyone who may not see the original, so
    without this it stayed hidden until a reviewer tried to review it.  Returns how many were queued.
    The job is idempotent: a photo done meanwhile is left alone."""
    now = now or utcnow()
    ids = list(db.session.scalars(sa.select(PhotoBlur.id).where(
        PhotoBlur.status == "failed", PhotoBlur.created_at <= now - RETRY_AFTER,
        PhotoBlur.created_at > now - RETRY_FOR).order_by(PhotoBlur.id).limit(limit)))
    if ids:
        db.session.execute(sa.update(PhotoBlur).where(PhotoBlur.id.in_(ids), PhotoBlur.status == "failed")
                           .values(status="pending").execution_options(synchronize_session=False))
        for blur_id in ids:
            _schedule(blur_id)
        log.info("%d failed blur jobs queued again", len(ids))
    return len(ids)


def request(display_key: str, thumb_key: str) -> PhotoBlur:
    """The blur row of a stored photo: made ``pending`` with its job queued if new, else as it is.
    Call in the transaction that stores the photo's row; the job runs after its commit.

    :param display_key: the original display copy's store key; ``thumb_key`` its thumbnail's.
    """
    row = db.session.scalar(sa.select(PhotoBlur).where(PhotoBlur.display_key == display_key))
    if row is not None:
        return row
    # Two requests storing the same photo at once: the unique key decides, the loser reads the winner's.
    try:
        with db.session.begin_nested():
            row = PhotoBlur(display_key=display_key, thumb_key=thumb_key, status="pending", regions=[])
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:
        return db.session.scalar(sa.select(PhotoBlur).where(PhotoBlur.display_key == display_key))
    _schedule(row.id)
    return row


def request_all(photos) -> None:
    """:func:`request` for each of ``photos`` (objects or dicts with ``display_key``/``thumb_key``)."""
    for p in photos:
        dk = p["display_key"] if isinstance(p, dict) else p.display_key
        tk = p["thumb_key"] if isinstance(p, dict) else p.thumb_key
        request(dk, tk)


# --- the job -------------------------------------------------------------------------------------------

def _render(row: PhotoBlur) -> None:
    """Store the rendition of ``row``'s active regions and point the row at it.  Never changes the
    row's status: only the job (which ran the detector) marks a row ``done``, and a review renders
    only a row already ``done`` (:func:`regenerate`), so no hand-drawn box alone ever stands in for
    the automatic detection (a row failed or pending stays hidden).

    The rendition it replaces is deleted once this transaction commits, unless another row holds
    the same file (the store is content-addressed): an earlier rendition may show a face the
    detector missed and a reviewer has since covered (:func:`_forget_renditions`)."""
    from civic.core import detect
    from civic.core.storage import media_store

    store = media_store()
    display = store.open(row.display_key)
    data = display if isinstance(display, bytes | bytearray) else display.read()
    active = [r for r in row.regions if not r.get("removed")]
    blurred, thumb, _, _ = detect.render_blurred(bytes(data), active)
    previous = {row.blurred_display_key, row.blurred_thumb_key} - {None}
    row.blurred_display_key = store.put(blurred, "jpg")
    row.blurred_thumb_key = store.put(thumb, "jpg")
    row.blurred_at = utcnow()
    superseded = previous - {row.blurred_display_key, row.blurred_thumb_key, row.display_key, row.thumb_key}
    if superseded:
        after_commit(lambda: _forget_renditions(superseded))


def _forget_renditions(keys: set[str]) -> None:
    """Delete superseded blurred renditions (after the commit that replaced them), except the files
    some row still holds (:func:`civic.core.holders.keys_in_use`: another photo's rendition or an
    original byte-identical to it).  A failure is logged, not raised: the review is committed."""
    from civic.core.holders import keys_in_use
    from civic.core.storage import media_store

    try:
        held = keys_in_use(keys)
        db.session.rollback()  # the read's transaction: the hook runs after the request's commit
        store = media_store()
        for key in sorted(keys - held):
            store.delete(key)
    except Exception:
        log.warning("could not delete superseded blurred renditions %s", sorted(keys), exc_info=True)


def blur_photo(blur_id: int) -> str:
    """The job: find faces and plates on the original display copy, store the blurred rendition
    (display and thumbnail, metadata-free JPEGs) beside it, mark the row ``done``.  Idempotent: a
    row already done is left alone.  On an error the row is ``failed`` (the photo stays hidden from
    those who may not see the original) and the error re-raised, so the queue retries it.

    :returns: the row's status.
    """
    from civic.core import detect
    from civic.core.storage import media_store

    row = db.session.get(PhotoBlur, blur_id)
    if row is None or row.status == "done":
        return row.status if row else "missing"
    try:
        raw = media_store().open(row.display_key)
        data = raw if isinstance(raw, bytes | bytearray) else raw.read()
        found = detect.detect(bytes(data))  # bytes: the detector lets the full-size pixels go early
        del raw, data
        manual = [r for r in row.regions if r.get("source") == "manual"]
        auto = [dict(r.as_dict(), id=secrets.token_hex(4), source="auto", removed=False, by=None, at=None)
                for r in found]
        row.regions = auto + manual
        _render(row)
        row.status, row.error = "done", None  # the detector ran: the one place a row becomes done
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(PhotoBlur, blur_id)
        row.status, row.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        commit()
        raise
    return row.status


# --- the rule ------------------------------------------------------------------------------------------

def _row(display_key: str) -> PhotoBlur | None:
    return db.session.scalar(sa.select(PhotoBlur).where(PhotoBlur.display_key == display_key))


def state(display_key: str, *, original: bool) -> str:
    """What a viewer gets of a photo: ``"original"`` (they may see it, and it is still kept),
    ``"blurred"`` (the rendition exists), ``"pending"`` or ``"failed"`` (nothing yet)."""
    return _state_of(_row(display_key), original)


class Lookup:
    """The blur rows of a set of photos, read at once (:func:`lookup`): each photo's :func:`state`
    for a viewer without a query of its own.  What a list of photos is shown through
    (:func:`civic.core.media.links` with ``lookup=``)."""

    def __init__(self, keys: set[str], rows: dict[str, PhotoBlur]):
        self.keys = frozenset(keys)  # the display keys looked up
        self._rows = rows

    def known(self, display_key: str) -> bool:
        """Whether the photo has a blur row (a photo stored before blurring existed has none until
        :func:`request` makes it)."""
        return display_key in self._rows

    def state(self, display_key: str, *, original: bool) -> str:
        """:func:`state` of one photo of the set.

        :raises KeyError: ``display_key`` was not looked up (a programming error: the list's lookup
            missed a photo, which would otherwise cost a query of its own)."""
        if display_key not in self.keys:
            raise KeyError(f"photo {display_key!r} was not in the blur lookup")
        return _state_of(self._rows.get(display_key), original)


def lookup(display_keys: Iterable[str]) -> Lookup:
    """The blur rows of ``display_keys`` (originals' display keys) in one query per 500 keys, not one
    per photo (a page of a list shows a photo per item)."""
    keys = set(display_keys)
    ordered = sorted(keys)
    rows: dict[str, PhotoBlur] = {}
    for i in range(0, len(ordered), 500):
        rows.update({r.display_key: r for r in db.session.scalars(
            sa.select(PhotoBlur).where(PhotoBlur.display_key.in_(ordered[i:i + 500])))})
    return Lookup(keys, rows)


def states(display_keys: Iterable[str], *, original: bool) -> dict[str, str]:
    """:func:`state` of many photos at once, ``{display key: state}``: one query per 500 keys, not
    one per photo (a page of a public list shows a photo per case)."""
    found = lookup(display_keys)
    return {k: found.state(k, original=original) for k in sorted(found.keys)}


def _state_of(row: PhotoBlur | None, original: bool) -> str:
    if original and (row is None or row.original_deleted_at is None):
        return "original"
    if row is None:
        return "pending"
    if row.status == "done" and row.blurred_display_key:
        return "blurred"
    return row.status


def keys_for(display_key: str, thumb_key: str, *, original: bool) -> tuple[str, str]:
    """**The rule**: the store keys to serve a viewer, ``(display, thumb)``: the original's for a
    viewer who may see it (while it is kept), else the blurred rendition's.

    A photo stored before blurring existed gets its row and job here, on its first showing.

    :param original: the owning domain's answer to "may this viewer see the original?" (a case: the
        person who took it, the lead party's staff).
    :raises Conflict: 409 ``photo_blur_pending`` while the rendition is being made; 409
        ``photo_blur_failed`` when the detection failed (the queue retries it; a reviewer's attempt to
        review the photo queues it again, :func:`review_add_region`); nothing is served then.
    """
    row = _row(display_key)
    if original and (row is None or row.original_deleted_at is None):
        return display_key, thumb_key
    if row is None:
        request(display_key, thumb_key)
        commit()
        row = _row(display_key)
    if row.status == "failed":
        raise Conflict("照片的人脸和车牌自动打码失败，暂不能查看；系统会重试，仍失败时须由审核人员重新处理",
                       code="photo_blur_failed", details={"blur_status": "failed"})
    if row.status != "done" or not row.blurred_display_key:
        raise Conflict("照片正在进行人脸和车牌打码，完成后可见", code="photo_blur_pending",
                       details={"blur_status": row.status})
    return row.blurred_display_key, row.blurred_thumb_key


# --- review --------------------------------------------------------------------------------------------

def get(display_key: str) -> PhotoBlur:
    """The blur row of a photo. :raises NotFound: ``photo_blur_not_found``."""
    row = _row(display_key)
    if row is None:
        raise NotFound("该照片尚无打码记录", code="photo_blur_not_found")
    return row


def view(row: PhotoBlur) -> dict[str, Any]:
    """The review representation: ``{"status", "regions", "blurred_at", "reviewed_at",
    "original_kept"}`` (regions as stored, removed ones included and flagged)."""
    return {"status": row.status, "regions": list(row.regions or []), "blurred_at": row.blurred_at,
            "reviewed_at": row.reviewed_at, "original_kept": row.original_deleted_at is None}


def regenerate(row: PhotoBlur) -> None:
    """Render the rendition again from the stored regions (after a review).  Needs the original,
    and a row whose detection has run (``done``): a review never marks a photo blurred.

    :raises Conflict: ``photo_blur_pending``, ``photo_blur_failed`` (:func:`_reviewable`),
        ``photo_original_deleted``."""
    _reviewable(row)
    if row.original_deleted_at is not None:
        raise Conflict("原图已按保存期限删除，无法重新打码", code="photo_original_deleted")
    _render(row)


# The smallest box a reviewer may draw, as a fraction of the image's width and height: 0.002 is
# 4 px of a 2048 px display copy.  Below a few pixels a box hides next to nothing, and a box like
# w=1e-320 (which passed ``> 0``) covers no pixel at all yet would be recorded as a reviewed region.
MIN_REGION = 0.002


def add_region(actor, row: PhotoBlur, box: dict, *, object_type: str, object_id: Any,
               actor_role: str | None = None) -> dict:
    """Staff add a region by hand (``box``: ``x``, ``y``, ``w``, ``h`` fractions 0..1) and the
    rendition is made again at once.  Audited (``photo_blur.region_added`` on the owning object).

    ``row`` must be locked by the caller (:func:`_locked`), or concurrent reviews lose regions.

    :raises ValidationFailed: ``blur_region_invalid`` (not numbers, outside the image, or smaller
        than :data:`MIN_REGION` of the image's width or height).
    :raises Conflict: ``photo_blur_pending``, ``photo_blur_failed``, ``photo_original_deleted``.
    """
    _reviewable(row)
    values = [box.get(k) for k in ("x", "y", "w", "h")]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ValidationFailed("打码区域的 x、y、w、h 须为数字", code="blur_region_invalid",
                               details={k: repr(box.get(k))[:40] for k in ("x", "y", "w", "h")})
    x, y, w, h = (float(v) for v in values)
    if not (0 <= x < 1 and 0 <= y < 1 and MIN_REGION <= w <= 1 - x + 1e-9 and MIN_REGION <= h <= 1 - y + 1e-9):
        raise ValidationFailed("打码区域须在图片范围内，宽、高不小于图片的 0.2%（x、y、w、h 为 0 到 1 之间的比例）",
                               code="blur_region_invalid",
                               details={"x": x, "y": y, "w": w, "h": h})
    region = {"id": secrets.token_hex(4), "x": round(x, 5), "y": round(y, 5), "w": round(w, 5), "h": round(h, 5),
              "kind": "manual", "score": 1.0, "source": "manual", "removed": False, "by": actor.id,
              "at": utcnow().isoformat()}
    row.regions = [*row.regions, region]
    _reviewed(actor, row)
    regenerate(row)
    audit.record("photo_blur.region_added", object_type, object_id, actor=actor, actor_role=actor_role,
                 data={"photo_blur_id": row.id, "region": region["id"], "box": [region[k] for k in "xywh"]})
    return region


def remove_region(actor, row: PhotoBlur, region_id: str, *, object_type: str, object_id: Any,
                  actor_role: str | None = None) -> None:
    """Staff remove a false region (kept, flagged ``removed``); the rendition is made again at once.
    Audited (``photo_blur.region_removed``).

    ``row`` must be locked by the caller (:func:`_locked`).

    :raises NotFound: ``blur_region_not_found``.  :raises Conflict: ``photo_blur_pending``,
        ``photo_blur_failed``, ``photo_original_deleted``.
    """
    _reviewable(row)
    regions = [dict(r) for r in row.regions]
    hit = next((r for r in regions if r.get("id") == region_id and not r.get("removed")), None)
    if hit is None:
        raise NotFound("找不到该打码区域", code="blur_region_not_found")
    hit.update(removed=True, by=actor.id, at=utcnow().isoformat())
    row.regions = regions
    _reviewed(actor, row)
    regenerate(row)
    audit.record("photo_blur.region_removed", object_type, object_id, actor=actor, actor_role=actor_role,
                 data={"photo_blur_id": row.id, "region": region_id, "kind": hit.get("kind")})


def _reviewed(actor, row: PhotoBlur) -> None:
    row.reviewed_by, row.reviewed_at = actor.id, utcnow()


# --- review of any blurred kind ------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewTarget:
    """A photo of a blurred kind as its reviewer found it: what a kind's ``reviewer`` returns
    (:class:`civic.core.media.MediaKind`).

    :param display_key: the original display copy's store key (the key of its :class:`PhotoBlur`).
    :param url: the photo's address in the API (the kind's route, filled in).
    :param object_type: what the review is audited on, as ``media.opened`` logs the photo
        (``"complaint"``, ``"idea"``, ``"action_item"``, ``"village_disclosure"``); ``object_id`` its id.
    :param actor_role: how the reviewer acts: ``"staff@<organisation kind>:<organisation id>"``, or
        ``"admin"`` where the domain lets administrators act for the party.
    :param sees_original: whether ``url`` serves this reviewer the original (else the blurred rendition).
    :param width: the display copy's pixels (``height`` too), None where the domain did not keep them.
    :param detail: the domain's names for the photo, added to the review (``{"photo_id", "stage"}``).
    """

    display_key: str
    url: str
    object_type: str
    object_id: int
    actor_role: str | None
    sees_original: bool
    width: int | None = None
    height: int | None = None
    detail: dict = field(default_factory=dict)


def not_reviewer(message: str) -> Forbidden:
    """The refusal for one who may see a photo but not review its blur: 403 ``blur_review_not_allowed``
    (``message`` says, in Chinese, who reviews).  One who may not see the photo gets the kind's 404."""
    return Forbidden(message, code="blur_review_not_allowed")


def _target(kind, actor, where: dict) -> ReviewTarget:
    # ``kind`` is the MediaKind itself, not its name: civic.core.media imports this module, not the reverse.
    if not kind.blurred or kind.reviewer is None:
        raise ValueError(f"media kind {kind.name!r} has no blur review")  # a programming error
    return kind.reviewer(actor, **where)


def _review_view(t: ReviewTarget, row: PhotoBlur) -> dict[str, Any]:
    # The version in the address: a review makes a new rendition under the same photo, and the
    # browser must not show the one it cached.
    version = int(row.blurred_at.timestamp() * 1000) if row.blurred_at else 0
    return {**view(row), **t.detail, "object_type": t.object_type, "object_id": t.object_id,
            "width": t.width, "height": t.height, "sees_original": t.sees_original,
            "original_url": t.url if t.sees_original else None,
            "blurred_url": f"{t.url}?rendition=blurred&v={version}"}


def _reviewable(row: PhotoBlur) -> None:
    """A review changes regions only of a row whose detection has run (``done``): rendering a
    pending or failed row would show others a photo with only the hand-drawn box blurred.  A
    failed row is queued again (as :func:`request` queues a new one), committed before the 409, so
    a reviewer's attempt heals it.  Call with the row locked (:func:`_locked`): two reviews of a
    failed row queue one job."""
    if row.status == "pending":
        raise Conflict("照片正在自动打码，完成后再审核", code="photo_blur_pending", details={"blur_status": "pending"})
    if row.status == "failed":
        row.status, row.error = "pending", None
        _schedule(row.id)
        commit()
        raise Conflict("照片的人脸和车牌自动检测失败，已重新排队检测，完成后再审核", code="photo_blur_failed",
                       details={"blur_status": "failed"})


def _locked(display_key: str) -> PhotoBlur:
    """The blur row of a photo, read again under this transaction's write lock on it, so that
    concurrent reviews (and the job's requeue) apply one after the other to what the previous one
    committed: PostgreSQL ``SELECT ... FOR UPDATE``; SQLite ignores FOR UPDATE, so a write comes
    first (an UPDATE that changes nothing takes the database's write lock, as
    ``civic.core.resumable.receive`` does), then the read.

    :raises NotFound: ``photo_blur_not_found``."""
    q = sa.select(PhotoBlur).where(PhotoBlur.display_key == display_key).execution_options(populate_existing=True)
    if is_postgres():
        row = db.session.scalar(q.with_for_update())
    else:
        db.session.execute(sa.update(PhotoBlur).where(PhotoBlur.display_key == display_key)
                           .values(display_key=PhotoBlur.display_key)
                           .execution_options(synchronize_session=False))
        row = db.session.scalar(q)
    if row is None:
        raise NotFound("该照片尚无打码记录", code="photo_blur_not_found")
    return row


def review(kind, actor, **where) -> dict[str, Any]:
    """The blur of one photo of ``kind`` (a blurred :class:`civic.core.media.MediaKind` with its
    ``reviewer``) as its reviewer sees it (``where``: the arguments of the kind's route, e.g. ``token=``): ``{"status", "regions", "blurred_at", "reviewed_at",
    "original_kept", "object_type", "object_id", "width", "height", "sees_original", "original_url"
    (None for a reviewer who sees only the blurred rendition), "blurred_url", **the domain's detail}``
    (regions: :class:`PhotoBlur`; coordinates are fractions 0..1 of the photo's width and height).

    :raises NotFound: the kind's own code (one who may not see the photo: the same answer as for
        none), ``photo_blur_not_found`` (a photo stored before blurring, not yet shown beyond its circle).
    :raises Forbidden: ``blur_review_not_allowed`` (sees the photo, does not review it).
    """
    t = _target(kind, actor, where)
    return _review_view(t, get(t.display_key))


def review_add_region(kind, actor, box: dict, **where) -> dict[str, Any]:
    """The reviewer of a photo of ``kind`` adds a region to blur by hand (``box``: ``x``, ``y``,
    ``w``, ``h``, fractions 0..1); the blurred rendition is made again at once, and the addition
    audited on the photo's object (``photo_blur.region_added``).  Returns :func:`review`'s shape.

    Order: who (404, 403), the record (404), its state (409), the box (422).
    The row is locked first (:func:`_locked`): concurrent additions each keep their region.

    :raises Conflict: ``photo_blur_pending`` (the detector has not run yet: review after it),
        ``photo_blur_failed`` (it failed: queued again by this attempt), ``photo_original_deleted``.
        :raises ValidationFailed: ``blur_region_invalid``.
    """
    t = _target(kind, actor, where)
    get(t.display_key)
    row = _locked(t.display_key)
    add_region(actor, row, box, object_type=t.object_type, object_id=t.object_id, actor_role=t.actor_role)
    return _review_view(t, row)


def review_remove_region(kind, actor, region_id: str, **where) -> dict[str, Any]:
    """The reviewer removes a falsely blurred region (kept in the record, flagged ``removed``); the
    rendition is made again at once, audited (``photo_blur.region_removed``).  Returns :func:`review`'s shape.

    :raises NotFound: ``blur_region_not_found``.  :raises Conflict: ``photo_blur_pending``,
        ``photo_blur_failed`` (queued again), ``photo_original_deleted``, ``photo_blur_shared`` (the
        photo is also another domain's: :func:`_not_shared`).
    """
    t = _target(kind, actor, where)
    get(t.display_key)
    _not_shared(kind, t.display_key)
    row = _locked(t.display_key)
    remove_region(actor, row, region_id, object_type=t.object_type, object_id=t.object_id, actor_role=t.actor_role)
    return _review_view(t, row)


def _not_shared(kind, display_key: str) -> None:
    """Refuse to take a region off a photo that another domain also holds: the store is
    content-addressed, so the same photo stored as a case's and as a contest idea's is one file with
    one blur record, and a region removed by the contest's moderators would unblur a face in the
    case, whose parties they may not even see (and on Open311's public media).  Adding a region stays
    allowed: it only blurs more, everywhere.  The reading that protects the people in the photo.

    :raises Conflict: 409 ``photo_blur_shared``."""
    from civic.core.holders import kinds_holding

    others = sorted(kinds_holding(display_key) - {kind.name})
    if others:
        raise Conflict("这张照片也用于其他事项，为保护照片中他人的隐私，不能在此删除打码区域（可以增加）",
                       code="photo_blur_shared", details={"also_in": others})


# --- retention -----------------------------------------------------------------------------------------

def forget_original(display_key: str, thumb_key: str, *, held_elsewhere: set[str] | frozenset[str] = frozenset()) -> bool:
    """Delete the original's files once its purpose ended, keeping the blurred rendition: only when
    the rendition exists (never leave a photo with nothing to show), and not the files in
    ``held_elsewhere`` (keys another object still holds, as the caller found them with
    :func:`civic.core.media.keys_in_use`: the store is content-addressed).  From then on everyone
    gets the blurred rendition.  Never deletes a file that is the row's own blurred rendition (a
    region-less blur of a flat image is byte-identical to the original: the same key).  Returns
    whether it was forgotten."""
    from civic.core.storage import media_store

    row = _row(display_key)
    if row is None or row.status != "done" or row.original_deleted_at is not None:
        return False
    if display_key in held_elsewhere:
        # Another object (another domain: one file, one blur record) still needs the original: its
        # taker or lead party must go on seeing it.  Its own retention forgets it in its time.
        return False
    row.original_deleted_at = utcnow()
    db.session.flush()
    store = media_store()
    own = {row.blurred_display_key, row.blurred_thumb_key}
    for key in {display_key, thumb_key} - set(held_elsewhere) - own:
        store.delete(key)
    return True
