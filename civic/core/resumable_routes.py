"""Resumable uploads over tus 1.0 (:mod:`civic.core.resumable`): ``/api/v1/uploads``.  HTTP only.

``OPTIONS`` (Flask's automatic answer, with the tus headers added here), ``POST`` (creation),
``HEAD``/``GET`` (where to resume), ``PATCH`` (append), ``DELETE`` (termination).  Every answer carries
``Tus-Resumable: 1.0.0``; a request naming another version gets 412 with ``Tus-Version``.
"""

from __future__ import annotations

import email.utils

import marshmallow as ma
from flask import Response, request, url_for
from flask.views import MethodView
from werkzeug.exceptions import ClientDisconnected

from civic.core import resumable
from civic.core.api import Blueprint, envelope
from civic.core.auth import current_actor, require
from civic.core.schemas import Integer, ShanghaiDateTime

blp = Blueprint("uploads", __name__, url_prefix="/api/v1",
                description="断点续传上传（tus 1.0）：照片、扫描件分段上传，完成后在表单中以 upload_ids 提交")

_TUS_HEADERS = {
    "Tus-Version": resumable.TUS_VERSION,
    "Tus-Extension": ",".join(resumable.EXTENSIONS),
    "Tus-Max-Size": str(max(k.max_bytes for k in resumable.KINDS.values())),
    "Tus-Checksum-Algorithm": ",".join(resumable.CHECKSUMS),
}


@blp.before_request
def _tus_version():
    sent = request.headers.get("Tus-Resumable")
    if request.method != "OPTIONS" and sent is not None and sent.strip() != resumable.TUS_VERSION:
        return envelope("tus_version_unsupported", "不支持该 tus 协议版本（仅支持 1.0.0）",
                        {"supported": [resumable.TUS_VERSION]}, 412, {"Tus-Version": resumable.TUS_VERSION})
    return None


@blp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = resumable.TUS_VERSION
    if request.method == "OPTIONS":
        response.headers.update(_TUS_HEADERS)
    # The mini-program reads these from its own code; a browser client needs them exposed.
    response.headers["Access-Control-Expose-Headers"] = (
        "Location, Upload-Offset, Upload-Length, Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, "
        "Tus-Max-Size, Tus-Checksum-Algorithm")
    return response


class CreateHeadersSchema(ma.Schema):
    upload_length = Integer(data_key="Upload-Length", validate=ma.validate.Range(min=0, max=10**15 - 1),
                            metadata={"description": "文件大小（字节）；照片至多 20 MB，扫描件至多 10 MB"})
    upload_metadata = ma.fields.String(data_key="Upload-Metadata", validate=ma.validate.Length(max=4096),
                                       metadata={"description": "tus 元数据：filename、filetype、kind（photo | scan），"
                                                                "值为 base64，如 `filename cGhvdG8uanBn,kind cGhvdG8=`"})
    tus_resumable = ma.fields.String(data_key="Tus-Resumable", metadata={"description": "1.0.0"})

    @ma.pre_load
    def _length_as_digits(self, data, **kwargs):
        """``Upload-Length`` is ASCII digits only, at most 15 of them, as ``Upload-Offset`` is read
        (civic.core.resumable.receive).  Why: Integer calls ``int()``, which takes " 100", "+5" and
        other scripts' digits ("١٢" is 12), a length no tus client sends, read as a number the header
        does not spell.  Refused as any bad header field: 422 ``validation_failed`` naming it."""
        value = data.get("Upload-Length")
        if value is not None and not (isinstance(value, str) and value.isascii() and value.isdigit()
                                      and len(value) <= 15):
            raise ma.ValidationError("须为不超过 15 位的十进制数字（0-9）", field_name="Upload-Length")
        return data


class UploadSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "上传编号：在表单的 upload_ids 中提交"})
    url = ma.fields.String(metadata={"description": "该上传的 tus 地址（HEAD、PATCH、DELETE）"})
    kind = ma.fields.String(metadata={"description": "photo | scan"})
    filename = ma.fields.String()
    length = Integer(metadata={"description": "总字节数"})
    offset = Integer(metadata={"description": "已收到的字节数：从此处续传"})
    status = ma.fields.String(metadata={"description": "receiving（接收中）| complete（已完成并通过照片检查）| consumed（已提交）"})
    expires_at = ShanghaiDateTime(metadata={"description": "过期时间（Asia/Shanghai）：之前须传完并提交"})


def _url(u) -> str:
    return url_for("uploads.UploadById", upload_id=u.id)


