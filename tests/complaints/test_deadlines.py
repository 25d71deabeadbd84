"""Deadlines in Chinese working time (issue 3 point 5): provisional across an unpublished year,
recomputed when the notice is loaded; the 00:30 Beijing escalation job."""

from __future__ import annotations

import datetime as dt

from civic.complaints.models import Complaint
from civic.core.db import SHANGHAI, to_shanghai
from civic.core.jobs import tick
from civic.extensions import db
from tests.complaints.helpers import audit_entries, file_case
from tests.jobs import drain

NOTICE_2027 = {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03", "2027-02-05", "2027-02-06", "2027-02-07",
                            "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12",
                            # the rest of the year's statutory days (a notice must list them all)
                            "2027-04-05", "2027-05-01", "2027-05-02", "2027-06-09", "2027-09-15",
                            "2027-10-01", "2027-10-02", "2027-10-03"],
               "workdays": ["2027-02-20"], "source": "国办发明电〔2026〕X号（测试）"}


def sh(*args):
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_a_case_filed_on_new_years_eve_has_provisional_deadlines(w):
    c = file_case(w, "noise", now=sh(2026, 12, 31, 10, 0))  # 1 working day to acknowledge
    # 2027 not yet published: 1 January is a holiday by law, the weekend is off, no 调休 guessed.
    assert to_shanghai(c.acknowledge_due) == sh(2027, 1, 4, 23, 59, 59)
    assert c.deadlines_provisional is True


def test_loading_the_2027_notice_recomputes_provisional_deadlines(client, factory, w):
    c = file_case(w, "noise", now=sh(2026, 12, 31, 10, 0))
    settled = file_case(w, "green_damage", now=sh(2026, 12, 31, 10, 0))  # 24 h + 10 working days
    spring = file_case(w, "other", now=sh(2027, 2, 1, 10, 0))  # 10 working days across the Spring Festival
    assert to_shanghai(spring.resolve_due) == sh(2027, 2, 17, 23, 59, 59)  # only the statutory days off
    admin = factory.token(factory.admin())
    r = client.put("/api/v1/calendar/notices/2027", headers=admin, json=NOTICE_2027)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["recomputed"] == 3
    db.session.expire_all()
    c = db.session.get(Complaint, c.id)
    assert to_shanghai(c.acknowledge_due) == sh(2027, 1, 4, 23, 59, 59)  # 1-3 January are holidays
    assert to_shanghai(c.resolve_due) == sh(2027, 1, 8, 23, 59, 59)  # 5 working days: 4-8 January
    assert c.deadlines_provisional is False
    entry = audit_entries(c.id, "complaint.deadlines_recomputed")[0]
    assert entry.data["year"] == 2027 and entry.actor_id is None
    spring = db.session.get(Complaint, spring.id)
    assert to_shanghai(spring.resolve_due) == sh(2027, 2, 22, 23, 59, 59)  # 9 days off, 20 February worked
    assert spring.deadlines_provisional is False
    s = db.session.get(Complaint, settled.id)
    assert to_shanghai(s.acknowledge_due) == sh(2027, 1, 1, 10, 0)  # clock hours ignore holidays
    assert to_shanghai(s.resolve_due) == sh(2027, 1, 15, 23, 59, 59)
    view = client.get(f"/api/v1/complaints/{c.id}", headers=w.h["police"]).get_json()
    assert view["acknowledge_due"] == "2027-01-04T23:59:59+08:00" and view["deadlines_provisional"] is False


def test_only_an_administrator_loads_a_notice(client, w):
    r = client.put("/api/v1/calendar/notices/2027", headers=w.h["street_centre"], json=NOTICE_2027)
    assert r.status_code == 403


def test_an_invalid_notice_is_refused(client, factory):
    admin = factory.token(factory.admin())
    r = client.put("/api/v1/calendar/notices/2027", headers=admin, json={"holidays": ["2028-01-01"]})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "holiday_notice_invalid"


def test_a_friday_case_counts_from_monday(w):
    c = file_case(w, "waste_sorting", now=sh(2026, 6, 5, 17, 0))  # Friday
    assert to_shanghai(c.acknowledge_due) == sh(2026, 6, 8, 23, 59, 59)
    assert c.deadlines_provisional is False


def test_urgent_illegal_construction_is_acknowledged_within_2_hours(client, w):
    from tests.complaints.helpers import post_case

    r = post_case(client, w.rh, category="illegal_construction", place_id=w.units[0].id, urgent="true")
    case = r.get_json()
    created = dt.datetime.fromisoformat(case["created_at"])
    assert dt.datetime.fromisoformat(case["acknowledge_due"]) - created == dt.timedelta(hours=2)


def overdue_case(w):
    # Monday 30 November 10:00: acknowledge by Tuesday 1 December 23:59:59 Beijing (15:59:59Z).
    return file_case(w, "noise", now=sh(2026, 11, 30, 10, 0))


def test_escalation_does_not_run_before_0030_beijing(w):
    c = overdue_case(w)
    assert "complaints.escalate_overdue" not in tick(dt.datetime(2026, 12, 1, 16, 29, 59, tzinfo=dt.UTC))
    drain()
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).overdue is False


def test_escalation_runs_at_0030_beijing_and_reaches_the_street_centre(client, w):
    c = overdue_case(w)
    assert "complaints.escalate_overdue" in tick(dt.datetime(2026, 12, 1, 16, 30, 0, tzinfo=dt.UTC))
    drain()
    db.session.expire_all()
    c = db.session.get(Complaint, c.id)
    assert c.overdue is True and c.escalated_at == dt.datetime(2026, 12, 1, 16, 30, tzinfo=dt.UTC)
    q = client.get("/api/v1/queue", headers=w.h["street_centre"], query_string={"overdue": "true"}).get_json()
    assert [(x["id"], x["overdue"]) for x in q["items"]] == [(c.id, True)]
    assert [p.role for p in c.parties if p.organisation_id == w.orgs["street_centre"].id] == ["oversight"]
    police_q = client.get("/api/v1/queue", headers=w.h["police"], query_string={"overdue": "true"}).get_json()
    assert [x["id"] for x in police_q["items"]] == [c.id]
    assert [e.action for e in audit_entries(c.id) if e.action in ("complaint.overdue", "complaint.escalate")] == [
        "complaint.overdue", "complaint.escalate"]
    # The slot runs once: a second tick the same night does nothing.
    assert "complaints.escalate_overdue" not in tick(dt.datetime(2026, 12, 1, 16, 40, tzinfo=dt.UTC))


def test_a_case_acknowledged_in_time_is_not_escalated(client, w):
    c = overdue_case(w)
    from civic.complaints.service import transition
    from civic.core.db import commit

    transition(w.staff["police"], c.id, "acknowledge", now=sh(2026, 12, 1, 9, 0))
    commit()
    tick(dt.datetime(2026, 12, 1, 16, 30, tzinfo=dt.UTC))
    drain()
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).overdue is False
