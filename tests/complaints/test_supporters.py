""""Me too" (issue #18 point 5) and "cases near me" (issue #21 point 1): a resident joins a nearby
open case instead of filing it again -- on SQLite and on PostgreSQL (PostGIS) alike."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa

from civic.core.db import commit
from civic.extensions import db
from tests.complaints.helpers import CENTRE, act, jpeg, media_files, new_case, photo, post_case
from tests.jobs import drain

NEARBY = "/api/v1/my/nearby-complaints"
NORTH_100M = (CENTRE[0] + 100 / 111_195, CENTRE[1])  # 100 m north of the test compound's centre


def supporters(cid):
    return f"/api/v1/complaints/{cid}/supporters"


def join(client, headers, cid, *, photos=(), key=None, **fields):
    data = {k: str(v) for k, v in fields.items()}
    if photos:
        data["photos"] = [(io.BytesIO(b), n) for n, b in photos]
    h = dict(headers)
    if key:
        h["Idempotency-Key"] = key
    return client.post(supporters(cid), data=data, headers=h, content_type="multipart/form-data")


def point_case(client, w, lat=CENTRE[0], lng=CENTRE[1], category="noise") -> int:
    r = post_case(client, w.rh, category=category, lat=lat, lng=lng, datum="wgs84")
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def stranger(factory):
    """A resident tied to no unit here (and so to no compound)."""
    u = factory.resident()
    return u, factory.token(u)


# --- cases near me -------------------------------------------------------------------------------

def test_a_neighbour_sees_the_open_cases_of_their_compound_without_personal_data(client, w):
    cid = new_case(client, w, description="我是101室张小红，电话13812341234，楼上每天深夜装修。")
    _li, lh = w.other_resident(unit=1)
    body = client.get(NEARBY, headers=lh).get_json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item == {"id": cid, "category": "noise", "category_name": "噪声扰民", "status": "routed",
                    "status_name": "已派单", "title": "噪声扰民（测试花园）",
                    "place": {"id": w.compound.id, "kind": "compound", "name": "测试花园"},
                    "created_at": item["created_at"], "distance_m": None, "supporters": 0,
                    "thumbnail_url": None, "mine": False, "supported": False}
    text = json.dumps(body, ensure_ascii=False)
    assert "张小红" not in text and "1381234" not in text and "101室" not in text and "装修" not in text
    # The reporter sees it too, marked as theirs.
    [own] = client.get(NEARBY, headers=w.rh).get_json()["items"]
    assert own["mine"] is True


def test_cases_within_a_radius_of_a_point_nearest_first(client, w, factory):
    near = point_case(client, w)
    far = point_case(client, w, lat=CENTRE[0] + 300 / 111_195)  # 300 m north: outside the compound's square
    _u, h = stranger(factory)
    q = {"lat": NORTH_100M[0], "lng": NORTH_100M[1], "datum": "wgs84"}
    items = client.get(NEARBY, headers=h, query_string={**q, "radius_m": 500}).get_json()["items"]
    assert [(i["id"], i["distance_m"]) for i in items] == [(far, 200), (near, 100)][::-1]
    assert [i["id"] for i in client.get(NEARBY, headers=h, query_string={**q, "radius_m": 150})
            .get_json()["items"]] == [near]
    assert client.get(NEARBY, headers=h, query_string={**q, "radius_m": 50}).get_json()["items"] == []


def test_only_open_cases_are_near(client, w, factory):
    cid = point_case(client, w)
    act(client, w.h["police"], cid, "acknowledge")
    act(client, w.h["police"], cid, "resolve", note="已劝导停止施工")
    _u, h = stranger(factory)
    q = {"lat": CENTRE[0], "lng": CENTRE[1], "datum": "wgs84"}
    assert client.get(NEARBY, headers=h, query_string=q).get_json()["items"] == []
    _li, lh = w.other_resident(unit=1)
    assert client.get(NEARBY, headers=lh).get_json()["items"] == []


def test_nearby_pages_by_keyset_in_both_modes(client, w, factory):
    ids = [point_case(client, w, lat=CENTRE[0] + i * 10 / 111_195) for i in range(3)]
    _li, lh = w.other_resident(unit=1)
    first = client.get(NEARBY, headers=lh, query_string={"limit": 2}).get_json()
    second = client.get(NEARBY, headers=lh, query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [i["id"] for i in first["items"] + second["items"]] == ids[::-1] and second["next_cursor"] is None
    q = {"lat": CENTRE[0], "lng": CENTRE[1], "datum": "wgs84", "limit": 2}
    first = client.get(NEARBY, headers=lh, query_string=q).get_json()
    second = client.get(NEARBY, headers=lh, query_string={**q, "cursor": first["next_cursor"]}).get_json()
    assert [i["id"] for i in first["items"] + second["items"]] == ids and second["next_cursor"] is None
    assert [i["distance_m"] for i in first["items"] + second["items"]] == [0, 10, 20]


def test_nearby_bad_input(client, w, factory):
    _u, h = stranger(factory)

    def err(status, **q):
        r = client.get(NEARBY, headers=h, query_string=q)
        assert r.status_code == status, r.get_json()
        return r.get_json()["error"]["code"]

    assert err(422) == "location_required"  # no point, no confirmed unit
    assert err(422, lat=31.2) == "location_incomplete"
    assert err(422, lat=31.2, lng=121.5) == "location_incomplete"  # no datum
    assert err(422, lat=31.2, lng=121.5, datum="wgs84", radius_m=5000) == "validation_failed"  # capped at 2 km
    assert err(400, lat=31.2, lng=121.5, datum="wgs84", cursor="bm90LWEtY3Vyc29y") == "cursor_invalid"
    assert client.get(NEARBY, headers=w.h["police"]).status_code == 403


def test_nearby_counts_and_marks_per_viewer_in_both_modes(client, w, factory):
    """Supporters' count, "mine" and "supported" (read in the page's one statement) per case and
    per viewer, with a point and without one."""
    a = point_case(client, w)
    b = point_case(client, w, lat=CENTRE[0] + 20 / 111_195)
    _l1, h1 = w.other_resident(unit=1)
    _l2, h2 = w.other_resident(unit=2)
    assert join(client, h1, a).status_code == 201 and join(client, h2, a).status_code == 201
    q = {"lat": CENTRE[0], "lng": CENTRE[1], "datum": "wgs84"}

    def marks(h, **query):
        return [(i["id"], i["supporters"], i["mine"], i["supported"], i["place"]["name"])
                for i in client.get(NEARBY, headers=h, query_string=query).get_json()["items"]]

    assert marks(h1, **q) == [(a, 2, False, True, "测试花园"), (b, 0, False, False, "测试花园")]
    assert marks(h1) == [(b, 0, False, False, "测试花园"), (a, 2, False, True, "测试花园")]
    assert marks(w.rh, **q) == [(a, 2, True, False, "测试花园"), (b, 0, True, False, "测试花园")]
    _u, hs = stranger(factory)
    assert marks(hs, **q) == [(a, 2, False, False, "测试花园"), (b, 0, False, False, "测试花园")]


# --- me too --------------------------------------------------------------------------------------

def test_me_too_end_to_end(client, w):
    cid = new_case(client, w)
    li, lh = w.other_resident(unit=1)
    r = join(client, lh, cid)
    assert r.status_code == 201, r.get_json()
    assert r.get_json() == {"complaint_id": cid, "supported": True, "since": r.get_json()["since"],
                            "supporters": 1, "photos": 0}
    again = join(client, lh, cid)  # a retry: the same row
    assert again.status_code == 200 and again.get_json() == r.get_json()
    # The parties see the count (case and queue), never who.
    case = client.get(f"/api/v1/complaints/{cid}", headers=w.h["police"]).get_json()
    assert case["supporters_count"] == 1
    [line] = [i for i in client.get("/api/v1/queue", headers=w.h["police"]).get_json()["items"] if i["id"] == cid]
    assert line["supporters"] == 1
    # The supporter follows it: among their cases (as supported) and readable by them, as a co-complainant.
    [mine] = client.get("/api/v1/my/complaints", headers=lh).get_json()["items"]
    assert (mine["id"], mine["supported"], mine["supporters"]) == (cid, True, 1)
    assert client.get("/api/v1/my/complaints", headers=w.rh).get_json()["items"][0]["supported"] is False
    seen = client.get(f"/api/v1/complaints/{cid}", headers=lh).get_json()
    assert seen["your_roles"] == ["supporter"] and seen["complainant"] is None and seen["allowed_actions"] == []
    assert [i["supported"] for i in client.get(NEARBY, headers=lh).get_json()["items"]] == [True]
    # Leaving: the count drops, the case is no longer theirs to read.
    assert client.delete(supporters(cid), headers=lh).status_code == 204
    assert client.delete(supporters(cid), headers=lh).status_code == 204  # leaving twice changes nothing
    assert client.get(f"/api/v1/complaints/{cid}", headers=w.h["police"]).get_json()["supporters_count"] == 0
    assert client.get("/api/v1/my/complaints", headers=lh).get_json()["items"] == []
    assert client.get(f"/api/v1/complaints/{cid}", headers=lh).status_code == 404
    from civic.core import audit

    assert [e.action for e in audit.entries_for("complaint", cid) if "support" in e.action] == [
        "complaint.supported", "complaint.unsupported"]


def test_joining_by_a_point_near_the_case(client, w, factory):
    cid = point_case(client, w)
    _u, h = stranger(factory)
    assert join(client, h, cid).status_code == 404  # no point, no compound: not near them
    far = {"lat": CENTRE[0] + 0.05, "lng": CENTRE[1], "datum": "wgs84"}  # ~5.6 km away
    assert join(client, h, cid, **far).get_json()["error"]["code"] == "complaint_not_found"
    r = join(client, h, cid, lat=NORTH_100M[0], lng=NORTH_100M[1], datum="wgs84")
    assert r.status_code == 201 and r.get_json()["supporters"] == 1
    # Once joined, they may leave from anywhere.
    assert client.delete(supporters(cid), headers=h).status_code == 204


def test_refusals(client, w, factory, app, monkeypatch):
    cid = new_case(client, w)
    _li, lh = w.other_resident(unit=1)

    def code(r, status):
        assert r.status_code == status, r.get_json()
        return r.get_json()["error"]["code"]

    assert code(join(client, w.rh, cid), 403) == "own_case"
    assert code(client.delete(supporters(cid), headers=w.rh), 403) == "own_case"
    assert code(join(client, lh, 999_999), 404) == "complaint_not_found"
    other = factory.ladder()  # another compound: its resident is not near
    _z, zh = (lambda u: (u, factory.token(u)))(factory.resident(units=[other["units"][0]]))
    assert code(join(client, zh, cid), 404) == "complaint_not_found"
    assert code(client.delete(supporters(cid), headers=zh), 404) == "complaint_not_found"
    assert code(join(client, w.h["police"], cid), 403) == "wrong_account_kind"
    # A closed case, a merged case: refused for their state, nothing written.
    act(client, w.h["police"], cid, "acknowledge")
    act(client, w.h["police"], cid, "resolve", note="已处理")
    client.post(f"/api/v1/complaints/{cid}/rating", headers=w.rh, json={"rating": 5})
    assert code(join(client, lh, cid), 409) == "complaint_closed"
    a, b = new_case(client, w), new_case(client, w)
    assert act(client, w.h["residents_committee"], a, "merge", into_id=b).status_code == 200
    r = join(client, lh, a)
    assert code(r, 409) == "complaint_merged" and r.get_json()["error"]["details"]["merged_into_id"] == b
    from civic.complaints.models import ComplaintSupporter

    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintSupporter)) == 0
    # Rate-limited per resident: the third new join in the window is refused, a retry is not counted.
    monkeypatch.setitem(app.config, "RATELIMIT_COMPLAINT_SUPPORT", "2 per hour")
    c1, c2, c3 = new_case(client, w), new_case(client, w), new_case(client, w)
    assert join(client, lh, c1).status_code == 201 and join(client, lh, c2).status_code == 201
    assert join(client, lh, c1).status_code == 200
    r = join(client, lh, c3)
    assert code(r, 429) == "rate_limited" and r.get_json()["error"]["details"] == {"limit": "2 per 1 hour"}


def test_photos_through_the_pipeline_fail_closed(client, w, app):
    cid = new_case(client, w)
    _li, lh = w.other_resident(unit=1)
    before = media_files(app)
    bad = join(client, lh, cid, photos=[("good.jpg", photo("ianare_landscape_2.jpg")), ("bad.jpg", b"not a photo")])
    assert bad.status_code in (415, 422), bad.get_json()
    assert media_files(app) == before  # one bad photo: nothing stored, no supporter row
    assert client.get(f"/api/v1/complaints/{cid}", headers=w.h["police"]).get_json()["supporters_count"] == 0
    r = join(client, lh, cid, photos=[("a.jpg", photo("ianare_landscape_2.jpg"))])
    assert r.status_code == 201 and r.get_json()["photos"] == 1
    # The same photo again adds nothing; a fourth photo is one too many.
    assert join(client, lh, cid, photos=[("a.jpg", photo("ianare_landscape_2.jpg"))]).get_json()["photos"] == 1
    many = [(f"{i}.jpg", jpeg(colour=(i * 40, 10, 10))) for i in range(3)]
    assert join(client, lh, cid, photos=many).get_json()["error"]["code"] == "too_many_photos"
    case = client.get(f"/api/v1/complaints/{cid}", headers=w.h["police"]).get_json()
    [p] = [p for p in case["photos"] if p["stage"] == "support"]
    got = client.get(p["url"], headers=w.h["police"])
    assert got.status_code == 200 and got.data[:2] == b"\xff\xd8"
    from PIL import Image

    assert not Image.open(io.BytesIO(got.data)).getexif()  # EXIF stripped, as at intake


def test_idempotency_key_replays_the_first_answer(client, w):
    cid = new_case(client, w)
    _li, lh = w.other_resident(unit=1)
    first = join(client, lh, cid, key="me-too-1", photos=[("a.jpg", jpeg())])
    again = join(client, lh, cid, key="me-too-1", photos=[("a.jpg", jpeg())])
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.get_json() == first.get_json()
    from civic.complaints.models import ComplaintPhoto, ComplaintSupporter

    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintSupporter)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintPhoto)
                             .where(ComplaintPhoto.stage == "support")) == 1


def test_supporters_are_notified_like_reporters_and_do_not_post(client, w):
    from civic.core.notifications import Notification

    cid = new_case(client, w)
    li, lh = w.other_resident(unit=1)
    join(client, lh, cid)
    act(client, w.h["police"], cid, "acknowledge")
    client.post(f"/api/v1/complaints/{cid}/messages", headers=w.h["police"], json={"body": "今晚上门查看"})
    drain()
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Notification).where(Notification.user_id == li.id)
                              .order_by(Notification.id)).all()
    assert [(n.template, n.title, n.status) for n in rows] == [
        ("complaint_status", "您附议的问题已签收", "sent"), ("complaint_message", "测试派出所回复了您反映的问题", "sent")]
    r = client.post(f"/api/v1/complaints/{cid}/messages", headers=lh, json={"body": "我也听到了"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "message_not_allowed"


def test_a_merged_case_s_supporters_follow_the_case_it_went_into(client, w):
    a, b = new_case(client, w), new_case(client, w)
    _li, lh = w.other_resident(unit=1)
    join(client, lh, a)
    assert act(client, w.h["residents_committee"], a, "merge", into_id=b).status_code == 200
    assert client.get(f"/api/v1/complaints/{b}", headers=w.h["police"]).get_json()["supporters_count"] == 1
    assert {i["id"] for i in client.get("/api/v1/my/complaints", headers=lh).get_json()["items"]} == {a, b}


# --- privacy ------------------------------------------------------------------------------------

def test_no_party_ever_sees_who_supports(client, w):
    cid = new_case(client, w, description="楼上每天深夜装修，李四也被吵醒，可联系13700001234。")
    li, lh = w.other_resident(unit=1, name="李四")
    assert join(client, lh, cid, photos=[("a.jpg", jpeg())]).status_code == 201
    client.post(f"/api/v1/complaints/{cid}/messages", headers=w.h["police"], json={"body": "已联系李四了解情况"})
    for kind, h in w.h.items():
        texts = [client.get(f"/api/v1/complaints/{cid}", headers=h).get_json(),
                 client.get(f"/api/v1/complaints/{cid}/history", headers=h).get_json(),
                 client.get("/api/v1/queue", headers=h).get_json()]
        if kind != "street_centre":
            texts.append(client.get(f"/api/v1/complaints/{cid}/messages", headers=h).get_json())
        blob = json.dumps(texts, ensure_ascii=False)
        case = texts[0]
        if case.get("complainant") is None:  # may not see the complainant: nor the supporter
            assert "李四" not in blob and li.phone not in blob and "102室" not in blob, kind
        assert "supporters" not in case  # a count, never a list
    # The complainant does not learn who joined either.
    blob = json.dumps(client.get(f"/api/v1/complaints/{cid}/history", headers=w.rh).get_json(), ensure_ascii=False)
    assert "李四" not in blob and "有居民附议（我也遇到）" in blob


def test_a_case_at_a_supporter_s_own_unit_is_shown_at_its_building(client, w):
    # 张小红 reports the flat of 李四 (102室) -- 李四 then supports it: the unit names a supporter's
    # household, so a party that may not see the complainant sees the building.
    cid = new_case(client, w, place_id=w.units[1].id)
    _li, lh = w.other_resident(unit=1)
    before = client.get(f"/api/v1/complaints/{cid}", headers=w.h["street_centre"]).get_json()["place"]["id"]
    assert before == w.units[1].id
    join(client, lh, cid)
    after = client.get(f"/api/v1/complaints/{cid}", headers=w.h["street_centre"]).get_json()["place"]["id"]
    assert after == w.building.id


# --- counts, PIPL --------------------------------------------------------------------------------

def test_the_street_centre_s_oversight_counts_supporters_pre_aggregated(client, w):
    from civic.complaints import counts, stats

    cid = new_case(client, w)
    _li, lh = w.other_resident(unit=1)
    join(client, lh, cid)
    drain()
    db.session.expire_all()
    f = stats.street_figures(w.staff["street_centre"])
    assert (f["total"].supporters, f["total"].open_supporters) == (1, 1)
    assert counts.stored() == counts.scanned()
    assert stats.csv_rows(f)[0][-2:] == ["附议人数", "未办结案件附议人数"] and stats.csv_rows(f)[-1][-2:] == [1, 1]
    client.delete(supporters(cid), headers=lh)
    drain()
    db.session.expire_all()
    assert stats.street_figures(w.staff["street_centre"])["total"].supporters == 0
    assert counts.stored() == counts.scanned()


def test_pipl_export_and_deletion(client, w):
    cid = new_case(client, w)
    li, lh = w.other_resident(unit=1)
    join(client, lh, cid)
    data = client.get("/api/v1/my/data", headers=lh).get_json()
    assert [s["complaint_id"] for s in data["parts"]["complaints"]["supported"]] == [cid]
    from civic.accounts.privacy import delete_account

    delete_account(li)
    commit()
    drain()
    db.session.expire_all()
    assert client.get(f"/api/v1/complaints/{cid}", headers=w.h["police"]).get_json()["supporters_count"] == 0
    from civic.complaints import counts

    assert counts.stored() == counts.scanned()
