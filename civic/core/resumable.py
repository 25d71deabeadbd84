"""Resumable uploads: the tus 1.0 protocol (core, creation, checksum, expiration, termination).

A resident on a weak mobile network sends a photo or a scan in pieces; when the connection drops,
the client asks how much arrived (``HEAD``) and sends only the rest.  Then a form that takes photos
(filing a case, an idea's photos, a claim's document, a village voucher...) names the finished
upload by its id instead of carrying the file (:func:`claim_files`, used by
:func:`civic.core.uploads.photo_files`).  Protocol: https://tus.io/protocols/resumable-upload
(version 1.0.0); the routes are in :mod:`civic.core.resumable_routes`, the guide in docs/uploads.md.

Why our own ~400 lines rather than a library: the Python tus servers on the registries are for
FastAPI/Django (``tuspyserver``) or unmaintained Flask add-ons (``flask-tus``, 2016, keeping pieces
in a directory or in MongoDB); none stores pieces in civic's media store (folder or S3 bucket),
binds an upload to its account, or answers in civic's error envelope.

The rules, in the order a request meets them:

* an upload belongs to the account that created it: to anyone else it does not exist (404
  ``upload_not_found``, the answer for an unknown id);
* its ``kind`` (``Upload-Metadata: kind``; ``photo`` when absent) sets its byte limit and lifetime
  (:data:`KINDS`); ``Upload-Length`` over the limit is refused at creation (413), before a byte is sent;
* the bytes go, as they arrive, into the media store (:func:`civic.core.storage.media_store`) in
  pieces of at most :data:`PIECE_BYTES`, never held whole in memory while receiving.  Each piece is
  stored as 16 random bytes (a salt drawn for that piece; as long as the upload's ``nonce``, which
  says how many bytes to skip) followed by its bytes.  The store is content-addressed: the salt
  keeps any two stored pieces from sharing a key, so deleting one never deletes another -- two
  uploads of the same photo, or two PATCHes of one upload sending the same bytes at once (a client
  retrying while its first attempt is still being read), of which one loses and deletes what it
  stored while the winner's identical piece must stay;
* a ``PATCH`` with ``Upload-Checksum`` (sha1, sha256 or md5) keeps its pieces only if the whole body
  arrived and matches (460 ``checksum_mismatch``); without one, a body cut off by a dropped
  connection keeps what arrived, as tus recommends, so the client re-sends only the rest;
* when the last byte arrives the photo pipeline checks the file exactly as for a direct upload
  (:func:`civic.core.photos.check_photo`: size, real format, pixels, one full decode, upright, EXIF
  stripped).  A file it refuses is refused in the last ``PATCH`` with the pipeline's own error, and
  the upload stays incomplete.  An upload is never served to anyone: its bytes reach a page only
  through the form that claims it, which runs the pipeline again and stores the clean copies;
* claiming consumes the upload once (a conditional UPDATE: of two concurrent claims one wins, the
  other gets 409 ``upload_consumed``); a retried form with the same ``Idempotency-Key`` gets the
  first answer back (:mod:`civic.core.idempotency`);
* past ``Upload-Expires`` an upload answers 410 ``upload_expired``; the hourly job
  :func:`purge_uploads` deletes its pieces and row (expired, consumed or abandoned alike);
* a piece is never forgotten while it is still in the store: the transaction that deletes a piece's
  row (a claim, a termination, the purge, an account's erasure) writes its store key to
  ``upload_orphan`` (:class:`UploadOrphan`), and the key's row goes only once the store has deleted
  it.  A store that fails (a bucket unreachable, a read-only disk) leaves the row, and every hourly
  purge tries again.  The pieces of a PATCH that failed, never recorded in ``upload_piece``, are
  written there when the store refuses to delete them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core import personal_data, retention
from civic.core.db import UTCDateTime, after_commit, after_rollback, end_if_read_only, utcnow
from civic.core.errors import (
    BadRequest,
    CivicError,
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnsupportedMedia,
    ValidationFailed,
)
from civic.core.jobs import periodic
from civic.core.photos import DEFAULT_LIMITS
from civic.core.tus_headers import CHECKSUMS, MAX_METADATA, parse_checksum, parse_metadata  # noqa: F401  (re-exported)
from civic.extensions import db

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
EXTENSIONS = ("creation", "checksum", "expiration", "termination")
CONTENT_TYPE = "application/offset+octet-stream"
# A piece is what one write to the store holds: the memory a PATCH needs, and the most a dropped
# connection can cost when the client sends no checksum.
PIECE_BYTES = 1024 * 1024
MAX_FILES_PER_FORM = 9  # as many as a form takes photos (a case: 1-9)


@dataclass(frozen=True)
class UploadKind:
    """What an upload is for: its byte limit and how long it waits to be finished and claimed.

    :param name: the ``kind`` of ``Upload-Metadata`` (``photo``, ``scan``).
    :param max_bytes: the largest ``Upload-Length`` (bytes); at most the photo pipeline's own cap.
    :param lifetime: from creation to ``Upload-Expires``.
    :param label: in Chinese, for messages.
    """

    name: str
    max_bytes: int
    lifetime: dt.timedelta
    label: str


# Both go through the photo pipeline, whose cap (20 MB) bounds them; a scan is one page photographed
# or scanned, where 10 MB is ample.  24 hours: a resident who lost the network in the evening
# finishes the next morning.
KINDS: dict[str, UploadKind] = {
    "photo": UploadKind("photo", DEFAULT_LIMITS.max_bytes, dt.timedelta(hours=24), "照片"),
    "scan": UploadKind("scan", 10 * 1024 * 1024, dt.timedelta(hours=24), "扫描件"),
}
STATUSES = ("receiving", "complete", "consumed")


class Upload(db.Model):
    """One resumable upload (tus), bound to the account that created it."""

    __tablename__ = "upload"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # random, the tus URL's last part
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    filetype: Mapped[str | None] = mapped_column(sa.String(100))  # as the client said; the bytes decide
    length: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    offset: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    # Its length is that of the random salt prefixed to every stored piece (see the module's
    # docstring; before the salt was drawn per piece, the nonce itself was the prefix); never shown.
    nonce: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="receiving")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    consumed_for: Mapped[str | None] = mapped_column(sa.String(80))  # "complaints.photo", for the audit

    __table_args__ = (sa.CheckConstraint("status IN ('receiving', 'complete', 'consumed')",
                                         name="status"),)


class UploadPiece(db.Model):
    """One stored piece of an upload: bytes ``[offset, offset + length)``.

    ``digest`` is the sha256 the store keys the piece under (``aa/bb/<digest>.part``: the salt and
    the bytes); only the digest is kept, as a piece is never served (no media kind): the key is
    rebuilt by :func:`_piece_key` to read or delete it."""

    __tablename__ = "upload_piece"

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[str] = mapped_column(sa.ForeignKey("upload.id", ondelete="CASCADE"), nullable=False)
    offset: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    length: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    digest: Mapped[str] = mapped_column(sa.String(64), nullable=False)

    # Two PATCHes racing at one offset: the second insert fails, that request is answered 409.
    __table_args__ = (sa.UniqueConstraint("upload_id", "offset"),)


class UploadOrphan(db.Model):
    """A stored piece whose row is gone but which may still be in the media store: deleted from the
    store after the commit that recorded it, and retried by every :func:`purge_uploads` until the
    store deletes it.  ``key`` is the store key (``aa/bb/<sha256>.part``: a hash, no personal data);
    the same key may be listed twice (deleting it is idempotent)."""

    __tablename__ = "upload_orphan"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), nullable=False, index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # failed retries by the purge
    last_error: Mapped[str | None] = mapped_column(sa.String(200))


# ------------------------------------------------------------------------------------------ helpers


def _piece_key(digest: str) -> str:
    return f"{digest[:2]}/{digest[2:4]}/{digest}.part"


def _store():
    from civic.core.storage import media_store

    return media_store()


# secrets.token_urlsafe's alphabet; the column holds 32 characters.
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _not_found(upload_id: str) -> NotFound:
    shown = str(upload_id)[:64]
    return NotFound("找不到该上传（可能已被删除，或不属于当前账号）", code="upload_not_found",
                    details={"upload_id": shown if _ID.fullmatch(shown) else None})


def _expired(u: Upload) -> bool:
    return utcnow() >= u.expires_at


def _own(actor, upload_id: str, *, lock: bool = False) -> Upload:
    """The actor's upload ``upload_id``; :raises NotFound: ``upload_not_found`` (unknown, or another
    account's: the same answer), :raises CivicError: 410 ``upload_expired``."""
    # Only an id of the alphabet ids are drawn from reaches the database: any other (a NUL, which
    # PostgreSQL refuses in text) is unknown, on every database alike.
    if not isinstance(upload_id, str) or not _ID.fullmatch(upload_id):
        raise _not_found(upload_id)
    q = sa.select(Upload).where(Upload.id == upload_id, Upload.user_id == actor.id)
    u = db.session.scalar(q.with_for_update() if lock else q)
    if u is None:
        raise _not_found(upload_id)
    if _expired(u):
        raise CivicError("该上传已过期，请重新上传", code="upload_expired", status=410,
                         details={"upload_id": u.id, "expired_at": u.expires_at.isoformat()})
    return u


