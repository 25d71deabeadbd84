"""内容审核 as people use it, in real headless Chromium on the demo street: 周社工 (rc_bj_zhou) approves
李四's pending idea and then hides it with a reason, 李四 appeals, 周社工 is told another moderator must
decide, and 陈书记 (rc_bj_chen) overturns the decision.  The residents' idea list (the API) follows.

Screenshots go to artifacts/console/moderation-*.png."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.browser import ARTIFACTS, chromium, needs_chromium, served
from tests.console.helpers import browser_login as login

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "console"
TITLE = "垃圾房周边种植爬藤遮挡"


@pytest.fixture
def demo(demo):
    """The idea of the demo street's contest that this test moderates (on tests/console/conftest.py's street)."""
    from civic.extensions import db
    from civic.proposals.contests.models import Idea

    idea = db.session.scalar(sa.select(Idea).where(Idea.title == TITLE))
    return {"idea_id": idea.id, "contest_id": idea.contest_id, "author_id": idea.author_id}


def test_a_moderator_hides_an_idea_and_another_decides_the_appeal(app, demo):
    from civic.accounts.models import User
    from civic.core.db import commit
    from civic.extensions import db
    from civic.proposals import moderation

    SHOTS.mkdir(parents=True, exist_ok=True)
    idea_id = demo["idea_id"]
    with served(app) as base, chromium() as browser:
        api = browser.new_context().request  # a resident's phone: no console cookie
        token = api.post(f"{base}/api/v1/auth/wechat", data={"code": "wang_wu"}).json()["token"]

        def listed() -> list[str]:
            r = api.get(f"{base}/api/v1/contests/{demo['contest_id']}/ideas?limit=100",
                        headers={"Authorization": f"Bearer {token}"})
            assert r.status == 200
            return [i["title"] for i in r.json()["items"]]

        assert TITLE not in listed()  # pending: not shown to residents

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "rc_bj_zhou")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="内容审核").click()
        row = page.locator(f"#moderation-queue tr[data-item='idea-{idea_id}']")
        assert "待审核" in row.inner_text() and "居民 李*" in row.inner_text()
        assert page.locator("#reason-counts [data-reason='pending'] strong").inner_text() == "1"
        page.screenshot(path=str(SHOTS / "moderation-queue.png"), full_page=True)

        row.get_by_role("link", name=f"金点子 #{idea_id}").click()
        page.get_by_role("button", name="通过").click()
        assert page.locator("#item-state").inner_text() == "已通过"
        assert TITLE in listed()

        page.get_by_text("隐藏", exact=True).click()  # the <summary> opening the form
        page.get_by_label("隐藏的原因（必填，作者会收到）").fill("含有商家广告信息")
        page.get_by_role("button", name="确认隐藏").click()
        assert page.locator("#item-state").inner_text() == "已隐藏"
        assert page.locator("#item-reason").inner_text() == "含有商家广告信息"
        assert page.locator("#decided-by").inner_text() == "周社工（您）"
        assert TITLE not in listed()

        # 李四 appeals from the mini-program (the service, as the API calls it).
        moderation.appeal(db.session.get(User, demo["author_id"]), "idea", idea_id, "爬藤植物不是广告，请复核")
        commit()
        page.reload()
        assert "申诉须由作出原决定以外的审核人员处理" in page.locator("#same-moderator").inner_text()
        assert page.locator("#appeal-form").count() == 0
        assert page.locator("#appeal-text").inner_text() == "爬藤植物不是广告，请复核"
        page.screenshot(path=str(SHOTS / "moderation-same-moderator.png"), full_page=True)

        page = browser.new_page(viewport={"width": 1024, "height": 1366})  # a tablet, portrait
        login(page, base, "rc_bj_chen")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="内容审核").click()
        page.get_by_label("待办类型", exact=True).select_option("appealed")
        page.get_by_role("button", name="筛选").click()
        page.wait_for_url("**/console/moderation?*")
        page.wait_for_load_state()
        assert page.locator("#moderation-queue tbody tr").count() == 1
        assert page.locator("#reason-counts [data-reason='appealed'] strong").inner_text() == "1"
        page.get_by_role("link", name=f"金点子 #{idea_id}").click()
        page.wait_for_url(f"**/idea/{idea_id}*")
        page.wait_for_load_state()
        assert page.locator("#same-moderator").count() == 0
        page.get_by_label("申诉成立，恢复显示").check()
        page.get_by_label("处理说明（作者会收到）").fill("经复核，内容为绿化建议，不属于广告")
        page.screenshot(path=str(SHOTS / "moderation-appeal-form.png"), full_page=True)
        page.get_by_role("button", name="提交申诉处理结果").click()
        assert page.locator("#item-state").inner_text() == "已通过"
        assert "申诉成立，恢复显示" in page.locator("#appeal-outcome").inner_text()
        assert "陈书记（您）" in page.locator("#appeal-outcome").inner_text()
        assert page.locator("#appeal-form").count() == 0
        page.screenshot(path=str(SHOTS / "moderation-appeal-decided.png"), full_page=True)
        assert TITLE in listed()
        page.get_by_role("link", name="← 返回内容审核").click()
        assert page.locator("#reason-counts [data-reason='appealed'] strong").inner_text() == "0"
