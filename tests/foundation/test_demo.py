"""The demo street (`flask civic seed-demo`): real counts, real areas, idempotent with --if-empty."""

from __future__ import annotations

import csv
import json
from collections import Counter
from decimal import Decimal

import sqlalchemy as sa

from civic.accounts.models import Membership, User
from civic.extensions import db
from civic.property import service as registry
from civic.property.models import ORGANISATION_KINDS, Organisation, Place, UnitResident

SAMPLE_FOR = {"C-BJHY": "世茂滨江花园", "C-KC": "上海康城", "C-LWC": "中远两湾城", "C-WTY": "中远两湾城"}


def _seed(runner, *args):
    result = runner.invoke(args=["civic", "seed-demo", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_demo_street_places_units_and_areas(runner, shared_dir):
    summary = _seed(runner)
    kinds = Counter(db.session.scalars(sa.select(Place.kind)))
    assert (kinds["district"], kinds["street"], kinds["community"], kinds["compound"], kinds["village"]) == (
        1, 1, 3, 5, 1)  # four compounds and 新丰村's villagers' group
    assert summary["units"] == {"C-BJHY": 1200, "C-KC": 72, "C-LWC": 80, "C-WTY": 24}
    assert kinds["unit"] == 1377  # and the house of the villager who asks (新丰村128号)
    sample: dict[str, set[Decimal]] = {}
    with (shared_dir / "data" / "areas_sample.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            sample.setdefault(row["compound"], set()).add(Decimal(row["area_m2"]))
    for code, name in SAMPLE_FOR.items():
        compound = registry.place_by_code(code)
        areas = set(db.session.scalars(sa.select(Place.area).where(
            Place.kind == "unit", Place.path.startswith(compound.path))))
        assert areas <= sample[name], code
        assert len(areas) > 1
    # Units the developer still holds: unsold and sold but not yet delivered.
    held = Counter(db.session.scalars(sa.select(Place.developer_status).where(Place.developer_status.is_not(None))))
    assert held == {"unsold": 20, "sold_undelivered": 10}
    # Every organisation kind, each with staff.
    assert set(db.session.scalars(sa.select(Organisation.kind))) == set(ORGANISATION_KINDS)
    staffed = set(db.session.scalars(sa.select(Organisation.kind).join(
        Membership, Membership.organisation_id == Organisation.id)))
    assert staffed == set(ORGANISATION_KINDS)
    assert _count(User, User.kind == "admin") == 1


def test_demo_residents_co_owners_two_units_and_if_empty(runner):
    _seed(runner)
    li_si = db.session.scalar(sa.select(User).where(User.phone == "13900000002"))
    assert len(registry.units_of_resident(li_si.id)) == 2
    wang_wu = db.session.scalar(sa.select(User).where(User.phone == "13900000003"))
    (link, unit), = registry.units_of_resident(wang_wu.id)
    co = registry.residents_of_unit(unit.id)
    assert sorted((r.relation, r.representative) for r in co) == [("co_owner", False), ("co_owner", True)]
    zheng = db.session.scalar(sa.select(User).where(User.phone == "13900000008"))
    (_, bought), = registry.units_of_resident(zheng.id)
    assert bought.developer_status == "sold_undelivered"
    compound = registry.place_by_code("C-BJHY")
    owned = _count(UnitResident, UnitResident.unit_id.in_(
        sa.select(Place.id).where(Place.path.startswith(compound.path), Place.kind == "unit")))
    # units 6..1,170 one owner each; five named residents on units 1-5 (co-owners: 2 links); 郑十 on the last
    assert owned == (1200 - 5 - 30) + 6 + 1
    before = (_count(Place), _count(User), _count(UnitResident))
    assert _seed(runner, "--if-empty") == {"skipped": True}
    assert (_count(Place), _count(User), _count(UnitResident)) == before
