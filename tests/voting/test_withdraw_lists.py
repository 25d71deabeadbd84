"""Withdrawing an unconfirmed paper entry; roster and vote lists, scoped."""

from __future__ import annotations

from .helpers import api, enter_paper, make_open_vote, roster_unit_ids, verify


def test_enterer_withdraws_unconfirmed_entry_and_it_stays_in_the_record(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    unit = roster_unit_ids(v["id"])[comp.units[3].code]
    mt = factory.token(comp.member)
    _, e = enter_paper(client, v, mt, unit, "agree", shared_dir)
    st, body = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", mt, json={"reason": "录错了房号"})
    assert (st, body["withdrawn"], body["confirmed"]) == (200, True, False)
    api(client, "post", f"/api/v1/votes/{v['id']}/transition", v["head_token"], json={"action": "close"})
    st, rec = api(client, "get", f"/api/v1/votes/{v['id']}/record", mt)
    item = next(i for i in rec["items"] if i["kind"] == "paper")
    assert (item["counted"], item["withdrawal_reason"]) == (False, "录错了房号")
    # the scan stays in the record, and its address opens it for the committee (civic.core.media)
    assert item["scan_url"] == body["scan_url"] and item["scan_url"].startswith(f"/api/v1/votes/{v['id']}/paper-scans/")
    scan = client.get(item["scan_url"], headers=mt)
    assert scan.status_code == 200 and scan.data[:3] == b"\xff\xd8\xff"


def test_withdrawn_entry_is_not_counted_and_unit_can_be_entered_again(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    unit = roster_unit_ids(v["id"])[comp.units[3].code]
    mt, ht = factory.token(comp.member), v["head_token"]
    _, wrong = enter_paper(client, v, mt, unit, "agree", shared_dir)
    api(client, "post", f"/api/v1/paper-ballots/{wrong['id']}/withdraw", mt, json={"reason": "选项录反"})
    st, right = enter_paper(client, v, mt, unit, "oppose", shared_dir)
    assert st == 201, right
    api(client, "post", f"/api/v1/paper-ballots/{right['id']}/confirm", ht)
    api(client, "post", f"/api/v1/votes/{v['id']}/transition", ht, json={"action": "close"})
    st, res = api(client, "post", f"/api/v1/votes/{v['id']}/transition", ht, json={"action": "publish"})
    assert st == 200, res
    st, res = api(client, "get", f"/api/v1/votes/{v['id']}/results", ht)
    m = res["matters"][0]
    assert (m["participating_heads"], m["agreeing_heads"], m["participating_area"]) == (1, 0, "100.25")


def test_another_member_cannot_withdraw(client, factory, comp, shared_dir):
    from .helpers import staff

    v = make_open_vote(client, factory, comp, numbers=(4,))
    other = staff(factory, comp.oc, "handler")
    _, e = enter_paper(client, v, factory.token(comp.member), roster_unit_ids(v["id"])[comp.units[3].code],
                  "agree", shared_dir)
    st, body = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", factory.token(other),
                   json={"reason": "不对"})
    assert (st, body["error"]["code"]) == (403, "paper_withdraw_not_allowed")


def test_committee_head_withdraws_and_the_audit_log_has_it(client, factory, comp, shared_dir):
    import sqlalchemy as sa

    from civic.core.audit import AuditEntry
    from civic.extensions import db

    v = make_open_vote(client, factory, comp, numbers=(4,))
    _, e = enter_paper(client, v, factory.token(comp.member), roster_unit_ids(v["id"])[comp.units[3].code],
                  "agree", shared_dir)
    st, _ = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", v["head_token"], json={"reason": "重复"})
    row = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "paper_ballot.withdraw"))
    assert (st, row.actor_id, row.data["paper_entry_id"]) == (200, comp.head.id, e["id"])


