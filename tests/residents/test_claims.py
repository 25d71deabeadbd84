"""Issue #16 point 2: a resident claims a unit; whoever holds the truth for it decides.

Each path (roster auto-match, the owners' committee, a document checked by the residents'
committee or property company, a tenant confirmed by the owner, a refusal, an unlink), each refusal
(no such unit, a duplicate, a verifier of another organisation), and two verifiers at once."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from civic.core.audit import AuditEntry
from civic.extensions import db
from tests.shared import PHOTOS

API = "/api/v1"
ROSTER_NAME, ROSTER_PHONE = "王芳", "13900000001"


def _doc():
    p = PHOTOS / "ianare_landscape_2.jpg"
    return (io.BytesIO(p.read_bytes()), p.name)


class Street:
    """Two compounds in two communities.  Compound 1 (units 101, 102) has its owners' committee,
    residents' committee and property company, and a certified roster listing 101 only, owned by
    王芳 (13900000001).  Compound 2 has its own residents' committee and property company."""

    def __init__(self, factory, client):
        from civic.core.db import commit
        from civic.voting import roster

        lad = factory.ladder()
        self.u101, self.u102 = lad["units"]
        self.building = lad["building"]
        self.oc = factory.org("owners_committee", [lad["compound"]])
        self.rc = factory.org("residents_committee", [lad["community"]])
        self.pc = factory.org("property_company", [lad["compound"]])
        self.oc_head = factory.staff(self.oc, "head")
        self.rc_staff = factory.staff(self.rc)
        self.pc_staff = factory.staff(self.pc)
        other = factory.ladder()
        self.other_unit = other["units"][0]
        self.other_rc = factory.staff(factory.org("residents_committee", [other["community"]]))
        self.other_pc = factory.staff(factory.org("property_company", [other["compound"]]))
        self.admin = factory.admin()
        r = roster.create_roster(place_id=lad["compound"].id, name=None, source="csv", actor=self.oc_head)
        roster.import_csv(r.id, "unit_code,building,area_m2,area_source,owners\n"
                                f"{self.u101.code},1号楼,88.50,registry,{ROSTER_NAME}|{ROSTER_PHONE}\n", self.oc_head)
        roster.certify(r.id, published_on=None, actor=self.oc_head)
        commit()
        self.factory, self.client = factory, client

    def h(self, user):
        return self.factory.token(user)

    def claim(self, user, unit, relation="owner", name="李明", document=False):
        data = {"unit_id": str(unit.id), "relation": relation, "claimed_name": name}
        if document:
            data["document"] = _doc()
        return self.client.post(f"{API}/my/unit-claims", data=data, headers=self.h(user),
                                content_type="multipart/form-data")

    def post(self, user, url, json=None):
        return self.client.post(f"{API}{url}", json=json, headers=self.h(user))


@pytest.fixture
def street(factory, client):
    return Street(factory, client)


def _code(r):
    return r.get_json()["error"]["code"]


def _units_of(street, user):
    return [(u["unit_id"], u["relation"]) for u in street.client.get(f"{API}/my/units",
                                                                      headers=street.h(user)).get_json()["items"]]


def _audit(action):
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


# --- the paths --------------------------------------------------------------------------------

def test_a_name_and_phone_on_the_certified_roster_confirm_at_once(street, factory):
    wang = factory.resident(phone=ROSTER_PHONE)
    r = street.claim(wang, street.u101, name=ROSTER_NAME)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["status"], body["decided_via"]) == ("confirmed", "roster")
    assert _units_of(street, wang) == [(street.u101.id, "owner")]
    assert [e.data["via"] for e in _audit("unit_claim.confirm")] == ["roster"]


