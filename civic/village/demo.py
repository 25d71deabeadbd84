"""Demo 村务公开 for 新丰村 (V-XF): a year of monthly finance and quarterly affairs disclosures,
one correction and one answered inquiry, all made through the service functions (so the state
machine, the sign-off by 村务监督委员会 and the audit log are exercised as in real use)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from civic.accounts.models import User
from civic.accounts.service import create_resident
from civic.extensions import db
from civic.property import service as registry
from civic.village import service

INCOME = [("上级补助收入", "镇财政所", "村级组织运转经费补助"), ("发包及上交收入", "新丰农业合作社", "土地发包收入"),
          ("上级补助收入", "区农业农村委", "耕地地力保护补贴资金"), ("投资收益", "新丰物业管理公司", "集体资产租金")]
EXPENSE = [("管理费用", "村干部", "村干部基本报酬"), ("公益支出", "浦东路桥建设公司", "村内道路硬化工程款"),
           ("公益支出", "新丰保洁队", "河道保洁费用"), ("其他支出", "新丰村老年协会", "重阳节慰问老人"),
           ("管理费用", "新丰文印店", "办公用品及打印费")]


def _months(first: dt.date, n: int) -> list[str]:
    y, m, out = first.year, first.month, []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _finance_lines(period: str, rnd: random.Random) -> list[dict]:
    y, m = int(period[:4]), int(period[5:])
    lines = []
    for i, (account, party, desc) in enumerate(INCOME[: 2 + rnd.randrange(3)]):
        lines.append({"kind": "income", "date": dt.date(y, m, 3 + i), "account": account, "counterparty": party,
                      "description": desc, "amount_fen": rnd.randrange(20_000, 300_000) * 100})
    for i, (account, party, desc) in enumerate(EXPENSE[: 3 + rnd.randrange(3)]):
        lines.append({"kind": "expense", "date": dt.date(y, m, 10 + i), "account": account, "counterparty": party,
                      "description": desc, "amount_fen": rnd.randrange(5_000, 150_000) * 100 + rnd.randrange(100)})
    return lines


def _publish(d, committee, supervisor) -> None:
    service.transition(d, "submit", committee)
    service.transition(d, "sign_off", supervisor, note="经核对，与账目一致")
    service.transition(d, "publish", committee)


def load_demo_village(today: dt.date | None = None) -> dict:
    """新丰村: the twelve months before ``today``'s month of finance (monthly: the village has many
    transactions), four quarters of affairs, a correction of one month and an answered inquiry."""
    village = service.village_by_code("V-XF")
    committee = db.session.scalar(sa.select(User).where(User.username == "vc_xf_hua"))
    supervisor = db.session.scalar(sa.select(User).where(User.username == "vs_xf_jin"))
    today = today or service.today_shanghai()
    first = dt.date(today.year - 1, today.month, 1)
    prof = service.ensure_village(village, tracking_since=first)
    prof.many_transactions = True
    rnd = random.Random(30)
    balance = 128_000_000  # 分: 1,280,000.00 元 brought forward
    published = {}
    for period in _months(first, 12):
        lines = _finance_lines(period, rnd)
        closing = balance + sum(x["amount_fen"] if x["kind"] == "income" else -x["amount_fen"] for x in lines)
        d = service.create_disclosure(village, {
            "item_code": "finance.accounts", "period": period, "title": f"新丰村{period[:4]}年{int(period[5:])}月财务收支公开",
            "body": "本月收支明细如下，凭证存村委会备查，村民可查阅。", "opening_balance": balance,
            "closing_balance": closing, "lines": lines}, committee)
        _publish(d, committee, supervisor)
        published[period] = d
        balance = closing
    quarters = sorted({f"{p[:4]}-Q{(int(p[5:]) - 1) // 3 + 1}" for p in _months(first, 12)})
    for q in quarters[:-1] if len(quarters) > 4 else quarters:
        d = service.create_disclosure(village, {
            "item_code": "affairs.decisions", "period": q, "title": f"{q} 村民代表会议决定事项及实施情况",
            "body": "村民代表会议讨论通过村内道路硬化工程实施方案，已完成招标并开工。\n河道整治项目按计划推进。"}, committee)
        _publish(d, committee, supervisor)

    # A correction: one month's road works payment was keyed wrongly.
    month = _months(first, 12)[4]
    old = published[month]
    lines = [{"kind": ln.kind, "date": ln.date, "account": ln.account, "description": ln.description,
              "counterparty": ln.counterparty, "amount_fen": ln.amount} for ln in old.lines]
    road = next(x for x in lines if "道路" in x["description"])
    diff = 1_250_000 - road["amount_fen"]
    road["amount_fen"] = 1_250_000
    fixed = service.create_correction(old, {"reason": "道路硬化工程款录入错误，应为 12,500.00 元（依据付款凭证）",
                                            "lines": lines, "closing_balance": old.closing_balance - diff}, committee)
    _publish(fixed, committee, supervisor)

    # A subsidy disclosure with a voucher photo (through the photo pipeline) on its payment line.
    photo = Path(current_app.root_path).parent.parent / "shared" / "photos" / "ianare_landscape_2.jpg"
    if photo.exists():
        from civic.core.storage import media_store

        draft = service.create_disclosure(village, {
            "item_code": "finance.subsidies", "period": quarters[-1] if len(quarters) <= 4 else quarters[-2],
            "title": "耕地地力保护补贴发放情况", "body": "补贴资金已全部打卡发放到户。", "opening_balance": 0,
            "closing_balance": 0, "lines": [
                {"kind": "income", "date": first + dt.timedelta(days=300), "account": "上级补助收入",
                 "description": "耕地地力保护补贴资金", "counterparty": "区农业农村委", "amount_fen": 8_640_000},
                {"kind": "expense", "date": first + dt.timedelta(days=305), "account": "补贴发放",
                 "description": "耕地地力保护补贴发放到户（216户）", "counterparty": "农户", "amount_fen": 8_640_000}]},
            committee)
        service.add_vouchers(draft, draft.lines[1].id, [(photo.name, photo.read_bytes())], committee,
                             media_store())
        _publish(draft, committee, supervisor)

    # The villager who asks lives in the village: the registry ties them to a house of a villagers'
    # group (only villagers may ask, see service.ask).
    villager = db.session.scalar(sa.select(User).where(User.phone == "13900009901"))
    if villager is None:
        villager = create_resident(display_name="新丰村民", phone="13900009901", openid="dev-xf_villager")
        group = registry.create_place(kind="compound", code="V-XF-G3", name="新丰村第三村民小组", parent=village)
        house = registry.create_place(kind="building", code="V-XF-G3-128", name="新丰村128号", parent=group)
        home = registry.create_place(kind="unit", code="V-XF-G3-128-1", name="新丰村128号", parent=house,
                                     area=Decimal("186.00"), area_source="survey")
        registry.link_resident(villager, home, "owner", representative=True)
    asked = published[_months(first, 12)[6]]
    inq = service.ask(asked, "道路硬化工程款支付给了哪家单位？工程什么时候完工？", villager)
    service.answer(inq.id, "工程款支付给浦东路桥建设公司，工程已于本月底完工，经村民代表验收合格。", committee)
    return {"village": village.code, "disclosures": len(published) + len(quarters), "correction": fixed.id,
            "inquiry": inq.id, "inquiry_disclosure": asked.id,
            "villager_phone": "13900009901"}
