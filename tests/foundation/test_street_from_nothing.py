"""Issue #16 "Done when": a street goes live from an empty database through the command line and the
API alone (no demo loader), with the example files of the go-live runbook (docs/go-live.md,
docs/go-live/*.csv):

the administrator (``create-admin``), places, organisations, staff (``import-staff``: one-time
passwords, changed at the first login) and the residents' committee's register
(``import-residents``); the owners' committee imports and certifies its roster; a resident who
logged in from the mini-program claims her unit, the owners' committee confirms it, she files a
complaint at her unit, votes in the compound's vote, downloads her data and deletes her account;
after which nothing of hers is left outside the records the retention table keeps, and once the
vote's records have expired, nothing at all.

Runs on SQLite with in-process jobs and on PostgreSQL with Redis and an RQ worker (.ci/run).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

from civic.core.db import commit, utcnow
from civic.extensions import db
from tests.complaints.helpers import file_tuple
from tests.foundation.test_personal_data import _hits

API = "/api/v1"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "go-live"
NAME, ROSTER_PHONE, OPENID_CODE = "王芳", "13800000101", "wangfang-iphone"


def _cli(runner, *args, input=None):
    result = runner.invoke(args=["civic", *args], input=input)
    assert result.exit_code == 0, result.output
    return result.output


def _ok(resp, status=200):
    assert resp.status_code == status, (resp.status_code, resp.get_json(silent=True))
    return resp.get_json(silent=True)


def _login(client, username, password):
    return {"Authorization": f"Bearer {_ok(client.post(f'{API}/auth/login', json={'username': username, 'password': password}))['token']}"}


def _first_login(client, username, one_time, new):
    """A staff member's first login: only the password change is allowed until it is made."""
    h = _login(client, username, one_time)
    assert _ok(client.get(f"{API}/me", headers=h))["must_change_password"] is True
    blocked = client.get(f"{API}/places", headers=h)
    assert blocked.status_code == 403, blocked.get_json()
    _ok(client.post(f"{API}/auth/password", json={"old_password": one_time, "new_password": new}, headers=h), 204)
    return h


def _place(client, h, kind, name):
    items = _ok(client.get(f"{API}/places?kind={kind}&limit=100", headers=h))["items"]
    return next(p for p in items if p["name"] == name)


