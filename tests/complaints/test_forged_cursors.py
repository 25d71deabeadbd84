"""Every cursor-paginated list answers a forged cursor with 400 ``cursor_invalid``, never a 500 or a
database error (the cursor is the client's: base64 of JSON, not signed)."""

from __future__ import annotations

import base64

from tests.complaints.helpers import new_case

FORGED = [base64.urlsafe_b64encode(raw).decode().rstrip("=") for raw in (
    b"[true]", b"[false]", b"[null]", b'["7"]', b"[1.5]", b"[1e23]", b"[100000000000000000000000]",
    b"[2147483648]", b"[-2147483649]", b"[[1]]", b'[{"a": 1}]', b"[1, 2, 3]", b"[]", b"{}",
)] + ["garbage!!", "W3RydWVd"]


def _list_paths(client) -> list[str]:
    """GET paths without path parameters that take a ``cursor`` query parameter."""
    doc = client.get("/api/v1/openapi.json").get_json()
    out = []
    for path, ops in doc["paths"].items():
        get = ops.get("get")
        if "{" in path or not get:
            continue
        if any(p.get("name") == "cursor" and p.get("in") == "query" for p in get.get("parameters", [])):
            out.append(path)
    return sorted(out)


def test_forged_cursors_are_400_on_every_list_for_every_party(client, factory, w):
    # Paging of real cursors: tests/complaints/test_queue.py and the tests of each list.
    new_case(client, w, category="noise")
    identities = {**w.h, "resident": w.rh, "admin": factory.token(factory.admin())}
    paths = _list_paths(client)
    assert {"/api/v1/queue", "/api/v1/my/complaints", "/api/v1/places"} <= set(paths)
    tried = 0
    for path in paths:
        for who, headers in identities.items():
            if client.get(path, headers=headers).status_code != 200:
                continue  # this identity may not read this list (or it needs a filter): nothing to page
            for cursor in FORGED:
                resp = client.get(path, headers=headers, query_string={"cursor": cursor})
                assert resp.status_code == 400, (path, who, cursor, resp.get_json())
                assert resp.get_json()["error"]["code"] == "cursor_invalid", (path, who, cursor)
                tried += 1
    # Every list was read by someone: the sweep cannot pass by skipping them all.
    assert tried >= len(paths) * len(FORGED) * 0.5, tried
