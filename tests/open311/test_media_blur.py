"""An Open311 read shows a case's photo only with faces and number plates blurred (issue #19), on a
real corpus photo: ``media_url`` is empty until the blurred rendition exists, then it serves it."""

from __future__ import annotations

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


def test_media_url_serves_the_blurred_photo_once_it_exists(client, factory):
    from tests.complaints.helpers import World

    w = World(factory)
    body, ctype = multipart({"category": "public_space_occupation", "description": "人行道上摆满摊位。",
                             "place_id": w.units[0].id}, [("photos", "city.jpg", phone_jpeg(CITY))])
    case = client.post("/api/v1/complaints", data=body, headers=w.rh, content_type=ctype).get_json()
    original = client.get(case["photos"][0]["url"], headers=w.rh).data

    read = client.get(f"/open311/v2/requests/{case['id']}.json").get_json()
    assert read[0]["media_url"] is None  # never the original, and nothing before the blur

    run_blur_jobs()
    read = client.get(f"/open311/v2/requests/{case['id']}.json").get_json()
    url = read[0]["media_url"]
    assert url.startswith("http://localhost/open311/v2/media/") and url.endswith(".jpg")
    r = client.get(url.removeprefix("http://localhost"))
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.data != original
    orig, blurred = image(original), image(r.data)
    for box in face_boxes(CITY, orig.size):
        assert mean_abs_diff(orig, blurred, box) > 8, box
    assert faces_found(blurred) == 0
    # The list read carries the same address; a forged token is 404.
    listed = client.get("/open311/v2/requests.json").get_json()
    assert [x["media_url"] for x in listed if x["service_request_id"] == str(case["id"])] == [url]
    assert client.get(url.removeprefix("http://localhost")[:-8] + "AAAA.jpg").status_code == 404
    # Revalidated on every read (a review makes a new rendition under this address): the file's
    # content hash as ETag, 304 without a body on a match, the bytes again for any other tag.
    import hashlib

    path = url.removeprefix("http://localhost")
    assert r.headers["Cache-Control"] == "public, no-cache"
    assert r.headers["ETag"] == f'"{hashlib.sha256(r.data).hexdigest()}"'
    same = client.get(path, headers={"If-None-Match": r.headers["ETag"]})
    assert same.status_code == 304 and same.data == b""
    other = client.get(path, headers={"If-None-Match": f'"{hashlib.sha256(original).hexdigest()}"'})
    assert other.status_code == 200 and other.data == r.data


def test_a_file_lost_from_the_store_is_404_on_both_addresses_and_names_no_key(client, factory):
    """The store lost a case photo's files: its API address and its Open311 media_url both answer
    404 (the Open311 one in the standard's error format), and no answer names a store key."""
    import sqlalchemy as sa

    from civic.complaints.models import ComplaintPhoto
    from civic.core import blur
    from civic.core.storage import media_store
    from civic.extensions import db
    from tests.complaints.helpers import World

    w = World(factory)
    body, ctype = multipart({"category": "public_space_occupation", "description": "人行道上摆满摊位。",
                             "place_id": w.units[0].id}, [("photos", "city.jpg", phone_jpeg(CITY))])
    case = client.post("/api/v1/complaints", data=body, headers=w.rh, content_type=ctype).get_json()
    run_blur_jobs()
    api_url = case["photos"][0]["url"]
    media_url = client.get(f"/open311/v2/requests/{case['id']}.json").get_json()[0]["media_url"]
    media_url = media_url.removeprefix("http://localhost")
    assert client.get(api_url, headers=w.rh).status_code == 200 and client.get(media_url).status_code == 200

    row = db.session.scalars(sa.select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == case["id"])).one()
    blurred = blur.keys_for(row.display_key, row.thumb_key, original=False)
    keys = {row.display_key, row.thumb_key, *blurred}
    for key in keys:
        media_store().delete(key)
    digests = {k.rsplit("/", 1)[1].split(".")[0] for k in keys}

    for url, headers in ((api_url, w.rh), (f"{api_url}?size=thumb", w.rh)):
        r = client.get(url, headers=headers)  # the case's filer: the original
        assert r.status_code == 404, r.data
        assert r.get_json()["error"] == {"code": "media_not_found", "message": "找不到该文件", "details": {}}
        assert not any(d[:16] in r.get_data(as_text=True) for d in digests)
    for url in (media_url, f"{media_url}?size=thumb"):  # anyone: the blurred rendition
        r = client.get(url)
        assert r.status_code == 404, r.data
        assert r.mimetype == "text/xml" and b"media_not_found" in r.data
        assert not any(d[:16] in r.get_data(as_text=True) for d in digests)
