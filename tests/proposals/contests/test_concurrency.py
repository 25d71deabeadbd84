"""Concurrent support clicks on a real server-side database leave an exact count."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from civic.extensions import db
from civic.proposals.contests.models import Idea, Support

pytestmark = pytest.mark.postgres


def test_concurrent_support_and_withdraw_leave_an_exact_count(world, app, factory):
    c = world.contest()
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "support")
    residents = [factory.resident(units=[world.unit2]) for _ in range(40)]
    heads = [factory.token(r) for r in residents]
    # Each resident clicks support 3 times and withdraw once or twice, in a random order, all at once.
    plan = []
    rnd = random.Random(6)
    for hd in heads:
        clicks = ["put"] * 3 + ["delete"] * rnd.choice([1, 2]) + ["put"] * rnd.choice([0, 1])
        plan += [(hd, m) for m in clicks]
    rnd.shuffle(plan)

    def click(args):
        hd, method = args
        with app.app_context():
            client = app.test_client()
            return getattr(client, method)(f"/api/v1/ideas/{idea['id']}/support", headers=hd).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(click, plan))
    assert set(codes) == {200}
    db.session.expire_all()
    active = db.session.scalar(sa.select(sa.func.count()).select_from(Support).where(
        Support.idea_id == idea["id"], Support.active.is_(True)))
    assert db.session.get(Idea, idea["id"]).support_count == active
