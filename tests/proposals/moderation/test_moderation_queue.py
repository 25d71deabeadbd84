"""The moderation reads the console uses: the queue across organisations, by kind and by reason, its
counts, what each row shows, and what a moderator may do with an item now (options)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from civic.core.db import commit, utcnow
from civic.core.errors import Forbidden, ValidationFailed
from civic.extensions import db
from civic.proposals import moderation
from civic.proposals.contests.models import ContestPhase
from civic.proposals.contests.phases import PHASES
from tests.proposals.conftest import World

API = "/api/v1"


def _post(world, user, path, body):
    r = world.client.post(f"{API}{path}", json=body, headers=world.h[user])
    assert r.status_code in (200, 201), r.json
    return r.json


@pytest.fixture
def waiting(world):
    """One item for each reason, one approved item, all in one contest (two reports hide an idea)."""
    c = world.contest(report_threshold=2)
    pending = world.idea(c["id"], title="楼道增设扶手", approve=False)
    reported = world.idea(c["id"], title="车棚加装充电桩")
    for u in (world.neighbour, world.housemate):
        _post(world, u, f"/moderation/idea/{reported['id']}/reports", {"reason": "广告"})
    appealed = world.idea(c["id"], title="屋顶种菜")
    _post(world, world.mod, f"/moderation/idea/{appealed['id']}/decisions", {"action": "hide", "reason": "与主题无关"})
    _post(world, world.author, f"/moderation/idea/{appealed['id']}/appeal", {"text": "屋顶绿化就是主题"})
    shown = world.idea(c["id"], title="口袋花园")
    return {"contest": c, "pending": pending["id"], "reported": reported["id"], "appealed": appealed["id"],
            "shown": shown["id"]}


def _ids(result):
    rows, _cursor = result
    return [(r.item_type, r.item_id) for r in rows]


def test_queue_for_holds_the_queue_and_filters_by_reason(world, waiting):
    w = waiting
    assert _ids(moderation.queue_for(world.mod)) == [("idea", w["pending"]), ("idea", w["reported"]),
                                                     ("idea", w["appealed"])]
    assert _ids(moderation.queue_for(world.mod)) == _ids(moderation.queue(world.mod, world.rc.id))
    assert _ids(moderation.queue_for(world.mod, reason="pending")) == [("idea", w["pending"])]
    assert _ids(moderation.queue_for(world.mod, reason="reported")) == [("idea", w["reported"])]
    assert _ids(moderation.queue_for(world.mod, reason="appealed")) == [("idea", w["appealed"])]
    assert _ids(moderation.queue_for(world.mod, item_type="comment")) == []
    assert moderation.queue_counts(world.mod) == {"pending": 1, "reported": 1, "appealed": 1}
    assert moderation.queue_counts(world.mod, item_type="topic") == {"pending": 0, "reported": 0, "appealed": 0}


def test_queue_for_pages_with_the_cursor(world, waiting):
    first, cursor = moderation.queue_for(world.mod, limit=2)
    rest, end = moderation.queue_for(world.mod, limit=2, cursor=cursor)
    assert [r.item_id for r in first + rest] == [waiting["pending"], waiting["reported"], waiting["appealed"]]
    assert end is None


def test_queue_entries_say_why_and_since_when(world, waiting):
    rows, _ = moderation.queue_for(world.mod)
    entries = moderation.queue_entries(rows)
    assert [(e["label"], e["content"]["title"], e["reason"]) for e in entries] == [
        ("金点子", "楼道增设扶手", "pending"), ("金点子", "车棚加装充电桩", "reported"), ("金点子", "屋顶种菜", "appealed")]
    pending, reported, appealed = entries
    assert pending["waiting_since"] == pending["item"].created_at
    assert reported["waiting_since"] == reported["item"].decided_at and reported["item"].decided_by_id is None
    assert appealed["waiting_since"] == appealed["appeal"].created_at
    assert appealed["appeal"].text == "屋顶绿化就是主题"


def test_queue_for_spans_every_organisation_the_user_moderates(world, factory):
    from civic.accounts.service import create_staff

    other = World(factory, world.client)
    both = create_staff(username="mod-both", password_hash="!", display_name="两边的审核员",
                        memberships=[(world.rc, "moderator"), (other.rc, "head")])
    commit()
    here = world.idea(world.contest()["id"], approve=False)
    there = other.idea(other.contest()["id"], approve=False)
    assert moderation.moderated_organisation_ids(both) == sorted([world.rc.id, other.rc.id])
    assert _ids(moderation.queue_for(both)) == [("idea", here["id"]), ("idea", there["id"])]
    assert _ids(moderation.queue_for(both, organisation_id=other.rc.id)) == [("idea", there["id"])]
    assert _ids(moderation.queue_for(world.mod)) == [("idea", here["id"])]
    with pytest.raises(Forbidden) as exc:
        moderation.queue_for(world.mod, organisation_id=other.rc.id)
    assert exc.value.code == "not_a_moderator"
    admin = factory.admin()
    assert moderation.moderated_organisation_ids(admin) is None
    assert _ids(moderation.queue_for(admin)) == [("idea", here["id"]), ("idea", there["id"])]


def test_queue_for_refuses_non_moderators_and_unknown_filters(world, factory):
    handler = factory.staff(world.rc, role="handler")
    with pytest.raises(Forbidden) as exc:
        moderation.queue_for(handler)
    assert exc.value.code == "not_a_moderator"
    with pytest.raises(ValidationFailed) as exc:
        moderation.queue_for(world.mod, reason="old")
    assert exc.value.code == "queue_reason_unknown"
    with pytest.raises(ValidationFailed) as exc:
        moderation.queue_for(world.mod, item_type="poster")
    assert exc.value.code == "item_type_unknown"


def test_options_offer_the_transitions_of_the_state(world, waiting):
    names = lambda o: [a["action"] for a in o["actions"]]  # noqa: E731
    pending = moderation.options(world.mod, "idea", waiting["pending"])
    assert names(pending) == ["approve", "hide", "reject"] and pending["actions"][1]["needs_reason"] is True
    assert names(moderation.options(world.mod, "idea", waiting["shown"])) == ["hide", "reject"]
    assert names(moderation.options(world.head, "idea", waiting["reported"])) == ["approve", "hide", "reject"]
    with pytest.raises(Forbidden):
        moderation.options(world.neighbour, "idea", waiting["pending"])


def test_options_send_the_appeal_to_another_moderator(world, waiting):
    mine = moderation.options(world.mod, "idea", waiting["appealed"])
    assert (mine["appeal_open"], mine["same_moderator"], mine["may_decide_appeal"]) == (True, True, False)
    other = moderation.options(world.head, "idea", waiting["appealed"])
    assert (other["appeal_open"], other["same_moderator"], other["may_decide_appeal"]) == (True, False, True)
    assert mine["actions"] == other["actions"] == []  # decide() refuses until the appeal is decided
    # After an automatic hide nobody made the decision: any moderator may decide an appeal.
    _post(world, world.author, f"/moderation/idea/{waiting['reported']}/appeal", {"text": "不是广告"})
    assert moderation.options(world.mod, "idea", waiting["reported"])["may_decide_appeal"] is True


def test_options_refuse_own_content(world, waiting):
    cm = _post(world, world.mod, f"/ideas/{waiting['shown']}/comments", {"body": "居委会会跟进"})
    own = moderation.options(world.mod, "comment", cm["id"])
    assert (own["own_content"], own["actions"], own["may_decide_appeal"]) == (True, [], False)
    assert [a["action"] for a in moderation.options(world.head, "comment", cm["id"])["actions"]] == ["hide", "reject"]


def test_options_are_blocked_when_the_contest_is_closed(world, waiting):
    start = utcnow() - dt.timedelta(days=70)
    rows = db.session.scalars(sa.select(ContestPhase).where(ContestPhase.contest_id == waiting["contest"]["id"]))
    for row in rows:
        i = PHASES.index(row.phase)
        row.starts_at, row.ends_at = start + dt.timedelta(days=10 * i), start + dt.timedelta(days=10 * (i + 1))
    commit()
    closed = moderation.options(world.mod, "idea", waiting["pending"])
    assert closed["actions"] == [] and "已结束" in closed["blocked"]
    r = world.client.post(f"{API}/moderation/idea/{waiting['pending']}/decisions", json={"action": "approve"},
                          headers=world.h[world.mod])
    assert r.status_code == 409 and r.json["error"]["code"] == "phase_forbids_action"
