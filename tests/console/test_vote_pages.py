"""业主大会表决 in the console through the Flask test client: rosters (summary figures, CSV import
with every bad row listed and nothing written, certification, new version), vote set-up and phases,
paper ballot entry with a real scan and the second member's confirmation, turnout and results,
who may use which page, CSRF."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from civic.core.db import commit, utcnow
from civic.extensions import db
from tests.console.helpers import Console as _Console
from tests.voting.helpers import PHOTO, Compound

CSV_HEADER = "unit_code,building,area_m2,area_source,developer_status,owners,representative_phone,buyer\n"
GOOD_ROWS = ("A-101,A栋,88.50,registry,,王一|13911110001,,\n"
             "A-102,A栋,92.10,survey,,王一|13911110001,,\n"
             "A-103,A栋,120.00,registry,,李二|13911110002;赵三|13911110003,13911110003,\n")


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _text(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert m, f"#{element_id} not on the page"
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


class Console(_Console):
    def __init__(self, app, username, password="test-pass-123"):
        super().__init__(app, username, password)


def _id(resp, pattern: str) -> int:
    assert resp.status_code == 303, resp.text
    return int(re.search(pattern, resp.headers["Location"]).group(1))


@pytest.fixture
def comp(factory):
    return Compound(factory)


def _registry_roster(console, comp, certify=True) -> int:
    rid = _id(console.post("/console/votes/rosters", {"place_id": str(comp.compound.id), "source": "registry"}),
              r"/votes/rosters/(\d+)")
    if certify:
        assert console.post(f"/console/votes/rosters/{rid}/certify", {"published_on": "2026-03-01"}).status_code == 303
    return rid


def _open_vote(head, comp, numbers=(4,)) -> tuple[int, list[int]]:
    """Through the console: certified roster, a vote with matters, announced, opened (the notice
    period moved into the past, as if it had run)."""
    from civic.voting.models import Matter, Vote

    rid = _registry_roster(head, comp)
    vid = _id(head.post("/console/votes", {"roster_id": str(rid), "title": "续聘物业", "notice_days": "15"}),
              r"/votes/(\d+)$")
    for n in numbers:
        assert head.post(f"/console/votes/{vid}/matters", {"number": str(n), "title": f"第{n}项"}).status_code == 303
    assert head.post(f"/console/votes/{vid}/transitions/announce").status_code == 303
    db.session.get(Vote, vid).voting_opens_at = utcnow() - dt.timedelta(seconds=1)
    commit()
    assert head.post(f"/console/votes/{vid}/transitions/open").status_code == 303
    return vid, list(db.session.scalars(sa.select(Matter.id).where(Matter.vote_id == vid).order_by(Matter.id)))


def _roster_unit(vid, place) -> int:
    from civic.voting.models import VoteUnit

    return db.session.scalar(sa.select(VoteUnit.roster_unit_id).where(VoteUnit.vote_id == vid,
                                                                      VoteUnit.unit_code == place.code))


def _street(comp):
    from civic.property import service as registry

    return registry.ancestor_of_kind(comp.compound, "street")


def _enter(console, vid, ruid, choices: dict, shared_dir, signer: dict | None = None):
    from tests.voting.helpers import signer_fields

    data = {f"matter-{m}": c for m, c in choices.items()}
    data.update(signer_fields(vid, ruid) if signer is None else signer)
    data["scan"] = ((shared_dir / "photos" / PHOTO).open("rb"), "ballot.jpg")
    return console.post(f"/console/votes/{vid}/paper/{ruid}", data, content_type="multipart/form-data")


# --- rosters -------------------------------------------------------------------------------------

def test_registry_roster_summary_shows_units_exact_area_and_heads(app, comp):
    head = Console(app, comp.head.username)
    rid = _registry_roster(head, comp, certify=False)
    page = head.get(f"/console/votes/rosters/{rid}").text
    # 6 units: 88.50 + 92.10 + 120.00 + 100.25 + 75.00 + 60.00 m²; heads: A's two units, B+C's
    # co-owned unit, D's unit, and the developer's two units (one head, SPC Art. 9)
    assert (_text(page, "sum-units"), _text(page, "sum-area"), _text(page, "sum-heads")) == ("6", "535.85", "4")
    assert _text(page, "roster-status") == "草稿"
    assert "买受人，非业主" in page and "代表" in page
    assert comp.b.phone not in page and comp.b.phone[:3] + "****" + comp.b.phone[-4:] in page
    r = head.post(f"/console/votes/rosters/{rid}/certify", {"published_on": "2026-03-01"})
    page = head.get(r.headers["Location"]).text
    assert (_text(page, "roster-status"), _text(page, "published-on")) == ("已确认公布", "2026-03-01")
    assert "导入名册 CSV" not in page and "建立新版本" in page


def test_demo_roster_figures_for_the_street_centre(app, factory):
    from civic.demo import load_demo
    from civic.property import service as registry

    demo = load_demo()
    commit()
    expected = sum((u.area for u, _b in registry.units_under(registry.place_by_code("C-BJHY"))), Decimal("0"))
    sc = Console(app, "sc_wang", "civic-demo-2026")
    home = sc.get("/console/votes?compound=C-BJHY")
    assert home.status_code == 200 and "滨江花园业主名册" in home.text
    page = sc.get(f"/console/votes/rosters/{demo['voting']['roster_id']}").text
    assert _text(page, "sum-units") == "1200"
    assert _text(page, "sum-area") == f"{expected:,.2f}"
    assert _text(page, "sum-heads") == "1170"  # 30 developer-held units are one head, 李四's two units one
    assert 'id="units"' not in page and "建立新版本" not in page  # the street centre reads the summary only


def test_bad_csv_rows_are_all_listed_and_nothing_is_imported(app, comp):
    from civic.voting import roster

    head = Console(app, comp.head.username)
    rid = _id(head.post("/console/votes/rosters", {"place_id": str(comp.compound.id), "source": "csv"}),
              r"/votes/rosters/(\d+)")
    bad = (CSV_HEADER + GOOD_ROWS + "A-104,A栋,-3,registry,,孙五|13911110005,,\n"
           "A-101,A栋,50.005,guess,,,,\n" "A-106,A栋,60,registry,,周六|1391,,\n")
    r = head.post(f"/console/votes/rosters/{rid}/import", {"file": (io.BytesIO(bad.encode()), "名册.csv")},
                  content_type="multipart/form-data")
    assert r.status_code == 422
    assert "名册 CSV 有误，未导入任何一行" in r.text
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", r.text)
    area_rule = "面积须为正数，最多两位小数（平方米）"
    assert [(int(line), col, reason) for line, col, reason in rows] == [
        (5, "area_m2", area_rule),
        (6, "unit_code", "房屋 A-101 重复"),
        (6, "area_m2", area_rule),
        (6, "area_source", "面积来源须为 registry（不动产登记）、survey（测绘）或 contract（合同）"),
        (6, "owners", "须至少填写一名业主（开发商持有的房屋除外）"),
        (7, "owners", "手机号 1391 格式不正确"),
        (7, "owners", "须至少填写一名业主（开发商持有的房屋除外）"),
    ]
    assert roster.roster_summary(roster.get_roster(rid))["units"] == 0
    assert _text(head.get(f"/console/votes/rosters/{rid}").text, "sum-units") == "0"

    r = head.post(f"/console/votes/rosters/{rid}/import",
                  {"file": (io.BytesIO((CSV_HEADER + GOOD_ROWS).encode("utf-8-sig")), "名册.csv")},
                  content_type="multipart/form-data")
    page = head.get(r.headers["Location"]).text
    assert _text(page, "import-done") == "已导入 3 户。"
    assert (_text(page, "sum-units"), _text(page, "sum-area"), _text(page, "sum-heads")) == ("3", "300.60", "2")


def test_new_version_needs_a_reason_and_keeps_the_certified_one(app, comp):
    head = Console(app, comp.head.username)
    rid = _registry_roster(head, comp)
    r = head.post(f"/console/votes/rosters/{rid}/versions", {"reason": ""})
    assert r.status_code == 422 and "请填写内容" in r.text
    new = _id(head.post(f"/console/votes/rosters/{rid}/versions", {"reason": "2-101 过户"}), r"/votes/rosters/(\d+)")
    page = head.get(f"/console/votes/rosters/{new}").text
    assert _text(page, "roster-status") == "草稿" and "2-101 过户" in page and "第 2 版" in page
    assert _text(head.get(f"/console/votes/rosters/{rid}").text, "roster-status") == "已确认公布"


def test_only_the_head_certifies(app, factory, comp):
    member = Console(app, comp.member.username)
    rid = _registry_roster(member, comp, certify=False)
    page = member.get(f"/console/votes/rosters/{rid}").text
    assert "确认并公布名册" not in page and "须由业主委员会主任确认公布" in page
    r = member.post(f"/console/votes/rosters/{rid}/certify", {})
    assert r.status_code == 403 and "负责人" in r.text


# --- access and CSRF -----------------------------------------------------------------------------

def test_property_company_gets_403_and_no_nav_entry(app, factory, comp):
    pc = factory.staff(factory.org("property_company", [comp.compound]), username="pc1")
    c = Console(app, pc.username)
    nav = re.search(r'<nav aria-label="主导航">(.*?)</nav>', c.get("/console/").text, re.S).group(1)
    assert "业主大会表决" not in nav
    r = c.get("/console/votes")
    assert r.status_code == 403 and "无权使用该页面" in r.text
    assert c.post("/console/votes/rosters", {"place_id": str(comp.compound.id)}).status_code == 403


def test_committee_of_another_compound_is_refused(app, factory, comp):
    other = Compound(factory)
    head = Console(app, comp.head.username)
    rid = _registry_roster(head, comp)
    outsider = Console(app, other.head.username)
    r = outsider.get(f"/console/votes/rosters/{rid}")
    assert r.status_code == 403 and "仅限该小区的" in r.text
    assert outsider.get(f"/console/votes?compound={comp.compound.code}").status_code == 403


def test_forms_without_csrf_token_are_refused(app, comp):
    head = Console(app, comp.head.username)
    r = head.c.post("/console/votes/rosters", data={"place_id": str(comp.compound.id), "source": "registry"})
    assert r.status_code == 400 and "页面已过期" in r.text
    from civic.voting.models import Roster

    assert db.session.scalar(sa.select(sa.func.count(Roster.id))) == 0


# --- vote set-up and phases ----------------------------------------------------------------------

def test_vote_set_up_offers_only_the_transitions_allowed(app, comp):
    head = Console(app, comp.head.username)
    rid = _registry_roster(head, comp)
    vid = _id(head.post("/console/votes", {"roster_id": str(rid), "title": "筹集维修资金", "notice_days": "15"}),
              r"/votes/(\d+)$")
    page = head.get(f"/console/votes/{vid}").text
    assert _text(page, "vote-state") == "草稿"
    assert 'id="do-announce" disabled' in page and "表决没有任何事项" in page
    assert 'id="do-open"' not in page
    r = head.post(f"/console/votes/{vid}/matters", {"number": "6", "title": "筹集维修资金 50 万元"})
    page = head.get(r.headers["Location"]).text
    assert "第二百七十八条第一款第（6）项：筹集建筑物及其附属设施的维修资金" in page
    assert "参与表决专有部分面积和人数均四分之三以上同意" in page
    assert 'id="do-announce" disabled' not in page
    member = Console(app, comp.member.username)
    mpage = member.get(f"/console/votes/{vid}").text
    assert 'id="do-announce"' not in mpage and "由业主委员会主任操作" in mpage
    assert member.post(f"/console/votes/{vid}/transitions/announce").status_code == 403
    head.post(f"/console/votes/{vid}/transitions/announce", {"note": "张贴于各楼大堂"})
    page = head.get(f"/console/votes/{vid}").text
    assert _text(page, "vote-state") == "公告中"
    assert 'id="do-open" disabled' in page and "公告期未满，不能开始投票" in page
    assert head.post(f"/console/votes/{vid}/transitions/open").status_code == 409


def test_notice_days_out_of_range_is_refused_in_chinese(app, comp):
    head = Console(app, comp.head.username)
    rid = _registry_roster(head, comp)
    r = head.post("/console/votes", {"roster_id": str(rid), "title": "续聘物业", "notice_days": "0"})
    assert r.status_code == 422 and "以下各项填写有误：公告期（天）（须大于或等于 1 且小于或等于 90）" in r.text


# --- paper ballots -------------------------------------------------------------------------------

def test_paper_ballot_entered_then_confirmed_by_another_member(app, comp, shared_dir):
    head, member = Console(app, comp.head.username), Console(app, comp.member.username)
    vid, (m4,) = _open_vote(head, comp)
    unit = comp.units[3]  # 2-101 (D, 100.25 m², one unit)
    found = member.get(f"/console/votes/{vid}/paper?building=2号楼&q={unit.code}").text
    table = found.split('id="units"')[1].split("</table>")[0]
    assert ">测试小区2号楼2-101室</a>" in table and "未投票" in table and unit.code not in table
    ruid = _roster_unit(vid, unit)
    page = member.get(f"/console/votes/{vid}/paper/{ruid}").text
    assert "100.25 m²" in page and "提交录入（待复核）" in page
    r = _enter(member, vid, ruid, {m4: "agree"}, shared_dir)
    assert r.status_code == 201
    assert _text(r.text, "entered-state") == "待确认" and "须由另一名业主委员会委员" in r.text
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", _text(r.text, "receipt-code"))
    assert "您录入的选票须由另一名委员复核" in r.text and "该房屋的纸质选票已录入，等待另一名委员复核" in r.text
    assert "纸质 · 待确认" in member.get(f"/console/votes/{vid}/paper?q={unit.code}").text

    turnout = head.get(f"/console/votes/{vid}/turnout").text
    assert re.sub(r"\s+", " ", _text(turnout, "row-counted")) == "已计入"
    assert "<td class=\"num\">100.25</td>" in turnout.split('id="row-returned"')[1].split("</tr>")[0]
    assert _text(turnout, "pending") == "1"

    # the entering member is not offered confirmation, and is told why
    mine = member.get(f"/console/votes/{vid}/confirm").text
    entry_id = int(re.search(r'id="entry-(\d+)"', mine).group(1))
    assert f'id="confirm-{entry_id}"' not in mine
    assert "这张选票是您录入的，须由另一名委员复核后才计入" in _text(mine, f"same-member-{entry_id}")
    r = member.post(f"/console/votes/paper-entries/{entry_id}/confirm")
    assert r.status_code == 403 and "纸质选票须由录入人以外的另一名委员复核" in r.text

    # the head sees the scan, the unit and the choices, and confirms
    page = head.get(f"/console/votes/{vid}/confirm").text
    assert "测试小区2号楼2-101室" in page and "<strong>同意</strong>" in page and f'id="confirm-{entry_id}"' in page
    assert unit.code not in page
    img = head.get(f"/console/votes/paper-entries/{entry_id}/scan")
    assert img.status_code == 200 and img.mimetype == "image/jpeg" and img.data[:3] == b"\xff\xd8\xff"
    r = head.post(f"/console/votes/paper-entries/{entry_id}/confirm")
    assert r.status_code == 303
    assert _text(head.get(r.headers["Location"]).text, "done") == "已复核，该选票已计入。"
    row = head.get(f"/console/votes/{vid}/turnout").text.split('id="row-counted"')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["1", "1", "100.25"]
    share = head.get(f"/console/votes/{vid}/turnout").text.split('id="row-share"')[1].split("</tr>")[0]
    cells = [re.sub(r"\s+", " ", c) for c in re.findall(r'<td class="num">([^<]*)</td>', share)]
    assert cells == ["1 / 4 人（25.00%）", "1 / 6 户（16.67%）", "100.25 m² / 535.85 m²（18.71%）"]


def test_scan_and_confirmation_are_for_the_committee_only(app, factory, comp, shared_dir):
    head, member = Console(app, comp.head.username), Console(app, comp.member.username)
    vid, (m4,) = _open_vote(head, comp)
    _enter(member, vid, _roster_unit(vid, comp.units[3]), {m4: "oppose"}, shared_dir)
    from civic.voting.models import PaperEntry

    entry_id = db.session.scalar(sa.select(PaperEntry.id))
    sc = factory.staff(factory.org("street_centre", [_street(comp)]), username="sc1")
    c = Console(app, sc.username)
    assert c.get(f"/console/votes/{vid}").status_code == 200
    assert c.get(f"/console/votes/{vid}/turnout").status_code == 200
    assert c.get(f"/console/votes/{vid}/confirm").status_code == 403
    assert c.get(f"/console/votes/paper-entries/{entry_id}/scan").status_code == 403
    assert c.get(f"/console/votes/{vid}/paper").status_code == 403


def test_enterer_withdraws_with_a_reason_and_the_unit_can_be_entered_again(app, comp, shared_dir):
    head, member = Console(app, comp.head.username), Console(app, comp.member.username)
    vid, (m4,) = _open_vote(head, comp)
    ruid = _roster_unit(vid, comp.units[3])
    _enter(member, vid, ruid, {m4: "agree"}, shared_dir)
    page = member.get(f"/console/votes/{vid}/confirm").text
    entry_id = int(re.search(r'id="entry-(\d+)"', page).group(1))
    assert "录入有误，撤回" in page
    r = member.post(f"/console/votes/paper-entries/{entry_id}/withdraw", {"reason": "选项录反"})
    assert r.status_code == 303
    assert _text(member.get(r.headers["Location"]).text, "none") == "没有待复核的纸质选票。"
    unit_page = member.get(f"/console/votes/{vid}/paper/{ruid}").text
    assert "已撤回" in unit_page and "选项录反" in unit_page and "提交录入（待复核）" in unit_page
    assert _enter(member, vid, ruid, {m4: "oppose"}, shared_dir).status_code == 201


def test_paper_entry_needs_one_scan(app, comp):
    head, member = Console(app, comp.head.username), Console(app, comp.member.username)
    vid, (m4,) = _open_vote(head, comp)
    r = member.post(f"/console/votes/{vid}/paper/{_roster_unit(vid, comp.units[3])}", {f"matter-{m4}": "agree"},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "请上传一张选票扫描件" in r.text


def test_online_voter_cannot_get_a_paper_entry(app, client, factory, comp, caplog):
    import logging

    from tests.voting.helpers import api, verify

    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    head = Console(app, comp.head.username)
    vid, (m4,) = _open_vote(head, comp)
    d = factory.token(comp.d)
    verify(client, caplog, vid, comp.d, d)
    assert api(client, "post", f"/api/v1/votes/{vid}/ballot", d, json={"choices": {str(m4): "agree"}})[0] == 201
    page = head.get(f"/console/votes/{vid}/paper/{_roster_unit(vid, comp.units[3])}").text
    assert _text(page, "blocked") == "该业主已在线投票，不能再录入纸质选票"


def _entry_id(vid, ruid) -> int:
    from civic.voting.models import PaperEntry

    return db.session.scalar(sa.select(PaperEntry.id).where(PaperEntry.vote_id == vid, PaperEntry.roster_unit_id == ruid,
                                                            PaperEntry.withdrawn_at.is_(None)))


def test_the_unit_page_asks_who_signed_and_refuses_the_buyer_of_an_undelivered_unit(app, comp, shared_dir):
    """2-102 is sold to E but not delivered: the form offers the developer and lists E as a buyer
    who is not yet an owner; a ballot signed by E is refused by the form (422, the choices and the
    signer kept), one signed by the developer is entered and names its signer."""
    from civic.voting.models import PaperEntry, RosterPerson

    head, member = Console(app, comp.head.username), Console(app, comp.member.username)
    vid, (m4,) = _open_vote(head, comp)
    unit = _roster_unit(vid, comp.units[4])
    page = member.get(f"/console/votes/{vid}/paper/{unit}").text
    signer = page.split('id="signer"')[1].split("</fieldset>")[0]
    assert 'value="owner"' in signer and 'value="proxy"' in signer and 'value="developer"' in signer
    e = db.session.scalar(sa.select(RosterPerson.id).where(RosterPerson.phone == comp.e.phone))
    assert re.search(rf'<option value="{e}">[^<]*（买受人（已购未交付，尚不是业主））</option>', signer)
    r = _enter(member, vid, unit, {m4: "agree"}, shared_dir, signer={"signer_kind": "owner", "signer_person_id": str(e)})
    assert r.status_code == 422
    assert "签署人是已购未交付房屋的买受人，尚不是业主" in r.text.split('id="enter-error"')[1].split("</div>")[0]
    assert "错误代码：paper_signer_not_entitled" in r.text
    assert re.search(rf'id="m{m4}-agree"[^>]*checked', r.text) and re.search(r'id="signer-owner"[^>]*checked', r.text)
    assert re.search(rf'<option value="{e}" selected>', r.text)
    assert db.session.scalar(sa.select(sa.func.count(PaperEntry.id)).where(PaperEntry.vote_id == vid)) == 0
    # a delivered unit offers no developer
    assert 'value="developer"' not in member.get(f"/console/votes/{vid}/paper/{_roster_unit(vid, comp.units[3])}").text
    r = _enter(member, vid, unit, {m4: "agree"}, shared_dir, signer={"signer_kind": "developer"})
    assert r.status_code == 201
    assert db.session.scalar(sa.select(PaperEntry.signer_kind).where(PaperEntry.vote_id == vid)) == "developer"


def test_entry_conflicting_with_the_heads_confirmed_entry_is_kept_as_contested_on_the_unit_page(app, comp, shared_dir):
    """A owns 1-101 and 1-102 (one head).  1-101's ballot (同意) is entered and confirmed; 1-102's,
    entered as 反对, is kept but contested (one owner, one will): the unit page says so, links to
    1-101's entry, and the vote page blocks publishing, naming both units by name."""
    from civic.voting.models import PaperEntry

    head, member = Console(app, comp.head.username), Console(app, comp.member.username)
    vid, (m4,) = _open_vote(head, comp)
    u1, u2 = _roster_unit(vid, comp.units[0]), _roster_unit(vid, comp.units[1])
    assert _enter(member, vid, u1, {m4: "agree"}, shared_dir).status_code == 201
    first = _entry_id(vid, u1)
    assert head.post(f"/console/votes/paper-entries/{first}/confirm").status_code == 303
    r = _enter(member, vid, u2, {m4: "oppose"}, shared_dir)
    assert r.status_code == 201
    msg = re.sub(r"<[^>]+>", "", r.text.split('id="contested"')[1].split("</div>")[0])
    assert f"同一业主名下 测试小区1号楼101室 的纸质选票（录入编号 {first}，已复核计入）所选不同" in msg
    assert "已复核的须由业主委员会主任在结果公布前撤回" in msg and "同意" not in msg  # never how the other voted
    link = re.search(r'<a id="other-entry" href="([^"]+)">([^<]+)</a>', r.text)
    assert link.group(1) == f"/console/votes/{vid}/paper/{u1}#entry-{first}"
    assert link.group(2) == f"测试小区1号楼101室（录入编号 {first}）"
    assert db.session.scalar(sa.select(sa.func.count(PaperEntry.id)).where(PaperEntry.vote_id == vid)) == 2
    page = head.get(f"/console/votes/{vid}").text
    conflicts = page.split('id="conflicts"')[1].split("</section>")[0]
    assert "测试小区1号楼101室（录入编号" in conflicts and "测试小区1号楼102室（录入编号" in conflicts
    assert comp.units[0].code not in conflicts


