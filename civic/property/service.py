"""The registry's verbs: places, organisations and their coverage, residents' ties to units.

Other domains call these functions; they never query the registry's tables themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa

from civic.core.errors import NotFound, ValidationFailed
from civic.extensions import db
from civic.property.models import (
    AREA_SOURCES,
    COVERAGE_KINDS,
    DEVELOPER_STATUSES,
    ORGANISATION_KINDS,
    PARENT_KINDS,
    PLACE_KINDS,
    RESIDENT_RELATIONS,
    Organisation,
    OrganisationCoverage,
    Place,
    UnitResident,
)

PLACE_KIND_NAMES = {
    "district": "区",
    "street": "街道/镇",
    "community": "社区",
    "village": "行政村",
    "compound": "小区",
    "building": "楼",
    "unit": "户",
    "grid": "网格",
    "road_section": "路段",
    "lane": "弄",
}
ORGANISATION_KIND_NAMES = {
    "urban_management": "城管",
    "property_company": "物业",
    "police": "公安",
    "residents_committee": "居委会",
    "owners_committee": "业委会",
    "resident_representatives": "居民代表",
    "street_centre": "街镇网格化综合管理中心",
    "village_committee": "村委会",
    "village_supervision": "村务监督委员会",
}


def get_place(place_id: int) -> Place:
    """The place, or ``NotFound`` (code ``place_not_found``)."""
    place = db.session.get(Place, place_id)
    if place is None:
        raise NotFound("找不到该地点", code="place_not_found", details={"place_id": place_id})
    return place


def place_by_code(code: str) -> Place | None:
    return db.session.scalar(sa.select(Place).where(Place.code == code))


AREA_MAX = Decimal("100000")  # m²; far above any flat or shop, far below Numeric(12, 2)'s limit


def parse_area(value, field: str = "area") -> Decimal:
    """An exclusive area in m²: a positive Decimal with at most two decimal places (never a float),
    below 100,000 m².

    :raises ValidationFailed: ``area_invalid``.
    """
    try:
        area = Decimal(str(value).strip())
    except Exception as exc:
        raise ValidationFailed("面积须为数字（平方米，最多两位小数）", code="area_invalid",
                               details={"field": field, "value": str(value)}) from exc
    if not area.is_finite() or area <= 0 or area.as_tuple().exponent < -2 or area >= AREA_MAX:
        raise ValidationFailed("面积须为正数，最多两位小数（平方米）", code="area_invalid",
                               details={"field": field, "value": str(value)})
    return area.quantize(Decimal("0.01"))


def create_place(
    *,
    kind: str,
    code: str,
    name: str,
    parent: Place | None = None,
    centre: tuple[float, float] | None = None,
    boundary: str | None = None,
    area: Decimal | None = None,
    area_source: str | None = None,
    developer_status: str | None = None,
) -> Place:
    """Add a place under ``parent`` and flush it (so its id and path are set).

    ``centre`` is WGS-84 ``(lat, lng)``; callers convert other datums with civic.core.geo first.
    Units carry ``area`` (m², Decimal, two places) and ``area_source`` (registry, survey, contract).
    :raises ValidationFailed: unknown kind, a kind that cannot sit under the parent's kind, a unit
        without an area or area source.
    """
    if kind not in PLACE_KINDS:
        raise ValidationFailed("未知的地点类型", code="place_kind_unknown", details={"kind": kind})
    parent_kind = parent.kind if parent else None
    if parent_kind not in PARENT_KINDS[kind]:
        raise ValidationFailed(
            f"{PLACE_KIND_NAMES[kind]}不能隶属于{PLACE_KIND_NAMES.get(parent_kind, '顶层')}",
            code="place_parent_invalid",
            details={"kind": kind, "parent_kind": parent_kind},
        )
    if kind == "unit":
        if area is None or area_source not in AREA_SOURCES:
            raise ValidationFailed("户须有专有部分面积及其来源（registry、survey、contract）",
                                   code="unit_area_required", details={"code": code})
        if developer_status is not None and developer_status not in DEVELOPER_STATUSES:
            raise ValidationFailed("开发商持有状态无效", code="developer_status_invalid",
                                   details={"value": developer_status})
    elif area is not None or developer_status is not None:
        raise ValidationFailed("只有户才有专有部分面积", code="area_only_for_units", details={"code": code})
    place = Place(
        kind=kind, code=code, name=name, parent=parent, boundary=boundary, area=area,
        area_source=area_source if kind == "unit" else None, developer_status=developer_status,
    )
    if centre:
        place.centre_lat, place.centre_lng = centre
    elif kind == "building":
        place.centre_lat, place.centre_lng = building_centre(boundary, parent) or (None, None)
    db.session.add(place)
    db.session.flush()
    place.path = f"{parent.path if parent else '/'}{place.id}/"
    return place


def boundary_centroid(boundary: str | None) -> tuple[float, float] | None:
    """``(lat, lng)`` of a GeoJSON boundary's centroid (WGS-84), or None without a usable one.  A
    boundary a few hundred metres wide is flat enough for the planar centroid (error < 1 cm)."""
    if not boundary:
        return None
    import shapely

    try:
        geom = shapely.from_geojson(boundary)
    except Exception:  # noqa: BLE001  (a stored boundary is valid; an odd one just has no centroid)
        return None
    if geom.is_empty:
        return None
    c = geom.centroid
    return (c.y, c.x)


def building_centre(boundary: str | None, compound: Place | None) -> tuple[float, float] | None:
    """Where a building is when the registry gives no point (issue #18 point 4: a unit picked from
    the list and a pin dropped on the map must meet within the duplicate radius): the centroid of the
    building's own footprint, else its compound's centre, else the centroid of the compound's
    boundary.  ``None`` when none is known."""
    own = boundary_centroid(boundary)
    if own:
        return own
    if compound is None:
        return None
    if compound.centre_lat is not None and compound.centre_lng is not None:
        return (compound.centre_lat, compound.centre_lng)
    return boundary_centroid(compound.boundary)


def coordinates_of(place: Place) -> tuple[float | None, float | None]:
    """``(lat, lng)`` WGS-84 of a place: its own centre, else its building's or compound's (a unit is
    where its building is).  ``(None, None)`` when no place above it has one."""
    if place.centre_lat is not None and place.centre_lng is not None:
        return place.centre_lat, place.centre_lng
    for p in reversed(ancestors(place)[:-1]):
        if p.kind not in ("building", "compound"):
            break  # a community's or street's centre is too coarse to stand for a case's place
        if p.centre_lat is not None and p.centre_lng is not None:
            return p.centre_lat, p.centre_lng
    return None, None


def ancestors(place: Place) -> list[Place]:
    """From the root down to ``place``, inclusive (one query)."""
    ids = place.ancestor_ids
    rows = {p.id: p for p in db.session.scalars(sa.select(Place).where(Place.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def ancestor_of_kind(place: Place, kind: str) -> Place | None:
    for p in ancestors(place):
        if p.kind == kind:
            return p
    return None


def descendant_ids_stmt(place: Place):
    """A SELECT of the ids of ``place`` and everything beneath it (an indexed prefix match)."""
    return sa.select(Place.id).where(Place.path.startswith(place.path))


def create_organisation(*, kind: str, code: str, name: str, covers: Iterable[Place] = (), phone=None) -> Organisation:
    """Add an organisation of one of the six party kinds (or street_centre, village_committee,
    village_supervision) bound to the places it covers.

    :raises ValidationFailed: unknown kind; a place of a kind this organisation cannot cover
        (a property company serves compounds, police cover communities, urban management a street).
    """
    if kind not in ORGANISATION_KINDS:
        raise ValidationFailed("未知的组织类型", code="organisation_kind_unknown", details={"kind": kind})
    org = Organisation(kind=kind, code=code, name=name, phone=phone)
    db.session.add(org)
    for place in covers:
        bind_coverage(org, place)
    db.session.flush()
    return org


def bind_coverage(org: Organisation, place: Place) -> None:
    if place.kind not in COVERAGE_KINDS[org.kind]:
        raise ValidationFailed(
            f"{ORGANISATION_KIND_NAMES[org.kind]}不能覆盖{PLACE_KIND_NAMES[place.kind]}",
            code="coverage_kind_invalid",
            details={"organisation_kind": org.kind, "place_kind": place.kind, "place": place.code},
        )
    org.coverage.append(OrganisationCoverage(place_id=place.id))


def organisations_covering(place: Place, kinds: Iterable[str] | None = None) -> list[Organisation]:
    """Organisations bound to ``place`` or any place above it, nearest first."""
    ids = place.ancestor_ids
    stmt = (
        sa.select(Organisation, OrganisationCoverage.place_id)
        .join(OrganisationCoverage, OrganisationCoverage.organisation_id == Organisation.id)
        .where(OrganisationCoverage.place_id.in_(ids))
    )
    if kinds:
        stmt = stmt.where(Organisation.kind.in_(list(kinds)))
    depth = {pid: i for i, pid in enumerate(ids)}
    rows = sorted(db.session.execute(stmt).all(), key=lambda r: (-depth[r[1]], r[0].id))
    seen, out = set(), []
    for org, _pid in rows:
        if org.id not in seen:
            seen.add(org.id)
            out.append(org)
    return out


def organisation_covers(organisation_id: int, place_id: int) -> bool:
    place = db.session.get(Place, place_id)
    if place is None:
        return False
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OrganisationCoverage)
            .where(
                OrganisationCoverage.organisation_id == organisation_id,
                OrganisationCoverage.place_id.in_(place.ancestor_ids),
            )
        )
    )


def covered_place_paths(organisation_id: int) -> list[str]:
    """Paths of the places an organisation is bound to (prefixes of everything it covers)."""
    return list(
        db.session.scalars(
            sa.select(Place.path)
            .join(OrganisationCoverage, OrganisationCoverage.place_id == Place.id)
            .where(OrganisationCoverage.organisation_id == organisation_id)
        )
    )


def covered_place_ids(organisation_id: int) -> list[int]:
    """Ids of the places an organisation is bound to (the roots of everything it covers), in id
    order; one query."""
    return list(db.session.scalars(sa.select(OrganisationCoverage.place_id).where(
        OrganisationCoverage.organisation_id == organisation_id).order_by(OrganisationCoverage.place_id)))


def organisations_within(paths: Iterable[str]) -> set[int]:
    """Ids of the organisations every one of whose covered places lies at or beneath one of
    ``paths`` (from :func:`covered_place_paths`): the organisations *in* a street, for its street
    centre.  An organisation that covers nothing, or covers anything outside, is not in it.  One
    query (a grouped count of covered places and of those inside)."""
    paths = sorted(set(paths))
    if not paths:
        return set()
    inside = sa.or_(*[Place.path.startswith(p) for p in paths])
    stmt = (sa.select(OrganisationCoverage.organisation_id)
            .join(Place, Place.id == OrganisationCoverage.place_id)
            .group_by(OrganisationCoverage.organisation_id)
            .having(sa.func.count() == sa.func.sum(sa.case((inside, 1), else_=0))))
    return set(db.session.scalars(stmt))


def _rows_by(column, values: Iterable) -> dict:
    """``{value: row}`` of the rows of ``column``'s model whose ``column`` is among ``values`` (missing
    ones left out); one query per 500 values."""
    wanted = sorted(set(values))
    model = column.class_
    out: dict = {}
    for i in range(0, len(wanted), 500):
        out.update({getattr(r, column.key): r for r in db.session.scalars(
            sa.select(model).where(column.in_(wanted[i:i + 500])))})
    return out


def organisations_by_codes(codes: Iterable[str]) -> dict[str, Organisation]:
    """``{code: Organisation}`` for the registered organisations among ``codes`` (chunks of 500)."""
    return _rows_by(Organisation.code, codes)


def places_of_kind(kind: str, under_paths: Iterable[str] | None = None) -> list[Place]:
    """Places of ``kind`` (e.g. ``"compound"``), ordered by code; with ``under_paths`` (e.g. from
    :func:`covered_place_paths`) only those at or beneath one of these paths (indexed prefix
    matches).  An empty ``under_paths`` gives an empty list; ``None`` means everywhere."""
    if kind not in PLACE_KINDS:
        raise ValidationFailed("未知的地点类型", code="place_kind_unknown", details={"kind": kind})
    stmt = sa.select(Place).where(Place.kind == kind)
    if under_paths is not None:
        paths = sorted(set(under_paths))
        if not paths:
            return []
        stmt = stmt.where(sa.or_(*[Place.path.startswith(p) for p in paths]))
    return list(db.session.scalars(stmt.order_by(Place.code)))


def places_by_ids(ids: Iterable[int]) -> dict[int, Place]:
    """``{id: place}`` of the places with these ids (missing ids left out); one query per 500 ids."""
    return _rows_by(Place.id, ids)


def organisations_by_ids(ids: Iterable[int]) -> dict[int, Organisation]:
    """``{id: organisation}`` of the organisations with these ids (missing ids left out); one query per 500 ids."""
    return _rows_by(Organisation.id, ids)


def get_organisation(organisation_id: int) -> Organisation:
    org = db.session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound("找不到该组织", code="organisation_not_found", details={"organisation_id": organisation_id})
    return org


def link_resident(user, unit: Place, relation: str, *, representative: bool = False) -> UnitResident:
    """Tie a resident to a unit as owner, co_owner or tenant (a registry fact entered by staff or
    import, never by the resident's own claim)."""
    if unit.kind != "unit":
        raise ValidationFailed("居民只能关联到户", code="not_a_unit", details={"place_id": unit.id})
    if relation not in RESIDENT_RELATIONS:
        raise ValidationFailed("关系须为 owner、co_owner 或 tenant", code="relation_invalid",
                               details={"relation": relation})
    link = UnitResident(unit_id=unit.id, user_id=user.id, relation=relation, representative=representative)
    db.session.add(link)
    return link


def units_of_resident(user_id: int) -> list[tuple[UnitResident, Place]]:
    return list(
        db.session.execute(
            sa.select(UnitResident, Place)
            .join(Place, Place.id == UnitResident.unit_id)
            .where(UnitResident.user_id == user_id)
            .order_by(Place.id)
        ).all()
    )


def unit_names_of_residents(user_ids: Iterable[int]) -> dict[int, set[str]]:
    """``{user id: names of the units they are tied to}``, each unit by its own name (``101室``) and
    its full one (``滨江花园1号楼101室``, :func:`unit_full_names`), for many residents at once: one
    query for the ties, then :func:`unit_full_names`.  Residents with no tie are left out."""
    ids = sorted(set(user_ids))
    ties: list[tuple[int, int, str]] = []
    for i in range(0, len(ids), 500):
        ties += db.session.execute(sa.select(UnitResident.user_id, Place.id, Place.name)
                                   .join(Place, Place.id == UnitResident.unit_id)
                                   .where(UnitResident.user_id.in_(ids[i : i + 500]))).all()
    full = unit_full_names(unit_id for _u, unit_id, _n in ties)
    out: dict[int, set[str]] = {}
    for user_id, unit_id, name in ties:
        out.setdefault(user_id, set()).update({name, full.get(unit_id, name)})
    return out


def residents_of_unit(unit_id: int) -> list[UnitResident]:
    return list(db.session.scalars(sa.select(UnitResident).where(UnitResident.unit_id == unit_id)))


def organisation_by_code(code: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.code == code))


