"""Two staff acting on one case at once (issue 3 point 4): one wins, the other gets a 409 in the
envelope (never a 500), and nothing is lost."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from civic.complaints import service
from civic.complaints.models import Complaint
from civic.core.errors import Conflict
from civic.extensions import db
from tests.complaints.helpers import act, audit_entries, post_case


def test_a_row_changed_underneath_the_request_is_a_409_envelope(client, w):
    cid = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    c = db.session.get(Complaint, cid)  # the request's session holds version v ...
    v = c.version
    with db.engine.begin() as conn:  # ... while another writer moves the row on
        conn.execute(sa.update(Complaint.__table__).where(Complaint.__table__.c.id == cid)
                     .values(version=v + 1))
    r = act(client, w.h["police"], cid, "acknowledge")  # no version in the body: the lock catches it
    assert r.status_code == 409, r.get_json()
    assert r.get_json()["error"]["code"] == "case_changed"
    db.session.expire_all()
    assert db.session.get(Complaint, cid).status == "routed"
    assert audit_entries(cid, "complaint.acknowledge") == []


@pytest.mark.postgres
def test_two_handlers_at_once_one_wins_one_gets_409(app, client, factory, w):
    cid = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    second = factory.staff(w.orgs["police"], username="police-2")
    users = [w.staff["police"].id, second.id]
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def handler(i):
        from civic.accounts.models import User
        from civic.core.db import commit

        with app.app_context():
            try:
                db.session.get(Complaint, cid)  # both read version 1 ...
                barrier.wait(timeout=10)
                service.transition(db.session.get(User, users[i]), cid, "acknowledge", note=f"签收{i}")
                commit()
                results[i] = "ok"
            except Conflict as exc:
                results[i] = exc.code
            except sa.orm.exc.StaleDataError:
                results[i] = "stale"
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [threading.Thread(target=handler, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values()) == ["ok", "stale"]
    db.session.expire_all()
    assert db.session.get(Complaint, cid).status == "acknowledged"
    acks = audit_entries(cid, "complaint.acknowledge")
    assert len(acks) == 1 and acks[0].note == f"签收{[k for k, v in results.items() if v == 'ok'][0]}"
    # Nothing is lost: the loser refreshes and continues from the winner's state.
    assert act(client, w.h["police"], cid, "start").status_code == 200


@pytest.mark.postgres
def test_two_requests_at_once_never_give_a_500(app, factory, w):
    cid = None
    with app.test_client() as c0:
        cid = post_case(c0, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    second = factory.staff(w.orgs["police"], username="police-3")
    headers = [w.h["police"], factory.token(second)]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def go(h):
        client = app.test_client()
        barrier.wait(timeout=10)
        statuses.append(act(client, h, cid, "acknowledge").status_code)

    threads = [threading.Thread(target=go, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200, 409]
