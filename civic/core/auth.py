"""Authentication and scoped permission checks, shared by every domain.

* API clients send ``Authorization: Bearer <token>``; web pages use the Flask-Login session
  cookie.  Both end up as ``flask_login.current_user``.
* Every permission is scoped: staff act for an organisation, and an organisation acts only on the
  places it covers (a property company on its compounds, a residents' committee in its community).
  :func:`acting_memberships` and :func:`require_coverage` are the checks domains call.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
import threading

import sqlalchemy as sa
from cachetools import TTLCache
from flask import current_app, has_app_context, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from civic.core.db import as_utc, utcnow
from civic.core.errors import Forbidden, Unauthenticated
from civic.extensions import db, login_manager


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user, *, hours: int | None = None, label: str | None = None) -> tuple[str, dt.datetime]:
    """Create a bearer token for ``user``.  Returns ``(token, expires_at)``; only its hash is kept."""
    from civic.accounts.models import ApiToken

    if hours is None:
        key = "STAFF_TOKEN_TTL_HOURS" if user.kind != "resident" else "TOKEN_TTL_HOURS"
        hours = current_app.config[key]
    token = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(hours=hours)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), expires_at=expires, label=label))
    return token, expires


def revoke_token(token: str) -> bool:
    """Revoke a bearer token (logout).  Refused at once by this process; other worker processes
    refuse it within ``AUTH_CACHE_SECONDS`` (see :class:`PrincipalCache`).  Returns whether a live
    token was revoked."""
    from civic.accounts.models import ApiToken
    from civic.core.db import after_commit

    cache, token_hash = principals(), hash_token(token)
    # Now, and again once committed: another thread of this process could re-read the row between.
    cache.forget_token(token_hash)
    after_commit(lambda: cache.forget_token(token_hash))
    n = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    return bool(n)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization 头格式应为 Bearer <令牌>", code="token_malformed")
    return token.strip()


def revoke_user_tokens(user_id: int, *, keep: str | None = None) -> int:
    """Revoke every live token (API and console sessions) of a user, except the token ``keep``
    (raw) — e.g. after a password change the device that changed it stays logged in.  Refused at
    once by this process, within ``AUTH_CACHE_SECONDS`` by the others.  Returns how many."""
    from civic.accounts.models import ApiToken
    from civic.core.db import after_commit

    stmt = sa.update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if keep:
        stmt = stmt.where(ApiToken.token_hash != hash_token(keep))
    n = db.session.execute(stmt.values(revoked_at=utcnow())).rowcount
    cache = principals()
    cache.forget_users([user_id])
    after_commit(lambda: cache.forget_users([user_id]))  # again once committed, as in revoke_token
    return n


SESSION_TOKEN = "civic_token"  # key in the console's signed session cookie


def start_session(user, session) -> None:
    """Log ``user`` in to a cookie session (the staff console): a fresh session (nothing carried over
    from before the login: no fixation, a new CSRF secret) holding a server-side token
    (:func:`issue_token`, label ``console``), so that logout and a password change end it
    everywhere — a signed cookie alone would stay valid for anyone who kept a copy."""
    from flask_login import login_user

    session.clear()
    token, _ = issue_token(user, label="console")
    login_user(user)
    session[SESSION_TOKEN] = token


def end_session(session) -> None:
    """Log out of a cookie session: its token is revoked and the session emptied."""
    from flask_login import logout_user

    token = session.get(SESSION_TOKEN)
    if token:
        revoke_token(token)
    logout_user()
    session.clear()


@login_manager.user_loader
def _load_session_user(user_id: str):
    # The cookie names the user; its token must still be live (not revoked by a logout or a password
    # change, not expired) and belong to that user.  Otherwise the visitor is simply not logged in.
    from flask import session

    token = session.get(SESSION_TOKEN)
    if not token:
        return None
    try:
        user = _user_for_token(hash_token(token))
    except Unauthenticated:
        return None
    return user if str(user.id) == user_id else None


class PrincipalCache:
    """Per worker process: who a bearer token is, for ``AUTH_CACHE_SECONDS`` (config; 0 = off).

    ``tokens``: token hash → the user's row with the token's expiry and revocation time;
    ``memberships``: user id → ``/me``'s membership summaries.  Every API request authenticates, so
    a hit saves its queries.  Entries are dropped in this process as soon as a change to a user, a
    membership, an organisation or a token is flushed or committed (:func:`_forget_changed`), and by
    :func:`revoke_token`; other processes see such a change within the TTL, the same bound as any
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


def _forget_changed(session: Session) -> None:
    from civic.accounts.models import ApiToken, Membership, User
    from civic.property.models import Organisation

    if not has_app_context() or "civic_principals" not in current_app.extensions:
        return
    cache = current_app.extensions["civic_principals"]
    users = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, User):
            users.add(obj.id)
        elif isinstance(obj, ApiToken | Membership):
            users.add(obj.user_id)
        elif isinstance(obj, Organisation):  # its name or kind shows in /me's memberships
            cache.clear()
            return
    users.discard(None)
    if users:
        session.info.setdefault("principals_changed", set()).update(users)
        cache.forget_users(users)


