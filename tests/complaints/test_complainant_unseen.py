"""Issue #15 point 3 (RULES.md §5, PIPL): the party complained about never learns who complained.

Not the name or phone, and not what names the household either: the complainant's own unit as the
case's place (shown as its building), a co-complainant's unit merged in, a photo's consented GPS, a
reason given for a reveal.  Tested as a kind: every representation of a case — every API route of
the OpenAPI document that returns a case or part of it, the console's pages, Open311 — read by the
property company on complaints about itself, and by a co-complainant, contains none of it.
"""

from __future__ import annotations

import io
import re

import pytest

from tests.complaints.helpers import act, jpeg, new_case, post_case
from tests.console.helpers import Console
from tests.open311.helpers import issue_key

API = "/api/v1"
GPS = (31.23975, 121.50612)  # inside the test compound (±180 m around 31.2396, 121.5058)
PARTNER_PHONE = "13911112222"


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+", text)]


@pytest.fixture
def scene(app, client, factory, w):
    """Complaints about the property company (``property_service``: it assists with them, never
    leads them, and may never see the complainant): at the complainant's own unit, by a photo's GPS, by a free address, a
    neighbour's duplicate at their own unit merged in, and a 12345 case with the caller's contact;
    a message from the resident and a reveal by the residents' committee with a reason."""
    from civic.complaints.models import Complaint
    from civic.extensions import db

    own = new_case(client, w, "property_service")
    r = post_case(client, w.rh, category="property_service", gps_consent="true",
                  photos=[("g.jpg", jpeg(gps=GPS))])
    assert r.status_code == 201, r.get_json()
    gps = r.get_json()["id"]
    assert db.session.get(Complaint, gps).location_source == "photo_gps"
    r = post_case(client, w.rh, category="property_service", address="小区东门垃圾房",
                  description="东门垃圾房三天没清运，我住1号楼101室，有事打我电话138-1234-1234")
    assert r.status_code == 201, r.get_json()
    addr = r.get_json()["id"]
    li, lih = w.other_resident(unit=1, name="李四")
    r = post_case(client, lih, category="property_service", place_id=w.units[1].id)
    assert r.status_code == 201, r.get_json()
    dup = r.get_json()["id"]
    assert act(client, w.h["residents_committee"], dup, "merge", into_id=own).status_code == 200
    key = issue_key(client, factory.token(factory.admin()))
    r = client.post("/open311/v2/requests.json", content_type="multipart/form-data", data={
        "api_key": key, "service_code": "property_service", "address_id": str(w.building.id),
        "description": "电梯停运三天", "first_name": "大明", "last_name": "王", "phone": PARTNER_PHONE,
        "media": [(io.BytesIO(jpeg()), "m.jpg")]})
    assert r.status_code == 201, r.get_json()
    partner = int(r.get_json()[0]["service_request_id"])
    # Free text names the complainant too: their own message, and a note by a party that may see them.
    assert client.post(f"{API}/complaints/{own}/messages", headers=w.rh,
                       json={"body": "我是101室的张小红，电梯还是坏的，请尽快处理，电话 138 1234 1234"}).status_code == 201
    assert client.post(f"{API}/complaints/{own}/messages", headers=w.h["residents_committee"],
                       json={"body": "已电话联系张小红（13812341234）核实，她家101室门口也漏水", "internal": True}
                       ).status_code == 201
    r = client.post(f"{API}/complaints/{own}/complainant", headers=w.h["residents_committee"],
                    json={"reason": "电话联系张小红核实电梯情况"})
    assert r.status_code == 200, r.get_json()
    g = db.session.get(Complaint, gps)
    return {"own": own, "gps": gps, "addr": addr, "dup": dup, "partner": partner, "li": li, "lih": lih,
            "gps_point": (g.lat, g.lng), "key": key}


def _secrets(w, s, *, with_neighbour=True) -> list[str]:
    from civic.core.text import mask_phone

    out = ["101室", "张小红", "13812341234", "138 1234 1234", "138-1234-1234", mask_phone("13812341234"), "大明",
           PARTNER_PHONE,
           mask_phone(PARTNER_PHONE)]
    if with_neighbour:
        out += ["102室", "李四", s["li"].phone, mask_phone(s["li"].phone)]
    return out


def _codes(w, *, with_neighbour=True) -> list[str]:
    return [w.units[0].code] + ([w.units[1].code] if with_neighbour else [])