def _present(u) -> dict:
    return {"id": u.id, "url": _url(u), "kind": u.kind, "filename": u.filename, "length": u.length,
            "offset": u.offset, "status": u.status, "expires_at": u.expires_at}


def _tus(u) -> dict:
    return {"Upload-Offset": str(u.offset), "Upload-Length": str(u.length),
            "Upload-Expires": email.utils.format_datetime(u.expires_at, usegmt=True),
            "Cache-Control": "no-store"}


_PATCH_PARAMETERS = [
    {"name": "Upload-Offset", "in": "header", "required": True, "schema": {"type": "integer", "minimum": 0},
     "description": "本段数据在文件中的起始位置（字节），须等于服务端已收到的字节数"},
    {"name": "Upload-Checksum", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "本段数据的校验值：`sha1 <base64>`（也支持 sha256、md5）；不符则 460 且本段不保存"},
    {"name": "Tus-Resumable", "in": "header", "required": False, "schema": {"type": "string"}},
]
_PATCH_BODY = {"required": True, "content": {resumable.CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}}}


@blp.route("/uploads")
class Uploads(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(CreateHeadersSchema, location="headers")
    @blp.response(201, UploadSchema)
    def post(self, headers):
        """新建断点续传上传（tus creation）：返回 Location 与上传编号

        Headers: ``Upload-Length`` (bytes), ``Upload-Metadata`` (``filename``, ``filetype``, ``kind``:
        photo | scan, each base64), ``Tus-Resumable: 1.0.0``.  Answer 201 with ``Location`` (the
        upload's URL), ``Upload-Expires`` and the upload as JSON (``id``, ``url``, ``offset`` 0...).
        The upload belongs to the caller only.  Errors: 400 upload_length_required,
        upload_metadata_invalid, invalid_text (a NUL in Upload-Metadata or Idempotency-Key); 409 upload_quota_exceeded (the account already has
        ``UPLOAD_MAX_OPEN`` unused uploads, still receiving or complete and not attached, or their
        lengths with this one pass ``UPLOAD_MAX_OPEN_BYTES``: attach or delete one); 412 tus_version_unsupported; 413
        upload_too_large (details ``max_bytes``); 422 upload_kind_unknown, upload_empty.
        """
        u = resumable.create(current_actor(), headers.get("upload_length"),
                             resumable.parse_metadata(headers.get("upload_metadata")))
        return _present(u), 201, {"Location": _url(u), **_tus(u)}


@blp.route("/uploads/<string:upload_id>")
class UploadById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, UploadSchema)
    def get(self, upload_id):
        """查询上传进度（tus HEAD 同此：Upload-Offset、Upload-Length、Upload-Expires）

        Only the account that created the upload sees it.  Errors: 404 upload_not_found (unknown, or
        another account's); 410 upload_expired.
        """
        u = resumable.status(current_actor(), upload_id)
        return _present(u), 200, _tus(u)

    @require("resident", "staff", "admin")
    @blp.doc(parameters=_PATCH_PARAMETERS, requestBody=_PATCH_BODY)
    @blp.response(204)
    def patch(self, upload_id):
        """续传一段数据（tus PATCH，Content-Type: application/offset+octet-stream）

        The body is the file's bytes from ``Upload-Offset`` on; the answer (204) carries the new
        ``Upload-Offset``.  When the last byte arrives the file goes through the photo pipeline's
        checks (the same as a direct upload); a file refused there is refused here with the
        pipeline's error and its last piece is not kept.  Errors: 400 upload_offset_required,
        checksum_invalid, checksum_algorithm_unsupported, upload_interrupted; 404 upload_not_found;
        409 upload_offset_mismatch (details ``offset``: resume from there), upload_complete,
        upload_consumed; 410 upload_expired; 411 length_required; 413 upload_past_length,
        photo_too_large, photo_too_many_pixels; 415 upload_content_type, photo_format_unsupported;
        422 photo_corrupt, photo_empty; 460 checksum_mismatch.
        """
        u = resumable.receive(current_actor(), upload_id, offset=request.headers.get("Upload-Offset"),
                              content_type=request.headers.get("Content-Type"),
                              content_length=request.content_length,
                              checksum=request.headers.get("Upload-Checksum"), body=request.stream,
                              disconnected=(ClientDisconnected,))
        return Response(status=204, headers=_tus(u))

    @require("resident", "staff", "admin")
    @blp.response(204)
    def delete(self, upload_id):
        """删除上传及其已收到的数据（tus termination）

        Errors: 404 upload_not_found; 410 upload_expired.
        """
        resumable.terminate(current_actor(), upload_id)
        return Response(status=204)
