"""Meetings: notice with agenda, attendance, quorum, motions, one vote per member, exact results,
rule-set versions, publication."""

from __future__ import annotations

import datetime as dt

import pytest

from civic.core.db import commit, to_shanghai, utcnow
from civic.core.errors import Conflict, Forbidden
from civic.proposals.deliberation import service as svc
from tests.proposals.deliberation.conftest import notifications


def test_notice_shorter_than_the_rules_is_refused(world):
    t = world.topic()
    r = world.client.post(f"/api/v1/committees/{world.committee.id}/meetings", headers=world.h(world.secretary), json={
        "title": "临时会议", "starts_at": (utcnow() + dt.timedelta(days=2)).isoformat(), "topic_ids": [t.id]})
    assert r.status_code == 409 and r.json["error"]["code"] == "notice_too_short"
    assert r.json["error"]["details"]["notice_days"] == 3


def test_notice_with_agenda_goes_to_current_members(world):
    t = world.topic()
    r = world.client.post(f"/api/v1/committees/{world.committee.id}/meetings", headers=world.h(world.secretary), json={
        "title": "弄管会例会", "location": "弄堂活动室", "topic_ids": [t.id],
        "starts_at": (utcnow() + dt.timedelta(days=14)).isoformat()})
    assert r.status_code == 201, r.json
    assert [a["state"] for a in r.json["agenda"]] == ["on_agenda"] and len(r.json["checkin_code"]) == 6
    sent = notifications("meeting_notice")
    assert sorted(n.user_id for n in sent) == sorted(u.id for u in world.members)
    assert "1. 弄堂口增设电动自行车充电桩" in sent[0].body


def test_checkin_code_shown_only_to_officers(world):
    m = world.meeting([world.topic()])
    assert "checkin_code" not in world.client.get(f"/api/v1/meetings/{m.id}", headers=world.h(world.members[3])).json
    assert world.client.get(f"/api/v1/meetings/{m.id}", headers=world.h(world.secretary)).json["checkin_code"] == m.checkin_code


def test_member_checks_in_with_the_code(world):
    m = world.meeting([world.topic()])
    h = world.h(world.members[2])
    bad = world.client.post(f"/api/v1/meetings/{m.id}/check-in", json={"code": "not-it"}, headers=h)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "checkin_code_wrong"
    ok = world.client.post(f"/api/v1/meetings/{m.id}/check-in", json={"code": m.checkin_code}, headers=h)
    assert ok.status_code == 201 and ok.json["method"] == "code"
    again = world.client.post(f"/api/v1/meetings/{m.id}/check-in", json={"code": m.checkin_code}, headers=h)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_checked_in"


def test_former_member_cannot_check_in(world):
    m = world.meeting([world.topic()])
    with pytest.raises(Forbidden) as e:
        svc.check_in(world.former, m.id, m.checkin_code)
    assert e.value.code == "not_a_member"


def test_motion_refused_without_quorum(world):
    t = world.topic()
    m = world.meeting([t])
    world.attend(m, world.members[:3])
    with pytest.raises(Conflict) as e:
        svc.open_motion(world.secretary, m.id, t.id, "在弄堂口增设4个充电桩")
    assert e.value.code == "quorum_not_met"
    assert e.value.details == {"present": 3, "members": 6, "fraction": "1/2", "threshold": ">1/2", "met": False}


def test_motion_failing_at_exactly_half(world):
    t = world.topic()
    m = world.meeting([t])
    world.attend(m, world.members)
    mo = svc.open_motion(world.secretary, m.id, t.id, "由居民出资在弄堂口增设4个充电桩")
    commit()
    world.vote(mo, agree=3, oppose=3)
    r = world.client.post(f"/api/v1/motions/{mo.id}/close", json={}, headers=world.h(world.secretary))
    assert r.status_code == 200
    res = r.json["result"]
    assert {k: res[k] for k in ("agree", "oppose", "abstain", "base", "fraction", "threshold", "passed")} == {
        "agree": 3, "oppose": 3, "abstain": 0, "base": 6, "fraction": "1/2", "threshold": ">1/2", "passed": False}
    assert (r.json["rule_set_version"], r.json["resolution_id"], t.state) == (1, None, "discussed")


