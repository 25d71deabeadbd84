"""Open311 partners: api keys issued by an administrator, and which partner filed which case."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import UTCDateTime, utcnow
from civic.extensions import db


class PartnerKey(db.Model):
    """An api_key of a partner organisation.  Only its SHA-256 is stored (the key is 256 random
    bits, shown once when issued).  ``user_id`` is the partner's system account (kind
    ``partner``), shared by every key issued to the same partner name: the complainant of record
    of the cases it files.  ``media_hosts``: the hosts civic may fetch a ``media_url`` from."""

    __tablename__ = "open311_partner_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_name: Mapped[str] = mapped_column(sa.String(100), nullable=False, index=True)
    key_prefix: Mapped[str] = mapped_column(sa.String(12), nullable=False)  # to tell keys apart in lists
    key_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    media_hosts: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PartnerRequest(db.Model):
    """A case filed through Open311: by which key, with which attributes and media_url."""

    __tablename__ = "open311_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False, unique=True)
    partner_key_id: Mapped[int] = mapped_column(sa.ForeignKey("open311_partner_key.id"), nullable=False, index=True)
    attributes: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    media_url: Mapped[str | None] = mapped_column(sa.String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
