"""flask-smorest, adapted to civic's one error envelope.

Every HTTP error (webargs validation, 404, 405, 413, 429, 500...) goes out as::

    {"error": {"code": "validation_failed", "message": "提交的数据不符合要求", "details": {...}}}
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable

import flask_smorest
import marshmallow as ma
from flask import Response, current_app, has_request_context, jsonify, request
from flask_smorest import Api
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from civic.core.errors import BadRequest, CivicError, body_too_large
from civic.core.text import not_text_reason

log = logging.getLogger(__name__)

# Stable code and Chinese message for each HTTP status that is not raised as a CivicError.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "无权进行此操作"),
    404: ("not_found", "找不到该地址或对象"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "操作冲突，请刷新后重试"),
    413: ("payload_too_large", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_failed", "提交的数据不符合要求"),
    428: ("precondition_required", "缺少必要的请求头"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
    500: ("server_error", "服务器内部错误，请稍后重试"),
    503: ("service_unavailable", "服务暂时不可用"),
}


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "稳定的错误代码"})
    message = ma.fields.String(required=True, metadata={"description": "中文说明"})
    details = ma.fields.Dict(metadata={"description": "补充信息"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


# Server-rendered sections (path prefix → renderer): a person in a browser gets the same error as a
# page of that section instead of the JSON envelope.  See :func:`render_errors_as_pages`.
PAGE_ERRORS: dict[str, Callable[[str, str, dict, int], Response]] = {}


def render_errors_as_pages(prefix: str, render: Callable[[str, str, dict, int], Response]) -> None:
    """Errors of requests under ``prefix`` (e.g. ``/console``) — including those raised before any
    view runs: an unknown URL (404), a wrong method (405), a rate limit (429), a value too large for
    the database (422) — are rendered by ``render(code, message, details, status)``."""
    PAGE_ERRORS[prefix] = render


def envelope(code: str, message: str, details: dict | None = None, status: int = 400, headers=None):
    """The one error envelope ``{"error": {"code", "message", "details"}}`` with ``status``; as a page
    for the server-rendered sections registered with :func:`render_errors_as_pages`."""
    resp = _page(code, message, details or {}, status)
    if resp is None:
        resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    resp.status_code = status
    if headers:
        resp.headers.update(headers)
    return resp


def _page(code: str, message: str, details: dict, status: int) -> Response | None:
    if not PAGE_ERRORS or not has_request_context():
        return None
    for prefix, render in PAGE_ERRORS.items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            try:
                return render(code, message, details, status)
            except Exception:  # e.g. the database is down: the envelope still answers
                log.exception("error page for %s failed", request.path)
                return None
    return None


def _webargs_details(data) -> dict:
    messages = (data or {}).get("messages") or (data or {}).get("errors")
    if not messages:
        return {}
    # webargs nests by location ({"json": {"field": [...]}}); keep the location, it tells the client
    # whether the body, the query or a header was wrong.
    return {"fields": messages}


# NUL and lone UTF-16 surrogates are valid JSON escapes but not text (civic.core.text.NOT_TEXT).


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity, -Infinity: Python's extension, not RFC 8259


def _first_bad_text(value) -> str | None:
    """``"nul"`` or ``"lone_surrogate"`` for the first such string (key or value) in a parsed JSON
    document, else None.  Iterative: the document may be nested as deep as the parser allowed."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            reason = not_text_reason(item)
            if reason:
                return reason
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class CivicParser(FlaskParser):
    """webargs' Flask parser with civic's rules for JSON bodies (RFC 8259, UTF-8 text only):

    - a body cut at ``MAX_JSON_BYTES`` (sent chunked, without a Content-Length) is 413
      ``payload_too_large``, not a malformed document;
    - ``NaN``/``Infinity``, and nesting too deep for the parser, are 400 ``malformed_json``;
    - a NUL or a lone surrogate in any string is 400 ``invalid_text`` (details ``{"reason"}``),
      refused before a view runs rather than failing at the commit.
    """

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        data = req.get_data(cache=True)
        limit = current_app.config["MAX_JSON_BYTES"]
        if len(data) > limit:  # a chunked body, read one byte past the limit (civic.core.http)
            raise body_too_large(limit, "JSON 请求体")
        try:
            value = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
        except json.JSONDecodeError:
            raise  # webargs: an empty body is "no JSON" (422 for required fields), else 400
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise json.JSONDecodeError(f"{type(exc).__name__}: {exc}", "<body>", 0) from exc
        reason = _first_bad_text(value)
        if reason:
            raise BadRequest("请求中含有无效字符（NUL 或不成对的 UTF-16 代理项）", code="invalid_text",
                             details={"reason": reason})
        return value


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint reading arguments with :class:`CivicParser`; every API blueprint
    of civic is one of these."""

    ARGUMENTS_PARSER = CivicParser()


DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def decimal2properties(self, field, **kwargs) -> dict:
    """Every marshmallow ``Decimal`` field sent as a string (``as_string=True``, e.g.
    :class:`civic.core.schemas.DecimalString`: areas, scores, shares) is documented as what it is on
    the wire, ``{"type": "string", "format": "decimal", "pattern": ...}``, not apispec's default
    ``number``.  Registered once for the whole document (an apispec attribute function), so no
    field can be sent one way and documented another.  Why strings: exact arithmetic (a JavaScript
    number is a binary float: 0.1 + 0.2 != 0.3), and the mini-program's client keeps them exact."""
    if isinstance(field, ma.fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}
    return {}


