"""A resident's claim to a unit (``unit_claim``).

``status``: pending → confirmed | refused (a decision is final; a refused resident may claim again).
Only one pending claim per resident and unit (a partial unique index: a double submit or two
concurrent ones make one row).  The document (a photo of the 不动产权证 or the lease) is kept only
while the claim is pending: its keys are cleared when the claim is decided, and the files deleted
from the media store after that commit.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import TimestampMixin, UTCDateTime
from civic.extensions import db

CLAIM_STATUSES = ("pending", "confirmed", "refused")
# How a claim was decided: the certified roster matched, the owners' committee, the residents'
# committee or property company against the document, the unit's owner (tenants only).
DECIDED_VIA = ("roster", "owners_committee", "residents_committee", "property_company", "owner", "admin")


class UnitClaim(TimestampMixin, db.Model):
    __tablename__ = "unit_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    relation: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    # The name as on the certificate or lease (checked against the roster), not the account's name.
    claimed_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="pending")
    decided_via: Mapped[str | None] = mapped_column(sa.String(20))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    refusal_reason: Mapped[str | None] = mapped_column(sa.Text)
    document_key: Mapped[str | None] = mapped_column(sa.String(100), info={"media": "residents.claim_document"})
    document_thumb_key: Mapped[str | None] = mapped_column(sa.String(100),
                                                           info={"media": "residents.claim_document"})
    # The document's address: /api/v1/unit-claims/<id>/document/<document_token> (civic.core.media).
    document_token: Mapped[str | None] = mapped_column(sa.String(64))

    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'refused')", name="status_known"),
        sa.CheckConstraint("relation IN ('owner', 'co_owner', 'tenant')", name="relation_known"),
        sa.Index("uq_unit_claim_pending", "unit_id", "user_id", unique=True,
                 sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'")),
    )
