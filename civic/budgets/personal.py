"""Budget rounds' part of a resident's rights over their data (PIPL Arts. 44-47).

A ballot is personal data: it says which projects a resident (or their household) chose.

* export: the resident's ballots (round, choices, kind, when, receipt hash) and paper entries naming them;
* erase (account deleted): while a round's result may still be questioned (:data:`BALLOT_RECORD_DAYS`
  after it was published, or before publication) the ballot stays so the published count can be
  checked; afterwards the retention job anonymises it (no account, a voter key that names nobody).
  The counts and the published result never change.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.budgets.models import BudgetBallot, BudgetPaperEntry, BudgetRound
from civic.core import personal_data, retention
from civic.extensions import db

BALLOT_RECORD_DAYS = 180


def _iso(v):
    return v.isoformat() if v is not None else None


def _export(user_id: int) -> dict:
    ballots = list(db.session.scalars(sa.select(BudgetBallot).where(
        sa.or_(BudgetBallot.cast_by_id == user_id, BudgetBallot.voter_key == f"resident:{user_id}"))
        .order_by(BudgetBallot.id)))
    entries = list(db.session.scalars(sa.select(BudgetPaperEntry).where(BudgetPaperEntry.resident_id == user_id)
                                      .order_by(BudgetPaperEntry.id)))
    return {"ballots": [{"round_id": b.round_id, "kind": b.kind, "project_ids": b.project_ids,
                         "cast_at": _iso(b.cast_at), "receipt_hash": b.receipt_hash} for b in ballots],
            "paper_entries": [{"round_id": e.round_id, "project_ids": e.project_ids,
                               "confirmed_at": _iso(e.confirmed_at)} for e in entries]}


def _kept_rounds(now: dt.datetime):
    cutoff = now - dt.timedelta(days=BALLOT_RECORD_DAYS)
    return sa.select(BudgetRound.id).where(sa.or_(BudgetRound.published_at.is_(None), BudgetRound.published_at > cutoff))


def _anonymise(now: dt.datetime, user_ids: set[int]) -> int:
    if not user_ids:
        return 0
    kept = _kept_rounds(now)
    keys = [f"resident:{u}" for u in user_ids]
    ballots = list(db.session.scalars(sa.select(BudgetBallot).where(
        sa.or_(BudgetBallot.cast_by_id.in_(user_ids), BudgetBallot.voter_key.in_(keys)),
        BudgetBallot.round_id.not_in(kept))))
    for b in ballots:
        b.cast_by_id = None
        if b.voter_key.startswith("resident:"):
            b.voter_key = f"anonymous:{b.id}"
    entries = list(db.session.scalars(sa.select(BudgetPaperEntry).where(
        BudgetPaperEntry.resident_id.in_(user_ids), BudgetPaperEntry.round_id.not_in(kept))))
    for e in entries:
        e.resident_id = None
        if e.voter_key.startswith("resident:"):
            e.voter_key = f"anonymous:{e.id}"
    db.session.flush()
    return len(ballots) + len(entries)


def _erase(user_id: int, now: dt.datetime) -> None:
    _anonymise(now, {user_id})


def anonymise_after_retention(now: dt.datetime) -> int:
    """The retention job's part for budget rounds (:func:`_anonymise` over deleted accounts)."""
    from civic.accounts.service import deleted_accounts

    return _anonymise(now, deleted_accounts(personal_data.linked_users(BudgetBallot.cast_by_id,
                                                                       BudgetPaperEntry.resident_id)))


personal_data.register("budgets", order=25, columns=("budget_ballot.cast_by_id", "budget_paper_entry.resident_id"),
                       export=_export, erase=_erase, staff_acts={
                           "budget_round.created_by_id": "the staff member who set up the round",
                           "budget_project.reviewed_by_id": "the staff member who reviewed the cost",
                           "budget_paper_entry.entered_by_id": "who entered a paper ballot",
                           "budget_paper_entry.confirmed_by_id": "who confirmed a paper ballot"})

retention.register(
    "budget_round.ballots", tables=("budget_ballot", "budget_paper_entry"),
    keep=f"{BALLOT_RECORD_DAYS} days after the round's result is published", period_days=BALLOT_RECORD_DAYS,
    then="a deleted account's ballots and paper entries anonymised by the retention job; the counts and the "
         "published result stay",
    enforce=anonymise_after_retention,
    source="PIPL Art. 19 (kept no longer than the purpose needs); civic's choice: long enough for residents "
           "and the street to check a published result")