# ------------------------------------------------------------------------------------------ the verbs


def create(actor, length: int | None, metadata: dict[str, str], *, now: dt.datetime | None = None) -> Upload:
    """Open an upload (tus creation) for ``actor``.

    :param length: ``Upload-Length`` in bytes (1 to the kind's ``max_bytes``).
    :param metadata: the decoded ``Upload-Metadata``: ``filename``, ``filetype`` (informative: the
        pipeline reads the bytes), ``kind`` (``photo`` | ``scan``, default ``photo``).
    :returns: the new :class:`Upload` (``status`` receiving, ``offset`` 0, ``expires_at`` = now +
        the kind's lifetime).
    :raises BadRequest: ``upload_length_required`` (none: civic does not take deferred lengths).
    :raises ValidationFailed: ``upload_kind_unknown``; ``upload_empty`` (length 0).
    :raises PayloadTooLarge: ``upload_too_large`` (over the kind's limit; details ``max_bytes``).
    :raises Conflict: 409 ``upload_quota_exceeded``: the account has ``UPLOAD_MAX_OPEN`` unused uploads
        (still receiving, or complete and not attached), or this one would bring their declared
        lengths over ``UPLOAD_MAX_OPEN_BYTES``
        (:func:`_check_quota`).
    """
    if length is None:
        raise BadRequest("请在 Upload-Length 中给出文件大小（字节）", code="upload_length_required")
    kind = KINDS.get(metadata.get("kind") or "photo")
    if kind is None:
        raise ValidationFailed("未知的上传类型", code="upload_kind_unknown",
                               details={"kind": str(metadata.get("kind"))[:40], "known": sorted(KINDS)})
    if length <= 0:
        raise ValidationFailed("文件是空的", code="upload_empty")
    if length > kind.max_bytes:
        from civic.core.errors import size_text

        raise PayloadTooLarge(f"{kind.label}不能超过 {size_text(kind.max_bytes)}", code="upload_too_large",
                              details={"length": length, "max_bytes": kind.max_bytes, "kind": kind.name})
    now = now or utcnow()
    # The quota is counted after this upload's row is written, under the account's row lock
    # (PostgreSQL; on SQLite the INSERT takes the database's write lock first): two creations at
    # once by one account are ordered, and the second counts the first.
    db.session.execute(sa.select(_ACCOUNT.c.id).where(_ACCOUNT.c.id == actor.id).with_for_update())
    from civic.core.text import tidy

    # Named in messages and shown to staff with the file: control and bidirectional characters go
    # (civic.core.text.tidy); a NUL was refused with the header (parse_metadata).
    filename, filetype = tidy(metadata.get("filename") or ""), tidy(metadata.get("filetype") or "")
    u = Upload(id=secrets.token_urlsafe(16), user_id=actor.id, kind=kind.name,
               filename=(filename or kind.name)[:200], filetype=filetype[:100] or None,
               length=length, offset=0, nonce=secrets.token_hex(16), status="receiving",
               created_at=now, expires_at=now + kind.lifetime)
    db.session.add(u)
    db.session.flush()
    _check_quota(actor, now, length)
    return u


