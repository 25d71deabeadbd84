"""Votes through the API on a small compound: phases, who may vote, ballots, paper, receipts."""

from __future__ import annotations

import json
import threading

from werkzeug.serving import make_server

from .helpers import Compound, api, make_open_vote, roster_unit_ids, scan, signer_fields, verify


def test_vote_cannot_open_during_notice_period(client, factory, comp):
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})[1]["roster"]["id"]
    api(client, "post", f"/api/v1/rosters/{rid}/certify", h, json={})
    vid = api(client, "post", "/api/v1/votes", h, json={"roster_id": rid, "title": "选举业委会"})[1]["id"]
    api(client, "post", f"/api/v1/votes/{vid}/matters", h, json={"number": 3, "title": "选举"})
    st, vote = api(client, "post", f"/api/v1/votes/{vid}/transition", h, json={"action": "announce"})
    assert (st, vote["state"], vote["notice_days"]) == (200, "announced", 15)
    st, body = api(client, "post", f"/api/v1/votes/{vid}/transition", h, json={"action": "open"})
    assert (st, body["error"]["code"]) == (409, "notice_period_running")


def test_wrong_phase_message_names_the_phase_in_chinese(client, factory, comp):
    v = make_open_vote(client, factory, comp)
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/transition", v["head_token"], json={"action": "publish"})
    assert (st, body["error"]["code"]) == (409, "transition_not_allowed")
    assert body["error"]["message"] == "表决处于“投票中”阶段，不能公布结果"
    assert body["error"]["details"] == {"state": "open", "action": "publish"}


def test_announce_needs_certified_roster(client, factory, comp):
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})[1]["roster"]["id"]
    vid = api(client, "post", "/api/v1/votes", h, json={"roster_id": rid, "title": "选举业委会"})[1]["id"]
    api(client, "post", f"/api/v1/votes/{vid}/matters", h, json={"number": 3, "title": "选举"})
    st, body = api(client, "post", f"/api/v1/votes/{vid}/transition", h, json={"action": "announce"})
    assert (st, body["error"]["code"]) == (409, "roster_not_certified")


def test_transition_needs_committee_head(client, factory, comp):
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})[1]["roster"]["id"]
    vid = api(client, "post", "/api/v1/votes", h, json={"roster_id": rid, "title": "选举业委会"})[1]["id"]
    st, body = api(client, "post", f"/api/v1/votes/{vid}/transition", factory.token(comp.member),
                   json={"action": "announce"})
    assert (st, body["error"]["code"]) == (403, "not_owners_committee")


def test_deemed_mode_needs_rules(client, factory, comp):
    h = factory.token(comp.head)
    rid = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})[1]["roster"]["id"]
    st, body = api(client, "post", "/api/v1/votes", h,
                   json={"roster_id": rid, "title": "x", "counting_mode": "deemed_abstain"})
    assert (st, body["error"]["code"]) == (422, "counting_mode_not_enabled")


def test_owner_of_two_units_votes_once_for_both_and_gets_receipt(client, factory, comp, caplog):
    v = make_open_vote(client, factory, comp)
    t = factory.token(comp.a)
    verified = verify(client, caplog, v["id"], comp.a, t)
    assert [(x["units"], x["area"]) for x in verified["heads"]] == [(2, "180.60")]
    choices = {str(v["matters"][0]): "agree", str(v["matters"][1]): "oppose"}
    st, ballot = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t, json={"choices": choices})
    assert (st, ballot["kind"]) == (201, "online")
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t, json={"choices": choices})
    assert (st, body["error"]["code"]) == (409, "ballot_already_cast")
    st, rec = api(client, "get", f"/api/v1/receipts/{ballot['receipt_code']}", t)
    assert [c["choice"] for c in rec["choices"]] == ["agree", "oppose"]
    assert rec["counted"] is True


def test_ballot_must_answer_every_matter(client, factory, comp, caplog):
    v = make_open_vote(client, factory, comp)
    t = factory.token(comp.a)
    verify(client, caplog, v["id"], comp.a, t)
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t,
                   json={"choices": {str(v["matters"][0]): "agree"}})
    assert (st, body["error"]["code"]) == (422, "ballot_choices_incomplete")


