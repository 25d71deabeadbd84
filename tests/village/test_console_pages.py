"""村务公开 in the console on the demo village (Flask test client): a finance draft with no balances
cannot be submitted, a return needs a reason, a signed-off disclosure can be returned by the
supervision committee.  Demo accounts: vc_xf_hua (village committee), vs_xf_jin (supervision)."""

from __future__ import annotations

import html
import re

import pytest

from civic.extensions import db
from tests.console.helpers import Console

PASSWORD = "civic-demo-2026"


def _text(page: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert m, f"#{element_id} not on the page"
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()


@pytest.fixture
def demo(app):
    from civic.core.db import commit
    from civic.demo import load_demo

    load_demo()
    commit()


def _status(did: int) -> str:
    from civic.village.models import Disclosure

    db.session.expire_all()
    return db.session.get(Disclosure, did).status


def _draft_subsidies(hua, **balances) -> int:
    r = hua.post("/console/village/V-XF/new", {"item_code": "finance.subsidies", "period": "2026-Q4",
                                                "title": "2026年四季度补贴资金管理使用情况", "body": "", **balances})
    assert r.status_code == 303, r.text
    return int(re.search(r"/village/disclosures/(\d+)$", r.headers["Location"]).group(1))


def test_finance_draft_without_balances_cannot_be_submitted(app, demo):
    hua = Console(app, "vc_xf_hua", PASSWORD)
    did = _draft_subsidies(hua, opening_balance="", closing_balance="")
    r = hua.post(f"/console/village/disclosures/{did}/transitions/submit")
    assert r.status_code == 422
    assert _text(r.text, "error-message") == "财务公开须填写期初余额和期末余额，不能提交审核"
    assert _status(did) == "draft"
    # the draft is still editable: balances in, then it goes to the supervision committee
    assert hua.post(f"/console/village/disclosures/{did}/edit",
                    {"opening_balance": "0", "closing_balance": "0"}).status_code == 303
    assert hua.post(f"/console/village/disclosures/{did}/transitions/submit").status_code == 303
    assert _status(did) == "submitted"


def test_unbalanced_draft_message_is_in_yuan(app, demo):
    hua = Console(app, "vc_xf_hua", PASSWORD)
    did = _draft_subsidies(hua, opening_balance="1,000.00", closing_balance="1,000.10")
    r = hua.post(f"/console/village/disclosures/{did}/transitions/submit")
    assert r.status_code == 409
    assert _text(r.text, "error-message") == (
        "期初余额 1,000.00 元 + 收入 0.00 元 − 支出 0.00 元 = 应有期末余额 1,000.00 元，"
        "填报的期末余额 1,000.10 元比应有的多 0.10 元，不能提交审核")


def test_return_without_a_reason_is_refused_and_the_form_says_it_is_required(app, demo):
    hua, jin = Console(app, "vc_xf_hua", PASSWORD), Console(app, "vs_xf_jin", PASSWORD)
    did = _draft_subsidies(hua, opening_balance="0", closing_balance="0")
    assert hua.post(f"/console/village/disclosures/{did}/transitions/submit").status_code == 303
    page = jin.get(f"/console/village/disclosures/{did}").text
    assert '<label for="note-return">退回理由（必填，村民委员会据此修改）</label>' in page
    assert re.search(r'<textarea id="note-return" name="note" required', page)
    for note in ("", "   "):
        r = jin.post(f"/console/village/disclosures/{did}/transitions/return", {"note": note})
        assert r.status_code == 422
        assert _text(r.text, "error-message") == "退回修改须填写退回理由，村民委员会据此修改"
        assert "note_required" in r.text
    assert _status(did) == "submitted"
    r = jin.post(f"/console/village/disclosures/{did}/transitions/return", {"note": "请补充发放明细"})
    assert r.status_code == 303 and _status(did) == "returned"
    page = hua.get(f"/console/village/disclosures/{did}").text
    assert "<dt>审核意见</dt><dd>请补充发放明细</dd>" in page


def test_supervision_committee_can_withdraw_its_signature_before_publication(app, demo):
    hua, jin = Console(app, "vc_xf_hua", PASSWORD), Console(app, "vs_xf_jin", PASSWORD)
    did = _draft_subsidies(hua, opening_balance="0", closing_balance="0")
    hua.post(f"/console/village/disclosures/{did}/transitions/submit")
    assert jin.post(f"/console/village/disclosures/{did}/transitions/sign_off", {"note": ""}).status_code == 303
    assert _status(did) == "signed_off"
    page = jin.get(f"/console/village/disclosures/{did}").text
    assert _text(page, "do-return") == "撤回签字并退回修改"
    assert 'id="do-publish"' not in page
    assert 'id="do-return"' not in hua.get(f"/console/village/disclosures/{did}").text
    r = jin.post(f"/console/village/disclosures/{did}/transitions/return", {"note": "发放户数与名册不符"})
    assert r.status_code == 303 and _status(did) == "returned"
    page = hua.get(f"/console/village/disclosures/{did}").text
    assert "<dt>审核签字</dt>" not in page and "发放户数与名册不符" in page
