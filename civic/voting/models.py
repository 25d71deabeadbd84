"""Owners' votes (业主共同决定事项): rosters, votes, matters, frozen heads, ballots, receipts.

Sources: Civil Code Art. 278 (matters, thresholds), Art. 1259 (以上 includes the boundary);
SPC 法释〔2009〕7号 Arts. 8-9 (area, headcount); 上海市住宅物业管理规定 Arts. 16 (certified roster),
18 (written voting, proxies), 69 (votes of part of a compound).  See RULES.md §1.

The roster is a legal snapshot, not a live view of the registry: its rows keep their own copies of
area, area source and owners.  Opening a vote freezes the roster once more, into the vote's own
heads (``voting_head``) and units (``voting_vote_unit``), so a later roster version never changes a
vote already open.  Areas are ``Numeric(12, 2)`` m²; times UTC (shown in Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.core.media import new_token
from civic.extensions import db

ROSTER_STATUSES = ("draft", "certified")
PERSON_KINDS = ("owner", "developer")
OWNER_ROLES = ("owner", "buyer")  # a buyer of a sold-but-undelivered unit is not yet an owner
VOTE_STATES = ("draft", "announced", "open", "closed", "published")
DELIVERY_METHODS = ("hand", "mail", "mailbox", "electronic")
# Who signed a paper ballot: an owner of the unit (the representative of co-owners), the head's
# registered proxy (上海市住宅物业管理规定 Art. 18), or for a developer-held unit the developer.
SIGNER_KINDS = ("owner", "proxy", "developer")


class Roster(TimestampMixin, db.Model):
    """A version of the owners' roster (业主名册) of a compound or of part of one (Art. 69).

    ``status`` draft → certified.  A certified roster never changes: a change is a new version
    (``previous_id``, ``version + 1``) with its ``change_reason``.
    """

    __tablename__ = "voting_roster"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, index=True)
    scope_place_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("voting_roster.id"))
    change_reason: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="registry")
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="draft")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    certified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    certified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    published_on: Mapped[dt.date | None] = mapped_column(sa.Date)

    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'certified')", name="status_known"),
    )


class RosterPerson(db.Model):
    """A person on a roster (a "roster person"): name and phone (shown masked), linked to a civic
    account only after the phone was confirmed by a one-time code."""

    __tablename__ = "voting_roster_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_roster.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="owner")
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("roster_id", "phone"),)


class RosterUnit(db.Model):
    """One exclusive part on a roster, with its own copy of area and area source (SPC Art. 8)."""

    __tablename__ = "voting_roster_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_roster.id", ondelete="CASCADE"), nullable=False, index=True
    )
    place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("place.id"))
    unit_code: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    building: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    area: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2), nullable=False)
    area_source: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    developer_status: Mapped[str | None] = mapped_column(sa.String(20))

    __table_args__ = (
        sa.UniqueConstraint("roster_id", "unit_code"),
        sa.CheckConstraint("area > 0", name="area_positive"),
    )


class RosterOwner(db.Model):
    """A person's tie to a roster unit: ``owner`` (with ``representative`` for the co-owner who
    represents the unit) or ``buyer`` (sold, not yet delivered: not an owner, SPC Art. 9)."""

    __tablename__ = "voting_roster_owner"

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_unit_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_roster_unit.id", ondelete="CASCADE"), nullable=False, index=True
    )
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_roster_person.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="owner")
    representative: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    __table_args__ = (sa.UniqueConstraint("roster_unit_id", "person_id"),)


class Vote(TimestampMixin, db.Model):
    """An owners' vote on one or more matters, over one certified roster (or part of a compound)."""

    __tablename__ = "voting_vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_roster.id"), nullable=False, index=True)
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, index=True)
    scope_place_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="draft")
    notice_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=15)
    counting_mode: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="strict")
    rules_allow_deemed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    announced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    voting_opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict | None] = mapped_column(sa.JSON)

    __table_args__ = (
        sa.CheckConstraint(
            "state IN ('draft', 'announced', 'open', 'closed', 'published')", name="state_known"
        ),
        sa.CheckConstraint(
            "counting_mode IN ('strict', 'deemed_abstain', 'deemed_majority')", name="mode_known"
        ),
    )


class Matter(db.Model):
    """A matter put to the vote, with its Civil Code Art. 278 item number (1-9)."""

    __tablename__ = "voting_matter"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_vote.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # [{"display_key", "thumb_key", "width", "height", "token"}], stored by the photo pipeline; served
    # at /api/v1/votes/<vote>/matters/<id>/attachments/<token> (civic.core.media)
    attachments: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list,
                                              info={"media": "voting.matter_attachment"})

    __table_args__ = (sa.CheckConstraint("number BETWEEN 1 AND 9", name="number_art278"),)


class Head(db.Model):
    """One head of the frozen roster (SPC Art. 9): ``key`` as in civic.voting.tally."""

    __tablename__ = "voting_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_vote.id", ondelete="CASCADE"), nullable=False, index=True
    )
    key: Mapped[str] = mapped_column(sa.String(400), nullable=False)
    area: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), nullable=False)
    unit_count: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    label: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")

    __table_args__ = (sa.UniqueConstraint("vote_id", "key"),)


