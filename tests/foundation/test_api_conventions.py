"""API conventions: /api/v1, OpenAPI 3, one error envelope for every error, UTF-8 Chinese,
cursor pagination, rate limits, and bad input that never becomes a 500."""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from civic.core.errors import Conflict
from civic.core.http import public_write_limit
from civic.extensions import db, limiter
from tests.browser import needs_chromium

# --- OpenAPI ------------------------------------------------------------------------------------

def test_openapi_document_is_valid_openapi_3(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    validate(spec)
    assert spec["openapi"] == "3.0.3"


def test_openapi_lists_the_auth_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/auth/wechat", "/api/v1/auth/otp", "/api/v1/auth/otp/verify",
                 "/api/v1/auth/logout", "/api/v1/me"):
        assert path in paths
    assert paths["/api/v1/auth/login"]["post"]["summary"] == "工作人员账号密码登录，返回 Bearer 令牌"


def test_openapi_describes_the_error_envelope(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["Error"]["properties"]["error"]["$ref"] == "#/components/schemas/ErrorBody"
    assert schemas["ErrorBody"]["required"] == ["code", "message"]
    login = spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert login["422"]["$ref"] == "#/components/responses/UNPROCESSABLE_ENTITY"
    assert spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]["application/json"][
        "schema"]["$ref"] == "#/components/schemas/Error"


def test_openapi_document_is_built_on_first_read_and_covers_every_api_route(make_app):
    """create_app() defers flask-smorest's documentation; the document must still hold every route and
    method of every API blueprint, once, however often it is read."""
    from civic.extensions import api

    app = make_app()
    client = app.test_client()
    assert api._doc_pending, "create_app() should leave the documentation to the first read"
    first = client.get("/api/v1/openapi.json").get_json()
    assert not api._doc_pending
    second = client.get("/api/v1/openapi.json").get_json()
    assert first == second
    documented = {(path, method) for path, ops in first["paths"].items() for method in ops
                  if method in {"get", "post", "put", "patch", "delete"}}
    api_blueprints = set(app.extensions["flask-smorest"]["blp_name_to_api"])
    assert len(api_blueprints) == 17
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in api_blueprints:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served and served == documented
    assert len(first["tags"]) == len({t["name"] for t in first["tags"]}) == 17


