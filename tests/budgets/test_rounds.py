"""A budget round end to end (issue #20 Done when): adopted 金点子 ideas → costed projects → residents'
ballots (online, changed, paper with two staff) → the result by the round's rule → published →
funded projects' milestones in the contests' carrying out → the public page."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core.audit import AuditEntry
from civic.extensions import db
from tests.budgets.conftest import API


def test_round_end_to_end_from_adopted_ideas_to_milestones(bw):
    rnd = bw.round(budget=500000)
    rid = rnd["id"]
    assert rnd["phase"] == "setup" and rnd["spent"] is None
    garden, rail, shed = bw.projects(rid)
    assert bw.move(rid, "review").status_code == 200
    r = bw.move(rid, "voting")
    assert r.status_code == 200 and r.json["phase"] == "voting"

    # 3,000 + 1,500 = 4,500 元 ≤ 5,000 元; 1,500 + 1,200 = 2,700 元.
    first = bw.vote(rid, bw.author, [garden["id"], rail["id"]])
    assert first.status_code == 201 and first.json["changed"] is False
    code = first.json["receipt_code"]
    changed = bw.vote(rid, bw.author, [garden["id"]])
    assert changed.status_code == 201 and changed.json["changed"] is True
    assert bw.vote(rid, bw.housemate, [garden["id"]]).status_code == 201
    assert bw.vote(rid, bw.neighbour, [rail["id"], shed["id"]]).status_code == 201
    assert bw.vote(rid, bw.others[0], [rail["id"], shed["id"]]).status_code == 201

    old = bw.client.get(f"{API}/budget-receipts/{code}", headers=bw.h[bw.author])
    assert old.status_code == 200 and old.json["current"] is False and old.json["project_ids"] is None
    new = bw.client.get(f"{API}/budget-receipts/{changed.json['receipt_code']}", headers=bw.h[bw.author])
    assert new.json["current"] is True and new.json["project_ids"] == [garden["id"]]

    # A paper ballot: entered by one staff member, confirmed by another.
    e = bw.client.post(f"{API}/budget-rounds/{rid}/paper-ballots", headers=bw.h[bw.head],
                       json={"resident_id": bw.others[1].id, "project_ids": [shed["id"]]})
    assert e.status_code == 201 and e.json["confirmed_at"] is None
    same = bw.client.post(f"{API}/budget-paper-ballots/{e.json['id']}/confirmation", headers=bw.h[bw.head])
    assert same.status_code == 409 and same.json["error"]["code"] == "same_staff"
    ok = bw.client.post(f"{API}/budget-paper-ballots/{e.json['id']}/confirmation", headers=bw.h[bw.second])
    assert ok.status_code == 201 and ok.json["ballot_id"]

    # Before publication the votes stay hidden.
    listed = bw.client.get(f"{API}/budget-rounds/{rid}/projects", headers=bw.h[bw.neighbour]).json
    assert [p["votes"] for p in listed] == [None, None, None]

    r = bw.move(rid, "result")
    assert r.status_code == 200 and r.json["spent"] is None
    pub = bw.client.post(f"{API}/budget-rounds/{rid}/publication", headers=bw.h[bw.head])
    assert pub.status_code == 201 and pub.json["spent"] == 270000
    # votes: garden 2, rail 2, shed 3 → shed (1,200), then rail (1,500; tie with garden broken by lower
    # cost), garden (3,000) no longer fits in 5,000 − 2,700 = 2,300 元.
    res = bw.client.get(f"{API}/budget-rounds/{rid}/result", headers=bw.h[bw.neighbour]).json
    got = {p["id"]: (p["votes"], p["funded"], p["funded_position"]) for p in res["projects"]}
    assert got == {shed["id"]: (3, True, 1), rail["id"]: (2, True, 2), garden["id"]: (2, False, None)}
    assert (res["spent"], res["left"], res["ballots"]) == (270000, 230000, 5)

    assert bw.move(rid, "carrying_out").status_code == 200
    m = bw.client.post(f"{API}/budget-projects/{shed['id']}/milestones", headers=bw.h[bw.head],
                       json={"title": "充电棚基础施工", "due_on": "2027-03-31"})
    assert m.status_code == 201, m.json
    unfunded = bw.client.post(f"{API}/budget-projects/{garden['id']}/milestones", headers=bw.h[bw.head],
                              json={"title": "放样"})
    assert unfunded.status_code == 409 and unfunded.json["error"]["code"] == "project_not_funded"
    impl = bw.client.get(f"{API}/ideas/{bw.ideas[2]['id']}/implementation", headers=bw.h[bw.head]).json
    assert [x["title"] for x in impl["milestones"]] == ["充电棚基础施工"]

    page = bw.client.get(f"/budgets/{rid}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "已资助 <strong>2,700.00</strong> 元" in html and "充电棚基础施工 0%" in html
    assert "<script" not in html
    community = bw.client.get(f"/budgets/places/{bw.ladder['compound'].code}/").get_data(as_text=True)
    assert "已资助 2,700.00 元" in community and "结余 2,300.00 元" in community

    actions = set(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "budget_round")))
    assert {"budget_round.create", "budget_round.transition", "budget_project.review_cost", "budget_ballot.cast",
            "budget_ballot.change", "budget_paper.enter", "budget_paper.confirm", "budget_round.compute",
            "budget_round.publish", "budget_project.milestone"} <= actions


def test_household_rounds_count_one_ballot_per_unit(bw):
    rid = bw.round(vote_unit="household")["id"]
    garden, rail, _shed = bw.projects(rid)
    bw.move(rid, "review"), bw.move(rid, "voting")
    assert bw.vote(rid, bw.author, [garden["id"]]).status_code == 201
    again = bw.vote(rid, bw.housemate, [rail["id"]])  # same unit 101: the household's ballot changes
    assert again.status_code == 201 and again.json["changed"] is True
    mine = bw.client.get(f"{API}/budget-rounds/{rid}/ballot", headers=bw.h[bw.author]).json
    assert mine["project_ids"] == [rail["id"]]


def test_equal_shares_round_stores_the_rules_winners(bw):
    from civic.budgets import rules

    rid = bw.round(rule="equal_shares", budget=400000)["id"]
    garden, rail, shed = bw.projects(rid, costs=(300000, 150000, 120000))
    bw.move(rid, "review"), bw.move(rid, "voting")
    ballots = {bw.author: [garden["id"]], bw.housemate: [garden["id"]], bw.neighbour: [rail["id"], shed["id"]],
               bw.others[0]: [shed["id"]]}
    for who, ids in ballots.items():
        assert bw.vote(rid, who, ids).status_code == 201
    bw.move(rid, "result")
    bw.client.post(f"{API}/budget-rounds/{rid}/publication", headers=bw.h[bw.head])
    res = bw.client.get(f"{API}/budget-rounds/{rid}/result", headers=bw.h[bw.head]).json
    expected = rules.compute("equal_shares", [rules.Project(str(p["id"]), c) for p, c in
                                              ((garden, 300000), (rail, 150000), (shed, 120000))],
                             [frozenset(str(i) for i in ids) for ids in ballots.values()], 400000)
    funded = [p["id"] for p in sorted((p for p in res["projects"] if p["funded"]), key=lambda p: p["funded_position"])]
    assert funded == [int(w) for w in expected.winners] and res["spent"] == expected.spent


def _resolution(bw) -> int:
    """A lane committee's resolution in bw's community: six of its residents on a lane committee
    convened by the residents' committee, a topic, a meeting called 20 days ago, a motion passed 5:1."""
    from civic.core.db import commit, utcnow
    from civic.property import service as registry
    from civic.proposals.deliberation import service as delib

    lane = registry.create_place(kind="lane", code=bw.factory._code("L"), name="测试路18弄",
                                 parent=bw.ladder["community"])
    committee = delib.create_committee(bw.head, {
        "kind": "lane_committee", "name": "测试路18弄弄管会", "place_id": lane.id, "organisation_id": bw.rc.id,
        "rules": {"cosign_required": 3, "cosign_days": 30, "notice_days": 3}})
    members = [bw.author, bw.housemate, bw.neighbour, *bw.others]
    today = utcnow().date()
    for u, role, side in zip(members, ["chair", "secretary", "member", "member", "member", "member"],
                             ["residents", "residents", "shops", "property_company", "street_office", "residents"],
                             strict=True):
        delib.add_member(bw.head, committee.id, {"user_id": u.id, "role": role, "speaks_for": side,
                                                 "term_start": today - dt.timedelta(days=400)})
    commit()
    topic = delib.raise_topic(bw.author, committee.id, {"title": "弄堂口增设休憩座椅",
                                                        "text": "老人在弄堂口等车无处可坐，建议增设座椅。"})
    commit()
    now = utcnow()
    meeting = delib.convene(bw.housemate, committee.id, {
        "title": "弄管会例会", "starts_at": now - dt.timedelta(hours=1), "location": "弄堂活动室",
        "topic_ids": [topic.id]}, now=now - dt.timedelta(days=20))
    commit()
    for u in members:
        delib.mark_attendance(bw.housemate, meeting.id, u.id)
    motion = delib.open_motion(bw.housemate, meeting.id, topic.id, "在弄堂口增设两张休憩座椅")
    commit()
    for u, choice in zip(members, ["agree"] * 5 + ["oppose"], strict=True):
        delib.cast(u, motion.id, choice)
    delib.close_motion(bw.housemate, motion.id)
    commit()
    return delib.resolution_of(motion.id).id


