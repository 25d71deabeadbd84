"""金点子 idea contests' tables: contest, its places and dated phases, jury criteria and jurors, ideas
(their versions kept in the moderation's ``content_version``), comments, supports (soft-withdrawn,
never deleted) and the evidence recorded with each click, scores, the published ranking, the carrying
out of adopted ideas, and uploaded photos.  The moderation tables are
:mod:`civic.proposals.moderation.models`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.extensions import db

# --- contests -----------------------------------------------------------------------------------------

class Contest(TimestampMixin, db.Model):
    __tablename__ = "contest"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), nullable=False, index=True)
    theme: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    categories: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    report_threshold: Mapped[int] = mapped_column(nullable=False, default=3)
    support_cap: Mapped[int | None] = mapped_column()  # supports per resident per contest; None: no cap
    # Weights of the final score: residents' support vs the jury (any non-negative integers, normalised).
    support_weight: Mapped[int] = mapped_column(nullable=False, default=40)
    jury_weight: Mapped[int] = mapped_column(nullable=False, default=60)
    # Manipulation signals shown to moderators (service.signals): one device or network used by at
    # least ``signal_shared_residents`` residents; ``signal_burst_supports`` supports of one idea within
    # ``signal_burst_minutes`` from accounts younger than ``signal_new_account_days`` days.
    signal_shared_residents: Mapped[int] = mapped_column(nullable=False, default=3, server_default="3")
    signal_burst_supports: Mapped[int] = mapped_column(nullable=False, default=5, server_default="5")
    signal_burst_minutes: Mapped[int] = mapped_column(nullable=False, default=60, server_default="60")
    signal_new_account_days: Mapped[int] = mapped_column(nullable=False, default=7, server_default="7")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    ranking_published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Optimistic lock: publishing the ranking and changing the schedule both move it on (the schedule
    # lives in contest_phase rows; service.set_schedule touches this row too), so they exclude each other.
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class ContestPlace(db.Model):
    __tablename__ = "contest_place"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False)

    __table_args__ = (sa.UniqueConstraint("contest_id", "place_id"),)


class ContestPhase(db.Model):
    __tablename__ = "contest_phase"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False)
    phase: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # None only for implementation

    __table_args__ = (sa.UniqueConstraint("contest_id", "phase"),)


class Criterion(db.Model):
    __tablename__ = "contest_criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    weight: Mapped[int] = mapped_column(nullable=False)
    position: Mapped[int] = mapped_column(nullable=False, default=0)

    __table_args__ = (sa.UniqueConstraint("contest_id", "name"),)


class Juror(db.Model):
    __tablename__ = "contest_juror"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    appointed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (sa.UniqueConstraint("contest_id", "user_id"),)


class Idea(TimestampMixin, db.Model):
    __tablename__ = "idea"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    category: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    # [{"display_key", "thumb_key", "width", "height", "token"}]; each token indexed in contest_photo
    photos: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list, info={"media": "contests.photo"})
    # Mirrors moderated_item.state so lists filter on an indexed column of this table.
    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="pending")
    version: Mapped[int] = mapped_column(nullable=False, default=1)
    support_count: Mapped[int] = mapped_column(nullable=False, default=0)
    # " token token ... " (jieba search tokens of title + text, space-padded for whole-token LIKE).
    search_tokens: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")

    __table_args__ = (
        sa.Index("ix_idea_contest_support", "contest_id", "state", sa.text("support_count DESC"),
                 sa.text("id DESC")),
        sa.Index("ix_idea_contest_newest", "contest_id", "state", sa.text("created_at DESC"), sa.text("id DESC")),
        sa.CheckConstraint("support_count >= 0", name="support_count_non_negative"),
    )


class Comment(TimestampMixin, db.Model):
    __tablename__ = "idea_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("idea.id"), nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="approved")


class Support(db.Model):
    """One resident's support of one idea.  Withdrawal is soft (``active`` false); supporting again
    reactivates the same row.  The unique key is what keeps concurrent clicks from counting twice."""

    __tablename__ = "idea_support"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("idea.id"), nullable=False)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.UniqueConstraint("idea_id", "resident_id"),
        sa.Index("ix_idea_support_resident", "resident_id", "contest_id", "id"),
    )


class SupportEvent(db.Model):
    """Evidence: every support and withdrawal click, with where it came from.  Append-only."""

    __tablename__ = "idea_support_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("idea.id"), nullable=False)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False, index=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    action: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # support | withdraw
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    device_id: Mapped[str | None] = mapped_column(sa.String(100))
    account_created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SupportQuota(db.Model):
    """Active supports of one resident in one contest, kept only when the contest caps them: the cap is
    enforced by one conditional UPDATE, exact under concurrent clicks."""

    __tablename__ = "idea_support_quota"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    active_count: Mapped[int] = mapped_column(nullable=False, default=0)

    __table_args__ = (sa.UniqueConstraint("contest_id", "resident_id"),)


class Score(TimestampMixin, db.Model):
    __tablename__ = "idea_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("idea.id"), nullable=False)
    juror_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("contest_criterion.id"), nullable=False)
    value: Mapped[int] = mapped_column(nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("idea_id", "juror_id", "criterion_id"),
        sa.CheckConstraint("value BETWEEN 0 AND 10", name="value_range"),
    )


class RankingEntry(db.Model):
    """The published ranking, frozen at publication with each idea's breakdown."""

    __tablename__ = "contest_ranking_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contest.id"), nullable=False)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("idea.id"), nullable=False)
    rank: Mapped[int] = mapped_column(nullable=False)
    support_count: Mapped[int] = mapped_column(nullable=False)
    support_score: Mapped[Decimal] = mapped_column(sa.Numeric(9, 6), nullable=False)
    jury_mean: Mapped[Decimal] = mapped_column(sa.Numeric(9, 6), nullable=False)
    jury_score: Mapped[Decimal] = mapped_column(sa.Numeric(9, 6), nullable=False)
    final_score: Mapped[Decimal] = mapped_column(sa.Numeric(9, 6), nullable=False)
    jurors: Mapped[int] = mapped_column(nullable=False)

    __table_args__ = (sa.UniqueConstraint("contest_id", "idea_id"), sa.UniqueConstraint("contest_id", "rank"))


