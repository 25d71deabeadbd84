"""Every route that serves a photo applies the one blur rule (civic.core.blur; issue #19 point 1).

A sweep over the media kinds and the public photo routes, not a test of one route:

* every registered media kind either is ``blurred`` (a photo that leaves its taker's circle) or is
  listed in :data:`NOT_BLURRED` with the reason; a new kind fails here until it says which;
* every route serving stored bytes outside the kinds' own routes is listed in :data:`PUBLIC_ROUTES`
  (the village's public page, Open311's media_url): found by scanning the app's view functions for
  reads of the media store, so a new one fails here until it is listed (and tested blurred);
* for each blurred kind, one object is made through the real API (test_media_kinds' builders): before
  the blur job ran, each entitled viewer gets either the original's bytes or 409
  ``photo_blur_pending`` and never any other stored file, and at least one gets the 409 (someone
  beyond the circle); after the job, each gets 200, and whoever got the 409 now gets the blurred
  rendition, not the original;
* for each blurred kind, every GET route whose JSON lists its photos (:data:`LISTINGS`; a kind with
  none says why in :data:`NOT_LISTED`) tells each viewer the truth, on the objects of both builders
  (test_media_kinds' and the review's below, which adds viewers beyond the circle): before the job,
  ``blur_status`` ``pending`` with no URL for whoever the photo's address answers 409, ``original``
  with the address of the original for whoever it serves; after it, ``blurred`` with the address of
  the blurred rendition for the former;
* every blurred kind has a reviewer rule (``MediaKind.reviewer``) and its review routes under the
  photo's own address (``…/blur``, ``…/blur/regions``, ``…/blur/regions/{region_id}``), and a case in
  :data:`REVIEWS`; for each, the reviewer adds a region (the blurred rendition served to a party
  beyond the circle changes at once, ``photo_blur.region_added`` is written on the photo's object)
  and removes it (the rendition is as before, ``photo_blur.region_removed``), while parties who see
  the photo but do not review it get 403 ``blur_review_not_allowed``, parties who may not see it (and
  a forged address) 404, and none of them changes the record, the rendition or the audit log; the
  rendition the removal superseded is deleted from the store;
* for each blurred kind, a review needs the detection to have run: 409 ``photo_blur_pending`` before
  the job, 409 ``photo_blur_failed`` after a failed one (which the attempt queues again, and which then
  heals); concurrent reviews (real threads) each keep their region or removal; every superseded
  rendition is deleted; a box is JSON numbers and at least ``MIN_REGION`` wide and high;
* every multipart file route (the table of test_upload_ids_sweep, which fails on a new route) says in
  :data:`STORES` the kind it stores; for each, a photo attached by upload id is stored in that kind
  only, and when the kind is blurred each stored key (display copy and thumbnail) has its
  ``photo_blur`` row ``pending`` after the request and ``done`` after the blur job.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from civic.core import media
from civic.extensions import db
from tests.blur_helpers import run_blur_jobs
from tests.foundation.test_media_kinds import BUILDERS
from tests.village.conftest import vil  # noqa: F401  (the village world, as a fixture)

NOT_BLURRED = {
    "voting.matter_attachment": "documents the owners decide on (contracts, plans), not photos of people",
    "voting.proxy_scan": "a written authorisation, seen by the committee and the owner who gave it",
    "voting.paper_scan": "a paper ballot, seen by the committee and the unit's owner",
    "residents.claim_document": "an ownership document, seen only by the unit's verifiers until decided",
}
# Kinds whose builder's viewers are all within the original's circle (the taker, the lead party; a
# draft's committees): the viewers beyond it are tested in the named files, on corpus photos.
BEYOND_TESTED_IN = {
    "complaints.photo": "tests/complaints/test_photo_blur.py (an assisting party)",
    "village.voucher": "tests/village/test_public_blur.py (a villager, the public page)",
}
PUBLIC_ROUTES = {
    "village_pages.voucher": "tests/village/test_public_blur.py",
    "open311.media": "tests/open311/test_media_blur.py",
}


def test_every_kind_says_whether_it_is_blurred(app):
    kinds = media.kinds()
    undecided = [k for k, kind in kinds.items() if not kind.blurred and k not in NOT_BLURRED]
    assert undecided == [], "a kind shown beyond its taker's circle must be blurred=True, else say why not"
    assert not {k for k in NOT_BLURRED if k in kinds and kinds[k].blurred}


def test_every_other_route_reading_the_media_store_is_listed(app):
    kind_routes = {kind.route for kind in media.kinds().values()}
    readers = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        try:
            source = inspect.getsource(getattr(view, "view_class", view))
        except (OSError, TypeError):
            continue
        # Reading the store directly, or through the one photo responder (civic.core.photos).
        reads = "media_store().open" in source or "photo_response(" in source
        if reads and rule.rule not in kind_routes:
            readers.add(rule.endpoint)
    assert readers == set(PUBLIC_ROUTES)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stored_originals(kind: str) -> set[str]:
    from tests.foundation.test_media_kinds import _media_columns, _stored_keys

    declared = _media_columns()
    return set().union(*(d for col, d in _stored_keys().items() if declared.get(col) == kind))


@pytest.mark.parametrize("kind", sorted(k for k in BUILDERS if k not in NOT_BLURRED))
def test_each_blurred_kind_shows_the_original_or_nothing_then_the_blurred_rendition(kind, request, app, client,
                                                                                   factory):
    from civic.core.blur import PhotoBlur

    case = BUILDERS[kind](request, client, factory)
    db.session.rollback()
    originals = _stored_originals(kind)
    assert originals
    beyond = []
    for url in case.urls:
        for i, headers in enumerate(case.entitled):
            r = client.get(url, headers=headers)
            if r.status_code == 409:
                assert r.get_json()["error"]["code"] == "photo_blur_pending"
                beyond.append((url, i))
            else:
                assert r.status_code == 200 and _digest(r.data) in originals, (url, i, r.status_code)
    assert beyond or kind in BEYOND_TESTED_IN, f"{kind}: no entitled viewer beyond the original's circle"

    run_blur_jobs()
    assert set(db.session.scalars(sa.select(PhotoBlur.status))) == {"done"}
    from civic.core.storage import media_store

    blurred: set[str] = set()
    for row in db.session.scalars(sa.select(PhotoBlur)):
        blurred |= {_digest(media_store().open(row.blurred_display_key)),
                    _digest(media_store().open(row.blurred_thumb_key))}
    for url in case.urls:
        for i, headers in enumerate(case.entitled):
            r = client.get(url, headers=headers)
            assert r.status_code == 200, (url, i)
            if (url, i) in beyond:
                assert _digest(r.data) in blurred and _digest(r.data) not in originals, (url, i)
            else:
                assert _digest(r.data) in originals, (url, i)


# --- the review, for every blurred kind ------------------------------------------------------------------

@dataclass
class Review:
    """One photo of the kind, made through the real API, and who is who for its review."""

    url: str  # the photo's address (the review routes hang under it)
    reviewer: dict  # request headers of one the kind's reviewer rule admits
    sees: list[dict]  # parties who see the photo but do not review it (403); the first sees only the blurred copy
    audit_object: tuple[str, int]  # what the review is audited on
    hidden: list[dict] = field(default_factory=list)  # parties who may not see the photo (404)
    # residents on a route only staff may call: its own 403 wrong_account_kind, the same for every id
    wrong_kind: list[dict] = field(default_factory=list)


def _photo(name: str = "ianare_landscape_2.jpg"):
    import io

    from tests.shared import PHOTOS

    return io.BytesIO((PHOTOS / name).read_bytes()), name


def _review_case_photo(request, client, factory) -> Review:
    from tests.complaints.helpers import World, submit

    w = World(factory)
    r = submit(client, w.rh, category="public_space_occupation", description="人行道上摆满摊位，行人只能走机动车道。",
               photos=("ianare_portrait_6.jpg",), place_id=w.units[0].id)
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    parties = client.get(f"/api/v1/complaints/{case['id']}", headers=w.h["street_centre"]).get_json()["parties"]
    role = {p["kind"]: p["role"] for p in parties if p["active"]}
    lead = next(k for k, v in role.items() if v == "lead")
    assist = next(k for k, v in role.items() if v == "assist")
    _, neighbour = w.other_resident()
    elsewhere = World(factory, phone="13812347777")  # another compound's property company
    # the assisting party and the street's oversight see only the blurred photo; the review routes of
    # a case are for staff (the complainant, who took it, and a neighbour get the route's 403)
    return Review(case["photos"][0]["url"], w.h[lead], sees=[w.h[assist], w.h["street_centre"]],
                  hidden=[elsewhere.h["property_company"]], wrong_kind=[w.rh, neighbour],
                  audit_object=("complaint", case["id"]))


def _review_contest_photo(request, client, factory) -> Review:
    from tests.proposals.conftest import World

    w = World(factory, client)
    c = w.contest()
    up = client.post("/api/v1/contest-photos", data={"photos": [_photo("ianare_landscape_3.jpg")]},
                     headers=w.h[w.author], content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    r = client.post(f"/api/v1/contests/{c['id']}/ideas", headers=w.h[w.author],
                    json={"title": "口袋花园", "text": "楼前空地种月季", "category": "绿化",
                          "photos": [up.json["items"][0]["display_key"]]})
    assert r.status_code == 201, r.json
    d = client.post(f"/api/v1/moderation/idea/{r.json['id']}/decisions", json={"action": "approve"}, headers=w.h[w.mod])
    assert d.status_code == 200, d.json
    # approved: the contest's residents see it blurred, the author (who took it) as taken; the
    # organiser's moderators review it; a resident elsewhere does not see it
    return Review(r.json["photos"][0]["url"], w.h[w.mod], sees=[w.h[w.neighbour], w.h[w.author]],
                  hidden=[w.h[w.outsider]], audit_object=("idea", r.json["id"]))


def _review_action_photo(request, client, factory) -> Review:
    from tests.proposals.deliberation.conftest import World

    w = World(factory, client)
    resolution, item, update = w.action_item_with_photo("ianare_portrait_5.jpg")
    # the topic is shown: its readers see the photo blurred; the responsible organisation reviews it
    return Review(update["photos"][0]["url"], w.h(w.pc_staff), sees=[w.h(w.residents[0]), w.h(w.mod),
                                                                      w.h(w.secretary)],
                  audit_object=("action_item", item))


def _review_voucher(request, client, factory) -> Review:
    from tests.village.conftest import finance_body

    v = request.getfixturevalue("vil")
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=v["h_hua"])
    assert r.status_code == 201, r.json
    did, line = r.json["id"], r.json["lines"][1]["id"]
    up = client.post(f"/api/v1/village-disclosures/{did}/lines/{line}/vouchers", headers=v["h_hua"],
                     data={"photos": [_photo("ianare_portrait_6.jpg")]}, content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    for action, h in (("submit", "h_hua"), ("sign_off", "h_jin"), ("publish", "h_hua")):
        assert client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": action},
                           headers=v[h]).status_code == 200
    # published: villagers see it blurred; the supervision committee and the town see the original but
    # review the disclosure, not its photos; the village committee reviews them
    return Review(up.json[0]["url"], v["h_hua"], sees=[v["h_villager"], v["h_outsider"], v["h_jin"], v["h_wang"]],
                  audit_object=("village_disclosure", did))


REVIEWS: dict[str, Callable[..., Review]] = {
    "complaints.photo": _review_case_photo,
    "contests.photo": _review_contest_photo,
    "deliberation.action_photo": _review_action_photo,
    "village.voucher": _review_voucher,
}


def test_every_blurred_kind_has_a_reviewer_rule_and_its_review_routes(app):
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        rules.setdefault(rule.rule, set()).update(rule.methods)
    blurred = {name: kind for name, kind in media.kinds().items() if kind.blurred}
    assert blurred and set(REVIEWS) == set(blurred), "every blurred kind needs a case in REVIEWS"
    for name, kind in blurred.items():
        assert callable(kind.reviewer), f"{name}: no reviewer rule (MediaKind.reviewer)"
        assert "GET" in rules.get(kind.route + "/blur", set()), name
        assert "POST" in rules.get(kind.route + "/blur/regions", set()), name
        assert "DELETE" in rules.get(kind.route + "/blur/regions/<region_id>", set()), name


def _review_trail(object_type: str, object_id: int) -> list[tuple[str, int | None]]:
    from civic.core.audit import AuditEntry

    db.session.expire_all()
    return [(e.action, e.actor_id) for e in db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id),
        AuditEntry.action.like("photo_blur.%")).order_by(AuditEntry.id))]


def _blur_record():
    from civic.core.blur import PhotoBlur

    db.session.expire_all()
    return [(r.id, r.regions, r.blurred_display_key, r.reviewed_by) for r in
            db.session.scalars(sa.select(PhotoBlur).order_by(PhotoBlur.id))]


@pytest.mark.parametrize("kind", sorted(REVIEWS))
def test_each_blurred_kind_is_reviewed_by_its_reviewer_alone(kind, request, app, client, factory):

    case = REVIEWS[kind](request, client, factory)
    db.session.rollback()
    run_blur_jobs()
    review_url = case.url + "/blur"
    served_to = case.sees[0]

    def served() -> bytes:
        r = client.get(case.url, headers=served_to)
        assert r.status_code == 200, r.get_json(silent=True)
        return r.data

    before = served()
    from civic.core.storage import media_store

    stored = set(media_store().iter_keys())  # the originals and the job's renditions
    shown = client.get(review_url, headers=case.reviewer)
    assert shown.status_code == 200, shown.get_json()
    assert shown.get_json()["status"] == "done"
    assert shown.get_json()["object_type"] == case.audit_object[0] == kind_object(kind)
    assert shown.get_json()["object_id"] == case.audit_object[1]
    # What the review page shows as the blurred photo is what the others are served.
    assert client.get(shown.get_json()["blurred_url"], headers=case.reviewer).data == before

    added = client.post(review_url + "/regions", headers=case.reviewer, json={"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25})
    assert added.status_code == 201, added.get_json()
    manual = [g for g in added.get_json()["regions"] if g["source"] == "manual"]
    assert [(g["x"], g["y"], g["w"], g["h"], g["removed"]) for g in manual] == [(0.1, 0.2, 0.3, 0.25, False)]
    with_region = served()
    assert with_region != before  # regenerated at once, served to the others at the same address
    trail = _review_trail(*case.audit_object)
    assert [a for a, _ in trail] == ["photo_blur.region_added"] and trail[0][1] is not None
    reviewer_id = trail[0][1]

    # Those who see the photo but do not review it, those who may not see it, and a forged address:
    # refused, and nothing changes.
    record = _blur_record()
    region = manual[0]["id"]
    token = case.url.rsplit("/", 1)[1]
    forged = case.url[: -len(token)] + ("A" if token[0] != "A" else "B") + token[1:]
    attempts = [(h, 403, "blur_review_not_allowed", review_url) for h in case.sees] + \
               [(h, 403, "wrong_account_kind", review_url) for h in case.wrong_kind] + \
               [(h, 404, "not_found", review_url) for h in case.hidden] + \
               [(case.reviewer, 404, "not_found", forged + "/blur")]
    for i, (headers, status, code, url) in enumerate(attempts):
        for r in (client.get(url, headers=headers),
                  client.post(url + "/regions", headers=headers, json={"x": 0.5, "y": 0.5, "w": 0.2, "h": 0.2}),
                  client.delete(f"{url}/regions/{region}", headers=headers)):
            assert r.status_code == status and r.get_json()["error"]["code"].endswith(code), \
                (i, url, r.status_code, r.get_json(silent=True))
    assert _blur_record() == record
    assert served() == with_region
    assert len(_review_trail(*case.audit_object)) == 1

    removed = client.delete(f"{review_url}/regions/{region}", headers=case.reviewer)
    assert removed.status_code == 200, removed.get_json()
    assert [g["removed"] for g in removed.get_json()["regions"] if g["id"] == region] == [True]
    assert served() == before  # the same regions as before the review, the same rendition
    # The rendition with the region (superseded) is deleted: the store holds what it held before.
    assert set(media_store().iter_keys()) == stored
    assert _review_trail(*case.audit_object) == [("photo_blur.region_added", reviewer_id),
                                                 ("photo_blur.region_removed", reviewer_id)]


def kind_object(kind: str) -> str:
    """The object each kind's photos are logged on (``media.opened``), and so its review."""
    return {"complaints.photo": "complaint", "contests.photo": "idea", "deliberation.action_photo": "action_item",
            "village.voucher": "village_disclosure"}[kind]