def nullable_ref2properties(self, field, ret: dict, **kwargs) -> dict:
    """A nullable nested object (``Nested(..., allow_none=True)``) documented as
    ``{"allOf": [{"$ref": ...}], "nullable": true}``, OpenAPI 3.0's own way, instead of apispec's
    ``anyOf: [{"type": "object", "nullable": true}, {"$ref": ...}]``, which reads as "any object, or
    this one": generated clients turn it into ``{} | null | OrgRef`` and a typed mini-program cannot
    read ``lead.name`` without a cast."""
    any_of = ret.get("anyOf")
    if (isinstance(any_of, list) and len(any_of) == 2 and {"type": "object", "nullable": True} in any_of
            and any("$ref" in part for part in any_of)):
        ret.pop("anyOf")
        return {"allOf": [part for part in any_of if "$ref" in part], "nullable": True}
    return {}


IDEMPOTENCY_HEADER = "Idempotency-Key"  # civic.core.idempotency honours it; the document names it


def idempotency_exempt(view) -> bool:
    """Whether a view (function or flask-smorest ``MethodView``) is marked ``idempotency_exempt``:
    its POST takes no ``Idempotency-Key`` (signing in: no account yet to scope the key to)."""
    return bool(getattr(view, "idempotency_exempt", False)
                or getattr(getattr(view, "view_class", None), "idempotency_exempt", False))


