"""Duplicates (issue 3 point 8): open cases of the same category within 100 m or in the same
building in the last 14 days; merging makes every reporter follow the surviving case."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core.db import utcnow
from civic.core.geo import distance_m, from_wgs84
from civic.core.notifications import Notification
from civic.extensions import db
from tests.complaints.helpers import CENTRE, act, file_case, post_case


def gcj_north_of_centre(metres):
    return from_wgs84(CENTRE[0] + metres / 111_320, CENTRE[1], "gcj02")


def test_two_points_60_m_apart_are_possible_duplicates(client, w):
    a = post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(0)[0],
                  lng=gcj_north_of_centre(0)[1], datum="gcj02").get_json()
    lat, lng = gcj_north_of_centre(60)
    b = post_case(client, w.rh, category="public_space_occupation", lat=lat, lng=lng, datum="gcj02").get_json()
    assert len(b["possible_duplicates"]) == 1
    dup = b["possible_duplicates"][0]
    assert dup["id"] == a["id"] and dup["status"] == "routed" and dup["same_building"] is False
    assert 55 < dup["distance_m"] < 65


def test_two_points_300_m_apart_are_not(client, w):
    post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(0)[0],
              lng=gcj_north_of_centre(0)[1], datum="gcj02")
    lat, lng = gcj_north_of_centre(300)
    assert 290 < distance_m(CENTRE, (CENTRE[0] + 300 / 111_320, CENTRE[1])) < 310
    b = post_case(client, w.rh, category="public_space_occupation", lat=lat, lng=lng, datum="gcj02").get_json()
    assert b["place"]["kind"] == "community"  # outside the compound, still in the registry
    assert b["possible_duplicates"] == []


def test_another_category_at_the_same_spot_is_not_a_duplicate(client, w):
    lat, lng = gcj_north_of_centre(0)
    post_case(client, w.rh, category="noise", lat=lat, lng=lng, datum="gcj02")
    b = post_case(client, w.rh, category="public_space_occupation", lat=lat, lng=lng, datum="gcj02").get_json()
    assert b["possible_duplicates"] == []


def test_the_same_building_within_14_days_is_a_duplicate(client, w):
    _, neighbour = w.other_resident(unit=1)  # 102, same building as 101
    a = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()
    b = post_case(client, neighbour, category="ebike_charging", place_id=w.units[1].id).get_json()
    assert [(d["id"], d["same_building"], d["distance_m"]) for d in b["possible_duplicates"]] == [
        (a["id"], True, None)]
    c = post_case(client, neighbour, category="ebike_charging", place_id=w.units[2].id).get_json()  # building 2
    assert c["possible_duplicates"] == []


def test_a_case_older_than_14_days_is_not_a_duplicate(client, w):
    file_case(w, "ebike_charging", now=utcnow() - dt.timedelta(days=15))
    recent = file_case(w, "ebike_charging", now=utcnow() - dt.timedelta(days=13))
    b = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()
    assert [d["id"] for d in b["possible_duplicates"]] == [recent.id]


def test_a_resolved_case_is_not_a_duplicate(client, w):
    a = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()
    act(client, w.h["property_company"], a["id"], "acknowledge")
    act(client, w.h["property_company"], a["id"], "resolve", note="已清理飞线充电")
    b = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()
    assert b["possible_duplicates"] == []


def test_merging_makes_every_reporter_follow_the_surviving_case(client, w):
    neighbour_user, neighbour = w.other_resident(unit=1)
    keep = post_case(client, w.rh, category="ebike_charging", place_id=w.units[0].id).get_json()["id"]
    dup = post_case(client, neighbour, category="ebike_charging", place_id=w.units[1].id).get_json()["id"]
    r = act(client, w.h["residents_committee"], dup, "merge", into_id=keep, note="同一楼道飞线充电")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "merged" and r.get_json()["merged_into_id"] == keep
    mine = client.get("/api/v1/my/complaints", headers=neighbour).get_json()
    assert [c["id"] for c in mine["items"]] == [dup, keep]
    assert client.get(f"/api/v1/complaints/{keep}", headers=neighbour).get_json()["your_roles"] == ["reporter"]
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == neighbour_user.id))
    act(client, w.h["property_company"], keep, "acknowledge")
    got = db.session.scalars(sa.select(Notification).where(Notification.user_id == neighbour_user.id)
                             .order_by(Notification.id)).all()
    assert len(got) == before + 1
    assert got[-1].payload["complaint_id"] == keep and got[-1].payload["status"] == "acknowledged"


def test_the_street_centre_can_merge_too(client, w):
    keep = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    dup = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    assert act(client, w.h["street_centre"], dup, "merge", into_id=keep).status_code == 200


def test_a_handling_party_cannot_merge(client, w):
    keep = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    dup = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    r = act(client, w.h["police"], dup, "merge", into_id=keep)
    assert r.status_code == 403


def test_merging_into_itself_or_a_closed_case_is_refused(client, w):
    keep = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    dup = post_case(client, w.rh, category="noise", place_id=w.units[0].id).get_json()["id"]
    r = act(client, w.h["residents_committee"], dup, "merge", into_id=dup)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "merge_target_invalid"
    assert r.get_json()["error"]["message"] == "不能把案件并入它自己"
    act(client, w.h["police"], keep, "acknowledge")
    act(client, w.h["police"], keep, "resolve", note="已处理")
    r = act(client, w.h["residents_committee"], dup, "merge", into_id=keep)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "merge_target_invalid"


def test_the_radius_is_100_m_through_the_spatial_index(client, w):
    # On PostgreSQL the candidates come from PostGIS (ST_DWithin on the cases' GiST index), on
    # SQLite from its R*Tree complaint_rtree; either way 97 m is in and 103 m is out, by the haversine test.
    post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(0)[0],
              lng=gcj_north_of_centre(0)[1], datum="gcj02")
    near = post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(97)[0],
                     lng=gcj_north_of_centre(97)[1], datum="gcj02").get_json()
    assert len(near["possible_duplicates"]) == 1
    assert 95 < near["possible_duplicates"][0]["distance_m"] < 99
    far = post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(-103)[0],
                    lng=gcj_north_of_centre(-103)[1], datum="gcj02").get_json()
    assert far["possible_duplicates"] == []  # 103 m from the first, 200 m from the second


def test_a_point_moved_by_plain_sql_is_found_where_it_now_is(client, w):
    # The spatial index of the cases' points is kept by the database (PostGIS's GiST index; on
    # SQLite the triggers of migration 0024_rtree), whoever writes the coordinates.
    first = post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(500)[0],
                      lng=gcj_north_of_centre(500)[1], datum="gcj02").get_json()
    here = post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(0)[0],
                     lng=gcj_north_of_centre(0)[1], datum="gcj02").get_json()
    assert here["possible_duplicates"] == []
    from civic.complaints.models import Complaint

    db.session.execute(sa.update(Complaint).where(Complaint.id == first["id"])
                       .values(lat=CENTRE[0] + 50 / 111_320, lng=CENTRE[1]))
    db.session.commit()
    again = post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(0)[0],
                      lng=gcj_north_of_centre(0)[1], datum="gcj02").get_json()
    assert [d["id"] for d in again["possible_duplicates"]] == [here["id"], first["id"]]
    assert 49 < next(d for d in again["possible_duplicates"] if d["id"] == first["id"])["distance_m"] < 51


def test_on_sqlite_the_radius_reads_the_r_tree(client, w):
    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL: tests/foundation/test_spatial.py checks the PostGIS plans
    from civic.complaints.models import Complaint
    from civic.complaints.service.intake import possible_duplicates

    case = post_case(client, w.rh, category="public_space_occupation", lat=gcj_north_of_centre(0)[0],
                     lng=gcj_north_of_centre(0)[1], datum="gcj02").get_json()
    c = db.session.get(Complaint, case["id"])
    box = db.session.execute(sa.text("SELECT min_lat, max_lat, min_lng, max_lng FROM complaint_rtree WHERE id = :i"),
                             {"i": c.id}).one()
    # 32-bit floats rounded outwards: the box holds the point, within a few metres of it.
    assert box.min_lat <= c.lat <= box.max_lat and box.min_lng <= c.lng <= box.max_lng
    assert box.max_lat - box.min_lat < 3e-5 and box.max_lng - box.min_lng < 3e-5
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert possible_duplicates(c) == []
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    query, params = next((q, p) for q, p in statements if "complaint_rtree" in q)
    plan = " ".join(str(r[-1]) for r in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + query, params))
    assert "VIRTUAL TABLE INDEX" in plan and "complaint_rtree" in plan, plan