# The account table, named without importing the accounts domain (the core knows no domain).
_ACCOUNT = sa.table("user_account", sa.column("id"))


def _check_quota(actor, now: dt.datetime, length: int) -> None:
    """Refuse an account more unused uploads (still ``receiving``, or ``complete`` and not yet attached)
    than ``UPLOAD_MAX_OPEN``, or declaring more than ``UPLOAD_MAX_OPEN_BYTES`` bytes together (this one
    included).

    Why: an upload's pieces stay in the store until it is attached to what it was sent for (consumed),
    is terminated or expires (24 h); one short of its last byte it never reaches the photo pipeline's
    check, and a complete one never attached holds up to its kind's limit (20 MB) for the day too.
    Without a cap one account could hold uploads without end and fill the store (issue #19).  A
    consumed upload (its pieces deleted), a terminated or an expired one (which its owner can no
    longer use or end: 410) does not count.

    :raises Conflict: 409 ``upload_quota_exceeded``, details ``{"open", "open_bytes"`` (the account's
        unused uploads, receiving or complete, before this one), ``"length", "max_open",
        "max_open_bytes"}`` (409 as the other caps a person frees by ending what they hold, e.g. a
        contest's ``support_cap_reached``; 429 is for a rate over time).
    """
    from flask import current_app

    max_open = int(current_app.config["UPLOAD_MAX_OPEN"])
    max_bytes = int(current_app.config["UPLOAD_MAX_OPEN_BYTES"])
    count, total = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Upload.length), 0))
        .where(Upload.user_id == actor.id, Upload.status.in_(("receiving", "complete")),
               Upload.expires_at > now)).one()
    if count > max_open or total > max_bytes:
        from civic.core.errors import size_text

        raise Conflict(f"未使用的上传过多（每个账号至多 {max_open} 个、合计 {size_text(max_bytes)}），"
                       "请先使用或删除已有的上传", code="upload_quota_exceeded",
                       details={"open": int(count) - 1, "open_bytes": int(total) - length, "length": length,
                                "max_open": max_open, "max_open_bytes": max_bytes})


