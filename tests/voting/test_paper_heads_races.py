"""One head, one vote for paper entries (SPC Art. 9), and the state changes of owners' votes under
concurrency: a transition, a confirmation or a withdrawal read in one state and acted on after
another writer moved the row is refused with 409, never applied twice or on top of the other.

The deterministic race tests load the row in the request's session (the test client shares it),
change it through another connection, then show the stale action is refused."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from civic.core.audit import AuditEntry
from civic.core.db import utcnow
from civic.extensions import db
from civic.voting import service
from civic.voting.models import Ballot, PaperEntry, Proxy, Roster, RosterPerson, Vote

from .helpers import (
    PHOTO,
    api,
    enter_paper,
    legacy_paper_entry,
    make_open_vote,
    roster_unit_ids,
    scan,
    signer_fields,
    verify,
)


def _confirm(client, token, entry_id):
    return api(client, "post", f"/api/v1/paper-ballots/{entry_id}/confirm", token)


def _transition(client, v, action):
    return api(client, "post", f"/api/v1/votes/{v['id']}/transition", v["head_token"], json={"action": action})


def _elsewhere(stmt):
    """Run ``stmt`` through another connection and commit it: another request, elsewhere."""
    with db.engine.begin() as conn:
        conn.execute(stmt)


def _a_units(comp, v):
    """Roster unit ids of A's two units (one head)."""
    units = roster_unit_ids(v["id"])
    return units[comp.units[0].code], units[comp.units[1].code]


# --- one head, one vote ----------------------------------------------------------------------------

@pytest.mark.parametrize("first_confirmed", [False, True])
def test_a_second_entry_of_one_head_with_other_choices_is_kept_as_contested_naming_the_first(
        client, factory, comp, shared_dir, first_confirmed):
    """One owner, one will: the second paper is kept (with its scan), the head is contested, and
    neither entry can be confirmed -- the result will not stand on the one confirmed first."""
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, u2 = _a_units(comp, v)
    mt = factory.token(comp.member)
    st, first = enter_paper(client, v, mt, u1, "agree", shared_dir)
    assert st == 201, first
    assert first["contested"] is False and first["conflict"] is None
    if first_confirmed:
        assert _confirm(client, v["head_token"], first["id"])[0] == 200
    st, body = enter_paper(client, v, mt, u2, "oppose", shared_dir)
    assert (st, body["contested"]) == (201, True), body
    conflict = body["conflict"]
    assert {k: v for k, v in conflict.items() if k != "message"} == {
        "other_entry_id": first["id"], "other_roster_unit_id": u1, "other_unit_code": comp.units[0].code,
        "other_unit_name": "测试小区1号楼101室", "other_state": "confirmed" if first_confirmed else "pending"}
    assert "测试小区1号楼101室" in conflict["message"] and f"录入编号 {first['id']}" in conflict["message"]
    assert "agree" not in json.dumps(body) and "同意" not in conflict["message"]  # never how the other voted
    # neither can be confirmed while they disagree
    for entry in ([first["id"]] if not first_confirmed else []) + [body["id"]]:
        st, err = _confirm(client, v["head_token"], entry)
        assert (st, err["error"]["code"]) == (409, "paper_ballot_conflicts_head")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(PaperEntry.id)).where(PaperEntry.vote_id == v["id"])) == 2
    assert [c["head_id"] for c in service.conflicting_paper_heads(v["id"])] == [first["head_id"]]


