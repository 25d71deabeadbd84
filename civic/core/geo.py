"""Coordinates and areas: datum conversion to WGS-84, distances, GeoJSON polygons.

civic stores WGS-84 only.  Input arrives in one of three datums:

- ``"wgs84"``: GPS (photos' EXIF), Open311 clients;
- ``"gcj02"``: Chinese map SDKs (高德, 腾讯, the WeChat mini-program's location picker);
- ``"bd09"``: Baidu maps.

GCJ-02 and BD-09 are obfuscated datums (offsets of a few hundred metres in Shanghai); the conversion
uses ``prcoords`` (Artoria2e5/PRCoords, CC0) and its iterative ("bored", Caijun 2014) inverse, accurate
to well under a metre.  Outside mainland China map providers serve WGS-84, so GCJ-02 input there is
taken as is (prcoords' own bounding-box test).

Coordinates are ``(lat, lng)`` in decimal degrees in Python; GeoJSON positions are ``[lng, lat]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterable
from functools import lru_cache
from typing import Any

import prcoords
from shapely import prepare
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.validation import explain_validity

from civic.core.errors import ValidationFailed

DATUMS = ("wgs84", "gcj02", "bd09")

#: Mean Earth radius (IUGG), metres; distances and bounding boxes use the same sphere.
EARTH_RADIUS_M = 6_371_008.8


def _datum(datum: str) -> str:
    key = str(datum).strip().lower().replace("-", "").replace("_", "") if datum is not None else ""
    if key not in DATUMS:
        raise ValidationFailed(
            f"不支持的坐标系：{datum}，可用 wgs84、gcj02、bd09",
            code="datum_unknown",
            details={"datum": datum, "accepted": list(DATUMS)},
        )
    return key


def _coordinate(lat: Any, lng: Any) -> tuple[float, float]:
    try:
        if isinstance(lat, bool) or isinstance(lng, bool):
            raise TypeError
        flat, flng = float(lat), float(lng)
    except (TypeError, ValueError):
        flat = flng = math.nan
    if not (-90.0 <= flat <= 90.0 and -180.0 <= flng <= 180.0):  # also false for NaN
        raise ValidationFailed(
            "坐标无效：纬度应在 -90 到 90 之间，经度应在 -180 到 180 之间",
            code="coordinate_invalid",
            details={"lat": _jsonable(lat), "lng": _jsonable(lng)},
        )
    return flat, flng


def _jsonable(value: Any) -> Any:
    if isinstance(value, (int, float, str)) and not (isinstance(value, float) and not math.isfinite(value)):
        return value
    return repr(value)


def _in_china(lat: float, lng: float) -> bool:
    return prcoords.sanity_in_china_p(prcoords.Coords(lat, lng))


def to_wgs84(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Convert a point to WGS-84.

    :param lat: latitude, decimal degrees, in the given datum.
    :param lng: longitude, decimal degrees, in the given datum.
    :param datum: ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` (case and ``-``/``_`` ignored: ``"GCJ-02"``).
    :returns: ``(lat, lng)`` in WGS-84; the GCJ-02 inverse is iterative (sub-metre).
    :raises ValidationFailed: ``datum_unknown`` (details list the accepted datums);
        ``coordinate_invalid`` when lat/lng are not finite numbers within [-90, 90] / [-180, 180].
    """
    key = _datum(datum)
    flat, flng = _coordinate(lat, lng)
    if key == "bd09":
        gcj = prcoords.bd_gcj_bored((flat, flng))
        flat, flng = gcj.lat, gcj.lon
        key = "gcj02"
    if key == "gcj02" and _in_china(flat, flng):
        wgs = prcoords.gcj_wgs_bored((flat, flng))
        flat, flng = wgs.lat, wgs.lon
    return flat, flng


def from_wgs84(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Convert a WGS-84 point to ``datum``, e.g. to place a marker on a GCJ-02 map.

    Same parameters, result shape and errors as :func:`to_wgs84`.
    """
    key = _datum(datum)
    flat, flng = _coordinate(lat, lng)
    if key == "wgs84" or not _in_china(flat, flng):
        converted = (flat, flng) if key != "bd09" else tuple(prcoords.gcj_bd((flat, flng)))
    elif key == "gcj02":
        converted = tuple(prcoords.wgs_gcj((flat, flng), False))
    else:
        converted = tuple(prcoords.wgs_bd((flat, flng), False))
    return float(converted[0]), float(converted[1])


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance in metres between two WGS-84 points ``(lat, lng)``.

    Spherical, radius :data:`EARTH_RADIUS_M`: within 0.5 % of the ellipsoidal distance, ample for
    "is this complaint within 100 m of that one".
    """
    lat1, lng1 = _coordinate(*a)
    lat2, lng2 = _coordinate(*b)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bbox_around(lat: float, lng: float, metres: float) -> tuple[float, float, float, float]:
    """The smallest lat/lng box holding every point within ``metres`` of ``(lat, lng)`` (WGS-84).

    For an index-friendly SQL prefilter (``lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?``) before the
    exact :func:`distance_m` test: every point within the radius (on the same sphere) is inside.

    :returns: ``(min_lat, min_lng, max_lat, max_lng)``, clamped to the valid ranges; near a pole the
        longitude span is the whole circle.  Boxes crossing the antimeridian are clamped, not wrapped
        (irrelevant in China).
    :raises ValidationFailed: ``coordinate_invalid``; also for a negative or non-finite radius.
    """
    flat, flng = _coordinate(lat, lng)
    if not (isinstance(metres, (int, float)) and math.isfinite(metres) and metres >= 0):
        raise ValidationFailed("半径无效", code="coordinate_invalid", details={"metres": _jsonable(metres)})
    d = metres / EARTH_RADIUS_M  # angular radius
    dlat = math.degrees(d)
    min_lat, max_lat = max(-90.0, flat - dlat), min(90.0, flat + dlat)
    cos_lat = math.cos(math.radians(flat))
    if d >= math.pi / 2 or math.sin(d) >= cos_lat or min_lat == -90.0 or max_lat == 90.0:
        return min_lat, -180.0, max_lat, 180.0
    # Exact widest longitude offset of a spherical cap centred at latitude `flat`.
    dlng = math.degrees(math.asin(math.sin(d) / cos_lat))
    return min_lat, max(-180.0, flng - dlng), max_lat, min(180.0, flng + dlng)


# --- GeoJSON polygons -----------------------------------------------------------------------------


def _geometry_error(reason: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        f"区域边界无效：{reason}", code="geometry_invalid", details={"reason": reason, **details}
    )


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise _geometry_error("a ring needs at least 4 positions", at=where)
    for i, pos in enumerate(ring):
        if (
            not isinstance(pos, list)
            or len(pos) not in (2, 3)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos)
        ):
            raise _geometry_error("a position is [lng, lat] numbers", at=f"{where}[{i}]")
        lng, lat = pos[0], pos[1]
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise _geometry_error("position out of range ([lng, lat] order?)", at=f"{where}[{i}]")
    if ring[0][:2] != ring[-1][:2]:
        raise _geometry_error("ring not closed (first position must equal last)", at=where)