def place_kinds_by_code(codes: set[str]) -> dict[str, str]:
    """``{code: kind}`` for the registered places among ``codes``."""
    out: dict[str, str] = {}
    codes_list = list(codes)
    for i in range(0, len(codes_list), 500):
        chunk = codes_list[i : i + 500]
        out.update(dict(db.session.execute(sa.select(Place.code, Place.kind).where(Place.code.in_(chunk))).all()))
    return out


def create_units(building: Place, specs: list[dict]) -> list[Place]:
    """Add many units under ``building`` in two round trips (insert, then set paths).

    ``specs``: ``[{"code", "name", "area": Decimal, "area_source", "developer_status"?}]``.
    """
    if building.kind != "building":
        raise ValidationFailed("户只能建在楼下", code="place_parent_invalid", details={"parent_kind": building.kind})
    units = []
    for s in specs:
        if s.get("area") is None or s.get("area_source") not in AREA_SOURCES:
            raise ValidationFailed("户须有专有部分面积及其来源", code="unit_area_required", details={"code": s.get("code")})
        units.append(Place(kind="unit", code=s["code"], name=s["name"], parent_id=building.id, path="",
                           area=s["area"], area_source=s["area_source"],
                           developer_status=s.get("developer_status")))
    db.session.add_all(units)
    db.session.flush()
    for u in units:
        u.path = f"{building.path}{u.id}/"
    db.session.flush()
    return units


