"""A Shanghai-sized city on PostgreSQL for the scale benches (issue 21 point 2): the registry's
ladder (16 districts, 215 streets, 6,000 communities, 13,000 compounds, 299,000 buildings), the
organisations that serve it (a street centre per street, a residents' committee per community, a
property company per 5 compounds), two staff members each, 500,000 residents, and ``N`` cases spread
over ten years (the 12345 hotline's order of volume: about a million a year).

    .venv/bin/python bench/_city_data.py --cases 10000000 [--db postgresql://postgres@127.0.0.1:5432/civic_scale]

**Direct inserts, not the real code paths.**  Intake of one case with a photo costs ~0.2 s of a core
(docs/bench-complaints.md): ten million cases through it would take weeks on this machine.  So the
rows are written by ``INSERT ... SELECT FROM generate_series`` inside PostgreSQL (a generator on the
server side: the same effect as COPY from a client generator without shipping 40 million rows through
Python), one year per statement, with foreign-key triggers off (``session_replication_role =
replica``) and the secondary indexes of the three big tables dropped during the load and built after
it.  The registry is written the same way; the registry generator of branch i21-spatial (boundaries
for locate) can replace the ladder part.  The demo street (``civic.demo``) is loaded first so its staff
and password exist; every generated staff member has the demo password ``civic-demo-2026``.

Ids are arithmetic so a bench can name any organisation or case without a query: see ``CITY``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The shape of the city (issue 21 point 2; Shanghai: 16 districts, ~215 streets and towns, ~6,000
# residents' committees, ~13,000 residential compounds).
CITY = {"districts": 16, "streets": 215, "communities": 6000, "compounds": 13000, "buildings_per_compound": 23,
        "compounds_per_pc": 5, "residents": 500_000, "years": 10}
BASE = 1_000_000  # generated place / organisation / user ids start above the demo's


def place_id(kind: str, i: int) -> int:
    """The id of the i-th generated place of a kind (0-based)."""
    return BASE + {"district": 0, "street": 100, "community": 1_000, "compound": 10_000, "building": 100_000}[kind] + i


def org_id(kind: str, i: int) -> int:
    """The id of the i-th generated organisation of a kind: street_centre, residents_committee, property_company."""
    return BASE + {"street_centre": 0, "residents_committee": 1_000, "property_company": 10_000}[kind] + i


def resident_id(i: int) -> int:
    return BASE + 100_000 + i


def staff_id(kind: str, i: int, j: int) -> int:
    """The user id of staff member j (0 handler, 1 admin) of the i-th organisation of a kind; username
    ``x-<kind>-<i>-<j>``."""
    return BASE + 700_000 + (org_id(kind, 0) - BASE) * 2 + i * 2 + j


BIG_TABLE_INDEXES = ("complaint", "complaint_party", "complaint_reporter")


def _secondary_indexes(c, tables) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the non-unique, non-primary-key indexes on ``tables``."""
    return [tuple(r) for r in c.execute(sa.text(
        "SELECT i.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
        "JOIN pg_class t ON t.oid = ix.indrelid WHERE t.relname = ANY(:t) AND NOT ix.indisprimary "
        "AND NOT ix.indisunique"), {"t": list(tables)})]


