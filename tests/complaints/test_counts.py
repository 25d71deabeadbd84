"""The street centre's pre-aggregated counts (civic.complaints.counts): kept by the recount job after
every change to a case, they equal a fresh scan after a random sequence of transitions; the
rebuild command writes the same; the oversight figures read them (and their medians)."""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from civic.complaints import counts
from civic.complaints.models import Complaint, ComplaintCount
from civic.core.db import utcnow
from civic.extensions import db
from tests.complaints.helpers import World, act, file_case
from tests.jobs import drain

# Transitions the API offers to the lead (property company) and to the resident, tried at random;
# the workflow refuses those not allowed from a case's status, so the sequence is whatever it allows.
STAFF_ACTIONS = [("acknowledge", {}), ("start", {}), ("resolve", {"note": "已清理"}),
                 ("return", {"note": "不属于物业职责"})]
RATINGS = [1, 2, 4, 5]  # 1-2 reopen the case once, 3-5 close it (RULES.md §3)


def _assert_counts_equal_scan():
    drain()
    db.session.expire_all()
    assert counts.stored() == counts.scanned()


def test_counts_equal_a_fresh_scan_after_random_transitions(app, client, factory):
    w = World(factory)
    rng = random.Random(21)
    start = utcnow() - dt.timedelta(days=3)
    ids = [file_case(w, rng.choice(["noise", "green_damage", "waste_sorting"]), now=start + dt.timedelta(hours=i))
           for i in range(6)]
    ids = [c if isinstance(c, int) else c.id for c in ids]
    _assert_counts_equal_scan()
    assert sum(v[0] for v in counts.stored()[0].values()) == 6
    done = 0
    for _ in range(40):
        cid = rng.choice(ids)
        if rng.random() < 0.7:
            action, body = rng.choice(STAFF_ACTIONS)
            r = act(client, w.h["property_company"], cid, action, **body)
        elif rng.random() < 0.5:
            r = client.post(f"/api/v1/complaints/{cid}/rating", headers=w.rh, json={"rating": rng.choice(RATINGS)})
        else:  # the nightly job: overdue marking and escalation (a change made outside any request)
            from civic.complaints.jobs import escalate_overdue
            from civic.core.db import commit

            escalate_overdue(now=utcnow() + dt.timedelta(days=rng.randint(0, 30)))
            commit()
            r = None
        if r is not None and r.status_code != 200:
            assert r.status_code in (403, 409), r.get_json()  # refused from this status: nothing changed
        done += r is not None and r.status_code == 200
    _assert_counts_equal_scan()
    assert done >= 5  # the sequence did move cases (not only refused transitions)
    statuses = {s for (_st, _lead, s) in counts.stored()[0]}
    assert len(statuses) >= 2

    # Running the job again for every case changes nothing (idempotent: outbox retries, late jobs).
    assert counts.recount(ids) == 0
    # A counts table damaged behind the job's back (a bulk SQL change) is repaired by the rebuild.
    db.session.execute(sa.update(ComplaintCount).values(cases=ComplaintCount.cases + 7))
    db.session.commit()
    assert counts.stored() != counts.scanned()
    out = counts.rebuild()
    assert out["cases"] == 6
    assert counts.stored() == counts.scanned()


def test_rebuild_command_and_check(app, factory):
    w = World(factory)
    for i in range(3):
        file_case(w, now=utcnow() - dt.timedelta(hours=i))
    drain()
    runner = app.test_cli_runner()
    r = runner.invoke(args=["civic", "recount-complaints", "--check"])
    assert r.exit_code == 0, r.output
    assert "agree" in r.output
    db.session.execute(sa.delete(ComplaintCount))
    db.session.commit()
    r = runner.invoke(args=["civic", "recount-complaints", "--check"])
    assert r.exit_code == 1 and "DIFFER" in r.output
    r = runner.invoke(args=["civic", "recount-complaints"])
    assert r.exit_code == 0 and "'cases': 3" in r.output
    db.session.expire_all()
    assert sum(v[0] for v in counts.stored()[0].values()) == 3


def test_a_deleted_case_leaves_the_counts(app, factory):
    w = World(factory)
    c = file_case(w, now=utcnow())
    cid = c if isinstance(c, int) else c.id
    drain()
    assert counts.stored()[0]
    from civic.complaints.models import ComplaintParty, ComplaintPhoto, ComplaintReporter
    from civic.core.db import commit

    for model in (ComplaintParty, ComplaintPhoto, ComplaintReporter):
        db.session.execute(sa.delete(model).where(model.complaint_id == cid))
    db.session.delete(db.session.get(Complaint, cid))
    commit()
    _assert_counts_equal_scan()
    assert counts.stored() == ({}, {})


def test_median_from_tenths_follows_statistics_median():
    import statistics

    from civic.complaints.stats import _median_tenths

    rng = random.Random(5)
    for n in (1, 2, 3, 10, 11, 57):
        xs = [rng.randint(0, 500) for _ in range(n)]
        hist: dict[int, int] = {}
        for x in xs:
            hist[x] = hist.get(x, 0) + 1
        assert _median_tenths(hist) == round(statistics.median(xs) / 10, 1)
    assert _median_tenths({}) is None


def test_tenths_round_down_to_six_minutes():
    t0 = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
    assert counts.tenths(t0, t0 + dt.timedelta(minutes=5, seconds=59)) == 0
    assert counts.tenths(t0, t0 + dt.timedelta(minutes=6)) == 1
    assert counts.tenths(t0, t0 + dt.timedelta(hours=25, minutes=13)) == 252
    assert counts.tenths(t0, None) is None