def _convert_rings(rings: list, datum: str) -> list:
    return [[list(to_wgs84(pos[1], pos[0], datum)[::-1]) for pos in ring] for ring in rings]


def parse_polygon(geojson: dict | str, datum: str = "wgs84") -> Polygon | MultiPolygon:
    """Parse and validate a GeoJSON Polygon or MultiPolygon, converting it to WGS-84.

    :param geojson: a GeoJSON geometry object (RFC 7946), as a dict or a JSON string; positions are
        ``[lng, lat]`` (an optional third value, altitude, is dropped).
    :param datum: the datum of the positions; each vertex is converted with :func:`to_wgs84`.
    :returns: a valid shapely ``Polygon`` or ``MultiPolygon`` in WGS-84 (x = lng, y = lat).
    :raises ValidationFailed: ``geometry_invalid`` (details ``reason`` and, where known, ``at``) for
        bad JSON, another type, unclosed or short rings, out-of-range positions, or invalid geometry
        (self-intersection, ...); ``datum_unknown`` for an unknown datum.
    """
    key = _datum(datum)
    if isinstance(geojson, str):
        try:
            geojson = json.loads(geojson)
        except ValueError as exc:
            raise _geometry_error("not valid JSON") from exc
    if not isinstance(geojson, dict):
        raise _geometry_error("not a GeoJSON object")
    kind, coords = geojson.get("type"), geojson.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise _geometry_error("MultiPolygon needs at least one polygon")
        polygons = coords
    else:
        raise _geometry_error("type must be Polygon or MultiPolygon", type=_jsonable(kind))
    for p, rings in enumerate(polygons):
        if not isinstance(rings, list) or not rings:
            raise _geometry_error("a polygon needs an exterior ring", at=f"polygon {p}")
        for r, ring in enumerate(rings):
            _check_ring(ring, f"polygon {p} ring {r}")
    converted = [_convert_rings(rings, key) for rings in polygons]
    geometry = shape({"type": kind, "coordinates": converted[0] if kind == "Polygon" else converted})
    if geometry.is_empty or not geometry.is_valid:
        raise _geometry_error(explain_validity(geometry))
    return geometry


@lru_cache(maxsize=2048)
def _cached_polygon(geojson: str) -> Polygon | MultiPolygon:
    geometry = parse_polygon(geojson)
    prepare(geometry)  # speeds up repeated point tests
    return geometry


def contains(polygon_geojson: str, lat: float, lng: float) -> bool:
    """Whether a WGS-84 point lies in a stored WGS-84 GeoJSON (Multi)Polygon; the boundary counts as in.

    Parsed polygons are cached by their string.
    :raises ValidationFailed: ``geometry_invalid``, ``coordinate_invalid``.
    """
    flat, flng = _coordinate(lat, lng)
    return _cached_polygon(polygon_geojson).covers(Point(flng, flat))


def locate(lat: float, lng: float, candidates: Iterable[tuple[Hashable, str]]) -> Hashable | None:
    """The id of the smallest-area candidate polygon that contains the WGS-84 point, or ``None``.

    Smallest wins so a building is chosen over the compound around it, and a compound over its
    community.  Areas are compared in square degrees, which ranks correctly for polygons around one
    point.  On equal areas the first candidate wins.

    :param candidates: ``(id, geojson_str)`` pairs, polygons in WGS-84 (as stored).
    :raises ValidationFailed: ``geometry_invalid`` if a candidate is invalid; ``coordinate_invalid``.
    """
    flat, flng = _coordinate(lat, lng)
    point = Point(flng, flat)
    best_id, best_area = None, math.inf
    for candidate_id, geojson in candidates:
        polygon = _cached_polygon(geojson)
        if polygon.area < best_area and polygon.covers(point):
            best_id, best_area = candidate_id, polygon.area
    return best_id
