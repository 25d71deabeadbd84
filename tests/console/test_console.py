"""The console through the Flask test client: login, CSRF, navigation by role, error pages, the
pasted-lines parser and the oversight figures."""

from __future__ import annotations

import re

import pytest

from tests.console.helpers import console_login, csrf_token


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def browser_client(app):
    return app.test_client()  # with cookies, like a browser


def login(c, username, password="test-pass-123"):
    return console_login(c, username, password)


def test_anonymous_is_sent_to_login(browser_client):
    r = browser_client.get("/console/cases")
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login?next=/console/cases")


def test_wrong_password_shows_the_chinese_message(browser_client, factory):
    factory.staff(username="pc1")
    r, _ = login(browser_client, "pc1", "wrong-pass-1")
    assert r.status_code == 401 and "用户名或密码错误" in r.text and r.mimetype == "text/html"


def test_form_without_csrf_token_is_refused(browser_client, factory):
    factory.staff(username="pc1")
    r = browser_client.post("/console/login", data={"username": "pc1", "password": "test-pass-123"})
    assert r.status_code == 400 and "页面已过期" in r.text


def test_api_with_bearer_token_needs_no_csrf(client, factory):
    ladder = factory.ladder()
    staff = factory.staff(factory.org("property_company", [ladder["compound"]]))
    r = client.post("/api/v1/complaints/999/messages", json={"body": "你好"}, headers=factory.token(staff))
    assert r.status_code == 404 and r.json["error"]["code"] == "complaint_not_found"


def test_cookie_session_write_to_the_api_needs_the_csrf_token(browser_client, factory):
    factory.staff(username="pc1")
    login(browser_client, "pc1")
    r = browser_client.post("/api/v1/complaints/999/messages", json={"body": "你好"})
    assert r.status_code == 400


def test_navigation_shows_only_what_the_roles_allow(browser_client, factory):
    ladder = factory.ladder()
    factory.staff(factory.org("property_company", [ladder["compound"]]), username="pc1")
    r, _ = login(browser_client, "pc1")
    assert r.status_code == 303 and r.headers["Location"] == "/console/"
    nav = re.search(r'<nav aria-label="主导航">(.*?)</nav>', browser_client.get("/console/").text, re.S).group(1)
    assert "工单队列" in nav and "督办统计" not in nav and "村务公开" not in nav
    r = browser_client.get("/console/oversight")
    assert r.status_code == 403 and "无权使用该页面" in r.text


def test_service_errors_render_as_a_page_not_the_envelope(browser_client, factory):
    ladder = factory.ladder()
    factory.staff(factory.org("property_company", [ladder["compound"]]), username="pc1")
    login(browser_client, "pc1")
    r = browser_client.get("/console/cases/12345")
    assert r.status_code == 404 and r.mimetype == "text/html" and "找不到该案件" in r.text


def test_password_change_and_logout(browser_client, factory):
    factory.staff(username="pc1")
    _, tok = login(browser_client, "pc1")
    r = browser_client.post("/console/password", data={"old": "test-pass-123", "new": "new-pass-2026",
                                                       "confirm": "new-pass-2026", "csrf_token": tok})
    assert r.status_code == 303
    r = browser_client.post("/console/logout", data={"csrf_token": tok})
    assert r.status_code == 303 and browser_client.get("/console/").status_code == 302
    r, _ = login(browser_client, "pc1", "new-pass-2026")
    assert r.status_code == 303


def test_residents_committee_reveal_asks_a_reason_and_is_logged(browser_client, factory, app):
    from civic.complaints import service
    from civic.complaints.demo import demo_photo
    from civic.complaints.routing import seed_defaults
    from civic.core import audit

    seed_defaults()
    ladder = factory.ladder()
    factory.staff(factory.org("residents_committee", [ladder["community"]]), username="rc1")
    resident = factory.resident(phone="13912340000", units=[ladder["units"][0]])
    c = service.submit(resident, service.Intake(category="other", description="楼道灯坏了",
                                                photos=[("a.jpg", demo_photo(1))],
                                                place_id=ladder["units"][0].id)).complaint
    factory.commit()
    _, tok = login(browser_client, "rc1")
    page = browser_client.get(f"/console/cases/{c.id}").text
    assert "139****0000" in page and "13912340000" not in page
    r = browser_client.post(f"/console/cases/{c.id}/complainant", data={"reason": "", "csrf_token": tok})
    assert r.status_code == 422 and "须填写事由" in r.text
    r = browser_client.post(f"/console/cases/{c.id}/complainant", data={"reason": "电话回访", "csrf_token": tok})
    assert r.status_code == 200 and "13912340000" in r.text
    notes = [e.note for e in audit.entries_for("complaint", c.id) if e.action == "complaint.complainant_revealed"]
    assert notes == ["电话回访"]


def test_pasted_lines_are_parsed_exactly_into_fen():
    from civic.village.service import parse_pasted_lines

    lines = parse_pasted_lines("日期\t科目\t摘要\t往来单位\t金额\n2026年3月5日\t公益支出\t道路修补\t路桥公司\t¥12,500.10\n"
                               "\n2026/3/6\t管理费用\t办公用品\t文印店\t0.07元\n", "expense")
    assert [(ln["date"].isoformat(), ln["amount_fen"]) for ln in lines] == [("2026-03-05", 1250010), ("2026-03-06", 7)]


