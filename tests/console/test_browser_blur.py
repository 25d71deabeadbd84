"""The lead party reviews a blurred photo in the console, in real headless Chromium (issue #19):
sees what others see, adds a region by hand, removes a false one; both audited, the rendition
made again each time.  Screenshots go to artifacts/console/."""

from __future__ import annotations

from tests.blur_helpers import run_blur_jobs
from tests.browser import ARTIFACTS, chromium, needs_chromium, served

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "console"


def test_the_lead_party_reviews_the_blur_of_a_case_photo(app, demo_with_cases):
    import sqlalchemy as sa

    from civic.core.audit import AuditEntry
    from civic.core.blur import PhotoBlur
    from civic.extensions import db
    from tests.console.helpers import browser_login as login

    SHOTS.mkdir(parents=True, exist_ok=True)
    run_blur_jobs()
    case_id = demo_with_cases["complaints"][0]  # 滨江花园 1号楼 电梯: about 世茂物业, so the owners' committee leads (#18)
    with served(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "oc_bj_shi")
        page.goto(f"{base}/console/cases/{case_id}")
        page.locator("#photos-intake a.blur-review").first.click()
        page.wait_for_load_state()
        assert page.locator("#blur-status").inner_text() == "已打码"
        assert page.locator("#blurred").evaluate("img => img.naturalWidth") > 0  # the rendition, via the session
        before = page.locator("#regions tbody tr[data-region]").count()
        first_src = page.locator("#blurred").get_attribute("src")

        form = page.locator("#add-region")
        form.get_by_label("左 x（%）").fill("10")
        form.get_by_label("上 y（%）").fill("20")
        form.get_by_label("宽（%）").fill("30")
        form.get_by_label("高（%）").fill("15")
        form.get_by_role("button", name="增加并重新打码").click()
        page.wait_for_load_state()
        rows = page.locator("#regions tbody tr[data-region]")
        assert rows.count() == before + 1
        added = rows.filter(has_text="手动").first
        assert "10.0, 20.0, 30.0 × 15.0" in added.inner_text()
        assert page.locator(".blur-box").count() == before + 1
        assert page.locator("#blurred").evaluate("img => img.naturalWidth") > 0
        # The page shows the new rendition (a new address per version, not the browser's cached one):
        # the region's pixels differ from the original's.
        shown = page.locator("#blurred").get_attribute("src")
        assert "&v=" in shown and shown != first_src
        page.screenshot(path=str(SHOTS / "case-blur-review.png"), full_page=True)

        added.get_by_role("button", name="删除（误报）").click()
        page.wait_for_load_state()
        assert "已删除（误报）" in page.locator("#regions tbody tr", has_text="手动").first.inner_text()
        assert page.locator(".blur-box").count() == before

    db.session.expire_all()
    actions = list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "complaint", AuditEntry.object_id == str(case_id),
        AuditEntry.action.like("photo_blur.%")).order_by(AuditEntry.id)))
    assert actions == ["photo_blur.region_added", "photo_blur.region_removed"]
    row = db.session.scalars(sa.select(PhotoBlur).where(PhotoBlur.reviewed_by.is_not(None))).one()
    assert [g["removed"] for g in row.regions if g["source"] == "manual"] == [True]
