"""Request lifecycle: error envelope, idempotency, body limits, and the one commit per request."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from civic.core import idempotency
from civic.core.api import envelope, handle_civic_error, handle_unexpected
from civic.core.db import MAX_ID, run_after_commit_hooks
from civic.core.errors import (
    CivicError,
    RateLimited,
    UnsupportedMedia,
    body_too_large,
)
from civic.core.text import refuse_not_text
from civic.extensions import csrf, db, limiter

CSRF_ALWAYS = ("/console",)

log = logging.getLogger(__name__)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every URL: ASCII digits only (Werkzeug's ``\\d`` also takes ``١`` and ``１``,
    which ``int()`` reads as 1: one object would have many URLs), bounded to the database's integer
    ids (PostgreSQL int4): a larger number is simply not found (404), never an overflow deep in the
    driver."""

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that a request without a session cookie (every API call
    with a bearer token) gets its empty session without Flask building a signing serializer first;
    a cookie is read and written exactly as Flask does."""

    def open_session(self, app: Flask, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    from civic.core import headers

    headers.init_app(app)
    app.session_interface = CookieSessionInterface()
    app.url_map.converters["int"] = BoundedIntConverter
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(DataError, _out_of_range)
    app.register_error_handler(CivicError, handle_civic_error)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(StaleDataError, _stale_data)
    app.register_error_handler(Exception, handle_unexpected)

    def _forget_user():
        # Flask-Login caches the user on ``g``, which lives on the app context: when a caller (the
        # test suite, a CLI command) holds one app context across requests, the next request must
        # not inherit the previous request's user (e.g. a token revoked by that request).  Flask-WTF
        # caches the CSRF token there too: another browser session must get its own.
        g.pop("_login_user", None)
        g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)

    # First of all before_request functions: the rate limiter's key may look at the user.
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_user)

    @app.before_request
    def _csrf():
        # Every console form carries a CSRF token (the login form too).  Elsewhere a write needs one
        # only when a session cookie could authenticate it: bearer-token clients (the API, Open311)
        # are exempt, since a browser never adds an Authorization header across sites, but a
        # cookie-authenticated write to the API (a logged-in console session) must carry the token.
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return None
        if request.path.startswith(CSRF_ALWAYS) or (
                not request.headers.get("Authorization") and "_user_id" in session):
            csrf.protect()
        return None

    @app.before_request
    def _limits():
        if not request.is_json and _has_body() and _takes_json(app, request.endpoint, request.method):
            # Without this, webargs would read no JSON from the body and answer 422 "missing field"
            # for a body the client did send, e.g. as text/plain or a form.
            raise UnsupportedMedia("请求体须为 JSON（Content-Type: application/json）", code="json_required",
                                   details={"content_type": request.mimetype or None})
        if request.mimetype in _FORM_TYPES and _has_body():
            # As for JSON (civic.core.api.CivicParser): PostgreSQL holds no NUL in text.
            for _key, values in request.form.lists():
                for value in values:
                    refuse_not_text(value)
        if request.is_json:  # application/json and every +json type
            limit = app.config["MAX_JSON_BYTES"]
            length = request.content_length
            if length is not None and length > limit:
                raise body_too_large(limit, "JSON 请求体")
            # A chunked body declares no length: Werkzeug stops reading it one byte past the limit,
            # which the JSON parser (civic.core.api.CivicParser) answers with 413.
            request.max_content_length = min(limit + 1, app.config["MAX_CONTENT_LENGTH"] or limit + 1)
        return idempotency.before_request()

    @app.after_request
    def _commit(response: Response) -> Response:
        if request.path.startswith("/static"):
            return response
        info = g.get("idempotency")
        if response.status_code >= 400:
            db.session.rollback()
            g.pop("idempotency", None)
            # A concurrent request with the same key may have won (and made this one fail, e.g.
            # with a uniqueness check): the retry gets the winner's answer.
            return _replay_winner(info) or response
        if request.method in ("GET", "HEAD") and not _wrote() and info is None:
            # A read: end the transaction without a COMMIT round trip (nothing to make durable).
            db.session.rollback()
            run_after_commit_hooks()
            return response
        try:
            idempotency.store(response)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            replay = _replay_winner(info)
            if replay is not None:
                return replay
            log.info("commit conflict on %s %s", request.method, request.path)
            return envelope("conflict", "操作冲突，请刷新后重试", {}, 409)
        except StaleDataError:
            # Optimistic lock lost at commit: another request changed the row first.
            db.session.rollback()
            return _stale_data(None)
        except OperationalError:
            db.session.rollback()
            log.exception("database error at commit")
            return envelope("service_unavailable", "数据库繁忙，请稍后重试", {}, 503)
        run_after_commit_hooks()
        return response


_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


_JSON_VIEWS: dict[tuple[str, str], bool] = {}


def _takes_json(app: Flask, endpoint: str | None, method: str) -> bool:
    """Whether the view for ``endpoint`` and ``method`` reads a JSON body (a flask-smorest
    ``@blp.arguments`` with location ``json``).  Views taking forms or files, console pages and
    Open311 are unaffected.  Cached per (endpoint, method): views do not change after start-up."""
    key = (endpoint or "", method)
    found = _JSON_VIEWS.get(key)
    if found is None:
        view = app.view_functions.get(endpoint) if endpoint else None
        cls = getattr(view, "view_class", None)
        func = getattr(cls, method.lower(), None) if cls is not None else view
        params = (getattr(func, "_apidoc", None) or {}).get("arguments", {}).get("parameters", [])
        found = _JSON_VIEWS[key] = any(p.get("in") == "json" for p in params)
    return found


def _out_of_range(error: Exception):
    """A number or text the database cannot hold (e.g. an id beyond 64 bits in a form field)."""
    db.session.rollback()
    log.info("value out of range: %s", error)
    return envelope("value_out_of_range", "提交的数值或内容超出允许范围", {}, 422)


def _wrote() -> bool:
    """Whether this request changed anything: pending objects, or a flush already sent."""
    sess = db.session()
    return bool(sess.new or sess.dirty or sess.deleted or sess.info.get("flushed")
                or sess.info.get("after_commit"))


@event.listens_for(Session, "after_flush")
def _mark_flushed(session, flush_context):
    session.info["flushed"] = True


@event.listens_for(Session, "after_transaction_end")
def _clear_flushed(session, transaction):
    if transaction.parent is None:
        session.info.pop("flushed", None)


def _writer_key() -> str:
    # Residents behind one carrier-grade NAT share an address: a logged-in caller counts by account.
    try:
        if current_user and current_user.is_authenticated:
            return f"user:{current_user.id}"
    except CivicError:
        pass  # a bad token: the view's own check answers 401
    return f"ip:{request.remote_addr or 'unknown'}"


def public_write_limit(view):
    """Decorator for endpoints where the public writes (complaints, comments, ideas, votes...).

    One budget, ``RATELIMIT_PUBLIC_WRITE`` (default "30 per minute"), shared by every decorated
    endpoint, counted per account (per client address when anonymous), on POST/PUT/PATCH/DELETE
    only.  Over it: 429 ``rate_limited``.  Use on a function view or in a MethodView's
    ``decorators = [public_write_limit]``.
    """
    return limiter.shared_limit(
        lambda: current_app.config["RATELIMIT_PUBLIC_WRITE"], scope="public_write",
        key_func=_writer_key, methods=["POST", "PUT", "PATCH", "DELETE"],
    )(view)


def _login_body() -> dict:
    body = request.get_json(silent=True) if request.is_json else None
    return body if isinstance(body, dict) else request.form


def _login_account() -> str:
    """The account a login tries (username or phone, lower-cased), or "" when the body names none
    (a WeChat code)."""
    source = _login_body()
    return str(source.get("username") or source.get("phone") or "").strip().lower()


def _credential() -> str:
    """What a login tries: the account (username or phone), else the WeChat code; "" for none."""
    return _login_account() or str(_login_body().get("code") or "").strip()


def _digest(text: str) -> str:
    # Only a hash of an account or a code reaches the limiter's storage (Redis in production).
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else "-"


def _account_digest() -> str:
    return _digest(_login_account())


def _login_credential_key() -> str:
    # One account, phone or WeChat code tried from this client address: hammering one is capped
    # without a shared address (an office's or a carrier's NAT) locking out everyone behind it.
    return f"{request.remote_addr or 'unknown'}|{_digest(_credential())}"


def _login_limits(address_setting: str, address_scope: str):
    per_credential = limiter.shared_limit(lambda: current_app.config["RATELIMIT_LOGIN"], scope="login",
                                          key_func=_login_credential_key)
    per_address = limiter.shared_limit(lambda: current_app.config[address_setting], scope=address_scope)
    failures = limiter.shared_limit(lambda: current_app.config["RATELIMIT_LOGIN_FAILURES"],
                                    scope="login_failures", key_func=_account_digest,
                                    exempt_when=lambda: not _login_account(),
                                    deduct_when=lambda response: response.status_code == 401)
    return lambda view: per_address(per_credential(failures(view)))


def login_limit(view):
    """Decorator for the staff's ways of logging in (password, in the API and the console).

    - ``RATELIMIT_LOGIN`` (default "10 per minute;50 per hour") per account, phone or WeChat code
      tried from one client address, shared by every way of logging in (staff's and residents');
    - ``RATELIMIT_LOGIN_ADDRESS`` (default "100 per minute;1000 per hour") per client address
      whatever the account, for the staff's ways only (a many-account password guesser behind one
      address; one office's NAT stays well under it);
    - ``RATELIMIT_LOGIN_FAILURES`` (default "30 per hour") *failed* attempts (401) per account or
      phone from any address (a guesser spreading over many addresses).  It may hold the account's
      own user back for the rest of the hour after such an attack: chosen over letting the guessing
      go on.  A login that names no account (a WeChat code) is not counted here.

    Over any: 429 ``rate_limited``.
    """
    return _login_limits("RATELIMIT_LOGIN_ADDRESS", "login_address")(view)


def resident_login_limit(view):
    """Decorator for the residents' ways of logging in (WeChat code, phone code: asking for it and
    using it).  As :func:`login_limit`, except the per-address budget:
    ``RATELIMIT_RESIDENT_LOGIN_ADDRESS`` (default "1200 per minute;20000 per hour"), sized for a
    carrier's NAT, behind which a whole compound may share one address on an owners' vote evening
    (300 residents logging in within a minute by phone make 600 requests).  Guessing is held back
    per credential instead: ``RATELIMIT_LOGIN`` per WeChat code or phone from one address, the code's
    own attempts (``OTP_MAX_ATTEMPTS``) and resend interval, ``RATELIMIT_LOGIN_FAILURES`` per phone,
    and ``RATELIMIT_LOGIN_OPENID`` per WeChat user (:func:`count_attempt` in the accounts service).
    """
    return _login_limits("RATELIMIT_RESIDENT_LOGIN_ADDRESS", "resident_login_address")(view)


def code_check_limit(view):
    """Decorator for a code a signed-in person checks (an owner's SMS code in a vote, a ballot
    receipt): ``RATELIMIT_LOGIN`` per account (per client address when the caller is not signed in)
    and ``RATELIMIT_RESIDENT_LOGIN_ADDRESS`` per client address, sized for a carrier's NAT: the
    owners of one compound verify and check receipts from one address on the vote's evening.
    Over either: 429 ``rate_limited``."""
    per_account = limiter.shared_limit(lambda: current_app.config["RATELIMIT_LOGIN"], scope="code_check",
                                       key_func=_writer_key)
    per_address = limiter.shared_limit(lambda: current_app.config["RATELIMIT_RESIDENT_LOGIN_ADDRESS"],
                                       scope="code_check_address")
    return per_address(per_account(view))


def count_attempt(scope: str, limit: str, key: str) -> None:
    """Count one attempt of ``key`` (hashed before it is stored) in ``scope`` against ``limit``
    (Flask-Limiter syntax, e.g. "10 per minute;50 per hour"), in the same storage as the decorators'
    limits, for what is known only inside a service (the WeChat openid a code stands for).

    :raises RateLimited: 429 ``rate_limited``, ``details.limit`` the limit met (e.g. "10 per 1 minute").
    """
    from limits import parse_many

    if not limiter.enabled:
        return
    for item in parse_many(limit):
        if not _hit(item, scope, _digest(key)):
            raise RateLimited("操作过于频繁，请稍后再试", code="rate_limited", details={"limit": str(item)})


def _hit(item, scope: str, key: str) -> bool:
    """Count one hit in the limiter's storage.  When that storage (Redis) fails and the in-memory
    fallback is on (``CIVIC_REDIS_URL`` set: civic._rate_limit_storage), count in this process's
    memory instead, as Flask-Limiter's decorators do on the same failure: a Redis outage must not
    fail a login."""
    try:
        return limiter.limiter.hit(item, scope, key)
    except Exception:
        if not current_app.config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED") or limiter._storage_dead:
            raise
        log.warning("rate limit storage unreachable: counting %s in this process's memory", scope)
        # Flask-Limiter has no public switch: this is the flag its own checks set on a storage
        # error, and clear when the storage answers again (tests/foundation/test_redis_outage.py
        # fails if a new Flask-Limiter renames it).
        limiter._storage_dead = True
        return limiter.limiter.hit(item, scope, key)


def _replay_winner(info) -> Response | None:
    if info is None:
        return None
    try:
        return idempotency.replay_after_race(info)
    except CivicError as exc:
        return handle_civic_error(exc)


def _integrity_error(error: IntegrityError):
    db.session.rollback()
    log.info("integrity error: %s", error.orig)
    return envelope("conflict", "操作冲突，请刷新后重试", {}, 409)


# A complaint's lost race has had its own code since the mini-program first shipped; every other
# versioned row answers with the neutral one.
_STALE_CODES = {"complaint": "case_changed"}


def _stale_data(error: StaleDataError | None):
    """A versioned row (a complaint, topic, disclosure...) was changed by someone else between our read
    and our write: one of two people acting at once wins, the other gets this 409 (``stale_version``,
    ``case_changed`` for a complaint), nothing is half-written."""
    db.session.rollback()
    log.info("optimistic lock lost: %s", error)
    table = re.search(r"on table '(\w+)'", str(error or ""))
    code = _STALE_CODES.get(table.group(1) if table else "", "stale_version")
    return envelope(code, "数据已被他人更新，请刷新后重试", {}, 409)


__all__ = ["init_app", "public_write_limit", "login_limit", "resident_login_limit", "code_check_limit",
           "count_attempt", "HTTPException"]
