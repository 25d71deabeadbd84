"""Sweep (issue #19 point 3): every API route that takes photos or scans also takes ``upload_ids``.

Three checks, so that a new route cannot slip past:

1. the OpenAPI document: every operation whose request body is ``multipart/form-data`` with a
   binary (file) property also declares ``upload_ids``;
2. the source: every API view that reads uploaded files (``photo_files``, ``scan_file``,
   ``uploaded_files`` or ``request.files``, directly or through a helper of its module) documents
   a multipart body with a file property, so it is in check 1 (Open311 is the one reasoned
   exception: its partners are not accounts, see civic.open311.routes.requests_);
3. behaviour, over the same operations, from :data:`ROUTES` (a test fails when a multipart route
   appears that the table does not list): a photo sent with a real tus client (tuspy, over
   loopback) and attached by its upload id is stored through the photo pipeline (a JPEG display
   copy without EXIF; the upload consumed for the route's purpose, its pieces gone from the store);
   the same upload id sent again in a new request gets 409 ``upload_consumed`` and nothing is
   written (every table's row count and the media store unchanged).
"""

from __future__ import annotations

import ast
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.extensions import db
from tests.shared import PHOTOS
from tests.village.conftest import vil  # noqa: F401  (the village world, as a fixture)

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[2]
READERS = {"photo_files", "scan_file", "uploaded_files"}
# Routes that read files yet take no upload ids, with the reason (kept short; the full one is in
# the route's docstring).
EXEMPT_MODULES = {
    "civic/open311/routes.py": "Open311 partners authenticate by api_key, not as accounts; uploads are bound "
                               "to accounts (GeoReport v2 is outside the OpenAPI document)",
}


# --- 1. the OpenAPI document -------------------------------------------------------------------

def _schema(spec: dict, s: dict) -> dict:
    while "$ref" in s:
        s = spec["components"]["schemas"][s["$ref"].rsplit("/", 1)[1]]
    return s


def _is_binary(spec: dict, prop: dict) -> bool:
    prop = _schema(spec, prop)
    if prop.get("type") == "array":
        return _is_binary(spec, prop.get("items", {}))
    return prop.get("format") == "binary"


def file_operations(spec: dict) -> dict[tuple[str, str], dict]:
    """``{(METHOD, path): properties}`` of every multipart operation with a file property."""
    out = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            body = op.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            if body is None:
                continue
            props = _schema(spec, body.get("schema", {})).get("properties", {})
            if any(_is_binary(spec, p) for p in props.values()):
                out[(method.upper(), path)] = props
    return out


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get(f"{API}/openapi.json").get_json()


def test_every_multipart_file_operation_declares_upload_ids(spec):
    ops = file_operations(spec)
    assert len(ops) >= 11, sorted(ops)
    missing = sorted(k for k, props in ops.items() if "upload_ids" not in props)
    assert missing == [], f"multipart routes taking files without upload_ids: {missing}"
    for key, props in ops.items():
        ids = _schema(spec, props["upload_ids"])
        assert ids["type"] == "array" and ids["items"]["type"] == "string", key
        assert "/api/v1/uploads" in ids["description"], key


def test_every_operation_taking_upload_ids_documents_their_errors(spec):
    for (method, path) in file_operations(spec):
        doc = spec["paths"][path][method.lower()].get("description", "")
        for code in ("upload_not_found", "upload_incomplete", "upload_consumed", "upload_expired",
                     "upload_ids_invalid", "upload_kind_mismatch"):
            assert code in doc, (method, path, code)


# --- 2. the source --------------------------------------------------------------------------------

def _reads_files(node: ast.AST, helpers: set[str]) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in READERS or name in helpers:
                return True
        if isinstance(n, ast.Attribute) and n.attr == "files" and isinstance(n.value, ast.Name) \
                and n.value.id == "request":
            return True
    return False


def _route_of(cls: ast.ClassDef) -> str | None:
    for d in cls.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "route" and d.args:
            arg = d.args[0]
            if isinstance(arg, ast.Constant):
                return arg.value
            if isinstance(arg, ast.JoinedStr):  # an f-string path: no OpenAPI route of ours uses one
                return None
    return None


def _is_view(f: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
               and d.func.attr in ("route", "post", "put", "patch") for d in f.decorator_list)