def test_no_match_on_the_roster_goes_to_the_owners_committee(street, factory):
    li = factory.resident()
    r = street.claim(li, street.u101, name=ROSTER_NAME)  # right name, another phone
    assert r.status_code == 201 and r.get_json()["status"] == "pending"
    cid = r.get_json()["id"]
    assert [c["id"] for c in street.client.get(f"{API}/unit-claims", headers=street.h(street.oc_head))
            .get_json()["items"]] == [cid]
    # The unit is on a certified roster: the owners' committee holds the truth, not the property company.
    assert street.client.get(f"{API}/unit-claims", headers=street.h(street.pc_staff)).get_json()["items"] == []
    assert street.post(street.pc_staff, f"/unit-claims/{cid}/confirm").status_code == 404
    r = street.post(street.oc_head, f"/unit-claims/{cid}/confirm")
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["status"], r.get_json()["decided_via"]) == ("confirmed", "owners_committee")
    assert _units_of(street, li) == [(street.u101.id, "owner")]
    entry = _audit("unit_claim.confirm")[-1]
    assert entry.actor_id == street.oc_head.id and entry.actor_role.endswith("@owners_committee")


def test_a_document_is_checked_by_the_residents_committee_seen_only_by_it_and_deleted_after(street, factory):
    from civic.core.storage import media_store
    from civic.residents.models import UnitClaim

    li = factory.resident()
    r = street.claim(li, street.u102)
    assert (r.status_code, _code(r)) == (422, "claim_document_required")
    r = street.claim(li, street.u102, document=True)
    assert r.status_code == 201 and r.get_json()["document_url"] is None  # not for the claimant
    cid = r.get_json()["id"]
    claim = db.session.get(UnitClaim, cid)
    keys = [claim.document_key, claim.document_thumb_key]
    assert all(media_store().exists(k) for k in keys)
    url = street.client.get(f"{API}/unit-claims/{cid}", headers=street.h(street.rc_staff)).get_json()["document_url"]
    assert url and url.startswith(f"{API}/unit-claims/{cid}/document/")
    got = street.client.get(url, headers=street.h(street.rc_staff))
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert _audit("media.opened")[-1].data["kind"] == "residents.claim_document"
    for outsider in (li, street.other_rc, street.oc_head):  # the claimant, another community, not its verifier
        assert street.client.get(url, headers=street.h(outsider)).status_code == 404
    r = street.post(street.rc_staff, f"/unit-claims/{cid}/confirm")
    assert r.status_code == 200 and r.get_json()["decided_via"] == "residents_committee"
    assert _units_of(street, li) == [(street.u102.id, "owner")]
    assert not any(media_store().exists(k) for k in keys)
    db.session.expire_all()
    assert db.session.get(UnitClaim, cid).document_key is None
    assert street.client.get(url, headers=street.h(street.rc_staff)).status_code == 404


def test_the_property_company_may_check_a_document_too(street, factory):
    li = factory.resident()
    cid = street.claim(li, street.u102, relation="co_owner", document=True).get_json()["id"]
    r = street.post(street.pc_staff, f"/unit-claims/{cid}/confirm")
    assert r.status_code == 200 and r.get_json()["decided_via"] == "property_company"
    assert _units_of(street, li) == [(street.u102.id, "co_owner")]


def test_a_tenant_is_confirmed_by_the_units_owner(street, factory):
    owner = factory.resident(units=[street.u102])
    neighbour = factory.resident(units=[street.u101])
    tenant = factory.resident()
    r = street.claim(tenant, street.u102, relation="tenant")
    assert r.status_code == 201 and r.get_json()["status"] == "pending"
    cid = r.get_json()["id"]
    queue = street.client.get(f"{API}/unit-claims", headers=street.h(owner)).get_json()["items"]
    assert [c["id"] for c in queue] == [cid]
    assert street.client.get(f"{API}/unit-claims", headers=street.h(neighbour)).get_json()["items"] == []
    assert street.post(neighbour, f"/unit-claims/{cid}/confirm").status_code == 404
    r = street.post(owner, f"/unit-claims/{cid}/confirm")
    assert r.status_code == 200 and r.get_json()["decided_via"] == "owner"
    assert _units_of(street, tenant) == [(street.u102.id, "tenant")]


