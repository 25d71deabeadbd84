"""The staff console as people use it: real headless Chromium on the demo street.

Screenshots go to artifacts/console/ (gitignored) for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser import ARTIFACTS, chromium, needs_chromium, served
from tests.console.helpers import browser_login as login
from tests.jobs import drain

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "console"


def test_property_company_acknowledges_and_resolves_and_the_street_centre_sees_it(app, demo_with_cases, shared_dir):
    SHOTS.mkdir(parents=True, exist_ok=True)
    # 滨江花园 1号楼 楼道充电 (ebike_charging → 世茂物业).  Not the lift case [0]: a complaint about the
    # property company's service is led by the owners' committee (issue #18), the company assists.
    case_id = demo_with_cases["complaints"][1]
    with served(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "pc_sm_he")
        nav = page.get_by_role("navigation", name="主导航")
        assert nav.get_by_role("link").all_inner_texts() == ["工单队列", "房屋认领审核"]  # no oversight, no village; claims to its units
        nav.get_by_role("link", name="工单队列").click()
        assert page.locator("#status-counts").inner_text().count("已派单") == 1
        page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)
        page.get_by_role("link", name=f"#{case_id}").click()
        page.wait_for_url(f"{base}/console/cases/{case_id}")  # count() does not wait for the new page
        page.wait_for_load_state()
        assert page.locator("#photos-intake img").count() == 1
        assert page.locator("#photos-intake img").evaluate("img => img.naturalWidth") > 0  # served via session
        page.get_by_role("button", name="签收").click()
        assert page.locator("#case-status").inner_text() == "已签收"
        page.get_by_text("办结", exact=True).click()
        page.get_by_label("处置结果说明（必填，居民可见）").fill("已拆除飞线，在楼下设置充电桩并张贴告示。")
        page.get_by_label("处置结果照片（可多张）").set_input_files(str(shared_dir / "photos" / "ianare_landscape_2.jpg"))
        page.get_by_role("button", name="确认办结").click()
        assert page.locator("#case-status").inner_text() == "已办结"
        assert page.locator("#photos-result img").count() == 1
        timeline = page.locator("#timeline").inner_text()
        assert "签收 · 世茂物业滨江项目部" in timeline and "办结 · 世茂物业滨江项目部" in timeline
        assert page.locator("#act-resolve").count() == 0 and page.locator("#do-acknowledge").count() == 0
        page.screenshot(path=str(SHOTS / "case-resolved.png"), full_page=True)

        drain()  # the oversight figures are the recount jobs' counts (RQ on the PostgreSQL run)
        page = browser.new_page(viewport={"width": 1024, "height": 1366})  # a tablet, portrait
        login(page, base, "sc_wang")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="督办统计").click()
        assert page.locator("#total-cases").inner_text() == "4"
        row = page.locator("#figures tbody tr", has_text="世茂物业滨江项目部")
        cells = row.locator("td").all_inner_texts()
        assert cells[4] == "1"  # resolved (column order: the status list)
        assert re.fullmatch(r"\d+(\.\d)?", cells[-2])  # median hours to resolve
        assert page.locator("#chart-resolve g[aria-label^='世茂物业滨江项目部']").count() == 1
        page.screenshot(path=str(SHOTS / "oversight-tablet.png"), full_page=True)
        with page.expect_download() as dl:
            page.get_by_role("link", name="下载 CSV").click()
        text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
        # Its one case, resolved (the lift case [0] is the owners' committee's: issue #18).
        assert text.splitlines()[1].startswith("世茂物业滨江项目部,0,0,0,0,1,")


def test_village_committee_drafts_with_pasted_lines_and_supervision_signs_off(app, demo_with_cases):
    SHOTS.mkdir(parents=True, exist_ok=True)
    paste = ("日期\t科目\t摘要\t往来单位\t金额\n"
             "2026-03-02\t上级补助收入\t村级组织运转经费\t镇财政所\t1,234.56\n"
             "2026/3/9\t投资收益\t集体资产租金\t新丰物业管理公司\t¥100.10\n")
    with served(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "vc_xf_hua")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="村务公开").click()
        page.get_by_role("link", name="起草公开事项").click()
        page.get_by_label("公开事项").select_option("finance.accounts")
        page.get_by_label("公开期").fill("2020-03")
        page.get_by_label("标题").fill("2020年3月财务收支补充公开")
        page.get_by_label("期初余额（元，财务公开必填）").fill("10,000.00")
        page.get_by_label("期末余额（元，财务公开必填）").fill("11,334.67")
        page.get_by_label("这些行是").select_option("income")
        page.locator("#paste").fill(paste)
        page.get_by_role("button", name="保存草稿").click()
        page.wait_for_load_state()
        assert page.locator("#lines tbody tr").count() == 2
        assert page.locator("#total-income").inner_text() == "1,334.66"
        assert "不平衡：相差 0.01 元" in page.locator("#balance-result").inner_text()
        page.get_by_label("期末余额（元）").fill("11,334.66")
        page.get_by_role("button", name="保存").click()
        assert page.locator("#balance-result").inner_text().strip() == "收支平衡"
        page.get_by_role("button", name="提交村务监督委员会审核").click()
        assert page.locator("#disclosure-status").inner_text() == "待审核"
        url = page.url
        page.screenshot(path=str(SHOTS / "village-draft.png"), full_page=True)

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "vs_xf_jin")
        page.goto(url)
        assert page.locator("#do-publish").count() == 0
        page.get_by_label("审核意见（可选）").fill("经核对，与账目一致")
        page.get_by_role("button", name="审核签字").click()
        assert page.locator("#disclosure-status").inner_text() == "已审核签字"
        page.screenshot(path=str(SHOTS / "village-signed.png"), full_page=True)
