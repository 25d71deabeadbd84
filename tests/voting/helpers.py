"""Small rosters for the DB/API tests of owners' votes, built through the registry's service."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from civic.core.db import utcnow
from civic.extensions import db

PHOTO = "ianare_landscape_2.jpg"


_HASH: list[str] = []


def staff(factory, org, role):
    """A staff member of ``org``; one scrypt hash shared by all (scrypt is slow on purpose)."""
    from civic.accounts.service import create_staff, hash_password

    if not _HASH:
        _HASH.append(hash_password("test-pass-123"))
    user = create_staff(username=factory._code("staff"), password_hash=_HASH[0], display_name="委员",
                        memberships=[(org, role)])
    factory.commit()
    return user


class Compound:
    """A compound with two buildings and six units, its owners' committee (head + member), and:

    * A owns 1-101 and 1-102 (one head, two units);
    * B (representative) and C co-own 1-103;
    * T is a tenant of 2-101, whose owner is D;
    * 2-102 is sold but not delivered to buyer E; 2-103 is unsold (both the developer's head).
    """

    def __init__(self, factory):
        from civic.property import service as reg

        lad = factory.ladder()  # two units in building 1 (88.50 registry, 92.10 survey)
        self.compound = lad["compound"]
        b1 = lad["building"]
        b2 = reg.create_place(kind="building", code=factory._code("B"), name="2号楼", parent=self.compound)
        u3 = reg.create_place(kind="unit", code=factory._code("U"), name="103室", parent=b1,
                              area=Decimal("120.00"), area_source="registry")
        u4 = reg.create_place(kind="unit", code=factory._code("U"), name="2-101室", parent=b2,
                              area=Decimal("100.25"), area_source="contract")
        u5 = reg.create_place(kind="unit", code=factory._code("U"), name="2-102室", parent=b2,
                              area=Decimal("75.00"), area_source="registry", developer_status="sold_undelivered")
        u6 = reg.create_place(kind="unit", code=factory._code("U"), name="2-103室", parent=b2,
                              area=Decimal("60.00"), area_source="registry", developer_status="unsold")
        self.units = lad["units"] + [u3, u4, u5, u6]
        factory.commit()
        self.oc = factory.org("owners_committee", [self.compound], name="测试业委会")
        self.head = staff(factory, self.oc, "head")
        self.member = staff(factory, self.oc, "handler")
        self.a = factory.resident(units=lad["units"])
        self.b = factory.resident()
        self.c = factory.resident()
        reg.link_resident(self.b, u3, "co_owner", representative=True)
        reg.link_resident(self.c, u3, "co_owner", representative=False)
        self.d = factory.resident(units=[u4])
        self.t = factory.resident(units=[u4], relation="tenant")
        self.e = factory.resident(units=[u5])
        factory.commit()
        self.factory = factory


def api(client, method, url, headers, **kw):
    """One request: ``(status, json)``.  (Each request authenticates afresh: civic.core.http drops
    Flask-Login's cached user at the start of every request.)"""
    resp = getattr(client, method)(url, headers=headers, **kw)
    return resp.status_code, resp.get_json()


def make_open_vote(client, factory, comp: Compound, *, numbers=(4, 6), **vote_kw) -> dict:
    """Certified registry roster, a vote with matters of the given Art. 278 items, announced, and
    opened (the notice period is moved into the past, as if 15 days had passed)."""
    from civic.voting.models import Vote

    h = factory.token(comp.head)
    st, roster = api(client, "post", "/api/v1/rosters", h, json={"place_id": comp.compound.id})
    assert st == 201, roster
    rid = roster["roster"]["id"]
    st, body = api(client, "post", f"/api/v1/rosters/{rid}/certify", h, json={})
    assert st == 200, body
    st, vote = api(client, "post", "/api/v1/votes", h, json={"roster_id": rid, "title": "续聘物业", **vote_kw})
    assert st == 201, vote
    matters = []
    for n in numbers:
        st, m = api(client, "post", f"/api/v1/votes/{vote['id']}/matters", h,
                    json={"number": n, "title": f"第{n}项事项", "text": "说明"})
        assert st == 201, m
        matters.append(m)
    assert api(client, "post", f"/api/v1/votes/{vote['id']}/transition", h, json={"action": "announce"})[0] == 200
    v = db.session.get(Vote, vote["id"])
    v.voting_opens_at = utcnow() - dt.timedelta(seconds=1)
    factory.commit()
    st, body = api(client, "post", f"/api/v1/votes/{vote['id']}/transition", h, json={"action": "open"})
    assert st == 200, body
    return {"id": vote["id"], "roster_id": rid, "matters": [m["id"] for m in matters], "head_token": h}


def otp_from_log(caplog, phone: str) -> str:
    for rec in reversed(caplog.records):
        msg = rec.getMessage()
        if phone in msg and "验证码" in msg:
            return re.search(r"(\d{6})", msg.split(":", 1)[1]).group(1)
    raise AssertionError("no code sent")


def verify(client, caplog, vote_id, user, token) -> dict:
    st, body = api(client, "post", f"/api/v1/votes/{vote_id}/verify", token, json={"phone": user.phone})
    assert st == 200, body
    code = otp_from_log(caplog, user.phone)
    st, body = api(client, "post", f"/api/v1/votes/{vote_id}/verify", token, json={"phone": user.phone, "code": code})
    assert st == 200, body
    return body


def scan(shared_dir, name="scan.jpg"):
    return (io.BytesIO((shared_dir / "photos" / PHOTO).read_bytes()), name)


def roster_unit_ids(vote_id) -> dict[str, int]:
    """``{unit name suffix: roster unit id}`` of the frozen roster, via the registry codes."""
    import sqlalchemy as sa

    from civic.voting.models import VoteUnit

    return dict(db.session.execute(sa.select(VoteUnit.unit_code, VoteUnit.roster_unit_id)
                                   .where(VoteUnit.vote_id == vote_id)).all())


def signer_fields(vote_id, roster_unit_id) -> dict:
    """The form fields naming the usual signer of a unit's paper ballot: the developer for a
    developer-held unit, else the representative owner of the unit's head."""
    import sqlalchemy as sa

    from civic.voting.models import HeadMember, VoteUnit

    vu = db.session.scalar(sa.select(VoteUnit).where(VoteUnit.vote_id == vote_id,
                                                     VoteUnit.roster_unit_id == roster_unit_id))
    if vu.developer_held:
        return {"signer_kind": "developer"}
    person = db.session.scalar(sa.select(HeadMember.person_id).where(HeadMember.head_id == vu.head_id,
                                                                     HeadMember.representative.is_(True)))
    return {"signer_kind": "owner", "signer_person_id": str(person)}


def enter_paper(client, v, token, unit_id, choice, shared_dir, signer: dict | None = None):
    """POST a paper ballot for ``unit_id`` choosing ``choice`` on the vote's first matter, with a real
    scan, signed by ``signer`` (form fields; default :func:`signer_fields`): ``(status, body)``."""
    import json

    m = str(v["matters"][0])
    signer = signer_fields(v["id"], unit_id) if signer is None else signer
    return api(client, "post", f"/api/v1/votes/{v['id']}/paper-ballots", token,
               data={"roster_unit_id": str(unit_id), "choices": json.dumps({m: choice}), "scan": scan(shared_dir),
                     **signer}, content_type="multipart/form-data")


def legacy_paper_entry(vote_id, matter_id, unit_id, head_id, ballot_id, choice, entered_by, confirmed_by=None, n=0):
    """A paper entry written straight to the table through another connection (committed), as one
    entered before conflicting entries were refused (or slipped in by a race): choosing ``choice``
    on matter ``matter_id``, confirmed by ``confirmed_by`` when given.  Returns its id."""
    import sqlalchemy as sa

    from civic.voting.models import PaperEntry

    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(sa.insert(PaperEntry).values(
            vote_id=vote_id, ballot_id=ballot_id, head_id=head_id, roster_unit_id=unit_id,
            choices={str(matter_id): choice}, scan_key="legacy", scan_thumb_key="legacy",
            entered_by_id=entered_by, entered_at=now, receipt_hash=f"{'0' * 63}{n}",
            confirmed_by_id=confirmed_by, confirmed_at=now if confirmed_by else None))
    return db.session.scalar(sa.select(PaperEntry.id).where(PaperEntry.vote_id == vote_id,
                                                            PaperEntry.roster_unit_id == unit_id,
                                                            PaperEntry.withdrawn_at.is_(None)))
