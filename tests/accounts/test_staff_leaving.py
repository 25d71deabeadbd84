"""Issue #16 point 1: when a staff member leaves, nothing they held is lost.  The owners' committee's
head drafts a vote and the property company's handler works a case; both leave (disabled, memberships
removed); the organisations' new people carry on with the draft and the case, and the audit log still
names who did what."""

from __future__ import annotations

import sqlalchemy as sa

from civic.accounts.models import User
from civic.core.audit import entries_for
from civic.core.db import commit
from civic.extensions import db

API = "/api/v1"


def _user(username):
    return db.session.scalar(sa.select(User).where(User.username == username))


def test_what_a_leaver_held_stays_with_the_organisation(client, factory):
    from civic.complaints import service as complaints
    from civic.demo import load_demo
    from civic.property import service as registry
    from civic.voting import service as voting

    summary = load_demo(cases=True)
    commit()
    shi, he, admin = _user("oc_bj_shi"), _user("pc_sm_he"), _user("admin")
    draft = voting.create_vote({"roster_id": summary["voting"]["roster_id"], "title": "更换电梯（草稿）"}, shi)
    case = summary["complaints"][1]  # 李四's e-bike case, led by the company (issue #18: not [0], about it)
    complaints.transition(he, case, "acknowledge")
    commit()
    shi_id, he_id, draft_id = shi.id, he.id, draft.id
    oc, pc = registry.organisation_by_code("O-OC-BJHY").id, registry.organisation_by_code("O-PC-SM").id
    h_admin = factory.token(admin)
    # Both leave: disabled, and out of their organisations.  施主任's deputy becomes the head.
    for uid, org in ((shi_id, oc), (he_id, pc)):
        assert client.post(f"{API}/staff/{uid}/disable", headers=h_admin).status_code == 200
        assert client.delete(f"{API}/organisations/{org}/memberships/{uid}", headers=h_admin).status_code == 204
    zhang = _user("oc_bj_zhang")
    assert client.patch(f"{API}/organisations/{oc}/memberships/{zhang.id}", json={"role": "head"},
                        headers=h_admin).status_code == 200
    # The draft is the committee's: its new head reads and edits it.
    h_zhang = factory.token(_user("oc_bj_zhang"))
    r = client.get(f"{API}/votes/{draft_id}", headers=h_zhang)
    assert r.status_code == 200 and r.get_json()["vote"]["state"] == "draft"
    # The case is the company's: its head still has it in the queue and can work on it.
    h_sun = factory.token(_user("pc_sm_sun"))
    queue = client.get(f"{API}/queue?limit=100", headers=h_sun).get_json()["items"]
    assert case in {c["id"] for c in queue}
    assert client.get(f"{API}/complaints/{case}", headers=h_sun).status_code == 200
    # The audit log still names them.
    [created] = [e for e in entries_for("vote", draft_id) if e.action == "vote.create"]
    assert created.actor_id == shi_id and db.session.get(User, shi_id).display_name == "施主任"
    acks = [e for e in entries_for("complaint", case) if e.action == "complaint.acknowledge"]
    assert acks and acks[-1].actor_id == he_id and db.session.get(User, he_id).display_name == "何客服"
    # And the leavers can no longer log in.
    from civic.demo import DEMO_PASSWORD

    r = client.post(f"{API}/auth/login", json={"username": "pc_sm_he", "password": DEMO_PASSWORD})
    assert (r.status_code, r.get_json()["error"]["code"]) == (401, "account_disabled")
