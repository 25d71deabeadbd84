"""Issue #16 point 3: photo GPS is used only with consent, and the consent can be withdrawn (PIPL
Arts. 15, 28-29); the retention job removes it 90 days after a case closes (docs/privacy.md)."""

from __future__ import annotations

import datetime as dt

from civic.complaints.models import Complaint
from civic.core.db import commit, utcnow
from civic.extensions import db
from tests.complaints.helpers import CENTRE, jpeg, post_case


def _gps_case(client, w):
    r = post_case(client, w.rh, photos=[("here.jpg", jpeg(gps=CENTRE))], gps_consent="true")
    assert r.status_code == 201, r.get_json()
    row = db.session.get(Complaint, r.get_json()["id"])
    assert row.location_source == "photo_gps" and row.lat is not None
    return row.id


def test_withdrawing_consent_removes_photo_gps_from_every_case(client, w):
    ids = [_gps_case(client, w), _gps_case(client, w)]
    place = db.session.get(Complaint, ids[0]).place_id
    r = client.delete("/api/v1/my/complaints/gps-consent", headers=w.rh)
    assert (r.status_code, r.get_json()) == (200, {"cases": 2})
    db.session.expire_all()
    rows = [db.session.get(Complaint, i) for i in ids]
    assert {(c.lat, c.lng, c.location_source, c.gps_consent) for c in rows} == {(None, None, "place", False)}
    assert rows[0].place_id == place  # the registry place it was routed to stays
    # Nothing more to withdraw: answered, nothing changed.
    assert client.delete("/api/v1/my/complaints/gps-consent", headers=w.rh).get_json() == {"cases": 0}


def test_withdrawal_is_for_residents(client, w):
    assert client.delete("/api/v1/my/complaints/gps-consent", headers=w.h["property_company"]).status_code == 403


def test_the_retention_job_removes_photo_gps_90_days_after_closing(client, w):
    from civic.core import retention

    cid = _gps_case(client, w)
    c = db.session.get(Complaint, cid)
    c.closed_at = utcnow() - dt.timedelta(days=89)  # the case's state does not matter to the rule
    commit()
    retention.enforce_retention(now=utcnow())
    commit()
    assert db.session.get(Complaint, cid).lat is not None
    done = retention.enforce_retention(now=utcnow() + dt.timedelta(days=2))
    commit()
    db.session.expire_all()
    c = db.session.get(Complaint, cid)
    assert done["complaint.photo_gps"] == 1 and (c.lat, c.lng, c.location_source) == (None, None, "place")


def test_the_retention_job_is_a_daily_periodic_job(app):
    from civic.core.jobs import PERIODIC

    assert PERIODIC["retention"].func == "civic.core.retention.enforce_retention"
    assert (PERIODIC["retention"].hour, PERIODIC["retention"].minute) == (3, 40)
