"""Topics: raised by a member or by residents with co-signatures; states as data, audited; discussion
moderated by the shared machinery."""

from __future__ import annotations

import datetime as dt

import pytest

from civic.core.db import commit, utcnow
from civic.core.errors import Conflict, Forbidden
from civic.proposals.deliberation import service as svc
from tests.proposals.deliberation.conftest import audit_actions, notifications


def test_member_topic_is_proposed(world):
    t = world.topic()
    assert (t.state, t.raised_as, t.cosign_until) == ("proposed", "member", None)


def test_resident_topic_reaches_the_agenda_at_the_cosign_threshold(world):
    raiser, *others = world.residents
    t = world.topic(by=raiser)
    assert t.raised_as == "resident"
    for u in others[:2]:
        svc.cosign(u, t.id)
    assert (t.state, t.cosign_count) == ("proposed", 2)
    svc.cosign(others[2], t.id)
    commit()
    assert (t.state, t.cosign_count) == ("on_agenda", 3)
    told = {n.user_id for n in notifications("topic_on_agenda")}
    assert told == {world.chair.id, world.secretary.id, raiser.id, *[u.id for u in others[:3]]}
    assert audit_actions("topic", t.id) == ["topic.raise", "topic.cosign", "topic.cosign", "topic.cosign",
                                            "topic.cosigned"]


def test_cosign_over_http_once_per_resident(world):
    t = world.topic(by=world.residents[0])
    h = world.h(world.residents[1])
    assert world.client.post(f"/api/v1/topics/{t.id}/cosignatures", headers=h).json["cosign_count"] == 1
    r = world.client.post(f"/api/v1/topics/{t.id}/cosignatures", headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "already_cosigned"


def test_outsider_may_neither_raise_nor_cosign(world):
    with pytest.raises(Forbidden) as e:
        world.topic(by=world.outsider)
    assert e.value.code == "not_a_resident_here"
    t = world.topic(by=world.residents[0])
    r = world.client.post(f"/api/v1/topics/{t.id}/cosignatures", headers=world.h(world.outsider))
    assert r.status_code == 403 and r.json["error"]["code"] == "not_a_resident_here"


def test_raiser_cannot_cosign(world):
    t = world.topic(by=world.residents[0])
    with pytest.raises(Forbidden) as e:
        svc.cosign(world.residents[0], t.id)
    assert e.value.code == "own_topic"


def test_cosign_window_closes(world):
    t = world.topic(by=world.residents[0])
    with pytest.raises(Conflict) as e:
        svc.cosign(world.residents[1], t.id, now=utcnow() + dt.timedelta(days=31))
    assert e.value.code == "cosign_window_closed"


def test_catchment_is_the_parent_community_for_a_bare_lane(world):
    assert svc.catchment(world.committee).id == world.ladder["community"].id


def test_decline_with_reason_tells_the_raiser(world):
    t = world.topic(by=world.members[3])
    r = world.client.post(f"/api/v1/topics/{t.id}/decline", json={"reason": "属物业日常维修，已转物业处理"},
                          headers=world.h(world.secretary))
    assert r.status_code == 200 and (r.json["state"], r.json["decline_reason"]) == ("declined", "属物业日常维修，已转物业处理")
    assert [n.user_id for n in notifications("topic_declined")] == [world.members[3].id]


def test_plain_member_cannot_decline(world):
    t = world.topic()
    r = world.client.post(f"/api/v1/topics/{t.id}/decline", json={"reason": "不需要"}, headers=world.h(world.members[4]))
    assert r.status_code == 403 and r.json["error"]["code"] == "not_an_officer"


def test_transition_not_in_table_is_refused(world):
    t = world.topic()
    svc.decline_topic(world.chair, t.id, "重复议题")
    with pytest.raises(Conflict) as e:
        svc.schedule_topic(world.chair, t.id)
    assert e.value.code == "topic_transition_invalid"


def test_comments_are_moderated_by_the_shared_machinery(world):
    t = world.topic()
    r = world.client.post(f"/api/v1/topics/{t.id}/comments", json={"body": "支持，晚上充电排队太长"},
                          headers=world.h(world.residents[0]))
    assert r.status_code == 201
    cid = r.json["id"]
    for u in world.residents[1:4]:
        rr = world.client.post(f"/api/v1/moderation/topic_comment/{cid}/reports", json={"reason": "广告"},
                               headers=world.h(u))
        assert rr.status_code in (200, 201), rr.json
    assert world.client.get(f"/api/v1/topics/{t.id}/comments", headers=world.h(world.chair)).json["items"] == []
    d = world.client.post(f"/api/v1/moderation/topic_comment/{cid}/decisions", json={"action": "approve"},
                          headers=world.h(world.mod))
    assert d.status_code == 200, d.json
    items = world.client.get(f"/api/v1/topics/{t.id}/comments", headers=world.h(world.chair)).json["items"]
    assert [c["body"] for c in items] == ["支持，晚上充电排队太长"]


def test_topic_itself_is_a_moderated_kind(world):
    t = world.topic(by=world.residents[0])
    d = world.client.post(f"/api/v1/moderation/topic/{t.id}/decisions", json={"action": "hide", "reason": "含个人电话"},
                          headers=world.h(world.mod))
    assert d.status_code == 200 and t.moderation_state == "hidden"
