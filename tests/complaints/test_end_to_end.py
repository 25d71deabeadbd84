"""The main job, end to end on the demo street: a resident photographs a problem, the case reaches
the right organisations, the property company acknowledges and resolves it, the resident rates it."""

from __future__ import annotations

from PIL import Image

from civic.core.db import commit
from civic.demo import load_demo
from tests.complaints.helpers import login, message, submit, wechat


def test_resident_to_rating_on_the_demo_street(client, app):
    load_demo()
    commit()
    resident = wechat(client, "zhang_san")  # 张三, owner of 滨江花园1号楼101室
    me = client.get("/api/v1/me", headers=resident).get_json()
    unit_id = me["units"][0]["unit_id"]

    # 193823: a real message about private works destroying a compound's garden (毁绿占绿).
    text = message("193823")
    r = submit(client, resident, category="green_damage", description=text, place_id=unit_id, key="k-193823")
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["status"] == "routed"
    assert case["lead"]["name"] == "世茂物业滨江项目部"
    assert case["lead"]["kind"] == "property_company"
    assert {o["name"] for o in case["assisting"]} == {
        "滨江花园业主委员会", "滨江社区居民委员会", "浦东新区城管执法局滨江中队"}
    assert [r["name"] for r in case["referrals"]] == ["区绿化和市容管理局"]
    assert case["description"].startswith("A市")  # tidied: leading scrape whitespace gone
    assert "\t" not in case["description"]
    assert case["acknowledge_due"].endswith("+08:00")
    assert len(case["photos"]) == 1 and case["photos"][0]["height"] > case["photos"][0]["width"]  # upright

    # A retry of the same upload returns the same case, never a second one.
    again = submit(client, resident, category="green_damage", description=text, place_id=unit_id, key="k-193823")
    assert again.status_code == 201 and again.get_json()["id"] == case["id"]
    mine = client.get("/api/v1/my/complaints", headers=resident).get_json()
    assert [c["id"] for c in mine["items"]] == [case["id"]]

    # The property company sees it in its queue, acknowledges and resolves it with a result photo.
    pc = login(client, "pc_sm_he")
    q = client.get("/api/v1/queue?status=routed", headers=pc).get_json()
    assert [c["id"] for c in q["items"]] == [case["id"]]
    staff_view = client.get(f"/api/v1/complaints/{case['id']}", headers=pc).get_json()
    assert staff_view["allowed_actions"] == ["acknowledge", "return"]
    assert staff_view["complainant"] is None  # the property company is not in reveal_kinds for green_damage
    r = client.post(f"/api/v1/complaints/{case['id']}/transitions", headers=pc,
                    json={"action": "acknowledge", "note": "已签收，今天下午到现场", "version": staff_view["version"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "acknowledged"
    client.post(f"/api/v1/complaints/{case['id']}/messages", headers=pc, json={"body": "已约谈施工方，明日恢复绿化。"})
    import io

    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (40, 140, 60)).save(buf, "JPEG")
    r = client.post(f"/api/v1/complaints/{case['id']}/photos", headers=pc,
                    data={"photos": [(io.BytesIO(buf.getvalue()), "result.jpg")]}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/complaints/{case['id']}/transitions", headers=pc,
                    json={"action": "resolve", "note": "绿地已恢复，补种灌木 30 株"})
    assert r.get_json()["status"] == "resolved"

    # The resident sees progress with the party's name only, and rates it.
    msgs = client.get(f"/api/v1/complaints/{case['id']}/messages", headers=resident).get_json()
    assert msgs[0]["author"] == "世茂物业滨江项目部"  # never 何客服
    hist = client.get(f"/api/v1/complaints/{case['id']}/history", headers=resident).get_json()
    assert [h["action"] for h in hist] == ["submit", "route", "acknowledge", "result_photos", "resolve"]
    assert all("何" not in (h["actor"] or "") for h in hist)
    r = client.post(f"/api/v1/complaints/{case['id']}/rating", headers=resident, json={"rating": 5, "comment": "很及时"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "closed" and r.get_json()["rating"] == 5