# --- every JSON listing of a blurred kind's photo, for every viewer ----------------------------------------

@dataclass
class Shown:
    """One object holding a photo of the kind, as a builder made it, and who may see it."""

    urls: list[str]  # the photo addresses an entitled viewer was given
    viewers: list[dict]  # request headers of viewers who may see the photo (each the original or 409)
    object_id: int  # the object the photo belongs to (a case, an idea, an action item, a disclosure)


def _from_media_kinds(kind, request, client, factory) -> Shown:
    case = BUILDERS[kind](request, client, factory)
    return Shown(list(case.urls), list(case.entitled), case.audit_object[1])


def _from_review(kind, request, client, factory) -> Shown:
    case = REVIEWS[kind](request, client, factory)
    return Shown([case.url], [case.reviewer, *case.sees], case.audit_object[1])


SOURCES = {"media_kinds": _from_media_kinds, "review": _from_review}


def _body(client, url: str, headers: dict):
    """The JSON of ``GET url`` for a viewer, or None where the route does not show it to them (403, 404)."""
    r = client.get(url, headers=headers)
    if r.status_code in (403, 404):
        return None
    assert r.status_code == 200, (url, r.status_code, r.get_json(silent=True))
    return r.get_json()


def _item(body, object_id: int):
    """The entry of a page (``{"items": [...]}``) with ``id == object_id``, or None."""
    return next((i for i in (body or {}).get("items", []) if i["id"] == object_id), None)