def test_a_refusal_carries_its_reason_deletes_the_document_and_is_final(street, factory):
    from civic.core.storage import media_store
    from civic.residents.models import UnitClaim

    li = factory.resident()
    cid = street.claim(li, street.u102, document=True).get_json()["id"]
    key = db.session.get(UnitClaim, cid).document_key
    assert street.post(street.rc_staff, f"/unit-claims/{cid}/refuse", {"reason": "  "}).status_code == 422
    r = street.post(street.rc_staff, f"/unit-claims/{cid}/refuse", {"reason": "产权证姓名与申请人不符"})
    assert r.status_code == 200
    mine = street.client.get(f"{API}/my/unit-claims", headers=street.h(li)).get_json()["items"]
    assert [(c["status"], c["refusal_reason"]) for c in mine] == [("refused", "产权证姓名与申请人不符")]
    assert not media_store().exists(key)
    assert _units_of(street, li) == []
    assert _audit("unit_claim.refuse")[-1].note == "产权证姓名与申请人不符"
    again = street.post(street.pc_staff, f"/unit-claims/{cid}/confirm")
    assert (again.status_code, _code(again)) == (409, "claim_decided")
    assert _units_of(street, li) == []
    assert street.claim(li, street.u102, document=True).status_code == 201  # may claim again


def test_unlinking_by_oneself_the_owner_or_the_committee(street, factory):
    from civic.property import service as registry

    owner = factory.resident(units=[street.u102])
    tenant = factory.resident(units=[street.u102], relation="tenant")
    mover = factory.resident(units=[street.u101])
    stranger = factory.resident()
    link = {u: registry.link_of(u.id, street.u102.id if u is not mover else street.u101.id).id
            for u in (owner, tenant, mover)}
    assert street.client.delete(f"{API}/my/units/{link[tenant]}", headers=street.h(owner)).status_code == 404
    assert street.client.delete(f"{API}/unit-residents/{link[owner]}", headers=street.h(stranger)).status_code == 404
    assert street.client.delete(f"{API}/unit-residents/{link[owner]}",
                                headers=street.h(street.other_rc)).status_code == 404
    # An owner ends a tenant's tie, not another owner's.
    assert street.client.delete(f"{API}/unit-residents/{link[owner]}", headers=street.h(tenant)).status_code == 404
    assert street.client.delete(f"{API}/unit-residents/{link[tenant]}", headers=street.h(owner)).status_code == 204
    assert street.client.delete(f"{API}/my/units/{link[mover]}", headers=street.h(mover)).status_code == 204
    assert street.client.delete(f"{API}/unit-residents/{link[owner]}",
                                headers=street.h(street.rc_staff)).status_code == 204
    assert [_units_of(street, u) for u in (owner, tenant, mover)] == [[], [], []]
    assert sorted(e.data["by"] for e in _audit("unit_resident.unlink")) == ["owner", "residents_committee", "self"]


def test_an_unlinked_resident_keeps_their_cases(street, factory):
    from civic.property import service as registry
    from tests.complaints.helpers import submit

    mover = factory.resident(units=[street.u101])
    h = street.h(mover)
    r = submit(street.client, h, category="noise", description="楼上装修噪音，晚上十点以后还在施工",
               place_id=street.u101.id)
    assert r.status_code == 201, r.get_json()
    case = r.get_json()["id"]
    link = registry.link_of(mover.id, street.u101.id).id
    assert street.client.delete(f"{API}/my/units/{link}", headers=h).status_code == 204
    got = street.client.get(f"{API}/complaints/{case}", headers=h)
    assert got.status_code == 200 and got.get_json()["status"] == "routed"  # still open, still theirs
    assert case in [c["id"] for c in street.client.get(f"{API}/my/complaints", headers=h).get_json()["items"]]


# --- bad input and races ----------------------------------------------------------------------

def test_a_claim_for_a_unit_that_does_not_exist_changes_nothing(street, factory):
    from civic.residents.models import UnitClaim

    li = factory.resident()
    for unit_id in (999999, street.building.id):  # no such place; a building, not a unit
        r = street.client.post(f"{API}/my/unit-claims", data={"unit_id": str(unit_id), "relation": "owner",
                                                              "claimed_name": "李明", "document": _doc()},
                               headers=street.h(li), content_type="multipart/form-data")
        assert (r.status_code, _code(r)) == (404, "unit_not_found")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitClaim)) == 0


def test_a_duplicate_claim_and_a_claim_on_ones_own_unit_are_refused(street, factory):
    li = factory.resident()
    assert street.claim(li, street.u102, document=True).status_code == 201
    r = street.claim(li, street.u102, document=True)
    assert (r.status_code, _code(r)) == (409, "claim_duplicate")
    assert len(street.client.get(f"{API}/my/unit-claims", headers=street.h(li)).get_json()["items"]) == 1
    owner = factory.resident(units=[street.u101])
    r = street.claim(owner, street.u101, relation="tenant")
    assert (r.status_code, _code(r)) == (409, "already_linked")


