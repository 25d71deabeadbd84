"""The moderation tables, shared by every kind of resident content.

They know nothing of contests or committees: an item is named by ``(item_type, item_id)`` ("idea",
"comment", "topic", "topic_comment"), and the kind registered in :mod:`civic.proposals.moderation`
says who wrote it, who moderates it and how to show or hide it.  ``content_version`` keeps every
version of an item's content (the author's and a moderator's edits); nothing is ever deleted.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.extensions import db

# --------------------------------------------------------------------------

MODERATION_STATES = ("pending", "approved", "hidden", "rejected")


class ModeratedItem(TimestampMixin, db.Model):
    """The moderation state of one piece of content, whatever its kind."""

    __tablename__ = "moderated_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    item_id: Mapped[int] = mapped_column(nullable=False)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    # The organisation whose moderators decide (a residents' committee for a contest's ideas).
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    # Who last hid or rejected it (None: hidden automatically by reports). An appeal goes to someone else.
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    awaiting_review: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    report_count: Mapped[int] = mapped_column(nullable=False, default=0)
    # Optimistic lock: every change of state (decision, appeal, automatic hiding) goes through the
    # ORM and moves it on, so of two moderators deciding at once one wins and the other gets a 409.
    # (report_count is added in SQL and leaves it alone: concurrent reports never collide.)
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.UniqueConstraint("item_type", "item_id"),
        sa.Index("ix_moderated_item_queue", "organisation_id", "awaiting_review", "id"),
        sa.CheckConstraint("state IN ('pending', 'approved', 'hidden', 'rejected')", name="state_known"),
    )


class ModerationReport(db.Model):
    """A resident's report of an item: one per reporter per item."""

    __tablename__ = "moderation_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    moderated_item_id: Mapped[int] = mapped_column(sa.ForeignKey("moderated_item.id"), nullable=False)
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (sa.UniqueConstraint("moderated_item_id", "reporter_id"),)


class ModerationAppeal(db.Model):
    """The author's one appeal against hiding or rejection, decided by another moderator."""

    __tablename__ = "moderation_appeal"

    id: Mapped[int] = mapped_column(primary_key=True)
    moderated_item_id: Mapped[int] = mapped_column(sa.ForeignKey("moderated_item.id"), nullable=False, unique=True)
    appellant_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(sa.String(12))  # upheld | overturned
    note: Mapped[str | None] = mapped_column(sa.Text)


class ModerationDecision(db.Model):
    """Every change of moderation state, in order (the audit log has it too; this is the item's own
    history, shown to moderators)."""

    __tablename__ = "moderation_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    moderated_item_id: Mapped[int] = mapped_column(sa.ForeignKey("moderated_item.id"), nullable=False, index=True)
    action: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    from_state: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    to_state: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ContentVersion(db.Model):
    """One version of an item's content.  Version 1 is what the author first sent; an author's edit or a
    moderator's edit adds the next.  Nothing is overwritten: the original is always here."""

    __tablename__ = "content_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    item_id: Mapped[int] = mapped_column(nullable=False)
    version: Mapped[int] = mapped_column(nullable=False)
    content: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    editor_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    edit_kind: Mapped[str] = mapped_column(sa.String(12), nullable=False)  # author | moderator
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (sa.UniqueConstraint("item_type", "item_id", "version"),)
