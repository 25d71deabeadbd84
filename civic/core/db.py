"""Database base: mixins, time helpers, SQLite settings, and the one commit per request.

Views never commit.  :func:`commit_request` runs after each successful request (and the CLI and
jobs call it themselves): it writes the idempotency record in the same transaction as the objects
the request created, commits once, then runs the after-commit hooks (jobs, notifications), so no
worker ever sees a half-written row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from civic.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")


MAX_ID = 2**31 - 1  # ids are PostgreSQL int4 (SERIAL) everywhere


def parse_id(text: str | None) -> int | None:
    """An id from text that came from outside (a query string, a form, an Open311 path): ASCII
    digits ``0-9`` only, 1 to :data:`MAX_ID`; anything else (``"١"``, ``"１"``, ``"²"``, ``"-1"``,
    ``"1e3"``, a number past int4) is ``None``, which callers answer as not found or invalid."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime.  Stored times are UTC; shown in Asia/Shanghai."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes: they are UTC by construction."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def to_shanghai(value: dt.datetime | None) -> dt.datetime | None:
    """An instant shown in Asia/Shanghai (+08:00), the zone every user of civic reads."""
    value = as_utc(value)
    return value.astimezone(SHANGHAI) if value else None


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware datetime stored as UTC on every backend (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return as_utc(value)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )



# --- tables that are not models ------------------------------------------------------------------

# SQLite's R*Tree virtual tables (``<table>_rtree``) and the shadow tables SQLite keeps for each
# (``_node``, ``_rowid``, ``_parent``): made by migrations and kept by triggers, not models.
_RTREE_SUFFIXES = ("_rtree", "_rtree_node", "_rtree_rowid", "_rtree_parent")


def is_index_table(name: str) -> bool:
    """Whether the table ``name`` is a spatial index SQLite keeps (an R*Tree or one of its shadow
    tables; migration 0024_rtree), not a table of civic's models."""
    return name.endswith(_RTREE_SUFFIXES)


def include_in_autogenerate(name, type_, parent_names) -> bool:
    """Alembic's ``include_name`` hook (migrations/env.py, tests/foundation/test_migrations.py):
    SQLite's R*Tree tables are the migrations' and triggers' business, not the models'."""
    return not (type_ == "table" and bool(name) and is_index_table(name))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # WAL lets readers and one writer work at once; busy_timeout makes a second gunicorn worker
    # wait for the lock instead of failing with "database is locked"; SQLite leaves foreign keys
    # off unless asked.
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # create_app passes SQLITE_BUSY_TIMEOUT_MS as the driver's ``timeout``, which sets busy_timeout:
    # setting it again here would override the configured value.
    if cur.execute("PRAGMA busy_timeout").fetchone()[0] == 0:
        cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


# --- the pool's liveness check: only after idle ----------------------------------------------

