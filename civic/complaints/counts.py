"""Pre-aggregated oversight counts (issue 21 point 3): the street centre's figures read a few hundred
rows of ``complaint_count`` and ``complaint_duration_count`` instead of scanning its street's cases.

How they stay true:

* Every flush that adds, changes or deletes a :class:`Complaint` notes the case's id in the session;
  when the transaction commits, one job :func:`recount` is enqueued for those ids (with Redis: an
  outbox row written in the same transaction, civic.core.outbox; embedded: run after the commit).
* :func:`recount` compares each case with its :class:`ComplaintTally` row (what it contributes to the
  counts now), subtracts the old contribution, adds the new one and rewrites the tally, under a lock
  on the tally row (PostgreSQL: ``SELECT ... FOR UPDATE``).  It reads the case as it is, not as it
  was when the job was written, so jobs that run late, twice or out of order still end in the right
  counts: it is idempotent (the outbox's retries need that, civic.core.jobs.enqueue).
* :func:`rebuild` (``flask civic recount-complaints``) throws the counts away and computes them from
  a scan: after a restore, a bulk SQL change, or to check them (``--check`` compares without writing).

Counts may trail the cases by the jobs' queue (seconds), as the replica already may (stats.py).
Durations are kept in tenths of an hour, rounded down (6-minute steps): a median from them is within
0.1 h of the median of the exact times, which the figures show to 0.1 h anyway.
"""

from __future__ import annotations

import datetime as dt

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from civic.complaints.models import (
    Complaint,
    ComplaintCount,
    ComplaintDurationCount,
    ComplaintSupporter,
    ComplaintTally,
)
from civic.complaints.service import UNSATISFIED_MAX
from civic.core.cli import civic_cli
from civic.core.db import commit
from civic.extensions import db

TENTH = dt.timedelta(minutes=6)
_PENDING = "complaints_recount"


def tenths(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    """Whole tenths of an hour from ``start`` to ``end`` (rounded down), None when either is missing."""
    if start is None or end is None:
        return None
    return (end - start) // TENTH


def contribution(c: Complaint | None, supporters: int | None = None) -> dict | None:
    """The tally row of case ``c`` as it is now (None for a deleted case).  ``supporters``: its
    "me too" count when the caller has it (a rebuild), else read (one indexed count)."""
    if c is None:
        return None
    if supporters is None:
        supporters = db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintSupporter).where(
            ComplaintSupporter.complaint_id == c.id)) or 0
    return {"supporters": supporters, "street_id": c.street_id or 0, "lead_organisation_id": c.lead_organisation_id or 0,
            "status": c.status, "overdue": bool(c.overdue), "rating": c.rating,
            "ack_tenths": tenths(c.created_at, c.acknowledged_at),
            "resolve_tenths": tenths(c.created_at, c.resolved_at)}


