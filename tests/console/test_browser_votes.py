"""业主大会表决 in real headless Chromium on the demo street: two owners' committee members of
滨江花园 (O-OC-BJHY) enter and confirm a paper ballot.  施主任 (oc_bj_shi) sets up a vote on the
demo's certified roster, opens it, and enters one unit's paper ballot with a real scan; 张委员
(oc_bj_zhang) checks it against the scan and confirms it; the turnout page then counts the unit.

Screenshots go to artifacts/console/votes-*.png (gitignored) for a person to look at."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from tests.browser import ARTIFACTS, chromium, needs_chromium, served
from tests.console.helpers import browser_login as login

pytestmark = needs_chromium
SHOTS = ARTIFACTS / "console"
UNIT = "C-BJHY-3-1203"
NAME = "滨江花园3号楼1203室"  # how staff read it (issue #15 pt 15)



def _unit_name(code: str) -> str:
    """The demo's name of a unit of 滨江花园 from its registry code: C-BJHY-1-102 → 滨江花园1号楼102室."""
    _, _, building, room = code.split("-")
    return f"滨江花园{building}号楼{room}室"


def _as_if_notice_period_ran(vote_id: int) -> None:
    """The 15-day notice period, passed (as the API tests do): voting may open now."""
    from civic.core.db import commit, utcnow
    from civic.extensions import db
    from civic.voting.models import Vote

    db.session.get(Vote, vote_id).voting_opens_at = utcnow() - dt.timedelta(seconds=1)
    commit()


def _counted_row(page) -> list[str]:
    return page.locator("#row-counted td").all_inner_texts()


