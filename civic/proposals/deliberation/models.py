"""路管会 / 弄管会 deliberation: committees, their versioned rules of procedure, topics and
co-signatures, meetings with agenda and attendance, motions and votes, resolutions and their action
items, and hand-offs to an owners' vote (RULES.md §4).

Comments on topics are moderated by the shared machinery (:mod:`civic.proposals.moderation`), kinds
``topic`` and ``topic_comment``.  Anchors: OpenSlides (motions, polls), Decidim (meetings, debates,
accountability).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.extensions import db

COMMITTEE_KINDS = ("road_committee", "lane_committee", "council")
MEMBER_ROLES = ("chair", "secretary", "member")
SPEAKS_FOR = ("residents", "shops", "property_company", "street_office")
TOPIC_STATES = ("proposed", "on_agenda", "declined", "discussed", "decided", "closed")
VOTE_CHOICES = ("agree", "oppose", "abstain")


def _in(col: str, values) -> str:
    return f"{col} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Committee(TimestampMixin, db.Model):
    """A road or lane committee (or a residents' council) serving one road section or lane."""

    __tablename__ = "delib_committee"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, index=True)
    # The residents' committee that convenes it and whose moderators moderate its topics' comments.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), nullable=False)

    __table_args__ = (sa.CheckConstraint(_in("kind", COMMITTEE_KINDS), name="kind_known"),)


class CommitteeMember(db.Model):
    """A member for a term of office; only members whose term covers the day count."""

    __tablename__ = "delib_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_committee.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    speaks_for: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    term_start: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    term_end: Mapped[dt.date | None] = mapped_column(sa.Date)

    __table_args__ = (
        sa.CheckConstraint(_in("role", MEMBER_ROLES), name="role_known"),
        sa.CheckConstraint(_in("speaks_for", SPEAKS_FOR), name="speaks_for_known"),
    )


class RuleSet(db.Model):
    """One version of a committee's rules of procedure.  Never edited: a change is a new version.
    Fractions are stored as text ("1/2") with a strict (>) or inclusive (>=) flag."""

    __tablename__ = "delib_rule_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_committee.id"), nullable=False)
    version: Mapped[int] = mapped_column(nullable=False)
    quorum: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    quorum_strict: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    majority: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    majority_strict: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    majority_base: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # present | members
    abstentions: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # present_not_for | excluded
    notice_days: Mapped[int] = mapped_column(nullable=False)
    cosign_required: Mapped[int] = mapped_column(nullable=False)
    cosign_days: Mapped[int] = mapped_column(nullable=False)
    publish_days: Mapped[int] = mapped_column(nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("committee_id", "version"),
        sa.CheckConstraint("majority_base IN ('present', 'members')", name="base_known"),
        sa.CheckConstraint("abstentions IN ('present_not_for', 'excluded')", name="abstentions_known"),
    )


class Topic(TimestampMixin, db.Model):
    __tablename__ = "delib_topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_committee.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    raised_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    raised_as: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # member | resident
    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="proposed")
    decline_reason: Mapped[str | None] = mapped_column(sa.Text)
    cosign_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cosign_count: Mapped[int] = mapped_column(nullable=False, default=0)
    changes_use: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    common_part: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    needs_owners_vote: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    moderation_state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="approved")
    # Optimistic lock (SQLAlchemy version_id_col): a transition from a stale read is refused (StaleDataError).
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    __table_args__ = (sa.CheckConstraint(_in("state", TOPIC_STATES), name="state_known"),)
    __mapper_args__ = {"version_id_col": version}


class Cosign(db.Model):
    __tablename__ = "delib_cosign"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_topic.id"), nullable=False)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (sa.UniqueConstraint("topic_id", "resident_id"),)


class TopicComment(TimestampMixin, db.Model):
    __tablename__ = "delib_topic_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_topic.id"), nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="approved")


class Meeting(TimestampMixin, db.Model):
    __tablename__ = "delib_meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_committee.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    location: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    notice_sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    rule_set_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_rule_set.id"), nullable=False)
    checkin_code: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    minutes: Mapped[str | None] = mapped_column(sa.Text)
    convened_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    # Optimistic lock (SQLAlchemy version_id_col): a transition from a stale read is refused (StaleDataError).
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class AgendaItem(db.Model):
    __tablename__ = "delib_agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_meeting.id"), nullable=False)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_topic.id"), nullable=False)
    position: Mapped[int] = mapped_column(nullable=False)

    __table_args__ = (sa.UniqueConstraint("meeting_id", "topic_id"),)


class Attendance(db.Model):
    __tablename__ = "delib_attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_meeting.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    method: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # code | secretary
    marked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (sa.UniqueConstraint("meeting_id", "user_id"),)


class Motion(TimestampMixin, db.Model):
    """A motion on an agenda topic.  Closing it freezes the tally and the rule-set version used."""

    __tablename__ = "delib_motion"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_meeting.id"), nullable=False, index=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_topic.id"), nullable=False, index=True)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="open")  # open | closed
    rule_set_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_rule_set.id"), nullable=False)
    rule_set_version: Mapped[int] = mapped_column(nullable=False)
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    passed: Mapped[bool | None] = mapped_column(sa.Boolean)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Optimistic lock (SQLAlchemy version_id_col): a transition from a stale read is refused (StaleDataError).
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class MotionVote(db.Model):
    __tablename__ = "delib_motion_vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    motion_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_motion.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    choice: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("motion_id", "user_id"),
        sa.CheckConstraint(_in("choice", VOTE_CHOICES), name="choice_known"),
    )


class Resolution(TimestampMixin, db.Model):
    __tablename__ = "delib_resolution"

    id: Mapped[int] = mapped_column(primary_key=True)
    motion_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_motion.id"), nullable=False, unique=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_topic.id"), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    rule_set_version: Mapped[int] = mapped_column(nullable=False)


class ActionItem(TimestampMixin, db.Model):
    __tablename__ = "delib_action_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    resolution_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_resolution.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), nullable=False)
    due_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="open")  # open | closed
    overdue: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    evidence_note: Mapped[str | None] = mapped_column(sa.Text)
    # [{"display_key", "thumb_key", "width", "height", "token"}]: served by token (civic.core.media)
    evidence_photos: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list,
                                                  info={"media": "deliberation.action_photo"})
    # Optimistic lock (SQLAlchemy version_id_col): a transition from a stale read is refused (StaleDataError).
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class ActionUpdate(db.Model):
    __tablename__ = "delib_action_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_item_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_action_item.id"), nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False)
    # As ActionItem.evidence_photos.
    photos: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list,
                                         info={"media": "deliberation.action_photo"})
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class OwnersVoteReferral(db.Model):
    """A topic handed to the owners' vote (Civil Code Art. 278 item 8).  civic/voting's create_vote
    needs a certified roster and an owners' committee actor, so the committee records the hand-off
    here and the owners' committee takes it up; ``vote_id`` links the vote once one exists."""

    __tablename__ = "delib_owners_referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("delib_topic.id"), nullable=False, unique=True)
    compound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("place.id"))
    referred_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False)
    vote_id: Mapped[int | None] = mapped_column(sa.ForeignKey("voting_vote.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
