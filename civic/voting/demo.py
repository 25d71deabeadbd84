"""Demo data for owners' votes: the certified roster of 滨江花园 (C-BJHY), built from the registry
and certified by the owners' committee head (demo user ``oc_bj_shi``), and one vote already open, so
that paper ballots can be entered and confirmed in the console at once."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.models import User
from civic.extensions import db
from civic.property import service as registry
from civic.voting import roster, service


def load_demo_votes() -> dict:
    """Create and certify 滨江花园's owners' roster (上海市住宅物业管理规定 Art. 16).

    Returns ``{"roster_id": n, "vote_id": n}`` (the vote is open, on matter (4) of Art. 278).  Called at the end of :func:`civic.demo.load_demo`.
    """
    head = db.session.scalar(sa.select(User).where(User.username == "oc_bj_shi"))
    compound = registry.place_by_code("C-BJHY")
    r = roster.create_roster(place_id=compound.id, name="滨江花园业主名册", source="registry", actor=head)
    roster.certify(r.id, published_on=None, actor=head)
    vote = service.create_vote({"roster_id": r.id, "title": "2026年度业主大会：续聘物业服务企业",
                                "description": "表决是否续聘世茂物业滨江项目部，服务期三年。"}, head)
    service.add_matter(vote.id, {"number": 4, "title": "续聘世茂物业滨江项目部为本小区物业服务企业"}, head)
    service.transition(vote.id, "announce", head)
    # Demo only: as if announced a notice period ago (Art. 278 votes wait out the notice before voting
    # opens), so the demo street has a vote open today.
    v = service.get_vote(vote.id)
    # Far enough back that the notice period, even lengthened past a holiday, is over.
    from civic.voting.service.phases import voting_opens_at

    v.announced_at = v.announced_at - dt.timedelta(days=v.notice_days + 30)
    v.voting_opens_at = voting_opens_at(v.announced_at, v.notice_days)
    service.transition(vote.id, "open", head)
    return {"roster_id": r.id, "vote_id": vote.id}
