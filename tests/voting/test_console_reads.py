"""The small reads the staff console uses (civic.voting.service, roster, tally, and the registry's
places_of_kind): real rosters, real paper entries with a real scan, exact figures."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from civic.core.errors import Conflict, Forbidden
from civic.extensions import db
from civic.voting import roster, service
from civic.voting.tally import area_from_hundredths, share

from .helpers import Compound, api, enter_paper, make_open_vote, roster_unit_ids, staff


def _enter(client, v, token, unit_id, choice, shared_dir):
    st, body = enter_paper(client, v, token, unit_id, choice, shared_dir)
    assert st == 201, body
    return body


def test_share_and_area_are_exact():
    assert share(122_32, 183_48) == ("2/3", "66.67%")
    assert share(0, 7) == ("0/1", "0.00%")
    assert area_from_hundredths(53585) == Decimal("535.85") and str(area_from_hundredths(0)) == "0.00"


def test_compounds_for_committee_street_centre_and_others(factory, comp):
    from civic.property import service as registry

    other = Compound(factory)
    street = registry.ancestor_of_kind(comp.compound, "street")
    sc = staff(factory, factory.org("street_centre", [street]), "head")
    pc = staff(factory, factory.org("property_company", [comp.compound]), "handler")
    assert [c.id for c in service.compounds_for(comp.head)] == [comp.compound.id]
    assert [c.id for c in service.compounds_for(sc)] == [comp.compound.id]  # other is in another street
    assert service.compounds_for(pc) == []
    assert {c.id for c in service.compounds_for(factory.admin())} == {comp.compound.id, other.compound.id}
    assert registry.places_of_kind("building", [comp.compound.path])[0].name == "1号楼"
    assert registry.places_of_kind("compound", []) == []


def test_roster_head_count_follows_spc_article_9(factory, comp):
    r = roster.create_roster(place_id=comp.compound.id, name=None, source="registry", actor=comp.head)
    # A's two units, B+C's co-owned unit, D's unit, the developer's two units
    assert service.roster_head_count(r.id) == {"heads": 4, "problem": None}
    empty = roster.create_roster(place_id=comp.compound.id, name=None, source="csv", actor=comp.head)
    assert service.roster_head_count(empty.id) == {"heads": 0, "problem": None}


def test_roster_for_reader_is_scoped(factory, comp):
    other = Compound(factory)
    r = roster.create_roster(place_id=comp.compound.id, name=None, source="registry", actor=comp.head)
    assert roster.roster_for_reader(r.id, comp.member) is r
    with pytest.raises(Forbidden):
        roster.roster_for_reader(r.id, other.head)


def test_available_transitions_name_what_blocks_them(client, factory, comp):
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})[1]["roster"]["id"]
    vid = api(client, "post", "/api/v1/votes", h, json={"roster_id": rid, "title": "续聘物业"})[1]["id"]
    assert service.available_transitions(vid, comp.head) == [
        {"action": "announce", "label": "公告", "blocked": "业主名册尚未确认公布"}]
    assert service.available_transitions(vid, comp.member) == []  # phase changes are the head's
    api(client, "post", f"/api/v1/rosters/{rid}/certify", h, json={})
    assert service.available_transitions(vid, comp.head)[0]["blocked"] == "表决没有任何事项"
    api(client, "post", f"/api/v1/votes/{vid}/matters", h, json={"number": 4, "title": "续聘"})
    assert service.available_transitions(vid, comp.head)[0]["blocked"] is None
    api(client, "post", f"/api/v1/votes/{vid}/transition", h, json={"action": "announce"})
    assert service.available_transitions(vid, comp.head) == [
        {"action": "open", "label": "开始投票", "blocked": "公告期未满，不能开始投票"}]


def test_paper_unit_search_and_unit(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    units = roster_unit_ids(v["id"])
    a1 = units[comp.units[0].code]
    found = service.paper_unit_search(v["id"], comp.member, building="1号楼")
    assert found["buildings"] == ["1号楼", "2号楼"]
    assert [i["unit_code"] for i in found["items"]] == [u.code for u in comp.units[:3]]
    assert service.paper_unit_search(v["id"], comp.member)["items"] == []
    got = service.paper_unit_search(v["id"], comp.member, q=comp.units[3].code)["items"]
    assert [(i["unit_code"], i["area"], i["status"]) for i in got] == [(comp.units[3].code, Decimal("100.25"), None)]

    u = service.paper_unit(v["id"], a1, comp.member)
    assert (u["head"]["unit_count"], u["head"]["area"], u["may_enter"]) == (2, Decimal("180.60"), True)
    assert [x["unit_code"] for x in u["head"]["units"]] == [comp.units[0].code, comp.units[1].code]
    assert [m["phone"] for m in u["head"]["members"]] == [comp.a.phone[:3] + "****" + comp.a.phone[-4:]]
    _enter(client, v, factory.token(comp.member), a1, "agree", shared_dir)
    u = service.paper_unit(v["id"], a1, comp.member)
    assert (u["may_enter"], u["blocked"]) == (False, "该房屋的纸质选票已录入，等待另一名委员复核")
    assert [(e["state"], e["mine"]) for e in u["entries"]] == [("pending", True)]
    assert "choices" not in u["entries"][0]  # who voted, never how
    # the head's other unit may still get its own paper ballot (one head, ballots per unit)
    assert service.paper_unit(v["id"], units[comp.units[1].code], comp.member)["may_enter"] is True
    assert service.paper_unit_search(v["id"], comp.member, q=comp.units[0].code)["items"][0]["status"] == "pending"


def test_pending_entries_say_who_may_confirm_or_withdraw_and_are_audited(client, factory, comp, shared_dir):
    from civic.core.audit import AuditEntry

    v = make_open_vote(client, factory, comp, numbers=(4,))
    other = staff(factory, comp.oc, "handler")
    e = _enter(client, v, factory.token(comp.member), roster_unit_ids(v["id"])[comp.units[3].code], "oppose",
               shared_dir)
    mine = service.pending_paper_entries(v["id"], comp.member)
    assert [(i["id"], i["unit_code"], i["can_confirm"], i["can_withdraw"], i["mine"]) for i in mine] == [
        (e["id"], comp.units[3].code, False, True, True)]
    assert [(c["title"], c["choice"]) for c in mine[0]["choices"]] == [("第4项事项", "oppose")]
    assert [(i["can_confirm"], i["can_withdraw"]) for i in service.pending_paper_entries(v["id"], other)] == [
        (True, False)]
    assert [(i["can_confirm"], i["can_withdraw"]) for i in service.pending_paper_entries(v["id"], comp.head)] == [
        (True, True)]
    looks = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "vote.paper_pending_viewed")).all()
    assert len(looks) == 3 and looks[0].data["paper_entry_ids"] == [e["id"]]
    scan = service.paper_scan_of_entry(comp.head, e["id"])
    assert scan.display_key.endswith(".jpg") and scan.thumb_key.endswith(".jpg")
    service.confirm_paper_ballot(e["id"], other)
    assert service.pending_paper_entries(v["id"], comp.head) == []


def test_turnout_totals_count_confirmed_paper_only(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    units = roster_unit_ids(v["id"])
    before = service.turnout_totals(v["id"], comp.head)
    assert (before["heads"], before["units"], before["area"]) == (4, 6, Decimal("535.85"))
    e = _enter(client, v, factory.token(comp.member), units[comp.units[0].code], "agree", shared_dir)
    t = service.turnout_totals(v["id"], comp.head)
    # A returned a ballot for one of two units: the head takes part with both, 180.60 m²
    assert t["returned"] == {"heads": 1, "units": 2, "area": Decimal("180.60")}
    assert t["counted"] == {"heads": 0, "units": 0, "area": Decimal("0.00")}
    assert t["pending_entries"] == 1
    service.confirm_paper_ballot(e["id"], comp.head)
    t = service.turnout_totals(v["id"], comp.head)
    assert t["counted"] == {"heads": 1, "units": 2, "area": Decimal("180.60")}
    assert (t["fractions"], t["percents"]) == ({"area": "516/1531", "heads": "1/4", "units": "1/3"},
                                               {"area": "33.70%", "heads": "25.00%", "units": "33.33%"})
    with pytest.raises(Forbidden):
        service.turnout_totals(v["id"], Compound(factory).head)


def test_turnout_totals_need_an_opened_vote(client, factory, comp):
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})[1]["roster"]["id"]
    vid = api(client, "post", "/api/v1/votes", h, json={"roster_id": rid, "title": "续聘物业"})[1]["id"]
    with pytest.raises(Conflict) as exc:
        service.turnout_totals(vid, comp.head)
    assert exc.value.code == "vote_not_open"


def test_matter_items_carry_the_art_278_majorities():
    items = {i["number"]: i for i in service.matter_items()}
    assert [n for n, i in items.items() if i["special"]] == [6, 7, 8]
    assert items[4]["rule"] == "参与表决专有部分面积和人数均过半数同意"
    assert items[7]["rule"] == "参与表决专有部分面积和人数均四分之三以上同意"


def test_turnout_pages_and_filters_in_sql_and_names_heads_by_their_units(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    units = roster_unit_ids(v["id"])
    _enter(client, v, factory.token(comp.member), units[comp.units[3].code], "agree", shared_dir)
    h = v["head_token"]
    st, page1 = api(client, "get", f"/api/v1/votes/{v['id']}/turnout?limit=2", h)
    st2, page2 = api(client, "get", f"/api/v1/votes/{v['id']}/turnout?limit=2&offset=2", h)
    assert (st, st2, page1["count"], page1["heads"], page1["voted"]) == (200, 200, 4, 4, 1)
    labels = [i["label"] for i in page1["items"] + page2["items"]]
    assert labels == ["测试小区1号楼101室、测试小区1号楼102室", "测试小区1号楼103室", "测试小区2号楼2-101室",
                      "测试小区2号楼2-102室、测试小区2号楼2-103室"]
    st, voted = api(client, "get", f"/api/v1/votes/{v['id']}/turnout?show=voted", h)
    assert (voted["count"], [i["label"] for i in voted["items"]], voted["items"][0]["channel"]) == (
        1, ["测试小区2号楼2-101室"], "paper")
    st, rest = api(client, "get", f"/api/v1/votes/{v['id']}/turnout?show=not_voted", h)
    assert (rest["count"], len(rest["items"])) == (3, 3)