def test_a_verifier_of_another_organisation_is_refused_and_nothing_changes(street, factory):
    li = factory.resident()
    cid = street.claim(li, street.u102, document=True).get_json()["id"]
    for outsider in (street.other_rc, street.other_pc):
        assert street.client.get(f"{API}/unit-claims/{cid}", headers=street.h(outsider)).status_code == 404
        r = street.post(outsider, f"/unit-claims/{cid}/confirm")
        assert (r.status_code, _code(r)) == (404, "claim_not_found")
        r = street.post(outsider, f"/unit-claims/{cid}/refuse", {"reason": "不符"})
        assert (r.status_code, _code(r)) == (404, "claim_not_found")
    r = street.post(li, f"/unit-claims/{cid}/confirm")  # the claimant sees it, may not decide it
    assert (r.status_code, _code(r)) == (403, "claim_not_verifier")
    assert street.client.get(f"{API}/unit-claims/{cid}", headers=street.h(li)).get_json()["status"] == "pending"
    assert _units_of(street, li) == []


def test_two_verifiers_deciding_at_once_one_wins_the_other_gets_409(street, factory):
    """The second verifier read the claim as pending; the first one's decision commits before the
    second writes (another connection, as another worker would): the second gets 409 and changes
    nothing -- no tie, no audit entry of theirs."""
    from civic.residents import service
    from civic.residents.models import UnitClaim

    li = factory.resident()
    cid = street.claim(li, street.u102, document=True).get_json()["id"]
    claim = db.session.get(UnitClaim, cid)
    assert claim.status == "pending"  # read by the second verifier
    with db.engine.begin() as other:  # the first verifier's decision, committed meanwhile
        other.execute(sa.update(UnitClaim.__table__).where(UnitClaim.id == cid)
                      .values(status="refused", decided_via="property_company", refusal_reason="材料不清"))
    from civic.core.errors import Conflict

    with pytest.raises(Conflict) as exc:
        service._decide(claim, street.rc_staff, "confirmed", via="residents_committee", reason=None)
    assert exc.value.code == "claim_decided"
    db.session.rollback()
    assert _units_of(street, li) == []
    assert _audit("unit_claim.confirm") == []


def test_two_verifiers_at_once_in_two_threads_one_wins(app, street, factory):
    """The residents' committee confirms and the property company refuses at the same moment, each
    in its own session and transaction: exactly one decision holds, the other gets 409."""
    from civic.accounts.models import User
    from civic.residents import service
    from civic.residents.models import UnitClaim
    from tests.voting.test_paper_heads_races import _service_threads

    li = factory.resident()
    cid = street.claim(li, street.u102, document=True).get_json()["id"]
    deciders = [street.rc_staff.id, street.pc_staff.id]
    db.session.rollback()

    def work(i):
        user = db.session.get(User, deciders[i])
        if i == 0:
            service.confirm_claim(user, cid)
        else:
            service.refuse_claim(user, cid, "材料不清")

    results = _service_threads(app, 2, work)
    assert sorted(results.values()) == ["claim_decided", "ok"], results
    db.session.expire_all()
    claim = db.session.get(UnitClaim, cid)
    winner = "confirmed" if results[0] == "ok" else "refused"
    assert claim.status == winner and claim.document_key is None
    assert _units_of(street, li) == ([(street.u102.id, "owner")] if winner == "confirmed" else [])
    assert len(_audit("unit_claim.confirm") + _audit("unit_claim.refuse")) == 1


def test_the_same_claim_sent_twice_at_once_makes_one(app, street, factory):
    from civic.accounts.models import User
    from civic.residents import service
    from civic.residents.models import UnitClaim
    from tests.voting.test_paper_heads_races import _service_threads

    tenant = factory.resident()
    # Read before the threads start: an expired object would load through this thread's session.
    tenant_id, unit_id = tenant.id, street.u102.id
    db.session.rollback()

    def work(i):
        service.submit_claim(db.session.get(User, tenant_id), {"unit_id": unit_id, "relation": "tenant",
                                                              "claimed_name": "周强"}, None)

    results = _service_threads(app, 2, work)
    assert sorted(results.values()) == ["claim_duplicate", "ok"], results
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitClaim)) == 1


