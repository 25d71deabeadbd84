"""Duplicates that staff see (issue #18 point 4): ``GET /complaints/{id}/duplicates`` for the case's
parties with each candidate's reasons and nothing of other reporters; merging from there; buildings
with coordinates so a unit picked from the list and a pin on the map meet; the same photo flagged
whatever the category and place; ``other`` cases compared by their words."""

from __future__ import annotations

import io

import sqlalchemy as sa

from civic.complaints.models import ComplaintPhotoHash, ComplaintPhotoHashBand
from civic.complaints.service.duplicates import PHASH_MAX_DISTANCE, photo_hash, text_similarity
from civic.core.geo import from_wgs84
from civic.extensions import db
from tests.complaints.helpers import CENTRE, act, jpeg, message, photo, post_case, square

CANDIDATE_KEYS = {"id", "category", "category_name", "status", "created_at", "mergeable", "reasons", "reason_names"}


def dups(client, headers, cid):
    r = client.get(f"/api/v1/complaints/{cid}/duplicates", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def pin_north(metres):
    return from_wgs84(CENTRE[0] + metres / 111_320, CENTRE[1], "gcj02")


def shrunk(name: str, scale: float = 0.6, quality: int = 70) -> bytes:
    """The same photo as a messaging app forwards it: turned upright, smaller, re-compressed, its
    EXIF gone."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(photo(name))) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im = im.resize((int(im.width * scale), int(im.height * scale)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


# ---- who sees them, and what ---------------------------------------------------------------------


def test_the_lead_party_sees_a_cases_duplicates_with_their_reasons_and_nothing_of_other_reporters(client, w):
    _, neighbour = w.other_resident(unit=1, name="王五")  # 102, same building as 101
    a = post_case(client, w.rh, category="ebike_charging", description="楼道里有人拉飞线给电瓶车充电。",
                  place_id=w.units[0].id).get_json()
    b = post_case(client, neighbour, category="ebike_charging", description="一楼楼道飞线充电，太危险了。",
                  place_id=w.units[1].id).get_json()
    seen = dups(client, w.h["property_company"], a["id"])
    assert seen["complaint_id"] == a["id"] and seen["may_merge"] is False  # the lead handles, triage merges
    [cand] = seen["candidates"]
    assert set(cand) == CANDIDATE_KEYS
    assert (cand["id"], cand["category"], cand["category_name"], cand["status"], cand["mergeable"]) == (
        b["id"], "ebike_charging", "电动自行车违规充电", "routed", True)
    assert cand["reasons"]["same_building"] is True and cand["reasons"]["photo_distance"] is None
    assert cand["reasons"]["distance_m"] is None  # both placed from the list: the building decides
    assert "同一楼栋" in cand["reason_names"] and "同一类别" in cand["reason_names"]
    text = str(seen)
    assert "王五" not in text and "137" not in text and "102" not in text and "飞线充电，太危险" not in text
    assert dups(client, w.h["residents_committee"], a["id"])["may_merge"] is True


def test_whoever_may_not_see_the_case_gets_404_as_for_the_case(client, w, factory):
    from civic.property import service as reg

    a = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()
    other = reg.create_place(kind="compound", code="C-ELSE", name="别的小区", parent=w.community)
    stranger = factory.token(factory.staff(factory.org("property_company", [other], name="别的物业")))
    _, outsider = w.other_resident(unit=2)
    for h in (stranger, outsider):
        r = client.get(f"/api/v1/complaints/{a['id']}/duplicates", headers=h)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "complaint_not_found"
        assert client.get(f"/api/v1/complaints/{a['id']}", headers=h).status_code == 404


def test_the_reporter_sees_the_nearby_cases_of_the_same_category_only(client, w):
    _, neighbour = w.other_resident(unit=1)
    a = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()
    post_case(client, neighbour, category="other", description="楼道里有人拉飞线给电瓶车充电。",
              place_id=w.units[1].id)
    b = post_case(client, neighbour, category="ebike_charging", place_id=w.units[1].id).get_json()
    mine = dups(client, w.rh, a["id"])
    assert [c["id"] for c in mine["candidates"]] == [b["id"]] and mine["may_merge"] is False


# ---- merging from there ----------------------------------------------------------------------------


def test_the_triage_merges_a_candidate_from_the_list_once(client, w):
    _, neighbour = w.other_resident(unit=1)
    a = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()
    b = post_case(client, neighbour, category="ebike_charging", place_id=w.units[1].id).get_json()
    [cand] = dups(client, w.h["residents_committee"], a["id"])["candidates"]
    key = {**w.h["residents_committee"], "Idempotency-Key": "merge-b-into-a-1"}
    first = client.post(f"/api/v1/complaints/{cand['id']}/transitions", headers=key,
                        json={"action": "merge", "into_id": a["id"], "note": "同一楼道飞线充电"})
    assert first.status_code == 200, first.get_json()
    again = client.post(f"/api/v1/complaints/{cand['id']}/transitions", headers=key,
                        json={"action": "merge", "into_id": a["id"], "note": "同一楼道飞线充电"})
    assert again.status_code == 200 and again.get_json() == first.get_json()  # the retried request
    fresh = act(client, w.h["residents_committee"], b["id"], "merge", into_id=a["id"])
    assert fresh.status_code == 409 and fresh.get_json()["error"]["code"] == "complaint_merged"
    assert dups(client, w.h["residents_committee"], a["id"])["candidates"] == []
    from tests.complaints.helpers import audit_entries

    assert [e.data for e in audit_entries(a["id"], "complaint.merged_in")] == [{"merged": b["id"]}]


# ---- buildings have coordinates ------------------------------------------------------------------


def test_a_unit_picked_from_the_list_and_a_pin_on_the_map_meet(client, w):
    _, neighbour = w.other_resident(unit=1)
    listed = post_case(client, w.rh, category="public_space_occupation", place_id=w.units[0].id).get_json()
    lat, lng = pin_north(40)
    pinned = post_case(client, neighbour, category="public_space_occupation", lat=lat, lng=lng,
                       datum="gcj02").get_json()
    [dup] = pinned["possible_duplicates"]
    assert dup["id"] == listed["id"] and 35 < dup["distance_m"] < 45
    [cand] = dups(client, w.h["residents_committee"], listed["id"])["candidates"]
    assert cand["id"] == pinned["id"] and 35 < cand["reasons"]["distance_m"] < 45


def test_a_building_without_a_point_stands_at_its_footprint_or_its_compound(factory, w):
    from civic.property import service as reg

    compound = reg.create_place(kind="compound", code=factory._code("C"), name="无中心小区", parent=w.community,
                                boundary=square(CENTRE[0] + 0.002, CENTRE[1], 150))
    b1 = reg.create_place(kind="building", code=factory._code("B"), name="1号楼", parent=compound)
    assert abs(b1.centre_lat - (CENTRE[0] + 0.002)) < 1e-6 and abs(b1.centre_lng - CENTRE[1]) < 1e-6
    b2 = reg.create_place(kind="building", code=factory._code("B"), name="2号楼", parent=compound,
                          boundary=square(CENTRE[0] + 0.0025, CENTRE[1] + 0.001, 15))
    assert abs(b2.centre_lat - (CENTRE[0] + 0.0025)) < 1e-6 and abs(b2.centre_lng - (CENTRE[1] + 0.001)) < 1e-6
    b3 = reg.create_place(kind="building", code=factory._code("B"), name="3号楼", parent=compound,
                          centre=(31.1, 121.1))
    assert (b3.centre_lat, b3.centre_lng) == (31.1, 121.1)  # the registry's own point wins
    assert w.building.centre_lat == CENTRE[0]  # the test compound's centre


def test_the_migration_gives_existing_buildings_coordinates_and_the_rules_their_sources(tmp_path):
    import json

    from tests.foundation.test_migrations import _flask_db

    url = f"sqlite:///{tmp_path / 'mig.db'}"
    assert _flask_db(url, "upgrade", "0023_spatial").returncode == 0
    engine = sa.create_engine(url)
    boundary = json.dumps({"type": "Polygon", "coordinates": [[[121.50, 31.20], [121.51, 31.20], [121.51, 31.21],
                                                               [121.50, 31.21], [121.50, 31.20]]]})
    with engine.begin() as conn:
        for pid, kind, parent, lat, lng, bnd in [(1, "district", None, None, None, None),
                                                 (2, "street", 1, None, None, None),
                                                 (3, "community", 2, None, None, None),
                                                 (4, "compound", 3, None, None, boundary),
                                                 (5, "building", 4, None, None, None),
                                                 (6, "compound", 3, 31.3, 121.3, None),
                                                 (7, "building", 6, None, None, None),
                                                 (8, "building", 6, 31.31, 121.31, None)]:
            conn.execute(sa.text(
                "INSERT INTO place (id, kind, code, name, parent_id, path, centre_lat, centre_lng, boundary, "
                "created_at, updated_at) VALUES (:id, :kind, :code, :name, :parent, :path, :lat, :lng, :b, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"id": pid, "kind": kind, "code": f"P{pid}", "name": f"地点{pid}", "parent": parent, "path": f"/{pid}/",
                 "lat": lat, "lng": lng, "b": bnd})
        conn.execute(sa.text(
            "INSERT INTO routing_rule (district_id, category, lead_kind, assist_kinds, acknowledge_amount, "
            "acknowledge_unit, resolve_amount, resolve_unit, reveal_kinds, referrals, updated_at) VALUES "
            "(NULL, 'noise', 'police', '[]', 1, 'working_days', 5, 'working_days', '[]', '[]', CURRENT_TIMESTAMP)"))
    done = _flask_db(url, "upgrade")
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        points = dict(conn.execute(sa.text("SELECT id, centre_lat || ',' || centre_lng FROM place "
                                           "WHERE kind = 'building'")).all())
        rules = dict(conn.execute(sa.text("SELECT category, basis FROM routing_rule")).all())
    engine.dispose()
    lat5, lng5 = (float(x) for x in points[5].split(","))
    assert abs(lat5 - 31.205) < 1e-9 and abs(lng5 - 121.505) < 1e-9  # the compound boundary's centroid
    assert points[7] == "31.3,121.3" and points[8] == "31.31,121.31"
    assert json.loads(rules["noise"])[0]["law"].startswith("上海市社会生活噪声污染防治办法")
    assert {"noise.construction", "noise.social_life", "noise.decoration"} <= set(rules)


# ---- the same photo --------------------------------------------------------------------------------


def test_the_same_photo_filed_twice_is_flagged_whatever_the_category_and_place(client, w):
    _, neighbour = w.other_resident(unit=2)  # building 2
    original = photo("ianare_landscape_2.jpg")
    a = post_case(client, w.rh, category="illegal_construction", description="楼顶搭了一间板房。",
                  place_id=w.units[0].id, photos=[("a.jpg", original)]).get_json()
    lat, lng = pin_north(600)  # outside the compound, still in the community: far from a
    r = post_case(client, neighbour, category="other", description="有人在搭东西，不知道归谁管。",
                  lat=lat, lng=lng, datum="gcj02", photos=[("b.jpg", shrunk("ianare_landscape_2.jpg"))])
    assert r.status_code == 201, r.get_json()
    b = r.get_json()
    c = post_case(client, neighbour, category="other", description="有人在搭东西，不知道归谁管。",
                  lat=lat, lng=lng, datum="gcj02", photos=[("c.jpg", photo("ianare_portrait_5.jpg"))]).get_json()
    [cand] = [x for x in dups(client, w.h["residents_committee"], a["id"])["candidates"] if x["id"] in (b["id"], c["id"])]
    assert cand["id"] == b["id"] and cand["category"] == "other"
    assert 0 <= cand["reasons"]["photo_distance"] <= PHASH_MAX_DISTANCE
    assert cand["reasons"]["distance_m"] is None and cand["reasons"]["same_building"] is False
    assert cand["reason_names"][0].startswith("照片")
    hashes = db.session.scalars(sa.select(ComplaintPhotoHash).where(ComplaintPhotoHash.complaint_id == a["id"])).all()
    assert len(hashes) == 1 and len(hashes[0].phash) == 16
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintPhotoHashBand).where(
        ComplaintPhotoHashBand.photo_id == hashes[0].photo_id)) == 8


def test_a_blank_photo_says_nothing(client, w):
    assert photo_hash(jpeg(colour=(0, 0, 0))) is None and photo_hash(jpeg(colour=(250, 250, 250))) is None
    assert photo_hash(photo("ianare_portrait_5.jpg")) != photo_hash(photo("ianare_landscape_2.jpg"))
    a = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()  # a flat JPEG
    assert db.session.scalars(sa.select(ComplaintPhotoHash).where(ComplaintPhotoHash.complaint_id == a["id"])).all() == []


# ---- `other` by its words --------------------------------------------------------------------------


def test_other_cases_are_compared_by_their_words_not_as_one_category(client, w):
    _, neighbour = w.other_resident(unit=1)
    first = message("190346")   # 圣力华苑 两证合一 (a real resident message)
    again = message("251228")   # the same request told again by another resident
    unrelated = message("237034")  # 公积金贷款难
    assert text_similarity(first, again) > 0.8 and text_similarity(first, unrelated) < 0.05
    a = post_case(client, w.rh, category="other", description=first[:3900], place_id=w.units[0].id).get_json()
    b = post_case(client, neighbour, category="other", description=again[:3900], place_id=w.units[1].id).get_json()
    post_case(client, neighbour, category="other", description=unrelated[:3900], place_id=w.units[1].id)
    cands = dups(client, w.h["residents_committee"], a["id"])["candidates"]
    assert [c["id"] for c in cands] == [b["id"]]
    assert cands[0]["reasons"]["text_similarity"] > 0.8 and any(n.startswith("描述相似") for n in cands[0]["reason_names"])
    assert "同一类别" not in cands[0]["reason_names"]