def test_round_with_a_committee_resolution_beside_adopted_ideas(bw):
    # Issue #20 pt 1: a round's projects come from adopted 金点子 ideas AND committee resolutions.
    resolution_id = _resolution(bw)
    rid = bw.round(budget=500000, rule="equal_shares")["id"]
    garden, rail, shed = bw.projects(rid, costs=(300000, 150000, 120000))  # → costing, three ideas reviewed
    added = bw.client.post(f"{API}/budget-rounds/{rid}/projects", json={"source": "resolution",
                                                                         "source_id": resolution_id},
                           headers=bw.h[bw.head])
    assert added.status_code == 201, added.json
    benches = added.json
    assert (benches["source"], benches["title"]) == ("resolution", "弄堂口增设休憩座椅")
    # unreviewed, it keeps the round from opening the vote
    assert bw.move(rid, "review").status_code == 200
    r = bw.move(rid, "voting")
    assert r.status_code == 409 and r.json["error"]["code"] == "project_cost_not_reviewed"
    assert r.json["error"]["details"]["project_ids"] == [benches["id"]]
    assert bw.review(benches["id"], 80000).status_code == 200
    assert bw.move(rid, "voting").status_code == 200

    ballots = {bw.author: [garden, benches], bw.housemate: [garden, benches], bw.neighbour: [benches, shed],
               bw.others[0]: [rail, shed], bw.others[1]: [shed], bw.others[2]: [benches]}
    for who, chosen in ballots.items():
        assert bw.vote(rid, who, [p["id"] for p in chosen]).status_code == 201
    assert bw.move(rid, "result").status_code == 200
    assert bw.client.post(f"{API}/budget-rounds/{rid}/publication", headers=bw.h[bw.head]).status_code == 201
    res = bw.client.get(f"{API}/budget-rounds/{rid}/result", headers=bw.h[bw.neighbour]).json
    # 6 ballots, 5,000 元: 833.33 元 each.  MES: benches (800 元, 4 supporters: 200 each, ρ = 1/4
    # per 元), shed (1,200 元, 3: 400 each, ρ = 1/3); garden (3,000 元) is then beyond its two
    # supporters' 1,266.67 元, rail (1,500 元) beyond its one's.  Spent 2,000 元, rail or garden
    # would still fit: the completion raises each voter's money 1 元 a step until, at 867 元 more
    # each (1,700.33 元), the two garden voters can pay 3,000 元 after the benches: benches, shed,
    # garden = 5,000 元 exactly, within the budget and exhaustive (rail no longer fits).
    got = {p["id"]: (p["votes"], p["funded"]) for p in res["projects"]}
    assert got == {benches["id"]: (4, True), shed["id"]: (3, True), garden["id"]: (2, True), rail["id"]: (1, False)}
    assert res["spent"] == 80000 + 120000 + 300000

    assert bw.move(rid, "carrying_out").status_code == 200
    no_deadline = bw.client.post(f"{API}/budget-projects/{benches['id']}/milestones", headers=bw.h[bw.head],
                                 json={"title": "座椅采购"})
    assert no_deadline.status_code == 422 and no_deadline.json["error"]["code"] == "due_on_required"
    m = bw.client.post(f"{API}/budget-projects/{benches['id']}/milestones", headers=bw.h[bw.head],
                       json={"title": "座椅采购与安装", "due_on": "2027-04-30"})
    assert m.status_code == 201, m.json
    assert bw.client.post(f"{API}/budget-projects/{garden['id']}/milestones", headers=bw.h[bw.head],
                          json={"title": "花园放样"}).status_code == 201
    from civic.proposals.deliberation import service as delib

    items = delib.action_item_summaries(resolution_id)
    assert [(i["title"], i["due_on"]) for i in items] == [("座椅采购与安装", dt.date(2027, 4, 30))]
    impl = bw.client.get(f"{API}/ideas/{bw.ideas[0]['id']}/implementation", headers=bw.h[bw.head]).json
    assert [x["title"] for x in impl["milestones"]] == ["花园放样"]
    html = bw.client.get(f"/budgets/{rid}/").get_data(as_text=True)
    assert "弄堂口增设休憩座椅" in html and "座椅采购与安装" in html and "<script" not in html
