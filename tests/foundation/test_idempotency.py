"""Idempotency-Key on POSTs that create: replay, reuse refused, scoped per caller, and one winner
when two requests with one key race."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from flask import jsonify

from civic.accounts.models import OtpChallenge
from civic.core.audit import AuditEntry, record
from civic.core.auth import current_actor
from civic.core.idempotency import IdempotencyRecord
from civic.extensions import db
from tests.jobs import drain

KEY = {"Idempotency-Key": "4f1c0c8e-retry-1"}


def _count(model):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_same_key_same_body_replays_the_first_response(client):
    first = client.post("/api/v1/auth/otp", json={"phone": "13900000001"}, headers=KEY)
    again = client.post("/api/v1/auth/otp", json={"phone": "13900000001"}, headers=KEY)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.data == first.data
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(OtpChallenge) == 1


def test_same_key_other_body_is_a_409(client, envelope):
    client.post("/api/v1/auth/otp", json={"phone": "13900000001"}, headers=KEY)
    resp = client.post("/api/v1/auth/otp", json={"phone": "13900000002"}, headers=KEY)
    assert envelope(resp, 409, "idempotency_key_reused")["details"] == {"key": KEY["Idempotency-Key"]}
    assert _count(OtpChallenge) == 1


def test_a_failed_request_does_not_use_up_the_key(client):
    assert client.post("/api/v1/auth/otp", json={"phone": "1"}, headers=KEY).status_code == 422
    assert client.post("/api/v1/auth/otp", json={"phone": "13900000001"}, headers=KEY).status_code == 202


@pytest.mark.parametrize("key", ["", " ", "k" * 201])
def test_a_bad_key_is_refused(client, envelope, key):
    resp = client.post("/api/v1/auth/otp", json={"phone": "13900000001"}, headers={"Idempotency-Key": key})
    envelope(resp, 400, "idempotency_key_invalid")


def test_login_responses_are_never_stored(client, factory):
    factory.staff(username="wang")
    body = {"username": "wang", "password": "test-pass-123"}
    first = client.post("/api/v1/auth/login", json=body, headers=KEY).get_json()["token"]
    second = client.post("/api/v1/auth/login", json=body, headers=KEY).get_json()["token"]
    assert first != second
    assert _count(IdempotencyRecord) == 0


def _create_note():
    """Test-only creating view: one audit entry per call."""
    barrier = _create_note.barrier
    if barrier is not None:
        barrier.wait(timeout=20)  # both racers are past the key lookup before either writes
    entry = record("test.note", "note", "n", actor=current_actor())
    db.session.flush()
    return jsonify({"id": entry.id}), 201


_create_note.barrier = None


@pytest.fixture
def notes_app(make_app):
    app = make_app()
    app.add_url_rule("/test/notes", view_func=_create_note, methods=["POST"])
    yield app
    _create_note.barrier = None


def test_different_users_same_key_do_not_collide(notes_app, factory):
    c = notes_app.test_client()
    a = c.post("/test/notes", json={"n": 1}, headers=KEY | factory.token(factory.resident()))
    b = c.post("/test/notes", json={"n": 1}, headers=KEY | factory.token(factory.resident()))
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.get_json()["id"] != b.get_json()["id"]
    assert "Idempotent-Replayed" not in b.headers


def _post(url, body, headers):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"} | headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read(), resp.headers.get("Idempotent-Replayed")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), None


def test_two_racing_requests_with_one_key_create_one_thing(notes_app, factory, serve):
    # A barrier holds both requests in the view until both have looked the key up and found
    # nothing: both create, one commit wins, the other hits the unique constraint on
    # (scope, key, path), is rolled back, and answers with the winner's response.
    headers = KEY | factory.token(factory.resident())
    _create_note.barrier = threading.Barrier(2)
    url = serve(notes_app) + "/test/notes"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _post(url, {"n": 1}, headers), range(2)))
    assert [r[0] for r in results] == [201, 201]
    assert results[0][1] == results[1][1]
    assert sorted(str(r[2]) for r in results) == ["None", "true"]
    assert _count(AuditEntry) == 1
    assert _count(IdempotencyRecord) == 1


def test_racing_requests_with_one_key_and_different_bodies(notes_app, factory, serve):
    headers = KEY | factory.token(factory.resident())
    _create_note.barrier = threading.Barrier(2)
    url = serve(notes_app) + "/test/notes"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda n: _post(url, {"n": n}, headers), range(2)))
    assert sorted(r[0] for r in results) == [201, 409]
    loser = next(r for r in results if r[0] == 409)
    assert json.loads(loser[1])["error"]["code"] == "idempotency_key_reused"
    assert _count(AuditEntry) == 1


def test_many_concurrent_otp_requests_with_one_key_send_one_code(app, serve, caplog):
    # The real creating endpoint, eight clients at once: one challenge, one SMS, one answer.
    import logging

    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    url = serve(app) + "/api/v1/auth/otp"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _post(url, {"phone": "13900000001"}, KEY), range(8)))
    assert {r[0] for r in results} == {202}
    assert len({r[1] for r in results}) == 1
    assert _count(OtpChallenge) == 1
    assert sum(m.getMessage().startswith("DEV SMS to 13900000001") for m in caplog.records) == 1


def _age_records(hours: int) -> None:
    import datetime as dt

    from civic.core.db import commit, utcnow

    db.session.execute(sa.update(IdempotencyRecord).values(created_at=utcnow() - dt.timedelta(hours=hours)))
    commit()


def test_a_key_past_48_hours_serves_a_new_request(client):
    assert client.post("/api/v1/auth/otp", json={"phone": "13900000001"}, headers=KEY).status_code == 202
    _age_records(49)
    # Past the TTL the first response answers no more, and the key is free for a new request.
    resp = client.post("/api/v1/auth/otp", json={"phone": "13900000002"}, headers=KEY)
    assert resp.status_code == 202 and "Idempotent-Replayed" not in resp.headers
    assert _count(OtpChallenge) == 2 and _count(IdempotencyRecord) == 1
    again = client.post("/api/v1/auth/otp", json={"phone": "13900000002"}, headers=KEY)
    assert again.headers["Idempotent-Replayed"] == "true" and again.data == resp.data


def test_the_daily_purge_deletes_only_records_past_48_hours(client):
    import datetime as dt

    from civic.core import jobs
    from civic.core.db import utcnow

    client.post("/api/v1/auth/otp", json={"phone": "13900000001"}, headers={"Idempotency-Key": "old"})
    _age_records(49)
    client.post("/api/v1/auth/otp", json={"phone": "13900000002"}, headers={"Idempotency-Key": "new"})
    # 03:20 Asia/Shanghai is 19:20 UTC the day before.
    at = (utcnow() + dt.timedelta(days=1)).replace(hour=19, minute=20, second=0, microsecond=0)
    assert "core.purge_idempotency" in jobs.tick(at)
    drain()
    assert db.session.scalars(sa.select(IdempotencyRecord.key)).all() == ["new"]
