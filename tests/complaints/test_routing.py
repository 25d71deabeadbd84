"""Routing (issue 3 point 3): the table from the data file, per-district overrides, the actual
organisations covering the place, the residents' committee as fallback, referrals outside the six."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from civic.complaints import routing
from civic.complaints.models import RoutingRule
from civic.complaints.service import Intake, submit
from civic.core.db import commit
from civic.extensions import db
from tests.complaints.helpers import World, jpeg, post_case, wechat

NOISE_BY_UM = {"lead_kind": "urban_management", "assist_kinds": ["residents_committee"],
               "acknowledge": {"amount": 2, "unit": "hours"}, "resolve": {"amount": 3, "unit": "working_days"},
               "reveal_kinds": ["residents_committee", "urban_management"], "complained_kind": None,
               "referrals": []}


def staff_view(client, w, cid, kind="residents_committee"):
    return client.get(f"/api/v1/complaints/{cid}", headers=w.h[kind]).get_json()


def test_seed_writes_the_data_files_rules_as_defaults(app):
    assert routing.seed_defaults() == 16  # 12 categories and 4 details (noise ×3, street vending)
    commit()
    assert routing.seed_defaults() == 0
    rows = db.session.scalars(sa.select(RoutingRule).where(RoutingRule.district_id.is_(None))).all()
    assert sorted(r.category for r in rows) == sorted(routing.rule_keys())
    assert len(routing.categories()) == 12
    rule = routing.rule_for(None, "illegal_construction")
    assert (rule.source, rule.lead_kind, rule.urgent_acknowledge_hours) == ("default", "urban_management", 2)


def test_group_renting_goes_to_the_rc_with_police_property_and_urban_management(client, w):
    case = post_case(client, w.rh, category="group_renting", place_id=w.units[0].id).get_json()
    assert case["lead"]["id"] == w.orgs["residents_committee"].id and case["lead_fallback"] is False
    assert [o["id"] for o in case["assisting"]] == [w.orgs[k].id for k in ("police", "property_company",
                                                                           "urban_management")]
    assert case["referrals"] == [{"authority": "district_housing_authority", "name": "区房屋管理局", "role": "referral"}]


def test_green_damage_goes_to_the_property_company_and_is_referred_to_greening(client, w):
    case = post_case(client, w.rh, category="green_damage", place_id=w.units[0].id).get_json()
    assert case["lead"] == {"id": w.orgs["property_company"].id, "kind": "property_company", "name": "测试物业公司"}
    assert {o["kind"] for o in case["assisting"]} == {"owners_committee", "residents_committee", "urban_management"}
    assert case["referrals"] == [{"authority": "greening_authority", "name": "区绿化和市容管理局", "role": "referral"}]


def test_every_party_is_an_actual_organisation_covering_the_place(client, w):
    case = post_case(client, w.rh, category="illegal_construction", place_id=w.units[0].id).get_json()
    parties = {p["kind"]: (p["id"], p["role"]) for p in staff_view(client, w, case["id"])["parties"]}
    assert parties == {
        "urban_management": (w.orgs["urban_management"].id, "lead"),
        "property_company": (w.orgs["property_company"].id, "assist"),
        "residents_committee": (w.orgs["residents_committee"].id, "assist"),
        "owners_committee": (w.orgs["owners_committee"].id, "assist"),
    }
    assert case["referrals"] == []


def test_an_organisation_of_another_compound_is_never_a_party(client, factory, w):
    from civic.property import service as reg

    other = reg.create_place(kind="compound", code="C-OTHER", name="别的小区", parent=w.community)
    factory.org("property_company", [other], name="别的物业")
    case = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()
    assert case["lead"]["name"] == "测试物业公司"
    assert "别的物业" not in {p["name"] for p in staff_view(client, w, case["id"])["parties"]}


def test_without_a_property_company_the_rc_leads_as_fallback(client, factory):
    w = World(factory, property_company=False)
    case = post_case(client, w.rh, category="waste_sorting", place_id=w.units[0].id).get_json()
    assert case["status"] == "routed"
    assert case["lead"]["id"] == w.orgs["residents_committee"].id and case["lead_fallback"] is True
    assert [o["kind"] for o in case["assisting"]] == ["urban_management"]


def test_on_the_demo_street_wutongyuan_falls_back_to_its_rc(client):
    from civic.demo import load_demo

    load_demo()
    commit()
    wu = wechat(client, "wu_jiu")  # 吴九, owner in 梧桐苑 (no property company)
    unit_id = client.get("/api/v1/me", headers=wu).get_json()["units"][0]["unit_id"]
    case = post_case(client, wu, category="public_space_occupation", place_id=unit_id).get_json()
    assert case["lead"]["name"] == "两湾社区居民委员会" and case["lead_fallback"] is True
    assert case["assisting"] == []  # no resident representatives in 梧桐苑; the RC already leads


def test_a_district_rule_overrides_the_default_in_that_district_only(client, factory, w):
    other = World(factory, phone="13812349999")  # a second district
    admin = factory.token(factory.admin())
    r = client.put(f"/api/v1/routing-rules/noise?district_id={w.district.id}", headers=admin, json=NOISE_BY_UM)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["source"] == "district" and r.get_json()["district_id"] == w.district.id
    here = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()
    there = post_case(client, other.rh, category="noise", place_id=other.units[0].id).get_json()
    assert here["lead"]["kind"] == "urban_management"
    assert there["lead"]["kind"] == "police"
    listed = {x["category"]: x for x in client.get(f"/api/v1/routing-rules?district_id={w.district.id}",
                                                   headers=admin).get_json()}
    assert listed["noise"]["source"] == "district" and listed["noise"]["lead_kind"] == "urban_management"
    assert listed["other"]["source"] == "file"


def test_a_district_rule_changes_the_deadlines_too(client, factory, w):
    admin = factory.token(factory.admin())
    client.put(f"/api/v1/routing-rules/noise?district_id={w.district.id}", headers=admin, json=NOISE_BY_UM)
    now = dt.datetime(2026, 6, 3, 2, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Shanghai
    c = submit(w.resident, Intake(category="noise", description="夜间施工噪音", photos=[("a.jpg", jpeg())],
                                  place_id=w.units[0].id), now=now).complaint
    assert c.acknowledge_due == now + dt.timedelta(hours=2)


def test_only_an_administrator_edits_the_table(client, w):
    r = client.put(f"/api/v1/routing-rules/noise?district_id={w.district.id}", headers=w.h["street_centre"],
                   json=NOISE_BY_UM)
    assert r.status_code == 403


@pytest.mark.parametrize("change,code", [
    ({"lead_kind": "street_centre"}, "routing_rule_invalid"),
    ({"assist_kinds": ["district_housing_authority"]}, "routing_rule_invalid"),
    ({"resolve": {"amount": 0, "unit": "working_days"}}, "routing_rule_invalid"),
    ({"complained_kind": "urban_management"}, "routing_rule_invalid"),  # may not see the complainant
])
def test_an_invalid_rule_is_refused(client, factory, w, change, code):
    admin = factory.token(factory.admin())
    r = client.put(f"/api/v1/routing-rules/noise?district_id={w.district.id}", headers=admin,
                   json={**NOISE_BY_UM, **change})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == code
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RoutingRule)) == 0


def test_a_rule_for_a_street_instead_of_a_district_is_refused(client, factory, w):
    admin = factory.token(factory.admin())
    r = client.put(f"/api/v1/routing-rules/noise?district_id={w.street.id}", headers=admin, json=NOISE_BY_UM)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "district_invalid"
    r = client.put("/api/v1/routing-rules/noise?district_id=999999", headers=admin, json=NOISE_BY_UM)
    assert r.status_code == 404


def test_an_unknown_category_is_refused(client, factory, w):
    admin = factory.token(factory.admin())
    r = client.put("/api/v1/routing-rules/parking", headers=admin, json=NOISE_BY_UM)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "category_unknown"
