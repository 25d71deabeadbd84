"""Contest photos served by unguessable URLs with the idea's visibility; per-contest thresholds of the
manipulation signals; the moderation queue in standard cursor pages."""

from __future__ import annotations

import io

import pytest

API = "/api/v1"


@pytest.fixture
def photo_idea(world, shared_dir):
    """A pending idea by the author with one real photo; returns (contest, idea JSON)."""
    c = world.contest()
    data = {"photos": [(io.BytesIO((shared_dir / "photos" / "ianare_landscape_3.jpg").read_bytes()), "a.jpg")]}
    up = world.client.post(f"{API}/contest-photos", data=data, headers=world.h[world.author],
                           content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    r = world.client.post(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.author],
                          json={"title": "口袋花园", "text": "种花", "category": "绿化",
                                "photos": [up.json["items"][0]["display_key"]]})
    assert r.status_code == 201, r.json
    return c, r.json


def _status(world, url, user):
    return world.client.get(url, headers=world.h[user]).status_code


def test_idea_returns_photo_urls_not_storage_keys(world, photo_idea):
    _c, idea = photo_idea
    (p,) = idea["photos"]
    assert set(p) == {"url", "thumbnail_url", "token", "width", "height", "blur_status"}
    assert p["blur_status"] == "original"  # the author took it
    assert p["url"] == f"/api/v1/contest-photos/{p['token']}" and p["thumbnail_url"] == p["url"] + "?size=thumb"
    assert len(p["token"]) >= 40


def test_pending_idea_photo_only_for_author_and_moderator(world, photo_idea):
    _c, idea = photo_idea
    url = idea["photos"][0]["url"]
    r = world.client.get(url, headers=world.h[world.author])
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.data[:2] == b"\xff\xd8"
    assert r.headers["Cache-Control"] == "private, no-cache"
    # The moderator gets the blurred rendition (issue #19): nothing until it exists, then it.
    assert _status(world, url, world.mod) == 409
    from tests.blur_helpers import run_blur_jobs

    run_blur_jobs()
    assert _status(world, url, world.mod) == 200
    r = world.client.get(url, headers=world.h[world.neighbour])
    assert r.status_code == 404 and r.json["error"]["code"] == "photo_not_found"


def test_approved_idea_photo_for_residents_of_the_places_and_staff_only(world, photo_idea, factory):
    _c, idea = photo_idea
    url, thumb = idea["photos"][0]["url"], idea["photos"][0]["thumbnail_url"]
    world.client.post(f"{API}/moderation/idea/{idea['id']}/decisions", json={"action": "approve"},
                      headers=world.h[world.mod])
    from tests.blur_helpers import run_blur_jobs

    run_blur_jobs()  # everyone but the author gets the blurred rendition (issue #19)
    full, small = (world.client.get(u, headers=world.h[world.neighbour]) for u in (url, thumb))
    assert (full.status_code, small.status_code) == (200, 200) and len(small.data) < len(full.data)
    other_staff = factory.staff(factory.org("police", [world.ladder["community"]]), "handler")
    assert world.client.get(url, headers=factory.token(other_staff)).status_code == 200
    assert _status(world, url, world.outsider) == 404
    assert world.client.get(url).status_code == 401


def test_hidden_idea_photo_goes_back_to_author_and_moderators(world, photo_idea):
    _c, idea = photo_idea
    url = idea["photos"][0]["url"]
    for action in ("approve", "hide"):
        r = world.client.post(f"{API}/moderation/idea/{idea['id']}/decisions",
                              json={"action": action, "reason": "含有个人电话号码"}, headers=world.h[world.mod])
        assert r.status_code == 200, r.json
    from tests.blur_helpers import run_blur_jobs

    run_blur_jobs()  # the moderator gets the blurred rendition (issue #19)
    assert [_status(world, url, u) for u in (world.neighbour, world.author, world.mod)] == [404, 200, 200]


def test_unknown_photo_token_is_not_found(world, photo_idea):
    r = world.client.get(f"{API}/contest-photos/not-a-token", headers=world.h[world.mod])
    assert r.status_code == 404 and r.json["error"]["code"] == "photo_not_found"


def test_edit_keeps_a_photo_by_its_token_and_a_removed_photo_is_no_longer_public(world, photo_idea):
    _c, idea = photo_idea
    token = idea["photos"][0]["token"]
    r = world.client.patch(f"{API}/ideas/{idea['id']}", json={"title": "口袋花园二", "photos": [token]},
                           headers=world.h[world.author])
    assert r.status_code == 200 and [p["token"] for p in r.json["photos"]] == [token]
    world.client.post(f"{API}/moderation/idea/{idea['id']}/decisions", json={"action": "approve"},
                      headers=world.h[world.mod])
    from tests.blur_helpers import run_blur_jobs

    run_blur_jobs()  # the neighbour gets the blurred rendition (issue #19)
    assert _status(world, idea["photos"][0]["url"], world.neighbour) == 200
    r = world.client.patch(f"{API}/ideas/{idea['id']}", json={"photos": []}, headers=world.h[world.author])
    assert r.status_code == 200 and r.json["photos"] == []
    assert [_status(world, idea["photos"][0]["url"], u) for u in (world.neighbour, world.author)] == [404, 200]


