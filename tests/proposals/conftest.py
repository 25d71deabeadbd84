"""Fixtures for contests: a small world (a community with two units, its residents' committee with a
head and a moderator, residents inside and one outside), contest creation at a chosen phase, and
draining the job queue (RQ when the run uses Redis, nothing to do in-process)."""

from __future__ import annotations

import datetime as dt

import pytest

from civic.core.db import utcnow
from civic.proposals.contests.phases import PHASES


def phases_at(phase: str, now: dt.datetime | None = None) -> dict:
    """A schedule in which ``phase`` is current: ten-day phases, the current one started an hour ago."""
    now = now or utcnow()
    idx = PHASES.index(phase)
    base = now - dt.timedelta(hours=1) - dt.timedelta(days=10 * idx)
    out = {}
    for i, name in enumerate(PHASES):
        start = base + dt.timedelta(days=10 * i)
        end = None if name == "implementation" else start + dt.timedelta(days=10)
        out[name] = {"starts_at": start.isoformat(), "ends_at": end and end.isoformat()}
    return out


class World:
    def __init__(self, factory, client):
        self.factory, self.client = factory, client
        lad = factory.ladder()
        self.ladder = lad
        self.unit1, self.unit2 = lad["units"]
        self.rc = factory.org("residents_committee", [lad["community"]], name="测试居委会")
        self.head = self.staff(self.rc, "head")
        self.mod = self.staff(self.rc, "moderator")
        self.author = factory.resident(units=[self.unit1])
        self.housemate = factory.resident(units=[self.unit1])
        self.neighbour = factory.resident(units=[self.unit2])
        self.others = [factory.resident(units=[self.unit2]) for _ in range(3)]
        other = factory.ladder()
        self.outsider = factory.resident(units=[other["units"][0]])
        self.h = {u: factory.token(u) for u in
                  [self.head, self.mod, self.author, self.housemate, self.neighbour, self.outsider, *self.others]}

    def staff(self, org, role):
        """Staff without a password hash: these tests log in by token, and scrypt costs half a second."""
        from civic.accounts.service import create_staff

        user = create_staff(username=self.factory._code("staff"), password_hash="!", display_name="测试员",
                            memberships=[(org, role)])
        self.factory.commit()
        return user

    def contest(self, phase="submission", **extra) -> dict:
        body = {"organisation_id": self.rc.id, "theme": "绿化提升金点子", "categories": ["绿化", "环境卫生"],
                "place_ids": [self.ladder["compound"].id], "phases": phases_at(phase),
                "criteria": [{"name": "创新性", "weight": 1}, {"name": "可行性", "weight": 3}], **extra}
        r = self.client.post("/api/v1/contests", json=body, headers=self.h[self.head])
        assert r.status_code == 201, r.json
        return r.json

    def set_phase(self, contest_id: int, phase: str) -> None:
        r = self.client.put(f"/api/v1/contests/{contest_id}/schedule", json={"phases": phases_at(phase)},
                            headers=self.h[self.head])
        assert r.status_code == 200 and r.json["phase"] == phase, r.json

    def idea(self, contest_id: int, user=None, title="楼前空地改造口袋花园", text="建议把3号楼前空地改造成口袋花园，种植月季。",
             approve=True) -> dict:
        r = self.client.post(f"/api/v1/contests/{contest_id}/ideas", headers=self.h[user or self.author],
                             json={"title": title, "text": text, "category": "绿化"})
        assert r.status_code == 201, r.json
        if approve:
            d = self.client.post(f"/api/v1/moderation/idea/{r.json['id']}/decisions", json={"action": "approve"},
                                 headers=self.h[self.mod])
            assert d.status_code == 200, d.json
        return r.json

    def notifications(self, user) -> list[dict]:
        return self.client.get("/api/v1/me/notifications?limit=100", headers=self.h[user]).json["items"]


@pytest.fixture
def world(factory, app):
    return World(factory, app.test_client())


