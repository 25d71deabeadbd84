"""Issue #16 point 2: the verifier's queue in the staff console (the same rules as the API)."""

from __future__ import annotations

import re

from tests.console.helpers import Console
from tests.residents.test_claims import Street


def test_the_residents_committee_decides_a_claim_in_the_console(app, client, factory):
    st = Street(factory, client)
    li = factory.resident()
    cid = st.claim(li, st.u102, name="李明", document=True).get_json()["id"]
    ui = Console(app, st.rc_staff.username, "test-pass-123")
    home = ui.get("/console/").text
    assert "房屋认领审核" in re.search(r'<nav aria-label="主导航">(.*?)</nav>', home, re.S).group(1)
    page = ui.get("/console/unit-claims").text
    assert f'data-claim="{cid}"' in page and "李明" in page and "102室" in page
    item = ui.get(f"/console/unit-claims/{cid}").text
    assert 'id="claim-document"' in item and 'id="do-confirm"' in item
    assert "<script>" not in item and "style=" not in item  # CSP: no inline script or style
    doc = ui.get(f"/console/unit-claims/{cid}/document")
    assert doc.status_code == 200 and doc.mimetype == "image/jpeg"
    r = ui.post(f"/console/unit-claims/{cid}/refuse", {"reason": "照片看不清，请重新上传"})
    assert r.status_code == 303
    item = ui.get(f"/console/unit-claims/{cid}").text
    assert "已驳回" in item and "照片看不清，请重新上传" in item and 'id="do-confirm"' not in item
    assert ui.get(f"/console/unit-claims/{cid}/document").status_code == 404
    again = ui.post(f"/console/unit-claims/{cid}/confirm")
    assert again.status_code == 409 and "已被审核" in again.text


def test_another_communitys_committee_sees_nothing(app, client, factory):
    st = Street(factory, client)
    cid = st.claim(factory.resident(), st.u102, document=True).get_json()["id"]
    ui = Console(app, st.other_rc.username, "test-pass-123")
    assert f'data-claim="{cid}"' not in ui.get("/console/unit-claims").text
    assert ui.get(f"/console/unit-claims/{cid}").status_code == 404
    assert ui.post(f"/console/unit-claims/{cid}/confirm").status_code == 404