def test_contest_has_default_signal_thresholds(world):
    c = world.contest()
    assert {k: c[k] for k in ("signal_shared_residents", "signal_burst_supports", "signal_burst_minutes",
                              "signal_new_account_days")} == {
        "signal_shared_residents": 3, "signal_burst_supports": 5, "signal_burst_minutes": 60,
        "signal_new_account_days": 7}


def _signals(world, shared_residents, burst_supports):
    c = world.contest(signal_shared_residents=shared_residents, signal_burst_supports=burst_supports)
    idea = world.idea(c["id"])
    world.set_phase(c["id"], "support")
    for u in [world.neighbour, world.others[0]]:
        r = world.client.put(f"{API}/ideas/{idea['id']}/support", headers={**world.h[u], "X-Device-Id": "dev-xyz"},
                             environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert r.status_code == 200, r.json
    r = world.client.get(f"{API}/contests/{c['id']}/signals", headers=world.h[world.mod])
    assert r.status_code == 200, r.json
    return sorted((s["kind"], s["residents"]) for s in r.json["items"])


def test_two_residents_on_one_device_are_no_signal_by_default(world):
    assert _signals(world, 3, 5) == []


def test_contest_thresholds_decide_the_signals(world):
    assert _signals(world, 2, 2) == [("new_account_burst", 2), ("shared_device", 2), ("shared_network", 2)]


def test_signal_threshold_below_two_is_refused(world):
    r = world.client.post(f"{API}/contests", headers=world.h[world.head], json={
        "organisation_id": world.rc.id, "theme": "x", "place_ids": [world.ladder["compound"].id],
        "phases": world.contest()["phases"], "criteria": [{"name": "可行性", "weight": 1}],
        "signal_shared_residents": 1})
    assert r.status_code == 422 and "signal_shared_residents" in str(r.json["error"]["details"])


def test_moderation_queue_pages_with_the_standard_cursor(world):
    c = world.contest()
    ids = [world.idea(c["id"], title=f"点子{i}", approve=False)["id"] for i in range(3)]
    url = f"{API}/moderation/queue?organisation_id={world.rc.id}&limit=2"
    first = world.client.get(url, headers=world.h[world.mod]).json
    assert [i["item_id"] for i in first["items"]] == ids[:2] and first["next_cursor"]
    second = world.client.get(f"{url}&cursor={first['next_cursor']}", headers=world.h[world.mod]).json
    assert ([i["item_id"] for i in second["items"]], second["next_cursor"]) == (ids[2:], None)


def test_moderation_queue_refuses_a_forged_cursor(world):
    r = world.client.get(f"{API}/moderation/queue?organisation_id={world.rc.id}&cursor=bm90LWEtY3Vyc29y",
                         headers=world.h[world.mod])
    assert r.status_code == 400 and r.json["error"]["code"] == "cursor_invalid"


def test_a_page_of_ideas_reads_the_blur_of_all_its_photos_at_once(world, shared_dir):
    """Each photo of a listed idea says its blur state for the viewer (issue #19): the page reads the
    blur rows of all its photos in one statement, however many ideas and photos it shows."""
    from tests.sql import reading, statements

    c = world.contest()
    names = iter(["ianare_landscape_2.jpg", "ianare_landscape_3.jpg", "ianare_portrait_5.jpg",
                  "ianare_portrait_6.jpg", "pillow_pil123rgba.png"])

    def idea_with_photos(user, n):
        data = {"photos": [(io.BytesIO((shared_dir / "photos" / next(names)).read_bytes()), f"{i}.jpg")
                           for i in range(n)]}
        up = world.client.post(f"{API}/contest-photos", data=data, headers=world.h[user],
                               content_type="multipart/form-data")
        assert up.status_code == 201, up.json
        r = world.client.post(f"{API}/contests/{c['id']}/ideas", headers=world.h[user],
                              json={"title": "口袋花园", "text": "种花", "category": "绿化",
                                    "photos": [p["display_key"] for p in up.json["items"]]})
        assert r.status_code == 201, r.json
        d = world.client.post(f"{API}/moderation/idea/{r.json['id']}/decisions", json={"action": "approve"},
                              headers=world.h[world.mod])
        assert d.status_code == 200, d.json

    def page():
        with statements() as seen:
            r = world.client.get(f"{API}/contests/{c['id']}/ideas", headers=world.h[world.neighbour])
        assert r.status_code == 200, r.json
        return r.json["items"], reading(seen, "photo_blur")

    idea_with_photos(world.author, 1)
    items, read = page()
    assert [p["blur_status"] for i in items for p in i["photos"]] == ["pending"] and len(read) == 1
    idea_with_photos(world.others[0], 2)
    idea_with_photos(world.others[1], 2)
    items, read = page()
    assert [p["blur_status"] for i in items for p in i["photos"]] == ["pending"] * 5 and len(read) == 1
