"""Issue #15 point 14: the timeline names people and channels, in the API's history and the console.

A reveal of the complainant names the staff member who revealed (to staff), not "系统"; a case from
the 12345 hotline (or any Open311 partner) says it came from the partner and names it, not a raw
``open311.request · 投诉人`` under 居民提交.  Swept: every entry of a case that went through every
step has a Chinese name and an actor, and "系统" only for the system's own steps.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from tests.complaints.helpers import act, jpeg, new_case, post_case
from tests.console.helpers import Console
from tests.open311.helpers import issue_key

API = "/api/v1"


def _history(client, headers, cid):
    r = client.get(f"{API}/complaints/{cid}/history", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _timeline(app, w, kind, cid) -> str:
    html = Console(app, w.staff[kind].username, "test-pass-123").get(f"/console/cases/{cid}").text
    inner = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", inner))


def test_a_reveal_names_the_staff_member_who_revealed(app, client, w):
    cid = new_case(client, w, "group_renting")
    r = client.post(f"{API}/complaints/{cid}/complainant", headers=w.h["police"], json={"reason": "核查群租"})
    assert r.status_code == 200
    for kind in ("police", "residents_committee"):
        (entry,) = [e for e in _history(client, w.h[kind], cid) if e["action"] == "complainant_revealed"]
        assert (entry["action_name"], entry["actor"], entry["channel"]) == (
            "查看投诉人完整信息", "测试派出所（赵警官）", "staff")
    assert "查看投诉人完整信息 · 测试派出所（赵警官）" in _timeline(app, w, "residents_committee", cid)
    assert "complainant_revealed" not in {e["action"] for e in _history(client, w.rh, cid)}


def test_staff_read_who_acted_residents_only_the_party(client, w):
    cid = new_case(client, w, "noise")
    act(client, w.h["police"], cid, "acknowledge")
    staff = [(e["action"], e["actor"]) for e in _history(client, w.h["residents_committee"], cid)]
    assert staff == [("submit", "投诉人"), ("route", "系统"), ("acknowledge", "测试派出所（赵警官）")]
    mine = [(e["action"], e["actor"]) for e in _history(client, w.rh, cid)]
    assert mine == [("submit", "您"), ("route", "系统"), ("acknowledge", "测试派出所")]


def test_a_12345_case_says_it_came_from_the_hotline(app, client, factory, w):
    key = issue_key(client, factory.token(factory.admin()), name="12345市民服务热线")
    r = client.post("/open311/v2/requests.json", content_type="multipart/form-data", data={
        "api_key": key, "service_code": "noise", "address_id": str(w.units[0].id), "description": "夜间施工噪声",
        "first_name": "建国", "last_name": "王", "phone": "13800138000", "media": [(io.BytesIO(jpeg()), "m.jpg")]})
    assert r.status_code == 201, r.get_json()
    cid = int(r.get_json()[0]["service_request_id"])
    hist = _history(client, w.h["police"], cid)
    assert [(e["action"], e["action_name"], e["actor"], e["channel"]) for e in hist[:2]] == [
        ("submit", "合作平台转来", "12345市民服务热线", "partner"), ("route", "派单", "系统", "system")]
    assert "open311.request" not in {e["action"] for e in hist}
    timeline = _timeline(app, w, "police", cid)
    assert "合作平台转来 · 12345市民服务热线" in timeline
    assert "居民提交" not in timeline and "open311" not in timeline and "投诉人" not in timeline


def test_a_residents_case_is_still_filed_by_the_resident(app, client, w):
    cid = new_case(client, w, "noise")
    assert "居民提交 · 投诉人" in _timeline(app, w, "police", cid)


def test_every_entry_of_a_full_case_has_a_chinese_name_and_an_actor(app, client, w):
    from civic.complaints.jobs import escalate_overdue
    from civic.complaints.service import HISTORY_NAMES
    from civic.core.db import commit, utcnow

    police, rc = w.h["police"], w.h["residents_committee"]
    cid = new_case(client, w, "noise")
    other = post_case(client, w.other_resident()[1], category="noise", place_id=w.units[1].id).get_json()["id"]
    escalate_overdue(now=utcnow() + dt.timedelta(days=30))
    commit()
    case = client.get(f"{API}/complaints/{cid}", headers=police).get_json()
    client.get(case["photos"][0]["url"], headers=police)
    client.post(f"{API}/complaints/{cid}/complainant", headers=rc, json={"reason": "回访"})
    act(client, police, cid, "acknowledge")
    act(client, police, cid, "start")
    client.post(f"{API}/complaints/{cid}/messages", headers=police, json={"body": "今晚上门"})
    client.post(f"{API}/complaints/{cid}/photos", headers=police, data={"photos": [(io.BytesIO(jpeg()), "r.jpg")]},
                content_type="multipart/form-data")
    act(client, rc, other, "merge", into_id=cid)
    act(client, police, cid, "resolve", note="已劝导")
    client.post(f"{API}/complaints/{cid}/rating", headers=w.rh, json={"rating": 1})
    act(client, police, cid, "resolve", note="再次劝导")
    client.post(f"{API}/complaints/{cid}/rating", headers=w.rh, json={"rating": 4})
    staff = _history(client, police, cid)
    actions = {e["action"] for e in staff}
    assert actions >= {"submit", "route", "overdue", "escalate", "viewed", "media.opened", "complainant_revealed",
                       "acknowledge", "start", "message", "result_photos", "merged_in", "resolve", "reopen",
                       "rated", "close"}
    for who, hist in (("staff", staff), ("resident", _history(client, w.rh, cid))):
        for e in hist:
            assert e["action"] in HISTORY_NAMES and e["action_name"] == HISTORY_NAMES[e["action"]], (who, e)
            assert re.search(r"[\u4e00-\u9fff]", e["action_name"]) and e["actor"], (who, e)
            assert (e["actor"] == "系统") == (e["channel"] == "system"), (who, e)
            if e["action"] in ("overdue", "escalate", "route"):
                assert e["channel"] == "system", (who, e)
            else:
                assert e["channel"] != "system", (who, e)
    assert [e["actor"] for e in staff if e["action"] == "merged_in"] == ["测试居委会（陈书记）"]
    assert [e["actor"] for e in staff if e["action"] == "media.opened"] == ["测试派出所（赵警官）"]
