"""Finding a paper ballot's voter by the unit written on it (console: 纸质选票录入), answered by the
database with a limit (civic.property.service.units_named): the right units of the round's places,
named as staff read them, in name order, cut at the limit, whatever the registry's naming style."""

from __future__ import annotations

from decimal import Decimal

import pytest

from civic.budgets import service
from civic.budgets.service.ballots import PAPER_SEARCH_MAX
from civic.property import service as reg


def _units(factory, building, names: list[str]):
    units = reg.create_units(building, [{"code": factory._code("U"), "name": n, "area": Decimal("80.00"),
                                         "area_source": "registry"} for n in names])
    factory.commit()
    return units


@pytest.fixture
def street(bw, factory):
    """The round's community with units named in every style an import uses, and a unit named alike
    in another community, outside the round."""
    comp = bw.ladder["compound"]  # 测试小区, its 1号楼 holds 101室 and 102室 (factory.ladder)
    b2 = reg.create_place(kind="building", code=factory._code("B"), name="测试小区2号楼", parent=comp)
    b3 = reg.create_place(kind="building", code=factory._code("B"), name="3号楼", parent=comp)
    factory.commit()
    u2 = _units(factory, b2, ["测试小区2号楼201室", "202室"])  # named in full; named short, building in full
    u3 = _units(factory, b3, ["3号楼301室", "A座302室", "a座303室", "30%4室"])  # building repeated; letters; a %
    outside = factory.ladder()  # another 测试小区, another community: not in the round
    return {"unit1": bw.unit1, "unit2": bw.unit2, "u2": u2, "u3": u3, "outside": outside["units"][0]}


def _found(bw, rid, q, limit=PAPER_SEARCH_MAX):
    got = service.paper_voter_search(bw.head, rid, q, limit=limit)
    return [(i["unit_id"], i["unit_name"]) for i in got["items"]], got["truncated"]


def test_the_search_finds_the_round_s_units_by_their_full_name(bw, street):
    rid = bw.round()["id"]
    s = street
    assert _found(bw, rid, "101") == ([(s["unit1"].id, "测试小区1号楼101室")], False)
    assert _found(bw, rid, "1号楼 10") == ([(s["unit1"].id, "测试小区1号楼101室"),
                                            (s["unit2"].id, "测试小区1号楼102室")], False)
    assert _found(bw, rid, "2号楼") == ([(s["u2"][0].id, "测试小区2号楼201室"), (s["u2"][1].id, "测试小区2号楼202室")],
                                       False)
    assert _found(bw, rid, "小区3号楼30") == ([(s["u3"][3].id, "测试小区3号楼30%4室"),
                                              (s["u3"][0].id, "测试小区3号楼301室")], False)
    # As written: a capital A is not an a, and % is a character, not a wildcard.
    assert _found(bw, rid, "A座") == ([(s["u3"][1].id, "测试小区3号楼A座302室")], False)
    assert _found(bw, rid, "%") == ([(s["u3"][3].id, "测试小区3号楼30%4室")], False)
    assert _found(bw, rid, "9号楼") == ([], False)
    assert _found(bw, rid, "  ") == ([], False)
    # The residents come with each unit, phones masked.
    got = service.paper_voter_search(bw.head, rid, "102室")["items"]
    assert [len(i["residents"]) for i in got] == [4] and all("*" in r["phone"] for r in got[0]["residents"])


def test_the_search_is_cut_at_its_limit_in_name_order(bw, street):
    rid = bw.round()["id"]
    all_ = _found(bw, rid, "测试小区")[0]
    assert len(all_) == 8 and street["outside"].id not in {u for u, _n in all_}
    assert [n for _u, n in all_] == sorted(n for _u, n in all_)
    assert _found(bw, rid, "测试小区", limit=3) == (all_[:3], True)
    assert _found(bw, rid, "测试小区", limit=8) == (all_, False)


def test_the_database_names_units_as_full_unit_name_does(bw, street):
    # units_named's SQL and full_unit_name (Python) are one rule written twice: they agree on every
    # naming style above.
    paths = [bw.ladder["community"].path]
    ids = [u for u, _n in reg.units_named(paths, "室", limit=100)]
    assert dict(reg.units_named(paths, "室", limit=100)) == reg.unit_full_names(ids)
    assert len(ids) == 8