def test_same_choices_for_the_heads_other_unit_are_entered_and_the_head_counts_once(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, u2 = _a_units(comp, v)
    mt = factory.token(comp.member)
    ids = []
    for u in (u1, u2):
        st, e = enter_paper(client, v, mt, u, "agree", shared_dir)
        assert st == 201, e
        ids.append(e["id"])
        assert _confirm(client, v["head_token"], e["id"])[0] == 200
    assert _transition(client, v, "close")[0] == 200
    # two confirmed entries of one head that agree block nothing
    assert service.conflicting_paper_heads(v["id"]) == []
    assert service.available_transitions(v["id"], comp.head) == [
        {"action": "publish", "label": "公布结果", "blocked": None}]
    st, vote = _transition(client, v, "publish")
    assert st == 200, vote
    st, res = api(client, "get", f"/api/v1/votes/{v['id']}/results", v["head_token"])
    m = res["matters"][0]
    # A's head (88.50 + 92.10 m²) takes part once, with its whole area
    assert (m["participating_heads"], m["agreeing_heads"], m["participating_area"]) == (1, 1, "180.60")


def _legacy_entry(v, unit_id, head_id, ballot_id, choice, entered_by, confirmed_by=None, n=0):
    return legacy_paper_entry(v["id"], v["matters"][0], unit_id, head_id, ballot_id, choice, entered_by,
                              confirmed_by, n)


def test_a_conflicting_entry_from_before_the_fix_is_not_confirmed(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, u2 = _a_units(comp, v)
    st, first = enter_paper(client, v, factory.token(comp.member), u1, "agree", shared_dir)
    assert _confirm(client, v["head_token"], first["id"])[0] == 200
    ballot_id = db.session.scalar(sa.select(Ballot.id).where(Ballot.vote_id == v["id"]))
    other = _legacy_entry(v, u2, first["head_id"], ballot_id, "oppose", comp.member.id)
    st, body = _confirm(client, v["head_token"], other)
    assert (st, body["error"]["code"], body["error"]["details"]["other_entry_id"]) == (
        409, "paper_ballot_conflicts_head", first["id"])
    # the way on: the enterer withdraws the wrong (unconfirmed) one
    st, _ = api(client, "post", f"/api/v1/paper-ballots/{other}/withdraw", factory.token(comp.member),
                json={"reason": "与业主核实：录入有误"})
    assert st == 200


def test_conflicting_confirmed_entries_have_a_way_out_through_the_committee_head(client, factory, comp, shared_dir):
    """The tester's stuck vote: two confirmed entries of one head disagree.  Publishing says so; the
    member cannot withdraw a confirmed entry, the committee head can (before publication, with a
    reason, audited); then the vote publishes."""
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, u2 = _a_units(comp, v)
    st, first = enter_paper(client, v, factory.token(comp.member), u1, "agree", shared_dir)
    assert _confirm(client, v["head_token"], first["id"])[0] == 200
    ballot_id = db.session.scalar(sa.select(Ballot.id).where(Ballot.vote_id == v["id"]))
    other = _legacy_entry(v, u2, first["head_id"], ballot_id, "oppose", comp.member.id, comp.head.id)
    assert _transition(client, v, "close")[0] == 200
    st, body = _transition(client, v, "publish")
    assert (st, body["error"]["code"]) == (409, "paper_ballots_contested")
    assert body["error"]["details"]["heads"] == [{
        "head_id": first["head_id"], "unit_codes": sorted([comp.units[0].code, comp.units[1].code]),
        "unit_names": ["测试小区1号楼101室", "测试小区1号楼102室"], "entry_ids": [first["id"], other]}]
    assert "撤回" in body["error"]["message"]
    # the page is told beforehand, in the tally's words, and where the entries are
    db.session.rollback()
    assert service.available_transitions(v["id"], comp.head) == [
        {"action": "publish", "label": "公布结果", "blocked": body["error"]["message"]}]
    assert service.conflicting_paper_heads(v["id"]) == [{
        "head_id": first["head_id"], "unit_codes": body["error"]["details"]["heads"][0]["unit_codes"],
        "unit_names": ["测试小区1号楼101室", "测试小区1号楼102室"], "message": body["error"]["message"],
        "entries": [{"id": first["id"], "roster_unit_id": u1, "unit_code": comp.units[0].code,
                     "unit_name": "测试小区1号楼101室", "state": "confirmed"},
                    {"id": other, "roster_unit_id": u2, "unit_code": comp.units[1].code,
                     "unit_name": "测试小区1号楼102室", "state": "confirmed"}]}]
    st, body = api(client, "post", f"/api/v1/paper-ballots/{other}/withdraw", factory.token(comp.member),
                   json={"reason": "录错"})
    assert (st, body["error"]["code"]) == (409, "paper_already_confirmed")
    st, body = api(client, "post", f"/api/v1/paper-ballots/{other}/withdraw", v["head_token"],
                   json={"reason": "与业主核实，本户选择同意，反对票录入有误"})
    assert (st, body["withdrawn"], body["confirmed"]) == (200, True, True)
    row = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "paper_ballot.withdraw_confirmed"))
    assert (row.actor_id, row.data["paper_entry_id"], row.data["confirmed_by_id"], row.note) == (
        comp.head.id, other, comp.head.id, "与业主核实，本户选择同意，反对票录入有误")
    st, vote = _transition(client, v, "publish")
    assert (st, vote["state"]) == (200, "published")
    st, res = api(client, "get", f"/api/v1/votes/{v['id']}/results", v["head_token"])
    assert (res["matters"][0]["agreeing_heads"], res["matters"][0]["participating_heads"]) == (1, 1)
    st, rec = api(client, "get", f"/api/v1/votes/{v['id']}/record", v["head_token"])
    kept = next(i for i in rec["items"] if i.get("unit_code") == comp.units[1].code)
    assert (kept["counted"], kept["withdrawal_reason"]) == (False, "与业主核实，本户选择同意，反对票录入有误")


