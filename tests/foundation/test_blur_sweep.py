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
  rendition, not the original.
"""

from __future__ import annotations

import hashlib
import inspect

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
        if "media_store().open" in source and rule.rule not in kind_routes:
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
