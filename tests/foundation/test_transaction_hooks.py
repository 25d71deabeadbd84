"""After-commit and after-rollback hooks follow savepoints (civic.core.db), and a transaction that
has written anything is never ended by end_if_read_only -- on SQLite and PostgreSQL.

SQLAlchemy sends ``after_commit`` when a savepoint is released and ``after_soft_rollback`` when one
is rolled back; the hooks must answer only to the outermost transaction, except that a savepoint
rolled back undoes what was registered inside it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from civic.core.audit import AuditEntry
from civic.core.db import after_commit, after_rollback, commit, end_if_read_only
from civic.extensions import db


@pytest.fixture
def user(factory):
    u = factory.resident()
    factory.commit()
    return u


def _rename(user_id: int, name: str) -> None:
    from civic.accounts.models import User

    db.session.execute(sa.update(User).where(User.id == user_id).values(display_name=name)
                       .execution_options(synchronize_session=False))


def _name(user_id: int) -> str:
    from civic.accounts.models import User

    db.session.expire_all()
    return db.session.scalar(sa.select(User.display_name).where(User.id == user_id))


def test_a_released_savepoint_keeps_the_rollback_hooks_and_runs_nothing_early(user):
    ran = []
    after_rollback(lambda: ran.append("clean up before"))
    with db.session.begin_nested():
        after_commit(lambda: ran.append("job inside"))
        after_rollback(lambda: ran.append("clean up inside"))
        _rename(user.id, "保存点内")
    assert ran == []  # released: nothing decided yet
    db.session.rollback()
    assert sorted(ran) == ["clean up before", "clean up inside"]
    commit()  # a later commit runs nothing of the rolled-back transaction
    assert "job inside" not in ran


def test_a_savepoint_rolled_back_and_caught_keeps_the_hooks_registered_before_it(user):
    ran = []
    after_commit(lambda: ran.append("job before"))
    after_rollback(lambda: ran.append("clean up before"))
    try:
        with db.session.begin_nested():
            after_commit(lambda: ran.append("job inside"))
            after_rollback(lambda: ran.append("clean up inside"))
            db.session.add(AuditEntry(action="x", object_type="y", object_id="1"))
            db.session.flush()
            raise IntegrityError("caught", {}, Exception("as a concurrent insert_once would"))
    except IntegrityError:
        pass
    assert ran == ["clean up inside"]  # what the savepoint did is undone: its clean-up runs now
    commit()
    assert ran == ["clean up inside", "job before"]  # the outer commit: the hook of before, not of inside


def test_nested_savepoints_hand_their_hooks_outwards(user):
    ran = []
    with db.session.begin_nested():
        with db.session.begin_nested():
            after_commit(lambda: ran.append("deep job"))
        try:
            with db.session.begin_nested():
                after_commit(lambda: ran.append("lost job"))
                raise RuntimeError
        except RuntimeError:
            pass
    assert ran == []
    commit()
    assert ran == ["deep job"]


def test_end_if_read_only_ends_a_transaction_that_only_read(app, user):
    from civic.accounts.models import User

    db.session.scalar(sa.select(User.id).where(User.id == user.id))
    assert db.session().in_transaction()
    checked_out = db.engine.pool.checkedout()
    assert end_if_read_only() is True
    assert not db.session().in_transaction()
    assert db.engine.pool.checkedout() == checked_out - 1  # its connection went back to the pool


@pytest.mark.parametrize("how", ["core update", "flushed object", "pending object", "after-commit hook"])
def test_end_if_read_only_keeps_a_transaction_that_wrote(user, how):
    if how == "core update":  # no flush, no pending object: only the connection knows
        _rename(user.id, "核心语句")
    elif how == "flushed object":
        db.session.get(type(user), user.id).display_name = "核心语句"
        db.session.flush()
    elif how == "pending object":
        db.session.get(type(user), user.id).display_name = "核心语句"
    else:
        _rename(user.id, "核心语句")
        db.session.commit()
        after_commit(lambda: None)
    assert end_if_read_only() is False
    commit()
    assert _name(user.id) == "核心语句"


def test_the_write_mark_ends_with_the_transaction(user):
    _rename(user.id, "一")
    commit()
    from civic.accounts.models import User

    db.session.scalar(sa.select(User.id))
    assert end_if_read_only() is True  # the commit cleared the connection's mark
