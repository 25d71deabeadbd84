"""The audit log: append-only in the ORM and (PostgreSQL) in the database; UTC stored, +08:00 shown."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from civic.core import audit
from civic.core.audit import AuditEntry
from civic.core.db import commit
from civic.extensions import db


def _entry(**kw):
    entry = audit.record("place.renamed", "place", 7, note="改名", **kw)
    commit()
    return entry


def test_orm_refuses_to_update_an_entry():
    entry = _entry()
    entry.note = "篡改"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()


def test_orm_refuses_to_delete_an_entry():
    db.session.delete(_entry())
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()


def test_orm_refuses_a_bulk_update():
    _entry()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.execute(sa.update(AuditEntry).values(note="篡改"))


@pytest.mark.postgres
@pytest.mark.parametrize("sql", ["UPDATE audit_entry SET note = 'x'", "DELETE FROM audit_entry"])
def test_postgres_trigger_refuses_raw_update_and_delete(sql):
    _entry()
    with db.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(sa.text(sql))
    assert db.session.scalar(sa.select(AuditEntry.note)) == "改名"


def test_time_is_stored_in_utc():
    entry = _entry()
    naive = db.session.execute(sa.text("SELECT at FROM audit_entry")).scalar()
    stored = naive if isinstance(naive, dt.datetime) else dt.datetime.fromisoformat(naive)
    assert stored.replace(tzinfo=None) == entry.at.astimezone(dt.UTC).replace(tzinfo=None)


def test_endpoint_lists_an_objects_entries_in_shanghai_time(client, factory):
    admin = factory.admin()
    first = _entry(actor=admin)
    audit.record("place.created", "place", 8)
    commit()
    resp = client.get("/api/v1/audit?object_type=place&object_id=7", headers=factory.token(admin))
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert [(i["action"], i["object_id"], i["actor_id"], i["actor_role"]) for i in items] == [
        ("place.renamed", "7", admin.id, "admin")]
    shown = dt.datetime.fromisoformat(items[0]["at"])
    assert shown.utcoffset() == dt.timedelta(hours=8)
    assert shown == first.at


def test_endpoint_pages_newest_first(client, factory):
    for n in range(3):
        audit.record("place.renamed", "place", 7, note=str(n))
    commit()
    headers = factory.token(factory.admin())
    page1 = client.get("/api/v1/audit?object_type=place&limit=2", headers=headers).get_json()
    page2 = client.get(f"/api/v1/audit?object_type=place&limit=2&cursor={page1['next_cursor']}",
                       headers=headers).get_json()
    assert [i["note"] for i in page1["items"]] == ["2", "1"]
    assert ([i["note"] for i in page2["items"]], page2["next_cursor"]) == (["0"], None)


def test_endpoint_is_for_administrators_only(client, factory):
    resp = client.get("/api/v1/audit", headers=factory.token(factory.staff()))
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (403, "wrong_account_kind")
