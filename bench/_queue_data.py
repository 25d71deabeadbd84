"""A demo street on a fresh PostgreSQL database with N cases for one property company, built in SQL
in seconds (shared by bench/complaints_queue.py and bench/console_queue.py)."""

from __future__ import annotations

import os
import time

import sqlalchemy as sa


def fresh_database(url: str) -> None:
    """Drop and create the database ``url`` names (on the same server)."""
    admin = sa.create_engine(url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                             isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def demo_app(url: str, *, demo_cases: bool = False):
    """Drop and create the database ``url``, migrate it to the newest revision and load the demo
    street (its staff, the demo password; with ``demo_cases`` its cases too).  Returns the app
    (``RATELIMIT_ENABLED`` off); the caller uses ``app.app_context()``.  Shared by the queue benches
    and the city (bench/_city_data.py)."""
    fresh_database(url)
    os.environ["CIVIC_DATABASE_URL"] = url
    from flask_migrate import upgrade

    from civic import create_app, init_migrations
    from civic.core.db import commit
    from civic.demo import load_demo

    app = create_app({"RATELIMIT_ENABLED": False})
    init_migrations(app)
    with app.app_context():
        upgrade()
        load_demo(cases=demo_cases)
        commit()
    return app


def bearer(user_id: int) -> dict[str, str]:
    """An ``Authorization`` header for the user ``user_id`` (a fresh token, committed); inside an
    app context."""
    from civic.accounts.identity import issue_token
    from civic.accounts.models import User
    from civic.core.db import commit
    from civic.extensions import db

    token = issue_token(db.session.get(User, user_id))[0]
    commit()
    return {"Authorization": f"Bearer {token}"}


def app_with_cases(url: str, n: int, *, demo_cases: bool = False):
    """Migrate ``url``, load the demo street, add ``n`` cases (every status, 1 in 50 overdue) led by
    世茂物业滨江项目部 with 滨江社区居委会 assisting.  Returns ``(app, property_company_id)``; the
    caller uses ``app.app_context()``."""
    from civic.core.db import commit
    from civic.extensions import db

    app = demo_app(url, demo_cases=demo_cases)
    with app.app_context():
        q = lambda sql: db.session.execute(sa.text(sql)).scalar()  # noqa: E731
        pc, rc = q("SELECT id FROM organisation WHERE code='O-PC-SM'"), q("SELECT id FROM organisation WHERE code='O-RC-BJ'")
        resident = q("SELECT id FROM user_account WHERE wechat_openid='dev-zhang_san'")
        offset = q("SELECT coalesce(max(id), 0) FROM complaint")
        unit = db.session.execute(sa.text("SELECT id, path FROM place WHERE code='C-BJHY-1-101'")).one()
        ladder = [int(x) for x in unit.path.strip("/").split("/")]
        t0 = time.perf_counter()
        db.session.execute(sa.text("""
            INSERT INTO complaint (id, category, description, status, complainant_id, place_id, building_id,
                compound_id, community_id, street_id, district_id, location_source, gps_consent, urgent,
                lead_organisation_id, lead_fallback, deadlines_provisional, overdue, reopen_count, version,
                created_at, updated_at, acknowledge_due, resolve_due)
            SELECT g + :off, (ARRAY['green_damage','public_space_occupation','ebike_charging','waste_sorting'])[1 + g % 4],
                   '楼道堆物，影响消防通道，请物业处理。案件编号 ' || g,
                   (ARRAY['routed','acknowledged','in_progress','resolved','closed','closed','closed','closed'])[1 + g % 8],
                   :resident, :unit, :building, :compound, :community, :street, :district, 'place', false, false,
                   :pc, false, false, (g % 50 = 0), 0, 1,
                   now() - make_interval(secs => (:n - g) * 30), now(), now(), now() + interval '5 days'
            FROM generate_series(1, :n) g"""),
            {"n": n, "off": offset, "resident": resident, "unit": unit.id, "building": ladder[4],
             "compound": ladder[3], "community": ladder[2], "street": ladder[1], "district": ladder[0], "pc": pc})
        db.session.execute(sa.text("""
            INSERT INTO complaint_party (complaint_id, organisation_id, role, may_see_complainant, active, status, overdue)
            SELECT id, :pc, 'lead', false, true, status, overdue FROM complaint WHERE id > :off
            UNION ALL
            SELECT id, :rc, 'assist', true, true, status, overdue FROM complaint WHERE id > :off"""),
            {"pc": pc, "rc": rc, "off": offset})
        db.session.execute(sa.text("SELECT setval('complaint_id_seq', :m)"), {"m": n + offset})
        commit()
        db.session.execute(sa.text("ANALYZE"))
        commit()
        print(f"built {n:,} cases in {time.perf_counter() - t0:.1f} s")
    return app, pc
