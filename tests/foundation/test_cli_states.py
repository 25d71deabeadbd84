"""Every ``flask civic`` command, given a state it cannot act on, answers in one line
(``错误 <code>: <message>`` on stderr), exits 1 and writes nothing: never a traceback (issue #15.16).

The sweep covers every command registered on the group: a new command without a row here fails
:func:`test_sweep_covers_every_civic_command`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.accounts.models import User
from civic.core.cli import civic_cli
from civic.extensions import db
from civic.property.models import Organisation, Place
from tests.foundation.test_import import GOOD

SEED = Path(__file__).resolve().parents[2] / "civic" / "property" / "data" / "example_seed.json"
ORGS = "code,kind,name,covers,phone\nO-1,police,派出所,CM-1;V-1,110\n"


def _write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def _ok(runner, *args):
    result = runner.invoke(args=["civic", *args])
    assert result.exit_code == 0, result.output
    return result


def _counts():
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Place, Organisation, User))


# command → [(case name, setup(runner, tmp_path) → args, expected error code)]
def _seed_twice(runner, tmp_path):
    _ok(runner, "seed-demo")
    return ["seed-demo"]


def _admin_twice(runner, tmp_path):
    _ok(runner, "create-admin", "--username", "root", "--password", "civic-admin-2026")
    return ["create-admin", "--username", "root", "--password", "another-pass-2026"]


def _admin_over_demo(runner, tmp_path):
    _ok(runner, "seed-demo")
    return ["create-admin", "--username", "admin", "--password", "another-pass-2026"]


def _places_twice(runner, tmp_path):
    path = _write(tmp_path, "places.csv", GOOD)
    _ok(runner, "import-places", path)
    return ["import-places", path]


def _places_not_utf8(runner, tmp_path):
    return ["import-places", _write(tmp_path, "gbk.csv", GOOD.encode("gbk"))]


def _orgs_twice(runner, tmp_path):
    _ok(runner, "import-places", _write(tmp_path, "places.csv", GOOD))
    path = _write(tmp_path, "orgs.csv", ORGS)
    _ok(runner, "import-organisations", path)
    return ["import-organisations", path]


def _seed_file_twice(runner, tmp_path):
    _ok(runner, "import-seed", str(SEED))
    return ["import-seed", str(SEED)]


def _seed_file_not_json(runner, tmp_path):
    return ["import-seed", _write(tmp_path, "seed.json", '{"places": [')]


def _residents_twice(runner, tmp_path):
    # The second run would tie the same resident to the same unit again (and the first made the
    # account: a second import must not make it twice).
    _ok(runner, "import-places", _write(tmp_path, "places.csv", GOOD))
    path = _write(tmp_path, "register.csv", "unit_code,name,phone,relation\nU-1,陈静,13900000011,owner\n")
    _ok(runner, "import-residents", path)
    return ["import-residents", path]


def _residents_not_utf8(runner, tmp_path):
    return ["import-residents", _write(tmp_path, "gbk.csv", "unit_code,name,phone,relation\nU-1,陈静,13900000011,owner\n"
                                       .encode("gbk"))]


def _export_nowhere(runner, tmp_path):
    return ["export-open-data", str(tmp_path / "missing" / "open.db")]


def _worker_without_redis(runner, tmp_path):
    # The test runs this case with REDIS_URL unset (patched), also in the PostgreSQL + Redis run.
    return ["worker", "--burst"]


def _migrate_without_bucket(runner, tmp_path):
    # The embedded default: no CIVIC_MEDIA_URL, so no bucket to move the store into.
    return ["media", "migrate"]


def _staff_twice(runner, tmp_path):
    _ok(runner, "import-places", _write(tmp_path, "places.csv", GOOD))
    _ok(runner, "import-organisations", _write(tmp_path, "orgs.csv", ORGS))
    path = _write(tmp_path, "staff.csv", "username,display_name,organisation_code,role\npolice-1,赵警官,O-1,handler\n")
    _ok(runner, "import-staff", path, "--passwords-out", str(tmp_path / "first.csv"))
    return ["import-staff", path, "--passwords-out", str(tmp_path / "second.csv")]


def _staff_passwords_file_exists(runner, tmp_path):
    path = _write(tmp_path, "staff.csv", "username,display_name,organisation_code\nx-1,甲,O-NONE\n")
    _write(tmp_path, "staff.passwords.csv", "an operator's earlier file")
    return ["import-staff", path]


def _backup_into_used_folder(runner, tmp_path):
    (tmp_path / "b").mkdir()
    _write(tmp_path / "b", "notes.txt", "上周的备份")
    return ["backup", str(tmp_path / "b")]


def _restore_not_a_backup(runner, tmp_path):
    (tmp_path / "b").mkdir()
    return ["restore", str(tmp_path / "b")]


def _restore_over_the_live_database(runner, tmp_path):
    _ok(runner, "import-places", _write(tmp_path, "places.csv", GOOD))
    _ok(runner, "backup", str(tmp_path / "b"))
    return ["restore", str(tmp_path / "b")]  # the database it came from has tables: refused


CASES = {
    "seed-demo": [("already seeded", _seed_twice, "demo_already_seeded")],
    "create-admin": [("username exists", _admin_twice, "username_taken"),
                     ("demo's admin exists", _admin_over_demo, "username_taken")],
    "import-places": [("imported twice", _places_twice, "import_invalid"),
                      ("not UTF-8", _places_not_utf8, "file_not_utf8")],
    "import-organisations": [("imported twice", _orgs_twice, "import_invalid")],
    "import-staff": [("imported twice", _staff_twice, "import_invalid"),
                     ("passwords file exists", _staff_passwords_file_exists, "passwords_file_exists")],
    "import-seed": [("imported twice", _seed_file_twice, "import_invalid"),
                    ("not JSON", _seed_file_not_json, "seed_not_json")],
    "import-residents": [("imported twice", _residents_twice, "import_invalid"),
                         ("not UTF-8", _residents_not_utf8, "file_not_utf8")],
    "export-open-data": [("folder missing", _export_nowhere, "output_dir_missing")],
    "worker": [("no Redis", _worker_without_redis, "redis_not_configured")],
    # The bucket's own refusals (a folder missing, a key failing its check) are in
    # tests/foundation/test_media_s3.py, against the S3 server.
    "media": [("no bucket configured", _migrate_without_bucket, "media_url_not_configured")],
    # A damaged backup, a newer one, a photo missing: tests/foundation/test_backup.py.
    "backup": [("folder not empty", _backup_into_used_folder, "backup_target_not_empty")],
    "restore": [("not a backup", _restore_not_a_backup, "backup_not_found"),
                ("over the live database", _restore_over_the_live_database, "restore_target_not_empty")],
}
# Commands with no state they cannot act on: tick runs what is due, or nothing; recount-complaints
# rebuilds the oversight counts from the cases, whatever they hold (--check exits 1 on a difference).
NO_REFUSED_STATE = {"tick", "recount-complaints"}


def test_sweep_covers_every_civic_command():
    assert set(civic_cli.commands) == set(CASES) | NO_REFUSED_STATE


@pytest.mark.parametrize(("command", "case", "setup", "code"), [
    (cmd, name, setup, code) for cmd, cases in CASES.items() for name, setup, code in cases
], ids=lambda v: v if isinstance(v, str) else "")
def test_command_refuses_state_in_one_line(runner, tmp_path, monkeypatch, command, case, setup, code):
    if command == "worker":  # the embedded default: no Redis configured, so no queue to work
        monkeypatch.setitem(runner.app.config, "REDIS_URL", None)
    args = setup(runner, tmp_path)
    before = _counts()
    result = runner.invoke(args=["civic", *args])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # not an uncaught error
    assert "Traceback" not in result.output
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"错误 {code}: ")
    assert len(first) > len(f"错误 {code}: ") + 4  # a message, not just the code
    # Only an import's per-line details may follow the one line.
    assert all(line.startswith("  第 ") for line in result.stderr.splitlines()[1:])
    db.session.rollback()
    assert _counts() == before


def test_seed_demo_on_seeded_database_says_so_in_one_line(runner):
    """The issue's instance: exit 1 (the demo was not loaded again), one line, nothing written;
    ``--if-empty`` is the form for scripts that run it every time (exit 0)."""
    _ok(runner, "seed-demo")
    before = _counts()
    result = runner.invoke(args=["civic", "seed-demo"])
    assert result.exit_code == 1
    assert result.stderr == ("错误 demo_already_seeded: 演示数据已载入（浦东新区 D-PD 已登记），未作任何改动；"
                             "如需重新载入请使用新的数据库\n")
    assert _counts() == before
    again = _ok(runner, "seed-demo", "--if-empty")
    assert json.loads(again.stdout) == {"skipped": True}