def test_a_confirmed_entry_cannot_be_withdrawn_once_published(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    st, e = enter_paper(client, v, factory.token(comp.member), u1, "agree", shared_dir)
    _confirm(client, v["head_token"], e["id"])
    _transition(client, v, "close")
    assert _transition(client, v, "publish")[0] == 200
    st, body = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", v["head_token"],
                   json={"reason": "晚了"})
    assert (st, body["error"]["code"]) == (409, "vote_state_invalid")


def test_a_withdrawal_racing_the_publication_is_refused(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    st, e = enter_paper(client, v, factory.token(comp.member), u1, "agree", shared_dir)
    _confirm(client, v["head_token"], e["id"])
    _transition(client, v, "close")
    held = db.session.get(Vote, v["id"])  # kept referenced: the identity map holds weak references
    assert held.state == "closed"  # the request's session holds "closed" ...
    _elsewhere(sa.update(Vote).where(Vote.id == v["id"]).values(state="published"))  # ... published meanwhile
    st, body = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", v["head_token"],
                   json={"reason": "核实"})
    assert (st, body["error"]["code"], body["error"]["details"]["state"]) == (409, "vote_state_invalid", "published")
    db.session.expire_all()
    assert db.session.get(PaperEntry, e["id"]).withdrawn_at is None


def _service_threads(app, n, work):
    """Run ``work(i)`` in ``n`` threads, each in its own app context and session, all released at
    once; returns ``{i: "ok" | error code}``."""
    from civic.core.db import commit
    from civic.core.errors import CivicError

    barrier = threading.Barrier(n)
    results: dict[int, str] = {}

    def run(i):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                work(i)
                commit()
                results[i] = "ok"
            except CivicError as exc:
                results[i] = exc.code
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_conflicting_entries_of_one_head_entered_at_once_see_each_other(app, client, factory, comp, shared_dir):
    from civic.accounts.models import User
    from civic.voting import service

    v = make_open_vote(client, factory, comp, numbers=(4,))
    units = _a_units(comp, v)
    m = str(v["matters"][0])
    photo = (shared_dir / "photos" / PHOTO).read_bytes()
    users = [comp.member.id, comp.head.id]
    db.session.rollback()

    contested = {}
    signer = {"signer_kind": "owner", "signer_person_id": int(signer_fields(v["id"], units[0])["signer_person_id"])}
    db.session.rollback()

    def work(i):
        out = service.enter_paper_ballot(v["id"], {"roster_unit_id": units[i], "choices": {m: ("agree", "oppose")[i]},
                                                   **signer}, ("scan.jpg", photo), db.session.get(User, users[i]))
        contested[i] = out["contested"]

    results = _service_threads(app, 2, work)
    assert sorted(results.values()) == ["ok", "ok"], results
    # the second to be written saw the first (one head's entries are checked one at a time)
    assert sorted(contested.values()) == [False, True], contested
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(PaperEntry.id)).where(PaperEntry.vote_id == v["id"])) == 2
    assert len(service.conflicting_paper_heads(v["id"])) == 1


