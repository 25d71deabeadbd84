"""The per-process principal cache (civic.core.auth.PrincipalCache): a repeated API request needs no
query to authenticate, a change made in this process takes effect at once, and a change made
elsewhere (another worker process, here: straight SQL that no ORM event sees) within
AUTH_CACHE_SECONDS."""

from __future__ import annotations

import time

import sqlalchemy as sa

from civic.accounts.models import ApiToken, Membership, User
from civic.core.auth import principals
from civic.extensions import db
from tests.sql import statements


def _staff(factory, role="handler"):
    places = factory.ladder()
    rc = factory.org("residents_committee", [places["community"]], name="缓存居委会")
    return factory.staff(org=rc, role=role), rc, places


def test_a_repeated_me_runs_no_query_and_answers_the_same(client, factory):
    user, rc, _ = _staff(factory)
    headers = factory.token(user)
    first = client.get("/api/v1/me", headers=headers)
    db.session.remove()  # as in a server, where each request starts with an empty session
    with statements() as seen:
        second = client.get("/api/v1/me", headers=headers)
    assert second.status_code == 200 and second.get_json() == first.get_json()
    assert seen == []
    assert second.get_json()["memberships"][0]["organisation_name"] == "缓存居委会"


def test_logout_in_this_process_is_refused_at_once(client, factory, envelope):
    headers = factory.token(factory.staff(username="cache_out"))
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # now cached
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    envelope(client.get("/api/v1/me", headers=headers), 401, "token_revoked")


def test_changes_through_the_orm_take_effect_at_once(client, factory, envelope):
    user, rc, places = _staff(factory, role="handler")
    headers = factory.token(user)
    assert [m["role"] for m in client.get("/api/v1/me", headers=headers).get_json()["memberships"]] == ["handler"]
    db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id)).role = "head"
    factory.commit()
    assert [m["role"] for m in client.get("/api/v1/me", headers=headers).get_json()["memberships"]] == ["head"]
    rc.name = "改名后的居委会"  # an organisation's name shows in /me
    factory.commit()
    assert client.get("/api/v1/me", headers=headers).get_json()["memberships"][0]["organisation_name"] == "改名后的居委会"
    db.session.get(User, user.id).active = False
    factory.commit()
    envelope(client.get("/api/v1/me", headers=headers), 401, "account_disabled")


def test_an_expired_token_is_refused_even_when_cached(client, factory, envelope):
    user, _, _ = _staff(factory)
    headers = factory.token(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # Expire it behind the ORM's back: the cached row still holds the old expiry, but the cache
    # entry is only trusted while the token's own expiry has not passed — so move the cached copy.
    cache = principals()
    (key,) = list(cache.tokens.keys())
    cache.tokens[key] = {**cache.tokens[key], "_expires_at": cache.tokens[key]["_expires_at"].replace(year=2020)}
    envelope(client.get("/api/v1/me", headers=headers), 401, "token_expired")


def test_another_process_revocation_is_honoured_within_the_ttl(app, client, factory, envelope):
    user, _, _ = _staff(factory)
    headers = factory.token(user)
    seconds = app.config["AUTH_CACHE_SECONDS"]
    cache = principals()
    try:
        app.config["AUTH_CACHE_SECONDS"] = 0.3
        app.extensions.pop("civic_principals")
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        # What another worker process does: an UPDATE this process's ORM never sees.
        with db.engine.begin() as conn:
            conn.execute(sa.update(ApiToken).values(revoked_at=sa.func.current_timestamp()))
        assert client.get("/api/v1/me", headers=headers).status_code == 200  # within the TTL
        time.sleep(0.4)
        envelope(client.get("/api/v1/me", headers=headers), 401, "token_revoked")
    finally:
        app.config["AUTH_CACHE_SECONDS"] = seconds
        app.extensions["civic_principals"] = cache


def test_with_the_cache_off_every_request_authenticates_in_the_database(app, client, factory):
    user, _, _ = _staff(factory)
    headers = factory.token(user)
    seconds, cache = app.config["AUTH_CACHE_SECONDS"], principals()
    try:
        app.config["AUTH_CACHE_SECONDS"] = 0
        app.extensions.pop("civic_principals")
        client.get("/api/v1/me", headers=headers)
        db.session.remove()
        with statements() as seen:
            assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert len(seen) == 2 and "api_token" in seen[0] and "membership" in seen[1]
    finally:
        app.config["AUTH_CACHE_SECONDS"] = seconds
        app.extensions["civic_principals"] = cache


def test_the_user_built_from_a_cached_row_is_a_normal_persistent_user(app, factory):
    from civic.accounts.identity import _load_bearer_user
    from civic.core.db import commit

    user, rc, _ = _staff(factory, role="head")
    user_id, rc_id, headers = user.id, rc.id, factory.token(user)
    for from_cache in (False, True):
        db.session.remove()
        with app.test_request_context("/api/v1/me", headers=headers), statements() as seen:
            loaded = _load_bearer_user(None)
            assert (seen == []) is from_cache
            state = sa.inspect(loaded)
            assert state.persistent and not state.modified and loaded in db.session
            assert [(m.organisation_id, m.role) for m in loaded.memberships] == [(rc_id, "head")]  # lazy load works
            if from_cache:
                loaded.display_name = "改过名的员工"
                assert list(state.committed_state) == ["display_name"]  # an UPDATE of that column only
                commit()
    db.session.remove()
    assert db.session.get(User, user_id).display_name == "改过名的员工"
