"""HTTP only.  ``bp``: GeoReport v2 under /open311/v2, each resource in XML and JSON by its suffix
(a plain Blueprint: the standard, not OpenAPI, defines these).  ``admin_blp``: the partner keys."""

from __future__ import annotations

import hashlib
import logging
import re

from flask import Blueprint, current_app, request
from flask.views import MethodView
from werkzeug.exceptions import HTTPException

from civic.core.api import Blueprint as ApiBlueprint
from civic.core.auth import current_actor, require
from civic.core.errors import CivicError, body_too_large
from civic.extensions import limiter
from civic.open311 import schemas, service
from civic.open311.formats import errors, render

log = logging.getLogger(__name__)
bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(xml, json):fmt>"
# 404 only for what does not exist (the standard); a bad place or photo in a POST is a 400.
NOT_FOUND_CODES = {"service_code_not_found", "request_not_found", "jurisdiction_not_found", "token_not_found",
                   "photo_not_found", "media_not_found"}  # media_not_found: the store lost the file


def _fmt() -> str:
    return (request.view_args or {}).get("fmt") or ("json" if request.path.endswith(".json") else "xml")


@bp.errorhandler(CivicError)
def _civic_error(error: CivicError):
    if error.status in (401, 403):
        status = 403
    elif error.status == 404 and error.code in NOT_FOUND_CODES:
        status = 404
    elif error.status in (429, 500, 503) or error.code in ("photo_blur_pending", "photo_blur_failed"):
        # media: not blurred yet, or its detection failed: a 409 as on every other photo route
        status = error.status
    else:
        status = 400
    return errors(_fmt(), status, f"{error.code}: {error.message}")


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    status = error.code or 500
    if status == 429:
        return errors(_fmt(), 429, f"rate_limited: 请求过于频繁（{error.description}）")
    if status == 413:  # the standard's errors are 400s; the description states the real limit
        limit = request.max_content_length
        if limit:
            return errors(_fmt(), 400, f"http_413: {body_too_large(limit).message}")
    return errors(_fmt(), status if status in (404, 405) else 400, f"http_{error.code}: {error.name}")


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    log.exception("open311: unhandled error")
    return errors(_fmt(), 500, "server_error: 服务暂时不可用")


@bp.before_request
def _jurisdiction():
    # One jurisdiction: an empty jurisdiction_id counts as absent (the standard's optional arguments).
    given = (request.values.get("jurisdiction_id") or "").strip()
    if given and given != current_app.config["OPEN311_JURISDICTION_ID"]:
        raise CivicError(f"jurisdiction_id {given} 不存在", code="jurisdiction_not_found", status=404)


def _key_bucket() -> str:
    # Counted per api_key (its hash: the key itself never reaches the limiter's storage).
    key = request.form.get("api_key") or ""
    if key:
        return "open311:" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return "open311-ip:" + (request.remote_addr or "unknown")


@bp.get(f"/discovery.{FMT}")
def discovery(fmt):
    """Service discovery: where the GeoReport v2 endpoint is and in which formats."""
    return render(fmt, "discovery", service.discovery(request.url_root.rstrip("/") + bp.url_prefix))


@bp.get(f"/services.{FMT}")
def services(fmt):
    """GET Service List: civic's complaint categories."""
    return render(fmt, "services", service.services())


@bp.get(f"/services/<service_code>.{FMT}")
def service_definition(service_code, fmt):
    """GET Service Definition: the extra attributes a category asks for."""
    return render(fmt, "service_definition", service.service_definition(service_code))


_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_]+)\](\[\])?$")