def status(actor, upload_id: str) -> Upload:
    """The actor's upload, to answer ``HEAD``/``GET`` (offset, length, expiry, status).

    :raises NotFound: ``upload_not_found``.  :raises CivicError: 410 ``upload_expired``.
    """
    return _own(actor, upload_id)


def receive(actor, upload_id: str, *, offset: str | None, content_type: str | None,
            content_length: int | None, checksum: str | None, body: IO[bytes],
            disconnected: type[BaseException] | tuple = ()) -> Upload:
    """Take one ``PATCH``: append the body at ``offset``.

    Checked in this order (permission, state, input): the upload is the actor's (404), not expired
    (410), still receiving (409 ``upload_complete``/``upload_consumed``); then the body's content type
    (415 ``upload_content_type``), ``Upload-Offset`` (400 ``upload_offset_required``, 409
    ``upload_offset_mismatch`` with ``details.offset``, the offset to resume from), the length
    (411 ``length_required``; 413 ``upload_past_length`` past ``Upload-Length``), the checksum header
    (400).  Then the body is read in pieces of :data:`PIECE_BYTES` straight into the store.

    :param body: the request's input stream; reading it raises one of ``disconnected`` (Werkzeug's
        ``ClientDisconnected``) or returns short when the client went away.
    :returns: the upload with its new ``offset`` (and ``status`` complete once all bytes are in and
        the photo pipeline accepted them).
    :raises CivicError: 460 ``checksum_mismatch`` (nothing of the body kept); the photo pipeline's
        errors (``photo_format_unsupported`` 415, ``photo_too_large``/``photo_too_many_pixels`` 413,
        ``photo_corrupt``/``photo_empty`` 422) for the last piece, which is then not kept either.
    """
    u = _own(actor, upload_id)
    if u.status == "consumed":
        raise Conflict("该上传已被使用", code="upload_consumed", details={"upload_id": u.id})
    if u.status != "receiving":
        raise Conflict("该上传已完成", code="upload_complete", details={"upload_id": u.id, "offset": u.offset})
    if (content_type or "").split(";")[0].strip().lower() != CONTENT_TYPE:
        raise UnsupportedMedia(f"请求体须为 {CONTENT_TYPE}", code="upload_content_type",
                               details={"content_type": (content_type or None) and content_type[:100]})
    if offset is None or not offset.isascii() or not offset.isdigit() or len(offset) > 15:
        raise BadRequest("请在 Upload-Offset 中给出本次数据的起始位置（字节）", code="upload_offset_required")
    if int(offset) != u.offset:
        raise Conflict("Upload-Offset 与已收到的字节数不符，请先查询进度（HEAD）再续传", code="upload_offset_mismatch",
                       details={"offset": u.offset, "sent": int(offset)})
    if content_length is None:
        raise CivicError("请给出 Content-Length", code="length_required", status=411)
    if u.offset + content_length > u.length:
        raise PayloadTooLarge("数据超出了创建上传时声明的大小", code="upload_past_length",
                              details={"offset": u.offset, "content_length": content_length, "length": u.length})
    check = parse_checksum(checksum)
    uid, start, nonce = u.id, u.offset, bytes.fromhex(u.nonce)
    # A phone may take many seconds to send its piece: hold no transaction (no connection of the
    # pool, no lock, no snapshot) while reading it.  The offset read above is re-checked by the
    # conditional UPDATE below, which is what orders concurrent PATCHes.  Only a transaction that has
    # only read is ended so (a PATCH request's, whose before-request steps write nothing); one that
    # wrote anything is kept, at the cost of its connection (civic.core.db.end_if_read_only).
    end_if_read_only()

    store = _store()
    hasher = check[1]() if check else None
    pieces: list[UploadPiece] = []
    stored: list[str] = []
    pos, remaining, cut = start, content_length, False
    try:
        while remaining > 0:
            want = min(PIECE_BYTES, remaining)
            block = bytearray()
            try:
                while len(block) < want:
                    got = body.read(want - len(block))
                    if not got:
                        cut = True
                        break
                    block += got
            except disconnected:
                cut = True
            if block:
                if hasher is not None:
                    hasher.update(block)
                key = store.put(secrets.token_bytes(len(nonce)) + bytes(block), "part")
                stored.append(key)
                pieces.append(UploadPiece(upload_id=uid, offset=pos, length=len(block), digest=key.split("/")[2][:64]))
                pos += len(block)
                remaining -= len(block)
            if cut:
                break
        if cut and check is not None:
            # The checksum covers the whole body: a cut one cannot be checked, so none of it is kept.
            raise BadRequest("连接中断，本次数据未保存，请续传", code="upload_interrupted", details={"offset": start})
        if check is not None and hasher.digest() != check[2]:
            raise CivicError("数据校验失败（Upload-Checksum 不符），本次数据未保存，请重传这一段", code="checksum_mismatch",
                             status=460, details={"algorithm": check[0], "offset": start})
    except BaseException:
        _delete_unrecorded(store, stored)
        raise
    # From here on the pieces are the transaction's: a lost race, a refused photo or a failed commit
    # rolls it back, and the pieces this request wrote are deleted again.
    after_rollback(lambda: _delete_unrecorded(store, stored))
    if pieces:
        # The UPDATE first: it takes the upload's row (PostgreSQL's row lock, SQLite's write lock)
        # before any piece refers to it, so a purge or termination that took the row first has
        # already deleted it (this request then answers 404 and its pieces go), and one coming later
        # waits for this transaction and then sees these pieces (civic.core.resumable._drop).
        done = db.session.execute(sa.update(Upload).where(Upload.id == uid, Upload.offset == start,
                                                          Upload.status == "receiving")
                                  .values(offset=pos).execution_options(synchronize_session=False)).rowcount
        if done != 1:
            now_ = db.session.get(Upload, uid, populate_existing=True)
            if now_ is None:
                raise _not_found(uid)
            raise Conflict("另一请求同时写入了该上传，请先查询进度再续传", code="upload_offset_mismatch",
                           details={"offset": now_.offset})
        db.session.add_all(pieces)
        db.session.flush()
    u = db.session.get(Upload, uid, populate_existing=True)
    if u is None:  # terminated or purged while the body arrived (nothing was written here)
        raise _not_found(uid)
    if u.offset == u.length and not cut:
        _complete(u, store)
    return u


