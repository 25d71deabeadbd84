"""media_url: fetched only from the partner's allow-listed hosts, never from private or loopback
addresses, within size limits.  Every server here listens on 127.0.0.1; nothing goes elsewhere."""

from __future__ import annotations

import pytest

from tests.complaints.helpers import photo
from tests.open311.helpers import PhotoServer, issue_key


@pytest.fixture
def server():
    s = PhotoServer(photo("ianare_portrait_6.jpg"))
    yield s
    s.close()


def post(client, key, place, media_url):
    return client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "noise", "address_id": str(place["units"][0].id),
        "description": "夜间施工噪音", "media_url": media_url})


def refused(r, code):
    assert r.status_code == 400, r.get_json()
    assert r.get_json()[0]["description"].startswith(code), r.get_json()


def test_loopback_is_refused_even_when_allow_listed(client, admin_headers, place, server):
    key = issue_key(client, admin_headers, hosts=["127.0.0.1"])
    refused(post(client, key, place, f"http://127.0.0.1:{server.port}/p.jpg"), "media_address_forbidden")
    assert server.hits == []


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.10"])
def test_private_addresses_are_refused_before_connecting(client, admin_headers, place, app, monkeypatch, address):
    monkeypatch.setitem(app.config, "OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS", True)  # loopback only, never private
    key = issue_key(client, admin_headers, hosts=[address])
    refused(post(client, key, place, f"http://{address}/p.jpg"), "media_address_forbidden")


def test_a_host_off_the_allow_list_is_refused(client, admin_headers, place, app, monkeypatch, server):
    monkeypatch.setitem(app.config, "OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS", True)
    key = issue_key(client, admin_headers, hosts=["photos.partner.example"])
    refused(post(client, key, place, f"http://localhost:{server.port}/p.jpg"), "media_host_not_allowed")
    assert server.hits == []


def test_a_file_over_the_limit_is_refused_and_no_case_is_made(client, admin_headers, place, app, monkeypatch,
                                                              server):
    monkeypatch.setitem(app.config, "OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS", True)
    monkeypatch.setitem(app.config, "OPEN311_MEDIA_MAX_BYTES", 50_000)
    key = issue_key(client, admin_headers, hosts=["localhost"])
    refused(post(client, key, place, f"http://localhost:{server.port}/p.jpg"), "media_too_large")
    assert client.get("/open311/v2/requests.json").get_json() == []


def test_an_allow_listed_host_is_fetched_once_through_the_photo_pipeline(client, factory, admin_headers, place, app,
                                                                         monkeypatch, server):
    monkeypatch.setitem(app.config, "OPEN311_MEDIA_ALLOW_LOOPBACK_FOR_TESTS", True)
    key = issue_key(client, admin_headers, hosts=["localhost"])
    r = post(client, key, place, f"http://localhost:{server.port}/photos/p.jpg?size=big")
    assert r.status_code == 201, r.get_json()
    assert server.hits == ["/photos/p.jpg?size=big"]
    rid = r.get_json()[0]["service_request_id"]
    from civic.property import service as reg

    rc = next(o for o in reg.organisations_covering(place["compound"]) if o.kind == "residents_committee")
    case = client.get(f"/api/v1/complaints/{rid}", headers=factory.token(factory.staff(rc))).get_json()
    (p,) = case["photos"]
    assert p["height"] > p["width"]  # processed: turned upright like every upload


def test_a_non_http_url_is_refused(client, admin_headers, place):
    key = issue_key(client, admin_headers, hosts=["localhost"])
    refused(post(client, key, place, "file:///etc/passwd"), "media_url_invalid")
