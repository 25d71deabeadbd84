"""Demo data: the 滨江路18弄 lane committee (弄管会), convened by the 滨江社区 residents' committee.

A topic raised by 赵六 (zhao_liu, not a member) reaches the agenda with three co-signatures from
滨江花园 owners; at a meeting held three days ago all six members attend (five marked by the
secretary, one by check-in code), the first motion (residents pay) fails at exactly half, the second
(the property company builds it from the street's fund) passes; the resolution's action item is
carried out by 世茂物业 with a progress photo and closing evidence.  Afterwards the committee adopts rule-set
version 2 (at least half suffices), which leaves the first motion failed.

Members: 张三 chair, 李四 secretary, 王五, 孙七 (for the shops), 孙经理 (pc_sm_sun, property company),
王主任 (sc_wang, street office).
"""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa
from PIL import Image

from civic.accounts.models import User
from civic.core.db import to_shanghai, utcnow
from civic.extensions import db
from civic.property import service as registry
from civic.proposals.deliberation import service as svc


def _user(username: str | None = None, key: str | None = None) -> User:
    col, value = (User.username, username) if username else (User.wechat_openid, f"dev-{key}")
    return db.session.scalar(sa.select(User).where(col == value))


def _photo(colour: tuple[int, int, int]) -> tuple[str, bytes]:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buf, "JPEG", quality=85)
    return "demo.jpg", buf.getvalue()


def load_demo_deliberation(now: dt.datetime | None = None) -> dict:
    """Create the lane committee and run its first topic to an action item carried out.  Returns
    ``{"committee_id", "topic_id", "motion_ids", "action_item_id"}``."""
    now = now or utcnow()
    chen = _user("rc_bj_chen")
    lane = registry.place_by_code("L-BJ-18")
    rc = registry.organisation_by_code("O-RC-BJ")
    pc = registry.organisation_by_code("O-PC-SM")
    c = svc.create_committee(chen, {"kind": "lane_committee", "name": "滨江路18弄弄管会", "place_id": lane.id,
                                    "organisation_id": rc.id,
                                    "rules": {"cosign_required": 3, "cosign_days": 14, "notice_days": 3,
                                              "publish_days": 30}})
    start = to_shanghai(now).date() - dt.timedelta(days=100)
    plan = [(_user(key="zhang_san"), "chair", "residents"), (_user(key="li_si"), "secretary", "residents"),
            (_user(key="wang_wu"), "member", "residents"), (_user(key="sun_qi"), "member", "shops"),
            (_user("pc_sm_sun"), "member", "property_company"), (_user("sc_wang"), "member", "street_office")]
    for user, role, group in plan:
        svc.add_member(chen, c.id, {"user_id": user.id, "role": role, "speaks_for": group, "term_start": start})
    members = [u for u, _r, _g in plan]
    chair, secretary = members[0], members[1]

    topic = svc.raise_topic(_user(key="zhao_liu"), c.id, {
        "title": "弄堂口增设电动自行车集中充电点",
        "text": "弄堂里电动自行车飞线充电、楼道停放，存在火灾隐患。建议在弄堂口空地增设集中充电点。"},
        now=now - dt.timedelta(days=20))
    owners = db.session.scalars(sa.select(User).where(User.display_name.in_(["业主0009", "业主0010", "业主0011"]))
                                .order_by(User.id)).all()
    for o in owners:
        svc.cosign(o, topic.id, now=now - dt.timedelta(days=17))
    svc.add_comment(_user(key="zhang_san"), topic.id, "支持。建议充电点装刷卡计费和自动断电。")

    meeting = svc.convene(secretary, c.id, {
        "title": "滨江路18弄弄管会第一次会议", "location": "滨江社区睦邻点", "topic_ids": [topic.id],
        "starts_at": now - dt.timedelta(days=3)}, now=now - dt.timedelta(days=16))
    # (13 days between notice and meeting: the 3-day notice is over even when its last day falls
    # in the Spring Festival and the period runs on past it, Civil Code Art. 203.)
    for u in members[:5]:
        svc.mark_attendance(secretary, meeting.id, u.id)
    svc.check_in(members[5], meeting.id, meeting.checkin_code)

    first = svc.open_motion(secretary, meeting.id, topic.id, "由本弄居民集资建设集中充电点")
    for u, choice in zip(members, ["agree", "agree", "agree", "oppose", "oppose", "oppose"], strict=True):
        svc.cast(u, first.id, choice)
    svc.close_motion(secretary, first.id, now=now - dt.timedelta(days=3))
    second = svc.open_motion(secretary, meeting.id, topic.id,
                             "请世茂物业在弄堂口建设集中充电点，费用由街道社区微更新专项资金承担")
    for u, choice in zip(members, ["agree", "agree", "agree", "agree", "agree", "oppose"], strict=True):
        svc.cast(u, second.id, choice)
    svc.close_motion(secretary, second.id, now=now - dt.timedelta(days=3))
    svc.record_minutes(secretary, meeting.id, "应到6人，实到6人。动议一 3:3 未过半数，未通过；动议二 5:1 通过。")

    res = svc.resolution_of(second.id)
    item = svc.add_action_item(chair, res.id, {"title": "弄堂口建成8个充电位的集中充电点", "organisation_id": pc.id,
                                                "due_on": to_shanghai(now).date() + dt.timedelta(days=30)})
    pc_sun = _user("pc_sm_sun")
    svc.update_action_item(pc_sun, item.id, "已完成选址和电力报装", [_photo((90, 120, 90))])
    svc.close_action_item(pc_sun, item.id, "8个充电位已安装通电，启用刷卡计费", [_photo((60, 90, 160))])
    svc.close_topic(chair, topic.id, "决议已落实")
    svc.add_rule_set(chen, c.id, {"majority_strict": False})
    db.session.flush()
    return {"committee_id": c.id, "topic_id": topic.id, "motion_ids": [first.id, second.id], "action_item_id": item.id}