def _complete(u: Upload, store) -> None:
    """All bytes are in: run the photo pipeline's checks over the whole file (nothing is stored by
    them); on success the upload is ``complete``.  :raises CivicError: the pipeline's error."""
    from civic.core.photos import check_photo

    check_photo(_assemble(u, store), name=u.filename)
    u.status = "complete"
    u.completed_at = utcnow()
    db.session.flush()


def _assemble(u: Upload, store) -> bytes:
    pieces = db.session.scalars(sa.select(UploadPiece).where(UploadPiece.upload_id == u.id)
                                .order_by(UploadPiece.offset)).all()
    skip = len(bytes.fromhex(u.nonce))
    out = bytearray()
    for p in pieces:
        if p.offset != len(out):  # pragma: no cover - the unique offsets and the conditional UPDATE forbid it
            raise Conflict("上传数据不连续，请重新上传", code="upload_corrupt", details={"offset": len(out)})
        out += store.open(_piece_key(p.digest))[skip:]
    if len(out) != u.length:  # pragma: no cover - as above
        raise Conflict("上传数据不完整，请重新上传", code="upload_corrupt", details={"offset": len(out)})
    return bytes(out)


def terminate(actor, upload_id: str) -> None:
    """Delete the actor's upload and its pieces (tus termination).  A consumed upload's pieces are
    gone already; its row goes too.  :raises NotFound: ``upload_not_found``; 410 ``upload_expired``."""
    u = _own(actor, upload_id, lock=True)
    _drop([u])


