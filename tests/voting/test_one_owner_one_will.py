"""One owner, one will (issue #15 point 6; Civil Code Art. 278, SPC 法释〔2009〕7号 Art. 9): when the
paper ballots of one head's units disagree, the head is contested -- no entry of it counts and the
results cannot be published until the committee withdraws the wrong one.  The result never stands on
whichever entry was confirmed first.  An online ballot and a paper ballot of one head never both
stand: the paper desk is refused, told when the head voted online, never how."""

from __future__ import annotations

import pytest

from civic.extensions import db
from civic.voting import service

from .helpers import api, enter_paper, make_open_vote, roster_unit_ids, verify


def _confirm(client, token, entry_id):
    return api(client, "post", f"/api/v1/paper-ballots/{entry_id}/confirm", token)


def _transition(client, v, action):
    return api(client, "post", f"/api/v1/votes/{v['id']}/transition", v["head_token"], json={"action": action})


def _a_units(comp, v):
    units = roster_unit_ids(v["id"])
    return units[comp.units[0].code], units[comp.units[1].code]


def _contested_vote(client, factory, comp, shared_dir):
    """A's 101 entered as agree and confirmed, then A's 102 entered as oppose (contested); closed."""
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, u2 = _a_units(comp, v)
    mt = factory.token(comp.member)
    st, first = enter_paper(client, v, mt, u1, "agree", shared_dir)
    assert _confirm(client, v["head_token"], first["id"])[0] == 200
    st, second = enter_paper(client, v, mt, u2, "oppose", shared_dir)
    assert (st, second["contested"]) == (201, True)
    assert _transition(client, v, "close")[0] == 200
    return v, first, second


def test_results_of_a_contested_head_cannot_be_published(client, factory, comp, shared_dir):
    v, first, second = _contested_vote(client, factory, comp, shared_dir)
    st, body = _transition(client, v, "publish")
    assert (st, body["error"]["code"]) == (409, "paper_ballots_contested")
    assert body["error"]["details"]["heads"][0]["entry_ids"] == [first["id"], second["id"]]
    assert "测试小区1号楼101室" in body["error"]["message"] and "C-" not in body["error"]["message"]
    db.session.rollback()
    assert service.available_transitions(v["id"], comp.head) == [
        {"action": "publish", "label": "公布结果", "blocked": body["error"]["message"]}]


def test_a_contested_head_does_not_count_in_the_turnout(client, factory, comp, shared_dir):
    v, first, _ = _contested_vote(client, factory, comp, shared_dir)
    totals = service.turnout_totals(v["id"], comp.head)
    # A's confirmed 101 would count A (2 units, 180.60 m²) if the first confirmed entry stood
    assert (totals["counted"]["heads"], totals["counted"]["units"], str(totals["counted"]["area"])) == (0, 0, "0.00")
    assert (totals["contested"]["heads"], totals["contested"]["units"], str(totals["contested"]["area"])) == (
        1, 2, "180.60")
    assert totals["returned"]["heads"] == 1


@pytest.mark.parametrize("wrong", ["first", "second"])
def test_the_committee_resolves_a_contested_head_and_the_owners_will_is_counted(
        client, factory, comp, shared_dir, wrong):
    """Whichever entry the committee finds wrong after asking the owner is withdrawn (with a reason);
    the other then counts -- also when it is the second one, entered and confirmed after the first."""
    v, first, second = _contested_vote(client, factory, comp, shared_dir)
    bad, good = (first, second) if wrong == "first" else (second, first)
    # a confirmed entry is withdrawn by the committee head; a pending one also by its enterer
    st, body = api(client, "post", f"/api/v1/paper-ballots/{bad['id']}/withdraw", v["head_token"],
                   json={"reason": "与业主核实：录入有误"})
    assert st == 200, body
    if wrong == "first":
        st, body = _confirm(client, v["head_token"], second["id"])
        assert st == 200, body
    st, vote = _transition(client, v, "publish")
    assert (st, vote["state"]) == (200, "published"), vote
    st, res = api(client, "get", f"/api/v1/votes/{v['id']}/results", v["head_token"])
    m = res["matters"][0]
    expected = 1 if good is first else 0  # first chose agree, second oppose
    assert (m["participating_heads"], m["agreeing_heads"], m["participating_area"]) == (1, expected, "180.60")


def test_a_paper_ballot_for_a_head_that_voted_online_is_refused_saying_when_not_how(
        client, factory, comp, shared_dir, caplog):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    t = factory.token(comp.a)
    verify(client, caplog, v["id"], comp.a, t)
    st, cast = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t,
                   json={"choices": {str(v["matters"][0]): "oppose"}})
    assert st == 201, cast
    for choice in ("agree", "oppose"):  # the same answer whatever the paper says: nothing leaks
        st, body = enter_paper(client, v, factory.token(comp.member), u1, choice, shared_dir)
        assert (st, body["error"]["code"]) == (409, "ballot_already_cast")
        details = body["error"]["details"]
        assert (details["kind"], details["head_id"]) == ("online", cast["head_id"])
        assert details["cast_at"]
        assert "在线投票" in body["error"]["message"] and "反对" not in body["error"]["message"]


def test_an_online_ballot_for_a_head_with_a_paper_entry_is_refused(client, factory, comp, shared_dir, caplog):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    st, _ = enter_paper(client, v, factory.token(comp.member), u1, "agree", shared_dir)
    assert st == 201
    t = factory.token(comp.a)
    verify(client, caplog, v["id"], comp.a, t)
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t,
                   json={"choices": {str(v["matters"][0]): "oppose"}})
    assert (st, body["error"]["code"]) == (409, "ballot_already_cast")


def test_the_paper_desk_shows_a_contested_head_and_offers_no_confirmation(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, u2 = _a_units(comp, v)
    mt = factory.token(comp.member)
    st, first = enter_paper(client, v, mt, u1, "agree", shared_dir)
    st, second = enter_paper(client, v, mt, u2, "oppose", shared_dir)
    unit = service.paper_unit(v["id"], u1, comp.head)
    assert unit["contested"] is True and [e["contested"] for e in unit["entries"]] == [True, True]
    pending = {e["id"]: e for e in service.pending_paper_entries(v["id"], comp.head)}
    assert (pending[first["id"]]["contested_with"], pending[first["id"]]["can_confirm"]) == (second["id"], False)
    assert (pending[second["id"]]["contested_with"], pending[second["id"]]["can_confirm"]) == (first["id"], False)
    api(client, "post", f"/api/v1/paper-ballots/{second['id']}/withdraw", mt, json={"reason": "录错"})
    db.session.rollback()
    assert service.paper_unit(v["id"], u1, comp.head)["contested"] is False
    only = service.pending_paper_entries(v["id"], comp.head)
    assert [(e["id"], e["contested_with"], e["can_confirm"]) for e in only] == [(first["id"], None, True)]