def build(url: str, n_cases: int) -> None:
    from bench._queue_data import demo_app
    from civic.extensions import db

    app = demo_app(url)
    with app.app_context():
        eng = db.engine
    t_all = time.perf_counter()
    with eng.begin() as c:
        x = lambda sql, **kw: c.execute(sa.text(sql), kw)  # noqa: E731
        x("SET session_replication_role = replica")  # no FK triggers during the load
        pw = x("SELECT password_hash FROM user_account WHERE username='pc_sm_he'").scalar()
        C = CITY
        t = time.perf_counter()
        # The ladder.  path = /district/street/community/compound/building/ (ids), as property.service writes it.
        x(f"""INSERT INTO place (id, kind, code, name, parent_id, path, created_at, updated_at)
              SELECT {place_id('district', 0)} + d, 'district', 'X-D' || d, '示范' || d || '区', NULL,
                     '/' || ({place_id('district', 0)} + d) || '/', now(), now() FROM generate_series(0, {C['districts'] - 1}) d""")
        x(f"""INSERT INTO place (id, kind, code, name, parent_id, path, created_at, updated_at)
              SELECT {place_id('street', 0)} + s, 'street', 'X-S' || s, '示范' || s || '街道', p.id,
                     p.path || ({place_id('street', 0)} + s) || '/', now(), now()
              FROM generate_series(0, {C['streets'] - 1}) s
              JOIN place p ON p.id = {place_id('district', 0)} + s * {C['districts']} / {C['streets']}""")
        x(f"""INSERT INTO place (id, kind, code, name, parent_id, path, created_at, updated_at)
              SELECT {place_id('community', 0)} + m, 'community', 'X-C' || m, '示范' || m || '居委', p.id,
                     p.path || ({place_id('community', 0)} + m) || '/', now(), now()
              FROM generate_series(0, {C['communities'] - 1}) m
              JOIN place p ON p.id = {place_id('street', 0)} + m * {C['streets']} / {C['communities']}""")
        x(f"""INSERT INTO place (id, kind, code, name, parent_id, path, created_at, updated_at)
              SELECT {place_id('compound', 0)} + k, 'compound', 'X-K' || k, '示范' || k || '小区', p.id,
                     p.path || ({place_id('compound', 0)} + k) || '/', now(), now()
              FROM generate_series(0, {C['compounds'] - 1}) k
              JOIN place p ON p.id = {place_id('community', 0)} + k * {C['communities']} / {C['compounds']}""")
        bpc = C["buildings_per_compound"]
        x(f"""INSERT INTO place (id, kind, code, name, parent_id, path, created_at, updated_at)
              SELECT {place_id('building', 0)} + b, 'building', 'X-B' || b, (b % {bpc} + 1) || '号楼', p.id,
                     p.path || ({place_id('building', 0)} + b) || '/', now(), now()
              FROM generate_series(0, {C['compounds'] * bpc - 1}) b
              JOIN place p ON p.id = {place_id('compound', 0)} + b / {bpc}""")
        print(f"registry: {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        n_pc = C["compounds"] // C["compounds_per_pc"]
        for kind, count, name, place_kind, per in [
                ("street_centre", C["streets"], "街道网格化综合管理中心", "street", 1),
                ("residents_committee", C["communities"], "居民委员会", "community", 1),
                ("property_company", n_pc, "物业项目部", "compound", C["compounds_per_pc"])]:
            x(f"""INSERT INTO organisation (id, kind, code, name, created_at, updated_at)
                  SELECT {org_id(kind, 0)} + i, '{kind}', 'X-{kind}-' || i, '示范' || i || '{name}', now(), now()
                  FROM generate_series(0, {count - 1}) i""")
            x(f"""INSERT INTO organisation_coverage (organisation_id, place_id)
                  SELECT {org_id(kind, 0)} + i / {per}, {place_id(place_kind, 0)} + i
                  FROM generate_series(0, {count * per - 1}) i""")
            # Two staff members per organisation (handler + admin), the demo password.
            x(f"""INSERT INTO user_account (id, kind, display_name, username, password_hash, active,
                      must_change_password, created_at, updated_at)
                  SELECT {staff_id(kind, 0, 0)} + i * 2 + j, 'staff', '工作人员' || i || '-' || j,
                         'x-{kind}-' || i || '-' || j, :pw, true, false, now(), now()
                  FROM generate_series(0, {count - 1}) i, generate_series(0, 1) j""", pw=pw)
            x(f"""INSERT INTO membership (user_id, organisation_id, role)
                  SELECT {staff_id(kind, 0, 0)} + i * 2 + j, {org_id(kind, 0)} + i,
                         CASE j WHEN 0 THEN 'handler' ELSE 'admin' END
                  FROM generate_series(0, {count - 1}) i, generate_series(0, 1) j""")
        x(f"""INSERT INTO user_account (id, kind, display_name, wechat_openid, active, must_change_password,
                  created_at, updated_at)
              SELECT {resident_id(0)} + r, 'resident', '居民' || r, 'x-resident-' || r, true, false, now(), now()
              FROM generate_series(0, {C['residents'] - 1}) r""")
        print(f"organisations, staff, residents: {time.perf_counter() - t:.1f} s", flush=True)
        indexes = _secondary_indexes(c, BIG_TABLE_INDEXES)
        for name, _ in indexes:
            x(f'DROP INDEX "{name}"')
    _cases(eng, n_cases)
    with eng.begin() as c:
        t = time.perf_counter()
        for _name, ddl in indexes:
            c.execute(sa.text(ddl))
        for seq, table in [("complaint_id_seq", "complaint"), ("complaint_party_id_seq", "complaint_party"),
                           ("complaint_reporter_id_seq", "complaint_reporter"), ("place_id_seq", "place"),
                           ("organisation_id_seq", "organisation"), ("user_account_id_seq", "user_account")]:
            c.execute(sa.text(f"SELECT setval('{seq}', (SELECT max(id) FROM {table}))"))
        print(f"indexes: {time.perf_counter() - t:.1f} s", flush=True)
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        t = time.perf_counter()
        c.execute(sa.text("VACUUM ANALYZE"))
        print(f"vacuum analyze: {time.perf_counter() - t:.1f} s", flush=True)
    print(f"city with {n_cases:,} cases built in {time.perf_counter() - t_all:.0f} s", flush=True)


def _cases(eng, n: int) -> None:
    """``n`` cases over ten years, one year per statement; ids in time order.  Case g sits in compound
    (g·7919 mod 13,000), led by that compound's property company with its residents' committee
    assisting; filed by resident (g·104,729 mod 500,000).  Older than 60 days: closed 93 %, resolved 5 %,
    merged 2 %, 3 % overdue on the way, 60 % rated; newer: every open status, 1 in 50 overdue."""
    C = CITY
    bpc, ncomp = C["buildings_per_compound"], C["compounds"]
    secs = C["years"] * 365 * 86400 / n  # seconds between two cases
    per_year = -(-n // C["years"])
    for y in range(C["years"]):
        lo, hi = y * per_year + 1, min(n, (y + 1) * per_year)
        if lo > hi:
            break
        t = time.perf_counter()
        with eng.begin() as c:
            x = lambda sql, **kw: c.execute(sa.text(sql), kw)  # noqa: E731
            x("SET session_replication_role = replica")
            x(f"""
            INSERT INTO complaint (id, category, description, status, complainant_id, place_id, building_id,
                compound_id, community_id, street_id, district_id, location_source, gps_consent, urgent,
                lead_organisation_id, lead_fallback, deadlines_provisional, overdue, reopen_count, version,
                created_at, updated_at, routed_at, acknowledged_at, resolved_at, closed_at, rating,
                acknowledge_due, resolve_due)
            SELECT g, cat, '楼道堆物，影响消防通道，请物业处理。案件编号 ' || g, st,
                   {resident_id(0)} + (g::bigint * 104729) % {C['residents']},
                   {place_id('building', 0)} + k * {bpc} + g % {bpc}, {place_id('building', 0)} + k * {bpc} + g % {bpc},
                   {place_id('compound', 0)} + k, {place_id('community', 0)} + m, {place_id('street', 0)} + s,
                   {place_id('district', 0)} + s * {C['districts']} / {C['streets']},
                   'place', false, g % 97 = 0, {org_id('property_company', 0)} + k / {C['compounds_per_pc']},
                   false, false, ov, 0, 1, ts, ts, ts,
                   CASE WHEN st IN ('submitted', 'routed') THEN NULL ELSE ts + make_interval(hours => g % 47 + 1) END,
                   CASE WHEN st IN ('resolved', 'closed') THEN ts + make_interval(hours => g % 239 + 24) END,
                   CASE WHEN st = 'closed' THEN ts + make_interval(hours => g % 239 + 96) END,
                   CASE WHEN st = 'closed' AND g % 5 < 3 THEN (g / 7) % 5 + 1 END,
                   ts + interval '1 day', ts + interval '5 days'
            FROM (SELECT g, k, k * {C['communities']} / {ncomp} AS m,
                         (k * {C['communities']} / {ncomp}) * {C['streets']} / {C['communities']} AS s,
                         (ARRAY['green_damage','public_space_occupation','ebike_charging','waste_sorting'])[1 + g % 4] AS cat,
                         ts, CASE WHEN ts < now() - interval '60 days' THEN
                                (CASE WHEN g % 100 < 93 THEN 'closed' WHEN g % 100 < 98 THEN 'resolved' ELSE 'merged' END)
                              ELSE (ARRAY['submitted','routed','acknowledged','in_progress','resolved','closed','returned','reopened'])[1 + g % 8]
                              END AS st,
                         CASE WHEN ts < now() - interval '60 days' THEN g % 33 = 0 ELSE g % 50 = 0 END AS ov
                  FROM (SELECT g, (g::bigint * 7919) % {ncomp} AS k,
                               now() - make_interval(secs => ({n} - g) * {secs}) AS ts
                        FROM generate_series({lo}, {hi}) g) a) b""")
            x(f"""INSERT INTO complaint_party (complaint_id, organisation_id, role, may_see_complainant, active, status, overdue)
                  SELECT id, lead_organisation_id, 'lead', false, true, status, overdue FROM complaint WHERE id BETWEEN {lo} AND {hi}
                  UNION ALL
                  SELECT id, {org_id('residents_committee', 0)} + community_id - {place_id('community', 0)}, 'assist', true, true,
                         status, overdue FROM complaint WHERE id BETWEEN {lo} AND {hi}""")
            x(f"""INSERT INTO complaint_reporter (complaint_id, user_id, via_complaint_id)
                  SELECT id, complainant_id, id FROM complaint WHERE id BETWEEN {lo} AND {hi}""")
        print(f"year {y + 1}: cases {lo:,}..{hi:,} in {time.perf_counter() - t:.1f} s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000_000)
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/civic_scale")
    a = ap.parse_args()
    build(a.db, a.cases)


if __name__ == "__main__":
    main()
