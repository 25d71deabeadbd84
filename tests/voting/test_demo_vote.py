"""A full owners' vote on the demo compound 滨江花园 (C-BJHY), through the API: online, paper
(entered by oc_bj_shi, confirmed by oc_bj_zhang) and proxy ballots, published results, the record."""

from __future__ import annotations

import datetime as dt
import json
import logging

import sqlalchemy as sa

from civic.accounts.identity import issue_token
from civic.accounts.models import User
from civic.core.db import commit, utcnow
from civic.extensions import db
from civic.voting.models import Roster, RosterPerson, Vote

from .helpers import api, roster_unit_ids, scan, signer_fields, verify


def _token(username=None, phone=None) -> dict:
    user = db.session.scalar(sa.select(User).where(User.username == username if username else User.phone == phone))
    token, _ = issue_token(user)
    commit()
    return {"Authorization": f"Bearer {token}"}, user


def test_full_vote_on_demo_compound(client, caplog, shared_dir):
    from civic.demo import load_demo

    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    demo = load_demo()
    commit()
    rid = demo["voting"]["roster_id"]
    roster = db.session.get(Roster, rid)
    assert (roster.status, roster.version) == ("certified", 1)
    shi, _ = _token("oc_bj_shi")
    zhang, _ = _token("oc_bj_zhang")

    st, vote = api(client, "post", "/api/v1/votes", shi, json={"roster_id": rid, "title": "续聘物业及维修资金使用"})
    vid = vote["id"]
    m4 = api(client, "post", f"/api/v1/votes/{vid}/matters", shi, json={"number": 4, "title": "续聘世茂物业"})[1]["id"]
    m5 = api(client, "post", f"/api/v1/votes/{vid}/matters", shi, json={"number": 5, "title": "使用维修资金更换电梯"})[1]["id"]
    assert api(client, "post", f"/api/v1/votes/{vid}/transition", shi, json={"action": "announce"})[0] == 200
    db.session.get(Vote, vid).voting_opens_at = utcnow() - dt.timedelta(seconds=1)
    commit()
    st, body = api(client, "post", f"/api/v1/votes/{vid}/transition", shi, json={"action": "open"})
    assert (st, body["state"]) == (200, "open")

    # Online: 李四 (two units, one head).
    li_t, li = _token(phone="13900000002")
    verify(client, caplog, vid, li, li_t)
    st, li_ballot = api(client, "post", f"/api/v1/votes/{vid}/ballot", li_t, json={"choices": {str(m4): "agree", str(m5): "agree"}})
    assert st == 201
    # Refusals: the tenant 孙七, the buyer 郑十 of an undelivered unit, the co-owner 赵六 without proxy.
    sun_t, sun = _token(phone="13900000005")
    assert api(client, "post", f"/api/v1/votes/{vid}/verify", sun_t, json={"phone": sun.phone})[1]["error"]["code"] == "roster_phone_unknown"
    zheng_t, zheng = _token(phone="13900000008")
    verify(client, caplog, vid, zheng, zheng_t)
    st, body = api(client, "post", f"/api/v1/votes/{vid}/ballot", zheng_t, json={"choices": {str(m4): "agree", str(m5): "agree"}})
    assert (st, body["error"]["code"]) == (403, "ballot_not_owner")
    zhao_t, zhao = _token(phone="13900000004")
    verify(client, caplog, vid, zhao, zhao_t)
    st, body = api(client, "post", f"/api/v1/votes/{vid}/ballot", zhao_t, json={"choices": {str(m4): "oppose", str(m5): "agree"}})
    assert (st, body["error"]["code"]) == (403, "ballot_not_representative")
    # Proxy: 张三 authorises a neighbour in writing; the committee registers it with the scan.
    zhang_san = db.session.scalar(sa.select(RosterPerson).where(RosterPerson.roster_id == rid,
                                                                RosterPerson.phone == "13900000001"))
    neighbour_t, _ = _token(phone="13900000020")
    st, proxy = api(client, "post", f"/api/v1/votes/{vid}/proxies", shi,
                    data={"principal_person_id": str(zhang_san.id), "holder_name": "邻居", "holder_phone": "13900000020",
                          "scan": scan(shared_dir)}, content_type="multipart/form-data")
    assert st == 201, proxy
    st, pb = api(client, "post", f"/api/v1/votes/{vid}/ballot", neighbour_t, json={"choices": {str(m4): "oppose", str(m5): "abstain"}})
    assert (st, pb["kind"]) == (201, "proxy")
    # Paper: 800 owners return paper ballots, entered by 施主任 and confirmed by 张委员.
    units = roster_unit_ids(vid)
    codes = [f"C-BJHY-{b}-{fl}{u:02d}" for b in range(1, 9) for fl in range(1, 26) for u in range(1, 5)][:800]
    codes = [c for c in codes if c not in ("C-BJHY-1-101", "C-BJHY-1-102", "C-BJHY-1-103", "C-BJHY-1-104",
                                            "C-BJHY-1-201")]
    paper_ids = []
    for i, code in enumerate(codes[:3]):
        st, e = api(client, "post", f"/api/v1/votes/{vid}/paper-ballots", shi,
                    data={"roster_unit_id": str(units[code]), "choices": json.dumps({str(m4): "agree", str(m5): "agree" if i else "oppose"}),
                          "scan": scan(shared_dir), **signer_fields(vid, units[code])}, content_type="multipart/form-data")
        assert st == 201, e
        paper_ids.append(e["id"])
    for pid in paper_ids:
        assert api(client, "post", f"/api/v1/paper-ballots/{pid}/confirm", zhang)[0] == 200
    st, turnout = api(client, "get", f"/api/v1/votes/{vid}/turnout", zhang)
    assert (turnout["voted"], sorted({i["channel"] for i in turnout["items"] if i["voted"]})) == (5, ["online", "paper", "proxy"])

    for action in ("close", "publish"):
        st, body = api(client, "post", f"/api/v1/votes/{vid}/transition", shi, json={"action": action})
        assert st == 200, body
    st, res = api(client, "get", f"/api/v1/votes/{vid}/results", li_t)
    assert st == 200
    # 1,200 units: the 30 developer-held units are one head, 李四's two units one head, 1,168 others.
    assert (res["total_units"], res["total_heads"]) == (1200, 1170)
    r4 = res["matters"][0]
    assert (r4["participating_heads"], r4["agreeing_heads"], r4["passed"]) == (5, 4, False)
    assert r4["fractions"]["participation_heads"] == "1/234"
    assert len(res["buildings"]) == 12
    st, mine = api(client, "get", f"/api/v1/votes/{vid}/ballot", li_t)
    assert [c["choice"] for c in mine["items"][0]["choices"]] == ["agree", "agree"]
    st, rec = api(client, "get", f"/api/v1/receipts/{li_ballot['receipt_code']}", li_t)
    assert rec["kind"] == "online" and rec["counted"]
    st, record = api(client, "get", f"/api/v1/votes/{vid}/record", shi)
    assert st == 200
    paper = [i for i in record["items"] if i["kind"] == "paper"]
    assert {(i["entered_by"], i["confirmed_by"]) for i in paper} == {("施主任", "张委员")}
    assert sorted(i["kind"] for i in record["items"]) == ["online", "paper", "paper", "paper", "proxy"]
