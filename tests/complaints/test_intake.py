"""Intake (issue 3 point 1): category, tidied Chinese description, where, photos, consent,
idempotent retries, and the answer is the routed case."""

from __future__ import annotations

import csv
import re

import pytest
import sqlalchemy as sa

from civic.complaints.models import Complaint
from civic.core.geo import from_wgs84
from civic.core.text import tidy
from civic.extensions import db
from tests.complaints.helpers import CENTRE, jpeg, message, post_case
from tests.conftest import SHARED


def sample_message(mid: str) -> str:
    with (SHARED / "data" / "messages_sample.csv").open(encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["id"] == mid)
    return f"{row['title']}\n{row['body']}"


def visible(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("_x000D_", ""))


def n_complaints() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Complaint))


@pytest.mark.parametrize("raw", [
    pytest.param(lambda: message("230469"), id="230469-3691-chars"),
    pytest.param(lambda: message("208618"), id="208618-3020-chars"),
    pytest.param(lambda: sample_message("10073"), id="10073-excel-x000D"),
    pytest.param(lambda: message("191699"), id="191699-ideographic-spaces"),
])
def test_real_messages_are_tidied_without_losing_text(client, w, raw):
    text = raw()
    r = post_case(client, w.rh, category="other", description=text, place_id=w.units[0].id)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()["description"]
    assert got == tidy(text)
    assert visible(got) == visible(text)  # every visible character kept, in order
    assert "_x000D_" not in got and "\r" not in got and "\u3000" not in got and "\xa0" not in got


def test_message_with_x000d_really_had_the_escape():
    assert "_x000D_" in sample_message("10073")
    assert len(message("230469")) > 3000


def test_description_over_4000_characters_is_refused_and_nothing_kept(client, w):
    text = message("230469") + "\n" + message("208618")  # two real letters, 6,700 characters
    r = post_case(client, w.rh, description=text, place_id=w.units[0].id)
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "text_too_long"
    assert r.get_json()["error"]["details"]["max"] == 4000
    assert n_complaints() == 0


def test_a_nul_in_a_form_field_is_refused_and_nothing_kept(client, w):
    r = post_case(client, w.rh, description="楼道\x00堆物", place_id=w.units[0].id)
    assert r.status_code == 400
    assert r.get_json()["error"] == {"code": "invalid_text", "message": "请求中含有无效字符（NUL 或不成对的 UTF-16 代理项）",
                                     "details": {"reason": "nul"}}
    assert n_complaints() == 0


def test_controls_and_bidi_overrides_leave_the_description(client, w):
    r = post_case(client, w.rh, description="楼道\x1b[31m堆物\u202e严重\x07", place_id=w.units[0].id)
    assert r.status_code == 201, r.get_json()
    assert db.session.scalar(sa.select(Complaint.description)) == "楼道[31m堆物严重"


def test_blank_description_is_text_required(client, w):
    r = post_case(client, w.rh, description=" \u3000\n\t", place_id=w.units[0].id)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "text_required"


def test_category_outside_the_glossary_is_refused(client, w):
    r = post_case(client, w.rh, category="parking", place_id=w.units[0].id)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "category_unknown"


def test_no_photo_is_photos_required(client, w):
    r = post_case(client, w.rh, photos=[], place_id=w.units[0].id)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "photos_required"
    assert n_complaints() == 0


def test_ten_photos_is_too_many_nine_is_fine(client, w):
    ten = [(f"p{i}.jpg", jpeg(colour=(i * 20, 10, 10))) for i in range(10)]
    r = post_case(client, w.rh, photos=ten, place_id=w.units[0].id)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "too_many_photos"
    assert r.get_json()["error"]["details"] == {"max": 9, "count": 10}
    r = post_case(client, w.rh, photos=ten[:9], place_id=w.units[0].id)
    assert r.status_code == 201 and len(r.get_json()["photos"]) == 9


