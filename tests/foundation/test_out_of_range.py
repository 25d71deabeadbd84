"""Numbers beyond what the database holds are a 404 (in a URL) or a 422 (in a body), never a 500."""

from __future__ import annotations

import io

HUGE = "999999999999999999999999"


def test_a_huge_id_in_a_url_is_not_found(client, factory):
    h = factory.token(factory.resident())
    for url in (f"/api/v1/complaints/{HUGE}", f"/api/v1/complaints/{HUGE}/history",
                "/api/v1/places/2147483648", f"/api/v1/complaints/{HUGE}/photos/abc"):
        r = client.get(url, headers=h)
        assert r.status_code == 404, (url, r.status_code)
        assert r.get_json()["error"]["code"] == "not_found"
    r = client.post(f"/api/v1/complaints/{HUGE}/rating", json={"rating": 5}, headers=h)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_a_huge_id_in_a_form_is_a_422(client, factory, shared_dir):
    h = factory.token(factory.resident())
    photo = (shared_dir / "photos" / "ianare_portrait_6.jpg").read_bytes()
    r = client.post("/api/v1/complaints", headers=h, content_type="multipart/form-data",
                    data={"category": "noise", "description": "楼上深夜噪声", "place_id": HUGE,
                          "photos": [(io.BytesIO(photo), "p.jpg")]})
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["code"] in ("value_out_of_range", "validation_failed")
