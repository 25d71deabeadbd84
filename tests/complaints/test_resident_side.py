"""The resident's side (issue 3 point 6): my cases, progress, rating within 7 days, one reopening
on an unsatisfied rating, and closing after 7 days when nobody rates."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from civic.complaints import service
from civic.complaints.models import Complaint
from civic.core.db import commit, utcnow
from civic.core.jobs import DeferredJob, tick
from civic.extensions import db
from tests.complaints.helpers import SHANGHAI_MIDNIGHT_SLOT, act, audit_entries, post_case
from tests.jobs import drain


def resolved_case(client, w, category="noise"):
    cid = post_case(client, w.rh, category=category, place_id=w.units[0].id).get_json()["id"]
    act(client, w.h["police"], cid, "acknowledge")
    assert act(client, w.h["police"], cid, "resolve", note="已劝导").status_code == 200
    return cid


def rate(client, w, cid, rating, comment=None):
    return client.post(f"/api/v1/complaints/{cid}/rating", headers=w.rh,
                       json={"rating": rating, **({"comment": comment} if comment else {})})


def test_my_complaints_lists_only_mine_newest_first(client, w):
    a = post_case(client, w.rh, place_id=w.units[0].id).get_json()["id"]
    b = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    _, other = w.other_resident()
    post_case(client, other, place_id=w.units[1].id)
    items = client.get("/api/v1/my/complaints", headers=w.rh).get_json()["items"]
    assert [(c["id"], c["status"]) for c in items] == [(b, "routed"), (a, "routed")]


def test_progress_shows_parties_not_people(client, w):
    cid = resolved_case(client, w)
    hist = client.get(f"/api/v1/complaints/{cid}/history", headers=w.rh).get_json()
    assert [(h["action"], h["actor"]) for h in hist] == [
        ("submit", "您"), ("route", "系统"), ("acknowledge", "测试派出所"), ("resolve", "测试派出所")]
    assert hist[-1]["note"] == "已劝导" and hist[-1]["at"].endswith("+08:00")


def test_a_satisfied_rating_closes_the_case(client, w):
    cid = resolved_case(client, w)
    r = rate(client, w, cid, 4, "处理及时")
    assert r.status_code == 200
    assert (r.get_json()["status"], r.get_json()["rating"], r.get_json()["rating_comment"]) == ("closed", 4, "处理及时")
    assert audit_entries(cid, "complaint.rated")[0].data == {"rating": 4}


@pytest.mark.parametrize("bad", [0, 6, 4.5, "5", True, None])
def test_a_rating_outside_1_to_5_is_refused(client, w, bad):
    cid = resolved_case(client, w)
    assert rate(client, w, cid, bad).status_code == 422
    case = client.get(f"/api/v1/complaints/{cid}", headers=w.rh).get_json()
    assert (case["status"], case["rating"]) == ("resolved", None)  # nothing was recorded


def test_a_case_not_resolved_cannot_be_rated(client, w):
    cid = post_case(client, w.rh, place_id=w.units[0].id).get_json()["id"]
    r = rate(client, w, cid, 5)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "rating_not_open"


def test_a_rating_after_7_days_is_refused(client, w):
    cid = resolved_case(client, w)
    c = db.session.get(Complaint, cid)
    # Resolved long enough ago that the window (to 24:00 of the 7th day, past any holiday) is over.
    c.resolved_at = utcnow() - dt.timedelta(days=30)
    commit()
    assert rate(client, w, cid, 5).get_json()["error"]["code"] == "rating_not_open"


def test_only_the_complainant_rates(client, w):
    cid = resolved_case(client, w)
    _, other = w.other_resident()
    assert client.post(f"/api/v1/complaints/{cid}/rating", headers=other, json={"rating": 1}).status_code == 404


def test_an_unsatisfied_rating_reopens_once(client, w):
    cid = resolved_case(client, w)
    r = rate(client, w, cid, 2, "噪音还在")
    assert r.get_json()["status"] == "reopened" and r.get_json()["rating"] is None
    assert cid in [c["id"] for c in client.get("/api/v1/queue", headers=w.h["police"],
                                               query_string={"status": "reopened"}).get_json()["items"]]
    assert act(client, w.h["police"], cid, "acknowledge").status_code == 200
    assert act(client, w.h["police"], cid, "resolve", note="再次上门，已停工").status_code == 200
    r = rate(client, w, cid, 1, "还是不满意")
    assert (r.get_json()["status"], r.get_json()["rating"]) == ("closed", 1)
    assert [e.note for e in audit_entries(cid, "complaint.reopen")] == ["噪音还在"]


def test_an_unrated_case_closes_after_7_days_by_its_deferred_job(w):
    from tests.complaints.helpers import file_case

    case = file_case(w, "noise", now=utcnow() - dt.timedelta(days=22))
    service.transition(w.staff["police"], case.id, "acknowledge", now=utcnow() - dt.timedelta(days=22))
    service.transition(w.staff["police"], case.id, "resolve", note="已处理", now=utcnow() - dt.timedelta(days=21))
    commit()
    # (the intake photo's blur job is a deferred row too, embedded: issue #19)
    job = db.session.scalars(sa.select(DeferredJob).where(DeferredJob.func.like("%auto_close%"))).one()
    assert job.func == "civic.complaints.jobs.auto_close_one" and job.args == [case.id]
    assert "civic.complaints.jobs.auto_close_one" in tick()
    drain()
    db.session.expire_all()
    c = db.session.get(Complaint, case.id)
    assert c.status == "closed" and c.rating is None
    assert audit_entries(case.id, "complaint.close")[0].note == "7 日内未评价，自动结案"


def test_the_deferred_job_does_not_close_early(w):
    from tests.complaints.helpers import file_case

    case = file_case(w, "noise", now=utcnow() - dt.timedelta(days=2))
    service.transition(w.staff["police"], case.id, "acknowledge")
    service.transition(w.staff["police"], case.id, "resolve", note="已处理")
    commit()
    tick(utcnow() + dt.timedelta(days=6))
    drain()
    db.session.expire_all()
    assert db.session.get(Complaint, case.id).status == "resolved"


def test_the_periodic_sweep_closes_unrated_cases(w):
    from tests.complaints.helpers import file_case

    case = file_case(w, "noise", now=utcnow() - dt.timedelta(days=22))
    service.transition(w.staff["police"], case.id, "acknowledge", now=utcnow() - dt.timedelta(days=22))
    service.transition(w.staff["police"], case.id, "resolve", note="已处理", now=utcnow() - dt.timedelta(days=21))
    commit()
    db.session.execute(sa.delete(DeferredJob))  # only the 00:30 sweep can close it now
    commit()
    assert "complaints.close_unrated" in tick(SHANGHAI_MIDNIGHT_SLOT())
    drain()
    db.session.expire_all()
    assert db.session.get(Complaint, case.id).status == "closed"