# --- confirm and withdraw are exclusive ------------------------------------------------------------

def test_confirming_an_entry_withdrawn_meanwhile_is_refused(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    st, e = enter_paper(client, v, factory.token(comp.member), u1, "agree", shared_dir)
    held = db.session.get(PaperEntry, e["id"])  # kept referenced: the identity map holds weak references
    assert held.withdrawn_at is None  # held as pending ...
    _elsewhere(sa.update(PaperEntry).where(PaperEntry.id == e["id"]).values(  # ... member A withdraws it
        withdrawn_at=utcnow(), withdrawn_by_id=comp.member.id, withdrawal_reason="录错"))
    st, body = _confirm(client, v["head_token"], e["id"])  # member B confirms from the stale view
    assert (st, body["error"]["code"]) == (409, "paper_already_withdrawn")
    db.session.expire_all()
    assert db.session.get(PaperEntry, e["id"]).confirmed_at is None


def test_withdrawing_an_entry_confirmed_meanwhile_is_refused(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    mt = factory.token(comp.member)
    st, e = enter_paper(client, v, mt, u1, "agree", shared_dir)
    held = db.session.get(PaperEntry, e["id"])  # kept referenced: the identity map holds weak references
    assert held.confirmed_at is None
    _elsewhere(sa.update(PaperEntry).where(PaperEntry.id == e["id"]).values(
        confirmed_at=utcnow(), confirmed_by_id=comp.head.id))
    st, body = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", mt, json={"reason": "录错"})
    assert (st, body["error"]["code"]) == (409, "paper_already_confirmed")
    db.session.expire_all()
    row = db.session.get(PaperEntry, e["id"])
    assert (row.withdrawn_at, row.confirmed_by_id) == (None, comp.head.id)


def test_the_head_withdrawing_a_confirmed_entry_withdrawn_meanwhile_is_refused(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    st, e = enter_paper(client, v, factory.token(comp.member), u1, "agree", shared_dir)
    _confirm(client, v["head_token"], e["id"])
    held = db.session.get(PaperEntry, e["id"])  # kept referenced: the identity map holds weak references
    assert held.withdrawn_at is None  # the head's view: confirmed, live
    _elsewhere(sa.update(PaperEntry).where(PaperEntry.id == e["id"]).values(
        withdrawn_at=utcnow(), withdrawn_by_id=comp.head.id, withdrawal_reason="第一次"))
    st, body = api(client, "post", f"/api/v1/paper-ballots/{e['id']}/withdraw", v["head_token"],
                   json={"reason": "第二次"})
    assert (st, body["error"]["code"]) == (409, "paper_already_withdrawn")
    db.session.expire_all()
    assert db.session.get(PaperEntry, e["id"]).withdrawal_reason == "第一次"
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.action.like("paper_ballot.withdraw%"))) == 0


def test_confirm_and_withdraw_at_once_exactly_one_wins(app, client, factory, comp, shared_dir):
    from civic.accounts.models import User
    from civic.voting import service

    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    st, e = enter_paper(client, v, factory.token(comp.member), u1, "agree", shared_dir)
    head_id, member_id = comp.head.id, comp.member.id  # read here: the threads must not touch this session
    db.session.rollback()

    def work(i):
        if i == 0:
            service.confirm_paper_ballot(e["id"], db.session.get(User, head_id))
        else:
            service.withdraw_paper_ballot(e["id"], {"reason": "录错"}, db.session.get(User, member_id))

    results = _service_threads(app, 2, work)
    assert sorted(results.values()) in (["ok", "paper_already_withdrawn"], ["ok", "paper_already_confirmed"]), results
    db.session.rollback()
    row = db.session.get(PaperEntry, e["id"])
    assert (row.confirmed_at is None) != (row.withdrawn_at is None)


# --- phases, roster, owners, proxies ---------------------------------------------------------------

def test_a_phase_change_made_meanwhile_refuses_the_stale_one(client, factory, comp, caplog):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    held = db.session.get(Vote, v["id"])  # kept referenced: the identity map holds weak references
    assert held.state == "open"
    _elsewhere(sa.update(Vote).where(Vote.id == v["id"]).values(state="closed", closed_at=utcnow()))
    st, body = _transition(client, v, "close")
    assert (st, body["error"]["code"], body["error"]["details"]["state"]) == (409, "transition_not_allowed", "closed")
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "vote.close")) == 0


