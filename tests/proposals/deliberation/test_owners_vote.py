"""Limits: changing the use of an owners' common part is the owners' vote (Civil Code Art. 278 item 8),
never a committee decision."""

from __future__ import annotations

import pytest

from civic.core.db import commit
from civic.core.errors import Conflict
from civic.extensions import db
from civic.proposals.deliberation import service as svc
from civic.proposals.deliberation.models import OwnersVoteReferral


@pytest.fixture
def compound_lane_committee(world):
    from civic.property import service as reg

    lane = reg.create_place(kind="lane", code=world.factory._code("L"), name="小区内通道", parent=world.ladder["compound"])
    c = svc.create_committee(world.head, {"kind": "lane_committee", "name": "小区弄管会", "place_id": lane.id,
                                          "organisation_id": world.rc.id})
    svc.add_member(world.head, c.id, {"user_id": world.chair.id, "role": "chair", "speaks_for": "residents",
                                      "term_start": world.committee.created_at.date()})
    commit()
    return c


def test_changing_use_of_a_lane_inside_a_compound_needs_owners_vote(world, compound_lane_committee):
    t = svc.raise_topic(world.chair, compound_lane_committee.id, {"title": "通道改为停车位", "text": "把通道划成停车位",
                                                                  "changes_use": True})
    assert t.needs_owners_vote is True
    assert svc.catchment(compound_lane_committee).id == world.ladder["compound"].id


def test_flagged_common_part_needs_owners_vote(world):
    t = world.topic(changes_use=True, common_part=True)
    plain = world.topic(changes_use=True)
    assert (t.needs_owners_vote, plain.needs_owners_vote) == (True, False)


def test_committee_cannot_vote_on_it(world):
    t = world.topic(changes_use=True, common_part=True)
    m = world.meeting([t])
    world.attend(m, world.members)
    with pytest.raises(Conflict) as e:
        svc.open_motion(world.secretary, m.id, t.id, "同意改为停车位")
    assert e.value.code == "needs_owners_vote"


def test_hand_off_to_the_owners_is_recorded(world):
    t = world.topic(by=world.residents[0], changes_use=True, common_part=True)
    r = world.client.post(f"/api/v1/topics/{t.id}/owners-referral", json={"note": "涉及共有部分用途变更，提交业主大会"},
                          headers=world.h(world.chair))
    assert r.status_code == 201, r.json
    ref = db.session.get(OwnersVoteReferral, r.json["id"])
    assert (ref.topic_id, ref.vote_id, t.state) == (t.id, None, "closed")


def test_hand_off_refused_when_not_needed(world):
    t = world.topic()
    with pytest.raises(Conflict) as e:
        svc.refer_to_owners(world.chair, t.id, "提交")
    assert e.value.code == "owners_vote_not_needed"
