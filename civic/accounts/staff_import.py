"""Import staff accounts and their roles from CSV, all or nothing (``flask civic import-staff``).

Columns (a header row, UTF-8, Excel's byte-order mark allowed): ``username, display_name,
organisation_code, role`` (``role`` one of ``head, handler, moderator, viewer``; blank means
``handler``).  A person with roles in several organisations has one row per organisation, with the
same username and name: one account, several memberships.

Every bad row is reported as ``{"line": n, "column": "organisation_code", "reason": "中文说明"}``,
the shape of the registry import (:mod:`civic.property.importer`), and nothing is written unless
every row is good.  A username already in civic is an error (an import creates accounts; it never
changes one: that is what the staff routes are for).

Each new account gets a one-time password (:func:`civic.accounts.staff.one_time_password`) and
``must_change_password``: the member must choose their own at the first login.  The passwords are
returned to the caller (the command line writes them to a file only the operator can read) and
never stored in clear.  The rows are written with bulk INSERTs (accounts, memberships, one audit
entry per account and one for the import), so 20,000 rows import in seconds (``bench/import_staff.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from civic.accounts.models import STAFF_ROLES, Membership, User
from civic.accounts.staff import NAME_MAX, USERNAME_RE, one_time_hash, one_time_password
from civic.core.audit import AuditEntry
from civic.core.csv_import import ImportReport, rows_from_csv
from civic.core.db import utcnow
from civic.core.errors import ValidationFailed
from civic.extensions import db
from civic.property import service as registry

COLUMNS = ("username", "display_name", "organisation_code", "role")
REQUIRED = ("username", "display_name", "organisation_code")


@dataclass
class StaffImportReport(ImportReport):
    accounts: int = 0
    memberships: int = 0
    # (username, display_name, one-time password) of each new account, in file order.
    passwords: list[tuple[str, str, str]] = field(default_factory=list)


def _existing_usernames(names: set[str]) -> set[str]:
    names_list, out = sorted(names), set()
    for i in range(0, len(names_list), 500):
        out.update(db.session.scalars(sa.select(User.username).where(User.username.in_(names_list[i:i + 500]))))
    return out


def _check(rows: list[tuple[int, dict]], report: StaffImportReport) -> tuple[dict[str, dict], list[tuple]]:
    """``({username: {"display_name", "line"}}, [(username, organisation id, role, line)])`` of the
    good rows; every bad one goes to ``report``."""
    orgs = registry.organisations_by_codes({r.get("organisation_code", "") for _, r in rows})
    taken = _existing_usernames({r.get("username", "") for _, r in rows})
    accounts: dict[str, dict] = {}
    memberships: list[tuple] = []
    seen: set[tuple[str, int]] = set()
    for line, row in rows:
        ok = True
        username, name = row.get("username", ""), row.get("display_name", "")
        code, role = row.get("organisation_code", ""), row.get("role") or "handler"
        if not USERNAME_RE.match(username):
            report.error(line, "username", "用户名须为 3-64 位字母、数字或 _ . -，以字母或数字开头")
            ok = False
        elif username in taken:
            report.error(line, "username", f"用户名 {username} 已被使用")
            ok = False
        if not name:
            report.error(line, "display_name", "姓名不能为空")
            ok = False
        elif len(name) > NAME_MAX:
            report.error(line, "display_name", f"姓名不能超过 {NAME_MAX} 个字符")
            ok = False
        elif username in accounts and accounts[username]["display_name"] != name:
            report.error(line, "display_name", f"与第 {accounts[username]['line']} 行同一用户名的姓名不一致")
            ok = False
        org = orgs.get(code)
        if not code:
            report.error(line, "organisation_code", "组织编码不能为空")
            ok = False
        elif org is None:
            report.error(line, "organisation_code", f"组织编码 {code} 不存在")
            ok = False
        elif (username, org.id) in seen:
            report.error(line, "organisation_code", f"{username} 在组织 {code} 重复出现")
            ok = False
        if role not in STAFF_ROLES:
            report.error(line, "role", f"未知的角色“{role}”，可用 {'、'.join(STAFF_ROLES)}")
            ok = False
        if ok:
            accounts.setdefault(username, {"display_name": name, "line": line})
            seen.add((username, org.id))
            memberships.append((username, org.id, role, line))
    return accounts, memberships


def _insert_many(table, rows: list[dict], chunk: int = 2000) -> None:
    for i in range(0, len(rows), chunk):
        db.session.execute(sa.insert(table), rows[i:i + chunk])


def import_staff_csv(text: str, *, actor=None, source: str = "staff_csv") -> StaffImportReport:
    """Validate every row of a staff CSV (module docstring), then create every account and
    membership or none.  Returns the report with each new account's one-time password.

    :raises ValidationFailed: ``import_invalid`` with ``details.errors`` = ``[{"line", "column",
        "reason"}]`` listing every bad row; nothing has been written.
    """
    report = StaffImportReport()
    rows = rows_from_csv(text, REQUIRED, COLUMNS, report)
    accounts, memberships = _check(rows, report) if rows else ({}, [])
    if not report.errors and not rows:
        report.error(None, None, "文件中没有数据行")
    report.refuse_if_errors()
    now = utcnow()
    user_rows = []
    for username, info in accounts.items():
        password = one_time_password()
        report.passwords.append((username, info["display_name"], password))
        user_rows.append({"kind": "staff", "username": username, "display_name": info["display_name"],
                          "password_hash": one_time_hash(password), "active": True,
                          "must_change_password": True, "created_at": now, "updated_at": now})
    try:
        with db.session.begin_nested():
            _insert_many(User.__table__, user_rows)
            ids: dict[str, int] = {}
            names = list(accounts)
            for i in range(0, len(names), 500):
                ids.update((u, uid) for u, uid in db.session.execute(sa.select(User.username, User.id).where(
                    User.username.in_(names[i:i + 500]))))
            _insert_many(Membership.__table__, [
                {"user_id": ids[u], "organisation_id": oid, "role": role} for u, oid, role, _ in memberships])
            actor_id, actor_role = getattr(actor, "id", None), getattr(actor, "kind", None) or "system"
            by_user: dict[str, list] = {}
            for u, oid, role, _ in memberships:
                by_user.setdefault(u, []).append({"organisation_id": oid, "role": role})
            _insert_many(AuditEntry.__table__, [
                {"at": now, "actor_id": actor_id, "actor_role": actor_role, "action": "staff.imported",
                 "object_type": "user", "object_id": str(ids[u]),
                 "data": {"username": u, "display_name": accounts[u]["display_name"], "memberships": by_user[u],
                          "source": source}} for u in accounts])
    except sa.exc.IntegrityError as exc:  # another request took a name between the check and now
        raise ValidationFailed("导入失败，未写入任何数据", code="import_invalid", details={"errors": [
            {"line": None, "column": "username", "reason": "有用户名刚被他人占用，请重新导入"}]}) from exc
    report.accounts, report.memberships = len(accounts), len(memberships)
    from civic.core.audit import record

    record("staff.import", "staff_import", source, actor=actor,
           data={"accounts": report.accounts, "memberships": report.memberships})
    return report
