"""Periodic and deferred jobs of the complaints domain.

* 00:30 Asia/Shanghai every day (RULES.md §3: Beijing time, also at night): mark overdue cases and
  escalate them to the street centre; close resolved cases nobody rated within 7 days.
* When an administrator loads or corrects a State Council holiday notice for a year, every open
  case's deadlines whose counting touched that year are computed again with it
  (:func:`recompute_deadlines`, registered with the core's calendar).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.service import staff_of
from civic.complaints import routing
from civic.complaints.models import Complaint, ComplaintParty
from civic.core import audit
from civic.core.calendar import recomputes_deadlines, work_calendar, year_bounds
from civic.core.db import utcnow
from civic.core.jobs import periodic
from civic.core.notifications import notify
from civic.extensions import db
from civic.property import service as registry

ACK_PENDING = ("routed", "reopened")
RESOLVE_PENDING = ("routed", "acknowledged", "in_progress", "reopened", "returned")


@periodic("complaints.escalate_overdue", hour=0, minute=30)
def escalate_overdue(now: dt.datetime | None = None) -> int:
    """Mark overdue cases (acknowledge or resolve deadline passed) and escalate each to the street
    centre covering it, once.  Returns the number of cases newly marked overdue."""
    now = now or utcnow()
    overdue = sa.or_(
        sa.and_(Complaint.status.in_(ACK_PENDING), Complaint.acknowledge_due < now),
        sa.and_(Complaint.status.in_(RESOLVE_PENDING), Complaint.resolve_due < now),
    )
    cases = db.session.scalars(sa.select(Complaint).where(overdue, Complaint.overdue.is_(False))).all()
    for c in cases:
        c.overdue = True
        for p in c.parties:
            p.overdue = True
        audit.record("complaint.overdue", "complaint", c.id,
                     data={"acknowledge_due": c.acknowledge_due.isoformat() if c.acknowledge_due else None,
                           "resolve_due": c.resolve_due.isoformat() if c.resolve_due else None})
        if c.escalated_at is None:
            _escalate(c, now)
    return len(cases)


def _escalate(c: Complaint, now: dt.datetime) -> None:
    from civic.complaints.service.assignment import escalate_lead

    handed = escalate_lead(c)  # the rule's escalation (corridors, fire exits: 城管 and the fire authority)
    if handed:
        audit.record("complaint.escalated_lead", "complaint", c.id, data=handed)
    place = registry.get_place(c.place_id)
    centres = registry.organisations_covering(place, ["street_centre"])
    c.escalated_at = now
    for org in centres:
        if not any(p.organisation_id == org.id for p in c.parties):
            db.session.add(ComplaintParty(complaint=c, organisation_id=org.id, role="oversight",
                                          status=c.status, overdue=True, may_see_complainant=False))
        for uid in staff_of(org.id):
            notify(uid, "complaint_escalated", f"案件 {c.id} 已超期，升级督办",
                   {"complaint_id": c.id}, dedupe_key=f"complaint:{c.id}:escalated:u{uid}",
                   object_type="complaint", object_id=c.id)
    audit.record("complaint.escalate", "complaint", c.id, data={"to": [o.id for o in centres]})


@periodic("complaints.close_unrated", hour=0, minute=30)
def close_unrated(now: dt.datetime | None = None) -> int:
    """Close resolved cases nobody rated within their 7 rating days
    (:func:`~civic.complaints.service.workflow.rating_closes_at`).  Returns how many were closed."""
    from civic.complaints.service.workflow import RATING_WINDOW

    now = now or utcnow()
    # The window ends no sooner than 7×24 h after resolution: only those rows can be over.
    ids = db.session.scalars(sa.select(Complaint.id).where(
        Complaint.status == "resolved", Complaint.resolved_at <= now - RATING_WINDOW).order_by(Complaint.id)).all()
    cal = work_calendar()
    return sum(auto_close_one(cid, now=now, calendar=cal) for cid in ids)


def auto_close_one(complaint_id: int, now: dt.datetime | None = None, calendar=None) -> bool:
    """Close one resolved case if its 7 rating days are over and it is still unrated."""
    from civic.complaints.service.workflow import _apply, rating_closes_at

    now = now or utcnow()
    c = db.session.get(Complaint, complaint_id)
    if c is None or c.status != "resolved" or c.resolved_at is None or now <= rating_closes_at(c, calendar):
        return False
    _apply(c, "close", actor=None, note="7 日内未评价，自动结案", now=now)
    return True


@recomputes_deadlines("complaints")
def recompute_deadlines(year: int, calendar) -> int:
    """A notice for ``year`` was loaded or corrected: recompute the acknowledge and resolve
    deadlines of every open case (submitted to reopened, not resolved, closed or merged) whose
    counting touched ``year`` (filed before its end, a deadline on or after its start), provisional
    or not, from the case's filing time under its category's rule.  A case flagged overdue whose
    recomputed pending deadlines have not passed is unflagged (the escalation stays in the audit
    log).  Each change is audited with before and after.  Returns how many cases changed."""
    from civic.complaints.service.workflow import _deadlines

    start, end = year_bounds(year)
    now = utcnow()
    n = 0
    for c in db.session.scalars(sa.select(Complaint).where(
            Complaint.status.in_(RESOLVE_PENDING + ("submitted",)), Complaint.created_at < end,
            sa.or_(Complaint.acknowledge_due >= start, Complaint.resolve_due >= start)).order_by(Complaint.id)):
        before = (c.acknowledge_due, c.resolve_due, c.deadlines_provisional)
        _deadlines(c, routing.rule_for(c.district_id, c.category, c.category_detail), c.created_at, calendar)
        if (c.acknowledge_due, c.resolve_due, c.deadlines_provisional) == before:
            continue
        if c.overdue and not ((c.status in ACK_PENDING and c.acknowledge_due < now)
                              or (c.status in RESOLVE_PENDING and c.resolve_due < now)):
            c.overdue = False
            for p in c.parties:
                p.overdue = False
        audit.record("complaint.deadlines_recomputed", "complaint", c.id,
                     data={"year": year, "before": [d.isoformat() if d else None for d in before[:2]],
                           "after": [c.acknowledge_due.isoformat(), c.resolve_due.isoformat()],
                           "provisional": c.deadlines_provisional})
        n += 1
    return n
