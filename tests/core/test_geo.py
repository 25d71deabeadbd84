"""civic.core.geo: datums, distances, polygons (real Shanghai coordinates)."""

from __future__ import annotations

import json
import math

import pytest

from civic.core.errors import ValidationFailed
from civic.core.geo import (
    bbox_around,
    contains,
    distance_m,
    from_wgs84,
    locate,
    parse_polygon,
    to_wgs84,
)

BUND_WGS = (31.2400, 121.4900)  # the Bund, Huangpu, WGS-84
PEOPLES_SQUARE_WGS = (31.2304, 121.4737)


def square(lat: float, lng: float, half_side_m: float) -> dict:
    """A square GeoJSON Polygon ([lng, lat] positions) centred on a WGS-84 point."""
    dlat = half_side_m / 111_195
    dlng = dlat / math.cos(math.radians(lat))
    ring = [
        [lng - dlng, lat - dlat],
        [lng + dlng, lat - dlat],
        [lng + dlng, lat + dlat],
        [lng - dlng, lat + dlat],
        [lng - dlng, lat - dlat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def test_wgs_to_gcj_shift_in_shanghai():
    gcj = from_wgs84(*BUND_WGS, "gcj02")
    assert 300 < distance_m(BUND_WGS, gcj) < 800


def test_gcj_round_trip_is_sub_metre():
    gcj = from_wgs84(*BUND_WGS, "gcj02")
    assert distance_m(BUND_WGS, to_wgs84(*gcj, "gcj02")) < 0.5


def test_bd09_round_trip_is_sub_metre():
    bd = from_wgs84(*PEOPLES_SQUARE_WGS, "bd09")
    assert distance_m(PEOPLES_SQUARE_WGS, bd) > 500
    assert distance_m(PEOPLES_SQUARE_WGS, to_wgs84(*bd, "BD-09")) < 0.5


def test_wgs84_passes_through():
    assert to_wgs84(*BUND_WGS, "WGS-84") == BUND_WGS


def test_gcj_outside_china_is_unchanged_and_quiet():
    paris = (48.8566, 2.3522)
    assert to_wgs84(*paris, "gcj02") == paris  # pytest turns prcoords' warning into an error


def test_unknown_datum():
    with pytest.raises(ValidationFailed) as exc:
        to_wgs84(*BUND_WGS, "cgcs2000")
    assert exc.value.code == "datum_unknown"
    assert exc.value.details["accepted"] == ["wgs84", "gcj02", "bd09"]


@pytest.mark.parametrize(
    ("lat", "lng"), [(91, 121), (31, 181), (math.nan, 121), ("abc", 121), (None, 121), (True, 1)]
)
def test_invalid_coordinates(lat, lng):
    with pytest.raises(ValidationFailed) as exc:
        to_wgs84(lat, lng, "wgs84")
    assert exc.value.code == "coordinate_invalid"


def test_distance_bund_to_peoples_square():
    # By hand (equirectangular): 0.0096 deg lat = 1067 m, 0.0163 deg lng x cos(31.235) = 1550 m;
    # hypot = 1881.5 m.
    assert distance_m(BUND_WGS, PEOPLES_SQUARE_WGS) == pytest.approx(1881.5, abs=2)
    assert distance_m(BUND_WGS, BUND_WGS) == 0


def test_bbox_around_contains_the_circle():
    lat, lng = BUND_WGS
    min_lat, min_lng, max_lat, max_lng = bbox_around(lat, lng, 100)
    assert distance_m((lat, lng), (max_lat, lng)) == pytest.approx(100, rel=1e-9)
    assert distance_m((lat, lng), (lat, max_lng)) == pytest.approx(100, rel=1e-3)
    for bearing in range(0, 360, 5):
        # a point 99.9 m away in every direction lies inside the box
        d = 99.9 / 6_371_008.8
        phi1, lmb1, theta = math.radians(lat), math.radians(lng), math.radians(bearing)
        phi2 = math.asin(math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(theta))
        lmb2 = lmb1 + math.atan2(
            math.sin(theta) * math.sin(d) * math.cos(phi1), math.cos(d) - math.sin(phi1) * math.sin(phi2)
        )
        p = (math.degrees(phi2), math.degrees(lmb2))
        assert min_lat <= p[0] <= max_lat and min_lng <= p[1] <= max_lng


def test_bbox_near_pole_spans_all_longitudes():
    assert bbox_around(89.9999, 10, 1000)[1::2] == (-180.0, 180.0)


def test_parse_polygon_and_multipolygon():
    poly = parse_polygon(json.dumps(square(*BUND_WGS, 200)))
    assert poly.geom_type == "Polygon"
    multi = parse_polygon(
        {
            "type": "MultiPolygon",
            "coordinates": [
                square(*BUND_WGS, 50)["coordinates"],
                square(*PEOPLES_SQUARE_WGS, 50)["coordinates"],
            ],
        }
    )
    assert multi.geom_type == "MultiPolygon"


@pytest.mark.parametrize(
    "geojson",
    [
        "not json",
        {"type": "Point", "coordinates": [121.49, 31.24]},
        {"type": "Polygon", "coordinates": [[[121.49, 31.24], [121.50, 31.24], [121.50, 31.25]]]},
        {
            "type": "Polygon",
            "coordinates": [[[121.49, 31.24], [121.50, 31.24], [121.50, 31.25], [121.49, 31.25]]],
        },
        # bow-tie: self-intersecting
        {
            "type": "Polygon",
            "coordinates": [
                [[121.49, 31.24], [121.50, 31.25], [121.50, 31.24], [121.49, 31.25], [121.49, 31.24]]
            ],
        },
        # [lat, lng] order by mistake puts latitude 121 out of range
        {
            "type": "Polygon",
            "coordinates": [[[31.24, 121.49], [31.24, 121.50], [31.25, 121.50], [31.24, 121.49]]],
        },
    ],
)
def test_parse_polygon_rejects(geojson):
    with pytest.raises(ValidationFailed) as exc:
        parse_polygon(geojson)
    assert exc.value.code == "geometry_invalid"


def test_parse_polygon_converts_datum():
    gcj_center = from_wgs84(*BUND_WGS, "gcj02")
    poly = parse_polygon(square(*gcj_center, 50), datum="gcj02")
    centroid = poly.centroid
    assert distance_m(BUND_WGS, (centroid.y, centroid.x)) < 1


def test_gcj_point_located_only_after_conversion():
    compound = json.dumps(square(*BUND_WGS, 150))  # stored in WGS-84
    gcj_point = from_wgs84(*BUND_WGS, "gcj02")  # what the mini-program's picker sends
    assert not contains(compound, *gcj_point)  # ~480 m off: outside without conversion
    assert contains(compound, *to_wgs84(*gcj_point, "gcj02"))


def test_locate_prefers_the_smallest_containing_polygon():
    compound = json.dumps(square(*BUND_WGS, 300))
    building = json.dumps(square(*BUND_WGS, 20))
    elsewhere = json.dumps(square(*PEOPLES_SQUARE_WGS, 300))
    candidates = [("compound", compound), ("building", building), ("elsewhere", elsewhere)]
    assert locate(*BUND_WGS, candidates) == "building"
    near_gate = (BUND_WGS[0] + 0.002, BUND_WGS[1])  # ~220 m north: in the compound, not the building
    assert locate(*near_gate, candidates) == "compound"
    assert locate(31.30, 121.60, candidates) is None