def test_a_street_goes_live_from_an_empty_database(app, client, runner, tmp_path):
    from civic.core import retention
    from civic.voting.models import Vote

    # --- the operator: administrator, registry, organisations, staff, the register -------------
    assert "administrator civic-admin created" in _cli(
        runner, "create-admin", "--username", "civic-admin", "--name", "系统管理员",
        input="Go-live-2026-admin\nGo-live-2026-admin\n")
    assert _cli(runner, "import-places", str(EXAMPLES / "places.csv")) == "imported 9 places\n"
    _cli(runner, "import-organisations", str(EXAMPLES / "organisations.csv"))
    staff_csv = tmp_path / "staff.csv"
    staff_csv.write_bytes((EXAMPLES / "staff.csv").read_bytes())
    out = _cli(runner, "import-staff", str(staff_csv))
    assert "imported 7 staff accounts, 7 memberships" in out
    with open(tmp_path / "staff.passwords.csv", encoding="utf-8") as f:
        one_time = {r["username"]: r["one_time_password"] for r in csv.DictReader(f)}
    assert "imported 4 links, 4 new residents" in _cli(runner, "import-residents", str(EXAMPLES / "register.csv"))

    admin = _login(client, "civic-admin", "Go-live-2026-admin")
    staff = _ok(client.get(f"{API}/staff?limit=100", headers=admin))["items"]
    assert {s["username"] for s in staff} >= set(one_time)

    # --- the owners' committee certifies its roster --------------------------------------------
    fang = _first_login(client, "my_oc_fang", one_time["my_oc_fang"], "Meiyuan-oc-2026")
    compound = _place(client, fang, "compound", "梅园新村")
    roster = _ok(client.post(f"{API}/rosters", json={"place_id": compound["id"], "source": "csv"}, headers=fang),
                 201)["roster"]
    _ok(client.post(f"{API}/rosters/{roster['id']}/import", data=(EXAMPLES / "roster.csv").read_bytes(),
                    headers={**fang, "Content-Type": "text/csv"}), 201)
    _ok(client.post(f"{API}/rosters/{roster['id']}/certify", json={}, headers=fang))

    # --- a resident from the mini-program claims her unit; the owners' committee confirms -----
    me = {"Authorization": f"Bearer {_ok(client.post(f'{API}/auth/wechat', json={'code': OPENID_CODE}))['token']}"}
    _ok(client.patch(f"{API}/me", json={"display_name": NAME}, headers=me))
    building = _place(client, me, "building", "5号楼")
    units = _ok(client.get(f"{API}/places?kind=unit&parent_id={building['id']}&limit=100", headers=me))["items"]
    u101 = next(u for u in units if u["name"] == "101室")
    claim = _ok(client.post(f"{API}/my/unit-claims", data={"unit_id": str(u101["id"]), "relation": "owner",
                                                           "claimed_name": NAME},
                            headers=me, content_type="multipart/form-data"), 201)
    assert claim["status"] == "pending"  # logged in by WeChat: no phone to match the roster with
    queue = _ok(client.get(f"{API}/unit-claims", headers=fang))["items"]
    assert [c["id"] for c in queue] == [claim["id"]]
    assert _ok(client.post(f"{API}/unit-claims/{claim['id']}/confirm", headers=fang))["status"] == "confirmed"
    assert [u["unit_id"] for u in _ok(client.get(f"{API}/my/units", headers=me))["items"]] == [u101["id"]]

    # --- she files a complaint at her unit: routed to the compound's parties -------------------
    case = _ok(client.post(f"{API}/complaints", data={
        "category": "noise", "description": "楼上202室每天夜里十二点以后还在装修敲墙，影响休息",
        "place_id": str(u101["id"]), "photos": [file_tuple("ianare_portrait_6.jpg")]},
        headers=me, content_type="multipart/form-data"), 201)
    luo = _first_login(client, "my_pc_luo", one_time["my_pc_luo"], "Meiyuan-pc-2026")
    tang = _first_login(client, "my_rc_tang", one_time["my_rc_tang"], "Meiyuan-rc-2026")
    seen_by = [h for h in (luo, tang) if client.get(f"{API}/complaints/{case['id']}", headers=h).status_code == 200]
    assert seen_by, "no party of the compound sees the case"

    # --- the compound's vote: she votes as the roster's owner of 101 ---------------------------
    vote = _ok(client.post(f"{API}/votes", json={"roster_id": roster["id"], "title": "更换小区监控设备"},
                           headers=fang), 201)
    matter = _ok(client.post(f"{API}/votes/{vote['id']}/matters",
                             json={"number": 6, "title": "使用维修资金更换监控设备", "text": "预算 18 万元"},
                             headers=fang), 201)
    _ok(client.post(f"{API}/votes/{vote['id']}/transition", json={"action": "announce"}, headers=fang))
    # The notice period (15 days before voting opens) passes.
    db.session.get(Vote, vote["id"]).voting_opens_at = utcnow() - dt.timedelta(seconds=1)
    commit()
    _ok(client.post(f"{API}/votes/{vote['id']}/transition", json={"action": "open"}, headers=fang))
    ballot = _ok(client.post(f"{API}/votes/{vote['id']}/ballot", json={"choices": {str(matter["id"]): "agree"}},
                             headers=me), 201)
    receipt = hashlib.sha256(ballot["receipt_code"].replace("-", "").encode()).hexdigest()

    # --- she downloads her data, then deletes her account --------------------------------------
    data = _ok(client.get(f"{API}/my/data", headers=me))["parts"]
    assert [c["id"] for c in data["complaints"]["cases"]] == [case["id"]]
    assert [b["receipt_hash"] for b in data["voting"]["ballots"]] == [receipt]  # the code is hers alone
    assert data["registry"]["units"][0]["unit_id"] == u101["id"]
    assert [(c["id"], c["status"]) for c in data["residents"]["unit_claims"]] == [(claim["id"], "confirmed")]
    needles = {"name": NAME, "roster_phone": ROSTER_PHONE, "openid": f"dev-{OPENID_CODE}"}
    user_id = _ok(client.get(f"{API}/me", headers=me))["id"]
    assert {"unit_claim.claimed_name", "user_account.display_name"} <= _hits(needles, user_id)["name"]
    _ok(client.delete(f"{API}/me", json={"confirm": "注销账号"}, headers=me), 204)
    assert client.get(f"{API}/me", headers=me).status_code == 401

    kept = retention.kept_tables()
    after = _hits(needles, user_id)
    for what in needles:
        outside = {w for w in after[what] if w.split(".")[0] not in kept}
        assert not outside, f"{what} left outside the retention table: {sorted(outside)}"
    # The complaint keeps its facts without her: the property company still works it.
    assert client.get(f"{API}/complaints/{case['id']}", headers=seen_by[0]).status_code == 200

    # --- the vote's records are kept a year after it closes, then anonymised by the job --------
    _ok(client.post(f"{API}/votes/{vote['id']}/transition", json={"action": "close"}, headers=fang))
    closed = db.session.get(Vote, vote["id"]).closed_at
    retention.enforce_retention(now=closed + dt.timedelta(days=364))
    commit()
    assert _hits(needles, user_id)["name"], "the vote's roster was anonymised before its year was out"
    retention.enforce_retention(now=closed + dt.timedelta(days=366))
    commit()
    final = _hits(needles, user_id)
    assert final["name"] == final["roster_phone"] == final["openid"] == set(), final


def test_the_runbook_s_example_files_are_the_ones_the_test_imports():
    """docs/go-live.md shows these files; the test above imports them: each is valid UTF-8 CSV."""
    for name in ("places", "organisations", "staff", "register", "roster"):
        rows = list(csv.DictReader(io.StringIO((EXAMPLES / f"{name}.csv").read_text(encoding="utf-8"))))
        assert rows and all(None not in r for r in rows), name
