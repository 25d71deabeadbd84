"""Helpers for Open311 tests: the project's JSON schemas, a partner key, local HTTP servers."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.complaints.helpers import login, photo
from tests.conftest import SHARED

ADMIN_PASSWORD = "civic-admin-2026"


@functools.cache
def _registry() -> Registry:
    # services.json / requests.json say {"$ref": "service.json"}: resolved by file name.
    resources = []
    for p in (SHARED / "open311").glob("*.json"):
        resources.append((p.name, Resource.from_contents(json.loads(p.read_text(encoding="utf-8")),
                                                         default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def validate(data, schema_name: str) -> None:
    """Validate ``data`` against /shared/open311/<schema_name> (raises on any violation)."""
    schema = _registry().contents(schema_name)
    jsonschema.Draft202012Validator(schema, registry=_registry(),
                                    format_checker=jsonschema.FormatChecker()).validate(data)


def issue_key(client, admin_headers, name="12345市民服务热线", hosts=()) -> str:
    r = client.post("/api/v1/open311/partners", headers=admin_headers,
                    json={"partner_name": name, "media_hosts": list(hosts)})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["api_key"]


def admin_login(client) -> dict:
    return login(client, "admin", ADMIN_PASSWORD)


def photo_file(name="ianare_portrait_6.jpg"):
    import io

    return (io.BytesIO(photo(name)), name)


class PhotoServer:
    """An HTTP server on 127.0.0.1 that records every request it receives and answers ``body``."""

    def __init__(self, body: bytes):
        self.body = body
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
