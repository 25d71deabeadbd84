"""POST and GET requests with a partner key, on a factory-built compound."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from civic.core.db import commit
from tests.complaints.helpers import message
from tests.open311.helpers import photo_file, validate


def post(client, key, fmt="json", photos=1, **fields):
    data = {"api_key": key, **{k: str(v) for k, v in fields.items()}}
    if photos:
        data["media"] = [photo_file() for _ in range(photos)]
    return client.post(f"/open311/v2/requests.{fmt}", data=data, content_type="multipart/form-data")


def test_a_partner_files_a_case_and_gets_its_service_request_id(client, place, partner_key):
    unit = place["units"][0]
    r = post(client, partner_key, service_code="property_service", address_id=unit.id,
             description="电梯故障已三天无人维修", first_name="三", last_name="张", phone="13912345678")
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    validate(data, "requests.json")
    (req,) = data
    assert req["service_request_id"].isdigit()
    assert req["status"] == "open"
    # A complaint about the property company's service is never led by the company (issue #18): no
    # owners' committee here, so the residents' committee leads it.
    assert req["agency_responsible"] == "测试居委会"
    assert req["description"] == "电梯故障已三天无人维修"  # the partner reads back its own words
    assert req["requested_datetime"].endswith("+08:00")
    assert req["address_id"] == str(place["compound"].id)  # never the unit
    assert (req["lat"], req["long"]) == (31.2396, 121.5058)  # the compound's centre


def test_nothing_of_the_contact_leaves_through_open311(client, place, partner_key):
    r = post(client, partner_key, service_code="property_service", address_id=place["units"][0].id,
             description="楼道灯坏了", first_name="三", last_name="张", phone="13912345678",
             email="zhangsan@example.org")
    rid = r.get_json()[0]["service_request_id"]
    for url in (f"/open311/v2/requests/{rid}.json", f"/open311/v2/requests/{rid}.xml",
                f"/open311/v2/requests/{rid}.json?api_key={partner_key}", "/open311/v2/requests.xml"):
        body = client.get(url).data.decode()
        assert "13912345678" not in body and "zhangsan@" not in body and "张三" not in body and "1234" not in body


def test_staff_allowed_to_see_the_complainant_see_the_contact_masked(client, factory, place, partner_key):
    r = post(client, partner_key, service_code="thrown_objects", address_id=place["units"][0].id,
             description="有人从楼上扔下酒瓶", first_name="三", last_name="张", phone="13912345678",
             **{"attribute[floor]": "12"})
    rid = int(r.get_json()[0]["service_request_id"])
    from civic.property import service as reg

    police = next(o for o in reg.organisations_covering(place["compound"]) if o.kind == "police")
    headers = factory.token(factory.staff(police))
    case = client.get(f"/api/v1/complaints/{rid}", headers=headers).get_json()
    assert case["complainant"] == {"display_name": "张*", "phone": "139****5678", "masked": True}
    assert case["description"].endswith("疑似楼层：12")
    pc = next(o for o in reg.organisations_covering(place["compound"]) if o.kind == "property_company")
    other = client.get(f"/api/v1/complaints/{rid}", headers=factory.token(factory.staff(pc))).get_json()
    assert other["complainant"] is None  # the property company is not in reveal_kinds


def test_the_partner_is_the_complainant_of_record_not_a_resident(client, place, partner_key):
    from civic.accounts.models import User
    from civic.complaints.models import Complaint
    from civic.extensions import db

    r = post(client, partner_key, service_code="noise", address_id=place["units"][0].id, description="夜间施工噪音")
    c = db.session.get(Complaint, int(r.get_json()[0]["service_request_id"]))
    u = db.session.get(User, c.complainant_id)
    assert (u.kind, u.display_name, u.phone) == ("partner", "12345市民服务热线", None)


def test_a_required_attribute_is_a_400(client, place, partner_key):
    r = post(client, partner_key, service_code="illegal_construction", address_id=place["units"][0].id,
             description="楼顶正在加盖")
    assert r.status_code == 400
    assert r.get_json()[0]["description"].startswith("attribute_required")


def test_urgent_attribute_sets_the_two_hour_acknowledge_deadline(client, factory, place, partner_key):
    factory.org("urban_management", [place["street"]], name="测试城管")
    r = post(client, partner_key, service_code="illegal_construction", address_id=place["units"][0].id,
             description="楼顶正在加盖", **{"attribute[urgent]": "true"})
    assert r.status_code == 201, r.get_json()
    from civic.complaints.models import Complaint
    from civic.extensions import db

    c = db.session.get(Complaint, int(r.get_json()[0]["service_request_id"]))
    assert c.urgent is True
    assert c.acknowledge_due - c.created_at == dt.timedelta(hours=2)


def test_post_without_a_valid_key_is_403(client, place):
    r = post(client, "o311_not-a-key", service_code="noise", address_id=place["units"][0].id, description="吵")
    assert r.status_code == 403
    assert r.get_json() == [{"code": 403, "description": "api_key_invalid: api_key 缺失、无效或已吊销"}]


def test_a_revoked_key_is_refused(client, place, admin_headers, partner_key):
    (row,) = client.get("/api/v1/open311/partners", headers=admin_headers).get_json()
    assert "api_key" not in row and partner_key.startswith(row["key_prefix"])
    r = client.post(f"/api/v1/open311/partners/{row['id']}/revoke", headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["revoked_at"].endswith("+08:00")
    r = post(client, partner_key, "xml", service_code="noise", address_id=place["units"][0].id, description="吵")
    assert r.status_code == 403
    assert ET.fromstring(r.data).findtext("error/code") == "403"


def test_only_an_admin_issues_keys(client, factory, place):
    headers = factory.token(factory.staff(None))
    r = client.post("/api/v1/open311/partners", headers=headers, json={"partner_name": "某平台"})
    assert r.status_code == 403


def test_an_unknown_service_code_in_a_post_is_404(client, place, partner_key):
    r = post(client, partner_key, service_code="potholes", address_id=place["units"][0].id, description="坑")
    assert r.status_code == 404


def test_an_address_string_alone_cannot_be_placed(client, place, partner_key):
    r = post(client, partner_key, service_code="noise", address_string="测试小区1号楼", description="吵")
    assert r.status_code == 400
    assert r.get_json()[0]["description"].startswith("location_required")


def test_lat_long_outside_every_compound_is_a_400(client, place, partner_key):
    r = post(client, partner_key, service_code="noise", lat="39.9", long="116.4", description="吵")
    assert r.status_code == 400
    assert r.get_json()[0]["description"].startswith("location_not_covered")


def test_a_post_without_a_photo_is_refused_like_the_mini_program(client, place, partner_key):
    r = post(client, partner_key, photos=0, service_code="public_space_occupation", address_id=place["units"][0].id,
             description="楼道堆满杂物")
    assert r.status_code == 400
    assert r.get_json()[0]["description"].startswith("photos_required")
    # Noise, which no photo can show, is taken without one (the category's photo_optional), and its
    # source routes it: construction noise to 城管 (issue #18).
    r = post(client, partner_key, photos=0, service_code="noise", address_id=place["units"][0].id, description="吵",
             **{"attribute[noise_source]": "construction"})
    assert r.status_code == 201, r.get_json()
    from civic.complaints.models import Complaint
    from civic.extensions import db

    c = db.session.get(Complaint, int(r.get_json()[0]["service_request_id"]))
    assert (c.category, c.category_detail) == ("noise", "construction")


def test_a_description_over_4000_characters_is_a_400(client, place, partner_key):
    r = post(client, partner_key, service_code="noise", address_id=place["units"][0].id, description="吵" * 4001)
    assert r.status_code == 400
    assert r.get_json()[0]["description"].startswith("text_too_long")


def test_posts_are_rate_limited_per_key(client, app, place, partner_key, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_OPEN311_POST", "2 per minute")
    codes = [post(client, partner_key, service_code="noise", address_id=place["units"][0].id,
                  description=message("188059")).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    r = post(client, partner_key, service_code="noise", address_id=place["units"][0].id, description="吵")
    assert r.get_json()[0]["code"] == 429


def test_get_requests_maps_states_to_open_and_closed(client, factory, place, partner_key):
    rid_open = post(client, partner_key, service_code="noise", address_id=place["units"][0].id,
                    description="吵").get_json()[0]["service_request_id"]
    rid_closed = post(client, partner_key, service_code="property_service", address_id=place["units"][1].id,
                      description="电梯坏了").get_json()[0]["service_request_id"]
    from civic.complaints import service as complaints
    from civic.property import service as reg

    # property_service is led by the residents' committee here (never by the company complained about).
    rc = next(o for o in reg.organisations_covering(place["compound"]) if o.kind == "residents_committee")
    staff = factory.staff(rc)
    complaints.transition(staff, int(rid_closed), "acknowledge", note="已签收")
    complaints.transition(staff, int(rid_closed), "resolve", note="电梯已修复")
    commit()
    data = client.get("/open311/v2/requests.json").get_json()
    validate(data, "requests.json")
    assert {r["service_request_id"]: r["status"] for r in data} == {rid_open: "open", rid_closed: "closed"}
    closed = client.get("/open311/v2/requests.json?status=closed").get_json()
    assert [r["service_request_id"] for r in closed] == [rid_closed]
    assert closed[0]["status_notes"] == "电梯已修复"
    assert closed[0]["description"] is None  # no api_key: the complainant's words stay inside
    assert [r["service_request_id"] for r in client.get("/open311/v2/requests.json?status=open").get_json()] \
        == [rid_open]
    assert [r["service_request_id"] for r in client.get("/open311/v2/requests.json?service_code=noise").get_json()] \
        == [rid_open]
    ids = client.get(f"/open311/v2/requests.json?service_request_id={rid_closed},{rid_open}").get_json()
    assert len(ids) == 2


def test_get_requests_defaults_to_the_last_90_days(client, place, partner_key):
    rid = post(client, partner_key, service_code="noise", address_id=place["units"][0].id,
               description="吵").get_json()[0]["service_request_id"]
    from civic.complaints.models import Complaint
    from civic.extensions import db

    c = db.session.get(Complaint, int(rid))
    c.created_at = c.created_at - dt.timedelta(days=91)
    commit()
    assert client.get("/open311/v2/requests.json").get_json() == []
    old = (c.created_at - dt.timedelta(days=1)).isoformat()
    r = client.get("/open311/v2/requests.json", query_string={"start_date": old})
    assert [x["service_request_id"] for x in r.get_json()] == [rid]


def test_a_date_range_over_90_days_or_without_offset_is_a_400(client):
    r = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
    assert r.status_code == 400 and r.get_json()[0]["description"].startswith("date_range_invalid")
    r = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00")
    assert r.status_code == 400 and r.get_json()[0]["description"].startswith("date_invalid")
    r = client.get("/open311/v2/requests.json?status=pending")
    assert r.status_code == 400


def test_a_request_that_does_not_exist_is_404(client):
    assert client.get("/open311/v2/requests/999999.json").status_code == 404
    assert client.get("/open311/v2/requests/abc.xml").status_code == 404


def _resident_case(factory, place):
    from civic.complaints import service as complaints
    from tests.complaints.helpers import photo

    resident = factory.resident(units=[place["units"][0]])
    result = complaints.submit(resident, complaints.Intake(
        category="noise", description="夜间施工", photos=[("p.jpg", photo("ianare_portrait_6.jpg"))],
        place_id=place["units"][0].id))
    return result.complaint


def test_the_public_location_is_never_the_photo_gps(client, factory, place):
    c = _resident_case(factory, place)
    c.lat, c.lng, c.location_source, c.gps_consent = 31.23987654, 121.50612345, "photo_gps", True
    commit()
    (req,) = client.get(f"/open311/v2/requests/{c.id}.json").get_json()
    assert (req["lat"], req["long"]) == (31.2396, 121.5058)  # the compound's centre
    assert req["description"] is None and req["media_url"] is None


def test_a_point_outside_a_compound_goes_out_rounded_to_3_decimals(client, factory, place):
    c = _resident_case(factory, place)
    c.lat, c.lng, c.location_source, c.compound_id = 31.23987654, 121.50612345, "point", None
    commit()
    (req,) = client.get(f"/open311/v2/requests/{c.id}.json").get_json()
    assert (req["lat"], req["long"]) == (31.24, 121.506)
    assert req["address"] == "测试社区，测试街道，测试区"


def test_ids_from_outside_are_ascii_numbers_within_range(client, place, partner_key):
    r = post(client, partner_key, service_code="property_service", address_id=place["units"][0].id,
             description="楼道灯坏了")
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{rid}.json").status_code == 200
    # Another spelling of the same number, or a number past int4, is not that request (was a 500).
    for other in ("9223372036854775808", "2147483648", "١", "１", "²", "0", f"{rid}0" * 3):
        r = client.get(f"/open311/v2/requests/{other}.json")
        assert r.status_code == 404, (other, r.get_data(as_text=True))
        assert r.get_json()[0]["code"] == 404 and "找不到" in r.get_json()[0]["description"]
    for ids in ("99999999999999999999999,1", "²", f"{rid},١", "-1"):
        r = client.get("/open311/v2/requests.json", query_string={"service_request_id": ids})
        assert r.status_code == 400, (ids, r.get_data(as_text=True))
    r = client.get("/open311/v2/requests.json", query_string={"service_request_id": f"{rid},2147483647"})
    assert [x["service_request_id"] for x in r.get_json()] == [rid]
    r = post(client, partner_key, service_code="property_service", address_id="١", description="楼道灯坏了")
    assert r.status_code == 400 and r.get_json()[0]["description"].startswith("location_invalid")


def test_a_body_over_the_upload_limit_states_the_limit(client, app, place, partner_key, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    r = post(client, partner_key, description="楼道堆物" * 500)
    assert r.status_code == 400
    assert r.get_json() == [{"code": 400, "description": "http_413: 请求体过大：最多 1000 字节"}]


def _copies(rid: str, n: int) -> list[str]:
    """``n`` copies of case ``rid``, each filed a minute before the last (newest first)."""
    from civic.complaints.models import Complaint
    from civic.extensions import db

    c = db.session.get(Complaint, int(rid))
    cols = {col.key: getattr(c, col.key) for col in Complaint.__table__.columns if col.key != "id"}
    copies = [Complaint(**{**cols, "created_at": c.created_at - dt.timedelta(minutes=i + 1)}) for i in range(n)]
    db.session.add_all(copies)
    commit()
    return [str(x.id) for x in copies]


def test_get_requests_comes_in_pages_of_50_by_default(client, place, partner_key):
    # GeoReport v2 lets a server limit a query; civic answers 50 by default, at most 500, newest first.
    rid = post(client, partner_key, service_code="noise", address_id=place["units"][0].id,
               description="吵").get_json()[0]["service_request_id"]
    newest_first = [rid, *_copies(rid, 54)]
    got = [r["service_request_id"] for r in client.get("/open311/v2/requests.json").get_json()]
    assert got == newest_first[:50]
    got = [r["service_request_id"] for r in client.get("/open311/v2/requests.json?page=2").get_json()]
    assert got == newest_first[50:]
    got = [r["service_request_id"] for r in client.get("/open311/v2/requests.json?page_size=20&page=3").get_json()]
    assert got == newest_first[40:55]
    root = ET.fromstring(client.get("/open311/v2/requests.xml?page_size=7").data)
    assert [e.findtext("service_request_id") for e in root] == newest_first[:7]
    everything = client.get("/open311/v2/requests.json?page_size=500").get_json()
    assert len(everything) == 55


def test_a_page_out_of_range_is_a_400_that_says_how_to_read_further_back(client):
    for query in ("page_size=501", "page_size=0", "page_size=x", "page=0", "page=-1", "page=202&page_size=50"):
        r = client.get(f"/open311/v2/requests.json?{query}")
        assert r.status_code == 400, query
        assert r.get_json()[0]["description"].startswith("page_invalid"), query
    r = client.get("/open311/v2/requests.json?page=201&page_size=50")  # offset 10,000: the last allowed
    assert r.status_code == 200 and r.get_json() == []
    assert "end_date" in client.get("/open311/v2/requests.json?page=202").get_json()[0]["description"]


def _resident_cases(factory, place, n: int, first: int = 0) -> list[int]:
    """``n`` residents' cases, each with a photo of its own (``first``: the colour of the first)."""
    from civic.complaints import service as complaints
    from civic.extensions import db
    from tests.complaints.helpers import jpeg

    db.session.add(place["units"][0])  # again in this session (a measured request started a new one)
    resident = factory.resident(units=[place["units"][0]])
    ids = []
    for i in range(first, first + n):
        c = complaints.submit(resident, complaints.Intake(
            category="noise", description="夜间施工", photos=[("p.jpg", jpeg(colour=(i, 255 - i, 40)))],
            place_id=place["units"][0].id)).complaint
        ids.append(c.id)
    commit()
    return ids


