"""The lead party reviews a blurred photo in the console, in real headless Chromium (issue #19):
sees what others see, adds a region by hand, removes a false one; both audited, the rendition
made again each time.  Screenshots go to artifacts/console/."""

from __future__ import annotations

from tests.blur_helpers import run_blur_jobs
from tests.browser import ARTIFACTS, chromium, needs_chromium, served

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "console"



def _add_region(page, x: int, y: int, w: int, h: int) -> None:
    """Draw a blur region by hand on the review page (percentages of the photo) and wait for the
    page the form answers with."""
    form = page.locator("#add-region")
    form.get_by_label("左 x（%）").fill(str(x))
    form.get_by_label("上 y（%）").fill(str(y))
    form.get_by_label("宽（%）").fill(str(w))
    form.get_by_label("高（%）").fill(str(h))
    form.get_by_role("button", name="增加并重新打码").click()
    page.wait_for_load_state()

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

        _add_region(page, 10, 20, 30, 15)
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


def test_the_village_committee_reviews_the_blur_of_a_published_voucher(app, demo):
    """Another kind, the same page (civic.core.blur.review): 新丰村's committee reviews the voucher of
    its published subsidy disclosure from the disclosure's page; the public page's photo changes at
    once; the supervision committee, who sees the original but does not review the photos, gets no link."""
    import sqlalchemy as sa

    from civic.core.audit import AuditEntry
    from civic.extensions import db
    from civic.village.models import Voucher
    from tests.console.test_browser import login

    SHOTS.mkdir(parents=True, exist_ok=True)
    run_blur_jobs()
    voucher = db.session.scalars(sa.select(Voucher).order_by(Voucher.id)).first()
    vid, did = voucher.id, voucher.line.disclosure_id
    public_url = f"/villages/V-XF/vouchers/{vid}.jpg"
    public = app.test_client()
    before = public.get(public_url)
    assert before.status_code == 200

    with served(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "vs_xf_jin")  # the supervision committee: reads the disclosure, reviews no photo
        page.goto(f"{base}/console/village/disclosures/{did}")
        assert page.locator("#lines td.vouchers a").count() >= 1
        assert page.locator("#lines a.blur-review").count() == 0
        page.context.clear_cookies()

        login(page, base, "vc_xf_hua")
        page.goto(f"{base}/console/village/disclosures/{did}")
        page.locator("#lines a.blur-review").first.click()
        page.wait_for_load_state()
        assert page.locator("#blur-status").inner_text() == "已打码"
        assert page.locator("#blurred").evaluate("img => img.naturalWidth") > 0
        assert page.locator("#blur-back").inner_text() == f"← 返回公开事项 #{did}"
        before_rows = page.locator("#regions tbody tr[data-region]").count()
        first_src = page.locator("#blurred").get_attribute("src")

        _add_region(page, 5, 5, 40, 30)
        rows = page.locator("#regions tbody tr[data-region]")
        assert rows.count() == before_rows + 1
        added = rows.filter(has_text="手动").first
        assert "5.0, 5.0, 40.0 × 30.0" in added.inner_text()
        assert page.locator(".blur-box").count() == before_rows + 1
        shown = page.locator("#blurred").get_attribute("src")
        assert "rendition=blurred" in shown and shown != first_src
        assert page.locator("#blurred").evaluate("img => img.naturalWidth") > 0
        # The village's public page shows the new rendition at once.
        with_region = public.get(public_url)
        assert with_region.status_code == 200 and with_region.data != before.data
        page.screenshot(path=str(SHOTS / "voucher-blur-review.png"), full_page=True)

        added.get_by_role("button", name="删除（误报）").click()
        page.wait_for_load_state()
        assert "已删除（误报）" in page.locator("#regions tbody tr", has_text="手动").first.inner_text()
        assert page.locator(".blur-box").count() == before_rows
        page.locator("#blur-back").click()
        page.wait_for_url(f"{base}/console/village/disclosures/{did}")

    assert public.get(public_url).data == before.data
    db.session.expire_all()
    actions = list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "village_disclosure", AuditEntry.object_id == str(did),
        AuditEntry.action.like("photo_blur.%")).order_by(AuditEntry.id)))
    assert actions == ["photo_blur.region_added", "photo_blur.region_removed"]
