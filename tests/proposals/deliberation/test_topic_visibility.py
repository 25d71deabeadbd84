"""A topic hidden (or rejected) by moderation is gone for everyone but its author and the moderators:
not shown, not listed on an agenda, not co-signed, commented or put on an agenda; its comments
likewise."""

from __future__ import annotations

import sqlalchemy as sa

from civic.core.db import commit
from civic.extensions import db
from civic.proposals.deliberation import service as svc
from civic.proposals.deliberation.models import Cosign, Motion, TopicComment

PRIVATE = "弄堂里电动车飞线充电，联系人王先生 13912345678。"


def hide(world, topic_id: int, action: str = "hide") -> None:
    r = world.client.post(f"/api/v1/moderation/topic/{topic_id}/decisions", headers=world.h(world.mod),
                          json={"action": action, "reason": "含个人隐私信息"})
    assert r.status_code == 200, r.json


def test_hidden_topic_is_404_to_others_and_shown_to_author_and_moderators(world):
    raiser = world.residents[0]
    t = world.topic(by=raiser, text=PRIVATE)
    hide(world, t.id)
    for other in (world.residents[1], world.chair, world.pc_staff):
        r = world.client.get(f"/api/v1/topics/{t.id}", headers=world.h(other))
        assert r.status_code == 404 and r.json["error"]["code"] == "topic_not_found"
        assert "13912345678" not in r.get_data(as_text=True)
    for allowed in (raiser, world.mod, world.head):
        r = world.client.get(f"/api/v1/topics/{t.id}", headers=world.h(allowed))
        assert r.status_code == 200 and (r.json["text"], r.json["moderation_state"]) == (PRIVATE, "hidden")


def test_rejected_topic_is_404_too(world):
    t = world.topic(by=world.residents[0])
    hide(world, t.id, action="reject")
    r = world.client.get(f"/api/v1/topics/{t.id}", headers=world.h(world.residents[1]))
    assert r.status_code == 404


def test_hidden_topic_cannot_be_cosigned_or_commented(world):
    t = world.topic(by=world.residents[0], text=PRIVATE)
    world.client.post(f"/api/v1/topics/{t.id}/comments", json={"body": "支持"}, headers=world.h(world.residents[2]))
    hide(world, t.id)
    h = world.h(world.residents[1])
    r = world.client.post(f"/api/v1/topics/{t.id}/cosignatures", headers=h)
    assert r.status_code == 404 and r.json["error"]["code"] == "topic_not_found"
    r = world.client.post(f"/api/v1/topics/{t.id}/comments", json={"body": "支持"}, headers=h)
    assert r.status_code == 404 and r.json["error"]["code"] == "topic_not_found"
    r = world.client.get(f"/api/v1/topics/{t.id}/comments", headers=h)
    assert r.status_code == 404 and r.json["error"]["code"] == "topic_not_found"
    # The author sees it but may not gather support for it while hidden.
    r = world.client.post(f"/api/v1/topics/{t.id}/comments", json={"body": "已删除电话"}, headers=world.h(world.residents[0]))
    assert r.status_code == 409 and r.json["error"]["code"] == "topic_hidden"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Cosign)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TopicComment)) == 1


def test_comment_of_a_hidden_topic_cannot_be_reported(world):
    t = world.topic(by=world.residents[0])
    c = world.client.post(f"/api/v1/topics/{t.id}/comments", json={"body": "支持"}, headers=world.h(world.residents[2]))
    hide(world, t.id)
    r = world.client.post(f"/api/v1/moderation/topic_comment/{c.json['id']}/reports", json={"reason": "广告"},
                          headers=world.h(world.residents[1]))
    assert r.status_code == 404 and r.json["error"]["code"] == "topic_not_found"


def test_hidden_topic_cannot_be_put_on_an_agenda(world):
    # Raised by the secretary, who as its author still sees it: seeing is not scheduling.
    t = world.topic(by=world.secretary, text=PRIVATE)
    hide(world, t.id)
    h = world.h(world.secretary)
    r = world.client.post(f"/api/v1/topics/{t.id}/schedule", headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "topic_hidden"
    r = world.client.post(f"/api/v1/committees/{world.committee.id}/meetings", headers=h, json={
        "title": "弄管会例会", "starts_at": "2099-01-01T19:00:00+08:00", "topic_ids": [t.id]})
    assert r.status_code == 409 and r.json["error"]["code"] == "topic_hidden"
    r = world.client.post(f"/api/v1/topics/{t.id}/schedule", headers=world.h(world.chair))
    assert r.status_code == 404 and r.json["error"]["code"] == "topic_not_found"
    db.session.expire_all()
    assert svc.get_topic(t.id).state == "proposed"


def test_hidden_topic_left_out_of_the_agenda_and_not_voted_on(world):
    shown, private = world.topic(), world.topic(by=world.residents[0], text=PRIVATE)
    for u in world.residents[1:4]:
        svc.cosign(u, private.id)
    commit()
    m = world.meeting([shown, private])
    world.attend(m, world.members)
    hide(world, private.id)
    agenda = world.client.get(f"/api/v1/meetings/{m.id}", headers=world.h(world.members[3])).json["agenda"]
    assert [x["id"] for x in agenda] == [shown.id]
    agenda = world.client.get(f"/api/v1/meetings/{m.id}", headers=world.h(world.mod)).json["agenda"]
    assert [x["id"] for x in agenda] == [shown.id, private.id]
    r = world.client.post(f"/api/v1/meetings/{m.id}/motions", headers=world.h(world.secretary),
                          json={"topic_id": private.id, "text": "增设充电桩"})
    assert r.status_code == 404 and r.json["error"]["code"] == "topic_not_found"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Motion)) == 0


def test_restored_topic_is_shown_again(world):
    t = world.topic(by=world.residents[0])
    hide(world, t.id)
    other = world.h(world.residents[1])
    assert world.client.get(f"/api/v1/topics/{t.id}", headers=other).status_code == 404
    hide(world, t.id, action="approve")
    r = world.client.get(f"/api/v1/topics/{t.id}", headers=other)
    assert r.status_code == 200 and r.json["moderation_state"] == "approved"
    assert world.client.post(f"/api/v1/topics/{t.id}/cosignatures", headers=other).status_code == 200


def test_hidden_comments_shown_to_their_author_and_moderators_only(world):
    t = world.topic()
    author = world.residents[0]
    cid = world.client.post(f"/api/v1/topics/{t.id}/comments", json={"body": "我的电话 13912345678"},
                            headers=world.h(author)).json["id"]
    r = world.client.post(f"/api/v1/moderation/topic_comment/{cid}/decisions", headers=world.h(world.mod),
                          json={"action": "hide", "reason": "含个人隐私信息"})
    assert r.status_code == 200
    seen = {u: [c["id"] for c in world.client.get(f"/api/v1/topics/{t.id}/comments", headers=world.h(u)).json["items"]]
            for u in (author, world.mod, world.residents[1])}
    assert seen == {author: [cid], world.mod: [cid], world.residents[1]: []}
