"""Oversight figures for the street centre (督办统计): cases per lead organisation and status,
overdue counts, median time to acknowledge and to resolve, satisfaction.

A service module of the complaints domain: the console and any report read the same numbers.
Times are in hours (wall-clock, not working days: what a resident waited).  Ratings 1-5;
"satisfied" is 3-5 (RULES.md §3: 1-2 unsatisfied).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.complaints.models import OPEN_STATUSES, STATUSES, Complaint
from civic.complaints.service import STATUS_NAMES, UNSATISFIED_MAX
from civic.core.db import reporting_session
from civic.core.errors import Forbidden
from civic.extensions import db
from civic.property import service as registry


@dataclass
class OrgFigures:
    organisation_id: int | None
    name: str
    by_status: dict[str, int] = field(default_factory=dict)
    total: int = 0
    open: int = 0
    overdue: int = 0
    median_ack_hours: float | None = None
    median_resolve_hours: float | None = None
    rated: int = 0
    satisfied: int = 0
    mean_rating: float | None = None

    @property
    def satisfaction_pct(self) -> float | None:
        return round(100 * self.satisfied / self.rated, 1) if self.rated else None


def _street_ids(user, organisation_id: int | None) -> tuple[object, list[int] | None]:
    """(street centre, street place ids) the user oversees; admins: (None, None) = every street."""
    centres = [org for _m, org in acting_memberships(user, org_kinds=("street_centre",))
               if organisation_id in (None, org.id)]
    if not centres:
        if user.kind == "admin":
            return None, None
        raise Forbidden("仅街镇网格化综合管理中心可查看督办统计", code="not_street_centre")
    centre = centres[0]
    paths = registry.covered_place_paths(centre.id)
    ids = list(db.session.scalars(sa.select(registry.Place.id).where(registry.Place.path.in_(paths),
                                                                     registry.Place.kind == "street")))
    return centre, ids


def _median_hours(pairs) -> float | None:
    hours = [(end - start).total_seconds() / 3600 for start, end in pairs if start and end]
    return round(statistics.median(hours), 1) if hours else None


def _aggregates(reads, scope) -> tuple[list, list]:
    counts = reads.execute(
        sa.select(Complaint.lead_organisation_id, Complaint.status, sa.func.count(),
                  sa.func.sum(sa.case((Complaint.overdue.is_(True), 1), else_=0)))
        .where(*scope).group_by(Complaint.lead_organisation_id, Complaint.status)).all()
    times = reads.execute(
        sa.select(Complaint.lead_organisation_id, Complaint.created_at, Complaint.acknowledged_at,
                  Complaint.resolved_at, Complaint.rating).where(*scope)).all()
    return counts, times


def street_figures(user, organisation_id: int | None = None) -> dict:
    """The figures of every case in the street(s) the user's street centre covers, per lead
    organisation (one :class:`OrgFigures` each, largest first) and in total.

    Returns ``{"centre": Organisation | None, "rows": [OrgFigures], "total": OrgFigures,
    "statuses": STATUSES}``.  The aggregates run on the read replica when one is configured
    (civic.core.db.reporting_session): figures may trail the primary by the replica's lag.
    :raises Forbidden: ``not_street_centre``.
    """
    centre, street_ids = _street_ids(user, organisation_id)
    scope = [] if street_ids is None else [Complaint.street_id.in_(street_ids)]
    with reporting_session() as reads:  # the two aggregates over every case: the read replica's work
        counts, times = _aggregates(reads, scope)

    rows: dict[int | None, OrgFigures] = {}
    total = OrgFigures(None, "合计")
    for org_id, status, n, overdue in counts:
        f = rows.get(org_id)
        if f is None:
            name = registry.get_organisation(org_id).name if org_id else "未派单"
            f = rows[org_id] = OrgFigures(org_id, name)
        for target in (f, total):
            target.by_status[status] = target.by_status.get(status, 0) + n
            target.total += n
            target.overdue += int(overdue or 0)
            if status in OPEN_STATUSES:
                target.open += n
    per: dict[int | None, list] = {}
    for t in times:
        per.setdefault(t.lead_organisation_id, []).append(t)
    for org_id, ts in [*per.items(), ("__total__", times)]:
        f = total if org_id == "__total__" else rows[org_id]
        f.median_ack_hours = _median_hours((t.created_at, t.acknowledged_at) for t in ts)
        f.median_resolve_hours = _median_hours((t.created_at, t.resolved_at) for t in ts)
        ratings = [t.rating for t in ts if t.rating]
        f.rated, f.satisfied = len(ratings), sum(1 for r in ratings if r > UNSATISFIED_MAX)
        f.mean_rating = round(sum(ratings) / len(ratings), 2) if ratings else None
    ordered = sorted(rows.values(), key=lambda f: (-f.total, f.name))
    return {"centre": centre, "rows": ordered, "total": total, "statuses": STATUSES}


CSV_HEADER = ["组织", *[STATUS_NAMES[s] for s in STATUSES], "合计", "未办结", "超期", "签收时长中位数(小时)",
              "办结时长中位数(小时)", "评价数", "满意数", "满意率(%)", "平均评分"]


def csv_rows(figures: dict) -> list[list]:
    """The same figures as rows for a CSV download (header first, the total last)."""
    out = [CSV_HEADER]
    for f in [*figures["rows"], figures["total"]]:
        out.append([f.name, *[f.by_status.get(s, 0) for s in STATUSES], f.total, f.open, f.overdue,
                    "" if f.median_ack_hours is None else f.median_ack_hours,
                    "" if f.median_resolve_hours is None else f.median_resolve_hours,
                    f.rated, f.satisfied, "" if f.satisfaction_pct is None else f.satisfaction_pct,
                    "" if f.mean_rating is None else f.mean_rating])
    return out
