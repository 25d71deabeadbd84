"""社区微更新 budget rounds: the round (its places, budget in 分, phase), its projects (each from an
adopted 金点子 idea or a committee resolution, with a staff-reviewed cost), residents' ballots (one
per household or per resident), paper entries awaiting a second staff member's confirmation.

Money is integer 分 everywhere.  A ballot is personal data (civic/budgets/personal.py).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.extensions import db

PHASES = ("setup", "costing", "review", "voting", "result", "carrying_out")
VOTE_UNITS = ("household", "resident")
BALLOT_MODES = ("budget", "k")
SOURCES = ("idea", "resolution")


class BudgetRound(TimestampMixin, db.Model):
    __tablename__ = "budget_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    budget: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)  # 分
    rule: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # civic.budgets.rules.RULES
    vote_unit: Mapped[str] = mapped_column(sa.String(12), nullable=False)  # VOTE_UNITS
    ballot_mode: Mapped[str] = mapped_column(sa.String(8), nullable=False)  # BALLOT_MODES
    max_choices: Mapped[int | None] = mapped_column()  # k, for ballot_mode "k"
    phase: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="setup")
    voting_opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    voting_closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    spent: Mapped[int | None] = mapped_column(sa.BigInteger)  # 分, once computed
    computed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class BudgetRoundPlace(db.Model):
    __tablename__ = "budget_round_place"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("budget_round.id"), nullable=False)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False)

    __table_args__ = (sa.UniqueConstraint("round_id", "place_id"),)


class BudgetProject(TimestampMixin, db.Model):
    __tablename__ = "budget_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("budget_round.id"), nullable=False, index=True)
    source: Mapped[str] = mapped_column(sa.String(12), nullable=False)  # SOURCES
    source_id: Mapped[int] = mapped_column(nullable=False)  # idea id or resolution id
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    cost: Mapped[int | None] = mapped_column(sa.BigInteger)  # 分, None until reviewed
    feasibility_note: Mapped[str | None] = mapped_column(sa.Text)
    implementing_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    votes: Mapped[int | None] = mapped_column()  # approvals, once computed
    funded: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    funded_position: Mapped[int | None] = mapped_column()  # order of selection by the rule (1-based)
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (sa.UniqueConstraint("round_id", "source", "source_id"),)


class BudgetBallot(TimestampMixin, db.Model):
    """One ballot per voter of the round: ``voter_key`` is ``unit:<id>`` (one per household) or
    ``resident:<id>`` (one per resident).  Changed in place until voting closes; each change issues
    a new receipt and keeps the hashes of the ones it replaced."""

    __tablename__ = "budget_ballot"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("budget_round.id"), nullable=False)
    voter_key: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    cast_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8), nullable=False)  # online | paper
    project_ids: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    receipt_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    replaced_receipts: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    cast_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (sa.UniqueConstraint("round_id", "voter_key"),)


class BudgetPaperEntry(TimestampMixin, db.Model):
    """A paper ballot as one staff member typed it; it counts once a second staff member confirms it."""

    __tablename__ = "budget_paper_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("budget_round.id"), nullable=False, index=True)
    voter_key: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    project_ids: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    entered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ballot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("budget_ballot.id"))
    version: Mapped[int] = mapped_column(nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
