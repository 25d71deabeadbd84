"""Who cast a paper ballot (issue #15 point 7): a paper entry records who signed it -- an owner of the
unit (the representative of co-owners), the head's registered proxy, or for a developer-held unit the
developer -- and one signed by someone with no right to vote for the unit is refused (422
``paper_signer_not_entitled``), with the same reason the same person's online ballot gets (SPC
法释〔2009〕7号 Art. 9: the buyer of an undelivered unit is not yet its owner).

The compound (helpers.Compound): A owns 1-101 and 1-102; B (representative) and C co-own 1-103;
D owns 2-101 (T is its tenant); 2-102 is sold to E but not delivered, 2-103 unsold (the developer's)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civic.extensions import db
from civic.voting.models import PaperEntry, RosterPerson

from .helpers import api, enter_paper, make_open_vote, roster_unit_ids, scan, verify

# (signer, unit index in comp.units, what the paper desk gets: None = entered, else details.reason)
CASES = [
    ("a", 0, None),                           # an owner, for their unit
    ("a", 1, None),                           # ... and their other unit (same head, same choice)
    ("b", 2, None),                           # the co-owners' representative
    ("c", 2, "ballot_not_representative"),    # a co-owner who does not represent the unit
    ("d", 3, None),
    ("e", 4, "ballot_not_owner"),             # the buyer of an undelivered unit: not yet its owner
    ("a", 3, "ballot_not_owner"),             # an owner, but of other units
    ("d", 0, "ballot_not_owner"),
    ("developer", 4, None),                   # the developer, for a unit it still holds
    ("developer", 5, None),
    ("developer", 0, "ballot_not_owner"),     # ... and for a delivered unit
]


def _person(vote_id, who, comp) -> int:
    from civic.voting.models import Vote

    roster_id = db.session.get(Vote, vote_id).roster_id
    if who == "developer":
        return db.session.scalar(sa.select(RosterPerson.id).where(RosterPerson.roster_id == roster_id,
                                                                  RosterPerson.kind == "developer"))
    return db.session.scalar(sa.select(RosterPerson.id).where(RosterPerson.roster_id == roster_id,
                                                              RosterPerson.phone == getattr(comp, who).phone))


def test_every_kind_of_signer_is_entered_or_refused_by_the_online_rule(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    units = roster_unit_ids(v["id"])
    mt = factory.token(comp.member)
    seen = []
    for who, i, refused in CASES:
        unit = units[comp.units[i].code]
        signer = {"signer_kind": "owner", "signer_person_id": str(_person(v["id"], who, comp))}
        st, body = enter_paper(client, v, mt, unit, "agree", shared_dir, signer=signer)
        if refused is None:
            assert st == 201, (who, i, body)
            kind = "developer" if who == "developer" else "owner"
            assert (body["signer_kind"], body["signer_person_id"]) == (kind, int(signer["signer_person_id"]))
            seen.append(body["id"])
        else:
            assert (st, body["error"]["code"], body["error"]["details"]["reason"]) == (
                422, "paper_signer_not_entitled", refused), (who, i, body)
    db.session.rollback()
    stored = db.session.execute(sa.select(PaperEntry.id, PaperEntry.signer_kind).where(
        PaperEntry.vote_id == v["id"]).order_by(PaperEntry.id)).all()
    assert [s.id for s in stored] == seen  # nothing of a refused ballot is kept
    assert all(s.signer_kind in ("owner", "developer") for s in stored)


@pytest.mark.parametrize("who, i", [("a", 0), ("b", 2), ("c", 2), ("d", 3), ("e", 4)])
def test_on_paper_exactly_as_online(client, factory, comp, shared_dir, caplog, who, i):
    """The same person is refused on paper for the reason their online ballot is refused, and
    accepted on paper exactly when online."""
    paper_vote = make_open_vote(client, factory, comp, numbers=(4,))
    unit = roster_unit_ids(paper_vote["id"])[comp.units[i].code]
    signer = {"signer_kind": "owner", "signer_person_id": str(_person(paper_vote["id"], who, comp))}
    st_paper, paper = enter_paper(client, paper_vote, factory.token(comp.member), unit, "agree", shared_dir,
                                  signer=signer)
    online_vote = make_open_vote(client, factory, comp, numbers=(4,))
    t = factory.token(getattr(comp, who))
    verify(client, caplog, online_vote["id"], getattr(comp, who), t)
    st_online, online = api(client, "post", f"/api/v1/votes/{online_vote['id']}/ballot", t,
                            json={"choices": {str(online_vote["matters"][0]): "agree"}})
    if st_online == 201:
        assert st_paper == 201, paper
    else:
        assert (st_paper, paper["error"]["details"]["reason"]) == (422, online["error"]["code"]), (paper, online)


def test_a_proxy_signs_only_once_registered_and_the_entry_names_it(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    unit = roster_unit_ids(v["id"])[comp.units[2].code]
    mt = factory.token(comp.member)
    st, body = enter_paper(client, v, mt, unit, "agree", shared_dir, signer={"signer_kind": "proxy"})
    assert (st, body["error"]["code"], body["error"]["details"]["reason"]) == (
        422, "paper_signer_not_entitled", "proxy_not_registered")
    b_person = _person(v["id"], "b", comp)
    st, proxy = api(client, "post", f"/api/v1/votes/{v['id']}/proxies", v["head_token"],
                    data={"principal_person_id": str(b_person), "holder_name": "共有人丙", "holder_phone": comp.c.phone,
                          "scan": scan(shared_dir)}, content_type="multipart/form-data")
    assert st == 201, proxy
    st, body = enter_paper(client, v, mt, unit, "agree", shared_dir, signer={"signer_kind": "proxy"})
    assert st == 201, body
    assert (body["signer_kind"], body["signer_person_id"], body["proxy_id"]) == ("proxy", b_person, proxy["id"])


@pytest.mark.parametrize("signer, code", [
    ({}, None),                                                     # no signer at all: the schema's 422
    ({"signer_kind": "tenant"}, None),                              # not a kind of signer
    ({"signer_kind": "owner"}, "paper_signer_required"),            # owner, but which
    ({"signer_kind": "owner", "signer_person_id": "999999"}, "paper_signer_not_entitled"),  # nobody on the roster
])
def test_a_paper_ballot_without_a_known_signer_is_refused(client, factory, comp, shared_dir, signer, code):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    unit = roster_unit_ids(v["id"])[comp.units[3].code]
    st, body = enter_paper(client, v, factory.token(comp.member), unit, "agree", shared_dir, signer=signer)
    assert st == 422, body
    if code:
        assert body["error"]["code"] == code
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(PaperEntry.id)).where(PaperEntry.vote_id == v["id"])) == 0


def test_the_record_says_who_signed(client, factory, comp, shared_dir):
    v = make_open_vote(client, factory, comp, numbers=(4,))
    units = roster_unit_ids(v["id"])
    mt = factory.token(comp.member)
    st, e = enter_paper(client, v, mt, units[comp.units[5].code], "oppose", shared_dir)
    assert st == 201
    assert api(client, "post", f"/api/v1/paper-ballots/{e['id']}/confirm", v["head_token"])[0] == 200
    assert api(client, "post", f"/api/v1/votes/{v['id']}/transition", v["head_token"], json={"action": "close"})[0] == 200
    st, rec = api(client, "get", f"/api/v1/votes/{v['id']}/record", v["head_token"])
    item = next(i for i in rec["items"] if i["kind"] == "paper")
    assert (item["signer_kind"], item["signer"], item["unit_name"]) == ("developer", "开发建设单位", "测试小区2号楼2-103室")
    assert item["head"] == "测试小区2号楼2-102室、测试小区2号楼2-103室"
