"""Fixtures for budget rounds: the contests' small world (a community, its residents' committee,
residents in two units and one outside) with three adopted 金点子 ideas, and a round over the
community built through the API."""

from __future__ import annotations

import datetime as dt

import pytest

from civic.core.db import utcnow
from tests.proposals.conftest import World

API = "/api/v1"
TITLES = ("楼前空地改造口袋花园", "加装楼道扶手", "增设非机动车充电棚")


class BudgetWorld(World):
    def __init__(self, factory, client):
        super().__init__(factory, client)
        self.second = self.staff(self.rc, "handler")
        self.h[self.second] = factory.token(self.second)
        c = self.contest()
        ideas = [self.idea(c["id"], title=t) for t in TITLES]
        self.set_phase(c["id"], "results")
        r = client.post(f"{API}/contests/{c['id']}/ranking", headers=self.h[self.head])
        assert r.status_code == 201, r.json
        for i in ideas:
            r = client.post(f"{API}/ideas/{i['id']}/adopt", json={"organisation_id": self.rc.id},
                            headers=self.h[self.head])
            assert r.status_code == 201, r.json
        self.set_phase(c["id"], "implementation")
        self.contest_id, self.ideas = c["id"], ideas

    def round(self, *, budget=500000, rule="greedy", vote_unit="resident", ballot_mode="budget", max_choices=None,
              opens=None, closes=None) -> dict:
        now = utcnow()
        body = {"organisation_id": self.rc.id, "title": "2026年滨江社区微更新", "budget": budget, "rule": rule,
                "vote_unit": vote_unit, "ballot_mode": ballot_mode, "max_choices": max_choices,
                "place_ids": [self.ladder["community"].id],
                "voting_opens_at": (opens or now - dt.timedelta(hours=1)).isoformat(),
                "voting_closes_at": (closes or now + dt.timedelta(days=7)).isoformat()}
        r = self.client.post(f"{API}/budget-rounds", json=body, headers=self.h[self.head])
        assert r.status_code == 201, r.json
        return r.json

    def move(self, round_id: int, to: str, who=None):
        return self.client.post(f"{API}/budget-rounds/{round_id}/transitions", json={"to": to},
                                headers=self.h[who or self.head])

    def projects(self, round_id: int, costs=(300000, 150000, 120000)) -> list[dict]:
        """The three ideas as projects, costs reviewed (分), and the round in voting."""
        assert self.move(round_id, "costing").status_code == 200
        out = []
        for idea, cost in zip(self.ideas, costs, strict=True):
            r = self.client.post(f"{API}/budget-rounds/{round_id}/projects",
                                 json={"source": "idea", "source_id": idea["id"]}, headers=self.h[self.head])
            assert r.status_code == 201, r.json
            if cost is not None:
                c = self.review(r.json["id"], cost)
                assert c.status_code == 200, c.json
            out.append(r.json)
        return out

    def review(self, project_id: int, cost: int):
        return self.client.put(f"{API}/budget-projects/{project_id}/cost", headers=self.h[self.head],
                               json={"cost": cost, "feasibility_note": "现场踏勘可行，报价两家取低",
                                     "implementing_organisation_id": self.rc.id})

    def vote(self, round_id: int, user, project_ids, **extra):
        return self.client.post(f"{API}/budget-rounds/{round_id}/ballot", json={"project_ids": project_ids, **extra},
                                headers=self.h[user])


@pytest.fixture
def bw(factory, app):
    return BudgetWorld(factory, app.test_client())
