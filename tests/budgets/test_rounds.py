"""A budget round end to end (issue #20 Done when): adopted 金点子 ideas → costed projects → residents'
ballots (online, changed, paper with two staff) → the result by the round's rule → published →
funded projects' milestones in the contests' carrying out → the public page."""

from __future__ import annotations

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