def test_a_ballot_cast_as_the_vote_closes_is_refused(client, factory, comp, caplog):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    t = factory.token(comp.a)
    verify(client, caplog, v["id"], comp.a, t)
    held = db.session.get(Vote, v["id"])  # kept referenced: the identity map holds weak references
    assert held.state == "open"
    _elsewhere(sa.update(Vote).where(Vote.id == v["id"]).values(state="closed", closed_at=utcnow()))
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t,
                   json={"choices": {str(v["matters"][0]): "agree"}})
    assert (st, body["error"]["code"]) == (409, "vote_not_open")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Ballot.id)).where(Ballot.vote_id == v["id"])) == 0


def test_a_paper_entry_made_as_the_results_are_published_is_refused(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    u1, _ = _a_units(comp, v)
    mt = factory.token(comp.member)  # (it commits, which would reload what the session holds)
    _transition(client, v, "close")
    held = db.session.get(Vote, v["id"])  # kept referenced: the identity map holds weak references
    assert held.state == "closed"
    _elsewhere(sa.update(Vote).where(Vote.id == v["id"]).values(state="published"))
    st, body = enter_paper(client, v, mt, u1, "agree", shared_dir)
    assert (st, body["error"]["code"]) == (409, "vote_state_invalid")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(PaperEntry.id)).where(PaperEntry.vote_id == v["id"])) == 0


def test_a_matter_added_as_the_vote_is_announced_is_refused(client, factory, comp):
    h = factory.token(comp.head)
    st, roster = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})
    rid = roster["roster"]["id"]
    api(client, "post", f"/api/v1/rosters/{rid}/certify", h, json={})
    st, vote = api(client, "post", "/api/v1/votes", h, json={"roster_id": rid, "title": "续聘物业"})
    held = db.session.get(Vote, vote["id"])  # kept referenced: the identity map holds weak references
    assert held.state == "draft"
    _elsewhere(sa.update(Vote).where(Vote.id == vote["id"]).values(state="announced"))
    st, body = api(client, "post", f"/api/v1/votes/{vote['id']}/matters", h,
                   json={"number": 4, "title": "第4项事项", "text": "说明"})
    assert (st, body["error"]["code"]) == (409, "vote_not_draft")


def _draft_roster(client, factory, comp):
    h = factory.token(comp.head)
    st, roster = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})
    assert st == 201, roster
    return roster["roster"]["id"], h


def test_certifying_a_roster_certified_meanwhile_is_refused(client, factory, comp):
    rid, h = _draft_roster(client, factory, comp)
    held = db.session.get(Roster, rid)  # kept referenced: the identity map holds weak references
    assert held.status == "draft"
    _elsewhere(sa.update(Roster).where(Roster.id == rid).values(status="certified", certified_at=utcnow()))
    st, body = api(client, "post", f"/api/v1/rosters/{rid}/certify", h, json={})
    assert (st, body["error"]["code"]) == (409, "roster_certified")
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "roster.certify")) == 0