def test_what_a_resident_may_do_follows_from_the_confirmed_tie(street, factory):
    """Filing by address needs a home: refused before the claim is confirmed, placed at the unit's
    community after (civic.complaints.service.intake reads the tie, not the claim)."""
    from tests.complaints.helpers import submit

    li = factory.resident()
    h = street.h(li)
    before = submit(street.client, h, category="noise", description="夜里施工噪音很大，影响休息",
                    address="1号楼102室")
    assert (before.status_code, _code(before)) == (422, "location_required")
    cid = street.claim(li, street.u102, document=True).get_json()["id"]
    assert street.post(street.rc_staff, f"/unit-claims/{cid}/confirm").status_code == 200
    after = submit(street.client, h, category="noise", description="夜里施工噪音很大，影响休息",
                   address="1号楼102室")
    assert after.status_code == 201, after.get_json()


def test_a_document_that_is_also_a_case_photo_outlives_the_claim(street, factory):
    """The store is content-addressed: the same photo sent as a case's photo and as a claim's
    document is one file, deleted with the claim only if nothing else holds it."""
    from civic.core.storage import media_store
    from civic.residents.models import UnitClaim
    from tests.complaints.helpers import submit

    li = factory.resident(units=[street.u101])
    case = submit(street.client, street.h(li), category="noise", description="楼上装修噪音，晚上十点以后还在施工",
                  photos=("ianare_landscape_2.jpg",), place_id=street.u101.id)
    assert case.status_code == 201, case.get_json()
    cid = street.claim(li, street.u102, document=True).get_json()["id"]  # the same photo
    claim = db.session.get(UnitClaim, cid)
    keys = [claim.document_key, claim.document_thumb_key]
    from civic.complaints.models import ComplaintPhoto

    assert db.session.scalar(sa.select(ComplaintPhoto.display_key).where(
        ComplaintPhoto.complaint_id == case.get_json()["id"])) == keys[0]  # one file, two holders
    assert street.post(street.rc_staff, f"/unit-claims/{cid}/refuse", {"reason": "不是产权证"}).status_code == 200
    assert all(media_store().exists(k) for k in keys)
    photo = case.get_json()["photos"][0]["url"]
    assert street.client.get(photo, headers=street.h(li)).status_code == 200


def test_a_tie_made_meanwhile_by_the_register_import_makes_the_confirmation_409(street, factory):
    from civic.property.models import UnitResident

    li = factory.resident()
    cid = street.claim(li, street.u102, document=True).get_json()["id"]
    with db.engine.begin() as other:  # the committee's import tied 李明 to 102 meanwhile
        other.execute(sa.insert(UnitResident.__table__).values(unit_id=street.u102.id, user_id=li.id,
                                                               relation="owner", representative=False,
                                                               since=sa.func.current_timestamp()))
    r = street.post(street.rc_staff, f"/unit-claims/{cid}/confirm")
    assert (r.status_code, _code(r)) == (409, "already_linked")
    assert street.client.get(f"{API}/unit-claims/{cid}", headers=street.h(li)).get_json()["status"] == "pending"


# --- the tie to the roster: an owner confirmed against it votes as that owner ----------------------

def _open_vote_on_roster(street, factory) -> tuple[int, list[int]]:
    """A vote on the street's certified roster (compound 1), announced and opened."""
    import datetime as dt

    from civic.core.db import utcnow
    from civic.voting.models import Roster, Vote

    rid = db.session.scalar(sa.select(Roster.id).where(Roster.status == "certified"))
    h = street.h(street.oc_head)
    vote = street.client.post(f"{API}/votes", json={"roster_id": rid, "title": "增设电动车充电桩"}, headers=h)
    assert vote.status_code == 201, vote.get_json()
    vid = vote.get_json()["id"]
    m = street.client.post(f"{API}/votes/{vid}/matters", json={"number": 9, "title": "充电桩", "text": "说明"},
                           headers=h)
    assert m.status_code == 201, m.get_json()
    assert street.post(street.oc_head, f"/votes/{vid}/transition", {"action": "announce"}).status_code == 200
    db.session.get(Vote, vid).voting_opens_at = utcnow() - dt.timedelta(seconds=1)
    factory.commit()
    assert street.post(street.oc_head, f"/votes/{vid}/transition", {"action": "open"}).status_code == 200
    return vid, [m.get_json()["id"]]


