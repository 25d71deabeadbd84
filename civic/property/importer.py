"""Import places and organisations from CSV or from a seed file, all or nothing.

Every bad row is reported as ``{"line": n, "column": "area_m2", "reason": "中文说明"}`` and nothing
is written unless every row is good: the whole import runs in one savepoint that is rolled back
on the first database error too.

Places CSV columns: ``code, kind, name, parent_code, area_m2, area_source, developer_status,
lat, lng, datum, boundary`` (``boundary`` a GeoJSON polygon in the same datum as lat/lng;
``datum`` one of wgs84, gcj02, bd09, default wgs84).  ``parent_code`` may name a place earlier in
the file or already in the registry.

Organisations CSV columns: ``code, kind, name, covers, phone`` (``covers``: place codes separated
by ``;``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from civic.core.csv_import import ImportReport as CsvImportReport
from civic.core.csv_import import rows_from_csv
from civic.core.errors import CivicError, ValidationFailed
from civic.extensions import db
from civic.property import service
from civic.property.models import (
    AREA_SOURCES,
    COVERAGE_KINDS,
    DEVELOPER_STATUSES,
    ORGANISATION_KINDS,
    PARENT_KINDS,
    PLACE_KINDS,
)

PLACE_COLUMNS = ("code", "kind", "name", "parent_code", "area_m2", "area_source", "developer_status",
                 "lat", "lng", "datum", "boundary")
ORG_COLUMNS = ("code", "kind", "name", "covers", "phone")
CODE_MAX, NAME_MAX = 64, 200  # the columns' lengths: longer values are refused here, not by the database


@dataclass
class ImportReport(CsvImportReport):
    places: int = 0
    organisations: int = 0


def _check_place(line: int, row: dict, known_kinds: dict[str, str], report: ImportReport) -> dict | None:
    from civic.core.geo import DATUMS, parse_polygon, to_wgs84

    ok = True
    code, kind = row.get("code", ""), row.get("kind", "")
    if not code:
        report.error(line, "code", "编码不能为空")
        ok = False
    elif len(code) > CODE_MAX:
        report.error(line, "code", f"编码不能超过 {CODE_MAX} 个字符")
        ok = False
    elif code in known_kinds:
        report.error(line, "code", f"编码 {code} 重复")
        ok = False
    if kind not in PLACE_KINDS:
        report.error(line, "kind", f"未知的地点类型“{kind}”")
        return None
    ok = _check_name(line, row, report) and ok
    parent_code = row.get("parent_code") or None
    parent_kind = None
    if parent_code:
        parent_kind = known_kinds.get(parent_code)
        if parent_kind is None:
            report.error(line, "parent_code", f"上级编码 {parent_code} 不存在（须在本文件前文或已登记）")
            ok = False
    if (parent_code is None or parent_kind is not None) and parent_kind not in PARENT_KINDS[kind]:
        report.error(line, "parent_code", f"{service.PLACE_KIND_NAMES[kind]}不能隶属于"
                                          f"{service.PLACE_KIND_NAMES.get(parent_kind, '顶层')}")
        ok = False
    out = {"line": line, "code": code, "kind": kind, "name": row.get("name"), "parent_code": parent_code}
    if kind == "unit":
        try:
            out["area"] = service.parse_area(row.get("area_m2", ""), "area_m2")
        except ValidationFailed as exc:
            report.error(line, "area_m2", exc.message)
            ok = False
        if row.get("area_source") not in AREA_SOURCES:
            report.error(line, "area_source", "面积来源须为 registry、survey 或 contract")
            ok = False
        out["area_source"] = row.get("area_source")
        ds = row.get("developer_status") or None
        if ds is not None and ds not in DEVELOPER_STATUSES:
            report.error(line, "developer_status", "须为空、unsold 或 sold_undelivered")
            ok = False
        out["developer_status"] = ds
    else:
        for col in ("area_m2", "area_source", "developer_status"):
            if row.get(col):
                report.error(line, col, "只有户（unit）才填写此列")
                ok = False
    datum = (row.get("datum") or "wgs84").lower().replace("-", "").replace("_", "")
    if datum not in DATUMS:
        # Reported once, here, whether or not the row has coordinates: a wrong datum is a wrong file.
        report.error(line, "datum", f"不支持的坐标系“{row.get('datum')}”，可用 wgs84、gcj02、bd09")
        return None
    if row.get("lat") or row.get("lng"):
        try:
            out["centre"] = to_wgs84(float(row["lat"]), float(row["lng"]), datum)
        except (ValueError, KeyError):
            report.error(line, "lat", "经纬度须为数字")
            ok = False
        except CivicError as exc:
            report.error(line, "datum" if exc.code == "datum_unknown" else "lat", exc.message)
            ok = False
    if row.get("boundary"):
        try:
            poly = parse_polygon(row["boundary"], datum=datum)
            out["boundary"] = json.dumps(poly.__geo_interface__, ensure_ascii=False)
        except CivicError as exc:
            report.error(line, "boundary", exc.message)
            ok = False
    if ok:
        known_kinds[code] = kind
        return out
    return None


def _check_name(line: int, row: dict, report: ImportReport) -> bool:
    if not row.get("name"):
        report.error(line, "name", "名称不能为空")
        return False
    if len(row["name"]) > NAME_MAX:
        report.error(line, "name", f"名称不能超过 {NAME_MAX} 个字符")
        return False
    return True


def _check_org(line: int, row: dict, seen: set[str], place_kinds: dict[str, str], report: ImportReport):
    ok = True
    code, kind = row.get("code", ""), row.get("kind", "")
    if not code:
        report.error(line, "code", "编码不能为空")
        ok = False
    elif len(code) > CODE_MAX:
        report.error(line, "code", f"编码不能超过 {CODE_MAX} 个字符")
        ok = False
    elif code in seen or service.organisation_by_code(code) is not None:
        report.error(line, "code", f"组织编码 {code} 重复")
        ok = False
    if kind not in ORGANISATION_KINDS:
        report.error(line, "kind", f"未知的组织类型“{kind}”")
        return None
    ok = _check_name(line, row, report) and ok
    if len(row.get("phone") or "") > 30:
        report.error(line, "phone", "电话不能超过 30 个字符")
        ok = False
    covers = [c.strip() for c in (row.get("covers") or "").replace("|", ";").split(";") if c.strip()]
    for c in covers:
        pk = place_kinds.get(c)
        if pk is None:
            report.error(line, "covers", f"地点编码 {c} 不存在")
            ok = False
        elif pk not in COVERAGE_KINDS[kind]:
            report.error(line, "covers", f"{service.ORGANISATION_KIND_NAMES[kind]}不能覆盖"
                                         f"{service.PLACE_KIND_NAMES[pk]}（{c}）")
            ok = False
    if ok:
        seen.add(code)
        return {"line": line, "code": code, "kind": kind, "name": row["name"], "covers": covers,
                "phone": row.get("phone") or None}
    return None


def _known_place_kinds(codes: Iterable[str]) -> dict[str, str]:
    return service.place_kinds_by_code(set(codes))


def import_rows(place_rows: list[tuple[int, dict]], org_rows: list[tuple[int, dict]],
                report: ImportReport | None = None, *, actor=None, source: str = "csv") -> ImportReport:
    """Validate every row, then write all of them or none, and record the import in the audit log
    (``registry.import``, by ``actor``; None for the command line).

    :raises ValidationFailed: code ``import_invalid`` with ``details.errors`` listing every bad row
        (line, column, reason); nothing has been written.
    """
    report = report or ImportReport()
    referenced = {r.get("parent_code") for _, r in place_rows} | {r.get("code") for _, r in place_rows}
    for _, r in org_rows:
        referenced |= {c.strip() for c in (r.get("covers") or "").replace("|", ";").split(";")}
    existing = _known_place_kinds(c for c in referenced if c)
    known = dict(existing)
    checked_places = []
    for line, row in place_rows:
        if row.get("code") in existing:
            report.error(line, "code", f"编码 {row.get('code')} 已登记")
            continue
        checked = _check_place(line, row, known, report)
        if checked:
            checked_places.append(checked)
    seen: set[str] = set()
    checked_orgs = [o for line, row in org_rows if (o := _check_org(line, row, seen, known, report))]
    report.refuse_if_errors()
    try:
        with db.session.begin_nested():
            by_code = {}
            for p in checked_places:
                parent = by_code.get(p["parent_code"]) or (
                    service.place_by_code(p["parent_code"]) if p["parent_code"] else None
                )
                by_code[p["code"]] = service.create_place(
                    kind=p["kind"], code=p["code"], name=p["name"], parent=parent,
                    centre=p.get("centre"), boundary=p.get("boundary"), area=p.get("area"),
                    area_source=p.get("area_source"), developer_status=p.get("developer_status"),
                )
                report.places += 1
            for o in checked_orgs:
                places = [by_code.get(c) or service.place_by_code(c) for c in o["covers"]]
                service.create_organisation(kind=o["kind"], code=o["code"], name=o["name"],
                                            covers=places, phone=o["phone"])
                report.organisations += 1
    except CivicError as exc:
        raise ValidationFailed(
            "导入失败，未写入任何数据", code="import_invalid",
            details={"errors": [{"line": None, "column": None, "reason": exc.message}]},
        ) from exc
    from civic.core.audit import record

    record("registry.import", "registry", source, actor=actor,
           data={"places": report.places, "organisations": report.organisations})
    return report


def import_places_csv(text: str, *, actor=None) -> ImportReport:
    """Import a places CSV (see module docstring).  All or nothing.

    :raises ValidationFailed: ``import_invalid``, ``details.errors`` = ``[{"line", "column", "reason"}]``.
    """
    report = ImportReport()
    rows = rows_from_csv(text, ("code", "kind", "name"), PLACE_COLUMNS, report)
    return import_rows(rows, [], report, actor=actor, source="places_csv")


def import_organisations_csv(text: str, *, actor=None) -> ImportReport:
    """Import an organisations CSV (see module docstring).  All or nothing.

    :raises ValidationFailed: ``import_invalid``, ``details.errors`` = ``[{"line", "column", "reason"}]``.
    """
    report = ImportReport()
    rows = rows_from_csv(text, ("code", "kind", "name"), ORG_COLUMNS, report)
    return import_rows([], rows, report, actor=actor, source="organisations_csv")


def _seed_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # a GeoJSON boundary given as an object, not a string
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):  # covers: a list of place codes
        return ";".join(str(v) for v in value)
    return str(value).strip()


def import_seed(data: dict, *, actor=None) -> ImportReport:
    """Import a seed document ``{"places": [{...}], "organisations": [{...}]}`` with the CSV
    columns as keys (``covers`` may be a list, ``boundary`` a GeoJSON object).  ``line`` numbers the
    items: places 1..n, then organisations n+1...
    Example: ``civic/property/data/example_seed.json``.

    :raises ValidationFailed: ``import_invalid`` as for CSV.
    """
    report = ImportReport()
    if not isinstance(data, dict):
        raise ValidationFailed("种子文件须为 JSON 对象", code="import_invalid",
                               details={"errors": [{"line": None, "column": None, "reason": "须为 JSON 对象"}]})
    lists: dict[str, list] = {}
    start = 1
    for key, allowed in (("places", PLACE_COLUMNS), ("organisations", ORG_COLUMNS)):
        items = data.get(key, [])
        if not isinstance(items, list):
            report.error(None, key, "须为数组")
            items = []
        rows = []
        for i, item in enumerate(items, start=start):
            if not isinstance(item, dict):
                report.error(i, key, "每一项须为 JSON 对象")
                continue
            unknown = [k for k in item if k not in allowed]
            for k in unknown:
                report.error(i, f"{key}.{k}", "未知的字段")
            if not unknown:
                rows.append((i, {k: _seed_value(v) for k, v in item.items()}))
        lists[key] = rows
        start += len(items)
    for key in data:
        if key not in ("places", "organisations"):
            report.error(None, key, "未知的字段（只可有 places、organisations）")
    return import_rows(lists["places"], lists["organisations"], report, actor=actor, source="seed")
