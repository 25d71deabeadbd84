"""Complaint photos with the media in an S3-compatible bucket (CIVIC_MEDIA_URL; issue #17 point 1),
against a real S3 server the tests start (moto, tests/s3.py): the upload lands in the bucket under its
content key and nowhere on disk, and is served only through civic's access check, with the audit."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from civic.complaints.models import Complaint, ComplaintPhoto
from civic.extensions import db
from tests.complaints.helpers import audit_entries, jpeg, media_files, post_case
from tests.foundation.conftest import free_port


@pytest.fixture
def in_bucket(app, bucket, monkeypatch):
    """The session's app with its media in a fresh bucket under the prefix ``pudong``."""
    for name, value in bucket.config("pudong").items():
        monkeypatch.setitem(app.config, name, value)
    return bucket


def test_an_uploaded_photo_lands_in_the_bucket_and_not_on_disk(client, app, w, in_bucket):
    before = media_files(app)
    r = post_case(client, w.rh, photos=[("p.jpg", jpeg(w=480, h=360))], place_id=w.units[0].id)
    assert r.status_code == 201, r.get_json()
    row = db.session.scalars(sa.select(ComplaintPhoto)).one()
    objects = in_bucket.objects()
    assert set(objects) == {f"pudong/{row.display_key}", f"pudong/{row.thumb_key}"}
    for key in (row.display_key, row.thumb_key):
        digest = key.rsplit("/", 1)[1].split(".")[0]
        assert hashlib.sha256(objects[f"pudong/{key}"]).hexdigest() == digest
    head = in_bucket.client.head_object(Bucket=in_bucket.name, Key=f"pudong/{row.display_key}")
    assert head["ContentType"] == "image/jpeg" and head["Metadata"] == {"sha256": digest_of(row.display_key)}
    assert media_files(app) == before


def digest_of(key):
    return key.rsplit("/", 1)[1].split(".")[0]


def test_the_same_photo_twice_is_one_object(client, w, in_bucket):
    photo = jpeg(w=480, h=360, colour=(10, 120, 200))  # larger than a thumbnail: two copies
    for _ in range(2):
        assert post_case(client, w.rh, photos=[("p.jpg", photo)], place_id=w.units[0].id).status_code == 201
    rows = db.session.scalars(sa.select(ComplaintPhoto)).all()
    assert len(rows) == 2 and rows[0].display_key == rows[1].display_key
    assert rows[0].thumb_key != rows[0].display_key
    assert set(in_bucket.objects()) == {f"pudong/{rows[0].display_key}", f"pudong/{rows[0].thumb_key}"}


def test_the_photo_is_served_from_the_bucket_to_those_entitled_and_404_to_others(client, w, in_bucket):
    r = post_case(client, w.rh, photos=[("p.jpg", jpeg(w=400, h=300))], place_id=w.units[0].id)
    cid, p = r.get_json()["id"], r.get_json()["photos"][0]
    row = db.session.scalars(sa.select(ComplaintPhoto)).one()
    objects = in_bucket.objects()
    _, stranger = w.other_resident(unit=2, name="王五")
    from civic.core.blur import PhotoBlur
    from tests.blur_helpers import run_blur_jobs

    run_blur_jobs()  # the street centre gets the blurred rendition (issue #19), read from the bucket too
    blur = db.session.scalars(sa.select(PhotoBlur)).one()
    objects = in_bucket.objects()
    for who, key, thumb_key in ((w.rh, row.display_key, row.thumb_key),
                                (w.h["street_centre"], blur.blurred_display_key, blur.blurred_thumb_key)):
        got = client.get(p["url"], headers=who)
        assert got.status_code == 200 and got.mimetype == "image/jpeg"
        assert got.data == objects[f"pudong/{key}"]
        assert got.headers["Cache-Control"].startswith("private")
        thumb = client.get(p["thumbnail_url"], headers=who)
        assert thumb.status_code == 200 and thumb.data == objects[f"pudong/{thumb_key}"]
    opened = audit_entries(cid, "media.opened")
    assert len(opened) == 4

    refused = client.get(p["url"], headers=stranger)
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "complaint_not_found"
    wrong = client.get(f"/api/v1/complaints/{cid}/photos/{'x' * 43}", headers=w.rh)
    assert wrong.status_code == 404
    assert len(audit_entries(cid, "media.opened")) == 4  # the refusals opened nothing


def test_a_photo_lost_from_the_bucket_is_404_media_not_found(client, w, in_bucket):
    r = post_case(client, w.rh, photos=[("p.jpg", jpeg())], place_id=w.units[0].id)
    row = db.session.scalars(sa.select(ComplaintPhoto)).one()
    in_bucket.client.delete_object(Bucket=in_bucket.name, Key=f"pudong/{row.display_key}")
    got = client.get(r.get_json()["photos"][0]["url"], headers=w.rh)
    assert got.status_code == 404 and got.get_json()["error"]["code"] == "media_not_found"


def test_a_bucket_out_of_reach_is_503_and_keeps_no_case(client, app, w, in_bucket, monkeypatch):
    r = post_case(client, w.rh, photos=[("p.jpg", jpeg())], place_id=w.units[0].id)
    url = r.get_json()["photos"][0]["url"]
    dead = in_bucket.url("pudong").replace(in_bucket.server.endpoint, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setitem(app.config, "MEDIA_URL", dead)

    got = client.get(url, headers=w.rh)
    assert got.status_code == 503 and got.get_json()["error"]["code"] == "media_unavailable"
    refused = post_case(client, w.rh, photos=[("q.jpg", jpeg(colour=(1, 2, 3)))], place_id=w.units[0].id)
    assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "media_unavailable"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 1
