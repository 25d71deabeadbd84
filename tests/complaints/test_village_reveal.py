"""Issue #15 point 4: a village's own committee can reach the villager who complained.

In a village the villagers' committee (村民委员会) plays the residents' committee's part: it triages,
it is the fallback lead, and now the routing table may let it see the complainant — masked by
default, a reveal with its reason logged (RULES.md §5).  The defaults do so in every category, so
no category leaves the villager out of reach; the list accepts the village bodies and nothing else
outside the six; migration 0015 updates the rules and the cases already routed.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from civic.complaints import routing
from tests.complaints.helpers import audit_entries, post_case, wechat

API = "/api/v1"


class Village:
    """district → street → 新丰村-like village → villagers' group → house → home; the village
    committee, the village supervision committee, the police and urban management; a villager."""

    def __init__(self, factory):
        from decimal import Decimal

        from civic.accounts.service import create_resident
        from civic.property import service as reg

        f = factory
        self.district = reg.create_place(kind="district", code=f._code("D"), name="测试区")
        self.street = reg.create_place(kind="street", code=f._code("S"), name="测试镇", parent=self.district)
        self.village = reg.create_place(kind="village", code=f._code("V"), name="测试村", parent=self.street,
                                        centre=(31.2200, 121.5300))
        group = reg.create_place(kind="compound", code=f._code("G"), name="测试村第三村民小组", parent=self.village)
        house = reg.create_place(kind="building", code=f._code("H"), name="测试村128号", parent=group)
        self.home = reg.create_place(kind="unit", code=f._code("U"), name="测试村128号", parent=house,
                                     area=Decimal("186.00"), area_source="survey")
        self.orgs = {
            "village_committee": f.org("village_committee", [self.village], name="测试村村民委员会"),
            "village_supervision": f.org("village_supervision", [self.village], name="测试村村务监督委员会"),
            "police": f.org("police", [self.village], name="测试派出所"),
            "urban_management": f.org("urban_management", [self.street], name="测试城管中队"),
        }
        self.h = {kind: f.token(f.staff(org)) for kind, org in self.orgs.items()}
        self.villager = create_resident(display_name="王村民", phone="13900009901")
        reg.link_resident(self.villager, self.home, "owner")
        f.commit()
        self.vh = f.token(self.villager)


@pytest.fixture
def v(factory):
    return Village(factory)


def test_the_defaults_let_the_village_committee_see_the_complainant_in_every_category():
    for category in routing.categories():
        rule = routing.rule_for(None, category)
        assert rule.may_reveal("village_committee"), category
        assert not rule.may_reveal("village_supervision"), category


@pytest.mark.parametrize("category", routing.categories())
def test_in_every_category_the_village_committee_reaches_the_villager_masked(client, v, category):
    r = post_case(client, v.vh, category=category, place_id=v.home.id)
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["id"]
    seen = client.get(f"{API}/complaints/{cid}", headers=v.h["village_committee"]).get_json()
    assert seen["complainant"] == {"display_name": "王**", "phone": "139****9901", "masked": True}
    assert client.get(f"{API}/complaints/{cid}", headers=v.h["village_supervision"]).status_code == 404


def test_the_village_committee_reveals_the_villager_with_a_reason_and_it_is_logged(client, v):
    cid = post_case(client, v.vh, category="green_damage", place_id=v.home.id).get_json()["id"]
    r = client.post(f"{API}/complaints/{cid}/complainant", headers=v.h["village_committee"],
                    json={"reason": "上门核实毁绿位置"})
    assert r.status_code == 200 and r.get_json() == {"display_name": "王村民", "phone": "13900009901",
                                                     "masked": False}
    (entry,) = audit_entries(cid, "complaint.complainant_revealed")
    assert entry.note == "上门核实毁绿位置"


def test_on_the_demo_xinfeng_village_the_village_committee_reaches_the_villager(client):
    from civic.core.db import commit
    from civic.demo import load_demo
    from tests.complaints.helpers import login

    load_demo()
    commit()
    villager = wechat(client, "xf_villager")
    unit_id = client.get(f"{API}/me", headers=villager).get_json()["units"][0]["unit_id"]
    cid = post_case(client, villager, category="waste_sorting", place_id=unit_id).get_json()["id"]
    vc = login(client, "vc_xf_hua")  # 华村主任, 新丰村村民委员会
    seen = client.get(f"{API}/complaints/{cid}", headers=vc).get_json()
    assert seen["lead"]["name"] == "新丰村村民委员会" and seen["complainant"]["phone"] == "139****9901"
    r = client.post(f"{API}/complaints/{cid}/complainant", headers=vc, json={"reason": "联系村民核实垃圾房位置"})
    assert r.status_code == 200 and r.get_json()["phone"] == "13900009901"


RULE = {"lead_kind": "property_company", "assist_kinds": ["residents_committee"],
        "acknowledge": {"amount": 24, "unit": "hours"}, "resolve": {"amount": 5, "unit": "working_days"},
        "complained_kind": None, "referrals": []}


@pytest.mark.parametrize("kinds", [["village_committee"], ["village_supervision", "police"],
                                   ["residents_committee", "village_committee"]])
def test_the_routing_rule_may_name_village_bodies_as_seeing_the_complainant(client, factory, kinds):
    admin = factory.token(factory.admin())
    r = client.put(f"{API}/routing-rules/green_damage", headers=admin, json={**RULE, "reveal_kinds": kinds})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["reveal_kinds"] == kinds


@pytest.mark.parametrize("change", [{"reveal_kinds": ["street_centre"]}, {"reveal_kinds": ["villagers"]},
                                    {"assist_kinds": ["village_committee"]}])
def test_nothing_else_outside_the_six_is_accepted(client, factory, change):
    admin = factory.token(factory.admin())
    r = client.put(f"{API}/routing-rules/green_damage", headers=admin, json={**RULE, "reveal_kinds": [], **change})
    assert r.status_code == 422
    assert set(r.get_json()["error"]["details"]["fields"]) == set(change)


def test_the_village_committee_complained_about_may_not_see_the_complainant(client, factory):
    admin = factory.token(factory.admin())
    r = client.put(f"{API}/routing-rules/green_damage", headers=admin,
                   json={**RULE, "reveal_kinds": ["village_committee"], "complained_kind": "village_committee"})
    assert r.status_code == 422


# --- migration 0015 ----------------------------------------------------------------------------

def _insert(conn, table: str, **given) -> None:
    """A row with every NOT NULL column filled (plain sqlite3: foreign keys not enforced)."""
    values = dict(given)
    for _cid, name, decl, notnull, default, pk in conn.execute(f"PRAGMA table_info({table})").fetchall():
        if name in values or pk or not notnull or default is not None:
            continue
        decl = decl.upper()
        values[name] = (0 if "BOOL" in decl else 1 if "INT" in decl else "2026-03-01 08:00:00.000000"
                        if "DATETIME" in decl else "[]" if "JSON" in decl else "x")
    conn.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                 [json.dumps(x) if isinstance(x, list) else x for x in values.values()])


def test_migration_0015_updates_rules_and_routed_village_cases(tmp_path):
    from tests.foundation.test_migrations import _flask_db

    url = f"sqlite:///{tmp_path / 'mig.db'}"
    done = _flask_db(url, "upgrade", "0014_media_tokens")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "mig.db") as conn:
        _insert(conn, "routing_rule", id=1, district_id=None, category="green_damage",
                reveal_kinds=["residents_committee"])
        _insert(conn, "routing_rule", id=2, district_id=7, category="noise", reveal_kinds=["police"])
        _insert(conn, "organisation", id=1, kind="village_committee", code="O-VC", name="村委会")
        _insert(conn, "organisation", id=2, kind="property_company", code="O-PC", name="物业")
        _insert(conn, "complaint", id=1, district_id=7, category="green_damage")  # default rule: now allowed
        _insert(conn, "complaint", id=2, district_id=7, category="noise")  # the district's own rule: not
        _insert(conn, "complaint", id=3, district_id=8, category="waste_sorting")  # the data file: allowed
        for pid, (cid, org) in enumerate([(1, 1), (1, 2), (2, 1), (3, 1)], start=1):
            _insert(conn, "complaint_party", id=pid, complaint_id=cid, organisation_id=org, role="lead",
                    status="routed", may_see_complainant=0)
    done = _flask_db(url, "upgrade")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "mig.db") as conn:
        # (0026_triage adds the detail rules, noise.construction...: not this test's concern)
        kinds = {i: json.loads(k) for i, k in conn.execute(
            "SELECT id, reveal_kinds FROM routing_rule WHERE category NOT LIKE '%.%'")}
        assert kinds == {1: ["residents_committee", "village_committee"], 2: ["police"]}
        flags = dict(conn.execute("SELECT id, may_see_complainant FROM complaint_party"))
        assert flags == {1: 1, 2: 0, 3: 0, 4: 1}
    done = _flask_db(url, "downgrade", "0014_media_tokens")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "mig.db") as conn:
        kinds = {i: json.loads(k) for i, k in conn.execute("SELECT id, reveal_kinds FROM routing_rule")}
        assert kinds == {1: ["residents_committee"], 2: ["police"]}


def test_a_returned_village_case_can_be_rerouted_to_the_village_committee(client, v):
    cid = post_case(client, v.vh, category="noise", place_id=v.home.id).get_json()["id"]  # the police lead
    r = client.post(f"{API}/complaints/{cid}/transitions", headers=v.h["police"],
                    json={"action": "return", "note": "不属于治安问题"})
    assert r.status_code == 200, r.get_json()
    r = client.post(f"{API}/complaints/{cid}/transitions", headers=v.h["village_committee"],
                    json={"action": "reroute", "lead_organisation_id": v.orgs["village_supervision"].id})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "lead_organisation_invalid"
    r = client.post(f"{API}/complaints/{cid}/transitions", headers=v.h["village_committee"],
                    json={"action": "reroute", "lead_organisation_id": v.orgs["village_committee"].id})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["lead"]["kind"] == "village_committee"
    assert r.get_json()["complainant"]["masked"] is True