def test_the_answer_is_the_routed_case(client, w):
    r = post_case(client, w.rh, category="noise", description=message("191699"), place_id=w.units[0].id)
    assert r.status_code == 201
    case = r.get_json()
    assert isinstance(case["id"], int) and case["status"] == "routed"
    assert case["lead"] == {"id": w.orgs["police"].id, "kind": "police", "name": "测试派出所"}
    assert [o["name"] for o in case["assisting"]] == ["测试物业公司", "测试居委会"]
    assert case["lead_fallback"] is False
    assert case["place"] == {"id": w.units[0].id, "kind": "unit", "name": "101室"}
    assert case["location_source"] == "place"
    # noise: acknowledge within 1 working day, resolve within 5, end of day in Beijing time
    assert case["acknowledge_due"].endswith("T23:59:59+08:00")
    assert case["resolve_due"].endswith("T23:59:59+08:00")
    assert case["resolve_due"] > case["acknowledge_due"]
    assert case["possible_duplicates"] == []
    assert case["complainant"]["display_name"] == "张小红"
    assert case["complainant"]["phone"] == "138****1234"


@pytest.mark.parametrize("which,kind", [("building", "building"), ("compound", "compound")])
def test_a_building_or_compound_can_be_the_place(client, w, which, kind):
    r = post_case(client, w.rh, place_id=getattr(w, which).id)
    assert r.status_code == 201 and r.get_json()["place"]["kind"] == kind


def test_a_community_is_not_a_place_for_a_case(client, w):
    r = post_case(client, w.rh, place_id=w.community.id)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "place_kind_invalid"


def test_a_gcj02_point_from_the_mini_program_is_placed_by_the_boundaries(client, w):
    lat, lng = from_wgs84(*CENTRE, "gcj02")
    assert abs(lat - CENTRE[0]) + abs(lng - CENTRE[1]) > 0.003  # GCJ-02 really is shifted ~500 m here
    r = post_case(client, w.rh, lat=lat, lng=lng, datum="gcj02")
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["place"]["id"] == w.compound.id and case["location_source"] == "point"
    assert case["lead"]["id"] == w.orgs["residents_committee"].id  # "other" → RC
    row = db.session.get(Complaint, case["id"])
    assert abs(row.lat - CENTRE[0]) < 1e-4 and abs(row.lng - CENTRE[1]) < 1e-4  # stored as WGS-84


def test_a_point_outside_every_boundary_is_location_not_covered(client, w):
    r = post_case(client, w.rh, lat=39.9087, lng=116.3975, datum="gcj02")  # Beijing
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "location_not_covered"
    assert n_complaints() == 0


def test_a_point_without_its_datum_is_refused(client, w):
    r = post_case(client, w.rh, lat=CENTRE[0], lng=CENTRE[1])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "location_incomplete"


def test_a_free_address_is_routed_by_the_residents_own_unit(client, w):
    r = post_case(client, w.rh, address="测试花园东门外绿化带")
    assert r.status_code == 201
    case = r.get_json()
    assert case["address"] == "测试花园东门外绿化带" and case["location_source"] == "address"
    assert case["place"]["id"] == w.units[0].id


def test_no_location_at_all_is_location_required(client, w):
    r = post_case(client, w.rh)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "location_required"


def test_a_retried_upload_with_the_same_key_makes_one_case(client, w):
    first = post_case(client, w.rh, place_id=w.units[0].id, key="upload-1")
    again = post_case(client, w.rh, place_id=w.units[0].id, key="upload-1")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert n_complaints() == 1


def test_the_same_key_with_another_body_is_409(client, w):
    post_case(client, w.rh, place_id=w.units[0].id, key="upload-2")
    r = post_case(client, w.rh, place_id=w.units[0].id, key="upload-2", description="另一件事：电梯坏了。")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "idempotency_key_reused"
    r = post_case(client, w.rh, place_id=w.units[0].id, key="upload-2", photos=[("x.jpg", jpeg(colour=(1, 2, 3)))])
    assert r.status_code == 409
    assert n_complaints() == 1


