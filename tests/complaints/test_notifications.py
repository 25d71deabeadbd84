"""Notifications (issue 3 point 9): status changes reach the resident through the outbox and a
job; a retried job never sends twice; failures are marked and retried with back-off."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from civic.core.db import commit, utcnow
from civic.core.jobs import DeferredJob, tick, uses_rq
from civic.core.notifications import Notification, SendFailed, notify, send_notification
from civic.extensions import db
from tests.complaints.helpers import act, post_case
from tests.conftest import REPO
from tests.jobs import drain


@pytest.fixture
def failing_adapter(app, monkeypatch):
    # monkeypatch puts the session app's own value back (popping it left later tests without one).
    monkeypatch.setitem(app.config, "NOTIFY_ADAPTER", "fail")


def outbox(user_id):
    db.session.expire_all()
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user_id)
                              .order_by(Notification.id)).all()


def a_row(w, key="k1"):
    n = Notification(user_id=w.resident.id, template="complaint_status", title="您反映的问题已签收",
                     payload={"complaint_id": 1}, dedupe_key=key)
    db.session.add(n)
    commit()
    return n.id


def test_each_status_change_reaches_the_resident_once(client, w):
    cid = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    act(client, w.h["police"], cid, "acknowledge")
    client.post(f"/api/v1/complaints/{cid}/messages", headers=w.h["police"], json={"body": "今晚上门"})
    drain()
    rows = outbox(w.resident.id)
    assert [(n.template, n.payload.get("status"), n.status) for n in rows] == [
        ("complaint_status", "routed", "sent"), ("complaint_status", "acknowledged", "sent"),
        ("complaint_message", None, "sent")]
    assert rows[1].title == "您反映的问题已签收" and rows[1].payload["by"] == "测试派出所"
    assert rows[2].payload["by"] == "测试派出所" and "赵警官" not in str(rows[2].payload)
    assert all(n.attempts == 1 and n.sent_at is not None for n in rows)


def test_the_same_event_is_queued_once(w):
    assert notify(w.resident.id, "t", "标题", {}, dedupe_key="same") is not None
    assert notify(w.resident.id, "t", "标题", {}, dedupe_key="same") is None
    commit()
    drain()
    assert len(outbox(w.resident.id)) == 1


def test_a_retried_job_never_sends_twice(w, caplog):
    nid = a_row(w)
    with caplog.at_level(logging.WARNING, logger="civic.core.notifications"):
        assert send_notification(nid) == "sent"
        assert send_notification(nid) == "sent"
    assert sum("DEV NOTIFY" in r.getMessage() for r in caplog.records) == 1
    assert outbox(w.resident.id)[0].attempts == 1


def test_a_row_left_in_sending_is_not_sent_again(w, caplog):
    nid = a_row(w)
    db.session.execute(sa.update(Notification).where(Notification.id == nid).values(status="sending"))
    commit()
    with caplog.at_level(logging.WARNING, logger="civic.core.notifications"):
        assert send_notification(nid) == "sending"
    assert not any("DEV NOTIFY" in r.getMessage() for r in caplog.records)


def test_a_failing_adapter_marks_failed_and_raises(w, failing_adapter):
    nid = a_row(w)
    with pytest.raises(SendFailed):
        send_notification(nid)
    n = outbox(w.resident.id)[0]
    assert (n.status, n.attempts, n.last_error) == ("failed", 1, "adapter configured to fail")


@pytest.mark.skipif(bool(os.environ.get("CIVIC_TEST_REDIS_URL")), reason="embedded retry path (RQ retries itself)")
def test_embedded_retries_back_off_then_send(app, w, failing_adapter):
    notify(w.resident.id, "complaint_status", "您反映的问题已办结", {"complaint_id": 1}, dedupe_key="r1")
    start = utcnow()
    commit()  # the job runs after the commit, fails, and is deferred
    assert not uses_rq()
    n = outbox(w.resident.id)[0]
    assert n.status == "failed" and n.attempts == 1
    job = db.session.scalars(sa.select(DeferredJob)).one()
    # The retry is a deferred civic.core.jobs.retry_job carrying the job and its arguments.
    assert job.func == "civic.core.jobs.retry_job"
    assert job.args[:2] == ["civic.core.notifications.send_notification", [n.id]]
    assert dt.timedelta(seconds=9) < job.run_at - start < dt.timedelta(seconds=12)
    app.config["NOTIFY_ADAPTER"] = "dev"
    assert "civic.core.jobs.retry_job" not in tick(start + dt.timedelta(seconds=5))  # not yet
    assert "civic.core.jobs.retry_job" in tick(start + dt.timedelta(seconds=15))
    n = outbox(w.resident.id)[0]
    assert (n.status, n.attempts) == ("sent", 2)


@pytest.mark.redis
@pytest.mark.postgres
def test_a_real_rq_worker_sends_the_outbox(app, client, w):
    cid = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    act(client, w.h["police"], cid, "acknowledge")
    assert {n.status for n in outbox(w.resident.id)} == {"pending"}
    db.session.commit()
    env = {**os.environ, "CIVIC_DATABASE_URL": app.config["DATABASE_URL"],
           "CIVIC_REDIS_URL": app.config["REDIS_URL"], "CIVIC_MEDIA_DIR": app.config["MEDIA_DIR"]}
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "civic", "civic", "worker", "--burst"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = outbox(w.resident.id)
    assert [(n.payload["status"], n.status, n.attempts) for n in rows] == [
        ("routed", "sent", 1), ("acknowledged", "sent", 1)]


def test_route_note_names_the_category_in_chinese(client, w):
    cid = post_case(client, w.rh, category="property_service", place_id=w.units[0].id).get_json()["id"]
    hist = client.get(f"/api/v1/complaints/{cid}/history", headers=w.rh).get_json()
    assert [(h["action"], h["note"]) for h in hist if h["action"] == "route"] == [("route", "按“物业服务”分派规则派单")]
    drain()
    routed = outbox(w.resident.id)[0]
    assert (routed.payload["status"], routed.payload["note"]) == ("routed", "按“物业服务”分派规则派单")
    assert "property_service" not in routed.title + str(routed.payload)
