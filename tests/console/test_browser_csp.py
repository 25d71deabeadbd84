"""The Content-Security-Policy breaks nothing a person sees (issue #17 point 7), in real Chromium.

Every console page in the navigation of each kind of staff, a case page with its photos, the public
village page and a disclosure, and the API docs: Chromium reports no refused script, style, image
or connection, and the styles that pages once wrote inline (now classes in the stylesheets) apply.
"""

from __future__ import annotations

from tests.browser import chromium, needs_chromium, served
from tests.console.helpers import browser_login

pytestmark = needs_chromium


def _watch(page, refused):
    page.on("console", lambda m: refused.append((page.url, m.text)) if "Content Security Policy" in m.text else None)


def test_no_page_breaks_the_policy_and_the_moved_styles_apply(app, demo_with_cases):
    refused: list[tuple[str, str]] = []
    visited = []
    with served(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _watch(page, refused)
        page.goto(f"{base}/console/login")
        card = page.locator("main .card").first
        assert card.evaluate("e => getComputedStyle(e).maxWidth") == "460px"  # was style="max-width:460px"
        assert page.locator("header.top").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(8, 58, 102)"
        for username in ("sc_wang", "pc_sm_he", "rc_bj_zhou", "oc_bj_shi", "vc_xf_hua"):
            page.context.clear_cookies()
            browser_login(page, base, username)
            links = page.get_by_role("navigation", name="主导航").get_by_role("link")
            hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
            for href in hrefs:
                page.goto(base + href)
                page.wait_for_load_state()
                visited.append(href)
        page.context.clear_cookies()
        browser_login(page, base, "oc_bj_shi")  # the lead of the lift case (#18), who sees its photo as taken
        case_id = demo_with_cases["complaints"][0]
        page.goto(f"{base}/console/cases/{case_id}")
        assert page.locator("#photos-intake img").evaluate("img => img.naturalWidth") > 0
        page.goto(f"{base}/villages/V-XF/")
        assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(178, 34, 34)"
        disclosure = page.locator("a[href*='/disclosures/']").first
        disclosure.click()
        page.wait_for_load_state()
        page.goto(f"{base}/api/v1/docs/")
        page.wait_for_selector(".opblock", timeout=30_000)
        page.locator(".opblock").first.click()
        page.wait_for_timeout(300)
    assert refused == []
    assert {"/console/cases", "/console/oversight", "/console/moderation", "/console/votes",
            "/console/village"} <= {h.split("?")[0] for h in visited}, visited