def units_under(place: Place) -> list[tuple[Place, Place]]:
    """Every unit at or beneath ``place`` with its building, ``[(unit, building)]`` in id order
    (one indexed prefix query; e.g. a compound, a building, a stairway)."""
    from sqlalchemy.orm import aliased

    building = aliased(Place)
    return list(
        db.session.execute(
            sa.select(Place, building)
            .join(building, building.id == Place.parent_id)
            .where(Place.path.startswith(place.path), Place.kind == "unit")
            .order_by(Place.id)
        ).all()
    )


def residents_of_units(unit_ids: Iterable[int]) -> dict[int, list[UnitResident]]:
    """``{unit_id: [UnitResident, ...]}`` for many units at once (chunks of 500 ids)."""
    ids = list(unit_ids)
    out: dict[int, list[UnitResident]] = {}
    for i in range(0, len(ids), 500):
        for link in db.session.scalars(
            sa.select(UnitResident).where(UnitResident.unit_id.in_(ids[i : i + 500])).order_by(UnitResident.id)
        ):
            out.setdefault(link.unit_id, []).append(link)
    return out


def full_unit_name(compound: str, building: str, unit: str) -> str:
    """A unit's name as staff and owners read it, ``滨江花园1号楼101室``: the compound's, the
    building's and the unit's own names joined, without repeating a prefix a name already carries
    (the demo registry names a unit ``滨江花园1号楼101室`` in full, an import may name it ``101室``)."""
    if unit.startswith(building) and building:
        return unit if unit.startswith(compound) else compound + unit
    if building.startswith(compound) and compound:
        return building + unit
    return compound + building + unit


