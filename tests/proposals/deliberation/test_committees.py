"""Committees: kind and place served, members with roles, groups and terms of office."""

from __future__ import annotations

from civic.proposals.deliberation import service as svc


def test_create_lane_committee_over_http_with_default_rules(world, factory):
    r = world.client.post("/api/v1/committees", headers=world.h(world.head), json={
        "kind": "lane_committee", "name": "第二弄管会", "place_id": world.lane.id, "organisation_id": world.rc.id})
    assert r.status_code == 201, r.json
    rules = world.client.get(f"/api/v1/committees/{r.json['id']}/rules", headers=world.h(world.head)).json
    assert {k: rules[k] for k in ("version", "quorum", "quorum_strict", "majority", "majority_strict",
                                  "majority_base", "abstentions")} == {
        "version": 1, "quorum": "1/2", "quorum_strict": True, "majority": "1/2", "majority_strict": True,
        "majority_base": "present", "abstentions": "present_not_for"}


def test_road_committee_needs_a_road_section(world):
    r = world.client.post("/api/v1/committees", headers=world.h(world.head), json={
        "kind": "road_committee", "name": "路管会", "place_id": world.lane.id, "organisation_id": world.rc.id})
    assert r.status_code == 422 and r.json["error"]["code"] == "place_kind_invalid"


def test_only_the_convening_committee_sets_up(world):
    r = world.client.post("/api/v1/committees", headers=world.h(world.pc_staff), json={
        "kind": "lane_committee", "name": "弄管会", "place_id": world.lane.id, "organisation_id": world.rc.id})
    assert r.status_code == 403 and r.json["error"]["code"] == "not_convener"


def test_only_current_members_count(world):
    members = svc.current_members(world.committee.id)
    assert len(members) == 6 and world.former.id not in {m.user_id for m in members}
    assert [m.role for m in members][:2] == ["chair", "secretary"]
    assert {m.speaks_for for m in members} == {"residents", "shops", "property_company", "street_office"}


def test_member_role_must_be_known(world):
    r = world.client.post(f"/api/v1/committees/{world.committee.id}/members", headers=world.h(world.head), json={
        "user_id": world.outsider.id, "role": "boss", "speaks_for": "residents", "term_start": "2026-01-01"})
    assert r.status_code == 422


def test_unknown_user_is_refused_not_a_500(world):
    r = world.client.post(f"/api/v1/committees/{world.committee.id}/members", headers=world.h(world.head), json={
        "user_id": 999999, "role": "member", "speaks_for": "residents", "term_start": "2026-01-01"})
    assert r.status_code == 422 and r.json["error"]["code"] == "user_not_found"
