"""The demo village's public page in real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import io
import re

import pytest

from tests.browser import ARGS, ARTIFACTS, CHROMIUM, needs_chromium, served

pytestmark = needs_chromium


@pytest.fixture
def server(app):
    with served(app) as url:
        yield url


@pytest.fixture
def demo(app):
    from civic.core.db import commit
    from civic.demo import load_demo

    summary = load_demo()
    commit()
    return summary["village"]


def test_demo_page_renders_the_finance_table_in_chromium(server, demo):
    from PIL import Image, ImageStat
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915}, java_script_enabled=False)
            page.goto(f"{server}/villages/V-XF/")
            assert "新丰村" in page.title()
            assert page.locator("text=已更正").count() >= 1
            page.goto(f"{server}/villages/V-XF/disclosures/{demo['correction']}")
            table = page.locator("table#finance")
            rows = table.locator("tbody tr")
            assert rows.count() >= 5
            income = page.locator("#total-income").inner_text()
            assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", income)
            assert "道路硬化工程款录入错误" in page.content()
            assert "12,500.00" in table.inner_text()
            box = table.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 100
            shot = table.screenshot(path=str(ARTIFACTS / "village-finance-table.png"))
            stat = ImageStat.Stat(Image.open(io.BytesIO(shot)).convert("L"))
            assert stat.var[0] > 100  # text and borders, not a blank box
            page.goto(f"{server}/villages/V-XF/disclosures/{demo['inquiry_disclosure']}")
            assert "道路硬化工程款支付给了哪家单位" in page.content() and "村委会答" in page.content()
            assert "13900009901" not in page.content()
            page.screenshot(path=str(ARTIFACTS / "village-inquiry.png"), full_page=True)
        finally:
            browser.close()