def claim_files(actor, upload_ids: Iterable[str], *, purpose: str,
                kinds: tuple[str, ...] = ("photo", "scan")) -> list[tuple[str, bytes]]:
    """Consume the actor's finished uploads for a form: ``[(filename, bytes)]`` in the order given,
    for the form's own call of the photo pipeline (so a claimed upload is processed exactly as a
    file sent with the form).  The uploads are marked consumed in the request's transaction: if the
    form fails, nothing is consumed; once it commits, the pieces are deleted from the store.

    :param purpose: what consumes them, e.g. ``"complaints.photo"`` (kept on the row and in the audit).
    :param kinds: the upload kinds the form takes.
    :raises ValidationFailed: ``upload_ids_invalid`` (more than :data:`MAX_FILES_PER_FORM`, or one
        twice), ``upload_kind_mismatch``.
    :raises NotFound: ``upload_not_found`` (unknown, another account's).
    :raises CivicError: 410 ``upload_expired``; 409 ``upload_incomplete`` (bytes still missing),
        ``upload_consumed`` (already attached: a second claim, or a concurrent one that won).
    """
    from civic.core import audit

    ids = list(upload_ids)
    if len(ids) > MAX_FILES_PER_FORM or len(set(ids)) != len(ids):
        raise ValidationFailed(f"upload_ids 须为至多 {MAX_FILES_PER_FORM} 个不重复的上传编号", code="upload_ids_invalid",
                               details={"count": len(ids), "max": MAX_FILES_PER_FORM})
    uploads = [_own(actor, i) for i in ids]
    for u in uploads:
        if u.status == "consumed":
            raise Conflict("该上传已被使用，不能再次提交", code="upload_consumed",
                           details={"upload_id": u.id, "consumed_for": u.consumed_for})
        if u.status != "complete":
            raise Conflict("该上传尚未完成，请先传完全部数据", code="upload_incomplete",
                           details={"upload_id": u.id, "offset": u.offset, "length": u.length})
        if u.kind not in kinds:
            raise ValidationFailed("该上传的类型不能用于此处", code="upload_kind_mismatch",
                                   details={"upload_id": u.id, "kind": u.kind, "accepted": list(kinds)})
    store = _store()
    files = []
    now = utcnow()
    for u in uploads:
        files.append((u.filename, _assemble(u, store)))
        won = db.session.execute(sa.update(Upload).where(Upload.id == u.id, Upload.status == "complete")
                                 .values(status="consumed", consumed_at=now, consumed_for=purpose[:80])
                                 .execution_options(synchronize_session=False)).rowcount
        if won != 1:
            raise Conflict("该上传已被使用，不能再次提交", code="upload_consumed", details={"upload_id": u.id})
        audit.record("upload.consumed", "upload", u.id, actor=actor, data={"for": purpose, "bytes": u.length})
    _forget_pieces([u.id for u in uploads], store)
    return files


