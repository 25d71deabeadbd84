"""The workflow (issue 3 point 4): transitions declared once and audited, return and reroute, the
thread between parties and resident, the stale-version 409."""

from __future__ import annotations

from civic.complaints import service
from tests.complaints.helpers import World, act, audit_entries, new_case, queue_ids


def test_transitions_are_declared_once_as_data():
    assert set(service.TRANSITIONS) == {"route", "acknowledge", "start", "resolve", "return", "reroute", "merge",
                                        "reopen", "close"}
    assert service.TRANSITIONS["reroute"] == {"from": ("returned",), "to": "routed", "by": ("triage", "oversight")}
    assert all(t["to"] in service.STATUS_NAMES for t in service.TRANSITIONS.values())


def test_lead_acknowledges_starts_and_resolves_each_step_audited(client, w):
    cid = new_case(client, w)
    police = w.h["police"]
    view = client.get(f"/api/v1/complaints/{cid}", headers=police).get_json()
    assert view["allowed_actions"] == ["acknowledge", "return"]
    for action, note, status in [("acknowledge", "已签收，今晚巡查", "acknowledged"), ("start", None, "in_progress"),
                                 ("resolve", "已劝导住户，噪音停止", "resolved")]:
        r = act(client, police, cid, action, **({"note": note} if note else {}))
        assert r.status_code == 200 and r.get_json()["status"] == status
    entries = [e for e in audit_entries(cid) if e.action in ("complaint.acknowledge", "complaint.start",
                                                                "complaint.resolve")]
    assert [e.action for e in entries] == ["complaint.acknowledge", "complaint.start", "complaint.resolve"]
    pid = w.orgs["police"].id
    assert all(e.actor_id == w.staff["police"].id and e.actor_role == f"staff@police:{pid}" for e in entries)
    assert [e.note for e in entries] == ["已签收，今晚巡查", None, "已劝导住户，噪音停止"]
    assert entries[0].data == {"from": "routed", "to": "acknowledged"} and entries[0].at is not None
    route = audit_entries(cid, "complaint.route")[0]
    assert route.actor_id is None and route.data == {"from": "submitted", "to": "routed"}


def test_resolve_needs_a_note(client, w):
    cid = new_case(client, w)
    act(client, w.h["police"], cid, "acknowledge")
    r = act(client, w.h["police"], cid, "resolve")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "note_required"


def test_a_transition_from_the_wrong_state_is_409(client, w):
    cid = new_case(client, w)
    r = act(client, w.h["police"], cid, "start")
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "invalid_transition" and err["details"]["allowed_from"] == ["acknowledged"]


def test_an_assisting_party_cannot_acknowledge(client, w):
    cid = new_case(client, w)
    r = act(client, w.h["property_company"], cid, "acknowledge")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "transition_not_allowed"
    assert r.get_json()["error"]["details"]["your_roles"] == ["assist"]


def test_an_organisation_not_on_the_case_gets_404(client, w):
    cid = new_case(client, w, category="waste_sorting")  # owners' committee is no party here
    assert act(client, w.h["owners_committee"], cid, "acknowledge").status_code == 404


def test_return_by_the_lead_and_reroute_by_the_rc_moves_the_case(client, w):
    cid = new_case(client, w)  # noise → police
    police, pc, rc = w.h["police"], w.h["property_company"], w.h["residents_committee"]
    assert cid in queue_ids(client, police)
    r = act(client, police, cid, "return", note="系装修噪音，属物业管理范围")
    assert r.status_code == 200 and r.get_json()["status"] == "returned"
    assert cid in queue_ids(client, rc, status="returned")
    rc_view = client.get(f"/api/v1/complaints/{cid}", headers=rc).get_json()
    assert "reroute" in rc_view["allowed_actions"]
    r = act(client, rc, cid, "reroute", lead_organisation_id=w.orgs["property_company"].id, note="改派物业")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "routed" and r.get_json()["lead"]["id"] == w.orgs["property_company"].id
    assert cid in queue_ids(client, pc, status="routed")
    assert cid not in queue_ids(client, police)
    assert act(client, police, cid, "acknowledge").status_code == 404  # no longer a party
    assert act(client, pc, cid, "acknowledge").status_code == 200
    ret, rer = audit_entries(cid, "complaint.return")[0], audit_entries(cid, "complaint.reroute")[0]
    assert ret.note == "系装修噪音，属物业管理范围" and ret.actor_id == w.staff["police"].id
    assert rer.actor_id == w.staff["residents_committee"].id and rer.data["to_lead"] == w.orgs["property_company"].id


def test_reroute_to_an_organisation_not_covering_the_place_is_refused(client, factory, w):
    cid = new_case(client, w)
    act(client, w.h["police"], cid, "return", note="不属于我所")
    elsewhere = World(factory, phone="13812340000")
    r = act(client, w.h["residents_committee"], cid, "reroute",
            lead_organisation_id=elsewhere.orgs["property_company"].id)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "lead_organisation_invalid"


def test_only_triage_or_the_street_centre_reroutes(client, w):
    cid = new_case(client, w)
    act(client, w.h["police"], cid, "return", note="不属于我所")
    r = act(client, w.h["property_company"], cid, "reroute", lead_organisation_id=w.orgs["property_company"].id)
    assert r.status_code == 403


def test_the_resident_sees_the_partys_name_never_the_staff_members(client, w):
    cid = new_case(client, w)
    police = w.h["police"]
    client.post(f"/api/v1/complaints/{cid}/messages", headers=police, json={"body": "今晚十点前上门查看。"})
    client.post(f"/api/v1/complaints/{cid}/messages", headers=police, json={"body": "住户有前科", "internal": True})
    client.post(f"/api/v1/complaints/{cid}/messages", headers=w.rh, json={"body": "好的，谢谢！"})
    mine = client.get(f"/api/v1/complaints/{cid}/messages", headers=w.rh).get_json()
    assert [(m["author"], m["body"]) for m in mine] == [("测试派出所", "今晚十点前上门查看。"), ("您", "好的，谢谢！")]
    theirs = client.get(f"/api/v1/complaints/{cid}/messages", headers=police).get_json()
    assert [m["author"] for m in theirs] == ["测试派出所（赵警官）", "测试派出所（赵警官）", "居民"]
    act(client, police, cid, "acknowledge", note="赵警官已签收")
    hist = client.get(f"/api/v1/complaints/{cid}/history", headers=w.rh).get_json()
    assert [(h["action"], h["actor"]) for h in hist] == [("submit", "您"), ("route", "系统"),
                                                         ("acknowledge", "测试派出所")]
    assert "赵警官" not in str([h["actor"] for h in hist])


def test_a_resident_cannot_post_an_internal_note(client, w):
    cid = new_case(client, w)
    r = client.post(f"/api/v1/complaints/{cid}/messages", headers=w.rh, json={"body": "内部", "internal": True})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "internal_note_forbidden"


def test_a_stale_version_in_the_body_is_409(client, w):
    cid = new_case(client, w)
    seen = client.get(f"/api/v1/complaints/{cid}", headers=w.h["police"]).get_json()["version"]
    assert act(client, w.h["police"], cid, "acknowledge", version=seen).status_code == 200
    r = act(client, w.h["police"], cid, "start", version=seen)
    assert r.status_code == 409
    assert r.get_json()["error"] == {"code": "case_changed", "message": "案件已被他人更新，请刷新后重试",
                                     "details": {"expected_version": seen, "version": seen + 1}}
    assert audit_entries(cid, "complaint.start") == []