class HeadMember(db.Model):
    """A roster person who belongs to a frozen head, and whether they represent it."""

    __tablename__ = "voting_head_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_vote.id", ondelete="CASCADE"), nullable=False
    )
    head_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_head.id", ondelete="CASCADE"), nullable=False, index=True
    )
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_roster_person.id"), nullable=False)
    representative: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    __table_args__ = (
        sa.UniqueConstraint("head_id", "person_id"),
        sa.Index("ix_voting_head_member_vote_person", "vote_id", "person_id"),
    )


class VoteUnit(db.Model):
    """A unit of the frozen roster: who may vote for it, with what area, in which head."""

    __tablename__ = "voting_vote_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_vote.id", ondelete="CASCADE"), nullable=False
    )
    head_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_head.id", ondelete="CASCADE"), nullable=False)
    roster_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_roster_unit.id"), nullable=False)
    unit_code: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    building: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    area: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2), nullable=False)
    area_source: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    developer_held: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    __table_args__ = (
        sa.UniqueConstraint("vote_id", "roster_unit_id"),
        sa.Index("ix_voting_vote_unit_head", "head_id"),
    )


class Delivery(db.Model):
    """A recorded delivery of the ballot/notice to a unit (needed by the deemed counting modes)."""

    __tablename__ = "voting_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_vote.id", ondelete="CASCADE"), nullable=False
    )
    roster_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_roster_unit.id"), nullable=False)
    method: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    delivered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)

    __table_args__ = (sa.UniqueConstraint("vote_id", "roster_unit_id"),)


class Proxy(db.Model):
    """A registered proxy (上海市住宅物业管理规定 Art. 18): the holder votes for the head as the
    owner instructs in the written authorisation, whose scan went through the photo pipeline."""

    __tablename__ = "voting_proxy"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_vote.id", ondelete="CASCADE"), nullable=False
    )
    head_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_head.id"), nullable=False)
    principal_person_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_roster_person.id"), nullable=False)
    holder_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    holder_phone: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    scan_key: Mapped[str] = mapped_column(sa.String(100), nullable=False, info={"media": "voting.proxy_scan"})
    scan_thumb_key: Mapped[str] = mapped_column(sa.String(100), nullable=False, info={"media": "voting.proxy_scan"})
    # The scan's address: /api/v1/votes/<vote>/proxy-scans/<scan_token> (civic.core.media).
    scan_token: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True, default=new_token)
    registered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (sa.UniqueConstraint("vote_id", "head_id"),)


class Ballot(db.Model):
    """The one ballot of a head in a vote: ``UNIQUE (vote_id, head_id)`` makes it exactly one, even
    when many arrive at once.  Online and proxy ballots carry their ``choices`` here; a paper
    ballot's choices are on its per-unit :class:`PaperEntry` rows (only confirmed ones count)."""

    __tablename__ = "voting_ballot"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_vote.id", ondelete="CASCADE"), nullable=False
    )
    head_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_head.id"), nullable=False)
    roster_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_roster_unit.id"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("voting_roster_person.id"))
    cast_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    proxy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("voting_proxy.id"))
    # {"<matter id>": "agree" | "oppose" | "abstain" | "blank"}
    choices: Mapped[dict | None] = mapped_column(sa.JSON)
    receipt_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    cast_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("vote_id", "head_id"),
        sa.CheckConstraint("kind IN ('online', 'paper', 'proxy')", name="kind_known"),
    )


class PaperEntry(db.Model):
    """A paper ballot of one unit, entered with its scan by one owners' committee member and
    confirmed by another (a different user).  Only confirmed entries count."""

    __tablename__ = "voting_paper_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(
        sa.ForeignKey("voting_vote.id", ondelete="CASCADE"), nullable=False
    )
    ballot_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_ballot.id"), nullable=False, index=True)
    head_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_head.id"), nullable=False)
    roster_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("voting_roster_unit.id"), nullable=False)
    choices: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    scan_key: Mapped[str] = mapped_column(sa.String(100), nullable=False, info={"media": "voting.paper_scan"})
    scan_thumb_key: Mapped[str] = mapped_column(sa.String(100), nullable=False, info={"media": "voting.paper_scan"})
    # The scan's address: /api/v1/votes/<vote>/paper-scans/<scan_token> (civic.core.media).
    scan_token: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True, default=new_token)
    entered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    receipt_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    # Who signed the ballot (SIGNER_KINDS), checked when entered as an online ballot is checked
    # (civic.voting.service.electorate.paper_signer): the roster person who signed (for a proxy,
    # the principal) and the registered proxy.  NULL only on entries made before signers were kept.
    signer_kind: Mapped[str | None] = mapped_column(sa.String(10))
    signer_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("voting_roster_person.id"))
    proxy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("voting_proxy.id"))
    # Withdrawn before confirmation (wrongly entered): kept, with its scan, as withdrawn; never counts.
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        # one live (not withdrawn) entry per unit; a withdrawn one may be re-entered correctly
        sa.Index("uq_voting_paper_entry_live_unit", "vote_id", "roster_unit_id", unique=True,
                 postgresql_where=sa.text("withdrawn_at IS NULL"), sqlite_where=sa.text("withdrawn_at IS NULL")),
        sa.CheckConstraint("signer_kind IS NULL OR signer_kind IN ('owner', 'proxy', 'developer')",
                           name="signer_kind_known"),
    )