def _version_photos(versions) -> list[dict]:
    return [p for v in versions for p in v["content"].get("photos", [])]


def _contest_of(idea_id: int) -> int:
    from civic.proposals.contests.models import Idea

    return db.session.get(Idea, idea_id).contest_id


@dataclass(frozen=True)
class Listing:
    """A GET route whose JSON lists the kind's photos, and where in its body they are."""

    route: str
    # the photo entries the route gives a viewer (request headers) for the object, None where it shows
    # them nothing (the route refuses them, or its list does not hold the object)
    photos: Callable[[object, Shown, dict], list[dict] | None]
    sources: tuple[str, ...] = tuple(SOURCES)  # the builders whose object this route lists to someone


LISTINGS: dict[str, tuple[Listing, ...]] = {
    "complaints.photo": (
        Listing("GET /api/v1/complaints/{id}",
                lambda c, s, h: (b := _body(c, f"/api/v1/complaints/{s.object_id}", h)) and b["photos"]),
    ),
    "contests.photo": (
        Listing("GET /api/v1/ideas/{id}", lambda c, s, h: (b := _body(c, f"/api/v1/ideas/{s.object_id}", h))
                and b["photos"]),
        Listing("GET /api/v1/ideas/{id}/versions",
                lambda c, s, h: (b := _body(c, f"/api/v1/ideas/{s.object_id}/versions", h))
                and _version_photos(b["items"])),
        Listing("GET /api/v1/me/ideas", lambda c, s, h: (i := _item(_body(c, "/api/v1/me/ideas", h), s.object_id))
                and i["photos"]),
        # the media-kinds builder's idea awaits moderation: no list of the contest holds it yet
        Listing("GET /api/v1/contests/{contest_id}/ideas",
                lambda c, s, h: (i := _item(_body(c, f"/api/v1/contests/{_contest_of(s.object_id)}/ideas", h),
                                            s.object_id)) and i["photos"], sources=("review",)),
        Listing("GET /api/v1/moderation/idea/{id}",
                lambda c, s, h: (b := _body(c, f"/api/v1/moderation/idea/{s.object_id}", h))
                and _version_photos(b["versions"])),
    ),
    "village.voucher": (
        Listing("GET /api/v1/village-disclosures/{id}",
                lambda c, s, h: (b := _body(c, f"/api/v1/village-disclosures/{s.object_id}", h))
                and [v for line in b["lines"] for v in line["vouchers"]]),
    ),
}
# Blurred kinds no GET route lists, and where the JSON that does show them is tested.
NOT_LISTED = {
    "deliberation.action_photo": "no GET route shows an action item or its updates: the photos are listed only "
                                 "in the responses to the POSTs that add them (tests/proposals/deliberation/"
                                 "test_follow_up.py: test_action_photos_in_a_response_tell_the_poster_their_blur_state)",
}


