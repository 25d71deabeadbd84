"""Rosters through the API: built from the registry, imported from CSV, certified, versioned."""

from __future__ import annotations

from .helpers import Compound, api, staff

GOOD_CSV = """unit_code,building,area_m2,area_source,developer_status,owners,representative_phone,buyer
A-101,A栋,88.50,registry,,王一|13911110001,,
A-102,A栋,92.10,survey,,王一|13911110001,,
A-103,A栋,120.00,registry,,李二|13911110002;赵三|13911110003,13911110003,
A-104,A栋,75.00,registry,sold_undelivered,,,钱四|13911110004
"""


def test_registry_roster_copies_units_owners_developer_and_buyer(client, factory):
    comp = Compound(factory)
    h = factory.token(comp.head)
    st, body = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})
    assert st == 201
    assert body["units"] == 6
    assert body["area"] == "535.85"
    st, page = api(client, "get", f"/api/v1/rosters/{body['roster']['id']}/units?limit=10", h)
    by_name = {u["unit_code"]: u for u in page["items"]}
    undelivered = by_name[comp.units[4].code]["owners"]
    assert [(o["kind"], o["role"]) for o in undelivered] == [("developer", "owner"), ("owner", "buyer")]
    co = by_name[comp.units[2].code]["owners"]
    assert [o["representative"] for o in co] == [True, False]
    assert co[0]["phone"] == comp.b.phone[:3] + "****" + comp.b.phone[-4:]
    # the tenant of 2-101 is not on the roster; its owner D is
    assert [o["phone"][-4:] for o in by_name[comp.units[3].code]["owners"]] == [comp.d.phone[-4:]]


def test_roster_import_reports_every_bad_row_and_writes_nothing(client, factory):
    comp = Compound(factory)
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id, "source": "csv"})[1]["roster"]["id"]
    bad = GOOD_CSV + "A-105,A栋,-3,registry,,孙五|13911110005,,\nA-101,A栋,50.005,guess,,,,\nA-106,A栋,60,registry,,周六|1391;吴七|13911110007,,\n"
    st, body = api(client, "post", f"/api/v1/rosters/{rid}/import", h, data=bad.encode(),
                   content_type="text/csv")
    assert st == 422 and body["error"]["code"] == "import_invalid"
    errors = {(e["line"], e["column"]) for e in body["error"]["details"]["errors"]}
    assert errors == {(6, "area_m2"), (7, "unit_code"), (7, "area_m2"), (7, "area_source"), (7, "owners"),
                      (8, "owners")}
    assert api(client, "get", f"/api/v1/rosters/{rid}", h)[1]["units"] == 0


def test_roster_import_and_certify(client, factory):
    comp = Compound(factory)
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id, "source": "csv"})[1]["roster"]["id"]
    st, body = api(client, "post", f"/api/v1/rosters/{rid}/import", h, data=GOOD_CSV.encode(), content_type="text/csv")
    assert (st, body) == (201, {"units": 4, "persons": 4})
    st, body = api(client, "post", f"/api/v1/rosters/{rid}/certify", h, json={"published_on": "2026-12-01"})
    assert st == 200
    assert (body["roster"]["status"], body["roster"]["published_on"], body["area"]) == ("certified", "2026-12-01", "375.60")


def test_certified_roster_changes_only_by_new_version_with_reason(client, factory):
    comp = Compound(factory)
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})[1]["roster"]["id"]
    api(client, "post", f"/api/v1/rosters/{rid}/certify", h, json={})
    st, body = api(client, "post", f"/api/v1/rosters/{rid}/import", h, data=GOOD_CSV.encode(), content_type="text/csv")
    assert (st, body["error"]["code"]) == (409, "roster_certified")
    st, body = api(client, "post", f"/api/v1/rosters/{rid}/versions", h, json={"reason": "2-102 已交付买受人"})
    assert st == 201
    assert (body["roster"]["version"], body["roster"]["previous_id"], body["roster"]["status"], body["units"]) == (
        2, rid, "draft", 6)
    assert body["roster"]["change_reason"] == "2-102 已交付买受人"


def test_certify_needs_committee_head(client, factory):
    comp = Compound(factory)
    rid = api(client, "post", "/api/v1/rosters", factory.token(comp.member),
              json={"place_id": comp.compound.id})[1]["roster"]["id"]
    st, body = api(client, "post", f"/api/v1/rosters/{rid}/certify", factory.token(comp.member), json={})
    assert (st, body["error"]["code"]) == (403, "not_owners_committee")


def test_other_compounds_committee_cannot_build_roster(client, factory):
    comp = Compound(factory)
    other = factory.ladder()
    oc = factory.org("owners_committee", [other["compound"]])
    st, body = api(client, "post", "/api/v1/rosters", factory.token(staff(factory, oc, "head")),
                   json={"place_id": comp.compound.id})
    assert (st, body["error"]["code"]) == (403, "not_owners_committee")


def test_a_roster_summary_is_read_only_within_the_rosters_compound(client, factory):
    comp = Compound(factory)
    rid = api(client, "post", "/api/v1/rosters", factory.token(comp.head), json={"place_id": comp.compound.id})[1]["roster"]["id"]
    st, body = api(client, "get", f"/api/v1/rosters/{rid}", factory.token(comp.member))
    assert (st, body["units"], body["area"]) == (200, 6, "535.85")
    # A property company serving another compound, and an owner, read nothing of it.
    other = factory.ladder()
    pc = factory.org("property_company", [other["compound"]])
    st, body = api(client, "get", f"/api/v1/rosters/{rid}", factory.token(staff(factory, pc, "head")))
    assert (st, body["error"]["code"]) == (403, "not_owners_committee")
    assert api(client, "get", f"/api/v1/rosters/{rid}", factory.token(comp.a))[0] == 403
    assert api(client, "get", "/api/v1/rosters/999999", factory.token(comp.member))[0] == 404
