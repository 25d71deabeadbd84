"""村务公开: each village's catalogue of what must be published, the disclosures themselves (with
their finance lines and voucher photos), and villagers' inquiries.  Notices to the town and the
supervision committee go through the one outbox, civic.core.notifications.

Money is integer 分 everywhere (never floats).  A published disclosure is never edited: a correction
is a new row (``version`` + 1, ``supersedes_id``) and the old row stays, marked ``corrected``.

Two counters, not to be confused: ``Disclosure.version`` is the correction version the public sees
(1, 2, ...); ``Disclosure.row_version`` is the optimistic lock (SQLAlchemy ``version_id_col``), bumped
on every write of the row, so that of two workers acting on one disclosure at once exactly one wins.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.core.media import new_token
from civic.extensions import db

CATEGORIES = ("party", "affairs", "finance", "services")
CADENCES = ("monthly", "quarterly", "yearly", "immediate")
LINE_KINDS = ("income", "expense")
DISCLOSURE_STATUSES = ("draft", "submitted", "returned", "signed_off", "published", "corrected")


class VillageProfile(TimestampMixin, db.Model):
    """Per-village settings and the public page's content version (bumped on every public change)."""

    __tablename__ = "village_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, unique=True)
    # 财务往来较多: finance items with monthly_if_busy are due monthly (组织法 Art. 30 para. 2).
    many_transactions: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    tracking_since: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    content_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class CatalogueItem(TimestampMixin, db.Model):
    __tablename__ = "village_catalogue_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    category: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    legal_basis: Mapped[str] = mapped_column(sa.Text, nullable=False)
    cadence: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    monthly_if_busy: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    due_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=10)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    __table_args__ = (
        sa.UniqueConstraint("village_id", "code"),
        sa.CheckConstraint("category IN ('party', 'affairs', 'finance', 'services')", name="category_known"),
        sa.CheckConstraint("cadence IN ('monthly', 'quarterly', 'yearly', 'immediate')", name="cadence_known"),
        sa.CheckConstraint("due_days >= 0", name="due_days_nonnegative"),
    )


class Disclosure(TimestampMixin, db.Model):
    __tablename__ = "village_disclosure"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("village_catalogue_item.id"), nullable=False, index=True)
    category: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    # "2026-03" (monthly), "2026-Q1" (quarterly), "2026" (yearly), "2026-03-15" (immediate).
    period: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="draft")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    series_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)  # id of version 1
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("village_disclosure.id"))
    corrected_by_id: Mapped[int | None] = mapped_column(sa.Integer)
    correction_reason: Mapped[str | None] = mapped_column(sa.Text)
    opening_balance: Mapped[int | None] = mapped_column(sa.BigInteger)  # 分
    closing_balance: Mapped[int | None] = mapped_column(sa.BigInteger)  # 分
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    review_note: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    signed_off_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    signed_off_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    corrected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Optimistic lock (not the correction ``version``): every UPDATE of the row says
    # ``WHERE row_version = <as read>``; a row another worker changed since is a StaleDataError,
    # turned into 409 ``disclosure_changed`` by civic.village.service.workflow (claim, transition).
    row_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, server_default=sa.text("1"))

    lines: Mapped[list[DisclosureLine]] = relationship(
        back_populates="disclosure", order_by="DisclosureLine.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.Index("ix_village_disclosure_village_period", "village_id", "status", "period"),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'returned', 'signed_off', 'published', 'corrected')",
            name="status_known",
        ),
        # Never half-written: a publication date exactly on the rows the public sees.
        sa.CheckConstraint(
            "(status IN ('published', 'corrected') AND published_at IS NOT NULL)"
            " OR (status NOT IN ('published', 'corrected') AND published_at IS NULL)",
            name="published_at_iff_public",
        ),
    )
    __mapper_args__ = {"version_id_col": row_version}


class DisclosureLine(db.Model):
    """One income or expense line of a finance disclosure; ``amount`` in 分, always positive."""

    __tablename__ = "village_disclosure_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(
        sa.ForeignKey("village_disclosure.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    account: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    counterparty: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    amount: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    disclosure: Mapped[Disclosure] = relationship(back_populates="lines")
    vouchers: Mapped[list[Voucher]] = relationship(
        back_populates="line", order_by="Voucher.id", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        sa.CheckConstraint("kind IN ('income', 'expense')", name="kind_known"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )


class Voucher(db.Model):
    """A voucher photo of a line, as stored by the photo pipeline (metadata stripped)."""

    __tablename__ = "village_voucher"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(
        sa.ForeignKey("village_disclosure_line.id", ondelete="CASCADE"), nullable=False, index=True
    )
    display_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media": "village.voucher"})
    thumb_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media": "village.voucher"})
    width: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    height: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # The voucher's address in the API: /api/v1/village-disclosures/<d>/vouchers/<access_token>
    # (civic.core.media).  Once the disclosure is public, the public page also shows it to anyone.
    access_token: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True, default=new_token)

    line: Mapped[DisclosureLine] = relationship(back_populates="vouchers")


class Inquiry(db.Model):
    """A villager's question about a published disclosure (组织法 Art. 31; 上海实施办法 Art. 24:
    a reply within 15 days).  ``asker_id`` is never shown on the public page."""

    __tablename__ = "village_inquiry"

    id: Mapped[int] = mapped_column(primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(sa.ForeignKey("village_disclosure.id"), nullable=False, index=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, index=True)
    asker_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    question: Mapped[str] = mapped_column(sa.Text, nullable=False)
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