def test_every_blurred_kind_has_its_json_listings_in_the_sweep(app):
    blurred = {name for name, kind in media.kinds().items() if kind.blurred}
    assert set(LISTINGS) | set(NOT_LISTED) == blurred, "a blurred kind needs its GET listings in LISTINGS"
    assert not set(LISTINGS) & set(NOT_LISTED)
    adapter = app.url_map.bind("localhost")
    for listings in LISTINGS.values():
        for listing in listings:  # each names a GET route the app has
            method, path = listing.route.split(" ", 1)
            assert method == "GET"
            adapter.match(re.sub(r"\{[^}]+\}", "1", path), method="GET")


@pytest.mark.parametrize("kind,source", [(k, s) for k in sorted(LISTINGS) for s in SOURCES])
def test_each_json_listing_of_a_blurred_photo_tells_each_viewer_its_blur_state(kind, source, request, app, client,
                                                                                factory):
    shown = SOURCES[source](kind, request, client, factory)
    db.session.rollback()
    originals = _stored_originals(kind)
    listings = [lst for lst in LISTINGS[kind] if source in lst.sources]

    def check(blurred: set[str]) -> tuple[set[int], set[str]]:
        """Every listing for every viewer; returns the viewers served the blurred rendition (or nothing
        yet) and the listings that showed the photo to someone."""
        beyond, used = set(), set()
        for i, headers in enumerate(shown.viewers):
            codes = {client.get(url, headers=headers).status_code for url in shown.urls}
            assert codes in ({200}, {409}), (i, codes)  # one rule for the viewer on the object's photos
            served = codes == {200}
            seen = 0
            for listing in listings:
                entries = listing.photos(client, shown, headers)
                if entries is None:
                    continue
                assert entries, (listing.route, i)
                used.add(listing.route)
                seen += 1
                for e in entries:
                    where = (listing.route, i, e)
                    if not served:  # the address answers 409: no address, and why
                        assert (e["blur_status"], e["url"], e["thumbnail_url"]) == ("pending", None, None), where
                        beyond.add(i)
                        continue
                    assert e["url"] in shown.urls and e["thumbnail_url"] == e["url"] + "?size=thumb", where
                    r = client.get(e["url"], headers=headers)
                    assert r.status_code == 200, where
                    if e["blur_status"] == "original":
                        assert _digest(r.data) in originals, where
                    else:
                        assert e["blur_status"] == "blurred" and blurred, where
                        assert _digest(r.data) in blurred and _digest(r.data) not in originals, where
                        beyond.add(i)
            assert seen, f"viewer {i} may see the photo, yet no listing of {kind} shows it to them"
        return beyond, used

    pending, used = check(set())
    assert used == {lst.route for lst in listings}, "a listing that showed the photo to no viewer"
    assert pending or (source == "media_kinds" and kind in BEYOND_TESTED_IN), "no viewer beyond the circle"

    run_blur_jobs()
    from civic.core.blur import PhotoBlur
    from civic.core.storage import media_store

    blurred: set[str] = set()
    for row in db.session.scalars(sa.select(PhotoBlur)):
        blurred |= {_digest(media_store().open(row.blurred_display_key)),
                    _digest(media_store().open(row.blurred_thumb_key))}
    after, _ = check(blurred)
    assert after == pending  # the same viewers, now given the blurred rendition's address