def test_confirmed_entry_cannot_be_withdrawn(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    mt = factory.token(comp.member)
    _, e = enter_paper(client, v, mt, roster_unit_ids(v["id"])[comp.units[3].code], "agree", shared_dir)
    api(client, "post", f"/api/v1/paper-ballots/{e['id']}/confirm", v["head_token"])
    st, body = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", mt, json={"reason": "晚了"})
    assert (st, body["error"]["code"]) == (409, "paper_already_confirmed")


def test_withdrawn_entry_cannot_be_confirmed(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    mt = factory.token(comp.member)
    _, e = enter_paper(client, v, mt, roster_unit_ids(v["id"])[comp.units[3].code], "agree", shared_dir)
    api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", mt, json={"reason": "录错"})
    st, body = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/confirm", v["head_token"])
    assert (st, body["error"]["code"]) == (409, "paper_already_withdrawn")


def test_committee_lists_its_compounds_votes_by_status(client, factory, comp):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    st, body = api(client, "get", f"/api/v1/votes?compound_id={comp.compound.id}&status=open",
                   factory.token(comp.member))
    assert (st, [i["id"] for i in body["items"]], body["next_cursor"]) == (200, [v["id"]], None)
    st, body = api(client, "get", f"/api/v1/votes?compound_id={comp.compound.id}&status=closed",
                   factory.token(comp.member))
    assert (st, body["items"]) == (200, [])


def test_staff_of_another_compound_cannot_list_its_votes(client, factory, comp):
    make_open_vote(client, factory, comp, numbers=(4,))
    other = factory.ladder()["compound"]
    oc = factory.org("owners_committee", [other])
    st, body = api(client, "get", f"/api/v1/votes?compound_id={comp.compound.id}",
                   factory.token(factory.staff(oc, "head")))
    assert (st, body["error"]["code"]) == (403, "not_owners_committee")


def test_resident_on_the_roster_sees_the_vote_and_a_tenant_does_not(client, factory, comp, caplog):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    t = factory.token(comp.d)
    verify(client, caplog, v["id"], comp.d, t)
    st, body = api(client, "get", "/api/v1/votes", t)
    assert (st, [i["id"] for i in body["items"]]) == (200, [v["id"]])
    st, body = api(client, "get", "/api/v1/votes", factory.token(comp.t))
    assert (st, body["items"]) == (200, [])


def test_vote_list_pages_with_a_cursor(client, factory, comp):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    h = v["head_token"]
    second = api(client, "post", "/api/v1/votes", h, json={"roster_id": v["roster_id"], "title": "第二次"})[1]["id"]
    st, p1 = api(client, "get", f"/api/v1/votes?compound_id={comp.compound.id}&limit=1", h)
    st2, p2 = api(client, "get", f"/api/v1/votes?compound_id={comp.compound.id}&limit=1&cursor={p1['next_cursor']}", h)
    assert [p1["items"][0]["id"], p2["items"][0]["id"], p2["next_cursor"]] == [second, v["id"], None]


def test_roster_list_of_a_compound(client, factory, comp):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    st, body = api(client, "get", f"/api/v1/rosters?compound_id={comp.compound.id}", factory.token(comp.member))
    assert (st, [r["id"] for r in body["items"]], body["items"][0]["status"]) == (200, [v["roster_id"]], "certified")


def test_resident_cannot_list_rosters(client, factory, comp):
    st, body = api(client, "get", f"/api/v1/rosters?compound_id={comp.compound.id}", factory.token(comp.d))
    assert st == 403


def test_owner_votes_online_after_the_only_paper_entry_of_their_head_was_withdrawn(client, factory, comp, shared_dir,
                                                                                  caplog):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    mt = factory.token(comp.member)
    _, e = enter_paper(client, v, mt, roster_unit_ids(v["id"])[comp.units[3].code], "agree", shared_dir)  # D's unit
    api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", mt, json={"reason": "不是业主交回的"})
    t = factory.token(comp.d)
    verify(client, caplog, v["id"], comp.d, t)
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t, json={"choices": {str(v["matters"][0]): "oppose"}})
    assert (st, body["kind"]) == (201, "online")
    st, turnout = api(client, "get", f"/api/v1/votes/{v['id']}/turnout", mt)
    assert (turnout["voted"], [i["channel"] for i in turnout["items"] if i["voted"]]) == (1, ["online"])
