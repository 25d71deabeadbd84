"""Requests that race: co-signatures counted exactly, one open motion per topic, and each state
transition (topic, motion, meeting minutes, action item) won by one request while the others get 409.

The races are made deterministic: this test's session reads a row, another app context (its own
session and connection, like a second gunicorn worker) changes it and commits, then this session
acts on what it read.  One thread test checks the co-signature count under real concurrency."""

from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from civic.accounts.models import User
from civic.core.db import commit
from civic.core.errors import Conflict
from civic.extensions import db
from civic.proposals.deliberation import jobs
from civic.proposals.deliberation import service as svc
from civic.proposals.deliberation.models import Cosign, Motion, MotionVote
from tests.proposals.deliberation.conftest import audit_actions, notifications, photo


def elsewhere(app, fn):
    """Run ``fn()`` as another worker would: in a second app context, with its own session, and commit."""
    with app.app_context():
        out = fn()
        commit()
        return out


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def cosign_rows(topic_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Cosign).where(Cosign.topic_id == topic_id))


# --- 1. co-signatures -----------------------------------------------------------------------------

def test_cosign_count_is_exact_when_another_worker_cosigned_after_our_read(world, app):
    raiser, first, second, third = world.residents[:4]
    t = world.topic(by=raiser)
    tid, first_id, third_id = t.id, first.id, third.id
    h = world.h(second)
    assert svc.get_topic(tid).cosign_count == 0  # this session read the count ...
    elsewhere(app, lambda: svc.cosign(user(first_id), tid))  # ... another worker adds one meanwhile
    r = world.client.post(f"/api/v1/topics/{tid}/cosignatures", headers=h)
    assert r.status_code == 200 and (r.json["cosign_count"], r.json["state"]) == (2, "proposed")
    elsewhere(app, lambda: svc.cosign(user(third_id), tid))
    db.session.expire_all()
    t = svc.get_topic(tid)
    assert (t.cosign_count, cosign_rows(tid), t.state) == (3, 3, "on_agenda")
    assert audit_actions("topic", tid).count("topic.cosigned") == 1


def test_parallel_cosignatures_count_exactly_and_reach_the_agenda_once(world, app):
    # Threshold 3; four residents co-sign at the same moment: three are counted, the topic reaches
    # the agenda once, the fourth is told the topic no longer gathers co-signatures.
    raiser, *signers = world.residents
    t = world.topic(by=raiser)
    tid = t.id
    heads = [world.h(u) for u in signers]

    def sign(h):
        with app.app_context():
            r = app.test_client().post(f"/api/v1/topics/{tid}/cosignatures", headers=h)
            return r.status_code, (r.json.get("error") or {}).get("code")

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(sign, heads))
    assert outcomes == [(200, None)] * 3 + [(409, "cosign_not_open")]
    db.session.expire_all()
    t = svc.get_topic(tid)
    assert (t.cosign_count, cosign_rows(tid), t.state) == (3, 3, "on_agenda")
    assert audit_actions("topic", tid).count("topic.cosigned") == 1
    assert len({n.user_id for n in notifications("topic_on_agenda")}) == len(notifications("topic_on_agenda"))


def test_cosign_count_repairs_a_count_that_drifted(world):
    # A count an older version got wrong (the tester's topic showed 2 with 5 rows) is rewritten from
    # the rows by the next co-signature.
    raiser, *signers = world.residents
    t = world.topic(by=raiser)
    svc.cosign(signers[0], t.id)
    db.session.execute(sa.update(type(t)).where(type(t).id == t.id).values(cosign_count=0))
    commit()
    svc.cosign(signers[1], t.id)
    commit()
    assert (t.cosign_count, t.state) == (2, "proposed")


# --- 3. one open motion per topic -----------------------------------------------------------------

def _meeting_with_topic(world):
    t = world.topic()
    m = world.meeting([t])
    world.attend(m, world.members)
    return t, m


def test_a_second_open_motion_on_a_topic_is_refused(world):
    t, m = _meeting_with_topic(world)
    first = svc.open_motion(world.secretary, m.id, t.id, "请物业在弄堂口增设4个充电桩")
    commit()
    r = world.client.post(f"/api/v1/meetings/{m.id}/motions", headers=world.h(world.secretary),
                          json={"topic_id": t.id, "text": "由居民出资增设充电桩"})
    assert r.status_code == 409
    assert r.json["error"]["code"] == "motion_already_open"
    assert r.json["error"]["message"] == "该议题已有正在表决的动议，请先结束该动议的表决"
    assert r.json["error"]["details"] == {"topic_id": t.id, "motion_id": first.id}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Motion).where(Motion.topic_id == t.id)) == 1