def test_a_page_of_requests_costs_the_same_statements_for_5_requests_as_for_50(client, factory, place, partner_key):
    from civic.extensions import db
    from tests.blur_helpers import run_blur_jobs
    from tests.sql import statements

    def page(query: str) -> tuple[list[dict], int]:
        client.get(f"/open311/v2/requests.json{query}")
        db.session.remove()  # as in a server, where each request starts with an empty session
        with statements() as seen:
            r = client.get(f"/open311/v2/requests.json{query}")
        assert r.status_code == 200
        return r.get_json(), len(seen)

    blurred = _resident_cases(factory, place, 5)
    run_blur_jobs()  # these five have their public (blurred) photo; the 45 below are still pending
    small = {q: page(q) for q in ("", f"?api_key={partner_key}")}
    assert all(len(got) == 5 and all(r["media_url"] for r in got) for got, _n in small.values())
    _resident_cases(factory, place, 45, first=5)
    large = {q: page(q) for q in ("", f"?api_key={partner_key}")}
    for got, _n in large.values():
        assert len(got) == 50
        assert {r["service_request_id"] for r in got if r["media_url"]} == {str(i) for i in blurred}
    assert {q: n for q, (_got, n) in large.items()} == {q: n for q, (_got, n) in small.items()}
    assert small[""][1] <= 8, small[""][1]  # the cases, their notes (audit, messages), leads, places (2), photos, blur