def test_links_refuse_a_blurred_kind_without_the_viewers_entitlement(app):
    """media.links, like media.opened, will not promise a blurred kind's photo to a viewer it was not
    told about: without the photo's key and whether the viewer sees the original it raises."""
    from civic.core import blur

    kinds = media.kinds()
    assert any(k.blurred for k in kinds.values()) and any(not k.blurred for k in kinds.values())
    for name, kind in kinds.items():
        if kind.blurred:
            for told in ({}, {"display_key": "ab/cd/x.jpg"}, {"original": True}):
                with pytest.raises(ValueError, match="blurred"):
                    media.links("/api/v1/x", 10, 10, kind=name, **told)
            shown = media.links("/api/v1/x", 10, 10, kind=name, display_key="ab/cd/x.jpg", original=False,
                                lookup=blur.lookup(["ab/cd/x.jpg"]))
            assert (shown["blur_status"], shown["url"], shown["thumbnail_url"]) == ("pending", None, None)
            with pytest.raises(KeyError):  # a photo the list's lookup missed
                media.links("/api/v1/x", kind=name, display_key="ab/cd/y.jpg", original=False,
                            lookup=blur.lookup(["ab/cd/x.jpg"]))
        else:
            assert media.links("/api/v1/x", 10, 10, kind=name) == {
                "url": "/api/v1/x", "thumbnail_url": "/api/v1/x?size=thumb", "width": 10, "height": 10,
                "blur_status": "original"}
    with pytest.raises(KeyError):
        media.links("/api/v1/x", kind="no.such_kind")


