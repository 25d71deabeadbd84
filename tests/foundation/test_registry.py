"""The registry: the ladder, unit areas, datums, coverage, location."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from civic.core.errors import ValidationFailed
from civic.core.geo import from_wgs84
from civic.property import service as registry


def test_ladder_paths_and_ancestors(factory):
    lad = factory.ladder()
    unit = lad["units"][0]
    assert [p.kind for p in registry.ancestors(unit)] == [
        "district", "street", "community", "compound", "building", "unit"]
    assert registry.ancestor_of_kind(unit, "community").id == lad["community"].id


def test_unit_under_a_compound_is_refused(factory):
    lad = factory.ladder()
    with pytest.raises(ValidationFailed) as exc:
        registry.create_place(kind="unit", code="U-x", name="x", parent=lad["compound"],
                              area=Decimal("80.00"), area_source="registry")
    assert exc.value.code == "place_parent_invalid"


@pytest.mark.parametrize("value", ["12.345", "-80", "0", "NaN", "abc", "100000"])
def test_bad_unit_area_is_refused(value):
    with pytest.raises(ValidationFailed) as exc:
        registry.parse_area(value)
    assert exc.value.code == "area_invalid"


def test_unit_area_is_exact_to_two_places(client, factory):
    lad = factory.ladder()
    resp = client.get(f"/api/v1/places/{lad['units'][0].id}", headers=factory.token(factory.admin()))
    assert (resp.get_json()["area"], resp.get_json()["area_source"]) == ("88.50", "registry")


def test_police_cannot_cover_a_compound(factory):
    lad = factory.ladder()
    with pytest.raises(ValidationFailed) as exc:
        registry.create_organisation(kind="police", code="O-x", name="派出所", covers=[lad["compound"]])
    assert exc.value.code == "coverage_kind_invalid"


def test_organisations_covering_a_unit_nearest_first(factory):
    lad = factory.ladder()
    um = factory.org("urban_management", [lad["street"]])
    police = factory.org("police", [lad["community"]])
    pc = factory.org("property_company", [lad["compound"]])
    assert [o.id for o in registry.organisations_covering(lad["units"][0])] == [pc.id, police.id, um.id]
    assert registry.organisation_covers(police.id, lad["units"][1].id)
    assert not registry.organisation_covers(pc.id, lad["community"].id)


def test_locate_a_gcj02_point_from_the_mini_program(client, factory):
    lad = factory.ladder()
    ring = [[121.500, 31.230], [121.510, 31.230], [121.510, 31.240], [121.500, 31.240], [121.500, 31.230]]
    lad["compound"].boundary = json.dumps({"type": "Polygon", "coordinates": [ring]})
    lad["community"].boundary = json.dumps({"type": "Polygon", "coordinates": [[
        [121.49, 31.22], [121.52, 31.22], [121.52, 31.25], [121.49, 31.25], [121.49, 31.22]]]})
    factory.commit()
    # A point just inside the compound's east edge (WGS-84), as the picker reports it: in GCJ-02,
    # ~430 m further east.  Taken as WGS-84, it would land outside the compound.
    glat, glng = from_wgs84(31.2350, 121.5090, "gcj02")
    headers = factory.token(factory.staff())
    got = client.get(f"/api/v1/places/locate?lat={glat}&lng={glng}&datum=gcj02", headers=headers).get_json()
    assert got["id"] == lad["compound"].id
    raw = client.get(f"/api/v1/places/locate?lat={glat}&lng={glng}", headers=headers).get_json()
    assert raw["id"] == lad["community"].id