def test_importing_into_a_roster_certified_meanwhile_is_refused(client, factory, comp):
    from civic.accounts.models import User
    from civic.core.errors import Conflict
    from civic.voting import roster as rosters
    from civic.voting.models import RosterUnit

    rid, _ = _draft_roster(client, factory, comp)
    held = db.session.get(Roster, rid)  # kept referenced: the identity map holds weak references
    assert held.status == "draft"
    before = db.session.scalar(sa.select(sa.func.count(RosterUnit.id)).where(RosterUnit.roster_id == rid))
    _elsewhere(sa.update(Roster).where(Roster.id == rid).values(status="certified", certified_at=utcnow()))
    csv = "unit_code,building,area_m2,area_source,owners\n9-901,9号楼,90.00,registry,王五|13800009999\n"
    with pytest.raises(Conflict) as exc:
        rosters.import_csv(rid, csv, db.session.get(User, comp.head.id))
    assert exc.value.code == "roster_certified"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(RosterUnit.id)).where(RosterUnit.roster_id == rid)) == before


def test_an_owner_linked_to_another_account_meanwhile_is_not_relinked(client, factory, comp, caplog):
    from .helpers import otp_from_log

    v = make_open_vote(client, factory, comp, numbers=(4,))
    t = factory.token(comp.a)
    assert api(client, "post", f"/api/v1/votes/{v['id']}/verify", t, json={"phone": comp.a.phone})[0] == 200
    code = otp_from_log(caplog, comp.a.phone)
    person = db.session.scalar(sa.select(RosterPerson).where(RosterPerson.roster_id == v["roster_id"],
                                                             RosterPerson.phone == comp.a.phone))
    assert person.user_id is None  # held as unlinked ...
    _elsewhere(sa.update(RosterPerson).where(RosterPerson.id == person.id).values(user_id=comp.b.id))  # ... linked
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/verify", t, json={"phone": comp.a.phone, "code": code})
    assert (st, body["error"]["code"]) == (409, "roster_person_linked")
    db.session.expire_all()
    assert db.session.get(RosterPerson, person.id).user_id == comp.b.id


def test_a_proxy_registered_meanwhile_for_the_head_is_a_409_not_a_500(client, factory, comp, shared_dir, monkeypatch):
    from civic.voting.service import electorate

    v = make_open_vote(client, factory, comp, numbers=(4,))
    b_person = next(o["person_id"] for u in api(client, "get", f"/api/v1/rosters/{v['roster_id']}/units",
                                                  v["head_token"])[1]["items"]
                    for o in u["owners"] if o["representative"] and u["unit_code"] == comp.units[2].code)
    real = electorate.process_photos

    def photos_then_a_rival(files, store):
        # another member registers a proxy for the same head while this request stores its scan
        head_id = db.session.scalar(sa.text("SELECT head_id FROM voting_head_member WHERE vote_id = :v AND "
                                            "person_id = :p"), {"v": v["id"], "p": b_person})
        _elsewhere(sa.insert(Proxy).values(vote_id=v["id"], head_id=head_id, principal_person_id=b_person,
                                           holder_name="他人", holder_phone="13900000000", scan_key="k",
                                           scan_thumb_key="t", registered_by_id=comp.head.id, registered_at=utcnow()))
        return real(files, store=store)

    monkeypatch.setattr(electorate, "process_photos", photos_then_a_rival)
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/proxies", v["head_token"],
                   data={"principal_person_id": str(b_person), "holder_name": "共有人", "holder_phone": comp.c.phone,
                         "scan": scan(shared_dir)}, content_type="multipart/form-data")
    assert (st, body["error"]["code"]) == (409, "proxy_exists")
