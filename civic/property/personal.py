"""The registry's part of a resident's rights over their data (PIPL Arts. 44-47): their ties to
units (owner, co-owner, tenant).  Deleting the account removes the ties: a unit link names where
a person lives, and no law requires civic to keep it once the account is gone (the owners'
roster, which the committee certifies, is the voting domain's record, not this one)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import personal_data, retention
from civic.extensions import db
from civic.property.models import UnitResident


def _export(user_id: int) -> dict:
    from civic.property.service import units_of_resident

    return {"units": [{"unit_id": p.id, "unit_name": p.name, "relation": link.relation,
                       "representative": link.representative, "since": link.since.isoformat()}
                      for link, p in units_of_resident(user_id)]}


def _erase(user_id: int, now: dt.datetime) -> None:
    db.session.execute(sa.delete(UnitResident).where(UnitResident.user_id == user_id))


# Order 50: after complaints (10) and votes (20), which read the ties to know the own unit.
personal_data.register("registry", order=50, columns=("unit_resident.user_id",), export=_export, erase=_erase)
retention.register(
    "unit_resident", tables=(), keep="while the resident lives there and keeps the account",
    then="deleted when they move out (unlinked) or delete the account",
    source="PIPL Arts. 19, 47 (the purpose ends with the tie)")