@pytest.mark.parametrize("text,code", [("2026-03-05\t科目\t摘要\t单位", "paste_invalid"),
                                       ("2026-02-30\t科目\t摘要\t单位\t1.00", "paste_invalid"),
                                       ("2026-03-05\t科目\t摘要\t单位\t1.005", "amount_invalid")])
def test_bad_pasted_rows_are_refused_by_row(text, code):
    from civic.core.errors import ValidationFailed
    from civic.village.service import parse_pasted_lines

    with pytest.raises(ValidationFailed) as exc:
        parse_pasted_lines(text, "income")
    assert exc.value.code == code


def _cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_copy_of_the_session_cookie_is_dead_after_logout(app, factory):
    factory.staff(username="pc_copy")
    c = app.test_client()
    _, tok = login(c, "pc_copy")
    saved = _cookie(c)
    assert c.post("/console/logout", data={"csrf_token": tok}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", saved)
    r = thief.get("/console/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/console/login")


def test_a_password_change_ends_every_other_login_but_this_one(app, client, factory):
    user = factory.staff(username="pc_pw")
    api_headers = factory.token(user)
    here, other = app.test_client(), app.test_client()
    _, tok = login(here, "pc_pw")
    login(other, "pc_pw")
    assert other.get("/console/").status_code == 200 and client.get("/api/v1/me", headers=api_headers).status_code == 200
    r = here.post("/console/password", data={"old": "test-pass-123", "new": "new-pass-2026",
                                             "confirm": "new-pass-2026", "csrf_token": tok})
    assert r.status_code == 303
    assert here.get("/console/").status_code == 200  # the session that changed it stays
    assert other.get("/console/").status_code == 302  # the other browser is logged out
    assert client.get("/api/v1/me", headers=api_headers).get_json()["error"]["code"] == "token_revoked"


def test_login_starts_a_fresh_session_so_an_earlier_csrf_token_is_refused(browser_client, factory):
    factory.staff(username="pc_fix")
    before = csrf_token(browser_client.get("/console/login").text)
    r, after = login(browser_client, "pc_fix")
    assert r.status_code == 303 and after != before
    assert browser_client.post("/console/logout", data={"csrf_token": before}).status_code == 400
    assert browser_client.post("/console/logout", data={"csrf_token": after}).status_code == 303


@pytest.mark.parametrize("method,url,status", [
    ("get", "/console/no-such-page", 404),
    ("get", "/console/votes/9223372036854775808", 404),
    ("get", "/console/cases/-1", 404),
    ("get", "/console/logout", 405),
])
def test_errors_before_any_console_view_are_console_pages(browser_client, factory, method, url, status):
    factory.staff(username="pc_err")
    login(browser_client, "pc_err")
    r = getattr(browser_client, method)(url)
    assert r.status_code == status and r.mimetype == "text/html"
    assert 'id="error-message"' in r.text and "{&#34;error&#34;" not in r.text and '"error"' not in r.text
    api = browser_client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"  # the API keeps JSON


def test_the_console_login_rate_limit_is_a_page(app, browser_client, factory):
    factory.staff(username="pc_many")
    tok = csrf_token(browser_client.get("/console/login").text)
    statuses = [browser_client.post("/console/login", data={"username": "pc_many", "password": "wrong-pass",
                                                           "csrf_token": tok}).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    r = browser_client.post("/console/login", data={"username": "pc_many", "password": "wrong", "csrf_token": tok})
    assert r.mimetype == "text/html" and "操作过于频繁" in r.text


def test_a_case_action_needs_the_version_the_page_was_shown_at(browser_client, factory):
    from civic.complaints import service
    from civic.complaints.demo import demo_photo
    from civic.complaints.routing import seed_defaults

    seed_defaults()
    ladder = factory.ladder()
    factory.staff(factory.org("residents_committee", [ladder["community"]]), username="rc_v")
    resident = factory.resident(phone="13912340001", units=[ladder["units"][0]])
    c = service.submit(resident, service.Intake(category="other", description="楼道灯坏了",
                                                photos=[("a.jpg", demo_photo(1))],
                                                place_id=ladder["units"][0].id)).complaint
    factory.commit()
    _, tok = login(browser_client, "rc_v")
    page = browser_client.get(f"/console/cases/{c.id}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    action = re.search(r'/console/cases/\d+/actions/(\w+)"', page).group(1)
    r = browser_client.post(f"/console/cases/{c.id}/actions/{action}", data={"csrf_token": tok})
    assert r.status_code == 422 and "页面缺少案件版本" in r.text
    stale = browser_client.post(f"/console/cases/{c.id}/actions/{action}",
                                data={"csrf_token": tok, "version": str(int(version) + 1)})
    assert stale.status_code == 409
    r = browser_client.post(f"/console/cases/{c.id}/actions/{action}", data={"csrf_token": tok, "version": version})
    assert r.status_code == 303
