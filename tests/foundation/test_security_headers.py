"""Secure headers and cookies (issue #17 point 7): civic.core.headers.

Two sweeps: every page, file and photo a staff member reaches by following links from the console,
the public village page and the API docs (the demo street, logged in as the administrator); and
every route of the URL map called with placeholder parameters, anonymously, whatever it answers
(401, 404, 405, 415...).  Every response carries the headers; no rendered page has inline script or
style, which the policy would refuse.  Production adds HSTS and a Secure session cookie.
"""

from __future__ import annotations

import html
import re

import pytest

from tests.console.helpers import Console, csrf_token
from tests.foundation.test_production_parts import PRODUCTION

SAME_EVERYWHERE = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def _check(app, url, resp, *, production=False):
    headers = resp.headers
    assert headers.get("Content-Security-Policy") == app.config["CONTENT_SECURITY_POLICY"], (url, resp.status_code)
    for name, value in SAME_EVERYWHERE.items():
        assert headers.get(name) == value, (url, resp.status_code, name)
    assert ("Strict-Transport-Security" in headers) is production, (url, resp.status_code)


def test_the_policy_keeps_everything_to_civic_and_allows_no_inline_code(app):
    csp = dict(d.strip().split(" ", 1) for d in app.config["CONTENT_SECURITY_POLICY"].split(";"))
    assert csp["default-src"] == csp["script-src"] == csp["style-src"] == csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert csp["form-action"] == "'self'" and csp["img-src"] == "'self' data:"
    assert "unsafe" not in app.config["CONTENT_SECURITY_POLICY"]


# --- what people reach by following links ----------------------------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style[\s>]", re.I), "<style> element"),
    (re.compile(r"<[^>]+\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<[^>]+\son[a-z]+\s*=", re.I), "event-handler attribute"),
    (re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I), "javascript: URL"),
]


def _crawl(client, starts, limit=400):
    """Breadth first from ``starts`` over every same-origin href/src of every HTML page."""
    queue, seen, got = list(starts), set(), {}
    while queue and len(got) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url)
        resp.get_data()  # read whole (kept for the checks), then the file behind it closed
        resp.close()
        got[url] = resp
        if resp.mimetype == "text/html":
            for ref in re.findall(r'(?:href|src)="([^"#]+)"', resp.get_data(as_text=True)):
                ref = html.unescape(ref)
                if ref.startswith("/") and not ref.startswith("//") and ref not in seen:
                    queue.append(ref)
    return got


@pytest.fixture
def demo(app):
    from civic.core.db import commit
    from civic.demo import load_demo

    load_demo(cases=True)
    commit()


def test_every_page_file_and_photo_reached_from_the_console_village_page_and_docs(app, demo):
    from civic.demo import ADMIN_PASSWORD

    got = {}
    # Each section of the console as the staff it serves: the street centre (cases, oversight), a
    # property company (case pages with photos), the residents' committee (moderation), the owners'
    # committee (votes), the village committee (village affairs), and the administrator.
    for username in ("sc_wang", "pc_sm_he", "rc_bj_zhou", "oc_bj_shi", "vc_xf_hua", "admin"):
        staff = Console(app, username, ADMIN_PASSWORD if username == "admin" else "civic-demo-2026")
        for url, resp in _crawl(staff.c, ["/console/", "/villages/V-XF/", "/api/v1/docs/", "/healthz",
                                          "/api/v1/openapi.json"], limit=120).items():
            got.setdefault(url, resp)
            if resp.status_code == 200:
                got[url] = resp
    kinds = {}
    for url, resp in got.items():
        _check(app, url, resp)
        kinds.setdefault(resp.mimetype, []).append(url)
        if resp.mimetype == "text/html":
            page = resp.get_data(as_text=True)
            found = [(what, m.group(0)[:80]) for pattern, what in INLINE for m in pattern.finditer(page)]
            assert found == [], (url, found)
    ok = {url for url, resp in got.items() if resp.status_code == 200}
    # The sweep reached what it must: console pages of every section, the public page, the docs and
    # their scripts, both stylesheets, and photos (complaint photos, village vouchers).
    for must in ("/console/", "/console/cases", "/console/oversight", "/console/votes", "/console/moderation",
                 "/villages/V-XF/", "/api/v1/docs/", "/api/v1/docs/civic-docs.js", "/console/static/console.css",
                 "/villages/static/village.css", "/public/static/public.css", "/healthz", "/api/v1/openapi.json"):
        assert any(u == must or u.startswith(must + "?") for u in ok), must
    assert any(re.match(r"/console/cases/\d+$", u) for u in ok)
    assert any(re.match(r"/villages/V-XF/disclosures/\d+$", u) for u in ok)
    photos = [u for u in kinds.get("image/jpeg", []) if u in ok]
    assert any(re.match(r"/api/v1/complaints/\d+/photos/", u) for u in photos), photos
    assert len(kinds["text/html"]) > 40


