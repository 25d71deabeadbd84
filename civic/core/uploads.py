"""Reading uploaded files from a request, the same way for every domain's routes and pages."""

from __future__ import annotations

from flask import request

from civic.core.errors import BadRequest


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