def test_motion_passing_makes_a_resolution(world):
    t = world.topic(by=world.residents[0])
    for u in world.residents[1:4]:
        svc.cosign(u, t.id)
    m = world.meeting([t])
    world.attend(m, world.members[:5])
    mo = svc.open_motion(world.secretary, m.id, t.id, "请物业在弄堂口增设4个充电桩")
    commit()
    world.vote(mo, agree=3, oppose=1, abstain=1)
    svc.close_motion(world.secretary, mo.id)
    commit()
    assert (mo.passed, mo.result["base"], mo.result["fraction"], t.state) == (True, 5, "3/5", "decided")
    assert svc.resolution_of(mo.id).rule_set_version == 1
    told = {n.user_id for n in notifications("motion_result")}
    assert told == {u.id for u in world.residents[:4]}


def test_one_vote_per_member_per_motion(world):
    t = world.topic()
    m = world.meeting([t])
    world.attend(m, world.members)
    mo = svc.open_motion(world.secretary, m.id, t.id, "动议")
    commit()
    h = world.h(world.members[2])
    assert world.client.post(f"/api/v1/motions/{mo.id}/votes", json={"choice": "agree"}, headers=h).status_code == 201
    r = world.client.post(f"/api/v1/motions/{mo.id}/votes", json={"choice": "oppose"}, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "already_voted"


def test_absent_member_cannot_vote(world):
    t = world.topic()
    m = world.meeting([t])
    world.attend(m, world.members[:4])
    mo = svc.open_motion(world.secretary, m.id, t.id, "动议")
    commit()
    with pytest.raises(Forbidden) as e:
        svc.cast(world.members[5], mo.id, "agree")
    assert e.value.code == "not_present"


def test_new_rule_set_changes_the_threshold_not_past_decisions(world):
    t = world.topic()
    m = world.meeting([t])
    world.attend(m, world.members)
    first = svc.open_motion(world.secretary, m.id, t.id, "第一项动议")
    commit()
    world.vote(first, agree=3, oppose=3)
    svc.close_motion(world.secretary, first.id)
    svc.add_rule_set(world.head, world.committee.id, {"majority_strict": False})
    commit()
    second = svc.open_motion(world.secretary, m.id, t.id, "第二项动议")
    commit()
    world.vote(second, agree=3, oppose=3)
    svc.close_motion(world.secretary, second.id)
    commit()
    assert (first.passed, first.rule_set_version, first.result["threshold"]) == (False, 1, ">1/2")
    assert (second.passed, second.rule_set_version, second.result["threshold"]) == (True, 2, ">=1/2")


def test_results_published_for_the_rules_period(world):
    t = world.topic()
    m = world.meeting([t])
    world.attend(m, world.members)
    mo = svc.open_motion(world.secretary, m.id, t.id, "动议")
    commit()
    world.vote(mo, agree=4, oppose=2)
    svc.close_motion(world.secretary, mo.id)
    commit()
    # Until 24:00 of the 30th day after the closing day (or of the first working day after it).
    last = to_shanghai(mo.published_until)
    assert last.time() == dt.time(23, 59, 59)
    assert 30 <= (last.date() - to_shanghai(mo.closed_at).date()).days <= 30 + 9
    listed = world.client.get(f"/api/v1/committees/{world.committee.id}/results", headers=world.h(world.residents[0]))
    assert [x["id"] for x in listed.json["items"]] == [mo.id]
    assert svc.published_results(world.committee.id, now=utcnow() + dt.timedelta(days=31)) == []


def test_minutes_recorded_by_the_secretary(world):
    m = world.meeting([world.topic()])
    r = world.client.put(f"/api/v1/meetings/{m.id}/minutes", json={"minutes": "应到6人，实到6人。"},
                         headers=world.h(world.secretary))
    assert r.status_code == 200 and r.json["minutes"] == "应到6人，实到6人。"