def _upsert(model, keys: dict, deltas: dict) -> None:
    """Add ``deltas`` to the row of ``model`` with ``keys`` (created at zero when missing), in one
    statement: INSERT ... ON CONFLICT DO UPDATE on PostgreSQL and SQLite (3.24+) alike."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).values(**keys, **deltas)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=list(keys), set_={k: getattr(model, k) + stmt.excluded[k] for k in deltas}))


def _apply(t: dict, sign: int) -> None:
    key = {"street_id": t["street_id"], "lead_organisation_id": t["lead_organisation_id"]}
    rated = t["rating"] is not None
    _upsert(ComplaintCount, {**key, "status": t["status"]},
            {"cases": sign, "overdue": sign * int(t["overdue"]), "rated": sign * int(rated),
             "satisfied": sign * int(rated and t["rating"] > UNSATISFIED_MAX),
             "rating_sum": sign * (t["rating"] or 0), "supporters": sign * t["supporters"]})
    for measure in ("ack", "resolve"):
        if t[f"{measure}_tenths"] is not None:
            _upsert(ComplaintDurationCount, {**key, "measure": measure, "tenths": t[f"{measure}_tenths"]},
                    {"cases": sign})


def recount(complaint_ids: list[int]) -> int:
    """The job: bring the counts up to date for these cases (see the module's docstring).  Returns
    how many cases' contributions changed.  Idempotent; safe beside other recounts of the same case
    (the tally row is locked on PostgreSQL; a second insert of a new case's tally fails its unique
    key and the job is retried)."""
    changed = 0
    for cid in sorted(set(complaint_ids)):
        row = db.session.scalars(sa.select(ComplaintTally).where(ComplaintTally.complaint_id == cid)
                                 .with_for_update()).first()
        now = contribution(db.session.get(Complaint, cid, populate_existing=True))
        old = None if row is None else {k: getattr(row, k) for k in
                                        ("street_id", "lead_organisation_id", "status", "overdue", "rating",
                                         "ack_tenths", "resolve_tenths", "supporters")}
        if old == now:
            continue
        if old is not None:
            _apply(old, -1)
        if now is not None:
            _apply(now, +1)
        if row is None:
            db.session.add(ComplaintTally(complaint_id=cid, **now))
        elif now is None:
            db.session.delete(row)
        else:
            for k, v in now.items():
                setattr(row, k, v)
        changed += 1
    db.session.flush()
    return changed


@sa.event.listens_for(Session, "after_flush")
def _note_changed_cases(session: Session, _ctx) -> None:
    ids = {o.id for o in (*session.new, *session.dirty, *session.deleted) if isinstance(o, Complaint)}
    # A supporter joining or leaving ("me too") changes the case's supporters in the counts.
    ids |= {o.complaint_id for o in (*session.new, *session.deleted) if isinstance(o, ComplaintSupporter)}
    if ids:
        session.info.setdefault(_PENDING, set()).update(ids)


@sa.event.listens_for(Session, "before_commit")
def _enqueue_recount(session: Session) -> None:
    # A flush still pending (dirty cases not yet written) would only be noted by the commit's own
    # flush, after this hook: flush first so its cases are in this job.
    if any(isinstance(o, Complaint | ComplaintSupporter) for o in (*session.new, *session.dirty, *session.deleted)):
        session.flush()
    ids = session.info.pop(_PENDING, None)
    if ids and session is db.session():
        from civic.core.jobs import enqueue

        enqueue(recount, sorted(ids), retry=3)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous) -> None:
    session.info.pop(_PENDING, None)


# --- rebuild from a scan ------------------------------------------------------------------------

def scanned() -> tuple[dict, dict]:
    """The counts computed from every case now: ``({(street, lead, status): (cases, overdue, rated,
    satisfied, rating_sum, supporters)}, {(street, lead, measure, tenths): cases})``; street/lead 0
    for none."""
    backing = dict(db.session.execute(sa.select(ComplaintSupporter.complaint_id, sa.func.count())
                                      .group_by(ComplaintSupporter.complaint_id)).all())
    counts: dict = {}
    durations: dict = {}
    cols = (Complaint.id, Complaint.street_id, Complaint.lead_organisation_id, Complaint.status, Complaint.overdue,
            Complaint.rating, Complaint.created_at, Complaint.acknowledged_at, Complaint.resolved_at)
    for r in db.session.execute(sa.select(*cols).execution_options(yield_per=10_000)):
        street, lead = r.street_id or 0, r.lead_organisation_id or 0
        k = (street, lead, r.status)
        rated = r.rating is not None
        c = counts.get(k, (0, 0, 0, 0, 0, 0))
        counts[k] = (c[0] + 1, c[1] + int(bool(r.overdue)), c[2] + int(rated),
                     c[3] + int(rated and r.rating > UNSATISFIED_MAX), c[4] + (r.rating or 0),
                     c[5] + backing.get(r.id, 0))
        for measure, end in (("ack", r.acknowledged_at), ("resolve", r.resolved_at)):
            t = tenths(r.created_at, end)
            if t is not None:
                durations[(street, lead, measure, t)] = durations.get((street, lead, measure, t), 0) + 1
    return counts, durations


def stored() -> tuple[dict, dict]:
    """The counts as the tables hold them, in the shape of :func:`scanned` (zero rows left out)."""
    counts = {(r.street_id, r.lead_organisation_id, r.status): (r.cases, r.overdue, r.rated, r.satisfied, r.rating_sum,
                                                                 r.supporters)
              for r in db.session.scalars(sa.select(ComplaintCount)) if r.cases}
    durations = {(r.street_id, r.lead_organisation_id, r.measure, r.tenths): r.cases
                 for r in db.session.scalars(sa.select(ComplaintDurationCount)) if r.cases}
    return counts, durations


def rebuild() -> dict:
    """Replace the tallies and counts with those of a scan of every case.  On PostgreSQL the scan is
    three INSERT ... SELECT statements (ten million cases in minutes, not hours through Python);
    elsewhere it runs through :func:`contribution`.  Returns ``{"cases", "counts", "durations"}`` (rows
    written).  Commits."""
    for model in (ComplaintTally, ComplaintCount, ComplaintDurationCount):
        db.session.execute(sa.delete(model))
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text(f"""
            INSERT INTO complaint_tally (complaint_id, street_id, lead_organisation_id, status, overdue, rating,
                                         ack_tenths, resolve_tenths, supporters)
            SELECT id, coalesce(street_id, 0), coalesce(lead_organisation_id, 0), status, overdue, rating,
                   floor(extract(epoch FROM acknowledged_at - created_at) / {TENTH.total_seconds():.0f}),
                   floor(extract(epoch FROM resolved_at - created_at) / {TENTH.total_seconds():.0f}),
                   coalesce(s.n, 0)
            FROM complaint LEFT JOIN (SELECT complaint_id, count(*) AS n FROM complaint_supporter
                                      GROUP BY complaint_id) s ON s.complaint_id = complaint.id"""))
    else:
        batch = []
        backing = dict(db.session.execute(sa.select(ComplaintSupporter.complaint_id, sa.func.count())
                                          .group_by(ComplaintSupporter.complaint_id)).all())
        for c in db.session.scalars(sa.select(Complaint).execution_options(yield_per=2_000)):
            batch.append({"complaint_id": c.id, **contribution(c, backing.get(c.id, 0))})
        if batch:
            db.session.execute(sa.insert(ComplaintTally), batch)
    db.session.execute(sa.text(f"""
        INSERT INTO complaint_count (street_id, lead_organisation_id, status, cases, overdue, rated, satisfied, rating_sum,
                                     supporters)
        SELECT street_id, lead_organisation_id, status, count(*),
               sum(CASE WHEN overdue THEN 1 ELSE 0 END), count(rating),
               sum(CASE WHEN rating > {UNSATISFIED_MAX} THEN 1 ELSE 0 END), coalesce(sum(rating), 0),
               coalesce(sum(supporters), 0)
        FROM complaint_tally GROUP BY street_id, lead_organisation_id, status"""))
    for measure in ("ack", "resolve"):
        db.session.execute(sa.text(f"""
            INSERT INTO complaint_duration_count (street_id, lead_organisation_id, measure, tenths, cases)
            SELECT street_id, lead_organisation_id, '{measure}', {measure}_tenths, count(*)
            FROM complaint_tally WHERE {measure}_tenths IS NOT NULL
            GROUP BY street_id, lead_organisation_id, {measure}_tenths"""))
    out = {"cases": db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintTally)),
           "counts": db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintCount)),
           "durations": db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintDurationCount))}
    commit()
    return out


@civic_cli.command("recount-complaints")
@click.option("--check", is_flag=True, help="Compare the stored counts with a scan; write nothing.")
def recount_command(check):
    """Rebuild the street centres' pre-aggregated case counts from a scan of every case
    (``--check``: only compare, exit status 1 if they differ)."""
    if check:
        same = stored() == scanned()
        click.echo("counts agree with a scan" if same else "counts DIFFER from a scan: run without --check")
        raise SystemExit(0 if same else 1)
    click.echo(rebuild())
