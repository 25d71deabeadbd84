"""Demo data: the 滨江社区 residents' committee's 金点子 contest "绿化提升金点子" for 滨江花园.

The contest is in its submission phase from the moment the demo loads (phases follow each other a
fortnight apart), with two ideas from demo residents: one approved by the moderator 周社工
(rc_bj_zhou), one waiting in the queue.  陈书记 (rc_bj_chen) is the organiser; 严楼组长 (rr_bj_yan,
staff) and 孙七 (sun_qi, a tenant of 滨江花园) are jurors.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.models import User
from civic.core.db import utcnow
from civic.extensions import db
from civic.property import service as registry
from civic.proposals import moderation
from civic.proposals.contests import service
from civic.proposals.contests.phases import PHASES

THEME = "绿化提升金点子"


def _user(username: str | None = None, openid: str | None = None) -> User:
    col, value = (User.username, username) if username else (User.wechat_openid, openid)
    return db.session.scalar(sa.select(User).where(col == value))


def load_demo_contests(now: dt.datetime | None = None) -> dict:
    """Create the demo contest and its first ideas.  Returns ``{"contest_id", "idea_ids"}``."""
    now = now or utcnow()
    org = registry.organisation_by_code("O-RC-BJ")
    place = registry.place_by_code("C-BJHY")
    chen, zhou = _user("rc_bj_chen"), _user("rc_bj_zhou")
    start = now - dt.timedelta(days=1)
    phases = {}
    for i, name in enumerate(PHASES):
        phases[name] = {"starts_at": start + dt.timedelta(days=14 * i),
                        "ends_at": None if name == "implementation" else start + dt.timedelta(days=14 * (i + 1))}
    contest = service.create_contest(chen, {
        "organisation_id": org.id, "theme": THEME,
        "description": "征集滨江花园绿化提升的好点子：口袋花园、屋顶绿化、垃圾房美化……",
        "categories": ["绿化", "休憩设施", "环境卫生"], "place_ids": [place.id], "phases": phases,
        "criteria": [{"name": "创新性", "weight": 25}, {"name": "可行性", "weight": 30},
                     {"name": "受益面", "weight": 30}, {"name": "成本", "weight": 15}],
        "report_threshold": 3, "support_cap": 5, "support_weight": 40, "jury_weight": 60,
    })
    service.appoint_juror(chen, contest.id, _user("rr_bj_yan").id)
    service.appoint_juror(chen, contest.id, _user(openid="dev-sun_qi").id)
    a = service.submit_idea(_user(openid="dev-zhang_san"), contest.id, {
        "title": "3号楼前空地改造口袋花园", "category": "绿化",
        "text": "3号楼前的空地长期堆放杂物，建议改造为口袋花园，种植月季和绣球，设置两张长椅，由楼组志愿者认养维护。"})
    b = service.submit_idea(_user(openid="dev-li_si"), contest.id, {
        "title": "垃圾房周边种植爬藤遮挡", "category": "环境卫生",
        "text": "垃圾房外墙种植爬山虎或凌霄，既美化环境又减少异味扩散，建议物业负责日常修剪。"})
    moderation.decide(zhou, "idea", a.id, "approve")
    db.session.flush()
    return {"contest_id": contest.id, "idea_ids": [a.id, b.id]}