# --- the review's guards, for every blurred kind: detection first, concurrent reviews, old renditions -----

@pytest.mark.parametrize("kind", sorted(REVIEWS))
def test_each_blurred_kind_is_reviewed_only_after_detection_and_a_failed_one_is_queued_again(
        kind, request, app, client, factory):
    """F1: a review changes regions only of a photo whose detection ran.  Before the job: 409
    ``photo_blur_pending``.  After a failed job (its original unreadable, a real failure of the real
    job): the parties beyond the circle get 409 ``photo_blur_failed``; the reviewer's attempt is 409
    ``photo_blur_failed``, stores no region, marks nothing blurred and queues the detection again, which
    then succeeds (the photo heals) and the review works."""
    from civic.core.blur import PhotoBlur
    from civic.core.storage import media_store

    case = REVIEWS[kind](request, client, factory)
    db.session.rollback()
    review_url = case.url + "/blur"
    box = {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25}
    rows = db.session.scalars(sa.select(PhotoBlur)).all()
    assert rows and {r.status for r in rows} == {"pending"}

    r = client.post(review_url + "/regions", headers=case.reviewer, json=box)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "photo_blur_pending", r.get_json()

    # The job fails for real: the originals are not in the store when it runs.
    store = media_store()
    kept = {}
    for row in rows:
        for key in (row.display_key, row.thumb_key):
            kept[key] = store.open(key)
            store.delete(key)
    run_blur_jobs()
    db.session.expire_all()
    assert {r.status for r in db.session.scalars(sa.select(PhotoBlur))} == {"failed"}
    for key, data in kept.items():  # the store is back; only the queue can heal the row now
        assert store.put(data, key.rsplit(".", 1)[1]) == key

    r = client.get(case.url, headers=case.sees[0])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "photo_blur_failed", r.get_json()
    assert r.get_json()["error"]["details"]["blur_status"] == "failed"

    r = client.post(review_url + "/regions", headers=case.reviewer, json=box)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "photo_blur_failed", r.get_json()
    r = client.delete(review_url + "/regions/abcd1234", headers=case.reviewer)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "photo_blur_pending", r.get_json()
    db.session.expire_all()
    reviewed = db.session.scalar(sa.select(PhotoBlur).where(PhotoBlur.status == "pending"))
    assert reviewed is not None, "the failed photo the reviewer tried is queued again"
    assert (reviewed.regions, reviewed.blurred_display_key, reviewed.reviewed_by) == ([], None, None)
    r = client.get(case.url, headers=case.sees[0])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "photo_blur_pending"
    assert _review_trail(*case.audit_object) == []

    run_blur_jobs()  # the queued detection runs: the photo heals without anyone marking it
    db.session.expire_all()
    assert db.session.get(PhotoBlur, reviewed.id).status == "done"
    assert client.get(case.url, headers=case.sees[0]).status_code == 200
    r = client.post(review_url + "/regions", headers=case.reviewer, json=box)
    assert r.status_code == 201, r.get_json()


