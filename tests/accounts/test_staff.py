"""Issue #16 point 1: staff accounts and their roles through the API — every verb, every refusal
(outsider, head of another organisation, another street's centre, a resident), the forced password
change, disabled accounts, and a race on a username."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from civic.core.audit import entries_for
from civic.extensions import db
from tests.accounts.conftest import API, PASSWORD, login


def _create(client, h, org_id, username="new-member", role="handler", name="新同事"):
    return client.post(f"{API}/staff", json={"username": username, "display_name": name,
                                             "organisation_id": org_id, "role": role}, headers=h)


def _code(r):
    return r.get_json()["error"]["code"]


# --- creating accounts, and who may ------------------------------------------------------------------

def test_a_head_creates_a_member_of_their_organisation_with_a_one_time_password(client, st):
    r = _create(client, st.h["pc1"], st.orgs["pc1"].id)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["staff"]["username"] == "new-member" and body["staff"]["must_change_password"] is True
    assert body["staff"]["memberships"] == [{"organisation_id": st.orgs["pc1"].id, "organisation_name": "一号物业",
                                             "organisation_kind": "property_company", "role": "handler"}]
    pw = body["one_time_password"]
    assert len(pw) == 16
    assert login(client, "new-member", pw).status_code == 200
    [entry] = [e for e in entries_for("user", body["staff"]["id"]) if e.action == "staff.created"]
    assert entry.actor_id == st.users["pc1"].id and entry.data["role"] == "handler"


def test_the_street_centre_head_creates_staff_for_an_organisation_in_its_street(client, st):
    assert _create(client, st.h["sc1"], st.orgs["oc1"].id).status_code == 201


def test_refusals_to_create(client, st):
    org = st.orgs["pc1"].id
    assert _code(_create(client, st.h["pc2"], org)) == "not_staff_manager"      # head of another organisation
    assert _code(_create(client, st.h["sc2"], org)) == "not_staff_manager"      # another street's centre
    assert _code(_create(client, st.h["pc1_he"], org)) == "not_staff_manager"   # a member who is not the head
    assert _code(_create(client, st.h["oc1"], org)) == "not_staff_manager"      # a head in the same compound
    r = _create(client, st.h["resident"], org)
    assert (r.status_code, _code(r)) == (403, "wrong_account_kind")
    assert _create(client, {}, org).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("user_account"))
                             .where(sa.text("username = 'new-member'"))) == 0


def test_permission_comes_before_the_input_and_the_name(client, st):
    # An outsider learns nothing about which names are taken or what input is wrong.
    assert _code(_create(client, st.h["pc2"], st.orgs["pc1"].id, username="pc1-he")) == "not_staff_manager"
    assert _code(_create(client, st.h["pc2"], st.orgs["pc1"].id, username="!")) == "not_staff_manager"
    assert _code(_create(client, st.h["pc1"], st.orgs["pc1"].id, username="pc1-he")) == "username_taken"
    assert _code(_create(client, st.h["pc1"], st.orgs["pc1"].id, username="!")) == "username_invalid"
    assert _code(_create(client, st.h["pc1"], st.orgs["pc1"].id, role="boss")) == "role_unknown"
    assert _code(_create(client, st.h["admin"], 999999)) == "organisation_not_found"


def test_two_admins_creating_the_same_username_at_once_one_wins_the_other_gets_409(app, factory, st):
    second_admin = factory.token(factory.admin())
    headers, org_id = [st.h["admin"], second_admin], st.orgs["pc1"].id
    barrier = threading.Barrier(2)
    statuses: list[tuple[int, str | None]] = []

    def go(h):
        client = app.test_client()
        barrier.wait(timeout=10)
        r = _create(client, h, org_id, username="same-name")
        statuses.append((r.status_code, r.get_json().get("error", {}).get("code")))

    threads = [threading.Thread(target=go, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [(201, None), (409, "username_taken")]
    db.session.expire_all()
    assert db.session.scalar(sa.text("SELECT count(*) FROM user_account WHERE username = 'same-name'")) == 1


# --- reading --------------------------------------------------------------------------------------------

def test_who_sees_a_staff_account(client, st):
    he = st.users["pc1_he"].id
    for who in ("admin", "sc1", "pc1", "pc1_he"):
        assert client.get(f"{API}/staff/{he}", headers=st.h[who]).status_code == 200, who
    for who in ("pc2", "sc2", "oc1"):
        r = client.get(f"{API}/staff/{he}", headers=st.h[who])
        assert (r.status_code, _code(r)) == (404, "staff_not_found"), who
    assert client.get(f"{API}/staff/{he}", headers=st.h["resident"]).status_code == 403


def test_the_list_shows_whom_each_manages(client, st):
    def names(who, **q):
        r = client.get(f"{API}/staff", query_string=q, headers=st.h[who])
        assert r.status_code == 200, r.get_json()
        return {s["username"] for s in r.get_json()["items"]}

    assert names("pc1") == {"pc1-head", "pc1-he"}
    assert names("sc1") == {"sc1-head", "pc1-head", "pc1-he", "oc1-head"}
    assert names("pc1_he") == {"pc1-he"}
    assert names("sc1", organisation_id=st.orgs["oc1"].id) == {"oc1-head"}
    r = client.get(f"{API}/staff", query_string={"organisation_id": st.orgs["pc1"].id}, headers=st.h["sc2"])
    assert _code(r) == "not_staff_manager"
    assert len(names("admin")) == 7


def test_an_organisations_members_for_its_managers(client, st):
    url = f"{API}/organisations/{st.orgs['pc1'].id}/memberships"
    r = client.get(url, headers=st.h["sc1"])
    # By name, then by id (both are 测试员 here: the head was created first).
    assert [(m["username"], m["role"]) for m in r.get_json()["items"]] == [("pc1-head", "head"), ("pc1-he", "handler")]
    assert _code(client.get(url, headers=st.h["pc2"])) == "not_staff_manager"
    assert _code(client.get(url, headers=st.h["pc1_he"])) == "not_staff_manager"


# --- memberships ----------------------------------------------------------------------------------------

def test_add_change_and_remove_a_membership(client, st):
    he, oc1 = st.users["pc1_he"].id, st.orgs["oc1"].id
    url = f"{API}/organisations/{oc1}/memberships"
    r = client.post(url, json={"user_id": he, "role": "viewer"}, headers=st.h["sc1"])
    assert r.status_code == 201, r.get_json()
    assert ("pc1-he", "viewer") in {(m["username"], m["role"]) for m in r.get_json()["items"]}
    assert _code(client.post(url, json={"user_id": he, "role": "viewer"}, headers=st.h["sc1"])) == "membership_exists"
    r = client.patch(f"{url}/{he}", json={"role": "moderator"}, headers=st.h["oc1"])
    assert r.status_code == 200 and ("pc1-he", "moderator") in {(m["username"], m["role"]) for m in r.get_json()["items"]}
    assert client.delete(f"{url}/{he}", headers=st.h["oc1"]).status_code == 204
    assert _code(client.delete(f"{url}/{he}", headers=st.h["oc1"])) == "membership_not_found"
    actions = [(e.action, e.actor_id) for e in entries_for("user", he)]
    assert actions == [("staff.membership_added", st.users["sc1"].id), ("staff.role_changed", st.users["oc1"].id),
                       ("staff.membership_removed", st.users["oc1"].id)]
    # The role ends at once: /me no longer lists it.
    me = client.get(f"{API}/me", headers=st.h["pc1_he"]).get_json()
    assert [m["organisation_id"] for m in me["memberships"]] == [st.orgs["pc1"].id]


def test_refusals_on_memberships(client, st):
    he, pc1 = st.users["pc1_he"].id, st.orgs["pc1"].id
    url = f"{API}/organisations/{pc1}/memberships"
    for who in ("pc2", "sc2", "oc1", "pc1_he"):
        assert _code(client.patch(f"{url}/{he}", json={"role": "head"}, headers=st.h[who])) == "not_staff_manager", who
        assert _code(client.delete(f"{url}/{he}", headers=st.h[who])) == "not_staff_manager", who
    # A head may add to their organisation only staff they can see: another street's head is hidden.
    r = client.post(url, json={"user_id": st.users["pc2"].id}, headers=st.h["pc1"])
    assert (r.status_code, _code(r)) == (404, "staff_not_found")
    r = client.post(url, json={"user_id": st.users["admin"].id}, headers=st.h["admin"])
    assert _code(r) == "not_staff_account"


def test_a_move_needs_both_organisations(client, st):
    he = st.users["pc1_he"].id
    body = {"from_organisation_id": st.orgs["pc1"].id, "to_organisation_id": st.orgs["oc1"].id, "role": "handler"}
    assert _code(client.post(f"{API}/staff/{he}/move", json=body, headers=st.h["pc1"])) == "not_staff_manager"
    r = client.post(f"{API}/staff/{he}/move", json=body, headers=st.h["sc1"])
    assert r.status_code == 200, r.get_json()
    assert [m["organisation_id"] for m in r.get_json()["memberships"]] == [st.orgs["oc1"].id]
    assert _code(client.post(f"{API}/staff/{he}/move", json=body, headers=st.h["sc1"])) == "membership_not_found"
    # Another street's centre cannot move anyone into its street from here.
    body2 = {"from_organisation_id": st.orgs["oc1"].id, "to_organisation_id": st.orgs["pc2"].id}
    assert _code(client.post(f"{API}/staff/{he}/move", json=body2, headers=st.h["sc2"])) == "staff_not_found"
    [moved] = [e for e in entries_for("user", he) if e.action == "staff.moved"]
    assert moved.actor_id == st.users["sc1"].id and moved.data["to_organisation_id"] == st.orgs["oc1"].id


# --- passwords ------------------------------------------------------------------------------------------

def test_a_reset_ends_every_login_and_the_member_must_change_it(client, st):
    he = st.users["pc1_he"]
    r = client.post(f"{API}/staff/{he.id}/password-reset", headers=st.h["pc1"])
    assert r.status_code == 200, r.get_json()
    pw = r.get_json()["one_time_password"]
    assert r.get_json()["staff"]["must_change_password"] is True
    assert _code(client.get(f"{API}/me", headers=st.h["pc1_he"])) == "token_revoked"
    assert login(client, "pc1-he", PASSWORD).status_code == 401
    r = login(client, "pc1-he", pw)
    assert r.status_code == 200 and r.get_json()["user"]["must_change_password"] is True
    h = {"Authorization": f"Bearer {r.get_json()['token']}"}
    # Until changed: only /me, the change itself and logout.
    assert client.get(f"{API}/me", headers=h).status_code == 200
    r = client.get(f"{API}/staff/{he.id}", headers=h)
    assert (r.status_code, _code(r)) == (403, "password_change_required")
    assert _code(client.get(f"{API}/queue", headers=h)) == "password_change_required"
    assert client.post(f"{API}/auth/password", json={"old_password": pw, "new_password": "mine-own-pass-9"},
                       headers=h).status_code == 204
    assert client.get(f"{API}/staff/{he.id}", headers=h).get_json()["must_change_password"] is False
    assert [e.action for e in entries_for("user", he.id)][:1] == ["staff.password_reset"]


def test_refusals_to_reset(client, st):
    he = st.users["pc1_he"].id
    for who, code in (("pc2", "staff_not_found"), ("sc2", "staff_not_found"), ("oc1", "staff_not_found"),
                      ("pc1_he", "not_staff_manager")):
        assert _code(client.post(f"{API}/staff/{he}/password-reset", headers=st.h[who])) == code, who
    # The head of one of two organisations a member belongs to manages the membership, not the account.
    client.post(f"{API}/organisations/{st.orgs['oc1'].id}/memberships", json={"user_id": he}, headers=st.h["sc1"])
    r = client.post(f"{API}/staff/{he}/password-reset", headers=st.h["pc1"])
    assert (r.status_code, _code(r)) == (403, "not_staff_manager")
    assert client.post(f"{API}/staff/{he}/password-reset", headers=st.h["sc1"]).status_code == 200
    # Nobody but an administrator touches an administrator's account.
    assert _code(client.post(f"{API}/staff/{st.users['admin'].id}/password-reset", headers=st.h["sc1"])) == \
        "staff_not_found"
    # A head resets nobody's password as their own (that is "change password").
    assert _code(client.post(f"{API}/staff/{st.users['sc1'].id}/password-reset", headers=st.h["sc1"])) == \
        "own_account"


# --- disabling ------------------------------------------------------------------------------------------

def test_a_disabled_account_cannot_log_in_and_its_logins_end(client, st):
    he = st.users["pc1_he"].id
    r = client.post(f"{API}/staff/{he}/disable", headers=st.h["sc1"])
    assert r.status_code == 200 and r.get_json()["active"] is False and r.get_json()["disabled_at"]
    assert client.get(f"{API}/me", headers=st.h["pc1_he"]).status_code == 401
    r = login(client, "pc1-he", PASSWORD)
    assert (r.status_code, _code(r)) == (401, "account_disabled")
    assert _code(client.post(f"{API}/staff/{he}/disable", headers=st.h["sc1"])) == "account_already_disabled"
    assert client.post(f"{API}/staff/{he}/enable", headers=st.h["pc1"]).status_code == 200
    assert login(client, "pc1-he", PASSWORD).status_code == 200
    assert _code(client.post(f"{API}/staff/{he}/enable", headers=st.h["pc1"])) == "account_not_disabled"
    assert [e.action for e in entries_for("user", he)] == ["staff.disabled", "staff.enabled", "auth.login"]


def test_refusals_to_disable(client, st):
    he = st.users["pc1_he"].id
    for who, code in (("pc2", "staff_not_found"), ("sc2", "staff_not_found"), ("pc1_he", "not_staff_manager")):
        assert _code(client.post(f"{API}/staff/{he}/disable", headers=st.h[who])) == code, who
    assert _code(client.post(f"{API}/staff/{st.users['pc1'].id}/disable", headers=st.h["pc1"])) == "own_account"
    assert client.get(f"{API}/me", headers=st.h["pc1_he"]).status_code == 200


def test_a_disabled_members_console_session_ends(app, client, st):
    from tests.console.helpers import console_login

    browser = app.test_client()
    console_login(browser, "pc1-he", PASSWORD)
    assert browser.get("/console/").status_code == 200
    assert client.post(f"{API}/staff/{st.users['pc1_he'].id}/disable", headers=st.h["admin"]).status_code == 200
    r = browser.get("/console/")
    assert r.status_code == 302 and "/console/login" in r.headers["Location"]


def test_editing_a_name_is_audited_once(client, st):
    he = st.users["pc1_he"].id
    r = client.patch(f"{API}/staff/{he}", json={"display_name": "何 经理"}, headers=st.h["pc1"])
    assert r.status_code == 200 and r.get_json()["display_name"] == "何 经理"
    assert client.patch(f"{API}/staff/{he}", json={"display_name": "何 经理"}, headers=st.h["pc1"]).status_code == 200
    assert [e.action for e in entries_for("user", he)] == ["staff.edited"]
    assert _code(client.patch(f"{API}/staff/{he}", json={"display_name": " "}, headers=st.h["pc1"])) == \
        "display_name_invalid"


def test_an_organisation_across_two_streets_is_in_neither(client, factory, st):
    """A street centre manages only the organisations all of whose places lie in its street."""
    from civic.accounts.staff import managed_organisations

    both = factory.org("property_company", [st.one["compound"], st.two["compound"]], name="两街物业")
    assert both.id not in managed_organisations(st.users["sc1"])
    assert both.id not in managed_organisations(st.users["sc2"])
    assert managed_organisations(st.users["sc1"]) == {st.orgs["sc1"].id, st.orgs["pc1"].id, st.orgs["oc1"].id}
    assert managed_organisations(st.users["admin"]) is None
    assert _code(_create(client, st.h["sc1"], both.id)) == "not_staff_manager"
    assert _create(client, st.h["admin"], both.id).status_code == 201
