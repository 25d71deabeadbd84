"""Authentication shared by every domain, knowing no domain's tables.

* API clients send ``Authorization: Bearer <token>``; web pages use the Flask-Login session
  cookie.  Both end up as ``flask_login.current_user``: :func:`current_actor` and :func:`require`
  are what views call.
* Who a token is, and the memberships through which a user acts, live with the accounts domain
  (:mod:`civic.accounts.identity`, :mod:`civic.accounts.memberships`), which registers Flask-Login's
  loaders; the core keeps only what needs no table: the token hash, the bearer header, and the
  per-process :class:`PrincipalCache` that domains fill and empty.
"""

from __future__ import annotations

import functools
import hashlib
import threading

from cachetools import TTLCache
from flask import current_app, has_app_context, request
from flask_login import current_user

from civic.core.errors import Forbidden, Unauthenticated
from civic.extensions import login_manager


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a bearer token is stored (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token() -> str | None:
    """The token of this request's ``Authorization: Bearer`` header, or None without the header.

    :raises Unauthenticated: ``token_malformed`` for another scheme or an empty token."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization 头格式应为 Bearer <令牌>", code="token_malformed")
    return token.strip()


SESSION_TOKEN = "civic_token"  # key in the console's signed session cookie


class PrincipalCache:
    """Per worker process: who a bearer token is, for ``AUTH_CACHE_SECONDS`` (config; 0 = off).

    ``tokens``: token hash → the user's row with the token's expiry and revocation time;
    ``memberships``: user id → ``/me``'s membership summaries.  Every API request authenticates, so
    a hit saves its queries.  Entries are dropped in this process as soon as a change to a user, a
    membership, an organisation or a token is flushed or committed (the accounts and property domains
    empty it: :mod:`civic.accounts.identity`, :mod:`civic.property.models`), and by
    :func:`civic.accounts.identity.revoke_token`; other processes see such a change within the TTL, the same bound as any
    short-lived credential.  Expiry of the token itself is checked on every hit.  Bounded in size
    (cachetools' TTLCache, behind a lock for threaded workers)."""

    def __init__(self, seconds: float, maxsize: int = 10_000):
        self.enabled = seconds > 0
        self.tokens: TTLCache = TTLCache(maxsize, max(seconds, 0.001))
        self.memberships: TTLCache = TTLCache(maxsize, max(seconds, 0.001))
        self.lock = threading.Lock()

    def get(self, cache: TTLCache, key):
        if not self.enabled:
            return None
        with self.lock:
            return cache.get(key)

    def put(self, cache: TTLCache, key, value) -> None:
        if self.enabled:
            with self.lock:
                cache[key] = value

    def forget_token(self, token_hash: str) -> None:
        with self.lock:
            self.tokens.pop(token_hash, None)

    def forget_users(self, user_ids) -> None:
        ids = set(user_ids)
        with self.lock:
            for key in [k for k, row in self.tokens.items() if row["id"] in ids]:
                self.tokens.pop(key, None)
            for uid in ids:
                self.memberships.pop(uid, None)

    def clear(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.memberships.clear()


def principals() -> PrincipalCache:
    """This app's :class:`PrincipalCache` (made on first use)."""
    cache = current_app.extensions.get("civic_principals")
    if cache is None:
        cache = current_app.extensions["civic_principals"] = PrincipalCache(
            float(current_app.config.get("AUTH_CACHE_SECONDS") or 0))
    return cache


def principals_if_made() -> PrincipalCache | None:
    """This app's :class:`PrincipalCache` if one was made, else None (also outside an app context):
    for change listeners, which have nothing to forget before the first lookup."""
    if not has_app_context():
        return None
    return current_app.extensions.get("civic_principals")


@login_manager.unauthorized_handler
def _unauthorized():
    raise Unauthenticated()


def current_actor():
    """The authenticated user, or raise ``Unauthenticated`` (401)."""
    if not current_user or not current_user.is_authenticated:
        raise Unauthenticated()
    return current_user._get_current_object()


def require(*kinds: str):
    """Decorator: the caller must be logged in, and be one of ``kinds`` (resident/staff/admin)."""

    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_actor()
            if kinds and user.kind not in kinds:
                raise Forbidden(
                    "该操作仅限" + "、".join(KIND_NAMES[k] for k in kinds), code="wrong_account_kind"
                )
            return view(*args, **kwargs)

        return wrapper

    return deco


KIND_NAMES = {"resident": "居民", "staff": "工作人员", "admin": "管理员"}


