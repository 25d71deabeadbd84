"""One photo stored in two domains is one file with one blur record (the store is content-addressed):
a reviewer of one domain may add a region (it blurs more, everywhere) but may not take one off
(409 ``photo_blur_shared``: it would unblur a face in the other domain's copy, which that reviewer
may not even see, and on Open311's public media); and the retention of one domain's original does
not take the original from the other domain's taker (civic.core.blur.forget_original)."""

from __future__ import annotations

import sqlalchemy as sa

from civic.core.blur import PhotoBlur
from civic.extensions import db
from tests.blur_helpers import multipart, phone_jpeg, run_blur_jobs


def _same_photo_in_a_case_and_an_idea(client, factory):
    from tests.complaints.helpers import World as Cases
    from tests.proposals.conftest import World as Proposals

    cases, ideas = Cases(factory), Proposals(factory, client)
    photo = phone_jpeg("deface_city.jpg")
    # Bodies built by hand (tests.blur_helpers.multipart): werkzeug's builder leaves a temporary file
    # open for a phone-sized photo.
    body, ctype = multipart({"category": "green_damage", "description": "楼道里堆满杂物，影响通行。",
                             "place_id": cases.units[0].id}, [("photos", "p.jpg", photo)])
    case = client.post("/api/v1/complaints", data=body, headers=cases.rh, content_type=ctype)
    assert case.status_code == 201, case.get_json()
    contest = ideas.contest()
    body, ctype = multipart({}, [("photos", "p.jpg", photo)])
    up = client.post("/api/v1/contest-photos", data=body, headers=ideas.h[ideas.author], content_type=ctype)
    idea = client.post(f"/api/v1/contests/{contest['id']}/ideas", headers=ideas.h[ideas.author], json={
        "title": "口袋花园", "text": "楼前空地种月季", "category": "绿化",
        "photos": [up.json["items"][0]["display_key"]]})
    assert idea.status_code == 201, idea.json
    assert client.post(f"/api/v1/moderation/idea/{idea.json['id']}/decisions", json={"action": "approve"},
                       headers=ideas.h[ideas.mod]).status_code == 200
    run_blur_jobs()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PhotoBlur)) == 1  # one file, one record
    return cases, ideas, case.get_json(), idea.json


def test_a_shared_photo_takes_regions_added_but_not_removed(client, factory):
    cases, ideas, case, idea = _same_photo_in_a_case_and_an_idea(client, factory)
    idea_photo = idea["photos"][0]["url"]
    review = client.get(idea_photo + "/blur", headers=ideas.h[ideas.mod])
    assert review.status_code == 200, review.json
    auto = [r["id"] for r in review.json["regions"] if r["source"] == "auto"]
    assert len(auto) >= 17
    before = db.session.scalar(sa.select(PhotoBlur)).regions

    # The contest's moderator (who may not see the case) cannot unblur a face of it ...
    refused = client.delete(f"{idea_photo}/blur/regions/{auto[0]}", headers=ideas.h[ideas.mod])
    assert refused.status_code == 409, refused.json
    assert refused.json["error"]["code"] == "photo_blur_shared"
    assert refused.json["error"]["details"]["also_in"] == ["complaints.photo"]
    # ... nor can the case's lead party unblur one of the idea's public copy.
    case_photo = case["photos"][0]["url"]
    lead = client.delete(f"{case_photo}/blur/regions/{auto[0]}", headers=cases.h["property_company"])
    assert lead.status_code == 409 and lead.json["error"]["details"]["also_in"] == ["contests.photo"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(PhotoBlur)).regions == before

    # Adding a region blurs more, everywhere: allowed.
    added = client.post(f"{idea_photo}/blur/regions", headers=ideas.h[ideas.mod],
                        json={"x": 0.1, "y": 0.1, "w": 0.1, "h": 0.1})
    assert added.status_code == 201, added.json


def test_one_domains_retention_leaves_the_other_domains_original(client, factory):
    """The case closed long ago: its retention would forget the original, but the idea's author
    took the same photo and still sees it as taken; the file and the record's original stay."""
    from civic.core import blur, media
    from civic.core.storage import media_store

    cases, ideas, case, idea = _same_photo_in_a_case_and_an_idea(client, factory)
    row = db.session.scalar(sa.select(PhotoBlur))
    held = media.keys_in_use({row.display_key, row.thumb_key}, skip_tables={"complaint_photo"})
    assert row.display_key in held  # the idea holds it
    assert blur.forget_original(row.display_key, row.thumb_key, held_elsewhere=held) is False
    db.session.expire_all()
    row = db.session.scalar(sa.select(PhotoBlur))
    assert row.original_deleted_at is None and media_store().exists(row.display_key)
    mine = client.get(f"/api/v1/ideas/{idea['id']}", headers=ideas.h[ideas.author])
    assert mine.status_code == 200 and mine.json["photos"][0]["blur_status"] == "original"
