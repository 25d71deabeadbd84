"""A street with one village, its two committees, the town's street centre, staff, a villager (a
registry tie to a house in the village) and an outsider (a resident of a compound in the street)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from werkzeug.security import generate_password_hash

_HASH = generate_password_hash("test-pass-123", method="pbkdf2:sha256:1000")  # one cheap hash for all


@pytest.fixture
def vil(factory):
    from civic.accounts.service import create_staff
    from civic.property import service as reg
    from civic.village import service

    d = reg.create_place(kind="district", code="D-T", name="测试区")
    s = reg.create_place(kind="street", code="S-T", name="测试镇", parent=d)
    v = reg.create_place(kind="village", code="V-T", name="测试村", parent=s)
    factory.commit()
    vc = factory.org("village_committee", [v], "测试村村民委员会")
    vs = factory.org("village_supervision", [v], "测试村村务监督委员会")
    sc = factory.org("street_centre", [s], "测试镇网格化综合管理中心")
    hua, jin, wang = (create_staff(username=f"u{org.id}", password_hash=_HASH, display_name="测试员",
                                   memberships=[(org, "head")]) for org in (vc, vs, sc))
    group = reg.create_place(kind="compound", code="V-T-G1", name="测试村第一村民小组", parent=v)
    house = reg.create_place(kind="building", code="V-T-G1-12", name="12号", parent=group)
    home = reg.create_place(kind="unit", code="V-T-G1-12-1", name="12号", parent=house,
                            area=Decimal("180.00"), area_source="registry")
    cm = reg.create_place(kind="community", code="CM-T", name="测试社区", parent=s)
    compound = reg.create_place(kind="compound", code="C-T", name="测试花园", parent=cm)
    flat = reg.create_place(kind="unit", code="C-T-1-101", name="1号楼101室",
                            parent=reg.create_place(kind="building", code="C-T-1", name="1号楼", parent=compound),
                            area=Decimal("88.50"), area_source="registry")
    factory.commit()
    villager = factory.resident(phone="13912345678", units=[home])
    outsider = factory.resident(phone="13912340000", units=[flat])
    service.ensure_village(v, tracking_since=dt.date(2026, 1, 1)).many_transactions = True
    factory.commit()
    return {"village": v, "street": s, "vc": vc, "vs": vs, "sc": sc, "hua": hua, "jin": jin, "wang": wang,
            "villager": villager, "home": home, "outsider": outsider, "h_outsider": factory.token(outsider),
            "h_hua": factory.token(hua), "h_jin": factory.token(jin),
            "h_wang": factory.token(wang), "h_villager": factory.token(villager)}


def finance_body(period="2026-03", closing="10,350.25"):
    return {"item_code": "finance.accounts", "period": period, "title": "2026年一季度财务收支公开",
            "opening_balance": "10,000.00", "closing_balance": closing,
            "lines": [
                {"kind": "income", "date": "2026-03-02", "account": "上级补助收入", "description": "村级组织运转经费",
                 "counterparty": "镇财政所", "amount_yuan": "1,234.56"},
                {"kind": "expense", "date": "2026-03-05", "account": "公益支出", "description": "村内道路修补",
                 "counterparty": "路桥公司", "amount_fen": 80000},
                {"kind": "expense", "date": "2026-03-09", "account": "管理费用", "description": "办公用品",
                 "counterparty": "文印店", "amount_yuan": "84.31"},
            ]}


@pytest.fixture
def publish(client, vil):
    """Draft, submit, sign off and publish a disclosure through the API; returns its JSON."""

    def go(body=None, **kw):
        r = client.post("/api/v1/villages/V-T/disclosures", json=body or finance_body(**kw), headers=vil["h_hua"])
        assert r.status_code == 201, r.json
        did = r.json["id"]
        for action, h in (("submit", "h_hua"), ("sign_off", "h_jin"), ("publish", "h_hua")):
            r = client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": action},
                            headers=vil[h])
            assert r.status_code == 200, r.json
        return r.json

    return go
