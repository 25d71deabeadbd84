"""The demo lane committee (滨江路18弄弄管会) runs a residents' topic with co-signatures through a
meeting (quorum met, one motion failed at exactly half, one passed) to an action item carried out;
rule-set version 2 leaves the past decision as it was.  The demo is seeded once, here."""

from __future__ import annotations

import sqlalchemy as sa

from civic.core.db import commit
from civic.demo import load_demo
from civic.extensions import db
from civic.proposals.deliberation import service as svc
from civic.proposals.deliberation.models import ActionItem, ActionUpdate, Motion
from tests.proposals.deliberation.conftest import audit_actions, notifications


def test_demo_lane_committee_from_cosigned_topic_to_action_item_carried_out(app):
    summary = load_demo()["deliberation"]
    commit()
    c = svc.get_committee(summary["committee_id"])
    assert (c.kind, c.name) == ("lane_committee", "滨江路18弄弄管会")
    assert [m.role for m in svc.current_members(c.id)] == ["chair", "secretary", "member", "member", "member", "member"]

    t = svc.get_topic(summary["topic_id"])
    assert (t.raised_as, t.cosign_count, t.state) == ("resident", 3, "closed")
    assert audit_actions("topic", t.id) == ["topic.raise", "topic.cosign", "topic.cosign", "topic.cosign",
                                            "topic.cosigned", "topic.discuss", "topic.decide", "topic.close"]

    first, second = (db.session.get(Motion, i) for i in summary["motion_ids"])
    assert {k: first.result[k] for k in ("agree", "oppose", "abstain", "base", "fraction", "threshold", "passed")} == {
        "agree": 3, "oppose": 3, "abstain": 0, "base": 6, "fraction": "1/2", "threshold": ">1/2", "passed": False}
    assert first.result["quorum"] == {"present": 6, "members": 6, "fraction": "1", "threshold": ">1/2", "met": True}
    assert (second.passed, second.result["fraction"], second.rule_set_version) == (True, "5/6", 1)

    # Rule-set version 2 (at least half) is in force now; the first motion stays failed under version 1.
    rules = svc.current_rules(c.id)
    assert (rules.version, rules.majority, rules.majority_strict) == (2, "1/2", False)
    assert (first.passed, first.rule_set_version) == (False, 1)

    item = db.session.get(ActionItem, summary["action_item_id"])
    assert (item.state, item.evidence_note, len(item.evidence_photos)) == ("closed", "8个充电位已安装通电，启用刷卡计费", 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActionUpdate)) == 1
    followers = set(svc.followers(t))
    assert len(followers) == 4
    assert {n.user_id for n in notifications("action_item_closed")} == followers
