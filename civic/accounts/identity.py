"""Identity: who a bearer token or a console session is (Flask-Login's loaders), issuing and
revoking tokens, and keeping the per-process principal cache (:class:`civic.core.auth.PrincipalCache`)
true when users, tokens or memberships change.

Tokens are random (``secrets.token_urlsafe(32)``); only their SHA-256 is stored
(:func:`civic.core.auth.hash_token`).  Resident tokens live ``TOKEN_TTL_HOURS``, staff tokens
``STAFF_TOKEN_TTL_HOURS`` (config).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from civic.accounts.models import ApiToken, Membership, User
from civic.core.auth import SESSION_TOKEN, bearer_token, hash_token, principals, principals_if_made
from civic.core.db import after_commit, as_utc, utcnow
from civic.core.errors import Unauthenticated
from civic.extensions import db, login_manager


def issue_token(user, *, hours: int | None = None, label: str | None = None) -> tuple[str, dt.datetime]:
    """Create a bearer token for ``user``.  Returns ``(token, expires_at)``; only its hash is kept."""

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


def revoke_user_tokens(user_id: int, *, keep: str | None = None) -> int:
    """Revoke every live token (API and console sessions) of a user, except the token ``keep``
    (raw) — e.g. after a password change the device that changed it stays logged in.  Refused at
    once by this process, within ``AUTH_CACHE_SECONDS`` by the others.  Returns how many."""

    stmt = sa.update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if keep:
        stmt = stmt.where(ApiToken.token_hash != hash_token(keep))
    n = db.session.execute(stmt.values(revoked_at=utcnow())).rowcount
    cache = principals()
    cache.forget_users([user_id])
    after_commit(lambda: cache.forget_users([user_id]))  # again once committed, as in revoke_token
    return n


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


def _forget_changed(session: Session) -> None:

    # (A changed organisation empties the whole cache: civic.property.models listens for that.)
    cache = principals_if_made()
    if cache is None:
        return
    users = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, User):
            users.add(obj.id)
        elif isinstance(obj, ApiToken | Membership):
            users.add(obj.user_id)
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
    cache = principals_if_made()
    if users and cache is not None:
        cache.forget_users(users)


@login_manager.request_loader
def _load_bearer_user(req):
    token = bearer_token()
    if token is None:
        return None
    return _user_for_token(hash_token(token))


def _user_for_token(token_hash: str):
    """The active user a live token belongs to.
    :raises Unauthenticated: ``token_invalid``, ``token_revoked``, ``token_expired``, ``account_disabled``."""

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
