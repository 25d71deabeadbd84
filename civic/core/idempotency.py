"""``Idempotency-Key`` for every POST that creates something.

A phone on a bad network retries.  The first request with a key stores its response in the same
transaction as what it created; a retry with the same key and the same body gets that response
back; the same key with a different body is a 409.  Two requests racing with one key: the unique
constraint lets one commit, the other is rolled back and answered with the winner's response.

Keys are scoped to the caller (user id, or client address for anonymous calls) and to the path.
The body fingerprint is semantic: JSON is canonicalised, multipart is the form fields plus the
SHA-256 of each file's bytes (a retried upload carries a new multipart boundary).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from flask import Response, current_app, g, request
from flask_login import current_user
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.api import IDEMPOTENCY_HEADER, idempotency_exempt
from civic.core.db import UTCDateTime, utcnow
from civic.core.errors import BadRequest, Conflict
from civic.core.jobs import periodic
from civic.extensions import db

HEADER = IDEMPOTENCY_HEADER
TTL = dt.timedelta(hours=48)


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    method_path: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    status: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    body: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (sa.UniqueConstraint("scope", "key", "method_path"),)


def _scope() -> str:
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"


def fingerprint() -> str:
    h = hashlib.sha256()
    ctype = request.mimetype or ""
    if ctype == "application/json":
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
            h.update(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())
        except ValueError:
            h.update(request.get_data(cache=True))
    elif ctype == "multipart/form-data" or ctype == "application/x-www-form-urlencoded":
        # A part without a name has the key None (werkzeug): sort by the text, never compare None.
        for k in sorted(request.form.keys(), key=str):
            h.update(f"f:{k}={request.form.getlist(k)!r}\n".encode())
        for k in sorted(request.files.keys(), key=str):
            for f in request.files.getlist(k):
                pos = f.stream.tell()
                h.update(f"file:{k}:".encode() + hashlib.sha256(f.stream.read()).digest())
                f.stream.seek(pos)
    else:
        h.update(request.get_data(cache=True))
    return h.hexdigest()


def _lookup(scope: str, key: str, method_path: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.method_path == method_path,
            IdempotencyRecord.created_at > utcnow() - TTL,
        )
    )


def _replay(rec: IdempotencyRecord) -> Response:
    resp = Response(rec.body, status=rec.status, content_type=rec.content_type)
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def exempt(view):
    """Mark a view (function or MethodView class) whose responses are never stored or replayed.

    Login responses carry a bearer token, which civic keeps only as its SHA-256: storing the
    response for a replay would keep the token itself.  An ``Idempotency-Key`` there is ignored.
    """
    view.idempotency_exempt = True
    return view


def _is_exempt() -> bool:
    return idempotency_exempt(current_app.view_functions.get(request.endpoint) if request.endpoint else None)


def before_request() -> Response | None:
    """Replay a stored response, or remember the key for :func:`store`."""
    if request.method != "POST" or _is_exempt():
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 200:
        raise BadRequest("Idempotency-Key 须为 1 至 200 个字符", code="idempotency_key_invalid")
    from civic.core.text import refuse_not_text

    refuse_not_text(key, header=HEADER)  # a NUL: stored by SQLite, refused by PostgreSQL
    scope, method_path, fp = _scope(), f"POST {request.path}", fingerprint()
    rec = _lookup(scope, key, method_path)
    if rec is not None:
        if rec.fingerprint != fp:
            raise Conflict(
                "同一 Idempotency-Key 已用于内容不同的请求",
                code="idempotency_key_reused",
                details={"key": key},
            )
        return _replay(rec)
    g.idempotency = (scope, key, method_path, fp)
    return None


def store(response: Response) -> None:
    """Add the record for a successful response to the request's transaction."""
    info = g.pop("idempotency", None)
    if info is None or response.status_code >= 400 or response.direct_passthrough:
        return
    scope, key, method_path, fp = info
    # A record of this key past TTL no longer answers (see _lookup): the key may serve again.
    db.session.execute(sa.delete(IdempotencyRecord).where(
        IdempotencyRecord.scope == scope, IdempotencyRecord.key == key,
        IdempotencyRecord.method_path == method_path, IdempotencyRecord.created_at <= utcnow() - TTL))
    db.session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            method_path=method_path,
            fingerprint=fp,
            status=response.status_code,
            body=response.get_data(),
            content_type=response.content_type or "application/json",
        )
    )


def replay_after_race(info) -> Response | None:
    """After a failed commit or an error response: if another request with our key has meanwhile
    committed, answer with its response (a retry must not see an error the first request did not).

    ``info`` is what :func:`before_request` remembered in ``g.idempotency``.
    """
    scope, key, method_path, fp = info
    rec = _lookup(scope, key, method_path)
    if rec is None:
        return None
    if rec.fingerprint != fp:
        raise Conflict("同一 Idempotency-Key 已用于内容不同的请求", code="idempotency_key_reused",
                       details={"key": key})
    return _replay(rec)


@periodic("core.purge_idempotency", hour=3, minute=20)
def purge_expired(now: dt.datetime | None = None) -> int:
    """Daily at 03:20 Asia/Shanghai: delete stored responses older than :data:`TTL` (48 h); they
    answer no retry any more and hold whole response bodies.  Returns how many were deleted."""
    cutoff = (now or utcnow()) - TTL
    return db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= cutoff)).rowcount