def _concurrently(app, calls: list[Callable]) -> list:
    """Run each of ``calls`` (taking a test client) in its own thread, started together."""
    import threading

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i):
        with app.test_client() as c:
            barrier.wait(timeout=30)
            results[i] = calls[i](c)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.mark.parametrize("kind", sorted(REVIEWS))
def test_each_blurred_kind_keeps_every_region_of_concurrent_reviews_and_only_the_current_rendition(
        kind, request, app, client, factory):
    """F2: six reviews adding a region at once (real threads, each its own request and transaction)
    all keep their region, and three removing one each at once all remove it: the row is locked
    before its regions are read.  F3: every rendition a review superseded is deleted from the store
    after the commit; the store holds the originals and the current rendition only.  F9: a box is
    JSON numbers and at least MIN_REGION wide and high (422)."""
    from civic.core.blur import MIN_REGION, PhotoBlur
    from civic.core.storage import media_store

    case = REVIEWS[kind](request, client, factory)
    db.session.rollback()
    run_blur_jobs()
    review_url = case.url + "/blur"
    store = media_store()
    db.session.expire_all()
    rows = {r.id: (r.blurred_display_key, r.blurred_thumb_key) for r in db.session.scalars(sa.select(PhotoBlur))}
    before = set(store.iter_keys())

    for bad, code in (({"x": "0.1", "y": 0.2, "w": 0.3, "h": 0.25}, None),
                      ({"x": 0.1, "y": 0.2, "w": True, "h": 0.25}, None),
                      ({"x": 0.1, "y": 0.2, "w": 1e-320, "h": 0.25}, "blur_region_invalid"),
                      ({"x": 0.1, "y": 0.2, "w": 0, "h": 0.25}, "blur_region_invalid"),
                      ({"x": 0.1, "y": 0.2, "w": 0.3, "h": MIN_REGION / 2}, "blur_region_invalid")):
        r = client.post(review_url + "/regions", headers=case.reviewer, json=bad)
        assert r.status_code == 422 and set(r.get_json()["error"]) >= {"code", "message"}, (bad, r.get_json())
        if code:
            assert r.get_json()["error"]["code"] == code, (bad, r.get_json())

    boxes = [{"x": 0.05 + 0.1 * i, "y": 0.1, "w": 0.05, "h": MIN_REGION} for i in range(6)]
    added = _concurrently(app, [lambda c, b=b: c.post(review_url + "/regions", headers=case.reviewer, json=b)
                                for b in boxes])
    assert [r.status_code for r in added] == [201] * 6, [r.get_json() for r in added]
    regions = client.get(review_url, headers=case.reviewer).get_json()["regions"]
    manual = sorted((g["x"], g["w"], g["h"]) for g in regions if g["source"] == "manual" and not g["removed"])
    assert manual == sorted((round(b["x"], 5), b["w"], b["h"]) for b in boxes), "a concurrent review lost a region"
    assert len(_review_trail(*case.audit_object)) == 6

    gone = [g["id"] for g in regions if g["source"] == "manual"][:3]
    removed = _concurrently(app, [lambda c, g=g: c.delete(f"{review_url}/regions/{g}", headers=case.reviewer)
                                  for g in gone])
    assert [r.status_code for r in removed] == [200] * 3, [r.get_json() for r in removed]
    regions = client.get(review_url, headers=case.reviewer).get_json()["regions"]
    assert sorted(g["id"] for g in regions if g["removed"]) == sorted(gone)
    assert len([g for g in regions if g["source"] == "manual" and not g["removed"]]) == 3

    db.session.expire_all()
    now = {r.id: (r.blurred_display_key, r.blurred_thumb_key) for r in db.session.scalars(sa.select(PhotoBlur))}
    changed = [i for i in rows if rows[i] != now[i]]
    assert len(changed) == 1  # the reviewed photo's row
    old, current = set(rows[changed[0]]), set(now[changed[0]])
    # Nine renditions were made; only the current one is kept, the job's first one deleted too.
    assert set(store.iter_keys()) == (before - old) | current
    assert client.get(case.url, headers=case.sees[0]).data == store.open(now[changed[0]][0])


