"""Demo data for owners' votes: the certified roster of 滨江花园 (C-BJHY), built from the registry
and certified by the owners' committee head (demo user ``oc_bj_shi``)."""

from __future__ import annotations

import sqlalchemy as sa

from civic.accounts.models import User
from civic.extensions import db
from civic.property import service as registry
from civic.voting import roster


def load_demo_votes() -> dict:
    """Create and certify 滨江花园's owners' roster (上海市住宅物业管理规定 Art. 16).

    Returns ``{"roster_id": n}``.  Called at the end of :func:`civic.demo.load_demo`.
    """
    head = db.session.scalar(sa.select(User).where(User.username == "oc_bj_shi"))
    compound = registry.place_by_code("C-BJHY")
    r = roster.create_roster(place_id=compound.id, name="滨江花园业主名册", source="registry", actor=head)
    roster.certify(r.id, published_on=None, actor=head)
    return {"roster_id": r.id}