def _full_unit_name_sql(compound, building, unit):
    """:func:`full_unit_name` as a SQL expression of three name columns (NULL for a missing
    building or compound), on SQLite and PostgreSQL alike: the same rule, for a search the database
    answers with a limit (:func:`units_named`).  tests/property checks the two agree."""
    compound, building = sa.func.coalesce(compound, ""), sa.func.coalesce(building, "")

    def starts(text, prefix):  # not LIKE: a name may hold % or _
        return sa.func.substr(text, 1, sa.func.length(prefix)) == prefix

    return sa.case(
        (sa.and_(building != "", starts(unit, building)),
         sa.case((starts(unit, compound), unit), else_=compound + unit)),
        (sa.and_(compound != "", starts(building, compound)), building + unit),
        else_=compound + building + unit)


def units_named(paths: Iterable[str], text: str, *, limit: int) -> list[tuple[int, str]]:
    """The units at or beneath any of ``paths`` whose full name (:func:`full_unit_name`,
    ``滨江花园3号楼1203室``) contains ``text`` (case-sensitive, as written), ``[(unit id, full
    name)]`` ordered by full name (by code point, as Python sorts) then id, at most ``limit``.

    One query: the names are made, matched, sorted and cut by the database, so a street of
    thousands of units sends back ``limit`` rows, not every name."""
    from sqlalchemy.orm import aliased

    paths = sorted(set(paths))
    if not paths or not text:
        return []
    unit, building, compound = Place, aliased(Place), aliased(Place)
    full = _full_unit_name_sql(compound.name, building.name, unit.name)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    # strpos/instr, not LIKE: SQLite's LIKE ignores the case of ASCII letters (A座 ≠ a座).
    found = (sa.func.strpos(full, text) if postgres else sa.func.instr(full, text)) > 0
    # "C": byte order, which for UTF-8 is code point order (SQLite's default BINARY is the same).
    order = full.collate("C") if postgres else full
    stmt = (sa.select(unit.id, full)
            .outerjoin(building, building.id == unit.parent_id)
            .outerjoin(compound, sa.and_(compound.id == building.parent_id, compound.kind == "compound"))
            .where(unit.kind == "unit", sa.or_(*[unit.path.startswith(p) for p in paths]), found)
            .order_by(order, unit.id).limit(limit))
    return [(r[0], r[1]) for r in db.session.execute(stmt)]


