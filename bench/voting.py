"""Owners' votes on PostgreSQL: the tally's speed and one-ballot-per-head under concurrency.

1. Tally: a 10,000-unit compound (heads as in bench/tally_pure.py: co-owners, owners of two
   units, a developer head), 8,000 ballots, 5 matters, built with bulk inserts.  Times
   ``civic.voting.service.run_tally`` (load the inputs in lean queries, call tally_frozen()) against ONE
   SQL aggregate of the same sums (per matter: participating and agreeing heads and area, plus the
   roster totals) over the same stored rows, in the same run.  Prints the ratio (target ≤ 3).
2. Concurrency: gunicorn (2 workers) on PostgreSQL; 1,000 verified owners, each posting their
   ballot, with 500 duplicates mixed in, from a thread pool.  Checks exactly one ballot per head,
   every duplicate 409 ``ballot_already_cast``, no 500.

Run from the repository root (needs PostgreSQL; uses database ``voting_bench``, whose public schema
it DROPS):  python -m bench.voting [--db postgresql://postgres@127.0.0.1:5432/voting_bench]
Results are written to docs/bench-voting.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_UNITS, N_BALLOTS, N_MATTERS = 10_000, 8_000, 5
N_VOTERS, N_DUPLICATES = 1_000, 500
CHOICES = ("agree", "agree", "agree", "oppose", "abstain")


def _reset(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _place_ladder(p: str):
    from civic.property import service as reg

    d = reg.create_place(kind="district", code=f"{p}D", name="区")
    s = reg.create_place(kind="street", code=f"{p}S", name="街道", parent=d)
    c = reg.create_place(kind="community", code=f"{p}C", name="社区", parent=s)
    return reg.create_place(kind="compound", code=f"{p}CP", name="基准小区", parent=c)


def _roster(compound, n_units: int, rnd: random.Random, *, users: list[int] | None = None):
    """Bulk-insert a certified roster: units, persons, owner ties.  Returns (roster, unit ids)."""
    from civic.core.db import utcnow
    from civic.extensions import db
    from civic.voting.models import Roster, RosterOwner, RosterPerson, RosterUnit

    roster = Roster(compound_id=compound.id, scope_place_id=compound.id, name="基准名册", status="certified",
                    certified_at=utcnow(), published_on=dt.date(2026, 12, 1))
    db.session.add(roster)
    db.session.flush()
    db.session.execute(sa.insert(RosterUnit), [
        {"roster_id": roster.id, "unit_code": f"U{i}", "building": f"{1 + i // 400}号楼",
         "area": Decimal(rnd.randint(3_000, 20_000)).scaleb(-2), "area_source": "registry",
         "developer_status": "unsold" if (users is None and i % 20 == 0) else None}
        for i in range(1, n_units + 1)])
    unit_ids = list(db.session.scalars(sa.select(RosterUnit.id).where(RosterUnit.roster_id == roster.id)
                                       .order_by(RosterUnit.id)))
    db.session.execute(sa.insert(RosterPerson), [
        {"roster_id": roster.id, "name": f"业主{i}", "phone": f"137{i:08d}",
         "user_id": users[i - 1] if users else None} for i in range(1, n_units + 1)]
        + ([] if users else [{"roster_id": roster.id, "name": f"共有人{i}", "phone": f"136{i:08d}"}
                             for i in range(1, n_units + 1, 7)]))
    persons = dict(db.session.execute(sa.select(RosterPerson.phone, RosterPerson.id)
                                      .where(RosterPerson.roster_id == roster.id)).all())
    ties = []
    for i, uid in enumerate(unit_ids, start=1):
        if users is None and i % 20 == 0:
            continue
        owner = i - 1 if (users is None and i % 10 == 0) else i  # every tenth owner holds two units
        ties.append({"roster_unit_id": uid, "person_id": persons[f"137{owner:08d}"], "role": "owner",
                     "representative": True})
        if users is None and i % 7 == 1:
            ties.append({"roster_unit_id": uid, "person_id": persons[f"136{i:08d}"], "role": "owner",
                         "representative": False})
    db.session.execute(sa.insert(RosterOwner), ties)
    if users:
        return roster, unit_ids
    dev = RosterPerson(roster_id=roster.id, kind="developer", name="开发建设单位")
    db.session.add(dev)
    db.session.flush()
    db.session.execute(sa.insert(RosterOwner), [
        {"roster_unit_id": uid, "person_id": dev.id, "role": "owner", "representative": True}
        for i, uid in enumerate(unit_ids, start=1) if i % 20 == 0])
    return roster, unit_ids


def _open_vote(roster, compound, n_matters: int):
    from civic.core.db import utcnow
    from civic.extensions import db
    from civic.voting.models import Matter, Vote
    from civic.voting.service import electorate

    vote = Vote(roster_id=roster.id, compound_id=compound.id, scope_place_id=compound.id, title="基准表决",
                state="open", announced_at=utcnow(), voting_opens_at=utcnow(), opened_at=utcnow())
    db.session.add(vote)
    db.session.flush()
    db.session.add_all([Matter(vote_id=vote.id, number=n, title=f"事项{n}", attachments=[])
                        for n in (1, 3, 4, 6, 8)[:n_matters]])
    electorate._freeze(vote)
    return vote


def bench_tally(app) -> dict:
    from civic.core.db import commit
    from civic.extensions import db
    from civic.voting import service
    from civic.voting.models import Ballot, Head, Matter, VoteUnit

    rnd = random.Random(278)
    with app.app_context():
        compound = _place_ladder("T")
        roster, _ = _roster(compound, N_UNITS, rnd)
        vote = _open_vote(roster, compound, N_MATTERS)
        matters = [str(m) for m in db.session.scalars(sa.select(Matter.id).where(Matter.vote_id == vote.id))]
        heads = db.session.execute(sa.select(Head.id, sa.func.min(VoteUnit.roster_unit_id))
                                   .join(VoteUnit, VoteUnit.head_id == Head.id)
                                   .where(Head.vote_id == vote.id).group_by(Head.id)).all()
        voters = rnd.sample(heads, min(N_BALLOTS, len(heads)))
        db.session.execute(sa.insert(Ballot), [
            {"vote_id": vote.id, "head_id": hid, "roster_unit_id": uid, "kind": "online",
             "choices": {m: rnd.choice(CHOICES) for m in matters}, "receipt_hash": secrets.token_hex(32)}
            for hid, uid in voters])
        commit()
        db.session.execute(sa.text("ANALYZE"))
        commit()
        vote_id, n_heads = vote.id, len(heads)

        baseline_sql = sa.text("""
            SELECT c.key,
                   count(*) AS heads, sum(h.area) AS area,
                   count(*) FILTER (WHERE c.value = 'agree') AS yes_heads,
                   coalesce(sum(h.area) FILTER (WHERE c.value = 'agree'), 0) AS yes_area,
                   (SELECT count(*) FROM voting_head WHERE vote_id = :v) AS total_heads,
                   (SELECT sum(area) FROM voting_head WHERE vote_id = :v) AS total_area
            FROM voting_ballot b
            JOIN voting_head h ON h.id = b.head_id
            CROSS JOIN LATERAL json_each_text(b.choices) AS c(key, value)
            WHERE b.vote_id = :v
            GROUP BY c.key ORDER BY c.key""")

        def run_baseline():
            return db.session.execute(baseline_sql, {"v": vote_id}).all()

        def run_civic_full():
            return service.run_tally(service.get_vote(vote_id))

        def run_results():
            return service.compute_results(service.get_vote(vote_id))

        def interleaved(fns, rounds=9):
            """Best time of each fn over ``rounds`` rounds that run every fn in turn, so that all of
            them meet the same machine load (the shared machine's load swings within seconds)."""
            outs = [fn() for fn in fns]  # warm
            times = [[] for _ in fns]
            for _ in range(rounds):
                for i, fn in enumerate(fns):
                    db.session.expire_all()
                    t0 = time.perf_counter()
                    outs[i] = fn()
                    times[i].append(time.perf_counter() - t0)
            return [(min(t), out) for t, out in zip(times, outs, strict=True)]

        (t_base, base_rows), (t_civic, (result, _, _)), (t_results, _) = interleaved(
            [run_baseline, run_civic_full, run_results])
        # the two agree on the sums
        by_key = {r.key: r for r in base_rows}
        for m in result.matters:
            r = by_key[m.matter_key]
            assert (r.heads, Decimal(r.area), r.yes_heads, Decimal(r.yes_area)) == (
                m.participating_heads, m.participating_area, m.agreeing_heads, m.agreeing_area), m.matter_key
        return {"units": N_UNITS, "heads": n_heads, "ballots": len(voters), "matters": N_MATTERS,
                "baseline_s": t_base, "civic_s": t_civic, "ratio": t_civic / t_base,
                "results_s": t_results, "results_ratio": t_results / t_base}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_concurrency(app, url: str) -> dict:
    from civic.accounts.models import ApiToken, User
    from civic.core.auth import hash_token
    from civic.core.db import commit, utcnow
    from civic.extensions import db
    from civic.voting.models import Ballot, Matter

    rnd = random.Random(18)
    with app.app_context():
        compound = _place_ladder("K")
        db.session.execute(sa.insert(User), [
            {"kind": "resident", "display_name": f"业主{i}", "phone": f"137{i:08d}"} for i in range(1, N_VOTERS + 1)])
        users = list(db.session.scalars(sa.select(User.id).where(User.kind == "resident").order_by(User.id)))
        tokens = [secrets.token_urlsafe(32) for _ in users]
        db.session.execute(sa.insert(ApiToken), [
            {"user_id": u, "token_hash": hash_token(t), "expires_at": utcnow() + dt.timedelta(days=1)}
            for u, t in zip(users, tokens, strict=True)])
        roster, _ = _roster(compound, N_VOTERS, rnd, users=users)
        vote = _open_vote(roster, compound, 2)
        matters = [str(m) for m in db.session.scalars(sa.select(Matter.id).where(Matter.vote_id == vote.id))]
        vote_id = vote.id
        commit()

    port = _free_port()
    env = {**os.environ, "CIVIC_DATABASE_URL": url, "CIVIC_RUN_SCHEDULER": "false"}
    env.pop("CIVIC_REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    try:
        for _ in range(150):
            try:  # 401 from a protected endpoint: a worker is up and answering
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/votes/{vote_id}", timeout=10)
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        requests = list(range(N_VOTERS)) + [rnd.randrange(N_VOTERS) for _ in range(N_DUPLICATES)]
        rnd.shuffle(requests)
        body = json.dumps({"choices": {m: "agree" for m in matters}}).encode()

        def post(i):
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/votes/{vote_id}/ballot", data=body,
                                         method="POST", headers={"Content-Type": "application/json",
                                                                 "Authorization": f"Bearer {tokens[i]}"})
            try:
                with urllib.request.urlopen(req, timeout=120) as resp:
                    return resp.status, None
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read()).get("error", {}).get("code")

        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(32) as pool:
            out = list(pool.map(post, requests))
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    statuses: dict = {}
    for st, code in out:
        statuses[f"{st} {code or ''}".strip()] = statuses.get(f"{st} {code or ''}".strip(), 0) + 1
    with app.app_context():
        stored, distinct = db.session.execute(
            sa.select(sa.func.count(Ballot.id), sa.func.count(sa.distinct(Ballot.head_id)))
            .where(Ballot.vote_id == vote_id)).one()
    return {"requests": len(requests), "statuses": statuses, "stored": stored, "distinct_heads": distinct,
            "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/voting_bench")
    parser.add_argument("--tally-only", action="store_true", help="skip the concurrency part")
    args = parser.parse_args()
    _reset(args.db)
    from civic import create_app

    app = create_app({"DATABASE_URL": args.db, "TESTING": True, "REDIS_URL": None})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    t = bench_tally(app)
    print(f"tally: units={t['units']} heads={t['heads']} ballots={t['ballots']} matters={t['matters']}")
    print(f"  one SQL aggregate: {t['baseline_s'] * 1000:.1f} ms; civic run_tally: {t['civic_s'] * 1000:.1f} ms; "
          f"ratio {t['ratio']:.2f} (results with per-building breakdown: ratio {t['results_ratio']:.2f})")
    if args.tally_only:
        return
    c = bench_concurrency(app, args.db)
    print(f"concurrency: {c['requests']} requests in {c['seconds']:.1f} s: {c['statuses']}; "
          f"stored {c['stored']} ballots for {c['distinct_heads']} heads")
    ok = c["stored"] == c["distinct_heads"] == N_VOTERS and not any(k.startswith("500") for k in c["statuses"])
    print("one ballot per head, no 500:", ok)


if __name__ == "__main__":
    main()