def test_two_committee_members_enter_and_confirm_a_paper_ballot(app, demo, shared_dir):
    from civic.extensions import db
    from civic.voting.models import HeadMember, RosterPerson, VoteUnit

    SHOTS.mkdir(parents=True, exist_ok=True)
    with served(app) as base, chromium() as browser:
        # 施主任 (head of the committee) sets up the vote on the certified demo roster.
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        login(page, base, "oc_bj_shi")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="业主大会表决").click()
        assert page.locator("#rosters tbody tr").first.inner_text().count("已确认公布") == 1
        page.screenshot(path=str(SHOTS / "votes-home.png"), full_page=True)
        page.get_by_text("发起表决", exact=True).click()
        page.get_by_label("业主名册（须已确认公布）").select_option(str(demo["voting"]["roster_id"]))
        page.get_by_label("标题").fill("续聘世茂物业")
        page.get_by_label("说明").fill("物业服务合同 2026 年 6 月到期，拟续聘三年。")
        page.get_by_role("button", name="建立表决草稿").click()
        assert page.locator("#vote-state").inner_text() == "草稿"
        vote_id = int(re.search(r"/votes/(\d+)$", page.url).group(1))
        page.get_by_text("添加表决事项", exact=True).click()
        page.get_by_label("事项类别（《民法典》第二百七十八条第一款）").select_option("4")
        page.get_by_label("事项标题").fill("续聘世茂物业滨江项目部为本小区物业服务企业")
        page.get_by_role("button", name="添加事项").click()
        page.wait_for_load_state()
        assert page.locator("#matter-list li").count() == 1
        page.get_by_role("button", name="公告").click()
        assert page.locator("#vote-state").inner_text() == "公告中"
        assert page.locator("#do-open").is_disabled()
        page.screenshot(path=str(SHOTS / "votes-announced.png"), full_page=True)
        _as_if_notice_period_ran(vote_id)
        page.reload()
        page.get_by_role("button", name="开始投票").click()
        assert page.locator("#vote-state").inner_text() == "投票中"

        # ... and enters the paper ballot of 3号楼1203, with its scan.
        page.get_by_role("link", name="录入纸质选票").click()
        page.get_by_label("楼").select_option("滨江花园3号楼")
        page.get_by_label("房号（如 1203，或 3-1203）").fill("1203")
        page.get_by_role("button", name="查找").click()
        rows = page.locator("#units tbody tr").all_inner_texts()
        assert len(rows) == 1 and rows[0].startswith(f"{NAME}\t滨江花园3号楼\t") and rows[0].endswith("\t未投票")
        page.screenshot(path=str(SHOTS / "votes-paper-search.png"), full_page=True)
        page.get_by_role("link", name=NAME).click()
        page.get_by_label("同意").check()
        page.get_by_label("业主本人", exact=True).check()  # who signed the paper (issue #15 pt 7)
        page.get_by_label("签署的业主（选“业主本人”时必选）").select_option(index=1)
        page.get_by_label("选票扫描件或照片（JPEG、PNG、WebP、HEIC）").set_input_files(
            str(shared_dir / "photos" / "ianare_portrait_5.jpg"))
        page.get_by_role("button", name="提交录入（待复核）").click()
        assert page.locator("#entered-state").inner_text() == "待确认"
        assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", page.locator("#receipt-code").inner_text())
        assert "您录入的选票须由另一名委员复核" in page.locator("#entries").inner_text()
        page.screenshot(path=str(SHOTS / "votes-entered.png"), full_page=True)
        page.goto(f"{base}/console/votes/{vote_id}/confirm")
        assert "您不能复核自己录入的选票" in page.locator("article.entry").inner_text()
        assert page.get_by_role("button", name="复核无误，计入").count() == 0
        page.screenshot(path=str(SHOTS / "votes-same-member.png"), full_page=True)
        page.goto(f"{base}/console/votes/{vote_id}/turnout")
        assert _counted_row(page) == ["0", "0", "0.00"]
        assert page.locator("#pending").inner_text() == "1"

        area, owner = db.session.execute(
            sa.select(VoteUnit.area, RosterPerson.name)
            .join(HeadMember, HeadMember.head_id == VoteUnit.head_id)
            .join(RosterPerson, RosterPerson.id == HeadMember.person_id)
            .where(VoteUnit.vote_id == vote_id, VoteUnit.unit_code == UNIT)).one()
        # 张委员 checks the entry against the scan and confirms it.
        head_page = page
        page = browser.new_page(viewport={"width": 1024, "height": 1366})  # a tablet, portrait
        login(page, base, "oc_bj_zhang")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="业主大会表决").click()
        page.get_by_role("link", name="续聘世茂物业").click()
        page.get_by_role("link", name="复核纸质选票（1）").click()
        entry = page.locator("article.entry")
        assert entry.count() == 1
        assert NAME in entry.locator("h2").inner_text() and "施主任" in entry.inner_text() and owner in entry.inner_text()
        assert entry.locator("table.choices td strong").all_inner_texts() == ["同意"]
        scan = entry.locator("img.scan")
        scan.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=scan.element_handle())
        page.screenshot(path=str(SHOTS / "votes-confirm.png"), full_page=True)
        page.get_by_role("button", name="复核无误，计入").click()
        assert page.locator("#done").inner_text() == "已复核，该选票已计入。"
        page.get_by_role("link", name="← 返回表决：续聘世茂物业").click()
        page.get_by_role("link", name="投票情况").click()
        assert _counted_row(page) == ["1", "1", f"{area:,.2f}"]
        assert page.locator("#pending").inner_text() == "0"
        assert page.locator("#row-all td").all_inner_texts()[:2] == ["1170", "1200"]
        assert page.locator("#row-share td").first.inner_text() == "1 / 1170 人（0.09%）"
        page.get_by_role("link", name="已投票", exact=True).click()
        assert page.locator("#turnout tbody tr").all_inner_texts() == [f"{NAME}\t1\t{area:,.2f}\t纸质选票"]
        page.screenshot(path=str(SHOTS / "votes-turnout.png"), full_page=True)

        # 李四 owns two units (one head); their two confirmed entries disagree (written before such
        # entries were refused).  Publishing is blocked, saying what to do; 施主任 withdraws the wrong one
        # on its unit page, with a reason, and the vote can be published.
        li_units = demo["residents"]["li_si"]["units"]
        _conflicting_confirmed_entries(vote_id, li_units, demo_user_ids=("oc_bj_shi", "oc_bj_zhang"))
        page = head_page
        page.goto(f"{base}/console/votes/{vote_id}")
        page.get_by_role("button", name="结束投票").click()
        assert page.locator("#vote-state").inner_text() == "投票已结束"
        assert page.locator("#do-publish").is_disabled()
        assert "撤回录入有误的一张" in page.locator("#why-publish").inner_text()
        page.screenshot(path=str(SHOTS / "votes-conflict.png"), full_page=True)
        li_names = [_unit_name(c) for c in li_units]
        page.locator("#conflicts").get_by_role("link", name=re.compile(re.escape(li_names[1]))).click()
        # the page lists both of the head's entries; the wrong one is 1-103's
        page.locator("#entries tbody tr", has_text=li_names[1]).get_by_text("撤回已计入的选票", exact=True).click()
        form = page.locator("details[open]")
        assert form.count() == 1
        form.get_by_label("撤回理由（必填，记入审计记录）").fill("与业主李四核实：两套房均选择同意，此张录入有误")
        page.screenshot(path=str(SHOTS / "votes-withdraw-form.png"), full_page=True)
        form.get_by_role("button", name="撤回该选票").click()
        assert page.locator("#done").inner_text().startswith(f"已撤回 {li_names[1]} 的纸质选票")
        assert "已撤回" in page.locator("#entries tbody tr", has_text=li_names[1]).inner_text()
        assert "已复核计入" in page.locator("#entries tbody tr", has_text=li_names[0]).inner_text()
        page.screenshot(path=str(SHOTS / "votes-withdrawn.png"), full_page=True)
        # entering 1-103 again against 1-102's confirmed 同意 is kept, but contested (one owner, one
        # will): publishing is blocked again until the wrong one is withdrawn -- this pending one
        page.get_by_label("反对").check()
        page.get_by_label("业主本人", exact=True).check()
        page.get_by_label("签署的业主（选“业主本人”时必选）").select_option(index=1)
        page.get_by_label("选票扫描件或照片（JPEG、PNG、WebP、HEIC）").set_input_files(
            str(shared_dir / "photos" / "ianare_portrait_5.jpg"))
        page.get_by_role("button", name="提交录入（待复核）").click()
        assert f"同一业主名下 {li_names[0]} 的纸质选票" in page.locator("#contested").inner_text()
        page.screenshot(path=str(SHOTS / "votes-enter-conflict.png"), full_page=True)
        page.get_by_role("link", name="表决：续聘世茂物业").click()
        assert page.locator("#do-publish").is_disabled() and page.locator("#conflicts").count() == 1
        page.goto(f"{base}/console/votes/{vote_id}/confirm")
        pending = page.locator("article.entry", has_text=li_names[1])
        pending.get_by_text("录入有误，撤回", exact=True).click()
        pending.get_by_label("撤回理由").fill("与业主李四核实：仍选择同意，此张为误交")
        pending.get_by_role("button", name="撤回").click()
        page.get_by_role("link", name="表决：续聘世茂物业").click()
        assert page.locator("#conflicts").count() == 0 and page.locator("#do-publish").is_enabled()