@bp.route(f"/requests.{FMT}", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_OPEN311_POST"], key_func=_key_bucket, methods=["POST"])
def requests_(fmt):
    """GET Service Requests (filters) / POST Service Request (a partner files a case).

    Photos come only as multipart file parts (any field name; GeoReport v2 itself knows only
    ``media_url``), never as ``upload_ids``: civic's resumable uploads (/api/v1/uploads, tus) are
    bound to the *account* that created them and claimed by it (404 for anyone else), while an
    Open311 partner is not an account: it authenticates by ``api_key`` in the form, per request,
    and has no token to open or resume an upload with.  A partner is a server on a wired
    connection, not a phone on a weak mobile network, the case tus exists for; letting an API key
    claim uploads would need uploads owned by keys (a second owner kind, a second erasure path)
    for no one who needs it.  The files go through the same photo pipeline (service.create_request).
    This blueprint is outside the OpenAPI document (GeoReport v2 is its own specification), so the
    upload_ids sweep (tests/foundation/test_upload_ids_sweep.py) lists it as a reasoned exception."""
    if request.method == "GET":
        return render(fmt, "service_requests", service.list_requests(request.args.to_dict()))
    attributes: dict[str, list[str]] = {}
    for name in request.form:
        m = _ATTRIBUTE.match(name)
        if m:
            attributes.setdefault(m.group(1), []).extend(request.form.getlist(name))
    files = [(f.filename or f"photo{i + 1}", f.read())
             for i, f in enumerate(f for name in request.files for f in request.files.getlist(name))]
    answer = service.create_request(request.form.get("api_key"), request.form.to_dict(), attributes, files)
    return render(fmt, "service_requests", [answer], 201)


@bp.get(f"/requests/<service_request_id>.{FMT}")
def request_by_id(service_request_id, fmt):
    """GET Service Request: one request, as a one-item list."""
    return render(fmt, "service_requests", service.get_request(service_request_id, request.args.get("api_key")))


@bp.get("/media/<int:request_id>/<token>.jpg")
def media(request_id, token):
    """A request's photo as anyone may see it (an Open311 ``media_url``): faces and number plates
    blurred; 409 photo_blur_pending until that rendition exists (photo_blur_failed if its detection
    failed), 404 photo_not_found otherwise.
    ?size=thumb for the thumbnail."""
    from civic.core.photos import photo_response

    key = service.media_file(request_id, token, request.args.get("size"))
    # The file's content hash as ETag, revalidated on every read (a review makes a new rendition here).
    return photo_response(key, key, public=True)


@bp.get(f"/tokens/<token>.{FMT}")
def token(token, fmt):
    """GET service_request_id from a token.  Every civic service is realtime (POST answers with the
    service_request_id at once), so no token is ever issued: always 404."""
    raise CivicError("civic 的服务均为实时受理，不签发 token；请使用 POST 返回的 service_request_id",
                     code="token_not_found", status=404)


@bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest):
    return errors(_fmt(), 404, "not_found: 没有这个 Open311 资源（地址须以 .xml 或 .json 结尾）")


# --- partner keys (administrators) -------------------------------------------------------------

admin_blp = ApiBlueprint("open311_partners", __name__, url_prefix="/api/v1/open311",
                         description="Open311 合作方密钥（管理员）")


@admin_blp.route("/partners")
class Partners(MethodView):
    @require("admin")
    @admin_blp.arguments(schemas.PartnerKeyInSchema)
    @admin_blp.response(201, schemas.IssuedKeySchema)
    def post(self, data):
        """为合作机构签发 Open311 api_key（完整密钥仅显示这一次）

        Errors: 422 text_required, media_hosts_invalid.
        """
        row, key = service.issue_key(current_actor(), data["partner_name"], data["media_hosts"])
        return {**{k: getattr(row, k) for k in ("id", "partner_name", "key_prefix", "media_hosts", "created_at",
                                                "revoked_at")}, "api_key": key}

    @require("admin")
    @admin_blp.response(200, schemas.PartnerKeySchema(many=True))
    def get(self):
        """合作方密钥列表（不含密钥本身）"""
        return service.list_keys(current_actor())


@admin_blp.route("/partners/<int:key_id>/revoke")
class PartnerRevoke(MethodView):
    @require("admin")
    @admin_blp.response(200, schemas.PartnerKeySchema)
    def post(self, key_id):
        """吊销合作方密钥（立即生效）

        Errors: 404 partner_key_not_found; 409 already_revoked.
        """
        return service.revoke_key(current_actor(), key_id)