# --- every route storing a photo of a blurred kind queues its blur ------------------------------

# What each multipart file route stores (the table of tests/foundation/test_upload_ids_sweep.py, which
# fails when a new file route appears; this one fails until the new route says what it stores).
STORES = {
    ("POST", "/api/v1/complaints"): "complaints.photo",
    ("POST", "/api/v1/complaints/{complaint_id}/photos"): "complaints.photo",
    ("POST", "/api/v1/complaints/{complaint_id}/supporters"): "complaints.photo",
    ("POST", "/api/v1/village-disclosures/{disclosure_id}/lines/{line_id}/vouchers"): "village.voucher",
    ("POST", "/api/v1/votes/{vote_id}/matters/{matter_id}/attachments"): "voting.matter_attachment",
    ("POST", "/api/v1/votes/{vote_id}/proxies"): "voting.proxy_scan",
    ("POST", "/api/v1/votes/{vote_id}/paper-ballots"): "voting.paper_scan",
    ("POST", "/api/v1/contest-photos"): "contests.photo",
    ("POST", "/api/v1/action-items/{item_id}/updates"): "deliberation.action_photo",
    ("POST", "/api/v1/action-items/{item_id}/close"): "deliberation.action_photo",
    ("POST", "/api/v1/my/unit-claims"): "residents.claim_document",
}
_FULL_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,8}")


def test_the_stores_table_lists_every_file_route(app):
    from tests.foundation.test_upload_ids_sweep import ROUTES

    assert sorted(STORES) == sorted(ROUTES), "say which media kind the new file route stores"
    assert set(STORES.values()) <= set(media.kinds())


def _keys_by_kind() -> dict[str, set[str]]:
    """Every store key held by a media column, by the column's kind (JSON lists of photos included)."""
    from tests.foundation.test_media_kinds import _media_columns

    db.session.expire_all()
    out: dict[str, set[str]] = {}
    for (table, column), kind in _media_columns().items():
        t = db.metadata.tables[table]
        for value in db.session.scalars(sa.select(t.c[column])):
            if value is not None:
                text = value if isinstance(value, str) else json.dumps(value)
                out.setdefault(kind, set()).update(_FULL_KEY.findall(text))
    return out


def _blur_rows() -> dict[str, tuple[str, str]]:
    """``{original key (display or thumbnail): (display key, status)}`` of every photo_blur row."""
    from civic.core.blur import PhotoBlur

    db.session.expire_all()
    out = {}
    for row in db.session.scalars(sa.select(PhotoBlur)):
        out[row.display_key] = out[row.thumb_key] = (row.display_key, row.status)
    return out


@pytest.mark.parametrize("route", sorted(STORES), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_route_storing_a_blurred_kind_queues_the_blur_of_each_photo(route, request, app, client, tmp_path,
                                                                           monkeypatch):
    """Issue #19: a photo of a blurred kind stored by any route has its ``photo_blur`` row (pending, its
    job queued) from the request that stored it, and the job makes it ``done``; without the row the
    photo stays ``pending`` with no address for everyone beyond the circle, forever."""
    from tests.foundation.test_upload_ids_sweep import ROUTES, tus_upload
    from tests.shared import PHOTOS

    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))  # a fresh content-addressed store
    monkeypatch.setitem(app.config, "MEDIA_URL", None)
    kind = STORES[route]
    headers, url, fields, _purpose = ROUTES[route].build(request, client)
    db.session.commit()
    uid = tus_upload(app, headers, (PHOTOS / "ianare_landscape_3.jpg").read_bytes(), kind=ROUTES[route].kind,
                     filename="现场.jpg")
    before = _keys_by_kind()
    r = client.post(url, headers=headers, content_type="multipart/form-data", data={**fields, "upload_ids": uid})
    assert r.status_code in (200, 201), (route, r.get_json())
    after = _keys_by_kind()
    new = {k: after.get(k, set()) - before.get(k, set()) for k in after}
    assert {k for k, v in new.items() if v} == {kind}, new  # the table says what the route stores
    stored = new[kind]
    rows = _blur_rows()
    if not media.kinds()[kind].blurred:
        assert not stored & set(rows), "a kind not blurred has no blur rows"
        return
    assert len(stored) >= 2  # a display copy and its thumbnail
    assert {k: rows.get(k, (None, None))[1] for k in stored} == dict.fromkeys(stored, "pending")
    run_blur_jobs()
    rows = _blur_rows()
    assert {k: rows[k][1] for k in stored} == dict.fromkeys(stored, "done")