def test_tenant_is_refused(client, factory, comp):
    v = make_open_vote(client, factory, comp)
    t = factory.token(comp.t)
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/verify", t, json={"phone": comp.t.phone})
    assert (st, body["error"]["code"]) == (403, "roster_phone_unknown")
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t,
                   json={"choices": {str(m): "agree" for m in v["matters"]}})
    # Not on the roster, the tenant does not see the vote (votes_visible_to): the ballot route
    # answers as GET /votes/{id} does, as for a vote that does not exist (issue #15).
    assert (st, body["error"]["code"]) == (404, "vote_not_found")


def test_buyer_of_undelivered_unit_is_not_an_owner(client, factory, comp, caplog):
    v = make_open_vote(client, factory, comp)
    t = factory.token(comp.e)
    assert verify(client, caplog, v["id"], comp.e, t)["heads"] == []
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t,
                   json={"choices": {str(m): "agree" for m in v["matters"]}})
    assert (st, body["error"]["code"]) == (403, "ballot_not_owner")


def test_co_owner_needs_registered_proxy(client, factory, comp, caplog, shared_dir):
    v = make_open_vote(client, factory, comp)
    t = factory.token(comp.c)
    person = verify(client, caplog, v["id"], comp.c, t)
    choices = {str(m): "agree" for m in v["matters"]}
    st, body = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t, json={"choices": choices})
    assert (st, body["error"]["code"]) == (403, "ballot_not_representative")
    # B (the representative) authorises C in writing; the committee registers the proxy with its scan.
    b_person = next(o["person_id"] for u in api(client, "get", f"/api/v1/rosters/{v['roster_id']}/units", v["head_token"])[1]["items"]
                    for o in u["owners"] if o["representative"] and u["unit_code"] == comp.units[2].code)
    st, proxy = api(client, "post", f"/api/v1/votes/{v['id']}/proxies", v["head_token"],
                    data={"principal_person_id": str(b_person), "holder_name": "共有人", "holder_phone": comp.c.phone,
                          "scan": scan(shared_dir)}, content_type="multipart/form-data")
    assert st == 201, proxy
    assert proxy["holder_phone"].count("*") == 4
    st, ballot = api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t, json={"choices": choices})
    assert (st, ballot["kind"], ballot["head_id"]) == (201, "proxy", person["heads"][0]["head_id"])


def test_paper_ballot_counts_only_after_another_member_confirms(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp)
    units = roster_unit_ids(v["id"])
    st, entry = api(client, "post", f"/api/v1/votes/{v['id']}/paper-ballots", v["head_token"],
                    data={"roster_unit_id": str(units[comp.units[3].code]),
                          "choices": json.dumps({str(v["matters"][0]): "agree"}), "scan": scan(shared_dir),
                          **signer_fields(v["id"], units[comp.units[3].code])},
                    content_type="multipart/form-data")
    assert st == 201, entry
    st, rec = api(client, "get", f"/api/v1/receipts/{entry['receipt_code']}", v["head_token"])
    assert (rec["counted"], [c["choice"] for c in rec["choices"]]) == (False, ["agree", "blank"])
    st, body = api(client, "post", f"/api/v1/paper-ballots/{entry['id']}/confirm", v["head_token"])
    assert (st, body["error"]["code"]) == (403, "paper_confirm_same_user")
    st, body = api(client, "post", f"/api/v1/paper-ballots/{entry['id']}/confirm", factory.token(comp.member))
    assert (st, body["confirmed"]) == (200, True)
    assert api(client, "get", f"/api/v1/receipts/{entry['receipt_code']}", v["head_token"])[1]["counted"] is True


def test_conflicting_paper_ballots_of_one_head_are_contested_at_entry(client, factory, comp, shared_dir):
    """A's two units are one head (SPC Art. 9): a paper ballot for the second unit that chooses
    otherwise than the first is kept but contested, naming the first (see
    tests/voting/test_one_owner_one_will.py for the rest)."""
    v = make_open_vote(client, factory, comp, numbers=(4,))
    units = roster_unit_ids(v["id"])
    m = str(v["matters"][0])
    out = []
    for unit, choice in ((comp.units[0], "agree"), (comp.units[1], "oppose")):  # A's two units
        out.append(api(client, "post", f"/api/v1/votes/{v['id']}/paper-ballots", v["head_token"],
                       data={"roster_unit_id": str(units[unit.code]), "choices": json.dumps({m: choice}),
                             "scan": scan(shared_dir), **signer_fields(v["id"], units[unit.code])},
                       content_type="multipart/form-data"))
    (st1, first), (st2, body) = out
    assert (st1, st2, body["contested"]) == (201, 201, True)
    assert (body["conflict"]["other_entry_id"], body["conflict"]["other_unit_code"]) == (first["id"], comp.units[0].code)