def views_reading_files() -> dict[str, list[tuple[str, str | None]]]:
    """``{module: [(METHOD, flask rule)]}`` of the views under civic/ that read uploaded files:
    MethodView methods of a routed class, and routed functions (rule None).  The console's HTML
    pages (civic/console) are forms for people, not the API, and are left out."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for path in sorted((ROOT / "civic").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel.startswith("civic/console/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        helpers = {f.name for f in tree.body if isinstance(f, ast.FunctionDef) and not _is_view(f)
                   and _reads_files(f, set())}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and _is_view(node) and _reads_files(node, helpers):
                out.setdefault(rel, []).append(("?", None))
            if isinstance(node, ast.ClassDef):
                rule = _route_of(node)
                for m in node.body:
                    if isinstance(m, ast.FunctionDef) and m.name in ("post", "put", "patch") \
                            and _reads_files(m, helpers):
                        out.setdefault(rel, []).append((m.name.upper(), rule))
    return out


def _to_openapi(rule: str) -> str:
    import re

    return API + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_api_view_that_reads_files_is_a_documented_file_operation(spec):
    ops = file_operations(spec)
    readers = views_reading_files()
    assert set(readers) >= {"civic/voting/routes.py", "civic/proposals/deliberation/routes.py",
                            "civic/complaints/supporter_routes.py"}
    unknown = []
    for module, views in readers.items():
        if module in EXEMPT_MODULES:
            continue
        for method, rule in views:
            if rule is None or (method, _to_openapi(rule)) not in ops:
                unknown.append((module, method, rule))
    assert unknown == [], f"views reading files without a documented multipart file body: {unknown}"


def test_open311_is_the_reasoned_exception():
    from civic.open311 import routes

    doc = routes.requests_.__doc__
    assert "upload_ids" in doc and "api_key" in doc and "account" in doc


# --- 3. behaviour ---------------------------------------------------------------------------------

@dataclass
class Attach:
    """How to attach by upload id on one route: ``build(request, client, factory)`` prepares a
    world and returns ``(headers, url, form fields, purpose)``; the upload is added as
    ``upload_ids``.  ``kind``: the upload kind sent (photo, or scan for a scan field)."""

    build: Callable
    kind: str = "photo"


def _complaints_world(request):
    from tests.complaints.helpers import World

    return World(request.getfixturevalue("factory"))


def _new_case(client, w) -> dict:
    from tests.complaints.helpers import post_case

    r = post_case(client, w.rh, category="noise", place_id=w.units[0].id)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def build_case(request, client):
    w = _complaints_world(request)
    return w.rh, f"{API}/complaints", {"category": "noise", "description": "楼下商铺夜里十二点还在施工，噪音很大。",
                                        "place_id": str(w.units[0].id)}, "complaints.photo"


def build_result_photos(request, client):
    w = _complaints_world(request)
    case = _new_case(client, w)
    lead = db.session.execute(sa.text("SELECT o.kind FROM complaint_party p JOIN organisation o "
                                      "ON o.id = p.organisation_id WHERE p.complaint_id = :i AND p.role = 'lead' "
                                      "AND p.active"), {"i": case["id"]}).scalar()
    return w.h[lead], f"{API}/complaints/{case['id']}/photos", {}, "complaints.photo"


def build_supporters(request, client):
    w = _complaints_world(request)
    case = _new_case(client, w)
    _u, h = w.other_resident(unit=1)
    return h, f"{API}/complaints/{case['id']}/supporters", {}, "complaints.support_photo"


def build_voucher(request, client):
    from tests.village.conftest import finance_body

    v = request.getfixturevalue("vil")
    r = client.post(f"{API}/villages/V-T/disclosures", json=finance_body(), headers=v["h_hua"])
    assert r.status_code == 201, r.get_json()
    did, line = r.get_json()["id"], r.get_json()["lines"][1]["id"]
    return v["h_hua"], f"{API}/village-disclosures/{did}/lines/{line}/vouchers", {}, "village.voucher"


def _compound(request):
    from tests.voting.helpers import Compound

    return Compound(request.getfixturevalue("factory"))


def build_matter_attachment(request, client):
    from tests.voting.helpers import api

    factory = request.getfixturevalue("factory")
    comp = _compound(request)
    h = factory.token(comp.head)
    rid = api(client, "post", f"{API}/rosters", h, json={"place_id": comp.compound.id})[1]["roster"]["id"]
    vid = api(client, "post", f"{API}/votes", h, json={"roster_id": rid, "title": "续聘物业"})[1]["id"]
    st, m = api(client, "post", f"{API}/votes/{vid}/matters", h, json={"number": 4, "title": "续聘", "text": "说明"})
    assert st == 201, m
    return h, f"{API}/votes/{vid}/matters/{m['id']}/attachments", {}, "voting.matter_attachment"


def build_proxy(request, client):
    from tests.voting.helpers import api, make_open_vote

    factory = request.getfixturevalue("factory")
    comp = _compound(request)
    v = make_open_vote(client, factory, comp)
    b_person = next(o["person_id"] for u in api(client, "get", f"{API}/rosters/{v['roster_id']}/units",
                                                v["head_token"])[1]["items"]
                    for o in u["owners"] if o["representative"] and u["unit_code"] == comp.units[2].code)
    return v["head_token"], f"{API}/votes/{v['id']}/proxies", {
        "principal_person_id": str(b_person), "holder_name": "共有人", "holder_phone": comp.c.phone}, "voting.proxy_scan"


def build_paper_ballot(request, client):
    from tests.voting.helpers import make_open_vote, roster_unit_ids, signer_fields

    factory = request.getfixturevalue("factory")
    comp = _compound(request)
    v = make_open_vote(client, factory, comp)
    unit = roster_unit_ids(v["id"])[comp.units[3].code]
    return v["head_token"], f"{API}/votes/{v['id']}/paper-ballots", {
        "roster_unit_id": str(unit), "choices": json.dumps({str(v["matters"][0]): "agree"}),
        **signer_fields(v["id"], unit)}, "voting.paper_scan"


def build_contest_photo(request, client):
    from tests.proposals.conftest import World

    w = World(request.getfixturevalue("factory"), client)
    w.contest()
    return w.h[w.author], f"{API}/contest-photos", {}, "contests.photo"


def _action_item(request):
    import datetime as dt

    from civic.core.db import commit, utcnow
    from civic.proposals.deliberation import service as svc
    from tests.proposals.deliberation.conftest import World

    request.getfixturevalue("app")
    world = World(request.getfixturevalue("factory"), request.getfixturevalue("app").test_client())
    resolution = world.passed_resolution()
    a = svc.add_action_item(world.secretary, resolution.id, {
        "title": "弄堂口安装4个充电桩", "organisation_id": world.pc.id, "due_on": utcnow().date() + dt.timedelta(days=30)})
    commit()
    return world, a


def build_action_update(request, client):
    world, a = _action_item(request)
    return world.h(world.pc_staff), f"{API}/action-items/{a.id}/updates", {"note": "已完成选址"}, "deliberation.photo"


def build_action_close(request, client):
    world, a = _action_item(request)
    return world.h(world.pc_staff), f"{API}/action-items/{a.id}/close", {"note": "4个充电桩已安装"}, "deliberation.photo"


def build_unit_claim(request, client):
    from tests.residents.test_claims import Street

    factory = request.getfixturevalue("factory")
    st = Street(factory, client)
    claimant = factory.resident()
    return factory.token(claimant), f"{API}/my/unit-claims", {
        "unit_id": str(st.u102.id), "relation": "tenant", "claimed_name": "测试居民"}, "residents.claim_document"


ROUTES: dict[tuple[str, str], Attach] = {
    ("POST", f"{API}/complaints"): Attach(build_case),
    ("POST", f"{API}/complaints/{{complaint_id}}/photos"): Attach(build_result_photos),
    ("POST", f"{API}/complaints/{{complaint_id}}/supporters"): Attach(build_supporters),
    ("POST", f"{API}/village-disclosures/{{disclosure_id}}/lines/{{line_id}}/vouchers"): Attach(build_voucher, "scan"),
    ("POST", f"{API}/votes/{{vote_id}}/matters/{{matter_id}}/attachments"): Attach(build_matter_attachment),
    ("POST", f"{API}/votes/{{vote_id}}/proxies"): Attach(build_proxy, "scan"),
    ("POST", f"{API}/votes/{{vote_id}}/paper-ballots"): Attach(build_paper_ballot, "scan"),
    ("POST", f"{API}/contest-photos"): Attach(build_contest_photo),
    ("POST", f"{API}/action-items/{{item_id}}/updates"): Attach(build_action_update),
    ("POST", f"{API}/action-items/{{item_id}}/close"): Attach(build_action_close),
    ("POST", f"{API}/my/unit-claims"): Attach(build_unit_claim, "scan"),
}


def test_the_table_lists_every_multipart_file_operation(spec):
    assert sorted(file_operations(spec)) == sorted(ROUTES), "add the new route to ROUTES (how to attach there)"


def tus_upload(app, headers, data: bytes, *, kind: str, filename: str) -> str:
    """Upload ``data`` with tuspy (a real tus 1.0 client) to the app served on loopback, in
    pieces of 64 KiB with their sha1; returns the upload id."""
    from tusclient import client as tusclient

    from tests.browser import served

    with served(app) as base:
        tus = tusclient.TusClient(f"{base}{API}/uploads", headers=dict(headers))
        uploader = tus.uploader(file_stream=io.BytesIO(data), chunk_size=64 * 1024, upload_checksum=True,
                                metadata={"filename": filename, "kind": kind})
        uploader.upload()
    return uploader.url.rsplit("/", 1)[1]


def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


@pytest.fixture
def fresh_media(app, tmp_path, monkeypatch):
    """An empty media folder for this test: the store is content-addressed, so a photo another test
    stored would otherwise already be there."""
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "MEDIA_URL", None)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_attach_by_upload_id_stores_once(route, request, app, client, fresh_media):
    from PIL import Image

    from civic.core.resumable import Upload
    from civic.core.storage import media_store

    headers, url, fields, purpose = ROUTES[route].build(request, client)
    db.session.commit()
    data = (PHOTOS / "ianare_landscape_3.jpg").read_bytes()  # a real camera JPEG with its EXIF block
    uid = tus_upload(app, headers, data, kind=ROUTES[route].kind, filename="现场.jpg")
    before = set(media_store().iter_keys())
    r = client.post(url, headers=headers, content_type="multipart/form-data", data={**fields, "upload_ids": uid})
    assert r.status_code in (200, 201), (route, r.get_json())
    db.session.expire_all()
    u = db.session.get(Upload, uid)
    assert (u.status, u.consumed_for) == ("consumed", purpose)
    after = set(media_store().iter_keys())
    assert not [k for k in after if k.endswith(".part")], "the upload's pieces are deleted once it is attached"
    stored = sorted(k for k in after - before if k.endswith(".jpg"))
    assert stored, "the photo pipeline stored the attached file"
    for key in stored:  # display copy and thumbnail: re-encoded, no EXIF (no GPS, no camera)
        im = Image.open(io.BytesIO(media_store().open(key)))
        assert im.format == "JPEG" and not im.getexif()

    # The retried attach (a new request, no Idempotency-Key): refused, nothing written.
    counts, keys = _row_counts(), set(media_store().iter_keys())
    again = client.post(url, headers=headers, content_type="multipart/form-data", data={**fields, "upload_ids": uid})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "upload_consumed", again.get_json()
    assert _row_counts() == counts
    assert set(media_store().iter_keys()) == keys


@pytest.mark.parametrize("route", [r for r in sorted(ROUTES) if r[1].endswith(("proxies", "paper-ballots"))],
                         ids=lambda r: r[1].rsplit("/", 1)[1])
def test_a_scan_field_takes_one_file_part_or_one_upload_id(route, request, app, client):
    from civic.core.resumable import Upload

    headers, url, fields, _purpose = ROUTES[route].build(request, client)
    db.session.commit()
    data = (PHOTOS / "recurser_Portrait_0.jpg").read_bytes()
    uid = tus_upload(app, headers, data, kind="scan", filename="scan.jpg")
    counts = _row_counts()
    neither = client.post(url, headers=headers, content_type="multipart/form-data", data=dict(fields))
    assert neither.status_code == 422 and neither.get_json()["error"]["code"] == "scan_required"
    both = client.post(url, headers=headers, content_type="multipart/form-data",
                       data={**fields, "upload_ids": uid, "scan": (io.BytesIO(data), "scan.jpg")})
    assert both.status_code == 422 and both.get_json()["error"]["code"] == "scan_one_only"
    assert both.get_json()["error"]["details"] == {"field": "scan", "files": 1, "upload_ids": 1}
    assert _row_counts() == counts
    db.session.expire_all()
    assert db.session.get(Upload, uid).status == "complete"  # not consumed by a refused form