@event.listens_for(Session, "after_flush")
def _principals_after_flush(session, flush_context):
    # After the flush new rows have their ids; session.new/dirty/deleted still list what it wrote.
    _forget_changed(session)


@event.listens_for(Session, "after_commit")
def _principals_after_commit(session):
    # Again once committed: a request in another thread of this process may have cached the old
    # row between the flush and the commit.
    users = session.info.pop("principals_changed", None)
    if users and has_app_context() and "civic_principals" in current_app.extensions:
        current_app.extensions["civic_principals"].forget_users(users)


@login_manager.request_loader
def _load_bearer_user(req):
    token = bearer_token()
    if token is None:
        return None
    return _user_for_token(hash_token(token))


def _user_for_token(token_hash: str):
    """The active user a live token belongs to.
    :raises Unauthenticated: ``token_invalid``, ``token_revoked``, ``token_expired``, ``account_disabled``."""
    from civic.accounts.models import User

    # Every API request passes here.  From the principal cache, or with one Core query on the
    # session's connection (the ORM execute path would add its compile-state bookkeeping for a
    # plain row); either way the User is attached to the session from that row without loading it
    # again (make_transient_to_detached, SQLAlchemy's documented way to use already-fetched rows).
    cache = principals()
    row = cache.get(cache.tokens, token_hash)
    if row is None:
        found = db.session.connection().execute(_token_statement(), {"h": token_hash}).mappings().first()
        row = dict(found) if found is not None else None
        if row is not None and row["_revoked_at"] is None:
            cache.put(cache.tokens, token_hash, row)
    if row is None:
        raise Unauthenticated("登录凭证无效，请重新登录", code="token_invalid")
    if row["_revoked_at"] is not None:
        raise Unauthenticated("登录凭证已注销，请重新登录", code="token_revoked")
    if as_utc(row["_expires_at"]) <= utcnow():
        raise Unauthenticated("登录已过期，请重新登录", code="token_expired")
    user = db.session.identity_map.get(db.session.identity_key(User, row["id"]))
    if user is None:
        user = _attach_user(User, row)
    if not user.active:
        raise Unauthenticated("账号已停用", code="account_disabled")
    return user


@functools.cache
def _user_keys(User) -> tuple[tuple[str, str], ...]:
    """(attribute, column name) of every mapped column of User (computed once)."""
    mapper = sa.inspect(User)
    return tuple((mapper.get_property_by_column(c).key, c.name) for c in User.__table__.columns)


@functools.cache
def _token_statement():
    # Built once: constructing a SELECT costs more than running it against SQLite's index.
    from civic.accounts.models import ApiToken, User

    return (sa.select(*User.__table__.columns, ApiToken.expires_at.label("_expires_at"),
                      ApiToken.revoked_at.label("_revoked_at"))
            .join(ApiToken, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == sa.bindparam("h")))


def _attach_user(User, row):
    """A persistent User built from an already-fetched row, without a second query."""
    from sqlalchemy.orm import make_transient_to_detached

    # Filled the way SQLAlchemy's own loader fills a row's instance (straight into its __dict__,
    # no attribute events), then marked persistent-and-detached, "as though freshly loaded".
    user = sa.orm.attributes.manager_of_class(User).new_instance()
    values = user.__dict__
    for key, name in _user_keys(User):
        values[key] = row[name]
    make_transient_to_detached(user)
    db.session.add(user)
    return user


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


def acting_memberships(user, *, org_kinds: tuple[str, ...] | None = None, roles: tuple[str, ...] | None = None):
    """The memberships through which ``user`` may act, optionally only for some organisation kinds
    and roles.  Returns a list of ``(membership, organisation)``."""
    from civic.accounts.models import Membership
    from civic.property.models import Organisation

    stmt = (
        sa.select(Membership, Organisation)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == user.id)
    )
    if org_kinds:
        stmt = stmt.where(Organisation.kind.in_(org_kinds))
    if roles:
        stmt = stmt.where(Membership.role.in_(roles))
    return list(db.session.execute(stmt).all())


def require_membership(user, organisation_id: int, roles: tuple[str, ...] | None = None):
    """Raise ``Forbidden`` unless ``user`` is a member of the organisation (with one of ``roles``)."""
    if user.kind == "admin":
        return None
    for m, org in acting_memberships(user, roles=roles):
        if org.id == organisation_id:
            return m
    raise Forbidden("您不是该组织的工作人员", code="not_a_member", details={"organisation_id": organisation_id})


def require_coverage(user, place_id: int, *, org_kinds: tuple[str, ...] | None = None):
    """Raise ``Forbidden`` unless one of the user's organisations covers ``place_id``.

    Returns the covering organisation.  Administrators pass everywhere.
    """
    from civic.property import service as registry

    if user.kind == "admin":
        return None
    for _m, org in acting_memberships(user, org_kinds=org_kinds):
        if registry.organisation_covers(org.id, place_id):
            return org
    raise Forbidden("该地点不在您所在组织的服务范围内", code="out_of_scope", details={"place_id": place_id})