def test_staff_cannot_file_a_complaint(client, w):
    r = post_case(client, w.h["property_company"], place_id=w.units[0].id)
    assert r.status_code == 403


def test_suggest_proposes_glossary_categories(client, w):
    r = client.post("/api/v1/complaints/suggest", json={"text": "隔壁房子被改成群租房，住了二十几个人"}, headers=w.rh)
    assert r.status_code == 200
    got = r.get_json()
    assert set(got) == {"verdict", "prompt", "not_a_complaint", "suggestions"}
    assert got["verdict"] == "likely" and got["prompt"] is None
    assert got["suggestions"][0]["category"] == "group_renting"
    assert got["suggestions"][0]["name"] == "群租" and got["suggestions"][0]["score"] > 0.5
    assert all(set(s) == {"category", "name", "score"} for s in got["suggestions"])


def test_suggest_takes_a_long_real_message_in_the_body_not_the_url(client, w):
    # 230469: 3,691 characters, far past what a URL carries (issue 15 point 12).
    text = message("230469")
    assert 3000 < len(tidy(text)) <= 4000
    r = client.post("/api/v1/complaints/suggest", json={"text": text}, headers=w.rh)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["suggestions"][0]["category"] == "other"  # land requisition compensation
    r = client.get("/api/v1/complaints/suggest", query_string={"text": text}, headers=w.rh)
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "text_too_long"
    assert r.get_json()["error"]["details"] == {"field": "text", "max": 300, "length": len(tidy(text))}


def test_suggest_by_post_has_the_description_limit(client, w):
    ok = client.post("/api/v1/complaints/suggest", json={"text": "群租" * 2000}, headers=w.rh)
    assert ok.status_code == 200 and ok.get_json()["suggestions"][0]["category"] == "group_renting"
    r = client.post("/api/v1/complaints/suggest", json={"text": "群租" * 2000 + "房"}, headers=w.rh)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "text_too_long" and "4000" in err["message"]
    assert err["details"] == {"field": "text", "max": 4000, "length": 4001}


def test_suggest_by_get_keeps_short_texts(client, w):
    r = client.get("/api/v1/complaints/suggest", query_string={"text": "群租" * 150}, headers=w.rh)
    assert r.status_code == 200 and r.get_json()["suggestions"][0]["category"] == "group_renting"
    r = client.get("/api/v1/complaints/suggest", query_string={"text": "群租" * 150 + "房"}, headers=w.rh)
    assert r.status_code == 422 and r.get_json()["error"]["details"]["max"] == 300


@pytest.mark.parametrize("body", [{}, {"text": None}, {"text": 5}])
def test_suggest_needs_text(client, w, body):
    r = client.post("/api/v1/complaints/suggest", json=body, headers=w.rh)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_failed"
    assert "text" in r.get_json()["error"]["details"]["fields"]["json"]
    r = client.get("/api/v1/complaints/suggest", headers=w.rh)
    assert r.status_code == 422


def test_suggest_blank_text_is_text_required(client, w):
    r = client.post("/api/v1/complaints/suggest", json={"text": " \u3000\n"}, headers=w.rh)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "text_required"


def test_suggest_body_over_the_json_limit_states_the_limit(app, client, w):
    limit = app.config["MAX_JSON_BYTES"]
    r = client.post("/api/v1/complaints/suggest", json={"text": "群" * limit}, headers=w.rh)
    assert r.status_code == 413
    err = r.get_json()["error"]
    assert err["code"] == "payload_too_large" and err["details"] == {"max_bytes": limit}
    assert "1 MB" in err["message"] and str(limit) in err["message"]


def test_suggest_is_documented_as_a_post_with_a_body(client):
    doc = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/complaints/suggest"]
    body = doc["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/SuggestBody")
    assert doc["get"]["deprecated"] is True and "300" in doc["get"]["summary"]