# --- every route, whatever it answers -------------------------------------------------------------

def _placeholder(rule) -> str:
    path = rule.rule
    for name, conv in rule._converters.items():  # werkzeug keeps the converter per argument
        value = "1" if type(conv).__name__ in ("BoundedIntConverter", "IntegerConverter") else "x"
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", value, path)
    return path


def test_every_route_and_method_anonymously_whatever_the_answer(app, client):
    statuses = set()
    count = 0
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _placeholder(rule)
            with client.open(url, method=method) as resp:
                _check(app, f"{method} {url}", resp)
            statuses.add(resp.status_code)
            count += 1
    assert count > 200
    assert {200, 302, 401, 404} <= statuses  # the sweep met successes, redirects and refusals


def test_an_unexpected_error_and_a_method_not_allowed_carry_the_headers(make_app):
    app = make_app()

    def boom():
        raise ZeroDivisionError("a bug")

    app.add_url_rule("/boom-for-test", view_func=boom)
    with app.app_context():
        c = app.test_client()
        resp = c.get("/boom-for-test")
        assert resp.status_code == 500
        _check(app, "/boom-for-test", resp)
        resp = c.delete("/healthz")
        assert resp.status_code == 405
        _check(app, "/healthz", resp)


# --- production: HSTS and the Secure cookie --------------------------------------------------------

def test_development_sends_no_hsts_and_no_secure_cookie(app, client, factory):
    factory.staff(username="pc1")
    resp = client.get("/console/login")
    _check(app, "/console/login", resp)
    login = client.post("/console/login", data={"username": "pc1", "password": "test-pass-123",
                                                "csrf_token": csrf_token(resp.text)})
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_production_sends_hsts_and_a_secure_httponly_samesite_session_cookie(make_app):
    app = make_app(PRODUCTION)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context():
        from tests.conftest import Factory

        Factory().staff(username="pc1")
        from civic.core.db import commit

        commit()
        c = app.test_client()
        https = "https://civic.example.org"
        page = c.get("/console/login", base_url=https)
        _check(app, "/console/login", page, production=True)
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        first = page.headers["Set-Cookie"]
        # Over HTTPS Flask-WTF checks the Referer of a form post: Referrer-Policy same-origin sends it.
        login = c.post("/console/login", base_url=https, headers={"Referer": f"{https}/console/login"},
                       data={"username": "pc1", "password": "test-pass-123", "csrf_token": csrf_token(page.text)})
        assert login.status_code == 303, login.text
        for cookie in (first, login.headers["Set-Cookie"]):
            flags = {f.strip().split("=")[0] for f in cookie.split(";")[1:]}
            assert {"Secure", "HttpOnly", "SameSite"} <= flags, cookie
            assert "SameSite=Lax" in cookie
        for url in ("/console/", "/healthz", "/api/v1/me", "/api/v1/docs/"):
            _check(app, url, c.get(url, base_url=https), production=True)


def test_production_refuses_a_session_cookie_sent_over_plain_http(make_app):
    from civic.core.parts import ProductionRefused

    with pytest.raises(ProductionRefused, match="CIVIC_SESSION_COOKIE_SECURE"):
        make_app({**PRODUCTION, "SESSION_COOKIE_SECURE": False})
