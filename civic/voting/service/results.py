"""Turnout, the tally and the results: who has voted (never how) and the turnout totals; loading
the tally's inputs from the frozen roster and the counted ballots and counting them with
:func:`civic.voting.tally.tally_frozen`; the heads whose confirmed paper entries disagree (which
the tally refuses to count); the results with the per-building breakdown; and the full record.

Sources (RULES.md §1): Civil Code Art. 278 (quorum, majorities), Art. 1259 (以上 includes the
boundary); SPC 法释〔2009〕7号 Arts. 8-9 (area and headcount), Art. 12 (the record is kept for the
one-year revocation period).

Privacy: the full record is for the owners' committee and the street centre after closing, and
every look at it is written to the audit log.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections import defaultdict

import sqlalchemy as sa

from civic.core import audit
from civic.core.errors import Conflict
from civic.extensions import db
from civic.voting import tally as pure
from civic.voting.access import RECORD_READERS, acting_org, actor_role
from civic.voting.models import Ballot, Delivery, Head, Matter, PaperEntry, RosterPerson, Vote, VoteUnit
from civic.voting.service.ballots import _choices_out
from civic.voting.service.electorate import head_names, unit_names
from civic.voting.service.media import paper_scan_url
from civic.voting.service.paper import _disagree, _pending_entries
from civic.voting.service.votes import _require_state, get_vote, matters_of, visible_vote

# --- turnout -------------------------------------------------------------------------------------

def turnout(vote_id: int, actor, *, show: str = "all", offset: int = 0, limit: int | None = None) -> dict:
    """Who has voted (to remind the others), never how: per head, its units and whether (and how:
    online, proxy, paper) a ballot was returned.  For the owners' committee and the street centre.

    ``show``: ``all``, ``voted`` or ``not_voted``; ``offset`` / ``limit``: one page of the heads in
    head order (``limit`` ``None``: all), filtered and cut in SQL, so a page of a 10,000-unit
    roster reads only its own heads.  ``label`` names the head by its units' names
    (:func:`civic.voting.service.electorate.head_names`: ``滨江花园1号楼101室``, never a code).

    :returns: ``{"vote_id", "state", "heads", "voted", "count" (heads matching ``show``), "items":
        [{"head_id", "label", "units", "area" (Decimal m²), "voted", "channel"}]}``.
    Whoever may not see the vote at all (:func:`~civic.voting.service.votes.visible_vote`, the vote
    list's rule) gets ``vote_not_found``; one who sees it but is no record reader ``not_owners_committee``.
    :raises NotFound: ``vote_not_found``; :raises Forbidden: ``not_owners_committee``;
    :raises Conflict: ``vote_not_open``."""
    vote = visible_vote(vote_id, actor)
    acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
    if vote.state in ("draft", "announced"):
        raise Conflict("投票尚未开始", code="vote_not_open")
    # a paper ballot whose entries were all withdrawn is not a returned ballot
    live_paper = sa.select(PaperEntry.id).where(PaperEntry.ballot_id == Ballot.id,
                                                PaperEntry.withdrawn_at.is_(None)).exists()
    returned = sa.select(Ballot.head_id).where(Ballot.vote_id == vote.id, sa.or_(Ballot.kind != "paper", live_paper))
    where = [Head.vote_id == vote.id]
    if show == "voted":
        where.append(Head.id.in_(returned))
    elif show == "not_voted":
        where.append(Head.id.not_in(returned))
    stmt = sa.select(Head.id, Head.unit_count, Head.area).where(*where).order_by(Head.id).offset(offset)
    heads = db.session.execute(stmt if limit is None else stmt.limit(limit)).all()
    count = db.session.scalar(sa.select(sa.func.count(Head.id)).where(*where))
    all_heads = db.session.scalar(sa.select(sa.func.count(Head.id)).where(Head.vote_id == vote.id))
    n_voted = db.session.scalar(sa.select(sa.func.count()).select_from(returned.subquery()))
    ids = [h.id for h in heads]
    channels = {}
    for i in range(0, len(ids), 500):
        channels.update(db.session.execute(returned.add_columns(Ballot.kind).where(
            Ballot.head_id.in_(ids[i:i + 500]))).all())
    labels = head_names(vote.id, ids)
    items = [{"head_id": h.id, "label": labels.get(h.id, ""), "units": h.unit_count, "area": h.area,
              "voted": h.id in channels, "channel": channels.get(h.id)} for h in heads]
    return {"vote_id": vote.id, "state": vote.state, "heads": all_heads, "voted": n_voted, "count": count,
            "items": items}


def turnout_totals(vote_id: int, actor) -> dict:
    """Turnout as totals of the frozen roster, in SQL (areas as integer hundredths, so exact):

    ``{"heads", "units", "area", "returned": {...}, "counted": {...}, "contested": {...}, "pending_entries",
    "fractions": {"area", "heads", "units"}, "percents": {"area", "heads", "units"}}`` where ``returned`` and
    ``counted`` are ``{"heads", "units", "area"}``: heads with a returned ballot (online, proxy, or
    a paper entry not withdrawn, as :func:`turnout` counts them), and heads whose ballot counts in
    the tally now (online, proxy, or a confirmed paper entry, but no contested head); ``contested``
    the same for the heads whose live paper entries disagree (:func:`conflicting_paper_heads`).  A head takes part with all its units
    and its whole area (SPC Art. 9; RULES.md §1).  ``fractions`` are the counted share of all area
    heads and units as exact ``"n/d"`` (the area's of hundredths of m²: a page shows the two areas in m²
    instead); ``percents`` are for display only.  Areas are Decimal m².
    For the owners' committee and the street centre, once voting has opened.
    :raises Conflict: ``vote_not_open``; :raises Forbidden: ``not_owners_committee``.
    """
    vote = get_vote(vote_id)
    acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
    if vote.state in ("draft", "announced"):
        raise Conflict("投票尚未开始", code="vote_not_open")
    other = sa.select(Ballot.head_id).where(Ballot.vote_id == vote.id, Ballot.kind != "paper")
    live = sa.select(PaperEntry.head_id).where(PaperEntry.vote_id == vote.id, PaperEntry.withdrawn_at.is_(None))
    confirmed = live.where(PaperEntry.confirmed_at.is_not(None))

    def sums(*where):
        heads, units, area = db.session.execute(
            sa.select(sa.func.count(Head.id), sa.func.coalesce(sa.func.sum(Head.unit_count), 0),
                      sa.func.coalesce(sa.func.sum(_hundredths(Head.area)), 0))
            .where(Head.vote_id == vote.id, *where)).one()
        return int(heads), int(units), int(area)

    contested = [c["head_id"] for c in conflicting_paper_heads(vote.id)]
    all_h, all_u, all_a = sums()
    ret = sums(sa.or_(Head.id.in_(other), Head.id.in_(live)))
    # a contested head's ballot stands on none of its entries (:func:`conflicting_paper_heads`)
    cnt = sums(sa.or_(Head.id.in_(other), Head.id.in_(confirmed)), Head.id.not_in(contested))
    con = sums(Head.id.in_(contested))

    def part(t):
        return {"heads": t[0], "units": t[1], "area": pure.area_from_hundredths(t[2])}

    area_share = pure.share(cnt[2], all_a or 1)
    heads_share = pure.share(cnt[0], all_h or 1)
    units_share = pure.share(cnt[1], all_u or 1)
    return {"vote_id": vote.id, "state": vote.state, "heads": all_h, "units": all_u,
            "area": pure.area_from_hundredths(all_a), "returned": part(ret), "counted": part(cnt),
            "pending_entries": _pending_entries(vote.id), "contested": part(con),
            "fractions": {"area": area_share[0], "heads": heads_share[0], "units": units_share[0]},
            "percents": {"area": area_share[1], "heads": heads_share[1], "units": units_share[1]}}


# --- tally and results ---------------------------------------------------------------------------

def _hundredths(col):
    """``col`` (Numeric m², two places) as integer hundredths, computed by the database: exact on
    PostgreSQL (numeric); on SQLite (no decimal type) ``round`` removes the binary error of a
    two-place value, exact for any area below 10¹³ m²."""
    return sa.cast(sa.func.round(col * 100), sa.BigInteger)


def tally_inputs(vote_id: int, mode: str):
    """The tally's inputs from the frozen roster and the counted ballots, in lean queries
    (tuples; areas as integer hundredths straight from SQL; no ORM objects, no Decimal):

    * ``roster``: :class:`civic.voting.tally.FrozenRoster` -- frozen head id -> area hundredths.
      The heads were built and validated once, when the vote opened (``_freeze`` calls
      :func:`civic.voting.tally.build_heads`, SPC Art. 9), so they are not regrouped here;
    * ``matters``: :class:`civic.voting.tally.Matter` list (key = matter id);
    * ``rows``: ``(head id, roster unit id, choice per matter...)`` for online/proxy ballots and
      confirmed paper entries (a matter absent from the stored choices is ``None``);
    * ``deemable``: heads all of whose units have a recorded delivery (deemed modes only).
    """
    head_area = dict(db.session.execute(
        sa.select(Head.id, _hundredths(Head.area)).where(Head.vote_id == vote_id)).all())
    unit_count = db.session.scalar(sa.select(sa.func.count()).select_from(VoteUnit)
                                   .where(VoteUnit.vote_id == vote_id))
    matters = [pure.Matter(number=number, key=str(mid)) for mid, number in db.session.execute(
        sa.select(Matter.id, Matter.number).where(Matter.vote_id == vote_id).order_by(Matter.id)).all()]
    keys = [m.key for m in matters]
    # The choices as JSON text, parsed here by the C json decoder: one parse per ballot (PostgreSQL's
    # ``->>`` per matter re-parses the json document once per matter, which costs more).
    online = sa.select(Ballot.head_id, Ballot.roster_unit_id, sa.cast(Ballot.choices, sa.Text)).where(
        Ballot.vote_id == vote_id, Ballot.kind != "paper")
    paper = sa.select(PaperEntry.head_id, PaperEntry.roster_unit_id, sa.cast(PaperEntry.choices, sa.Text)).where(
        PaperEntry.vote_id == vote_id, PaperEntry.confirmed_at.is_not(None),
        PaperEntry.withdrawn_at.is_(None))
    loads = json.loads
    rows = []
    for head_id, unit_id, text in db.session.execute(online.union_all(paper)):
        choices = loads(text) if text else {}
        rows.append((head_id, unit_id, *[choices.get(k) for k in keys]))
    deemable: list[int] = []
    if mode != "strict":
        delivered = sa.func.count(Delivery.id)
        deemable = list(db.session.scalars(
            sa.select(VoteUnit.head_id)
            .outerjoin(Delivery, sa.and_(Delivery.vote_id == VoteUnit.vote_id,
                                         Delivery.roster_unit_id == VoteUnit.roster_unit_id))
            .where(VoteUnit.vote_id == vote_id).group_by(VoteUnit.head_id)
            .having(delivered == sa.func.count(VoteUnit.id))))
    return pure.FrozenRoster(head_area=head_area, unit_count=unit_count), matters, rows, deemable


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while the tally loads and counts tens of thousands of
    small tuples: they hold no reference cycles, and the collections their allocation triggers
    (each walking every live object of the process) cost more than the count itself.  Reference
    counting still frees everything; the collector is re-enabled (if it was on) on the way out."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def run_tally(vote: Vote):
    """Load the inputs (:func:`tally_inputs`) and tally them with the trusted entry point
    :func:`civic.voting.tally.tally_frozen` -- the same counting as ``tally()`` (Civil Code
    Art. 278; RULES.md §1) without re-validating the roster validated at freeze time.

    :returns: ``(TallyResult, matters, head votes)``.
    :raises TallyInputInvalid: 422, e.g. ``tally_conflicting_ballots`` naming the head (its id and
        unit codes) when one head's confirmed paper ballots disagree.
    """
    try:
        with _gc_paused():
            roster, matters, rows, deemable = tally_inputs(vote.id, vote.counting_mode)
            votes = pure.head_votes(matters, rows)
            result = pure.tally_frozen(roster, matters, votes, mode=vote.counting_mode,
                                       deemable_heads=deemable, rules_allow_deemed=vote.rules_allow_deemed)
    except pure.TallyInputInvalid as exc:
        if exc.code == "tally_conflicting_ballots":
            _name_head(vote, exc)
        raise
    return result, matters, votes


def _name_head(vote: Vote, exc) -> None:
    """Name the conflicting head by its frozen id, all its unit codes and their names."""
    head_id = exc.details.get("head_key")
    units = db.session.execute(sa.select(VoteUnit.roster_unit_id, VoteUnit.unit_code).where(
        VoteUnit.vote_id == vote.id, VoteUnit.head_id == head_id).order_by(VoteUnit.unit_code)).all()
    names = unit_names(vote.id, [u.roster_unit_id for u in units])
    exc.details["head_id"] = head_id
    exc.details["unit_codes"] = [u.unit_code for u in units]
    exc.details["unit_names"] = [names[u.roster_unit_id] for u in units]
    exc.message = _conflicting_message(exc.details["unit_names"])


def _conflicting_message(names: list[str]) -> str:
    """What the committee is told when one head's live paper entries disagree: what is wrong and
    the way out (:func:`withdraw_paper_ballot`: a pending entry by its enterer or the committee
    head, a confirmed one by the committee head, then enter again if need be)."""
    return (f"同一业主（{'、'.join(names)}）的纸质选票所选不一致，该业主的选票存在争议，结果不能公布：请与业主核实，"
            "撤回录入有误的一张（已复核的由业主委员会主任在结果公布前撤回），必要时重新录入并复核")


def conflicting_paper_heads(vote_id: int) -> list[dict]:
    """The contested heads: those with two live (not withdrawn) paper entries, pending or
    confirmed, that disagree (:func:`_disagree`, the test of :func:`civic.voting.tally.head_votes`).

    One owner, one will (Civil Code Art. 278; SPC 法释〔2009〕7号 Art. 9; RULES.md §1 "do not
    guess"): such a head's ballot stands on neither entry -- neither can be confirmed, neither
    counts in the turnout, and the results cannot be published (``paper_ballots_contested``) until
    the committee withdraws the wrong one.  Never the choices themselves: only where to look.

    :returns: ``[{"head_id", "unit_codes" (all the head's units, sorted), "unit_names" (the same
        units' names, same order), "message" (what to do), "entries": [{"id", "roster_unit_id",
        "unit_code", "unit_name", "state"}] (the live entries, id order)}]``, in head id order;
        ``[]`` when every head's entries agree.
    """
    live = (PaperEntry.vote_id == vote_id, PaperEntry.withdrawn_at.is_(None))
    several = (sa.select(PaperEntry.head_id).where(*live)
               .group_by(PaperEntry.head_id).having(sa.func.count(PaperEntry.id) > 1))
    rows = db.session.execute(
        sa.select(PaperEntry.id, PaperEntry.head_id, PaperEntry.roster_unit_id, PaperEntry.choices,
                  PaperEntry.confirmed_at)
        .where(*live, PaperEntry.head_id.in_(several))
        .order_by(PaperEntry.head_id, PaperEntry.id)).all()
    by_head: dict[int, list] = defaultdict(list)
    for r in rows:
        by_head[r.head_id].append(r)
    bad = [h for h, rs in by_head.items()
           if any(_disagree(a.choices, b.choices) for i, a in enumerate(rs) for b in rs[i + 1:])]
    if not bad:
        return []
    units = db.session.execute(sa.select(VoteUnit.head_id, VoteUnit.roster_unit_id, VoteUnit.unit_code).where(
        VoteUnit.vote_id == vote_id, VoteUnit.head_id.in_(bad)).order_by(VoteUnit.unit_code)).all()
    codes = {u.roster_unit_id: u.unit_code for u in units}
    names = unit_names(vote_id, codes)
    out = []
    for h in sorted(bad):
        mine = [u for u in units if u.head_id == h]
        head_names = [names[u.roster_unit_id] for u in mine]
        out.append({"head_id": h, "unit_codes": [u.unit_code for u in mine], "unit_names": head_names,
                    "message": _conflicting_message(head_names),
                    "entries": [{"id": r.id, "roster_unit_id": r.roster_unit_id, "unit_code": codes.get(r.roster_unit_id),
                                 "unit_name": names.get(r.roster_unit_id),
                                 "state": "confirmed" if r.confirmed_at is not None else "pending"}
                                for r in by_head[h]]})
    return out


def building_cells(vote_id: int) -> list[tuple]:
    """``(building, head id, units, area hundredths)`` per head per building, grouped in SQL."""
    return db.session.execute(
        sa.select(VoteUnit.building, VoteUnit.head_id, sa.func.count(),
                  sa.cast(sa.func.sum(_hundredths(VoteUnit.area)), sa.BigInteger))
        .where(VoteUnit.vote_id == vote_id).group_by(VoteUnit.building, VoteUnit.head_id)).all()


def compute_results(vote: Vote) -> dict:
    """The results: the tally (exact fractions as strings, rounded percentages for display), the
    matters' titles, and a breakdown per building (:func:`civic.voting.tally.building_breakdown`:
    units, heads and area; per matter participating and agreeing units, heads and area, and the
    participation fractions -- a head spanning two buildings counts as one head in each)."""
    result, pmatters, votes = run_tally(vote)
    out = result.to_dict()
    titles = {str(m.id): m for m in matters_of(vote.id)}
    for md in out["matters"]:
        m = titles[md["matter_key"]]
        md.update({"matter_id": m.id, "number": m.number, "title": m.title})
    with _gc_paused():
        buildings = pure.building_breakdown(pmatters, building_cells(vote.id), votes)
    for b in buildings:
        for cell in b["matters"]:
            cell["matter_id"] = int(cell.pop("matter_key"))
    out["buildings"] = buildings
    out["vote_id"] = vote.id
    out["counting_mode"] = vote.counting_mode
    out["note"] = "未投票不计入参与表决" if vote.counting_mode == "strict" else (
        "已送达未投票视为弃权" if vote.counting_mode == "deemed_abstain" else "已送达未投票视为随多数")
    return out


def results(vote_id: int, actor) -> dict:
    """Published results, for whoever may see the vote (:func:`~civic.voting.service.votes.visible_vote`,
    the vote list's rule: the compound's verified owners, its owners' committee and street centre,
    administrators), or, once closed, a preview for the owners' committee and street centre.

    :raises NotFound: ``vote_not_found`` (also a vote the actor may not see);
    :raises Forbidden: ``not_owners_committee`` (a preview for anyone else);
    :raises Conflict: ``results_not_published``."""
    vote = visible_vote(vote_id, actor)
    if vote.state == "published":
        return vote.result
    if vote.state == "closed":
        acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
        return {**compute_results(vote), "preview": True}
    raise Conflict("表决结果尚未公布", code="results_not_published", details={"state": vote.state})


def full_record(vote_id: int, actor) -> dict:
    """Every ballot: online, proxy or paper, with its choices, who cast it or who entered and who
    confirmed it, and when; a paper entry also with who signed it (``signer_kind``: owner, proxy,
    developer; ``signer``: the roster name -- for a proxy, the principal's).  ``head`` names the
    head by its units' names, ``unit_name`` a paper entry's unit (``滨江花园1号楼101室``).  For the owners' committee and the street centre, once voting is
    closed (kept for the one-year revocation period, SPC Art. 12); each look is audited.

    :raises NotFound: ``vote_not_found`` (also a vote the actor may not see, :func:`visible_vote`);
    :raises Forbidden: ``not_owners_committee``; :raises Conflict: ``record_not_available``."""
    from civic.accounts.service import users_by_ids

    vote = visible_vote(vote_id, actor)
    org = acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
    _require_state(vote, "closed", "published", code="record_not_available")
    matters = matters_of(vote.id)
    codes = dict(db.session.execute(sa.select(VoteUnit.roster_unit_id, VoteUnit.unit_code)
                                    .where(VoteUnit.vote_id == vote.id)).all())
    names = unit_names(vote.id)
    ballots = db.session.scalars(sa.select(Ballot).where(Ballot.vote_id == vote.id).order_by(Ballot.id)).all()
    heads = head_names(vote.id, {b.head_id for b in ballots})
    persons = dict(db.session.execute(
        sa.select(RosterPerson.id, RosterPerson.name).where(RosterPerson.roster_id == vote.roster_id)).all())
    entries = db.session.scalars(sa.select(PaperEntry).where(PaperEntry.vote_id == vote.id)
                                 .order_by(PaperEntry.id)).all()
    users = users_by_ids({b.cast_by_id for b in ballots if b.cast_by_id}
                         | {e.entered_by_id for e in entries} | {e.confirmed_by_id for e in entries if e.confirmed_by_id}
                         | {e.withdrawn_by_id for e in entries if e.withdrawn_by_id})

    def uname(uid):
        return users[uid].display_name if uid in users else None

    items = []
    for b in ballots:
        if b.kind == "paper":
            continue
        items.append({"ballot_id": b.id, "head_id": b.head_id, "head": heads.get(b.head_id), "kind": b.kind,
                      "owner": persons.get(b.person_id), "cast_by": uname(b.cast_by_id), "at": b.cast_at,
                      "unit_code": None, "unit_name": None, "entered_by": None, "confirmed_by": None,
                      "confirmed_at": None,
                      "signer_kind": None, "signer": None,
                      "counted": True, "choices": _choices_out(b.choices, matters)})
    for e in entries:
        items.append({"ballot_id": e.ballot_id, "head_id": e.head_id, "head": heads.get(e.head_id), "kind": "paper",
                      "owner": None, "cast_by": None, "at": e.entered_at, "unit_code": codes.get(e.roster_unit_id),
                      "unit_name": names.get(e.roster_unit_id), "entered_by": uname(e.entered_by_id), "confirmed_by": uname(e.confirmed_by_id),
                      "confirmed_at": e.confirmed_at, "counted": e.confirmed_at is not None and e.withdrawn_at is None,
                      "withdrawn_at": e.withdrawn_at, "withdrawn_by": uname(e.withdrawn_by_id),
                      "withdrawal_reason": e.withdrawal_reason, "scan_url": paper_scan_url(e),
                      "signer_kind": e.signer_kind, "signer": persons.get(e.signer_person_id),
                      "choices": _choices_out(e.choices, matters)})
    audit.record("vote.record_viewed", "vote", vote.id, actor=actor, actor_role=actor_role(actor, org),
                 data={"ballots": len(items)})
    return {"vote_id": vote.id, "state": vote.state, "items": items}