def test_turnout_shows_who_voted_not_how(client, factory, comp, caplog):
    v = make_open_vote(client, factory, comp)
    t = factory.token(comp.d)
    verify(client, caplog, v["id"], comp.d, t)
    api(client, "post", f"/api/v1/votes/{v['id']}/ballot", t, json={"choices": {str(m): "oppose" for m in v["matters"]}})
    st, body = api(client, "get", f"/api/v1/votes/{v['id']}/turnout", factory.token(comp.member))
    assert (st, body["heads"], body["voted"]) == (200, 4, 1)
    assert "oppose" not in json.dumps(body)
    st, body = api(client, "get", f"/api/v1/votes/{v['id']}/record", factory.token(comp.member))
    assert (st, body["error"]["code"]) == (409, "record_not_available")


def test_owner_in_two_compounds_votes_with_each_compounds_units(client, factory, comp, caplog):
    from decimal import Decimal

    from civic.property import service as reg

    other = Compound(factory)
    mine = reg.create_place(kind="unit", code="OTHER-1-104", name="104室", parent=other.units[0].parent,
                            area=Decimal("100.25"), area_source="registry")
    reg.link_resident(comp.a, mine, "owner")  # A also owns a unit in the other compound
    factory.commit()
    v1 = make_open_vote(client, factory, comp)
    v2 = make_open_vote(client, factory, other)
    t = factory.token(comp.a)
    assert [h["units"] for h in verify(client, caplog, v1["id"], comp.a, t)["heads"]] == [2]
    _age_otps(factory)  # the one-time code may be re-sent after OTP_RESEND_SECONDS
    heads2 = verify(client, caplog, v2["id"], comp.a, t)["heads"]
    assert [(h["units"], h["area"]) for h in heads2] == [(1, "100.25")]


def _age_otps(factory):
    import datetime as dt

    import sqlalchemy as sa

    from civic.accounts.models import OtpChallenge
    from civic.core.db import utcnow
    from civic.extensions import db

    db.session.execute(sa.update(OtpChallenge).values(created_at=utcnow() - dt.timedelta(minutes=2)))
    factory.commit()


def test_concurrent_duplicate_ballots_count_once(app, client, factory, comp, caplog):
    """Twelve threads post the same head's ballot at once against a real server: one 201, the rest
    409 ballot_already_cast, never a 500, and exactly one ballot stored."""
    import http.client

    import sqlalchemy as sa

    from civic.extensions import db
    from civic.voting.models import Ballot

    v = make_open_vote(client, factory, comp)
    t = factory.token(comp.a)
    verify(client, caplog, v["id"], comp.a, t)
    body = json.dumps({"choices": {str(m): "agree" for m in v["matters"]}})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    statuses, codes, barrier = [], [], threading.Barrier(12)

    def post():
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
        barrier.wait()
        conn.request("POST", f"/api/v1/votes/{v['id']}/ballot", body,
                     {"Content-Type": "application/json", **t})
        resp = conn.getresponse()
        statuses.append(resp.status)
        codes.append(json.loads(resp.read()).get("error", {}).get("code"))

    threads = [threading.Thread(target=post) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    server.shutdown()
    assert sorted(statuses) == [201] + [409] * 11
    assert codes.count("ballot_already_cast") == 11
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Ballot.id)).where(Ballot.vote_id == v["id"])) == 1


def test_the_openapi_document_says_paper_ballots_and_proxies_are_multipart(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/votes/{vote_id}/paper-ballots", "/api/v1/votes/{vote_id}/proxies"):
        assert list(paths[path]["post"]["requestBody"]["content"]) == ["multipart/form-data"], path
