"""Discovery, the service list and service definitions, in JSON and XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.open311.helpers import validate


def test_services_json_are_the_complaint_categories(client):
    r = client.get("/open311/v2/services.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    data = r.get_json()
    validate(data, "services.json")
    by_code = {s["service_code"]: s for s in data}
    assert len(by_code) == 12
    assert by_code["green_damage"]["service_name"] == "毁绿占绿"
    assert by_code["illegal_construction"]["metadata"] is True
    assert by_code["noise"]["metadata"] is True  # its source (issue #18: construction, social life, decoration)
    assert by_code["ebike_charging"]["metadata"] is False
    assert "毁绿占绿".encode() in r.data  # UTF-8, not \u escapes


def test_services_xml_has_the_utf8_declaration_and_chinese_names(client):
    r = client.get("/open311/v2/services.xml")
    assert r.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert r.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(r.data)
    assert root.tag == "services"
    names = {s.findtext("service_code"): s.findtext("service_name") for s in root.findall("service")}
    assert names["thrown_objects"] == "高空抛物"
    assert root.find("service/metadata").text in ("true", "false")


def test_service_definition_lists_the_urgent_attribute_of_illegal_construction(client):
    data = client.get("/open311/v2/services/illegal_construction.json").get_json()
    validate(data, "service-definition.json")
    (urgent,) = data["attributes"]
    assert urgent["code"] == "urgent" and urgent["required"] is True
    assert {v["key"]: v["name"] for v in urgent["values"]} == {"true": "正在施工", "false": "已建成"}
    assert "maps_to" not in urgent  # civic's own keys stay inside


def test_service_definition_xml_nests_attributes_and_values(client):
    root = ET.fromstring(client.get("/open311/v2/services/thrown_objects.xml").data)
    assert root.tag == "service_definition"
    assert root.findtext("attributes/attribute/code") == "floor"
    assert root.findtext("attributes/attribute/datatype") == "number"
    assert root.findtext("attributes/attribute/required") == "false"


def test_unknown_service_code_is_404_in_the_standard_error_form(client):
    r = client.get("/open311/v2/services/potholes.json")
    assert r.status_code == 404
    [err] = r.get_json()
    assert err["code"] == 404 and err["description"].startswith("service_code_not_found")
    x = client.get("/open311/v2/services/potholes.xml")
    assert x.status_code == 404
    root = ET.fromstring(x.data)
    assert root.tag == "errors" and root.findtext("error/code") == "404"


def test_another_jurisdiction_is_404_and_an_empty_one_counts_as_absent(client, app):
    assert app.config["OPEN311_JURISDICTION_ID"] == "pudong.sh.cn"
    assert client.get("/open311/v2/services.json?jurisdiction_id=pudong.sh.cn").status_code == 200
    assert client.get("/open311/v2/services.json?jurisdiction_id=").status_code == 200
    r = client.get("/open311/v2/services.json?jurisdiction_id=sfgov.org")
    assert r.status_code == 404
    assert r.get_json()[0]["description"].startswith("jurisdiction_not_found")


def test_discovery_names_the_endpoint_and_both_formats(client):
    data = client.get("/open311/v2/discovery.json").get_json()
    (ep,) = data["endpoints"]
    assert ep["url"] == "http://localhost/open311/v2"
    assert ep["formats"] == ["text/xml", "application/json"]
    root = ET.fromstring(client.get("/open311/v2/discovery.xml").data)
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_an_unknown_format_or_resource_is_a_404_in_xml(client):
    r = client.get("/open311/v2/services.csv")
    assert r.status_code == 404
    assert ET.fromstring(r.data).findtext("error/code") == "404"


def test_tokens_are_never_issued_so_a_token_is_404(client):
    r = client.get("/open311/v2/tokens/12345.json")
    assert r.status_code == 404
    assert r.get_json()[0]["description"].startswith("token_not_found")