def _conflicting_confirmed_entries(vote_id: int, unit_codes: list[str], demo_user_ids: tuple[str, str]) -> None:
    """Two confirmed paper entries of one head that disagree (同意 / 反对), written to the tables."""
    from civic.accounts.models import User
    from civic.core.db import commit, utcnow
    from civic.extensions import db
    from civic.voting.models import Ballot, Matter, VoteUnit
    from tests.voting.helpers import legacy_paper_entry

    enterer, confirmer = (db.session.scalar(sa.select(User.id).where(User.username == u)) for u in demo_user_ids)
    matter = db.session.scalar(sa.select(Matter.id).where(Matter.vote_id == vote_id))
    units = [db.session.execute(sa.select(VoteUnit.roster_unit_id, VoteUnit.head_id).where(
        VoteUnit.vote_id == vote_id, VoteUnit.unit_code == code)).one() for code in unit_codes]
    assert units[0].head_id == units[1].head_id
    ballot = Ballot(vote_id=vote_id, head_id=units[0].head_id, roster_unit_id=units[0].roster_unit_id, kind="paper",
                    cast_at=utcnow())
    db.session.add(ballot)
    commit()
    for n, (u, choice) in enumerate(zip(units, ("agree", "oppose"), strict=True)):
        legacy_paper_entry(vote_id, matter, u.roster_unit_id, u.head_id, ballot.id, choice, enterer, confirmer, n)
