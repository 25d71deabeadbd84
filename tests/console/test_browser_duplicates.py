"""A case's possible duplicates on the console's case page, and merging from there (issue #18 point 4),
in real headless Chromium on the demo street.  Screenshots go to artifacts/console/."""

from __future__ import annotations

from tests.browser import ARTIFACTS, chromium, needs_chromium, served
from tests.console.helpers import browser_login as login

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "console"


def test_the_residents_committee_sees_a_duplicate_and_merges_it_from_the_case_page(app, demo_with_cases):
    import sqlalchemy as sa

    from civic.accounts.models import User
    from civic.complaints import service
    from civic.complaints.demo import demo_photo
    from civic.core.db import commit
    from civic.extensions import db
    from civic.property import service as registry

    SHOTS.mkdir(parents=True, exist_ok=True)
    first = demo_with_cases["complaints"][1]  # 李四: 1号楼 楼道飞线充电 (ebike_charging → 世茂物业)
    zhang = db.session.scalar(sa.select(User).where(User.wechat_openid == "dev-zhang_san"))
    again = service.submit(zhang, service.Intake(
        category="ebike_charging", description="1号楼楼道又有人拉电线给电瓶车充电，晚上还在充。",
        photos=[("again.jpg", demo_photo(7))], place_id=registry.place_by_code("C-BJHY-1-101").id)).complaint.id
    commit()
    with served(app) as base, chromium() as browser:
        # The lead (the property company) sees the candidate and its reasons, and no merge button.
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "pc_sm_he")
        page.goto(f"{base}/console/cases/{again}")
        row = page.locator(f"#dup-{first}")
        assert row.count() == 1
        reasons = row.locator("td.reasons").inner_text()
        assert "同一楼栋" in reasons and "同一类别" in reasons
        assert "李四" not in page.locator("#duplicates").inner_text()
        assert page.locator(f"#merge-into-{first}").count() == 0

        # The residents' committee triages: it merges the new case into the first from the list.
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "rc_bj_zhou")
        page.goto(f"{base}/console/cases/{again}")
        page.locator(f"#dup-{first}").wait_for()
        page.screenshot(path=str(SHOTS / "case-duplicates.png"), full_page=True)
        page.get_by_role("button", name=f"本案并入 #{first}").click()
        page.wait_for_url(f"{base}/console/cases/{again}")
        assert page.locator("#case-status").inner_text() == "已合并"
        assert page.get_by_role("link", name=f"#{first}").count() >= 1
        assert page.locator("#duplicates").inner_text().count("本案并入") == 0  # ended: nothing to merge
        page.goto(f"{base}/console/cases/{first}")
        assert "其他案件并入本案" in page.locator("#timeline").inner_text()
        assert page.locator(f"#dup-{again}").count() == 0  # a merged case is no candidate any more
        page.screenshot(path=str(SHOTS / "case-merged.png"), full_page=True)
    from civic.complaints.models import Complaint

    db.session.expire_all()
    merged = db.session.get(Complaint, again)
    assert (merged.status, merged.merged_into_id) == ("merged", first)
