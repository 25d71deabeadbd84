"""内容审核 pages through the Flask test client, on the demo street: 滨江社区居委会 (O-RC-BJ) with 陈书记
(rc_bj_chen, head) and 周社工 (rc_bj_zhou, moderator); its contest has 张三's approved idea and 李四's
pending one."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from civic.core.db import commit
from civic.extensions import db
from tests.console.helpers import console_login

PASSWORD = "civic-demo-2026"
PENDING_TITLE = "垃圾房周边种植爬藤遮挡"
APPROVED_TITLE = "3号楼前空地改造口袋花园"


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def demo(demo):
    """The two ideas of the demo street's contest (on tests/console/conftest.py's street)."""
    from civic.proposals.contests.models import Idea

    ideas = {i.title: i.id for i in db.session.scalars(sa.select(Idea))}
    return {"pending": ideas[PENDING_TITLE], "approved": ideas[APPROVED_TITLE]}


def _staff(username: str):
    from civic.accounts.models import User

    return db.session.scalar(sa.select(User).where(User.username == username))


def _resident(key: str):
    from civic.accounts.models import User

    return db.session.scalar(sa.select(User).where(User.wechat_openid == f"dev-{key}"))


def login(app, username):
    c = app.test_client()
    r, tok = console_login(c, username, PASSWORD)
    assert r.status_code == 303, r.text
    return c, tok


def _rows(html: str) -> list[str]:
    body = re.search(r'<table id="moderation-queue">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in re.findall(r"<tr.*?</tr>", body, re.S)]


def _counts(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-reason="(\w+)"[^>]*>[^<]*<strong>(\d+)</strong>', html))


def test_moderator_sees_the_pending_idea_in_the_queue(app, demo):
    c, _ = login(app, "rc_bj_zhou")
    home = c.get("/console/").text
    nav = re.search(r'<nav aria-label="主导航">(.*?)</nav>', home, re.S).group(1)
    assert "内容审核" in nav
    page = c.get("/console/moderation").text
    assert "内容审核 · 滨江社区居民委员会" in page
    assert _rows(page) == [f"金点子 #{demo['pending']} 金点子 {PENDING_TITLE} "
                           "垃圾房外墙种植爬山虎或凌霄，既美化环境又减少异味扩散，建议物业负责日常修剪。 居民 李* 0 待审核 待审核 "
                           + re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", _rows(page)[0]).group(0)]
    assert _counts(page) == {"pending": "1", "reported": "0", "appealed": "0"}
    assert "李四" not in page and "13900000002" not in page  # masked, as PIPL asks


def test_filters_by_kind_and_reason(app, demo):
    from civic.proposals import moderation
    from civic.proposals.deliberation import service as deliberation
    from civic.proposals.deliberation.models import Topic

    # Three reports hide 张三's idea; 周社工 hides 张三's comment on the lane topic, and he appeals.
    for key in ("li_si", "wang_wu", "zhao_liu"):
        moderation.report(_resident(key), "idea", demo["approved"], "重复发布")
    topic = db.session.scalar(sa.select(Topic))
    comment = deliberation.comments(_staff("rc_bj_zhou"), topic.id)[0]
    moderation.decide(_staff("rc_bj_zhou"), "topic_comment", comment.id, "hide", "含有未经核实的收费信息")
    moderation.appeal(_resident("zhang_san"), "topic_comment", comment.id, "只是建议，没有收费")
    commit()
    c, _ = login(app, "rc_bj_zhou")
    page = c.get("/console/moderation").text
    assert _counts(page) == {"pending": "1", "reported": "1", "appealed": "1"}
    assert [r.split(" ")[0:2] for r in _rows(page)] == [
        ["金点子", f"#{demo['approved']}"], ["金点子", f"#{demo['pending']}"], ["议题评论", f"#{comment.id}"]]
    reported = _rows(c.get("/console/moderation?reason=reported").text)
    assert len(reported) == 1 and APPROVED_TITLE in reported[0] and " 3 已隐藏 因举报隐藏 " in reported[0]
    appealed = _rows(c.get("/console/moderation?reason=appealed").text)
    assert len(appealed) == 1 and "支持。建议充电点装刷卡计费和自动断电。 居民 张* 0 已隐藏 已申诉" in appealed[0]
    only_comments = c.get("/console/moderation?type=topic_comment").text
    assert len(_rows(only_comments)) == 1 and _counts(only_comments) == {"pending": "0", "reported": "0", "appealed": "1"}
    r = c.get("/console/moderation?reason=old")
    assert r.status_code == 422 and "未知的待办类型" in r.text


def test_queue_pages_through_the_cursor(app, demo):
    from civic.proposals import moderation

    for key in ("li_si", "wang_wu", "zhao_liu"):
        moderation.report(_resident(key), "idea", demo["approved"], "重复发布")
    commit()
    c, _ = login(app, "rc_bj_zhou")
    first = c.get("/console/moderation?limit=1").text
    assert len(_rows(first)) == 1 and APPROVED_TITLE in _rows(first)[0]
    nxt = re.search(r'href="([^"]*cursor=[^"]+)"[^>]*>下一页', first).group(1).replace("&amp;", "&")
    second = c.get(nxt).text
    assert len(_rows(second)) == 1 and PENDING_TITLE in _rows(second)[0] and "下一页" not in second


def test_property_company_and_other_committees_are_refused(app, demo):
    c, _ = login(app, "pc_sm_he")
    nav = re.search(r'<nav aria-label="主导航">(.*?)</nav>', c.get("/console/").text, re.S).group(1)
    assert "内容审核" not in nav
    for url in ("/console/moderation", f"/console/moderation/idea/{demo['pending']}"):
        r = c.get(url)
        assert r.status_code == 403 and "您所在的组织无权使用该页面" in r.text
    other, _ = login(app, "rc_kc_wu")  # head of 康城社区居委会: moderates its own content only
    # A pending idea is not shown to anyone but its author and its moderators: to a moderator of
    # another organisation it does not exist (issue #15: a GET by id answers as its list does).
    r = other.get(f"/console/moderation/idea/{demo['pending']}")
    assert r.status_code == 404 and "找不到该内容" in r.text
    r = other.get(f"/console/moderation/idea/{demo['approved']}")
    assert r.status_code == 403 and "您不是该内容的审核人员" in r.text
    assert _rows(other.get("/console/moderation").text) == ["没有等待审核的内容。"]


def test_admin_sees_every_organisation(app, demo):
    from civic.demo import ADMIN_PASSWORD

    c = app.test_client()
    tok = _token(c.get("/console/login").text)
    c.post("/console/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": tok})
    rows = _rows(c.get("/console/moderation").text)
    assert len(rows) == 1 and rows[0].endswith("滨江社区居民委员会")


def test_item_page_offers_the_transitions_and_every_form_has_csrf(app, demo):
    c, tok = login(app, "rc_bj_zhou")
    url = f"/console/moderation/idea/{demo['pending']}"
    page = c.get(url).text
    assert 'id="do-approve"' in page and 'id="act-hide"' in page and 'id="act-reject"' in page
    forms = re.findall(r"<form.*?</form>", page, re.S)
    assert len(forms) == 4 and all('name="csrf_token"' in f for f in forms)  # logout + three decisions
    assert "居民 李*" in page and "第 1 版" in page and "尚未处理。" in page
    r = c.post(f"{url}/decisions", data={"action": "approve", "csrf_token": tok})
    assert r.status_code == 303 and r.headers["Location"] == url
    page = c.get(url).text
    assert re.search(r'id="item-state">已通过<', page)
    assert 'id="do-approve"' not in page and 'id="act-hide"' in page and 'id="act-reject"' in page
    assert re.search(r"<strong>通过</strong>（待审核 → 已通过）\s*· 周社工（您）", page)
    r = c.post(f"{url}/decisions", data={"action": "approve"})
    assert r.status_code == 400 and "页面已过期" in r.text  # no CSRF token, no change


def test_hide_without_a_reason_is_a_422_page(app, demo):
    from civic.proposals import moderation

    c, tok = login(app, "rc_bj_zhou")
    url = f"/console/moderation/idea/{demo['approved']}"
    r = c.post(f"{url}/decisions", data={"action": "hide", "reason": "  ", "csrf_token": tok})
    assert r.status_code == 422 and r.mimetype == "text/html"
    assert "请填写内容" in r.text and "text_required" in r.text
    db.session.expire_all()
    assert moderation.state_of("idea", demo["approved"]).state == "approved"


def test_the_appeal_goes_to_the_other_moderator(app, demo):
    from civic.proposals import moderation

    zhou, ztok = login(app, "rc_bj_zhou")
    url = f"/console/moderation/idea/{demo['approved']}"
    r = zhou.post(f"{url}/decisions", data={"action": "hide", "reason": "含有商家联系方式", "csrf_token": ztok})
    assert r.status_code == 303
    moderation.appeal(_resident("zhang_san"), "idea", demo["approved"], "没有商家信息，请复核")
    commit()
    page = zhou.get(url).text
    assert "申诉须由作出原决定以外的审核人员处理" in page and 'id="appeal-form"' not in page
    assert "没有商家信息，请复核" in page and 'id="item-reason">含有商家联系方式<' in page
    assert 'id="appeal-pending-note"' in page and 'id="act-hide"' not in page  # the appeal comes first
    r = zhou.post(f"{url}/appeal", data={"outcome": "overturned", "csrf_token": ztok})
    assert r.status_code == 403 and "申诉须由作出原决定以外的审核人员处理" in r.text  # the service agrees

    chen, ctok = login(app, "rc_bj_chen")
    page = chen.get(url).text
    assert 'id="appeal-form"' in page and 'id="same-moderator"' not in page
    r = chen.post(f"{url}/appeal", data={"outcome": "overturned", "note": "核实无联系方式", "csrf_token": ctok})
    assert r.status_code == 303
    page = chen.get(url).text
    assert re.search(r'id="item-state">已通过<', page) and "申诉成立，恢复显示" in page and "核实无联系方式" in page
    assert 'id="appeal-form"' not in page


def test_own_content_offers_no_action(app, demo):
    from civic.proposals.contests import service

    cm = service.add_comment(_staff("rc_bj_chen"), demo["approved"], "居委会将联系物业评估可行性")
    commit()
    chen, _ = login(app, "rc_bj_chen")
    page = chen.get(f"/console/moderation/comment/{cm.id}").text
    assert "这是您本人发布的内容" in page and "/decisions" not in page
    zhou, _ = login(app, "rc_bj_zhou")
    page = zhou.get(f"/console/moderation/comment/{cm.id}").text
    assert 'id="act-hide"' in page and "陈书记" in page


def test_moderation_kinds_are_the_organisers_and_conveners():
    from civic.console.blueprint import MODERATION_KINDS
    from civic.proposals.contests.service import ORGANISER_KINDS
    from civic.proposals.deliberation.service import CONVENER_KINDS

    assert set(MODERATION_KINDS) == set(ORGANISER_KINDS) | set(CONVENER_KINDS)