def test_committee_head_withdraws_a_confirmed_conflicting_entry_on_the_unit_page(app, comp, shared_dir):
    """The stuck vote: A's two confirmed entries disagree (one written before such entries were
    refused).  The vote page says publishing is blocked and what to do; a member sees no withdrawal
    form and is refused (409) if posting; the head's empty reason is refused by the form (422); the
    head withdraws it with a reason (audited), and the vote publishes counting A once."""
    from civic.core.audit import AuditEntry
    from civic.voting.models import Ballot, PaperEntry, Vote
    from tests.voting.helpers import legacy_paper_entry

    head, member = Console(app, comp.head.username), Console(app, comp.member.username)
    vid, (m4,) = _open_vote(head, comp)
    u1, u2 = _roster_unit(vid, comp.units[0]), _roster_unit(vid, comp.units[1])
    _enter(member, vid, u1, {m4: "agree"}, shared_dir)
    first = _entry_id(vid, u1)
    assert head.post(f"/console/votes/paper-entries/{first}/confirm").status_code == 303
    ballot = db.session.scalar(sa.select(Ballot).where(Ballot.vote_id == vid))
    wrong = legacy_paper_entry(vid, m4, u2, ballot.head_id, ballot.id, "oppose", comp.member.id, comp.head.id)
    assert head.post(f"/console/votes/{vid}/transitions/close").status_code == 303

    # the vote page: publishing is blocked, saying what to do and where
    page = head.get(f"/console/votes/{vid}").text
    assert re.search(r'id="do-publish" disabled', page)
    assert _text(page, "why-publish") == (
        "同一业主（测试小区1号楼101室、测试小区1号楼102室）的纸质选票所选不一致，该业主的选票存在争议，结果不能公布："
        "请与业主核实，撤回录入有误的一张（已复核的由业主委员会主任在结果公布前撤回），必要时重新录入并复核")
    conflicts = page.split('id="conflicts"')[1].split("</section>")[0]
    assert f'href="/console/votes/{vid}/paper/{u2}#entry-{wrong}"' in conflicts
    assert f'href="/console/votes/{vid}/paper/{u1}#entry-{first}"' in conflicts
    assert "由业主委员会主任撤回" in conflicts  # who withdraws what
    r = head.post(f"/console/votes/{vid}/transitions/publish")  # posted anyway: refused
    assert r.status_code == 409 and "撤回录入有误的一张" in _text(r.text, "error-message")

    # a member who is not the head: no form, and the service's 409 if posting anyway
    unit_page = member.get(f"/console/votes/{vid}/paper/{u2}").text
    assert f'id="entry-{wrong}"' in unit_page
    assert "撤回已计入的选票" not in unit_page and f'id="withdraw-{wrong}"' not in unit_page
    r = member.post(f"/console/votes/paper-entries/{wrong}/withdraw", {"reason": "录错", "back": str(u2)})
    assert r.status_code == 409
    assert _text(r.text, "error-message") == "该纸质选票已复核，只有业主委员会主任可在结果公布前撤回"
    assert "错误代码：paper_already_confirmed" in r.text

    # the head: the form on each confirmed entry; an empty (or blank) reason is refused by the form
    unit_page = head.get(f"/console/votes/{vid}/paper/{u2}").text
    form = unit_page.split(f'id="withdraw-{wrong}"')[1].split("</details>")[0]
    assert "<summary>撤回已计入的选票</summary>" in form
    assert f'action="/console/votes/paper-entries/{wrong}/withdraw"' in form
    assert re.search(r'<textarea id="withdraw-reason-\d+" name="reason" required', form)
    assert f'id="withdraw-{first}"' in unit_page  # 1-101's entry too: the head decides which is wrong
    for reason in ("", "   "):
        r = head.post(f"/console/votes/paper-entries/{wrong}/withdraw", {"reason": reason, "back": str(u2)})
        assert r.status_code == 422
        assert _text(r.text, f"withdraw-error-{wrong}") == "请填写撤回理由（记入记录）"
        assert re.search(rf'<details class="action" id="withdraw-{wrong}" open>', r.text)
        assert "纸质选票 · " in r.text  # the unit page, not a bare error page
    db.session.expire_all()
    assert db.session.get(PaperEntry, wrong).withdrawn_at is None

    reason = "与业主核实，本户选择同意，反对票录入有误"
    r = head.post(f"/console/votes/paper-entries/{wrong}/withdraw", {"reason": reason, "back": str(u2)})
    assert r.status_code == 303
    assert r.headers["Location"] == f"/console/votes/{vid}/paper/{u2}?done=withdrawn&entry={wrong}#entries"
    page = head.get(r.headers["Location"]).text
    assert _text(page, "done").startswith(f"已撤回 测试小区1号楼102室 的纸质选票（录入编号 {wrong}）：不再计入")
    row = page.split(f'id="entry-{wrong}"')[1].split("</tr>")[0]
    assert "已撤回" in row and reason in row and "撤回已计入的选票" not in row
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "paper_ballot.withdraw_confirmed"))
    assert (audit.actor_id, audit.note, audit.data["paper_entry_id"], audit.data["confirmed_by_id"]) == (
        comp.head.id, reason, wrong, comp.head.id)

    # nothing blocks publishing now; the head counts once, as agreeing
    page = head.get(f"/console/votes/{vid}").text
    assert 'id="conflicts"' not in page and 'id="why-publish"' not in page
    assert head.post(f"/console/votes/{vid}/transitions/publish").status_code == 303
    db.session.expire_all()
    vote = db.session.get(Vote, vid)
    assert vote.state == "published"
    m = vote.result["matters"][0]
    assert (m["participating_heads"], m["agreeing_heads"], m["participating_area"]) == (1, 1, "180.60")
    # once published, no confirmed entry can be withdrawn: no form
    assert "撤回已计入的选票" not in head.get(f"/console/votes/{vid}/paper/{u1}").text