def _ballot(street, user, vid, matters):
    return street.post(user, f"/votes/{vid}/ballot", {"choices": {str(m): "agree" for m in matters}})


@pytest.mark.parametrize("path", ["roster", "owners_committee"])
def test_an_owner_confirmed_against_the_roster_votes_as_that_owner(street, factory, path):
    from civic.voting.models import RosterPerson

    wang = factory.resident(phone=ROSTER_PHONE if path == "roster" else None)
    r = street.claim(wang, street.u101, name=ROSTER_NAME)
    assert r.status_code == 201, r.get_json()
    if path == "owners_committee":  # logged in by WeChat: no phone to match, the committee decides
        assert r.get_json()["status"] == "pending"
        assert street.post(street.oc_head, f"/unit-claims/{r.get_json()['id']}/confirm").status_code == 200
    person = db.session.scalar(sa.select(RosterPerson).where(RosterPerson.name == ROSTER_NAME))
    db.session.refresh(person)
    assert person.user_id == wang.id and person.verified_at is not None
    tie = [e for e in _audit("roster.person_verified") if e.data["user_id"] == wang.id]
    assert [e.data["via"] for e in tie] == [path]
    assert _audit("unit_claim.confirm")[-1].data["roster_person_id"] == person.id
    vid, matters = _open_vote_on_roster(street, factory)
    r = _ballot(street, wang, vid, matters)
    assert r.status_code == 201, r.get_json()


def test_a_confirmed_claim_under_another_name_or_a_taken_entry_ties_nothing(street, factory):
    from civic.voting.models import RosterPerson

    holder = factory.resident(phone=ROSTER_PHONE)
    assert street.claim(holder, street.u101, name=ROSTER_NAME).get_json()["status"] == "confirmed"
    # A co-owner the roster does not name, and a second account under the owner's name: the committee
    # may confirm their homes, but the owner's entry stays with the account that holds it.
    other = factory.resident()
    cid = street.claim(other, street.u101, relation="co_owner", name="王芳芳").get_json()["id"]
    assert street.post(street.oc_head, f"/unit-claims/{cid}/confirm").status_code == 200
    twin = factory.resident()
    cid = street.claim(twin, street.u101, name=ROSTER_NAME).get_json()["id"]
    assert street.post(street.oc_head, f"/unit-claims/{cid}/confirm").status_code == 200
    assert db.session.scalar(sa.select(RosterPerson.user_id).where(RosterPerson.name == ROSTER_NAME)) == holder.id
    assert [e.data["roster_person_id"] for e in _audit("unit_claim.confirm")][1:] == [None, None]
    vid, matters = _open_vote_on_roster(street, factory)
    # Not on the roster as anyone: the vote's ballot is not theirs to see (as for any non-owner).
    assert [_ballot(street, u, vid, matters).status_code for u in (other, twin)] == [404, 404]
    assert _ballot(street, holder, vid, matters).status_code == 201


def test_the_queue_pages_through_every_claim_oldest_first(street, factory):
    """More claims than a page: every one reached once, in order, by following ``next_cursor``;
    claims the verifier does not decide (another compound's) never appear."""
    ids = []
    for _ in range(7):
        ids.append(street.claim(factory.resident(), street.u102, document=True).get_json()["id"])
    street.claim(factory.resident(), street.other_unit, document=True)
    seen, cursor, pages = [], None, 0
    while True:
        q = f"?limit=3&cursor={cursor}" if cursor else "?limit=3"
        body = street.client.get(f"{API}/unit-claims{q}", headers=street.h(street.rc_staff)).get_json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ids and pages == 3
    r = street.client.get(f"{API}/unit-claims?cursor=bm90LW91cnM", headers=street.h(street.rc_staff))
    assert (r.status_code, _code(r)) == (400, "cursor_invalid")