def unit_full_names(unit_ids: Iterable[int]) -> dict[int, str]:
    """``{unit place id: full name}`` (:func:`full_unit_name` of its compound, building and own
    name) for many units at once: three indexed queries per 500 ids.  Ids that are not units are
    left out."""
    ids = sorted(set(unit_ids))
    out: dict[int, str] = {}
    for i in range(0, len(ids), 500):
        units = db.session.execute(sa.select(Place.id, Place.name, Place.parent_id).where(
            Place.id.in_(ids[i : i + 500]), Place.kind == "unit")).all()
        parents = {p.id: p for p in db.session.execute(sa.select(Place.id, Place.name, Place.parent_id, Place.kind)
                                                       .where(Place.id.in_({u.parent_id for u in units})))}
        grand = dict(db.session.execute(sa.select(Place.id, Place.name).where(
            Place.id.in_({p.parent_id for p in parents.values() if p.parent_id}), Place.kind == "compound")).all())
        for u in units:
            b = parents.get(u.parent_id)
            out[u.id] = full_unit_name(grand.get(b.parent_id, "") if b else "", b.name if b else "", u.name)
    return out


def get_link(link_id: int) -> UnitResident | None:
    """A resident's tie to a unit by its id, or None."""
    return db.session.get(UnitResident, link_id)


def link_of(user_id: int, unit_id: int) -> UnitResident | None:
    """The tie of ``user_id`` to ``unit_id``, or None."""
    return db.session.scalar(sa.select(UnitResident).where(UnitResident.user_id == user_id,
                                                           UnitResident.unit_id == unit_id))


def unlink_resident(link: UnitResident) -> None:
    """Remove a resident's tie to a unit (they moved out).  Nothing else changes: what they filed
    at the unit stays theirs (complaints keep their complainant and place)."""
    db.session.delete(link)
    db.session.flush()


def unit_ids_under_stmt(paths: Iterable[str]):
    """A SELECT of the ids of the units at or beneath any of ``paths`` (e.g. from
    :func:`covered_place_paths`); no path, no unit."""
    paths = sorted(set(paths))
    cond = sa.or_(*[Place.path.startswith(p) for p in paths]) if paths else sa.false()
    return sa.select(Place.id).where(Place.kind == "unit", cond)


def places_by_codes(codes: Iterable[str]) -> dict[str, Place]:
    """``{code: Place}`` for the registered places among ``codes`` (chunks of 500)."""
    return _rows_by(Place.code, codes)