def test_motion_left_open_when_its_topic_was_decided_closes_cleanly(world):
    # Two open motions on one topic (as an older version allowed): the first passes and the topic is
    # decided; closing the second must not leave it open for good.
    t, m = _meeting_with_topic(world)
    first = svc.open_motion(world.secretary, m.id, t.id, "请物业在弄堂口增设4个充电桩")
    rules = svc.current_rules(world.committee.id)
    second = Motion(meeting_id=m.id, topic_id=t.id, text="由居民出资增设充电桩", rule_set_id=rules.id,
                    rule_set_version=rules.version)
    db.session.add(second)
    commit()
    world.vote(first, agree=5, oppose=1)
    world.vote(second, agree=4, oppose=2)
    svc.close_motion(world.secretary, first.id)
    commit()
    assert t.state == "decided"
    r = world.client.post(f"/api/v1/motions/{second.id}/close", json={}, headers=world.h(world.secretary))
    assert r.status_code == 200, r.json
    assert (r.json["state"], r.json["passed"], r.json["resolution_id"]) == ("closed", False, None)
    res = r.json["result"]
    assert (res["agree"], res["oppose"], res["threshold_met"], res["passed"]) == (4, 2, True, False)
    assert res["note"] == "表决期间该议题已作出决议，本动议不再形成决议"
    assert t.state == "decided"
    v = world.client.post(f"/api/v1/motions/{second.id}/votes", json={"choice": "agree"},
                          headers=world.h(world.members[5]))
    assert v.status_code == 409 and v.json["error"]["code"] == "motion_closed"


# --- 4. check-then-act: one request wins ----------------------------------------------------------