def _assert_clean(where: str, text: str, w, s, *, with_neighbour=True) -> None:
    for secret in _secrets(w, s, with_neighbour=with_neighbour):
        assert secret not in text, f"{where} shows {secret!r}"
    for code in _codes(w, with_neighbour=with_neighbour):
        assert not re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text), f"{where} shows unit code {code}"
    lat, lng = s["gps_point"]
    for x in _numbers(text):
        assert abs(x - lat) > 2e-5 and abs(x - lng) > 2e-5, f"{where} shows the photo's GPS ({x})"


# Every route of the document that returns a case or part of it, and how the complained-about party
# calls it.  The test below fails when the document gains a complaints route missing here.
def _calls(client, w, s):
    pc = w.h["property_company"]
    ids = [s[k] for k in ("own", "gps", "addr", "dup", "partner")]
    token = client.get(f"{API}/complaints/{s['own']}", headers=w.rh).get_json()["photos"][0]["url"].rsplit("/", 1)[1]
    unit = w.units[0].id
    return {
        ("post", f"{API}/complaints"): [lambda: post_case(client, pc, category="property_service",
                                                          place_id=unit)],
        ("get", f"{API}/complaints/{{complaint_id}}"): [
            (lambda i=i: client.get(f"{API}/complaints/{i}", headers=pc)) for i in ids],
        ("get", f"{API}/complaints/{{complaint_id}}/duplicates"): [
            (lambda i=i: client.get(f"{API}/complaints/{i}/duplicates", headers=pc)) for i in ids],
        ("get", f"{API}/complaints/{{complaint_id}}/history"): [
            (lambda i=i: client.get(f"{API}/complaints/{i}/history", headers=pc)) for i in ids],
        ("get", f"{API}/complaints/{{complaint_id}}/messages"): [
            (lambda i=i: client.get(f"{API}/complaints/{i}/messages", headers=pc)) for i in ids],
        ("post", f"{API}/complaints/{{complaint_id}}/messages"): [
            lambda: client.post(f"{API}/complaints/{s['own']}/messages", headers=pc, json={"body": "已报修"})],
        ("post", f"{API}/complaints/{{complaint_id}}/transitions"): [
            (lambda i=i: client.post(f"{API}/complaints/{i}/transitions", headers=pc,
                                     json={"action": "acknowledge"})) for i in ids],
        ("post", f"{API}/complaints/{{complaint_id}}/photos"): [
            lambda: client.post(f"{API}/complaints/{s['own']}/photos", headers=pc,
                                data={"photos": [(io.BytesIO(jpeg()), "r.jpg")]},
                                content_type="multipart/form-data")],
        ("get", f"{API}/complaints/{{complaint_id}}/photos/{{token}}"): [
            lambda: client.get(f"{API}/complaints/{s['own']}/photos/{token}", headers=pc)],
        # The blur review (issue #19) is the lead's: the complained-about company is told no.
        ("get", f"{API}/complaints/{{complaint_id}}/photos/{{token}}/blur"): [
            lambda: client.get(f"{API}/complaints/{s['own']}/photos/{token}/blur", headers=pc)],
        ("post", f"{API}/complaints/{{complaint_id}}/photos/{{token}}/blur/regions"): [
            lambda: client.post(f"{API}/complaints/{s['own']}/photos/{token}/blur/regions", headers=pc,
                                json={"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2})],
        ("delete", f"{API}/complaints/{{complaint_id}}/photos/{{token}}/blur/regions/{{region_id}}"): [
            lambda: client.delete(f"{API}/complaints/{s['own']}/photos/{token}/blur/regions/0a1b2c3d", headers=pc)],
        ("post", f"{API}/complaints/{{complaint_id}}/rating"): [
            lambda: client.post(f"{API}/complaints/{s['own']}/rating", headers=pc, json={"rating": 5})],
        ("post", f"{API}/complaints/{{complaint_id}}/complainant"): [
            (lambda i=i: client.post(f"{API}/complaints/{i}/complainant", headers=pc,
                                     json={"reason": "想知道是谁"})) for i in ids],
        ("get", f"{API}/queue"): [
            lambda: client.get(f"{API}/queue", headers=pc, query_string={"counts": "true"}),
            lambda: client.get(f"{API}/queue", headers=pc, query_string={"place_id": unit}),
            lambda: client.get(f"{API}/queue", headers=pc, query_string={"place_id": w.building.id}),
            lambda: client.get(f"{API}/queue", headers=pc, query_string={"status": "merged"})],
        ("get", f"{API}/my/complaints"): [lambda: client.get(f"{API}/my/complaints", headers=pc)],
        # "Me too" is for residents: staff get the route's 403, and the count never says who.
        ("post", f"{API}/complaints/{{complaint_id}}/supporters"): [
            (lambda i=i: client.post(f"{API}/complaints/{i}/supporters", headers=pc, data={},
                                     content_type="multipart/form-data")) for i in ids],
        ("delete", f"{API}/complaints/{{complaint_id}}/supporters"): [
            (lambda i=i: client.delete(f"{API}/complaints/{i}/supporters", headers=pc)) for i in ids],
    }


def _case_routes(spec: dict) -> set[tuple[str, str]]:
    out = set()
    for path, item in spec["paths"].items():
        if path.startswith(f"{API}/complaints") and path != f"{API}/complaints/suggest" or \
                path in (f"{API}/queue", f"{API}/my/complaints"):
            out |= {(m, path) for m in item if m in ("get", "post", "put", "patch", "delete")}
    return out


def test_every_case_route_shows_the_complained_about_party_nothing_of_who_complained(client, w, scene):
    calls = _calls(client, w, scene)
    spec = client.get(f"{API}/openapi.json").get_json()
    assert _case_routes(spec) == set(calls), "a complaints route is missing from this sweep"
    seen_ok = 0
    for (method, path), fns in calls.items():
        for fn in fns:
            r = fn()
            where = f"{method.upper()} {path} → {r.status_code}"
            assert r.status_code < 500, where
            if r.mimetype == "image/jpeg":
                from PIL import Image

                assert not Image.open(io.BytesIO(r.data)).getexif().get_ifd(0x8825), where
                continue
            _assert_clean(where, r.get_data(as_text=True), w, scene)
            seen_ok += r.status_code < 300
    assert seen_ok >= 20


def test_the_complained_about_party_sees_the_building_of_the_complainants_unit(client, w, scene):
    pc = w.h["property_company"]
    own = client.get(f"{API}/complaints/{scene['own']}", headers=pc).get_json()
    assert own["place"] == {"id": w.building.id, "kind": "building", "name": "测试花园1号楼"}
    assert (own["lat"], own["lng"]) == (31.2396, 121.5058)  # the compound's centre: the building has none
    addr = client.get(f"{API}/complaints/{scene['addr']}", headers=pc).get_json()
    assert addr["place"]["id"] == w.building.id and addr["address"] == "小区东门垃圾房"
    gps = client.get(f"{API}/complaints/{scene['gps']}", headers=pc).get_json()
    assert gps["place"]["kind"] == "compound" and (gps["lat"], gps["lng"]) == (31.2396, 121.5058)
    dup = client.get(f"{API}/complaints/{scene['dup']}", headers=pc).get_json()
    assert dup["status"] == "merged" and dup["place"]["id"] == w.building.id
    items = {c["id"]: c for c in client.get(f"{API}/queue", headers=pc).get_json()["items"]}
    assert items[scene["own"]]["place_id"] == w.building.id


def test_a_party_that_may_see_the_complainant_sees_the_unit_and_the_gps(client, w, scene):
    rc = w.h["residents_committee"]
    own = client.get(f"{API}/complaints/{scene['own']}", headers=rc).get_json()
    assert own["place"]["name"] == "101室" and own["complainant"]["masked"] is True
    gps = client.get(f"{API}/complaints/{scene['gps']}", headers=rc).get_json()
    assert (gps["lat"], gps["lng"]) == scene["gps_point"]
    history = client.get(f"{API}/complaints/{scene['own']}/history", headers=rc).get_json()
    assert "电话联系张小红核实电梯情况" in [e["note"] for e in history]
    items = {c["id"]: c for c in client.get(f"{API}/queue", headers=rc).get_json()["items"]}
    assert items[scene["own"]]["place_id"] == w.units[0].id


def test_the_complainant_sees_their_own_unit(client, w, scene):
    own = client.get(f"{API}/complaints/{scene['own']}", headers=w.rh).get_json()
    assert own["place"]["name"] == "101室"
    mine = {c["id"]: c for c in client.get(f"{API}/my/complaints", headers=w.rh).get_json()["items"]}
    assert mine[scene["own"]]["place_id"] == w.units[0].id


def test_a_unit_the_resident_chose_that_is_not_theirs_is_shown(client, w):
    cid = new_case(client, w, "property_service", place_id=w.units[2].id)  # the neighbour's flat
    got = client.get(f"{API}/complaints/{cid}", headers=w.h["property_company"]).get_json()
    assert got["place"]["name"] == "103室"


def test_filtering_the_queue_by_the_complainants_unit_does_not_find_the_case(client, w, scene):
    pc, rc = w.h["property_company"], w.h["residents_committee"]
    unit = w.units[0].id
    got = [c["id"] for c in client.get(f"{API}/queue", headers=pc, query_string={"place_id": unit}).get_json()["items"]]
    assert scene["own"] not in got and scene["addr"] not in got
    chosen = new_case(client, w, "property_service", place_id=w.units[2].id)
    got = [c["id"] for c in client.get(f"{API}/queue", headers=pc,
                                        query_string={"place_id": w.units[2].id}).get_json()["items"]]
    assert got == [chosen]
    got = [c["id"] for c in client.get(f"{API}/queue", headers=rc, query_string={"place_id": unit}).get_json()["items"]]
    assert scene["own"] in got


def test_a_co_complainant_merged_in_learns_nothing_of_the_complainant(client, w, scene):
    lih = scene["lih"]
    for url in (f"{API}/my/complaints", f"{API}/complaints/{scene['own']}",
                f"{API}/complaints/{scene['own']}/history", f"{API}/complaints/{scene['own']}/messages"):
        r = client.get(url, headers=lih)
        assert r.status_code == 200, url
        _assert_clean(url, r.get_data(as_text=True), w, scene, with_neighbour=False)


def test_console_pages_show_the_complained_about_party_nothing_of_who_complained(app, client, w, scene):
    con = Console(app, w.staff["property_company"].username, "test-pass-123")
    org = w.orgs["property_company"].id
    ids = [scene[k] for k in ("own", "gps", "addr", "dup", "partner")]
    pages = [f"/console/cases?org={org}", f"/console/cases?org={org}&status=merged",
             *[f"/console/cases/{i}" for i in ids]]
    for url in pages:
        r = con.get(url)
        assert r.status_code == 200, url
        _assert_clean(url, r.text, w, scene)
    assert "测试花园1号楼" in con.get(f"/console/cases/{scene['own']}").text
    r = con.post(f"/console/cases/{scene['own']}/messages", data={"body": "已安排维修"}, follow_redirects=True)
    assert r.status_code == 200
    _assert_clean("console message", r.text, w, scene)


def test_open311_shows_nothing_of_who_complained(client, w, scene):
    pages = ["/open311/v2/requests.json", "/open311/v2/requests.xml",
             *[f"/open311/v2/requests/{scene[k]}.json" for k in ("own", "gps", "addr", "dup", "partner")],
             f"/open311/v2/requests.json?api_key={scene['key']}"]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, url
        _assert_clean(url, r.get_data(as_text=True), w, scene)


def test_the_list_answer_agrees_with_the_case_by_case_answer(client, factory, w, scene):
    """complainant_seen_in (queue pages, at once) gives exactly what viewer_for gives case by case."""
    import sqlalchemy as sa

    from civic.complaints.models import Complaint
    from civic.complaints.service.privacy import complainant_seen_in, sees_complainant, viewer_for
    from civic.core.errors import NotFound
    from civic.extensions import db

    cases = db.session.scalars(sa.select(Complaint)).all()
    users = [*w.staff.values(), w.resident, scene["li"], factory.admin()]
    for u in users:
        expected = set()
        for c in cases:
            try:
                if sees_complainant(viewer_for(u, c)):
                    expected.add(c.id)
            except NotFound:
                pass
        assert complainant_seen_in(u, cases) == expected, u.display_name


def test_the_street_centres_pages_and_csv_show_nothing_of_who_complained(app, client, w, scene):
    """The street's oversight never sees the complainant: its queue (every case in the street), the
    case pages, the 督办统计 page and its CSV export."""
    sc = w.h["street_centre"]
    for url in (f"{API}/queue", f"{API}/complaints/{scene['own']}", f"{API}/complaints/{scene['gps']}"):
        r = client.get(url, headers=sc)
        assert r.status_code == 200, url
        _assert_clean(url, r.get_data(as_text=True), w, scene)
    con = Console(app, w.staff["street_centre"].username, "test-pass-123")
    ids = [scene[k] for k in ("own", "gps", "addr", "dup", "partner")]
    for url in ("/console/cases", "/console/oversight", "/console/oversight.csv", *[f"/console/cases/{i}" for i in ids]):
        r = con.get(url)
        assert r.status_code == 200, url
        _assert_clean(url, r.get_data(as_text=True), w, scene)
