"""Loading and correcting a State Council notice (issue #15.8).

A corrected notice for a year recomputes every open deadline computed with the old one, in every
domain that stores one (through the hooks the domains register with the core), provisional or not;
closed ones stay.  A notice that leaves out a statutory holiday is refused whole.

The demo street gives every domain its parties; the objects here are dated in 2027 through each
domain's clock seam (``now=``) or, where a verb has none, by dating the stored start the way the
verb would have.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from civic.accounts.models import User
from civic.core import calendar as core_calendar
from civic.core.audit import AuditEntry
from civic.core.calendar import HolidayNotice, load_notice
from civic.core.db import commit, to_shanghai
from civic.core.workdays import TZ
from civic.extensions import db

PHOTO = Path("/work/shared/photos/ianare_landscape_2.jpg")
if not PHOTO.exists():  # the shared folder beside the repository
    PHOTO = Path(__file__).resolve().parents[3] / "shared" / "photos" / "ianare_landscape_2.jpg"

# A complete 2027 notice as first published (the statutory days; Spring Festival 5-12 Feb, 20 Feb
# worked), and its correction: Labour Day becomes 1-5 May with Saturday 8 May worked.
FIRST = {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03", "2027-02-05", "2027-02-06", "2027-02-07",
                      "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12", "2027-04-05",
                      "2027-05-01", "2027-05-02", "2027-06-09", "2027-09-15", "2027-10-01", "2027-10-02",
                      "2027-10-03"],
         "workdays": ["2027-02-20"]}
CORRECTED = {"holidays": sorted(FIRST["holidays"] + ["2027-05-03", "2027-05-04", "2027-05-05"]),
             "workdays": ["2027-02-20", "2027-05-08"], "source": "国办发明电（更正，测试）"}


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def _user(username=None, key=None) -> User:
    col, value = (User.username, username) if username else (User.wechat_openid, f"dev-{key}")
    return db.session.scalar(sa.select(User).where(col == value))


@pytest.fixture
def demo(app):
    from civic.demo import load_demo

    summary = load_demo()
    commit()
    load_notice(2027, FIRST, actor=None, source="国办发明电（测试）")
    commit()
    return summary


def _complaint(now):
    from civic.complaints.service import Intake, submit

    return submit(_user(key="zhang_san"), Intake(
        category="noise", description="楼上每天深夜装修，电钻声不断，影响休息。",
        photos=[(PHOTO.name, PHOTO.read_bytes())], place_id=_zhang_unit()), now=now).complaint


def _zhang_unit():
    from civic.property import service as registry

    return registry.place_by_code("C-BJHY-1-101").id


def _lead_staff(c):
    from civic.accounts.service import staff_of

    lead = next(p for p in c.parties if p.role == "lead")
    return db.session.get(User, staff_of(lead.organisation_id)[0])


def _open_and_closed(demo):
    """One open and (where the domain has one) one closed deadline per domain, all ending on
    Monday 3 May 2027 under the first notice (a working day there, a holiday in the correction)."""
    from civic.complaints import service as complaints
    from civic.proposals.deliberation import service as delib
    from civic.proposals.deliberation.models import Motion
    from civic.proposals.deliberation.service.meetings import publication_end
    from civic.village import service as village
    from civic.village.models import Disclosure
    from civic.voting import service as voting
    from civic.voting.models import Vote
    from civic.voting.service.phases import voting_opens_at

    out = {}
    # Complaints: filed Wed 28 Apr 2027, 5 working days to resolve: 29, 30 Apr, 3, 4, 5 May.
    out["complaint_open"] = _complaint(sh(2027, 4, 28, 10, 0))
    closed = _complaint(sh(2027, 4, 28, 10, 0))
    staff = _lead_staff(closed)
    complaints.transition(staff, closed.id, "acknowledge", now=sh(2027, 4, 28, 11, 0))
    complaints.transition(staff, closed.id, "resolve", note="已上门劝导，施工已停止", now=sh(2027, 4, 28, 12, 0))
    complaints.rate(_user(key="zhang_san"), closed.id, 5, now=sh(2027, 4, 28, 13, 0))
    out["complaint_closed"] = closed

    # Village: asked Sun 18 Apr 2027, 15 days → Mon 3 May.
    disclosure = db.session.get(Disclosure, demo["village"]["inquiry_disclosure"])
    villager = _user(key="xf_villager")
    for key in ("inquiry_open", "inquiry_closed"):
        inq = village.ask(disclosure, "道路硬化工程的验收报告能否公开？", villager)
        inq.asked_at = sh(2027, 4, 18, 10, 0)
        inq.due_at = village.reply_due(inq.asked_at)
        out[key] = inq
    village.answer(out["inquiry_closed"].id, "验收报告已张贴在村务公开栏，欢迎查阅。", _user("vc_xf_hua"))

    # Voting: announced Sun 18 Apr 2027 with 15 days' notice → voting from Tue 4 May.
    head = _user("oc_bj_shi")
    vote = voting.create_vote({"roster_id": demo["voting"]["roster_id"], "title": "2027年度业主大会：维修资金使用",
                               "description": "表决是否使用维修资金更换电梯。"}, head)
    voting.add_matter(vote.id, {"number": 5, "title": "使用维修资金更换1号楼电梯"}, head)
    voting.transition(vote.id, "announce", head)
    for v in (vote, db.session.get(Vote, demo["voting"]["vote_id"])):  # the demo's vote is open already
        v.announced_at = sh(2027, 4, 18, 10, 0)
        v.voting_opens_at = voting_opens_at(v.announced_at, v.notice_days)
    out["vote_open"], out["vote_closed"] = vote, db.session.get(Vote, demo["voting"]["vote_id"])

    # Deliberation: a resident's topic raised Mon 19 Apr 2027 with 14 days to co-sign → Mon 3 May;
    # one declined; a result closed Sat 3 Apr 2027, published 30 days → Mon 3 May.
    cid = demo["deliberation"]["committee_id"]
    for key in ("topic_open", "topic_closed"):
        t = delib.raise_topic(_user(key="zhao_liu"), cid, {
            "title": "弄堂里增设晾衣架", "text": "弄堂里晾晒衣物占用通道，建议在空地统一增设晾衣架。"},
            now=sh(2027, 4, 19, 10, 0))
        t.created_at = sh(2027, 4, 19, 10, 0)
        out[key] = t
    db.session.flush()
    delib.decline_topic(_user(key="zhang_san"), out["topic_closed"].id, "与已有决议重复")
    motion = db.session.get(Motion, demo["deliberation"]["motion_ids"][1])
    motion.closed_at = sh(2027, 4, 3, 10, 0)
    motion.published_until = publication_end(motion.closed_at, 30)
    out["motion_open"] = motion
    commit()
    return out


DUE = {  # the stored deadline and its value under the first notice, then under the correction
    "complaint_open": ("resolve_due", sh(2027, 5, 5, 23, 59, 59), sh(2027, 5, 8, 23, 59, 59)),
    "complaint_closed": ("resolve_due", sh(2027, 5, 5, 23, 59, 59), sh(2027, 5, 5, 23, 59, 59)),
    "inquiry_open": ("due_at", sh(2027, 5, 3, 23, 59, 59), sh(2027, 5, 6, 23, 59, 59)),
    "inquiry_closed": ("due_at", sh(2027, 5, 3, 23, 59, 59), sh(2027, 5, 3, 23, 59, 59)),
    "vote_open": ("voting_opens_at", sh(2027, 5, 4), sh(2027, 5, 7)),
    "vote_closed": ("voting_opens_at", sh(2027, 5, 4), sh(2027, 5, 4)),
    "topic_open": ("cosign_until", sh(2027, 5, 3, 23, 59, 59), sh(2027, 5, 6, 23, 59, 59)),
    "topic_closed": ("cosign_until", sh(2027, 5, 3, 23, 59, 59), sh(2027, 5, 3, 23, 59, 59)),
    "motion_open": ("published_until", sh(2027, 5, 3, 23, 59, 59), sh(2027, 5, 6, 23, 59, 59)),
}


def _values(objs):
    db.session.expire_all()
    return {k: to_shanghai(getattr(db.session.get(type(o), o.id), DUE[k][0])) for k, o in objs.items()}


def test_every_domain_with_stored_deadlines_registers_a_recompute_hook():
    assert set(core_calendar._RECOMPUTE_HOOKS) == {"complaints", "village", "voting", "deliberation"}


def test_a_corrected_notice_moves_every_open_deadline_and_no_closed_one(client, factory, demo):
    objs = _open_and_closed(demo)
    ids = {k: o.id for k, o in objs.items()}
    assert _values(objs) == {k: first for k, (_f, first, _c) in DUE.items()}
    assert db.session.get(type(objs["complaint_open"]), ids["complaint_open"]).deadlines_provisional is False

    r = client.put("/api/v1/calendar/notices/2027", headers=factory.token(_user("admin")), json=CORRECTED)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["recomputed"] == 5  # the five open ones, not provisional before either
    assert _values(objs) == {k: corrected for k, (_f, _first, corrected) in DUE.items()}

    audited = {(e.action, e.object_id) for e in db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action.in_(["complaint.deadlines_recomputed", "inquiry.due_recomputed",
                               "vote.opening_recomputed", "topic.cosign_window_recomputed",
                               "motion.publication_recomputed"])))}
    assert audited == {("complaint.deadlines_recomputed", str(ids["complaint_open"])),
                       ("inquiry.due_recomputed", str(ids["inquiry_open"])),
                       ("vote.opening_recomputed", str(ids["vote_open"])),
                       ("topic.cosign_window_recomputed", str(ids["topic_open"])),
                       ("motion.publication_recomputed", str(ids["motion_open"]))}
    loaded = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "calendar.notice_loaded")
                                .order_by(AuditEntry.id)).all()[-1]
    assert loaded.data["replaced"] is True
    assert loaded.data["recomputed"] == {"complaints": 1, "village": 1, "voting": 1, "deliberation": 2}


def test_loading_the_same_notice_again_changes_nothing(client, factory, demo):
    objs = _open_and_closed(demo)
    before = _values(objs)
    r = client.put("/api/v1/calendar/notices/2027", headers=factory.token(_user("admin")), json=FIRST)
    assert (r.status_code, r.get_json()["recomputed"]) == (200, 0)
    assert _values(objs) == before


def test_an_incomplete_notice_is_refused_whole(client, factory, demo):
    """Only the Spring Festival typed in: refused (not merged over the statutory list), naming
    every statutory day left out; the stored notice and every deadline stay as they were."""
    objs = _open_and_closed(demo)
    before = _values(objs)
    partial = {"holidays": ["2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09",
                            "2027-02-10", "2027-02-11", "2027-02-12"], "workdays": ["2027-02-20"]}
    r = client.put("/api/v1/calendar/notices/2027", headers=factory.token(_user("admin")), json=partial)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "holiday_notice_incomplete"
    assert err["details"]["missing"] == ["2027-01-01", "2027-04-05", "2027-05-01", "2027-05-02", "2027-06-09",
                                         "2027-09-15", "2027-10-01", "2027-10-02", "2027-10-03"]
    assert err["details"]["festivals"] == ["元旦", "清明节", "劳动节", "端午节", "中秋节", "国庆节"]
    assert "2027-01-01" in err["message"] and "元旦" in err["message"]
    db.session.rollback()
    stored = db.session.scalar(sa.select(HolidayNotice).where(HolidayNotice.year == 2027))
    assert stored.holidays == FIRST["holidays"]
    assert _values(objs) == before


def test_a_notice_for_a_year_before_the_2025_measures_is_not_checked_against_them(app):
    """2024's list had no 除夕 and no 2 May: a notice for it is not held to the 2025 Measures."""
    from civic.core.workdays import parse_notice, require_complete

    notice = parse_notice(2024, {"holidays": ["2024-02-10", "2024-02-11", "2024-02-12"], "workdays": []})
    assert require_complete(notice) is notice


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_real_notices_are_complete(year):
    """The State Council's 2025 and 2026 notices (as chinese-calendar records them) pass the check:
    refusing an incomplete notice never refuses a real one."""
    from chinese_calendar import constants

    from civic.core.workdays import YearNotice, require_complete

    real = YearNotice(year=year, holidays=frozenset(d for d in constants.holidays if d.year == year),
                      workdays=frozenset(d for d in constants.workdays if d.year == year))
    assert require_complete(real) is real
