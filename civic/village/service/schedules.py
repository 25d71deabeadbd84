"""What must be published when, what is overdue, and who is told.

Verbs: compliance (published / current / due / overdue per catalogue item and period),
village_compliance, street_overview (the town office's view), notify_organisation, flag_overdue
(the periodic job).  Sources: 村民委员会组织法 Arts. 30-31 (at least quarterly; failures go to the town
government); 上海市实施《村民委员会组织法》办法 (2020) Arts. 23-24; RULES.md §2.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import audit
from civic.core.calendar import legal_period_last_day, work_calendar
from civic.core.db import utcnow
from civic.core.errors import Forbidden, NotFound
from civic.extensions import db
from civic.property import service as registry
from civic.village.models import Disclosure, VillageProfile
from civic.village.service.catalogue import catalogue, effective_cadence, ensure_village
from civic.village.service.committees import _org_of_kind, require_village_reader
from civic.village.service.inquiries import overdue_inquiries
from civic.village.service.periods import periods_between, today_shanghai
from civic.village.service.workflow import PUBLIC_STATUSES


def compliance(village, on: dt.date | None = None, *, period: str | None = None) -> list[dict]:
    """Which catalogue items are published, due or overdue, per period (RULES.md §2: at least
    quarterly; finance monthly where busy; immediate items are event-driven and not scheduled).

    A period's disclosure is due from the day after the period ends until ``due_days`` later,
    counted as a period in days (Civil Code Arts. 201, 203: from the day after the period's last
    day, to the end of the ``due_days``-th day, moved to the first working day after it when that
    day is off); after that it is overdue.  Periods start from the profile's ``tracking_since``.
    Returns ``[{"item_code", "title", "category", "cadence", "period", "due_on", "status",
    "disclosure_id"}]`` with status ``published``, ``current`` (period not over), ``due``, ``overdue``.
    """
    on = on or today_shanghai()
    prof = ensure_village(village)
    published = {(r.item_id, r.period): r.id for r in db.session.execute(
        sa.select(Disclosure.item_id, Disclosure.period, sa.func.max(Disclosure.id).label("id"))
        .where(Disclosure.village_id == village.id, Disclosure.status.in_(PUBLIC_STATUSES))
        .group_by(Disclosure.item_id, Disclosure.period))}
    out = []
    cal = work_calendar()
    for item in catalogue(village, active_only=True):
        cadence = effective_cadence(item, prof)
        for p in periods_between(cadence, prof.tracking_since, on):
            if period and p.code != period and not p.code.startswith(period):
                continue
            due_on = legal_period_last_day(p.end, item.due_days, cal)
            did = published.get((item.id, p.code))
            if did:
                status = "published"
            elif on <= p.end:
                status = "current"
            elif on <= due_on:
                status = "due"
            else:
                status = "overdue"
            out.append({"item_code": item.code, "item_id": item.id, "title": item.title, "category": item.category,
                        "cadence": cadence, "period": p.code, "due_on": due_on, "status": status,
                        "disclosure_id": did})
    return out


def village_compliance(village, actor, on: dt.date | None = None, period: str | None = None) -> dict:
    require_village_reader(actor, village)
    rows = compliance(village, on, period=period)
    return {"village_code": village.code, "on": on or today_shanghai(), "items": rows}


def street_overview(street_code: str, actor, on: dt.date | None = None) -> dict:
    """The town office's view of its villages: counts of published/due/overdue items and overdue
    inquiries per village (组织法 Art. 31: failures are reported to the town government)."""
    from civic.property.queries import list_places

    street = registry.place_by_code(street_code)
    if street is None or street.kind != "street":
        raise NotFound("找不到该街道/镇", code="street_not_found", details={"street_code": street_code})
    if actor.kind != "admin" and _org_of_kind(actor, street, "street_centre") is None:
        raise Forbidden("仅本街镇中心可查看", code="out_of_scope", details={"place_id": street.id})
    on = on or today_shanghai()
    villages, cursor = [], None
    while True:
        rows, cursor = list_places(kind="village", parent_id=street.id, cursor=cursor, limit=100)
        villages.extend(rows)
        if not cursor:
            break
    out = []
    for v in villages:
        rows = compliance(v, on)
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("published", "current", "due", "overdue")}
        out.append({"village_code": v.code, "village_name": v.name, **counts,
                    "overdue_items": [r for r in rows if r["status"] == "overdue"],
                    "overdue_inquiries": len(overdue_inquiries(v))})
    return {"street_code": street.code, "on": on, "villages": out}


# --- notices (through the core outbox) -------------------------------------------------------------

NOTICE_TEMPLATES = {"disclosure_overdue": "village_disclosure_overdue", "inquiry_overdue": "village_inquiry_overdue"}


def notify_organisation(org, village, kind: str, subject: str, title: str, payload: dict) -> int:
    """Tell every active staff member of ``org`` through the one outbox (civic.core.notifications),
    once per ``subject`` and user: ``dedupe_key`` ``"village:<subject>:u<user id>"``.  A user on two
    organisations (the town and the supervision committee) hears of one subject once.

    :returns: the number of new messages queued (sent after commit by the core send job).
    """
    from civic.accounts.service import staff_of
    from civic.core.notifications import notify

    made = 0
    for uid in staff_of(org.id):
        made += notify(uid, NOTICE_TEMPLATES[kind], title,
                       {**payload, "kind": kind, "organisation_id": org.id, "village_code": village.code},
                       dedupe_key=f"village:{subject}:u{uid}", object_type="village", object_id=village.id
                       ) is not None
    return made


def flag_overdue(now: dt.datetime | None = None) -> int:
    """Tell the town (the staff of the street centre over the village) of overdue items, and the
    supervision committee and the town of overdue inquiries (组织法 Art. 31; 上海市实施办法 Art. 24).

    Messages go through the core outbox; the street office's overview reads overdue state from the
    village's own tables (:func:`street_overview`), not from these messages.
    Returns the number of new messages.  Idempotent: one message per item, period and user
    (per inquiry and user).
    """
    now = now or utcnow()
    on = today_shanghai(now)
    made = 0
    for prof in db.session.scalars(sa.select(VillageProfile).order_by(VillageProfile.id)).all():
        village = registry.get_place(prof.village_id)
        street = registry.ancestor_of_kind(village, "street")
        centres = registry.organisations_covering(street, ["street_centre"]) if street else []
        supervisors = registry.organisations_covering(village, ["village_supervision"])
        for row in compliance(village, on):
            if row["status"] != "overdue":
                continue
            for org in centres:
                made += notify_organisation(
                    org, village, "disclosure_overdue", f"{village.id}:overdue:{row['item_code']}:{row['period']}",
                    f"{village.name}「{row['title']}」{row['period']} 逾期未公开",
                    {"item_code": row["item_code"], "title": row["title"], "period": row["period"],
                     "due_on": row["due_on"].isoformat()})
        for inq in overdue_inquiries(village, now):
            for org in centres + supervisors:
                made += notify_organisation(
                    org, village, "inquiry_overdue", f"inquiry:{inq.id}:overdue",
                    f"{village.name}村民查询逾期未答复", {"inquiry_id": inq.id, "disclosure_id": inq.disclosure_id,
                                                  "due_at": inq.due_at.isoformat()})
    db.session.flush()
    if made:
        audit.record("village.overdue_flagged", "village", "all", data={"notices": made, "on": on.isoformat()})
    return made
