"""The street centre's figures read from the read replica when CIVIC_DATABASE_READ_URL is set (here:
a second app whose replica bind is the test database itself, so both binds see the same rows)."""

from __future__ import annotations

import sqlalchemy as sa

from civic import create_app
from civic.accounts.models import User
from civic.core.db import utcnow
from civic.extensions import db
from tests.complaints.helpers import World, file_case
from tests.jobs import drain


def test_street_figures_aggregate_on_the_replica_and_agree(app, factory):
    from civic.complaints.stats import street_figures

    w = World(factory)
    for _ in range(3):
        file_case(w, now=utcnow())
    centre_id = w.staff["street_centre"].id
    drain()  # the counts are the recount jobs' work (RQ on the PostgreSQL run)
    expected = street_figures(w.staff["street_centre"])  # no replica: the primary
    assert expected["total"].total == 3

    url = app.config["DATABASE_URL"]
    reporting = create_app({"TESTING": True, "DATABASE_URL": url, "DATABASE_READ_URL": url,
                            "MEDIA_DIR": app.config["MEDIA_DIR"], "SECRET_KEY": "test-secret"})
    with reporting.app_context():
        seen = {"primary": [], "replica": []}
        listeners = [(db.engine, lambda *a: seen["primary"].append(a[2])),
                     (db.engines["replica"], lambda *a: seen["replica"].append(a[2]))]
        for engine, fn in listeners:
            sa.event.listen(engine, "before_cursor_execute", fn)
        try:
            figures = street_figures(db.session.get(User, centre_id))
        finally:
            for engine, fn in listeners:
                sa.event.remove(engine, "before_cursor_execute", fn)
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    assert figures["total"].total == 3 and figures["total"].by_status == expected["total"].by_status
    assert [(r.name, r.total) for r in figures["rows"]] == [(r.name, r.total) for r in expected["rows"]]
    on_replica = [s for s in seen["replica"] if "FROM complaint" in s]
    assert len(on_replica) == 2  # the counts per status and the times behind the medians
    assert not [s for s in seen["primary"] if "FROM complaint" in s]
