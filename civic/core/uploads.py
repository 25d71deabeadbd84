"""Reading uploaded files from a request, the same way for every domain's routes and pages: the
multipart file parts, or finished resumable uploads named by ``upload_ids``
(:mod:`civic.core.resumable`)."""

from __future__ import annotations

import marshmallow as ma
from flask import request

from civic.core.errors import BadRequest, ValidationFailed

UPLOAD_IDS = "upload_ids"


def uploaded_files(field: str = "photos", default_name: str = "photo") -> list[tuple[str, bytes]]:
    """The files of a multipart ``field`` as ``[(filename, bytes), ...]``, in the order sent.

    A file without a name gets ``<default_name><n>`` (the photo pipeline names it in its errors).
    The empty part a browser sends for a file input left blank (no name, no bytes) is dropped; an
    empty file that has a name is kept, so the pipeline refuses it by name.
    """
    out = []
    for i, f in enumerate(request.files.getlist(field)):
        data = f.read()
        if not f.filename and not data:
            continue
        out.append((f.filename or f"{default_name}{i + 1}", data))
    return out


def csv_upload() -> str:
    """A CSV sent as a ``text/csv`` body or as the multipart field ``file``, decoded as UTF-8
    (a byte-order mark, as Excel writes it, is dropped).

    :raises BadRequest: ``csv_required`` (neither form), ``csv_encoding`` (not UTF-8).
    """
    if request.files.get("file"):
        raw = request.files["file"].read()
    elif request.mimetype in ("text/csv", "text/plain"):
        raw = request.get_data()
    else:
        raise BadRequest("请以 text/csv 请求体或 multipart 的 file 字段上传 CSV", code="csv_required")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest("CSV 须为 UTF-8 编码", code="csv_encoding") from exc


def upload_ids_field(what: str = "照片", most: int = 9) -> ma.fields.List:
    """The form field ``upload_ids`` (repeated, or one value with ids separated by commas): finished
    resumable uploads sent in place of (or beside) the file parts.  For a route's form schema."""
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=400)), validate=ma.validate.Length(max=most),
        metadata={"description": f"已通过断点续传（/api/v1/uploads，tus 1.0）传完的{what}的上传编号，可代替文件字段；"
                                 "每个上传只能提交一次"})


def file_field(description: str) -> ma.fields.Raw:
    """A single file part, for a route's form schema (documentation only: the file arrives in
    ``request.files``, which the route reads); shown as ``type: string, format: binary``."""
    return ma.fields.Raw(metadata={"type": "string", "format": "binary", "description": description})


def files_field(description: str) -> ma.fields.List:
    """A repeated file part (``photos``...), for a route's form schema (documentation only)."""
    return ma.fields.List(ma.fields.Raw(metadata={"type": "string", "format": "binary"}),
                          metadata={"description": description})


def _ids() -> list[str]:
    return [i.strip() for value in request.form.getlist(UPLOAD_IDS) for i in value.split(",") if i.strip()]


def photo_files(field: str = "photos", default_name: str = "photo", *, purpose: str,
                kinds: tuple[str, ...] = ("photo",)) -> list[tuple[str, bytes]]:
    """The files a form sends: its multipart ``field`` (:func:`uploaded_files`), then the finished
    resumable uploads of the form field ``upload_ids``, claimed for ``purpose`` (consumed once, in
    the request's transaction: :func:`civic.core.resumable.claim_files`).  Either way the domain's
    own call of the photo pipeline then checks and stores them, so an upload is handled exactly as
    a file sent with the form.

    :param purpose: what the files become, e.g. ``"complaints.photo"`` (kept on the upload, audited).
    :param kinds: the upload kinds the form takes (``photo``, ``scan``).
    :raises: :func:`civic.core.resumable.claim_files`'s errors (404 ``upload_not_found``, 409
        ``upload_incomplete``/``upload_consumed``, 410 ``upload_expired``, 422 ``upload_ids_invalid``,
        ``upload_kind_mismatch``).
    """
    files = uploaded_files(field, default_name)
    ids = _ids()
    if ids:
        from civic.core.auth import current_actor
        from civic.core.resumable import claim_files

        files += claim_files(current_actor(), ids, purpose=purpose, kinds=kinds)
    return files


def scan_file(field: str = "scan", *, purpose: str, kinds: tuple[str, ...] = ("scan", "photo"),
              required: bool = True) -> tuple[str, bytes] | None:
    """The one file of a single-file form field (a proxy form's or a paper ballot's scan): either the
    multipart part ``field`` or exactly one finished resumable upload in ``upload_ids``, claimed for
    ``purpose`` (:func:`photo_files`).  The caller's photo pipeline then checks and stores it.

    :param kinds: the upload kinds taken; a scan field takes ``scan`` and ``photo`` (a page
        photographed with a phone's camera is sent as either), as a claim's document does.
    :param required: False for an optional document (a tenant's claim): None when neither is sent.
    :raises ValidationFailed: 422 ``scan_required`` (neither a file part nor an upload id, when required),
        ``scan_one_only`` (both, or more than one of either; details ``files``, ``upload_ids``).
    :raises: :func:`civic.core.resumable.claim_files`'s errors for the upload id.
    """
    parts = uploaded_files(field, field)
    ids = _ids()
    if not parts and not ids:
        if not required:
            return None
        raise ValidationFailed("请上传扫描件图片（文件字段或一个 upload_ids）", code="scan_required",
                               details={"field": field})
    if len(parts) + len(ids) > 1:
        raise ValidationFailed("扫描件只能有一份：文件字段或一个 upload_ids，二者选一", code="scan_one_only",
                               details={"field": field, "files": len(parts), "upload_ids": len(ids)})
    if parts:
        return parts[0]
    from civic.core.auth import current_actor
    from civic.core.resumable import claim_files

    return claim_files(current_actor(), ids, purpose=purpose, kinds=kinds)[0]
