"""Periodic and deferred jobs of the complaints domain.

* 00:30 Asia/Shanghai every day (RULES.md §3: Beijing time, also at night): mark overdue cases and
  escalate them to the street centre; close resolved cases nobody rated within 7 days.
* When an administrator loads a State Council holiday notice, provisional deadlines are computed
  again with it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.accounts.service import staff_of
from civic.complaints import routing
from civic.complaints.models import Complaint, ComplaintParty
from civic.core import audit
from civic.core.calendar import notice_loaded
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
    """Close resolved cases nobody rated within 7 days of resolution."""
    from civic.complaints.service.workflow import RATING_WINDOW

    now = now or utcnow()
    ids = db.session.scalars(sa.select(Complaint.id).where(
        Complaint.status == "resolved", Complaint.resolved_at <= now - RATING_WINDOW)).all()
    for cid in ids:
        auto_close_one(cid, now=now)
    return len(ids)


def auto_close_one(complaint_id: int, now: dt.datetime | None = None) -> bool:
    """Close one resolved case if its 7 rating days are over and it is still unrated."""
    from civic.complaints.service.workflow import RATING_WINDOW, _apply

    now = now or utcnow()
    c = db.session.get(Complaint, complaint_id)
    if c is None or c.status != "resolved" or c.resolved_at is None or now - c.resolved_at < RATING_WINDOW:
        return False
    _apply(c, "close", actor=None, note="7 日内未评价，自动结案", now=now)
    return True


def recompute_provisional(year, calendar=None, **_kw) -> int:
    """Recompute every open case's provisional deadlines with the calendar as it now is."""
    from civic.complaints.service.workflow import _deadlines

    n = 0
    for c in db.session.scalars(sa.select(Complaint).where(
            Complaint.deadlines_provisional.is_(True), Complaint.status.in_(RESOLVE_PENDING + ("submitted",)))):
        rule = routing.rule_for(c.district_id, c.category)
        before = (c.acknowledge_due, c.resolve_due)
        _deadlines(c, rule, c.created_at)
        audit.record("complaint.deadlines_recomputed", "complaint", c.id,
                     data={"year": year, "before": [d.isoformat() if d else None for d in before],
                           "after": [c.acknowledge_due.isoformat(), c.resolve_due.isoformat()]})
        n += 1
    return n


notice_loaded.connect(recompute_provisional)
