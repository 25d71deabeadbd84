"""The budget round's console flow and public page in real headless Chromium (issue #20 Done when):
a residents' committee head sets up a round, adds adopted ideas as projects, reviews their costs and
opens voting; residents vote; a paper ballot entered by the head is confirmed by a handler; the head
closes voting, publishes and sets a milestone; the public page, without JavaScript, shows each
project's votes and cost and the chart of the budget used."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core.db import to_shanghai, utcnow
from tests.browser import ARTIFACTS, chromium, needs_chromium, served
from tests.budgets.conftest import API

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "budgets"


def _login(page, base, username):
    page.context.clear_cookies()
    page.goto(f"{base}/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("test-pass-123")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/console/")


def _submit(page, form_id):
    with page.expect_navigation():
        page.locator(f"#{form_id} button[type=submit]").click()


def _press(page, button_id):
    with page.expect_navigation():
        page.locator(f"#{button_id}").click()


def test_console_flow_and_public_page_in_chromium(app, bw, factory):
    from civic.budgets.models import BudgetRound

    SHOTS.mkdir(parents=True, exist_ok=True)
    head = factory.staff(bw.rc, "head", username="bj_head")
    factory.staff(bw.rc, "handler", username="bj_handler")
    opens = to_shanghai(utcnow() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    closes = to_shanghai(utcnow() + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    refused = []
    with served(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        _login(page, base, "bj_head")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="社区微更新").click()
        page.wait_for_url(f"{base}/console/budgets")
        form = page.locator("#new-round")
        form.locator("input[name=title]").fill("2026年测试社区微更新")
        form.locator("input[name=budget_yuan]").fill("5000")
        form.locator("input[name=place_ids]").first.check()
        form.locator("select[name=rule]").select_option("greedy")
        form.locator("select[name=vote_unit]").select_option("resident")
        form.locator("select[name=ballot_mode]").select_option("budget")
        form.locator("input[name=voting_opens_at]").fill(opens)
        form.locator("input[name=voting_closes_at]").fill(closes)
        _submit(page, "new-round")
        from civic.extensions import db

        rid = db.session.scalar(sa.select(BudgetRound.id).where(BudgetRound.title == "2026年测试社区微更新"))
        assert page.url == f"{base}/console/budgets/{rid}" and page.locator("#phase").inner_text() == "筹备"
        for idea in bw.ideas:
            page.locator("#add-project input[name=source_id]").fill(str(idea["id"]))
            _submit(page, "add-project")
        _press(page, "to-costing")
        projects = bw.client.get(f"{API}/budget-rounds/{rid}/projects", headers=bw.h[bw.author]).json
        for p, yuan in zip(projects, ("3000", "1500", "1200.50"), strict=True):
            page.locator(f"#cost-{p['id']} input[name=cost_yuan]").fill(yuan)
            page.locator(f"#cost-{p['id']} input[name=feasibility_note]").fill("现场踏勘可行")
            _submit(page, f"cost-{p['id']}")
        _press(page, "to-review")
        _press(page, "to-voting")
        assert page.locator("#phase").inner_text() == "投票"
        garden, rail, shed = (p["id"] for p in projects)

        assert bw.vote(rid, bw.author, [shed]).status_code == 201
        assert bw.vote(rid, bw.neighbour, [rail, shed]).status_code == 201
        # the paper names a unit: staff find it by the unit's number and pick the voter from a list
        page.locator("#paper-find input[name=find]").fill("1号楼101")
        _submit(page, "paper-find")
        voters = page.locator("#voters label")
        assert voters.count() == 2 and all("测试小区1号楼101室" in t for t in voters.all_inner_texts())
        assert "102室" not in page.locator("#voters").inner_text()
        assert all("****" in t for t in voters.all_inner_texts())  # phones masked
        page.locator(f"#paper input[name=voter][value='{bw.housemate.id}:{bw.unit1.id}']").check()
        page.locator(f"#paper input[name=project_ids][value='{garden}']").check()
        _submit(page, "paper")
        entry = page.locator("article.entry")
        assert entry.count() == 1 and "须由另一名工作人员复核" in entry.inner_text()
        entry_id = entry.get_attribute("id").split("-")[1]

        _login(page, base, "bj_handler")
        page.goto(f"{base}/console/budgets/{rid}")
        _press(page, f"confirm-{entry_id}")
        assert "已复核计入" in page.locator("#done").inner_text()

        _login(page, base, "bj_head")
        page.goto(f"{base}/console/budgets/{rid}")
        _press(page, "to-result")
        # votes: shed 2, garden 1, rail 1 → shed (1,200.50), rail (1,500: the cheaper of the tie),
        # garden (3,000) no longer fits in 5,000 − 2,700.50.
        assert "已资助 2,700.50 元" in page.locator("#spent").inner_text()
        _press(page, "publish")
        _press(page, "to-carrying_out")
        page.locator(f"#milestone-{shed} input[name=title]").fill("充电棚基础施工")
        _submit(page, f"milestone-{shed}")
        page.screenshot(path=str(SHOTS / "console-round.png"), full_page=True)

        public = browser.new_page(viewport={"width": 412, "height": 915}, java_script_enabled=False)
        public.goto(f"{base}/budgets/{rid}/")
        assert "已资助 2,700.50 元" in public.locator("#budget-summary").inner_text()
        row = public.locator(f"#project-{shed}").inner_text()
        assert "1,200.50" in row and "获资助" in row and "充电棚基础施工 0%" in row
        assert "未获资助" in public.locator(f"#project-{garden}").inner_text()
        chart = public.locator("svg#budget-used")
        box = chart.bounding_box()
        assert box and box["width"] > 300
        assert chart.locator("rect").count() == 3  # two funded projects and what is left
        public.screenshot(path=str(SHOTS / "public-round.png"), full_page=True)
        public.goto(f"{base}/budgets/places/{bw.ladder['community'].code}/")
        assert "结余 2,299.50 元" in public.content()
    assert not refused, refused
    assert head.id
