"""Migration 0014_media_tokens gives every stored file that had no address one: a fresh random token
for each existing proxy scan, paper ballot scan and village voucher, and for each entry of the JSON
lists of vote matter attachments and action-item photos; and takes them away again on downgrade."""

from __future__ import annotations

import json
import sqlite3

from tests.foundation.test_migrations import _flask_db

BEFORE = "0013_contest_versions"
PHOTO = {"display_key": "ab/cd/" + "ab" * 32 + ".jpg", "thumb_key": "ab/cd/" + "cd" * 32 + ".jpg",
         "width": 640, "height": 480}
ROWS = ("voting_proxy", "voting_paper_entry", "village_voucher", "voting_matter", "delib_action_item",
        "delib_action_update")
TOKEN_COLUMNS = {"voting_proxy": "scan_token", "voting_paper_entry": "scan_token", "village_voucher": "access_token"}
JSON_LISTS = {"voting_matter": "attachments", "delib_action_item": "evidence_photos", "delib_action_update": "photos"}


def _filler(decl: str, n: int):
    decl = decl.upper()
    if "BOOL" in decl:
        return 1
    if "INT" in decl or "NUMERIC" in decl:
        return n  # differs between the two rows: unique constraints such as (vote_id, head_id)
    if "DATETIME" in decl or "TIMESTAMP" in decl:
        return "2026-03-01 08:00:00.000000"
    if decl == "DATE":
        return "2026-03-01"
    if "JSON" in decl:
        return "{}"
    return "x"


def _insert_two(conn, table: str) -> None:
    """Two rows with every NOT NULL column filled (foreign keys are not enforced by a plain sqlite3
    connection: only the columns under test matter), the JSON lists holding photos without tokens."""
    cols = conn.execute(f"PRAGMA table_info({table})").fetchall()  # cid, name, type, notnull, default, pk
    for n in (1, 2):
        values = {}
        for _cid, name, decl, notnull, default, pk in cols:
            if pk:
                values[name] = n
            elif name in JSON_LISTS.values():
                values[name] = json.dumps([PHOTO, dict(PHOTO, width=320)])
            elif name in ("receipt_hash",):
                values[name] = f"{n:064d}"
            elif notnull and default is None:
                values[name] = _filler(decl, n)
        names = ", ".join(values)
        conn.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(values))})", list(values.values()))


def test_existing_files_get_tokens_and_lose_them_on_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'mig.db'}"
    done = _flask_db(url, "upgrade", BEFORE)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "mig.db") as conn:
        for table in ROWS:
            _insert_two(conn, table)
    done = _flask_db(url, "upgrade")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "mig.db") as conn:
        tokens = []
        for table, column in TOKEN_COLUMNS.items():
            got = [r[0] for r in conn.execute(f"SELECT {column} FROM {table} ORDER BY id")]
            assert len(got) == 2 and all(t and len(t) >= 43 for t in got), (table, got)
            tokens += got
            notnull = {r[1]: r[3] for r in conn.execute(f"PRAGMA table_info({table})")}[column]
            assert notnull == 1
        for table, column in JSON_LISTS.items():
            for (value,) in conn.execute(f"SELECT {column} FROM {table} ORDER BY id"):
                items = json.loads(value)
                assert [(p["display_key"], p["width"]) for p in items] == [(PHOTO["display_key"], 640),
                                                                          (PHOTO["display_key"], 320)]
                assert all(len(p["token"]) >= 43 for p in items)
                tokens += [p["token"] for p in items]
        assert len(set(tokens)) == len(tokens) == 3 * 2 + 3 * 2 * 2  # every one its own
    done = _flask_db(url, "downgrade", BEFORE)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "mig.db") as conn:
        for table, column in TOKEN_COLUMNS.items():
            assert column not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 2
        for table, column in JSON_LISTS.items():
            for (value,) in conn.execute(f"SELECT {column} FROM {table}"):
                assert json.loads(value) == [PHOTO, dict(PHOTO, width=320)]
