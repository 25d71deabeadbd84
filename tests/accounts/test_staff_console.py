"""Issue #16 point 1 in the console: the staff page of an organisation's head (list, create, change a
role, reset a password, disable, move), refused to members who manage nothing, and the forced
password change after a reset."""

from __future__ import annotations

import re

import sqlalchemy as sa

from civic.accounts.models import Membership, User
from civic.extensions import db
from tests.accounts.conftest import PASSWORD
from tests.console.helpers import Console, csrf_token


def _password_on(page: str) -> str:
    return re.search(r'<code id="one-time-password">([^<]+)</code>', page).group(1)


def test_a_head_manages_their_organisations_staff_in_the_console(app, st):
    head = Console(app, "pc1-head", PASSWORD)
    page = head.get("/console/staff").text
    assert "工作人员 · 一号物业" in page and "pc1-he" in page and "经办人" in page
    assert 'href="/console/staff"' in head.get("/console/").text  # in the navigation
    org = st.orgs["pc1"].id
    r = head.post("/console/staff/new", {"org": org, "username": "console-new", "display_name": "新来的", "role": "viewer"})
    assert r.status_code == 200, r.text
    pw = _password_on(r.text)
    # The new member logs in with it and is sent to the password page first.
    browser = app.test_client()
    tok = csrf_token(browser.get("/console/login").text)
    r = browser.post("/console/login", data={"username": "console-new", "password": pw, "csrf_token": tok})
    assert r.status_code == 303
    r = browser.get("/console/")
    assert r.status_code == 303 and r.headers["Location"].endswith("/console/password")
    page = browser.get("/console/password").text
    assert "一次性密码" in page
    browser.post("/console/password", data={"old": pw, "new": "my-own-pass-77", "confirm": "my-own-pass-77",
                                            "csrf_token": csrf_token(page)})
    assert browser.get("/console/").status_code == 200
    # Change a role, reset a password, disable.
    he = st.users["pc1_he"].id
    assert head.post(f"/console/staff/{he}/role", {"org": org, "role": "moderator"}).status_code == 303
    assert db.session.scalar(sa.select(Membership.role).where(Membership.user_id == he)) == "moderator"
    r = head.post(f"/console/staff/{he}/reset", {"org": org})
    assert r.status_code == 200 and len(_password_on(r.text)) == 16
    assert head.post(f"/console/staff/{he}/disable", {"org": org}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, he).active is False
    assert "已停用" in head.get(f"/console/staff?org={org}").text
    assert head.post(f"/console/staff/{he}/enable", {"org": org}).status_code == 303


def test_the_street_centre_head_moves_a_member_between_organisations(app, st):
    centre = Console(app, "sc1-head", PASSWORD)
    page = centre.get(f"/console/staff?org={st.orgs['pc1'].id}").text
    assert "一号业委会" in page and "二号物业" not in page  # only the organisations of its street
    he = st.users["pc1_he"].id
    r = centre.post(f"/console/staff/{he}/move", {"org": st.orgs["pc1"].id, "to": st.orgs["oc1"].id})
    assert r.status_code == 303
    assert db.session.scalar(sa.select(Membership.organisation_id).where(Membership.user_id == he)) == st.orgs["oc1"].id
    # ... and adds them back to the company, as a viewer, from the list of staff it manages.
    page = centre.get(f"/console/staff?org={st.orgs['pc1'].id}").text
    assert f'<option value="{he}">' in page
    r = centre.post("/console/staff/add", {"org": st.orgs["pc1"].id, "user_id": he, "role": "viewer"})
    assert r.status_code == 303
    roles = set(db.session.execute(sa.select(Membership.organisation_id, Membership.role).where(Membership.user_id == he)))
    assert roles == {(st.orgs["oc1"].id, "handler"), (st.orgs["pc1"].id, "viewer")}


def test_a_member_who_manages_nothing_is_refused(app, st):
    member = Console(app, "pc1-he", PASSWORD)
    r = member.get("/console/staff")
    assert r.status_code == 403 and "无权管理工作人员" in r.text
    assert 'href="/console/staff"' not in member.get("/console/").text
    r = member.post(f"/console/staff/{st.users['pc1'].id}/disable", {"org": st.orgs["pc1"].id})
    assert r.status_code == 404  # whom one does not manage does not exist for one
    other = Console(app, "pc2-head", PASSWORD)
    assert other.get(f"/console/staff?org={st.orgs['pc1'].id}").status_code == 403
    r = other.post(f"/console/staff/{st.users['pc1_he'].id}/reset", {"org": st.orgs["pc1"].id})
    assert r.status_code == 404