class Implementation(TimestampMixin, db.Model):
    __tablename__ = "idea_implementation"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("idea.id"), nullable=False, unique=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="adopted")
    adopted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
    # Optimistic lock: of two status changes made at once one wins, the other gets a 409.
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class Milestone(TimestampMixin, db.Model):
    __tablename__ = "idea_milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    implementation_id: Mapped[int] = mapped_column(sa.ForeignKey("idea_implementation.id"), nullable=False,
                                                   index=True)
    title: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    progress: Mapped[int] = mapped_column(nullable=False, default=0)  # percent, 0-100
    # Optimistic lock: two progress reports at once cannot move progress backwards.
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class MilestoneUpdate(db.Model):
    __tablename__ = "idea_milestone_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(sa.ForeignKey("idea_milestone.id"), nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    progress: Mapped[int] = mapped_column(nullable=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
    # As Idea.photos.
    photos: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list, info={"media": "contests.photo"})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class PhotoUpload(db.Model):
    """A photo a user uploaded (processed and stored), waiting to be claimed by an idea or an update by
    its display key.  Only the uploader may claim it.  It is served once claimed, as a
    :class:`ContestPhoto` with its own token; before that only its uploader, whose client sent the
    bytes, knows it exists, and nobody is shown it."""

    __tablename__ = "proposal_photo_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    display_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media": "contests.photo"})
    thumb_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media": "contests.photo"})
    width: Mapped[int] = mapped_column(nullable=False)
    height: Mapped[int] = mapped_column(nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (sa.Index("ix_proposal_photo_upload_owner", "uploader_id", "display_key"),)


class ContestPhoto(db.Model):
    """A photo attached to an idea or to a progress update, served by its unguessable ``access_token``
    (``GET /api/v1/contest-photos/<token>``) to those who may see it (service.photo_for).  The owner's
    ``photos`` JSON carries the same token; a photo removed from the owner's current version is no
    longer public."""

    __tablename__ = "contest_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    access_token: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    idea_id: Mapped[int | None] = mapped_column(sa.ForeignKey("idea.id"), index=True)
    milestone_update_id: Mapped[int | None] = mapped_column(sa.ForeignKey("idea_milestone_update.id"), index=True)
    display_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media": "contests.photo"})
    thumb_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media": "contests.photo"})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (
        sa.CheckConstraint("(idea_id IS NULL) <> (milestone_update_id IS NULL)", name="one_owner"),
    )