# ------------------------------------------------------------------------------------------ the purge


def _delete_keys(store, keys) -> dict[str, str]:
    """Delete ``keys`` from the store; returns ``{key: error}`` for those it could not delete (a
    key already gone counts as deleted)."""
    failed: dict[str, str] = {}
    for key in dict.fromkeys(keys):
        try:
            store.delete(key)
        except Exception as exc:  # an unreachable bucket must not fail the request or the job
            log.warning("upload piece %s could not be deleted", key, exc_info=True)
            failed[key] = f"{type(exc).__name__}: {exc}"[:200]
    return failed


def _delete_unrecorded(store, keys: list[str]) -> None:
    """Delete pieces that no row names (a PATCH that failed); what the store refuses is written to
    ``upload_orphan`` in a transaction of its own (the request's is being rolled back), for the
    purge to retry."""
    failed = _delete_keys(store, keys)
    if not failed:
        return
    try:
        with db.engine.begin() as conn:
            conn.execute(sa.insert(UploadOrphan), [{"key": k, "recorded_at": utcnow(), "attempts": 0,
                                                     "last_error": e} for k, e in failed.items()])
    except Exception:  # the database is out too: nothing more can be done here
        log.error("upload pieces %s could not be deleted nor recorded", sorted(failed), exc_info=True)


def _delete_recorded(store, keys: list[str]) -> None:
    """After the commit that recorded ``keys`` in ``upload_orphan``: delete them from the store,
    then their rows (a transaction of its own).  A key the store refuses keeps its row."""
    failed = _delete_keys(store, keys)
    done = [k for k in dict.fromkeys(keys) if k not in failed]
    if not done:
        return
    try:
        with db.engine.begin() as conn:
            conn.execute(sa.delete(UploadOrphan).where(UploadOrphan.key.in_(done)))
    except Exception:  # the purge retries them: deleting a deleted key is harmless
        log.warning("upload_orphan rows of deleted pieces left for the purge", exc_info=True)


def _forget_pieces(ids: list[str], store) -> None:
    """Delete the piece rows of uploads ``ids`` in this transaction, record their keys in
    ``upload_orphan`` and delete them from the store after the commit."""
    digests = db.session.execute(sa.delete(UploadPiece).where(UploadPiece.upload_id.in_(ids))
                                 .returning(UploadPiece.digest)
                                 .execution_options(synchronize_session=False)).scalars().all()
    keys = list(dict.fromkeys(_piece_key(d) for d in digests))
    if keys:
        now = utcnow()
        db.session.execute(sa.insert(UploadOrphan), [{"key": k, "recorded_at": now, "attempts": 0} for k in keys])
        after_commit(lambda: _delete_recorded(store, keys))


