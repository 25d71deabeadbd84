"""The residents domain's part of a resident's rights over their data (PIPL Arts. 44-47): their
claims to units (the name they gave, the relation, how and when it was decided, a refusal's
reason).  Deleting the account deletes the claims and any document photo still stored for a
pending one: a claim only exists to make or refuse a tie to a unit, which the account's deletion
ends (:mod:`civic.property.personal` removes the ties themselves)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import personal_data, retention
from civic.extensions import db
from civic.residents.models import UnitClaim


def _export(user_id: int) -> dict:
    from civic.property import service as registry

    claims = list(db.session.scalars(sa.select(UnitClaim).where(UnitClaim.user_id == user_id)
                                     .order_by(UnitClaim.id)))
    names = registry.unit_full_names(c.unit_id for c in claims)
    return {"unit_claims": [{"id": c.id, "unit_id": c.unit_id, "unit_name": names.get(c.unit_id),
                             "relation": c.relation, "claimed_name": c.claimed_name, "status": c.status,
                             "decided_via": c.decided_via,
                             "decided_at": c.decided_at.isoformat() if c.decided_at else None,
                             "refusal_reason": c.refusal_reason, "document_stored": c.document_key is not None}
                            for c in claims]}


def _erase(user_id: int, now: dt.datetime) -> None:
    from civic.residents.service import _delete_after_commit

    keys = [k for row in db.session.execute(sa.select(UnitClaim.document_key, UnitClaim.document_thumb_key)
                                            .where(UnitClaim.user_id == user_id)) for k in row if k]
    db.session.execute(sa.delete(UnitClaim).where(UnitClaim.user_id == user_id))
    if keys:
        _delete_after_commit(keys)  # only files no other row holds (content-addressed store)


# Order 40: before the registry (50), which removes the ties the claims made.
personal_data.register("residents", order=40, columns=("unit_claim.user_id",), export=_export, erase=_erase)
personal_data.exempt("unit_claim.decided_by_id",
                     "who decided a claim: a staff member, or the owner who confirmed a tenant; the claim goes "
                     "with the claimant's account, and a deleted decider's row is a tombstone naming no one")
retention.register(
    "unit_claim", tables=(), keep="a pending claim until decided; a decided one while the account exists (the "
    "record of how a tie was verified); its document photo only until the decision",
    then="the document deleted at the decision; every claim deleted with the account",
    source="PIPL Arts. 19, 47; civic's choice (law silent): the verification record lasts as long as the tie "
    "it made can be questioned, the document no longer than its purpose")
