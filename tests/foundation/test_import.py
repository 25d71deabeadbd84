"""Registry import from CSV (command line and admin endpoint) and from a seed file: all or nothing,
every bad row reported with its line, column and reason."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.core.audit import AuditEntry
from civic.core.geo import distance_m, to_wgs84
from civic.extensions import db
from civic.property.models import Organisation, OrganisationCoverage, Place

HEADER = "code,kind,name,parent_code,area_m2,area_source,developer_status,lat,lng,datum,boundary\n"
SQUARE = '"{""type"": ""Polygon"", ""coordinates"": [[[121.50, 31.23], [121.51, 31.23], [121.51, 31.24], [121.50, 31.24], [121.50, 31.23]]]}"'

GOOD = HEADER + (
    "D-1,district,浦东新区,,,,,,,,\n"
    "S-1,street,滨江街道,D-1,,,,,,,\n"
    "CM-1,community,滨江社区,S-1,,,,,,,\n"
    f"C-1,compound,滨江花园,CM-1,,,,31.2396,121.5058,gcj02,{SQUARE}\n"
    "B-1,building,1号楼,C-1,,,,,,,\n"
    "U-1,unit,101室,B-1,132.17,registry,,,,,\n"
    "U-2,unit,102室,B-1,88.5,contract,unsold,,,,\n"
    "V-1,village,新丰村,S-1,,,,,,,\n"
)

# Line numbers count the header as line 1.
BAD = HEADER + (
    "D-1,district,浦东新区,,,,,,,,\n"                       # 2 good
    "S-1,street,滨江街道,D-1,,,,,,,\n"                      # 3 good
    "CM-1,community,滨江社区,S-1,,,,,,,\n"                  # 4 good
    "C-1,compound,滨江花园,CM-1,,,,,,,\n"                   # 5 good
    "B-1,building,1号楼,C-1,,,,,,,\n"                      # 6 good
    "U-1,unit,101室,B-1,12.345,registry,,,,,\n"            # 7 area with three decimals
    "U-2,unit,102室,B-1,-80,registry,,,,,\n"               # 8 negative area
    "X-1,castle,城堡,S-1,,,,,,,\n"                          # 9 unknown kind
    "B-2,building,2号楼,C-404,,,,,,,\n"                     # 10 unknown parent
    "U-3,unit,103室,C-1,80.00,registry,,,,,\n"             # 11 unit under a compound
    "C-2,compound,梧桐苑,CM-1,,,,31.2,121.5,mars,\n"        # 12 bad datum
    'C-3,compound,康城,CM-1,,,,,,,"{""type"": ""Polygon"", ""coordinates"": [[[121.5, 31.2], [121.6, 31.2]]]}"\n'  # 13 broken GeoJSON
    "B-1,building,1号楼,C-1,,,,,,,\n"                      # 14 duplicate code
    "U-4,unit,104室,B-1,80.00,registry,,,,,,extra\n"       # 15 extra cells
)

EXPECTED = {(7, "area_m2"), (8, "area_m2"), (9, "kind"), (10, "parent_code"), (11, "parent_code"),
            (12, "datum"), (13, "boundary"), (14, "code"), (15, None)}


def _counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Place)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)))


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_bad_places_csv_via_endpoint_lists_every_bad_row_and_writes_nothing(client, factory):
    headers = factory.token(factory.admin())
    before = _counts()
    resp = client.post("/api/v1/registry/import/places", data=BAD.encode(),
                       headers={**headers, "Content-Type": "text/csv"})
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "import_invalid"
    assert {(e["line"], e["column"]) for e in err["details"]["errors"]} == EXPECTED
    assert all(e["reason"] for e in err["details"]["errors"])
    reasons = {(e["line"], e["column"]): e["reason"] for e in err["details"]["errors"]}
    assert reasons[(11, "parent_code")] == "户不能隶属于小区"  # kinds by their Chinese names
    assert _counts() == before


def test_bad_places_csv_via_command_line_lists_every_bad_row_and_writes_nothing(runner, tmp_path):
    result = runner.invoke(args=["civic", "import-places", _write(tmp_path, "bad.csv", BAD)])
    assert result.exit_code == 1
    for line, column in EXPECTED:
        assert f"第 {line} 行 {column or ''}" in result.stderr
    assert _counts() == (0, 0, 0)


def test_good_places_csv_via_endpoint_imports_every_row_and_audits(client, factory):
    admin = factory.admin()
    resp = client.post("/api/v1/registry/import/places", data=GOOD.encode(),
                       headers={**factory.token(admin), "Content-Type": "text/csv"})
    assert resp.status_code == 201
    assert resp.get_json() == {"places": 8, "organisations": 0}
    unit = db.session.scalar(sa.select(Place).where(Place.code == "U-2"))
    assert (unit.area, unit.area_source, unit.developer_status) == (Decimal("88.50"), "contract", "unsold")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "registry.import"))
    assert (entry.actor_id, entry.data) == (admin.id, {"places": 8, "organisations": 0})


def test_gcj02_centre_is_stored_in_wgs84(runner, tmp_path):
    result = runner.invoke(args=["civic", "import-places", _write(tmp_path, "good.csv", GOOD)])
    assert result.exit_code == 0, result.output
    compound = db.session.scalar(sa.select(Place).where(Place.code == "C-1"))
    wlat, wlng = to_wgs84(31.2396, 121.5058, "gcj02")
    assert (compound.centre_lat, compound.centre_lng) == pytest.approx((wlat, wlng), abs=1e-9)
    # GCJ-02 is hundreds of metres off in Shanghai: storing it unconverted would show here.
    assert distance_m((compound.centre_lat, compound.centre_lng), (31.2396, 121.5058)) > 300


def test_gcj02_boundary_is_stored_in_wgs84(runner, tmp_path):
    runner.invoke(args=["civic", "import-places", _write(tmp_path, "good.csv", GOOD)])
    compound = db.session.scalar(sa.select(Place).where(Place.code == "C-1"))
    first = json.loads(compound.boundary)["coordinates"][0][0]
    assert first == pytest.approx(list(to_wgs84(31.23, 121.50, "gcj02"))[::-1], abs=1e-9)


def test_organisations_csv_with_bad_rows_writes_nothing(client, factory, runner, tmp_path):
    runner.invoke(args=["civic", "import-places", _write(tmp_path, "good.csv", GOOD)])
    text = ("code,kind,name,covers,phone\n"
            "O-1,property_company,世茂物业,C-1,021-1\n"         # 2 good
            "O-2,police,派出所,C-1,\n"                          # 3 police cover communities, not compounds
            "O-3,mafia,黑帮,S-1,\n"                             # 4 unknown kind
            "O-4,urban_management,城管,S-404,\n"                # 5 unknown place
            "O-1,owners_committee,业委会,C-1,\n")               # 6 duplicate code
    headers = factory.token(factory.admin())
    before = _counts()
    resp = client.post("/api/v1/registry/import/organisations", data=text.encode(),
                       headers={**headers, "Content-Type": "text/csv"})
    assert resp.status_code == 422
    assert {(e["line"], e["column"]) for e in resp.get_json()["error"]["details"]["errors"]} == {
        (3, "covers"), (4, "kind"), (5, "covers"), (6, "code")}
    reasons = {(e["line"], e["column"]): e["reason"] for e in resp.get_json()["error"]["details"]["errors"]}
    assert reasons[(3, "covers")] == "公安不能覆盖小区（C-1）"
    assert _counts() == before


def test_organisations_csv_binds_coverage(client, factory, runner, tmp_path):
    runner.invoke(args=["civic", "import-places", _write(tmp_path, "good.csv", GOOD)])
    text = "code,kind,name,covers,phone\nO-1,police,派出所,CM-1;V-1,110\nO-2,urban_management,城管,S-1,\n"
    resp = client.post("/api/v1/registry/import/organisations", data=text.encode(),
                       headers={**factory.token(factory.admin()), "Content-Type": "text/csv"})
    assert resp.status_code == 201
    police = db.session.scalar(sa.select(Organisation).where(Organisation.code == "O-1"))
    covered = set(db.session.scalars(
        sa.select(Place.code).join(OrganisationCoverage, OrganisationCoverage.place_id == Place.id)
        .where(OrganisationCoverage.organisation_id == police.id)))
    assert covered == {"CM-1", "V-1"}


def test_import_endpoint_refuses_staff(client, factory):
    resp = client.post("/api/v1/registry/import/places", data=GOOD.encode(),
                       headers={**factory.token(factory.staff()), "Content-Type": "text/csv"})
    assert resp.status_code == 403
    assert _counts()[0] == 0


def test_example_seed_file_imports_via_command_line(runner):
    path = Path(__file__).resolve().parents[2] / "civic" / "property" / "data" / "example_seed.json"
    result = runner.invoke(args=["civic", "import-seed", str(path)])
    assert result.exit_code == 0, result.output
    seed = json.loads(path.read_text(encoding="utf-8"))
    assert result.output.strip() == (f"imported {len(seed['places'])} places, "
                                     f"{len(seed['organisations'])} organisations")
    assert _counts()[:2] == (len(seed["places"]), len(seed["organisations"]))


def test_seed_file_with_bad_items_writes_nothing(runner, tmp_path):
    seed = {"places": [{"code": "D-1", "kind": "district", "name": "浦东新区"},
                       {"code": "S-1", "kind": "street", "name": "滨江街道", "parent_code": "D-1",
                        "boundary": {"type": "Polygon", "coordinates": [[[121.5, 31.2]]]}},
                       "not an object"],
            "organisations": [{"code": "O-1", "kind": "police", "name": "派出所", "covers": ["S-1"]}]}
    result = runner.invoke(args=["civic", "import-seed", _write(tmp_path, "seed.json", json.dumps(seed))])
    assert result.exit_code == 1
    assert "第 2 行 boundary" in result.stderr
    assert "第 3 行 places" in result.stderr
    assert "第 4 行 covers" in result.stderr
    assert _counts() == (0, 0, 0)