def _drop(uploads: list[Upload]) -> int:
    """Delete these uploads' rows and their pieces (recorded, deleted from the store after the commit).

    The upload rows are locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
    DELETE's write lock): a PATCH storing pieces at this moment has either updated its upload's row
    already, and the pieces are read after its commit, or it waits and then finds the upload gone
    (404), deleting its own pieces.  Without that order a PATCH committing between the read of the
    pieces and the deletion of the upload left pieces in the store that no row named (the foreign
    key's ON DELETE CASCADE removed their rows)."""
    if not uploads:
        return 0
    ids = [u.id for u in uploads]
    db.session.execute(sa.select(Upload.id).where(Upload.id.in_(ids)).with_for_update())
    _forget_pieces(ids, _store())
    db.session.execute(sa.delete(Upload).where(Upload.id.in_(ids)))
    return len(ids)


def retry_orphans(limit: int = 5000) -> tuple[int, int]:
    """Delete from the store the pieces ``upload_orphan`` still lists (their deletion failed, or
    the process stopped before it); a deleted one loses its row, a refused one counts an attempt.
    Returns ``(deleted, still failing)``.  Part of :func:`purge_uploads`."""
    rows = db.session.scalars(sa.select(UploadOrphan).order_by(UploadOrphan.id).limit(limit)).all()
    if not rows:
        return 0, 0
    failed = _delete_keys(_store(), [r.key for r in rows])
    for r in rows:
        if r.key in failed:
            r.attempts += 1
            r.last_error = failed[r.key]
        else:
            db.session.delete(r)
    if failed:
        log.warning("%d upload pieces still cannot be deleted from the media store; retried next hour", len(failed))
    return len(rows) - sum(r.key in failed for r in rows), sum(r.key in failed for r in rows)


@periodic("core.purge_uploads", every_minutes=60)
def purge_uploads(now: dt.datetime | None = None) -> int:
    """Hourly: delete every upload past its ``expires_at`` (abandoned half-way, finished but never
    claimed, or consumed), its rows and its pieces in the store; and retry the pieces whose deletion
    failed before (:func:`retry_orphans`).  Returns how many uploads went.
    Source: RULES.md §5 / PIPL Art. 19 (kept no longer than the purpose needs), docs/privacy.md."""
    now = now or utcnow()
    retry_orphans()
    gone = db.session.scalars(sa.select(Upload).where(Upload.expires_at <= now).limit(5000)).all()
    return _drop(list(gone))


# ------------------------------------------------------------------------------------ personal data


def _export(user_id: int) -> dict:
    return {"upload.user_id": personal_data.rows_of("upload", "user_id", user_id, drop=("nonce",))}


def _erase(user_id: int, now: dt.datetime) -> None:
    _drop(list(db.session.scalars(sa.select(Upload).where(Upload.user_id == user_id))))


personal_data.register("uploads", columns=("upload.user_id",), export=_export, erase=_erase, order=50)
retention.register(
    "upload", tables=(), keep="until a form claims it, at most 24 hours after it was created", period_days=1,
    then="its pieces deleted once claimed; the row and any pieces left deleted by the hourly purge "
         "(core.purge_uploads) and the retention job; at once with the account",
    enforce=lambda now: purge_uploads(now=now),
    source="PIPL Art. 19 (kept no longer than the purpose needs); civic's choice (law silent): a day lets a "
           "resident finish an upload begun on a weak network")


def kinds() -> dict[str, UploadKind]:
    """The upload kinds, by name (a copy)."""
    return dict(KINDS)


__all__: list[str] = ["Upload", "UploadPiece", "UploadOrphan", "UploadKind", "KINDS", "create", "status", "receive", "terminate",
                      "claim_files", "purge_uploads", "retry_orphans", "parse_metadata", "parse_checksum", "kinds"]