def test_docs_page_is_served_by_civic_itself(client):
    resp = client.get("/api/v1/docs/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert "/api/v1/openapi.json" in page and "civic API 文档" in page
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert scripts and all(s.startswith("/api/v1/docs/") for s in scripts), scripts  # no CDN
    for asset in scripts:
        with client.get(asset) as got:
            assert got.status_code == 200, asset
    assert client.get("/api/v1/docs").status_code == 308  # the address in README redirects


@needs_chromium
def test_docs_page_renders_every_operation_offline_in_chromium(app):
    """Swagger UI draws the operations from /api/v1/openapi.json with every request kept to civic
    (any other address is refused, as it would be offline or behind a firewall)."""
    from tests.browser import ARTIFACTS, chromium, served

    with served(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        outside = []

        def only_civic(route):
            if route.request.url.startswith(base):
                return route.continue_()
            outside.append(route.request.url)
            return route.abort()

        page.route("**/*", only_civic)
        refused = []  # what civic's Content-Security-Policy refused (civic.core.headers)
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        doc = app.test_client().get("/api/v1/openapi.json").get_json()
        documented = sum(1 for ops in doc["paths"].values() for m in ops
                         if m in {"get", "post", "put", "patch", "delete"})
        page.goto(f"{base}/api/v1/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        # Swagger UI draws only what is on screen; what it parsed is in its own store.
        operations = page.evaluate("window.ui.specSelectors.operations().size")
        tags = page.evaluate("window.ui.specSelectors.tagDetails ? "
                             "window.ui.spec().toJS().json.tags.map(t => t.description) : []")
        first = page.locator(".opblock").first.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    assert outside == [] and refused == []
    assert operations == documented > 100
    assert "六方联动：投诉案件与工单队列" in tags and "业主表决" in tags
    assert "/healthz" in first and "服务健康状态" in first  # Chinese summaries drawn as UTF-8


# --- the one error envelope --------------------------------------------------------------------

def test_422_validation_names_the_field(client, envelope):
    err = envelope(client.post("/api/v1/auth/login", json={"username": "a"}), 422, "validation_failed")
    assert err["details"] == {"fields": {"json": {"password": ["必填项"]}}}


def test_422_unknown_field(client, envelope):
    err = envelope(client.post("/api/v1/auth/login", json={"username": "a", "password": "b", "admin": True}),
                   422, "validation_failed")
    assert err["details"]["fields"]["json"] == {"admin": ["不允许的字段"]}


def test_422_wrong_type(client, envelope):
    err = envelope(client.post("/api/v1/auth/login", json={"username": 5, "password": "b"}),
                   422, "validation_failed")
    assert err["details"]["fields"]["json"] == {"username": ["须为文本"]}


def test_400_malformed_json(client, envelope):
    resp = client.post("/api/v1/auth/login", data=b'{"username": "a",', content_type="application/json")
    envelope(resp, 400, "malformed_json")


def test_401(client, envelope):
    envelope(client.get("/api/v1/me"), 401, "unauthenticated")


def test_403_wrong_kind_of_account(client, factory, envelope):
    headers = factory.token(factory.resident())
    resp = client.post("/api/v1/registry/import/places", data="code,name\n", content_type="text/csv",
                       headers=headers)
    envelope(resp, 403, "wrong_account_kind")


def test_404_unknown_path(client, envelope):
    envelope(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_404_unknown_object(client, factory, envelope):
    resp = client.get("/api/v1/places/987654", headers=factory.token(factory.admin()))
    assert resp.status_code == 404 and resp.mimetype == "application/json"
    assert list(resp.get_json()) == ["error"]


def test_405_keeps_the_allow_header(client, envelope):
    resp = client.get("/api/v1/auth/login")
    envelope(resp, 405, "method_not_allowed")
    assert "POST" in resp.headers["Allow"]


def test_413_json_over_max_json_bytes(app, client, envelope):
    body = json.dumps({"username": "a" * app.config["MAX_JSON_BYTES"], "password": "b"})
    err = envelope(client.post("/api/v1/auth/login", data=body, content_type="application/json"),
                   413, "payload_too_large")
    assert err["details"] == {"max_bytes": app.config["MAX_JSON_BYTES"]}
    assert err["message"] == "JSON 请求体过大：最多 1 MB（1048576 字节）"


def test_413_json_suffix_types_are_limited_too(app, client, envelope):
    body = json.dumps({"username": "a" * app.config["MAX_JSON_BYTES"], "password": "b"})
    resp = client.post("/api/v1/auth/login", data=body, content_type="application/merge-patch+json")
    envelope(resp, 413, "payload_too_large")


@pytest.mark.parametrize(("size", "status", "code"), [(5000, 413, "payload_too_large"),
                                                     (1001, 413, "payload_too_large"),
                                                     (1000, 401, "invalid_credentials")])
def test_chunked_json_is_not_read_past_the_limit(app, client, monkeypatch, envelope, size, status, code):
    # No Content-Length to refuse up front: Werkzeug stops reading one byte past MAX_JSON_BYTES, and
    # a body that went past it is 413 (not a cut, malformed document); one of exactly the limit is read.
    import io

    monkeypatch.setitem(app.config, "MAX_JSON_BYTES", 1000)
    monkeypatch.setattr(limiter, "enabled", False)
    body = json.dumps({"username": "u", "password": "b"})
    body = body[:-1] + " " * (size - len(body)) + "}"
    assert len(body.encode()) == size
    resp = client.post("/api/v1/auth/login", input_stream=io.BytesIO(body.encode()), content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""})
    err = envelope(resp, status, code)
    if status == 413:
        assert err["details"] == {"max_bytes": 1000}
        assert "1000 字节" in err["message"]


@pytest.mark.parametrize(("body", "code", "details"), [
    ('{"username": "\\ud800", "password": "x"}', "invalid_text", {"reason": "lone_surrogate"}),
    ('{"username": "a\\u0000", "password": "x"}', "invalid_text", {"reason": "nul"}),
    ('{"username": ["ok", {"\\udc00": 1}], "password": "x"}', "invalid_text", {"reason": "lone_surrogate"}),
    ('{"username": "a", "password": NaN}', "malformed_json", {}),
])
def test_json_that_is_not_text_is_refused_before_the_view(client, monkeypatch, envelope, body, code, details):
    monkeypatch.setattr(limiter, "enabled", False)
    err = envelope(client.post("/api/v1/auth/login", data=body, content_type="application/json"), 400, code)
    assert err["details"] == details
    if code == "invalid_text":
        assert "无效字符" in err["message"]


def test_a_body_of_the_wrong_type_is_415_with_what_was_sent(client, monkeypatch, envelope):
    monkeypatch.setattr(limiter, "enabled", False)
    err = envelope(client.post("/api/v1/auth/login", data='{"username": "a", "password": "b"}',
                               content_type="text/plain"), 415, "json_required")
    assert err["details"] == {"content_type": "text/plain"} and "application/json" in err["message"]
    # Multipart views (photos, paper ballots) keep taking their forms; a JSON view without a body is 422.
    envelope(client.post("/api/v1/auth/login"), 422, "validation_failed")


def test_413_over_max_content_length(app, client, factory, monkeypatch, envelope):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    headers = factory.token(factory.admin())
    resp = client.post("/api/v1/registry/import/places", data={"file": (__import__("io").BytesIO(b"x" * 5000),
                       "places.csv")}, content_type="multipart/form-data", headers=headers)
    err = envelope(resp, 413, "payload_too_large")
    # The real limit, not a bare "too large" (issue 15 point 12).
    assert err["details"] == {"max_bytes": 1000}
    assert err["message"] == "请求体过大：最多 1000 字节"


def test_429_login_rate_limit(client, envelope):
    for _ in range(10):
        client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
    resp = client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
    err = envelope(resp, 429, "rate_limited")
    assert err["details"] == {"limit": "10 per 1 minute"}
    assert resp.headers["Retry-After"]


def test_one_accounts_login_limit_does_not_lock_out_the_office(app, client, factory, envelope, monkeypatch):
    # Ten wrong passwords for one account (from the office's one NAT address) use up that account's
    # budget only; a colleague behind the same address still logs in — and the console shares it.
    factory.staff(username="colleague")
    for _ in range(10):
        client.post("/api/v1/auth/login", json={"username": "victim", "password": "wrong"})
    envelope(client.post("/api/v1/auth/login", json={"username": "VICTIM", "password": "wrong"}), 429, "rate_limited")
    assert client.post("/api/v1/auth/login", json={"username": "colleague", "password": "test-pass-123"}).status_code == 200
    console = app.test_client()
    tok = re.search(r'name="csrf_token" value="([^"]+)"', console.get("/console/login").text).group(1)
    r = console.post("/console/login", data={"username": "victim", "password": "wrong", "csrf_token": tok})
    assert r.status_code == 429  # the same budget through the console
    # Many accounts tried from one address meet the address's own cap.
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_ADDRESS", "3 per minute")  # a new limit: counted afresh
    codes = [client.post("/api/v1/auth/login", json={"username": f"guess{i}", "password": "x"}).status_code
             for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_failed_logins_spread_over_many_addresses_meet_the_accounts_own_cap(app, client, factory, envelope,
                                                                          monkeypatch):
    # A guesser with many addresses: each stays under the per-address budgets, but the account
    # counts its failures from anywhere (successes do not count); other accounts are unaffected.
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_FAILURES", "3 per hour")
    factory.staff(username="target")

    def login(password, addr):
        return client.post("/api/v1/auth/login", json={"username": "target", "password": password},
                           environ_overrides={"REMOTE_ADDR": addr})

    assert login("test-pass-123", "10.0.0.1").status_code == 200
    assert [login("wrong", f"10.0.1.{i}").status_code for i in range(3)] == [401, 401, 401]
    for addr in ("10.0.2.1", "10.0.2.2"):  # even the right password, from a fresh address
        envelope(login("test-pass-123", addr), 429, "rate_limited")
    assert client.post("/api/v1/auth/login", json={"username": "other", "password": "x"},
                       environ_overrides={"REMOTE_ADDR": "10.0.2.3"}).status_code == 401


def _boom():
    raise RuntimeError("secret detail /etc/passwd")


def _duplicate():
    # Rows straight into the table: create_staff now refuses a taken username itself
    # (username_taken); this checks the envelope for a constraint the database enforces.
    from civic.accounts.models import User

    for name in ("一", "二"):
        db.session.add(User(kind="staff", username="same", password_hash="x", display_name=name))
        db.session.flush()
    return {}


def _conflict():
    raise Conflict("已被他人修改", code="stale_version")


# Decorated once, at import, as a domain's views are (each decoration registers a limit).
@public_write_limit
def _comment():
    return {"ok": True}, 201


@public_write_limit
def _idea():
    return {"ok": True}, 201


@pytest.fixture
def test_app(make_app):
    """A fresh app with test-only routes: one that raises, one that breaks a unique constraint,
    one that raises a domain conflict, two public-write endpoints."""
    app = make_app({"RATELIMIT_PUBLIC_WRITE": "3 per minute"})
    app.add_url_rule("/test/boom", view_func=_boom)
    app.add_url_rule("/test/duplicate", view_func=_duplicate, methods=["POST"])
    app.add_url_rule("/test/conflict", view_func=_conflict, methods=["POST"])
    app.add_url_rule("/test/comment", view_func=_comment, methods=["GET", "POST"])
    app.add_url_rule("/test/idea", view_func=_idea, methods=["POST"])
    return app


def test_500_is_the_envelope_without_a_traceback(test_app, envelope):
    resp = test_app.test_client().get("/test/boom")
    envelope(resp, 500, "server_error")
    assert b"Traceback" not in resp.data and b"passwd" not in resp.data


def test_409_from_a_unique_constraint(test_app, envelope):
    envelope(test_app.test_client().post("/test/duplicate"), 409, "conflict")
    with test_app.app_context():
        from civic.accounts.models import User

        assert db.session.query(User).count() == 0


def test_409_raised_by_a_domain(test_app, envelope):
    envelope(test_app.test_client().post("/test/conflict"), 409, "stale_version")


def test_public_writes_share_one_budget(test_app, envelope):
    c = test_app.test_client()
    with test_app.app_context():
        limiter.reset()
    first = c.post("/test/comment")
    assert first.status_code == 201, first.data
    assert [c.post("/test/idea").status_code, c.post("/test/comment").status_code] == [201, 201]
    envelope(c.post("/test/idea"), 429, "rate_limited")
    assert c.get("/test/comment").status_code == 201  # reads are not counted


def test_public_writes_are_counted_per_account(test_app, factory):
    c = test_app.test_client()
    with test_app.app_context():
        limiter.reset()
    first, second = factory.token(factory.resident()), factory.token(factory.resident())
    assert [c.post("/test/comment", headers=first).status_code for _ in range(4)] == [201, 201, 201, 429]
    assert c.post("/test/comment", headers=second).status_code == 201


# --- UTF-8 ----------------------------------------------------------------------------------------

def test_chinese_goes_out_as_utf8(client):
    resp = client.get("/api/v1/me")
    assert "请先登录".encode() in resp.data
    assert b"\\u" not in resp.data
    assert resp.headers["Content-Type"] == "application/json"


def test_chinese_in_success_bodies_is_utf8(client):
    resp = client.get("/api/v1/openapi.json")
    assert "登录与身份".encode() in resp.data


# --- cursor pagination ---------------------------------------------------------------------------

@pytest.fixture
def units(factory):
    from civic.property import service as reg

    ladder = factory.ladder()
    made = [u.id for u in ladder["units"]]
    for n in range(23):
        made.append(reg.create_place(kind="unit", code=f"U-x{n}", name=f"{201 + n}室", parent=ladder["building"],
                                     area=Decimal("80.00"), area_source="registry").id)
    factory.commit()
    return made


def test_walk_every_page(client, factory, units):
    headers = factory.token(factory.admin())
    seen, cursor, sizes = [], None, []
    while True:
        query = {"kind": "unit", "limit": 7} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/places", query_string=query, headers=headers).get_json()
        sizes.append(len(body["items"]))
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sizes == [7, 7, 7, 4]
    assert seen == sorted(units)


@pytest.mark.parametrize("cursor", [
    "garbage!!",
    "bm90IGpzb24",  # "not json"
    base64.urlsafe_b64encode(b'["x"]').decode(),  # wrong type for the id column
    base64.urlsafe_b64encode(b"[1, 2]").decode(),  # wrong length
    base64.urlsafe_b64encode(b"[true]").decode(),
    base64.urlsafe_b64encode(b'[{"a": 1}]').decode(),
    base64.urlsafe_b64encode(b"[100000000000000000000000]").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
])
def test_bad_cursor_is_a_400(client, factory, envelope, cursor):
    headers = factory.token(factory.admin())
    resp = client.get("/api/v1/places", query_string={"kind": "unit", "cursor": cursor}, headers=headers)
    envelope(resp, 400, "cursor_invalid")


@pytest.mark.parametrize("limit", [0, 101, -1, "many"])
def test_limit_out_of_range_is_a_422(client, factory, envelope, limit):
    headers = factory.token(factory.admin())
    envelope(client.get("/api/v1/places", query_string={"limit": limit}, headers=headers), 422, "validation_failed")


# --- bad input never becomes a 500 ----------------------------------------------------------------

BAD_BODIES = [
    (b"", "application/json", 422),
    (b"null", "application/json", 422),
    (b"[]", "application/json", 422),
    (b'"text"', "application/json", 422),
    (b"{", "application/json", 400),
    (b"\xff\xfe{}", "application/json", 400),
    (b'{"phone": ["13900000000"]}', "application/json", 422),
    (b'{"phone": 13900000000}', "application/json", 422),
    (b'{"phone": "1390000000000000000000"}', "application/json", 422),
    (b"phone=13900000000", "application/x-www-form-urlencoded", 415),
    (b"<xml/>", "text/xml", 415),
    (b'{"phone": "13900000000"}', "text/plain", 415),
    (b'{"phone": NaN}', "application/json", 400),
    (b'{"phone": Infinity}', "application/json", 400),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    (b'{"phone": "\\ud800"}', "application/json", 400),
    (b'{"phone": "139\\u0000"}', "application/json", 400),
    (b'{"\\udfff": "x"}', "application/json", 400),
]


@pytest.mark.parametrize(("path"), ["/api/v1/auth/login", "/api/v1/auth/otp", "/api/v1/auth/otp/verify",
                                    "/api/v1/auth/wechat"])
@pytest.mark.parametrize(("body", "ctype", "status"), BAD_BODIES)
def test_bad_bodies_get_the_envelope(client, envelope, monkeypatch, path, body, ctype, status):
    monkeypatch.setattr(limiter, "enabled", False)
    resp = client.post(path, data=body, content_type=ctype)
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/json"
    assert list(resp.get_json()) == ["error"]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                    max_size=3), max_leaves=8)
FIELDS = st.dictionaries(st.sampled_from(["phone", "code", "username", "password", "extra"]),
                         JSON | st.text(max_size=30), max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=FIELDS | JSON, path=st.sampled_from(["/api/v1/auth/otp", "/api/v1/auth/otp/verify",
                                                  "/api/v1/auth/login", "/api/v1/auth/wechat"]),
       auth=st.none() | st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20))
def test_any_json_gets_an_answer_not_a_500(client, monkeypatch, body, path, auth):
    monkeypatch.setattr(limiter, "enabled", False)
    headers = {"Authorization": auth.encode("utf-8").decode("latin-1")} if auth is not None else {}
    resp = client.post(path, json=body, headers=headers)
    assert resp.status_code < 500 or resp.get_json()["error"]["code"] in ("wechat_unavailable",), resp.data
    assert resp.mimetype == "application/json"
    if resp.status_code >= 400:
        assert set(resp.get_json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("spelling", ["١", "１", "²", "0", "2147483648", "99999999999999999999"])
def test_an_id_in_a_url_has_one_spelling(client, factory, spelling):
    """<int:id> takes ASCII digits within int4 only: ``/places/١`` is not ``/places/1``."""
    from civic.core.db import parse_id

    headers = factory.token(factory.admin())
    place = factory.ladder()["district"]
    assert client.get(f"/api/v1/places/{place.id}", headers=headers).status_code == 200
    digits = str(place.id).translate(str.maketrans("0123456789", spelling[0] * 10)) if len(spelling) == 1 else spelling
    resp = client.get(f"/api/v1/places/{digits}", headers=headers)
    # 404 either way: no rule matches (not_found), or a zero id matches none (place_not_found).
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] in ("not_found", "place_not_found")
    assert parse_id(digits) is None and parse_id(str(place.id)) == place.id


def test_every_integer_field_refuses_a_fraction(app):
    """No schema of civic's uses marshmallow's own Integer, which reads a JSON 7.5 as 7."""
    import marshmallow as ma

    from civic.core.schemas import Integer

    def all_schemas(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from all_schemas(sub)

    def integer_fields(field):
        if isinstance(field, ma.fields.Integer):
            yield field
        for inner in (getattr(field, "inner", None), getattr(field, "key_field", None),
                      getattr(field, "value_field", None)):
            if inner is not None:
                yield from integer_fields(inner)

    checked, wrong = 0, []
    for schema in all_schemas(ma.Schema):
        if not schema.__module__.startswith("civic."):
            continue
        for name, field in schema._declared_fields.items():
            for f in integer_fields(field):
                checked += 1
                if type(f) is not Integer:
                    wrong.append(f"{schema.__module__}.{schema.__name__}.{name}")
    assert checked > 150 and wrong == []
    for bad in (7.5, float("inf"), float("nan"), True):
        with pytest.raises(ma.ValidationError, match="须为整数"):
            Integer().deserialize(bad)
    assert (Integer().deserialize(7.0), Integer().deserialize("12")) == (7, 12)


def test_a_lost_optimistic_lock_is_a_409_named_for_what_was_lost(app):
    from sqlalchemy.orm.exc import StaleDataError

    from civic.core.http import _stale_data

    msg = "UPDATE statement on table '{}' expected to update 1 row(s); 0 were matched."
    with app.test_request_context("/api/v1/x"):
        got = {t: _stale_data(StaleDataError(msg.format(t))) for t in ("complaint", "delib_topic", "village_disclosure")}
        assert {t: (r.status_code, r.get_json()["error"]["code"]) for t, r in got.items()} == {
            "complaint": (409, "case_changed"), "delib_topic": (409, "stale_version"),
            "village_disclosure": (409, "stale_version")}
        assert got["delib_topic"].get_json()["error"]["message"] == "数据已被他人更新，请刷新后重试"


def test_concurrent_first_reads_of_the_openapi_document_all_get_it_whole(make_app):
    from concurrent.futures import ThreadPoolExecutor

    app = make_app()
    with ThreadPoolExecutor(4) as pool:
        docs = list(pool.map(lambda _: app.test_client().get("/api/v1/openapi.json").get_json(), range(4)))
    assert len(docs[0]["paths"]) > 100 and len(docs[0]["tags"]) == 17
    assert all(d == docs[0] for d in docs)


def test_every_post_that_honours_idempotency_key_documents_it(client):
    """A client built from the document alone knows it may retry a create (civic.core.idempotency)."""
    from civic.core import api, idempotency

    assert api.IDEMPOTENCY_HEADER == idempotency.HEADER
    spec = client.get("/api/v1/openapi.json").get_json()
    undocumented = [path for path, item in spec["paths"].items() if "post" in item
                    and not any(p["name"] == idempotency.HEADER for p in item["post"].get("parameters", []))]
    # Signing in needs no key: no account exists yet to scope it to (the views are exempt).
    assert sorted(undocumented) == ["/api/v1/auth/login", "/api/v1/auth/otp/verify", "/api/v1/auth/wechat"]
