"""Issue #16 point 3: a resident's rights over their data (PIPL Arts. 44-47).

* every foreign key to ``user_account`` is covered by a domain's personal data provider, or exempt
  with a reason (a new domain cannot forget one);
* the retention table in ``docs/privacy.md`` is the code's (:mod:`civic.core.retention`), row by row;
* on the demo street, 张三 files a case (the demo's), has his name revealed by a committee member,
  votes in the compound's vote, submits an idea (the demo's), comments and supports: ``GET /my/data``
  holds each kind of it and nothing of any other resident;
* ``DELETE /me`` leaves no name, phone, openid or id of his anywhere (every column of every row of
  every table) outside what the retention table keeps, and the retention job anonymises that once
  its period is over.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.core.db import commit, utcnow
from civic.extensions import db

API = "/api/v1"
VOTE_DAYS = 365
DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


# --- the registries --------------------------------------------------------------------------------

def _user_foreign_keys() -> set[str]:
    return {f"{t.name}.{c.name}" for t in db.metadata.sorted_tables for c in t.columns
            for fk in c.foreign_keys if fk.column.table.name == "user_account"}


def test_every_foreign_key_to_an_account_is_covered_or_exempt(app):
    from civic.core import personal_data

    fks = _user_foreign_keys()
    assert len(fks) >= 55
    covered, exempt = set(personal_data.covered()), set(personal_data.EXEMPT)
    assert not fks - covered - exempt, f"not covered by any provider nor exempt: {sorted(fks - covered - exempt)}"
    assert not covered & exempt
    stale = (covered | exempt) - fks - {"user_account.id"}
    assert not stale, f"declared columns that are not foreign keys to user_account: {sorted(stale)}"
    assert all(len(reason) > 10 for reason in personal_data.EXEMPT.values())


def _doc_rows() -> dict[str, dict]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("<!-- retention table -->", 1)[1].split("<!-- end -->", 1)[0]
    rows = {}
    for line in section.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        kind, tables, keep, period, then, source = cells
        rows[kind.strip("`")] = {"tables": tuple(t.strip("` ") for t in tables.split(",") if t.strip("` ")),
                                 "keep": keep, "period_days": int(period) if period != "—" else None,
                                 "then": then, "source": source}
    return rows


def test_docs_retention_table_is_the_code_s(app):
    from civic.core import retention

    doc = _doc_rows()
    code = {r.kind: {"tables": r.tables, "keep": r.keep, "period_days": r.period_days, "then": r.then,
                     "source": r.source} for r in retention.RULES.values()}
    assert sorted(doc) == sorted(code)
    assert {k: v for k, v in doc.items() if v != code[k]} == {}
    # A rule with a period is enforced by the job; one without is applied at once (or keeps forever).
    assert all((r.period_days is None) == (r.enforce is None) for r in retention.RULES.values())


# --- the demo resident ------------------------------------------------------------------------------

def _user(**kw):
    from civic.accounts.models import User

    (field, value), = kw.items()
    return db.session.scalar(sa.select(User).where(getattr(User, field) == value))


@pytest.fixture
def zhang(client, factory, caplog):
    """张三 on the demo street: his case (the demo's) revealed by the residents' committee, his ballot
    in 滨江花园's open vote, his idea (the demo's), a comment and a support on the approved idea."""
    from civic.demo import load_demo
    from civic.proposals.contests.models import Idea
    from civic.voting.models import Matter
    from tests.voting.helpers import verify

    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
    root = logging.getLogger()
    if caplog.handler not in root.handlers:
        # The session's app was made in this test's setup: Alembic's fileConfig replaced the root
        # logger's handlers, pytest's capturing one among them.  The one-time code is read from it.
        root.addHandler(caplog.handler)
    demo = load_demo(cases=True)
    commit()
    me = _user(wechat_openid="dev-zhang_san")
    h = factory.token(me)
    case = demo["complaints"][0]
    zhou = factory.token(_user(username="rc_bj_zhou"))
    # Sent with an Idempotency-Key: the answer, with his full phone, is stored for a retry (48 h).
    r = client.post(f"{API}/complaints/{case}/complainant", json={"reason": "上门核实电梯停运情况"},
                    headers={**zhou, "Idempotency-Key": "reveal-1"})
    assert r.status_code == 200 and r.get_json()["phone"] == "13900000001", r.get_json()
    vid = demo["voting"]["vote_id"]
    verify(client, caplog, vid, me, h)
    matters = db.session.scalars(sa.select(Matter.id).where(Matter.vote_id == vid)).all()
    r = client.post(f"{API}/votes/{vid}/ballot", json={"choices": {str(m): "agree" for m in matters}}, headers=h)
    assert r.status_code == 201, r.get_json()
    li_idea = db.session.scalar(sa.select(Idea).where(Idea.title == "3号楼前空地改造口袋花园"))
    r = client.post(f"{API}/ideas/{li_idea.id}/comments", json={"body": "赞成，口袋花园要有座椅。"}, headers=h)
    assert r.status_code == 201, r.get_json()
    r = client.put(f"{API}/ideas/{li_idea.id}/support", headers=h)
    support_ok = r.status_code in (200, 201)
    return {"user": me, "id": me.id, "headers": h, "case": case, "vote": vid, "support": support_ok,
            "demo": demo}


OTHERS = {"李四": "13900000002", "王五": "13900000003", "赵六": "13900000004", "孙七": "13900000005",
          "周八": "13900000006", "吴九": "13900000007", "郑十": "13900000008"}


def test_my_data_holds_each_kind_and_nothing_of_others(client, zhang):
    r = client.get(f"{API}/my/data", headers=zhang["headers"])
    assert r.status_code == 200
    parts = r.get_json()["parts"]
    assert parts["account"]["account"]["phone"] == "13900000001"
    assert parts["account"]["account"]["wechat_openid"] == "dev-zhang_san"
    assert parts["registry"]["units"] and parts["registry"]["units"][0]["relation"] == "owner"
    c = parts["complaints"]
    assert [x["id"] for x in c["cases"]] == [zhang["case"]] and c["photos"]
    # Who looked at his name and phone, as which organisation, when and why.
    assert [(e["complaint_id"], e["reason"]) for e in c["reveals"]] == [(zhang["case"], "上门核实电梯停运情况")]
    assert c["reveals"][0]["by"] and c["reveals"][0]["as"].startswith("staff") and c["reveals"][0]["at"]
    v = parts["voting"]
    assert [b["vote_id"] for b in v["ballots"]] == [zhang["vote"]] and len(v["ballots"][0]["receipt_hash"]) == 64
    assert v["roster_entries"][0]["phone"] == "13900000001"
    k = parts["contests"]
    assert k["idea.author_id"] and k["idea_comment.author_id"][0]["body"] == "赞成，口袋花园要有座椅。"
    if zhang["support"]:
        assert k["idea_support.resident_id"]
    d = parts["deliberation"]
    assert d["delib_topic_comment.author_id"] and d["delib_member.user_id"]
    assert parts["account"]["notifications"]
    text = json.dumps(r.get_json(), ensure_ascii=False)
    leaked = {name for name, phone in OTHERS.items() if name in text or phone in text}
    assert not leaked, leaked


def _hits(needles: dict[str, str], user_id: int) -> dict[str, set[str]]:
    """``{what: {"table.column", ...}}``: where each needle (name, phone, openid) occurs in any text
    of any row, and where the id occurs in any column that refers to an account."""
    fks = _user_foreign_keys() | {"user_account.id"}
    out: dict[str, set[str]] = {k: set() for k in (*needles, "id")}
    db.session.expire_all()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for col, value in row._mapping.items():
                    where = f"{table.name}.{col}"
                    if where in fks and value == user_id:
                        out["id"].add(where)
                    if value is None or isinstance(value, int | float | bool | dt.datetime):
                        continue
                    if isinstance(value, bytes):
                        text = value.decode("utf-8", "replace")
                    elif isinstance(value, str):
                        text = value
                    else:
                        text = json.dumps(value, ensure_ascii=False, default=str)
                    for what, needle in needles.items():
                        if needle in text:
                            out[what].add(where)
    return out


def test_deleting_the_account_leaves_nothing_outside_the_retention_table(client, zhang):
    from civic.core import personal_data, retention
    from civic.core.audit import AuditEntry

    uid = zhang["id"]
    needles = {"name": "张三", "phone": "13900000001", "openid": "dev-zhang_san"}
    before = _hits(needles, uid)
    assert {"voting_roster_person.name", "complaint_reporter.user_id", "unit_resident.user_id",
            "idempotency_record.body"} <= before["name"] | before["id"]
    r = client.delete(f"{API}/me", json={"confirm": "注销账号"}, headers=zhang["headers"])
    assert r.status_code == 204, r.get_json()
    # His token is revoked.
    assert client.get(f"{API}/me", headers=zhang["headers"]).status_code == 401

    after = _hits(needles, uid)
    kept = retention.kept_tables()
    for what in needles:
        outside = {w for w in after[what] if w.split(".")[0] not in kept}
        assert not outside, f"{what} of the deleted resident left in {sorted(outside)}"
    # His id stays only where a record keeps a link to the nameless tombstone (never where the link
    # itself was the personal data: a unit tie, a reporter link, a token, a notification).
    assert after["id"] <= set(personal_data.covered())
    assert not after["id"] & {"unit_resident.user_id", "complaint_reporter.user_id", "api_token.user_id",
                              "notification.user_id", "membership.user_id"}
    # The deletion is audited, by id, with nothing of him.
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "account.deleted"))
    assert entry.object_id == str(uid) and entry.data is None and entry.note is None

    # Kept while the vote's records must be kept: his roster entry and ballot.
    assert "voting_roster_person" in {w.split(".")[0] for w in after["name"] | after["phone"]}
    retention.enforce_retention(now=utcnow() + dt.timedelta(days=30))
    commit()
    assert _hits(needles, uid)["phone"] == after["phone"]  # the vote is still open: nothing expires

    from civic.voting.models import Vote

    vote = db.session.get(Vote, zhang["vote"])
    shi = client.application.test_client()
    from civic.accounts.identity import issue_token

    token, _ = issue_token(_user(username="oc_bj_shi"))
    commit()
    r = shi.post(f"{API}/votes/{vote.id}/transition", json={"action": "close"},
                 headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_json()
    closed = db.session.get(Vote, vote.id).closed_at
    retention.enforce_retention(now=closed + dt.timedelta(days=364))
    commit()
    assert _hits(needles, uid)["phone"] == after["phone"]  # within the year: kept
    done = retention.enforce_retention(now=closed + dt.timedelta(days=366))
    commit()
    assert done["owner_vote.records"] >= 1
    final = _hits(needles, uid)
    assert final["name"] == final["phone"] == final["openid"] == set(), final
    assert "voting_ballot.cast_by_id" not in final["id"]
    assert "voting_roster_person.user_id" not in final["id"]


def test_a_staff_account_is_not_deleted_by_its_holder(client, zhang, factory):
    h = factory.token(_user(username="rc_bj_zhou"))
    r = client.delete(f"{API}/me", json={"confirm": "注销账号"}, headers=h)
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "account_not_resident")


def test_deleting_needs_the_confirmation(client, zhang):
    r = client.delete(f"{API}/me", json={"confirm": "好的"}, headers=zhang["headers"])
    assert r.status_code == 422
    assert client.get(f"{API}/me", headers=zhang["headers"]).status_code == 200


def test_a_resident_corrects_their_name(client, zhang):
    r = client.patch(f"{API}/me", json={"display_name": "  张叁 "}, headers=zhang["headers"])
    assert (r.status_code, r.get_json()["display_name"]) == (200, "张叁")
    r = client.patch(f"{API}/me", json={"display_name": "   "}, headers=zhang["headers"])
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "display_name_invalid")
    assert re.fullmatch(r"张叁", client.get(f"{API}/me", headers=zhang["headers"]).get_json()["display_name"])


def _proxy(client, shi, vid, principal_phone, holder_phone, shared_dir):
    from civic.voting.models import RosterPerson, Vote
    from tests.voting.helpers import scan

    rid = db.session.get(Vote, vid).roster_id
    person = db.session.scalar(sa.select(RosterPerson).where(RosterPerson.roster_id == rid,
                                                             RosterPerson.phone == principal_phone))
    r = client.post(f"{API}/votes/{vid}/proxies", headers=shi, content_type="multipart/form-data",
                    data={"principal_person_id": str(person.id), "holder_name": "邻居", "holder_phone": holder_phone,
                          "scan": scan(shared_dir)})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_a_proxy_holder_s_phone_is_kept_with_the_vote_then_anonymised(client, factory, shared_dir):
    """The neighbour (业主0020, 13900000020) holds 张三's proxy and votes with it, and 业主0021
    holds 李四's and never votes; both delete their accounts.  The used proxy is part of the vote's
    record and keeps the holder until a year after the vote closes; the unused one is anonymised at
    once."""
    from civic.core import retention
    from civic.demo import load_demo
    from civic.voting.models import Matter, Proxy, Vote

    demo = load_demo()
    commit()
    vid = demo["voting"]["vote_id"]
    shi = factory.token(_user(username="oc_bj_shi"))
    used = _proxy(client, shi, vid, "13900000001", "13900000020", shared_dir)
    unused = _proxy(client, shi, vid, "13900000002", "13900000021", shared_dir)
    holder, idle = _user(phone="13900000020"), _user(phone="13900000021")
    hh, ih = factory.token(holder), factory.token(idle)
    matters = db.session.scalars(sa.select(Matter.id).where(Matter.vote_id == vid)).all()
    r = client.post(f"{API}/votes/{vid}/ballot", json={"choices": {str(m): "oppose" for m in matters}}, headers=hh)
    assert (r.status_code, r.get_json()["kind"]) == (201, "proxy")
    mine = client.get(f"{API}/my/data", headers=hh).get_json()["parts"]["voting"]["proxies"]
    assert [(p["vote_id"], p["mine_as"]) for p in mine] == [(vid, "holder")]
    for h in (hh, ih):
        assert client.delete(f"{API}/me", json={"confirm": "注销账号"}, headers=h).status_code == 204
    db.session.expire_all()
    assert db.session.get(Proxy, used).holder_phone == "13900000020"
    assert db.session.get(Proxy, unused).holder_phone == "-"
    assert client.post(f"{API}/votes/{vid}/transition", json={"action": "close"}, headers=shi).status_code == 200
    closed = db.session.get(Vote, vid).closed_at
    retention.enforce_retention(now=closed + dt.timedelta(days=VOTE_DAYS - 1))
    commit()
    db.session.expire_all()
    assert db.session.get(Proxy, used).holder_phone == "13900000020"
    retention.enforce_retention(now=closed + dt.timedelta(days=VOTE_DAYS + 1))
    commit()
    db.session.expire_all()
    assert (db.session.get(Proxy, used).holder_name, db.session.get(Proxy, used).holder_phone) == ("已匿名", "-")
    assert _hits({"phone": "13900000020"}, holder.id)["phone"] == set()


def test_a_deleted_member_s_seat_ends_so_it_counts_toward_no_quorum(client, zhang):
    """张三 chairs the demo lane committee: once his account is deleted he is no member from today
    (a nameless tombstone counting toward every later quorum would change every threshold)."""
    from civic.core.db import SHANGHAI
    from civic.proposals.deliberation.models import CommitteeMember

    seats = db.session.scalars(sa.select(CommitteeMember).where(CommitteeMember.user_id == zhang["id"])).all()
    assert seats and all(s.term_end is None for s in seats)
    assert client.delete(f"{API}/me", json={"confirm": "注销账号"}, headers=zhang["headers"]).status_code == 204
    db.session.expire_all()
    today = utcnow().astimezone(SHANGHAI).date()
    left = db.session.scalars(sa.select(CommitteeMember).where(CommitteeMember.user_id == zhang["id"])).all()
    assert all(s.term_end == today - dt.timedelta(days=1) for s in left)
