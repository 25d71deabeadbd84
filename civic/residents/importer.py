"""The residents' committee's register: residents tied to units from CSV, all or nothing.

Columns: ``unit_code, name, phone, relation, representative`` (``relation`` owner, co_owner or
tenant; ``representative`` 1/0, 是/否, true/false or empty: the co-owner who represents the unit).
A phone with no account gets a resident account (name and phone; they log in by SMS or link WeChat
later).  Every bad row is reported as ``{"line", "column", "reason"}`` and nothing is written unless
every row is good (as civic/property/importer.py).

Who may import: an administrator (the API or ``flask civic import-residents``), or staff of a
residents' committee or owners' committee for the units their organisation covers: the register is
theirs (上海市居民委员会工作条例 Art. 10: the committee keeps the residents' records).
"""

from __future__ import annotations

from civic.accounts import service as accounts
from civic.accounts.memberships import acting_memberships
from civic.core import audit
from civic.core.csv_import import ImportReport, rows_from_csv
from civic.core.errors import CivicError, Forbidden
from civic.extensions import db
from civic.property import service as registry
from civic.property.models import RESIDENT_RELATIONS

COLUMNS = ("unit_code", "name", "phone", "relation", "representative")
REQUIRED = ("unit_code", "name", "phone", "relation")
KEEPERS = ("residents_committee", "owners_committee")
_YES, _NO = {"1", "是", "true", "yes", "y"}, {"", "0", "否", "false", "no", "n"}


def _scope_paths(actor) -> list[str] | None:
    """The place paths ``actor`` may import for (None: everywhere).  :raises Forbidden:
    ``not_register_keeper``."""
    if actor is None or actor.kind == "admin":
        return None
    paths = [p for _m, org in acting_memberships(actor, org_kinds=KEEPERS)
             for p in registry.covered_place_paths(org.id)] if actor.kind == "staff" else []
    if not paths:
        raise Forbidden("只有居委会、业委会或管理员可以导入居民登记册", code="not_register_keeper")
    return paths


def import_register_csv(text: str, *, actor=None) -> dict:
    """Tie the residents of the register ``text`` to their units.

    :returns: ``{"links": n, "residents_created": m}``.
    :raises Forbidden: ``not_register_keeper``.  :raises ValidationFailed: ``import_invalid`` with
        ``details.errors`` (every bad row: an unknown unit, a unit outside the importer's coverage,
        a bad phone or relation, a tie that already exists or is repeated in the file, one phone
        with two names); nothing written.
    """
    paths = _scope_paths(actor)
    report = ImportReport()
    rows = rows_from_csv(text, REQUIRED, COLUMNS, report)
    units = registry.places_by_codes(r["unit_code"] for _l, r in rows if r.get("unit_code"))
    checked, phones, seen = [], {}, set()
    for line, r in rows:
        ok = True
        unit = units.get(r.get("unit_code", ""))
        if unit is None or unit.kind != "unit":
            report.error(line, "unit_code", f"户 {r.get('unit_code')} 未登记")
            ok = False
        elif paths is not None and not any(unit.path.startswith(p) for p in paths):
            report.error(line, "unit_code", "该户不在您所在组织的服务范围内")
            ok = False
        name = r.get("name", "")
        if not name or len(name) > 100:
            report.error(line, "name", "姓名不能为空，最多 100 字")
            ok = False
        try:
            phone = accounts.normalise_phone(r.get("phone", ""))
        except CivicError:
            report.error(line, "phone", "手机号格式不正确")
            phone, ok = None, False
        if r.get("relation") not in RESIDENT_RELATIONS:
            report.error(line, "relation", "关系须为 owner、co_owner 或 tenant")
            ok = False
        rep = (r.get("representative") or "").lower()
        if rep not in _YES | _NO:
            report.error(line, "representative", "须为 1 或 0（是/否）")
            ok = False
        if phone and phones.setdefault(phone, name) != name:
            report.error(line, "name", f"同一手机号在前面的行里是另一个姓名（{phones[phone]}）")
            ok = False
        if ok and (unit.id, phone) in seen:
            report.error(line, None, "与前面的行重复")
            ok = False
        if ok:
            seen.add((unit.id, phone))
            checked.append((line, unit, name, phone, r["relation"], rep in _YES))
    users = accounts.users_by_phones({c[3] for c in checked})
    links = registry.residents_of_units({c[1].id for c in checked})
    for line, unit, _name, phone, _rel, _rep in checked:
        user = users.get(phone)
        if user is not None and user.kind != "resident":
            report.error(line, "phone", "该手机号属于工作人员账号")
        elif user is not None and any(link.user_id == user.id for link in links.get(unit.id, [])):
            report.error(line, None, "该居民已关联该户")
    report.refuse_if_errors()
    with db.session.begin_nested():  # one flush for the new accounts, one for the links
        new = {phone: name for _l, _u, name, phone, _r, _p in checked if phone not in users}
        users.update(accounts.create_residents([(name, phone) for phone, name in new.items()]))
        for _line, unit, _name, phone, relation, rep in checked:
            registry.link_resident(users[phone], unit, relation, representative=rep)
        db.session.flush()
    created = len(new)
    audit.record("unit_resident.import", "registry", "residents_csv", actor=actor,
                 data={"links": len(checked), "residents_created": created})
    return {"links": len(checked), "residents_created": created}