# --- results -------------------------------------------------------------------------------------

def test_results_show_the_exact_fractions_of_the_service(app, comp, shared_dir):
    head, member = Console(app, comp.head.username), Console(app, comp.member.username)
    vid, (m4,) = _open_vote(head, comp)
    for unit, choice in ((comp.units[0], "agree"), (comp.units[2], "agree"), (comp.units[3], "oppose")):
        _enter(member, vid, _roster_unit(vid, unit), {m4: choice}, shared_dir)
    page = head.get(f"/console/votes/{vid}/confirm").text
    for entry_id in re.findall(r'id="confirm-(\d+)"', page):
        assert head.post(f"/console/votes/paper-entries/{entry_id}/confirm").status_code == 303
    head.post(f"/console/votes/{vid}/transitions/close")
    preview = head.get(f"/console/votes/{vid}/results").text
    assert "预览（尚未公布）" in preview
    head.post(f"/console/votes/{vid}/transitions/publish")
    page = head.get(f"/console/votes/{vid}/results").text
    # participants: A (1-101 + 1-102: 180.60), B+C (1-103: 120.00), D (2-101: 100.25) = 3 of 4 heads,
    # 400.85 of 535.85 m²; agreeing: A and B+C = 2 of 3 heads, 300.60 of 400.85 m²
    assert "400.85 m² / 535.85 m²（74.81%）" in page and "3 / 4 人（75.00%）" in page
    assert "300.60 m² / 400.85 m²（74.99%）" in page and "2 / 3 人（66.67%）" in page
    assert "/10717" not in page  # no fraction of hundredths of m²
    assert "已公布" in page and "<span class=\"badge ok\">通过</span>" in page
