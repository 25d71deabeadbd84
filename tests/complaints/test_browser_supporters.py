""""Me too" in the staff console, in real headless Chromium: the case page, the queue and the street
centre's oversight show how many residents support a case, and never who."""

from __future__ import annotations

from tests.browser import ARTIFACTS, chromium, needs_chromium, served
from tests.complaints.helpers import new_case
from tests.jobs import drain

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "console"


def login(page, base, username):
    page.goto(f"{base}/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("test-pass-123")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/console/")


def test_the_console_shows_the_supporters_count(app, client, w):
    supporters = 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    cid = new_case(client, w)
    names = []
    for i in range(supporters):
        user, h = w.other_resident(unit=1 + i % 2, name=f"附议人{i}")
        names.append(user.display_name)
        r = client.post(f"/api/v1/complaints/{cid}/supporters", headers=h, data={},
                        content_type="multipart/form-data")
        assert r.status_code == 201, r.get_json()
    drain()  # the oversight figures are the recount jobs' counts (RQ on the PostgreSQL run)
    with served(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, w.staff["police"].username)  # the lead of a noise case
        page.goto(f"{base}/console/cases")
        row = page.locator("#queue tbody tr", has_text=f"#{cid}")
        assert row.locator("td").last.inner_text() == str(supporters)
        row.get_by_role("link", name=f"#{cid}").click()
        page.wait_for_url(f"{base}/console/cases/{cid}")
        assert page.locator("#supporters-count").inner_text() == str(supporters)
        html = page.content()
        assert not any(n in html for n in names)  # a count, never who
        page.screenshot(path=str(SHOTS / "case-supporters.png"), full_page=True)

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, w.staff["street_centre"].username)
        page.goto(f"{base}/console/oversight")
        assert page.locator("#total-open-supporters").inner_text() == str(supporters)
        cell = page.locator("#figures tbody tr.total td.supporters").inner_text()
        assert cell == f"{supporters}（{supporters}）"
        page.screenshot(path=str(SHOTS / "oversight-supporters.png"), full_page=True)
