"""The one JSON error envelope.

Every error civic sends looks like::

    {"error": {"code": "photo_format_unsupported", "message": "中文说明", "details": {...}}}

Domain code raises a :class:`CivicError` (or a subclass); the app's error handlers turn it,
and every other HTTP error, into that envelope with the right status.  ``code`` is stable: clients
branch on it.  ``message`` is Chinese, for people.
"""

from __future__ import annotations

from typing import Any


class CivicError(Exception):
    """Base for every error that goes out in the envelope.

    :param code: stable machine code, snake_case English (e.g. ``"roster_frozen"``).
    :param message: a Chinese sentence for the person who sees it.
    :param details: JSON-serialisable extra facts (field names, limits, ids).
    :param status: HTTP status; subclasses set a sensible default.
    """

    status = 400
    default_code = "bad_request"
    default_message = "请求有误"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.details = details or {}
        if status is not None:
            self.status = status
        super().__init__(f"{self.code}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(CivicError):
    status = 400
    default_code = "bad_request"
    default_message = "请求有误"


class ValidationFailed(CivicError):
    """Input that is well-formed but breaks a rule (wrong type, unknown field, out of range)."""

    status = 422
    default_code = "validation_failed"
    default_message = "提交的数据不符合要求"


class Unauthenticated(CivicError):
    status = 401
    default_code = "unauthenticated"
    default_message = "请先登录"


class Forbidden(CivicError):
    status = 403
    default_code = "forbidden"
    default_message = "无权进行此操作"


class NotFound(CivicError):
    status = 404
    default_code = "not_found"
    default_message = "找不到该对象"


class Conflict(CivicError):
    status = 409
    default_code = "conflict"
    default_message = "操作冲突，请刷新后重试"


class PayloadTooLarge(CivicError):
    status = 413
    default_code = "payload_too_large"
    default_message = "上传内容过大"


def size_text(n_bytes: int) -> str:
    """A byte count as people read it: ``1 MB`` for 1,048,576, ``200 MB``, ``512 KB``, ``1000 字节``
    (binary multiples, as the limits are set)."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n_bytes >= size and n_bytes % size == 0:
            return f"{n_bytes // size} {unit}"
    return f"{n_bytes} 字节"


def body_too_large(limit: int, what: str = "请求体") -> PayloadTooLarge:
    """413 ``payload_too_large`` for a raw request body over ``limit`` bytes: the message states the
    limit (``JSON 请求体过大：最多 1 MB（1048576 字节）``), details ``{"max_bytes": limit}``."""
    words = size_text(limit)
    exact = "" if words.endswith("字节") else f"（{limit} 字节）"
    return PayloadTooLarge(f"{what}过大：最多 {words}{exact}", code="payload_too_large",
                           details={"max_bytes": limit})


class UnsupportedMedia(CivicError):
    status = 415
    default_code = "unsupported_media_type"
    default_message = "不支持的文件类型"


class RateLimited(CivicError):
    status = 429
    default_code = "rate_limited"
    default_message = "操作过于频繁，请稍后再试"
