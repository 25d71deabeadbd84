"""Issue #16 point 1 and "bad input": ``flask civic import-staff FILE.csv`` — all or nothing, every bad
row reported by line, column and reason; one-time passwords in a file only the operator reads."""

from __future__ import annotations

import csv
import os
import stat

import pytest
import sqlalchemy as sa

from civic.accounts.models import Membership, User
from civic.core.audit import AuditEntry
from civic.core.errors import ValidationFailed
from civic.extensions import db
from tests.accounts.conftest import API, login


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _write(tmp_path, text, name="staff.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_creates_accounts_and_memberships_with_one_time_passwords(client, runner, st, tmp_path):
    pc1, oc1 = st.orgs["pc1"].code, st.orgs["oc1"].code
    path = _write(tmp_path, "\ufeffusername,display_name,organisation_code,role\n"
                            f"wang.li,王丽,{pc1},head\n"
                            f"wang.li,王丽,{oc1},viewer\n"
                            f"zhao-gang,赵刚,{pc1},\n")
    users_before = _count(User)
    result = runner.invoke(args=["civic", "import-staff", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 2 staff accounts, 3 memberships" in result.output
    out = tmp_path / "staff.passwords.csv"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["username"], r["display_name"]) for r in rows] == [("wang.li", "王丽"), ("zhao-gang", "赵刚")]
    db.session.expire_all()
    assert _count(User) == users_before + 2
    wang = db.session.scalar(sa.select(User).where(User.username == "wang.li"))
    assert wang.must_change_password and wang.kind == "staff"
    roles = {(m.organisation_id, m.role) for m in db.session.scalars(sa.select(Membership).where(Membership.user_id == wang.id))}
    assert roles == {(st.orgs["pc1"].id, "head"), (st.orgs["oc1"].id, "viewer")}
    zhao = db.session.scalar(sa.select(User).where(User.username == "zhao-gang"))
    assert db.session.scalar(sa.select(Membership.role).where(Membership.user_id == zhao.id)) == "handler"
    # The one-time password logs in, and must be changed before anything else.
    r = login(client, "zhao-gang", rows[1]["one_time_password"])
    assert r.status_code == 200 and r.get_json()["user"]["must_change_password"] is True
    h = {"Authorization": f"Bearer {r.get_json()['token']}"}
    assert client.get(f"{API}/queue", headers=h).get_json()["error"]["code"] == "password_change_required"
    # Audited: one entry per account, one for the import.
    actions = [a for (a,) in db.session.execute(sa.select(AuditEntry.action).where(AuditEntry.action.like("staff.%")))]
    assert sorted(actions) == ["staff.import", "staff.imported", "staff.imported"]


def test_every_bad_row_is_reported_by_line_and_column_and_nothing_is_written(runner, st, tmp_path):
    pc1 = st.orgs["pc1"].code
    path = _write(tmp_path, "username,display_name,organisation_code,role\n"
                            f"ok-one,甲,{pc1},handler\n"           # line 2: good
                            f"pc1-he,乙,{pc1},handler\n"           # 3: a name already in civic
                            f"x,丙,{pc1},handler\n"                # 4: too short a name
                            f"ok-two,,{pc1},handler\n"             # 5: no display name
                            "ok-three,丁,O-NOWHERE,handler\n"      # 6: unknown organisation
                            f"ok-four,戊,{pc1},boss\n"             # 7: unknown role
                            f"ok-one,甲,{pc1},viewer\n"            # 8: the same organisation twice
                            f"ok-one,甲乙,{st.orgs['oc1'].code},viewer\n"  # 9: another name for ok-one
                            f"ok-five,己,{pc1},handler,extra\n")  # 10: too many cells
    before = (_count(User), _count(Membership), _count(AuditEntry))
    result = runner.invoke(args=["civic", "import-staff", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("错误 import_invalid")
    expected = [(3, "username"), (4, "username"), (5, "display_name"), (6, "organisation_code"), (7, "role"),
                (8, "organisation_code"), (9, "display_name"), (10, "")]
    assert [(int(line.split()[1]), (line.split()[3].rstrip(":") if line.split()[3].endswith(":") else ""))
            for line in lines[1:]] == expected, result.output
    assert "pc1-he 已被使用" in result.output and "O-NOWHERE 不存在" in result.output
    db.session.expire_all()
    assert (_count(User), _count(Membership), _count(AuditEntry)) == before
    assert not (tmp_path / "staff.passwords.csv").exists()


def test_errors_as_data(st):
    from civic.accounts.staff_import import import_staff_csv

    with pytest.raises(ValidationFailed) as exc:
        import_staff_csv("username,name,organisation_code\n")
    assert exc.value.details["errors"] == [
        {"line": 1, "column": "display_name", "reason": "缺少该列"},
        {"line": 1, "column": "name", "reason": "未知的列"}]
    with pytest.raises(ValidationFailed) as exc:
        import_staff_csv("username,display_name,organisation_code,role\n")
    assert exc.value.details["errors"] == [{"line": None, "column": None, "reason": "文件中没有数据行"}]


def test_an_existing_passwords_file_is_never_overwritten(runner, st, tmp_path):
    path = _write(tmp_path, f"username,display_name,organisation_code\nnew-one,甲,{st.orgs['pc1'].code}\n")
    (tmp_path / "staff.passwords.csv").write_text("keep me")
    result = runner.invoke(args=["civic", "import-staff", str(path)])
    assert result.exit_code == 1 and "passwords_file_exists" in result.output
    assert (tmp_path / "staff.passwords.csv").read_text() == "keep me"
    db.session.expire_all()
    assert db.session.scalar(sa.select(User.id).where(User.username == "new-one")) is None
    out = tmp_path / "elsewhere.csv"
    result = runner.invoke(args=["civic", "import-staff", str(path), "--passwords-out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists()


def test_a_file_that_is_not_utf8_is_refused(runner, st, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("username,display_name,organisation_code\nnew-one,王丽,X\n".encode("gbk"))
    result = runner.invoke(args=["civic", "import-staff", str(path)])
    assert result.exit_code == 1 and "file_not_utf8" in result.output