class CivicApi(Api):
    """flask-smorest's Api with civic's error envelope and an OpenAPI document built on first use.

    flask-smorest documents every view of a blueprint as it registers it (deep copies of each view's
    doc, marshmallow schemas turned into JSON Schema): about a fifth of ``create_app()``.  A worker
    serving the API never reads that document, so ``register_blueprint`` registers the routes at
    once and the documentation when ``spec`` is first read (``/api/v1/openapi.json``, the docs
    page, ``flask openapi``), in the same order, once, under a lock.
    """

    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(decimal2properties)
        self.ma_plugin.converter.add_attribute_function(nullable_ref2properties)

    def __init__(self, *args, **kwargs):
        self._spec = None
        self._doc_pending: list[tuple] = []
        self._doc_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    @property
    def spec(self):
        if self._doc_pending:
            with self._doc_lock:
                # Emptied only once all is documented: a second reader waits on the lock rather
                # than getting a document half built.
                for blp, app, name, parameters in self._doc_pending:
                    blp.register_views_in_doc(self, app, self._spec, name=name, parameters=parameters)
                    self._spec.tag({"name": name, "description": blp.description})
                self._document_idempotency_key()
                self._doc_pending = []
        return self._spec

    def _document_idempotency_key(self) -> None:
        """Every POST that honours ``Idempotency-Key`` (:mod:`civic.core.idempotency`: all but the
        views marked exempt) documents the header, so a client built from the document alone knows
        it can retry a create safely (a phone on a bad network)."""
        param = {"name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
                 "description": "客户端为每次创建生成的唯一键（1-200 个字符）：网络重试时带同一键，服务端返回首次请求的结果，"
                                "不会重复创建；同一键用于内容不同的请求返回 409 idempotency_key_reused。"
                                "A key the client makes per create (1-200 characters); a retry with the same key "
                                "gets the first response back, kept 48 hours.",
                 "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[!-~]([ -~]*[!-~])?$"}}
        paths = self._spec._paths  # apispec keeps the document's paths here; no public reader
        for rule in self._app.url_map.iter_rules():
            if "POST" not in (rule.methods or ()):
                continue
            if idempotency_exempt(self._app.view_functions.get(rule.endpoint)):
                continue
            op = paths.get(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), {}).get("post")
            if op is not None and not any(p.get("name") == IDEMPOTENCY_HEADER for p in op.get("parameters", [])):
                op.setdefault("parameters", []).append(dict(param))

    @spec.setter
    def spec(self, value) -> None:
        # flask-smorest sets a new spec in init_app: documentation pending for an earlier app goes
        # with that app's spec, which nothing can read any more.
        self._spec = value
        self._doc_pending = []

    def register_blueprint(self, blp, *, parameters=None, **options):
        """Register ``blp`` on the app now and in the OpenAPI document when ``spec`` is next read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._doc_pending.append((blp, self._app, name, parameters))

    def handle_http_exception(self, error: HTTPException):
        return http_error_envelope(error)


def http_error_envelope(error: HTTPException):
    """A werkzeug ``HTTPException`` (404, 405, webargs' 422, Flask-Limiter's 429, ...) as civic's
    error envelope, with the stable code and Chinese message of :data:`HTTP_ERRORS`."""
    status = error.code or 500
    code, message = HTTP_ERRORS.get(status, ("http_error", "请求无法完成"))
    data = getattr(error, "data", None)
    details = _webargs_details(data)
    if status == 400 and data and "messages" in data:
        msgs = data["messages"]
        if isinstance(msgs, dict) and any("Invalid JSON body." in str(v) for v in msgs.values()):
            code, message, details = "malformed_json", "请求体不是有效的 JSON", {}
    if status == 429:
        details = {"limit": str(getattr(error, "description", ""))}
    if status == 413:
        # Werkzeug's own 413: the body passed the request's limit (MAX_CONTENT_LENGTH, or the JSON
        # limit civic.core.http set for this request).  Say which limit, in bytes and in words.
        limit = _body_limit()
        if limit:
            too_large = body_too_large(limit, "JSON 请求体" if request.is_json else "请求体")
            message, details = too_large.message, too_large.details
    headers = (data or {}).get("headers") or {}
    if status == 405 and error.get_headers():
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
    return envelope(code, message, details, status, headers)


def _body_limit() -> int | None:
    """The byte limit of this request's body (None outside a request or when there is none)."""
    if not has_request_context():
        return None
    if request.is_json:
        return current_app.config["MAX_JSON_BYTES"]
    return request.max_content_length


def handle_civic_error(error: CivicError):
    return envelope(error.code, error.message, error.details, error.status)


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return http_error_envelope(error)
    log.exception("unhandled error")
    code, message = HTTP_ERRORS[500]
    return envelope(code, message, {}, 500)