_IDLE_SINCE = "civic_idle_since"


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Check a pooled connection with ``SELECT 1`` on checkout only when it sat idle in the pool for
    more than ``seconds`` (0: on every checkout, what SQLAlchemy's ``pool_pre_ping`` does); a dead
    one is replaced by raising ``DisconnectionError``, on which the pool connects anew (up to three
    times: SQLAlchemy "Disconnect Handling - Pessimistic", custom checkout event).

    Why: ``pool_pre_ping`` costs one round trip per request -- a busy worker's connections are never
    idle for long, and a database restart while they are in use is caught by SQLAlchemy's optimistic
    handling anyway (the request fails once, the pool is invalidated).  A worker idle over the night
    still gets its connections checked.  Set by ``DB_PING_AFTER_IDLE_S`` (create_app)."""
    import time

    from sqlalchemy import exc

    def _fresh(dbapi_connection, record):
        record.info[_IDLE_SINCE] = time.monotonic()

    def _checkin(dbapi_connection, record):
        record.info[_IDLE_SINCE] = time.monotonic()

    def _checkout(dbapi_connection, record, proxy):
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since <= seconds:
            return
        try:
            cur = dbapi_connection.cursor()
            try:
                cur.execute("SELECT 1")
            finally:
                cur.close()
            dbapi_connection.rollback()  # leave no transaction open for the request's own BEGIN
        except Exception as e:  # any driver error here means the connection is gone
            raise exc.DisconnectionError() from e

    event.listen(engine, "connect", _fresh)
    event.listen(engine, "checkin", _checkin)
    event.listen(engine, "checkout", _checkout)


# --- after-commit hooks -------------------------------------------------------------------------
#
# A hook belongs to the transaction, or the savepoint, it was registered in: it is kept as
# ``(depth, fn)``, depth being the number of savepoints open then (0: none).  Releasing a savepoint
# hands its hooks to the enclosing level and decides nothing: the outer transaction may still roll
# back.  Rolling a savepoint back undoes only what was done inside it: its after-commit hooks are
# dropped and its after-rollback hooks run (what it stored is deleted); hooks registered before it
# are kept.  Only the outermost commit runs the after-commit hooks (and drops the after-rollback
# ones); only the outermost rollback drops the former and runs the latter.
#
# Why: SQLAlchemy sends ``after_commit`` for a savepoint's release too, and ``after_soft_rollback``
# for a savepoint's rollback.  Before, a released savepoint (``insert_once``, a supporter joining a
# case) ran nothing yet threw away the after-rollback hooks, so a request failing afterwards left its
# stored files in the media store; and a savepoint rolled back and caught (a supporter who joined
# twice at once) dropped every after-commit hook of the request, e.g. a job already enqueued.

_AFTER_COMMIT, _AFTER_ROLLBACK = "after_commit", "after_rollback"


def _depth(transaction) -> int:
    """How many savepoints are open at ``transaction`` (a SessionTransaction or None), itself included."""
    n = 0
    while transaction is not None:
        n += bool(transaction.nested)
        transaction = transaction.parent
    return n


def _register(kind: str, fn: Callable[[], None]) -> None:
    session = db.session()
    if not session.in_transaction():
        # Without a transaction a rollback fires no event, and the hook would outlive it.
        session.begin()
    session.info.setdefault(kind, []).append((_depth(session.get_nested_transaction()), fn))


def after_commit(fn: Callable[[], None]) -> None:
    """Run ``fn`` once the current (outermost) transaction has committed; dropped on rollback, and on
    the rollback of a savepoint it was registered in."""
    _register(_AFTER_COMMIT, fn)


def after_rollback(fn: Callable[[], None]) -> None:
    """Run ``fn`` if the current transaction is rolled back, or the savepoint it was registered in
    (e.g. to delete what a request put in the media store before it failed); dropped on commit.
    ``fn`` must not touch the session (it runs inside SQLAlchemy's rollback)."""
    _register(_AFTER_ROLLBACK, fn)


def _run_rollback_hooks(hooks) -> None:
    for _level, fn in hooks:
        try:
            fn()
        except Exception:  # a clean-up must not hide the error that caused the rollback
            import logging

            logging.getLogger(__name__).warning("after-rollback hook failed", exc_info=True)


@event.listens_for(Session, "after_commit")
def _collect(session: Session):
    released = session.get_nested_transaction()  # during a savepoint's release: that savepoint
    if released is not None:
        level = _depth(released)
        for kind in (_AFTER_COMMIT, _AFTER_ROLLBACK):
            hooks = session.info.get(kind)
            if hooks:
                session.info[kind] = [(min(d, level - 1), fn) for d, fn in hooks]
        return
    # Extend, not replace: a second commit before the hooks run must not drop the first one's.
    session.info.setdefault("_ready", []).extend(fn for _d, fn in session.info.pop(_AFTER_COMMIT, []))
    session.info.pop(_AFTER_ROLLBACK, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction):
    if previous_transaction.nested:
        level = _depth(previous_transaction)
        session.info[_AFTER_COMMIT] = [(d, fn) for d, fn in session.info.get(_AFTER_COMMIT, []) if d < level]
        hooks = session.info.get(_AFTER_ROLLBACK, [])
        session.info[_AFTER_ROLLBACK] = [(d, fn) for d, fn in hooks if d < level]
        _run_rollback_hooks([(d, fn) for d, fn in hooks if d >= level])
        return
    if previous_transaction.parent is not None:
        return  # a subtransaction (a failed flush): the rollback of its boundary is still to come
    session.info.pop(_AFTER_COMMIT, None)
    _run_rollback_hooks(session.info.pop(_AFTER_ROLLBACK, []))


def run_after_commit_hooks() -> None:
    hooks = db.session.info.pop("_ready", [])
    for fn in hooks:
        fn()


def commit() -> None:
    """Commit the session, then run the hooks registered with :func:`after_commit`."""
    db.session.commit()
    run_after_commit_hooks()


# --- ending a transaction that has only read --------------------------------------------------------
#
# A request that will wait a long time (a tus PATCH reading a phone's body over a weak network) ends
# its transaction first, so that it holds no pooled connection, no row or table lock and no snapshot
# meanwhile; the wait's result is then written in a new transaction.  That is safe only if the
# transaction has written nothing: a rollback would silently undo it.  The session's own state does
# not tell: a Core statement run through the session (``session.execute(sa.update(...))``) or on its
# connection flushes nothing.  So every connection notes any INSERT, UPDATE or DELETE it sends until
# its transaction ends.

_WROTE = "civic_wrote"
_DML = ("INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLAC")


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn, cursor, statement, parameters, context, executemany):
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        conn.info[_WROTE] = True
    elif statement.lstrip()[:6].upper() in _DML:  # text() statements carry no such flags
        conn.info[_WROTE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_write(conn):
    conn.info.pop(_WROTE, None)


def end_if_read_only() -> bool:
    """End the session's transaction (a rollback: releases its connection to the pool) if it has
    written nothing, and return True; return False, leaving it alone, when it holds anything to
    keep: pending or flushed objects, a Core INSERT/UPDATE/DELETE sent on its connection, or hooks
    registered with :func:`after_commit` or :func:`after_rollback` (a rollback would drop or run
    them).  Row locks taken by ``SELECT ... FOR UPDATE`` are released with it: call it before taking
    any.  Used by the tus PATCH (:func:`civic.core.resumable.receive`) before it reads the body."""
    session = db.session()
    if not session.in_transaction():
        return True
    if (session.new or session.dirty or session.deleted or session.info.get("flushed")
            or session.info.get(_AFTER_COMMIT) or session.info.get(_AFTER_ROLLBACK)):
        return False
    # A transaction that never checked out a connection has sent nothing.  ``connections`` is public
    # from SQLAlchemy 2.1.7; before, the same connections are in ``_connections``.
    transaction = session.get_transaction()
    held = getattr(transaction, "connections", None)
    if held is None:
        held = [entry[0] for entry in transaction._connections.values()]
    if any(conn.info.get(_WROTE) for conn in held):
        return False
    session.rollback()
    return True


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(conn, name):
    # pysqlite's legacy transaction control sends BEGIN only before INSERT/UPDATE/DELETE.  A
    # SAVEPOINT sent first would itself open the transaction, and releasing that outermost savepoint
    # COMMITs: what insert_once() added would survive the request's later rollback.  Open the real
    # transaction first (SQLAlchemy's pysqlite notes describe the same trap).
    raw = conn.connection.dbapi_connection
    if type(raw).__module__.startswith("sqlite3") and not raw.in_transaction:
        raw.execute("BEGIN")


# --- inserts that may meet a uniqueness constraint --------------------------------------------------

def insert_once(obj, conflict: Exception):
    """Add ``obj`` and flush it under a savepoint.  When a unique constraint already holds such a
    row (a repeated or concurrent request), raise ``conflict`` (e.g. a 409 ``Conflict`` with the
    domain's code) and leave the rest of the transaction intact — never a 500, never two rows.
    Returns ``obj``."""
    from sqlalchemy.exc import IntegrityError

    try:
        with db.session.begin_nested():
            db.session.add(obj)
    except IntegrityError as exc:
        raise conflict from exc
    return obj


# --- optimistic locks (version_id_col) ----------------------------------------------------------------

def flush_or(conflict: Exception) -> None:
    """Flush the session; when a row with an optimistic lock (SQLAlchemy ``version_id_col``: the
    UPDATE says ``WHERE version = <as read>``) was changed by another request since this one read it,
    raise ``conflict`` (the domain's 409 with its own code and message) instead of SQLAlchemy's
    ``StaleDataError``.  The transaction is then spoilt: the request ends in that error and is
    rolled back.  Holds on SQLite, where ``SELECT ... FOR UPDATE`` locks nothing, and PostgreSQL."""
    from sqlalchemy.orm.exc import StaleDataError

    try:
        db.session.flush()
    except StaleDataError as exc:
        raise conflict from exc


def claim_row(row, conflict: Exception) -> None:
    """Take a versioned ``row`` for this transaction before acting on what was read of it: write its
    ``updated_at`` now, so its version moves on (:func:`flush_or`).  If another request changed it
    since it was read, ``conflict`` is raised; once claimed, a second request's claim waits for this
    transaction (PostgreSQL's row lock, SQLite's write lock) and then fails.  Of any number of
    concurrent changes of one row exactly one wins."""
    row.updated_at = utcnow()
    flush_or(conflict)


# --- edits of versioned objects ---------------------------------------------------------------------

def _same(before: Any, after: Any) -> bool:
    # True == 1 in Python: a flag is not a count.
    return isinstance(before, bool) == isinstance(after, bool) and before == after


def changes(current: Mapping[str, Any], proposed: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{name: (before, after)}`` for each entry of ``proposed`` whose value differs from
    ``current[name]`` (by value: ``Decimal("1.0")`` equals ``Decimal("1.00")``, a list equals an equal
    list); ``{}`` when ``proposed`` changes nothing.  See :func:`edit`."""
    return {k: (current.get(k), v) for k, v in proposed.items() if not _same(current.get(k), v)}


def edit(row, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Apply an edit to a versioned object: set on ``row`` only the attributes of ``values`` (already
    validated and normalised, e.g. tidied text) that differ from what it holds, and return those
    changes (:func:`changes`).

    The one rule of every versioned object in civic (an idea and its content versions, a topic, a
    comment, a disclosure, a contest's schedule, minutes, rules of procedure...): **an edit that
    changes nothing makes no version** (issue 15 point 13).  When the result is ``{}`` nothing was
    written: the caller adds no version row, claims no row (:func:`claim_row`), bumps no counter,
    writes no audit entry and answers with the object as it is.  A row that did change is claimed
    by the caller after this, so the changes go out in the claiming UPDATE, under its version.
    Tested as a kind over every edit route: tests/foundation/test_empty_edits.py."""
    diff = changes({k: getattr(row, k) for k in values}, values)
    for name, (_before, after) in diff.items():
        setattr(row, name, after)
    return diff


# --- reads for reporting -------------------------------------------------------------------------

@contextlib.contextmanager
def reporting_session():
    """A read-only session for reporting queries (dashboards, exports) on the read replica when
    ``CIVIC_DATABASE_READ_URL`` is set (the SQLAlchemy bind ``replica``), else the request's own
    session.  A streaming replica may lag the primary by a moment: use it only where figures a few
    seconds old are fine, never to read back what the same request wrote.

    Yields a :class:`~sqlalchemy.orm.Session`; the replica session is closed afterwards (its
    transaction rolled back: it never writes)."""
    engine = db.engines.get("replica")
    if engine is None:
        yield db.session
        return
    with Session(bind=engine) as session:
        yield session
