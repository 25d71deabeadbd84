"""GeoReport v2's two formats: XML (required by the standard) and JSON (its Spark mapping), both
UTF-8, and its error form (a list of code and description)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from flask import Response

# A list under these tags holds elements named so (Spark convention).
ITEM_TAGS = {"services": "service", "service_requests": "request", "attributes": "attribute",
             "values": "value", "endpoints": "endpoint", "formats": "format", "errors": "error"}


def _text(value) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _fill(el: ET.Element, value) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _fill(ET.SubElement(el, k), v)
    elif isinstance(value, list):
        tag = ITEM_TAGS[el.tag]
        for item in value:
            _fill(ET.SubElement(el, tag), item)
    else:
        el.text = _text(value)


def to_xml(root: str, value) -> bytes:
    el = ET.Element(root)
    _fill(el, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(el, encoding="unicode").encode("utf-8")


def render(fmt: str, root: str, value, status: int = 200) -> Response:
    """``value`` as JSON, or as XML under ``root`` (a list becomes ``ITEM_TAGS[root]`` items)."""
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        return Response(body, status=status, content_type="application/json; charset=utf-8")
    return Response(to_xml(root, value), status=status, content_type="text/xml; charset=utf-8")


def errors(fmt: str, status: int, description: str) -> Response:
    return render(fmt, "errors", [{"code": status, "description": description}], status)