def test_closing_a_motion_closed_meanwhile_is_refused(world, app):
    t, m = _meeting_with_topic(world)
    mo = svc.open_motion(world.secretary, m.id, t.id, "请物业在弄堂口增设4个充电桩")
    commit()
    mid, sec_id = mo.id, world.secretary.id
    h = world.h(world.secretary)
    assert svc.get_motion(mid).state == "open"
    elsewhere(app, lambda: svc.close_motion(user(sec_id), mid))
    r = world.client.post(f"/api/v1/motions/{mid}/close", json={}, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "motion_closed"
    assert audit_actions("motion", mid).count("motion.close") == 1


def test_a_vote_after_the_motion_closed_meanwhile_is_refused(world, app):
    t, m = _meeting_with_topic(world)
    mo = svc.open_motion(world.secretary, m.id, t.id, "请物业在弄堂口增设4个充电桩")
    commit()
    mid, sec_id = mo.id, world.secretary.id
    h = world.h(world.members[2])
    assert svc.get_motion(mid).state == "open"
    elsewhere(app, lambda: svc.close_motion(user(sec_id), mid))
    r = world.client.post(f"/api/v1/motions/{mid}/votes", json={"choice": "agree"}, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "motion_closed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MotionVote)) == 0


def test_a_topic_declined_meanwhile_is_not_scheduled(world, app):
    t = world.topic(by=world.members[3])
    tid, chair_id = t.id, world.chair.id
    h = world.h(world.secretary)
    assert svc.get_topic(tid).state == "proposed"
    elsewhere(app, lambda: svc.decline_topic(user(chair_id), tid, "属物业日常维修"))
    r = world.client.post(f"/api/v1/topics/{tid}/schedule", headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "topic_changed"
    db.session.expire_all()
    assert svc.get_topic(tid).state == "declined"
    assert audit_actions("topic", tid) == ["topic.raise", "topic.decline"]


def test_a_second_open_motion_from_a_stale_read_is_refused(world, app):
    t, m = _meeting_with_topic(world)
    tid, mid, sec_id = t.id, m.id, world.secretary.id
    h = world.h(world.chair)
    assert svc.get_topic(tid).state == "on_agenda"
    elsewhere(app, lambda: svc.open_motion(user(sec_id), mid, tid, "请物业在弄堂口增设4个充电桩"))
    r = world.client.post(f"/api/v1/meetings/{mid}/motions", headers=h, json={"topic_id": tid, "text": "另一项动议"})
    assert r.status_code == 409 and r.json["error"]["code"] in ("motion_already_open", "topic_changed")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Motion).where(Motion.topic_id == tid)) == 1


def test_minutes_changed_meanwhile_are_not_overwritten(world, app):
    m = world.meeting([world.topic()])
    mid, chair_id = m.id, world.chair.id
    h = world.h(world.secretary)
    assert svc.get_meeting(mid).minutes is None
    elsewhere(app, lambda: svc.record_minutes(user(chair_id), mid, "主任记录：应到6人，实到6人。"))
    r = world.client.put(f"/api/v1/meetings/{mid}/minutes", json={"minutes": "秘书记录：实到5人。"}, headers=h)
    assert r.status_code == 409 and r.json["error"]["code"] == "meeting_changed"
    db.session.expire_all()
    assert svc.get_meeting(mid).minutes == "主任记录：应到6人，实到6人。"


@pytest.fixture
def action_item(world, resolution):
    a = svc.add_action_item(world.secretary, resolution.id, {
        "title": "弄堂口安装4个充电桩", "organisation_id": world.pc.id,
        "due_on": svc.get_meeting(svc.get_motion(resolution.motion_id).meeting_id).starts_at.date()})
    commit()
    return a


def _multipart(note: str, name: str = "ianare_portrait_5.jpg") -> dict:
    n, data = photo(name)
    return {"data": {"note": note, "photos": [(io.BytesIO(data), n)]}, "content_type": "multipart/form-data"}


def test_closing_an_action_item_closed_meanwhile_is_refused(world, app, action_item):
    aid, staff_id = action_item.id, world.pc_staff.id
    h = world.h(world.pc_staff)
    assert svc.get_action_item(aid).state == "open"
    elsewhere(app, lambda: svc.close_action_item(user(staff_id), aid, "4个充电桩已安装并通电", [photo()]))
    r = world.client.post(f"/api/v1/action-items/{aid}/close", headers=h, **_multipart("再次办结"))
    assert r.status_code == 409 and r.json["error"]["code"] == "action_item_closed"
    db.session.expire_all()
    a = svc.get_action_item(aid)
    assert (a.evidence_note, len(a.evidence_photos)) == ("4个充电桩已安装并通电", 1)
    assert audit_actions("action_item", aid).count("action_item.close") == 1
    assert len(notifications("action_item_closed")) == 4  # the raiser and three co-signers, once


def test_parallel_closes_of_an_action_item_leave_one_winner(world, app, action_item):
    aid = action_item.id
    h = world.h(world.pc_staff)

    def close(i):
        with app.app_context():
            r = app.test_client().post(f"/api/v1/action-items/{aid}/close", headers=h, **_multipart(f"办结 {i}"))
            return r.status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = sorted(pool.map(close, range(4)))
    assert codes == [200, 409, 409, 409]
    db.session.expire_all()
    assert audit_actions("action_item", aid).count("action_item.close") == 1


def test_progress_after_the_item_closed_meanwhile_is_refused(world, app, action_item):
    aid, staff_id = action_item.id, world.pc_staff.id
    h = world.h(world.pc_staff)
    assert svc.get_action_item(aid).state == "open"
    elsewhere(app, lambda: svc.close_action_item(user(staff_id), aid, "4个充电桩已安装并通电", [photo()]))
    r = world.client.post(f"/api/v1/action-items/{aid}/updates", headers=h, **_multipart("已完成选址"))
    assert r.status_code == 409 and r.json["error"]["code"] == "action_item_closed"
    assert svc.action_updates(aid) == []


def test_overdue_flag_does_not_undo_a_close(world, app, action_item):
    # The 01:30 job read the item open; the responsible organisation closed it meanwhile.
    aid, staff_id = action_item.id, world.pc_staff.id
    later = dt.datetime.combine(action_item.due_on + dt.timedelta(days=2), dt.time(1, 30), tzinfo=dt.UTC)
    assert svc.get_action_item(aid).state == "open"
    elsewhere(app, lambda: svc.close_action_item(user(staff_id), aid, "已安装", [photo()]))
    assert jobs.flag_overdue(now=later) == 0
    commit()
    db.session.expire_all()
    a = svc.get_action_item(aid)
    assert (a.state, a.overdue) == ("closed", False)
    assert notifications("action_item_overdue") == []


def test_service_refuses_the_second_close_directly(world, action_item):
    svc.close_action_item(world.pc_staff, action_item.id, "已安装", [photo()])
    commit()
    with pytest.raises(Conflict) as e:
        svc.close_action_item(world.pc_staff, action_item.id, "再次办结", [photo()])
    assert e.value.code == "action_item_closed"
