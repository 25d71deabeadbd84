"""The owners' votes' part of a resident's rights over their data (PIPL Arts. 44-47).

* export: the roster entries tied to the account (name, phone as the committee's roster has them),
  their ballots (what civic stores: the vote, the kind, the choices, when, and the receipt hash they
  were given: a SHA-256 of the ballot, so they can check it was counted without it naming them),
  and the proxies registered for their heads or held by them (holder's name, phone masked);
* erase (account deleted): the ballots, proxies and roster entries of a vote whose records must be
  kept (an owner may ask a court to revoke a decision within a year: SPC 法释〔2009〕7号 Art. 12)
  stay as they are until :data:`VOTE_RECORD_DAYS` after the vote closed; then the retention job
  anonymises them (the ballot no longer says who cast it, the proxy no longer names its holder, the
  roster entry no longer names the owner).  Entries on rosters with no vote in that period are
  anonymised at once.  The tally and its published result never change.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import personal_data, retention
from civic.core.text import mask_phone
from civic.extensions import db
from civic.voting.models import Ballot, Proxy, RosterPerson, Vote

VOTE_RECORD_DAYS = 365
ANONYMOUS_OWNER = "已注销业主"
ANONYMOUS_HOLDER = "已匿名"


def _iso(v):
    return v.isoformat() if v is not None else None


def _theirs(user_id: int, phone: str | None):
    """Roster entries of the person: linked to the account, or not yet linked and holding its phone
    (the committee's register names them by phone before they verify it)."""
    mine = RosterPerson.user_id == user_id
    if phone:
        mine = sa.or_(mine, sa.and_(RosterPerson.user_id.is_(None), RosterPerson.phone == phone))
    return sa.select(RosterPerson).where(mine).order_by(RosterPerson.id)


def _export(user_id: int) -> dict:
    from civic.accounts.service import users_by_ids

    phone = users_by_ids([user_id])[user_id].phone
    persons = list(db.session.scalars(_theirs(user_id, phone)))
    pids = [p.id for p in persons]
    ballots = list(db.session.scalars(sa.select(Ballot).where(
        sa.or_(Ballot.cast_by_id == user_id, Ballot.person_id.in_(pids))).order_by(Ballot.id)))
    titles = {vid: title for vid, title in db.session.execute(sa.select(Vote.id, Vote.title).where(
        Vote.id.in_({b.vote_id for b in ballots})))} if ballots else {}
    proxies = list(db.session.scalars(sa.select(Proxy).where(sa.or_(
        Proxy.principal_person_id.in_(pids), Proxy.holder_phone == phone if phone else sa.false()))
        .order_by(Proxy.id)))
    return {
        "roster_entries": [{"roster_id": p.roster_id, "kind": p.kind, "name": p.name, "phone": p.phone,
                            "verified_at": _iso(p.verified_at)} for p in persons],
        "ballots": [{"vote_id": b.vote_id, "vote_title": titles.get(b.vote_id), "kind": b.kind,
                     "choices": b.choices, "cast_at": _iso(b.cast_at), "receipt_hash": b.receipt_hash,
                     "stored": "the ballot row: vote, head, kind, choices, time, receipt hash "
                               "(SHA-256; the receipt itself is only shown to you once)"}
                    for b in ballots],
        "proxies": [{"vote_id": x.vote_id, "mine_as": "principal" if x.principal_person_id in pids else "holder",
                     "holder_name": x.holder_name, "holder_phone": mask_phone(x.holder_phone),
                     "registered_at": _iso(x.registered_at)} for x in proxies],
    }


def _kept_votes(now: dt.datetime):
    """A select of the votes whose records must still be kept: not closed, or closed less than
    :data:`VOTE_RECORD_DAYS` ago."""
    cutoff = now - dt.timedelta(days=VOTE_RECORD_DAYS)
    return sa.select(Vote.id).where(sa.or_(Vote.closed_at.is_(None), Vote.closed_at > cutoff))


def _kept_rosters(now: dt.datetime):
    return sa.select(Vote.roster_id).where(Vote.id.in_(_kept_votes(now)))


def _forget_holder(proxy_ids) -> None:
    if proxy_ids:
        db.session.execute(sa.update(Proxy).where(Proxy.id.in_(proxy_ids))
                           .values(holder_name=ANONYMOUS_HOLDER, holder_phone="-"))


def _anonymise(now: dt.datetime, user_ids: set[int], phones: set[str] = frozenset()) -> int:
    """Anonymise what the deleted accounts ``user_ids`` left in votes whose records need no longer
    be kept: the ballots they cast (and the proxy they cast it as), the roster entries on rosters
    with no such vote (and the proxies registered for them).  ``phones``: at deletion, their phone
    numbers, for proxies they held but never used (nothing else links those to them).  Returns how
    many rows changed."""
    if not user_ids:
        return 0
    kept = _kept_votes(now)
    ballots = list(db.session.scalars(sa.select(Ballot).where(
        Ballot.cast_by_id.in_(user_ids), Ballot.vote_id.not_in(kept))))
    _forget_holder([b.proxy_id for b in ballots if b.proxy_id])
    for b in ballots:
        b.cast_by_id = None
    persons = list(db.session.scalars(sa.select(RosterPerson).where(
        RosterPerson.user_id.in_(user_ids), RosterPerson.roster_id.not_in(_kept_rosters(now)))))
    if persons:
        _forget_holder(db.session.scalars(sa.select(Proxy.id).where(
            Proxy.principal_person_id.in_([p.id for p in persons]))).all())
    for p in persons:
        p.name, p.phone, p.user_id = ANONYMOUS_OWNER, None, None
    unused = []
    if phones:
        # A proxy they held and never voted with: no ballot names them, so it goes now.
        used = sa.select(Ballot.proxy_id).where(Ballot.proxy_id.is_not(None))
        unused = db.session.scalars(sa.select(Proxy.id).where(
            Proxy.holder_phone.in_(phones), Proxy.id.not_in(used))).all()
        _forget_holder(unused)
    db.session.flush()
    return len(ballots) + len(persons) + len(unused)


def _erase(user_id: int, now: dt.datetime) -> None:
    from civic.accounts.service import users_by_ids

    phone = users_by_ids([user_id])[user_id].phone
    for p in db.session.scalars(_theirs(user_id, phone)):
        # Entries holding their phone but never verified are tied to the tombstone, so the
        # retention job finds them when the vote's records may go (the phone goes with the account).
        p.user_id = user_id
    db.session.flush()
    _anonymise(now, {user_id}, {phone} if phone else set())


def anonymise_after_retention(now: dt.datetime) -> int:
    """The retention job's part for owners' votes: what deleted accounts left in votes closed more
    than :data:`VOTE_RECORD_DAYS` ago is anonymised (:func:`_anonymise`).  Returns how many rows."""
    from civic.accounts.service import deleted_accounts

    return _anonymise(now, deleted_accounts(personal_data.linked_users(RosterPerson.user_id, Ballot.cast_by_id)))


personal_data.register("voting", order=20, columns=("voting_roster_person.user_id", "voting_ballot.cast_by_id"),
                       export=_export, erase=_erase, staff_acts={
                           "voting_roster.created_by_id": "the committee member who made the roster",
                           "voting_roster.certified_by_id": "who certified the roster (Shanghai Art. 16)",
                           "voting_vote.created_by_id": "the committee member who made the vote",
                           "voting_delivery.recorded_by_id": "who recorded a ballot's delivery",
                           "voting_proxy.registered_by_id": "who registered the proxy",
                           "voting_paper_entry.entered_by_id": "who entered a paper ballot",
                           "voting_paper_entry.confirmed_by_id": "who confirmed a paper ballot",
                           "voting_paper_entry.withdrawn_by_id": "who withdrew a wrong paper entry"})

retention.register(
    "owner_vote.records", tables=("voting_roster_person", "voting_proxy"),
    keep=f"{VOTE_RECORD_DAYS} days after the vote closes", period_days=VOTE_RECORD_DAYS,
    then="a deleted account's ballots, proxies and roster entries anonymised by the retention job; "
         "the tally and its result stay",
    enforce=anonymise_after_retention,
    source="Civil Code Art. 280, SPC 法释〔2009〕7号 Art. 12 (revocation within one year); "
           "上海市住宅物业管理规定 Arts. 16, 18; civic's choice: one year from closing, the shortest the "
           "revocation period allows")
