"""Oversight figures for the street centre (督办统计): cases per lead organisation and status,
overdue counts, median time to acknowledge and to resolve, satisfaction.

A service module of the complaints domain: the console and any report read the same numbers.
Times are in hours (wall-clock, not working days: what a resident waited).  Ratings 1-5;
"satisfied" is 3-5 (RULES.md §3: 1-2 unsatisfied).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.complaints.models import OPEN_STATUSES, STATUSES, ComplaintCount, ComplaintDurationCount
from civic.complaints.service import STATUS_NAMES
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
    supporters: int = 0  # "me too" residents over every case
    open_supporters: int = 0  # ... over the open cases: how many more residents wait on them

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


def _median_tenths(histogram: dict[int, int]) -> float | None:
    """The median, in hours to 0.1, of durations given as ``{tenths of an hour: cases}``
    (statistics.median's rule: the mean of the two middle values when the count is even)."""
    n = sum(histogram.values())
    if not n:
        return None
    middle, seen, lo = ((n - 1) // 2, n // 2), 0, None
    for t in sorted(histogram):
        c = histogram[t]
        if lo is None and seen + c > middle[0]:
            lo = t
        if seen + c > middle[1]:
            return round((lo + t) / 20, 1)
        seen += c
    return None  # not reached: the counts add up to n


def _aggregates(reads, street_ids) -> tuple[list, list]:
    """The pre-aggregated rows of these streets (civic.complaints.counts): a few hundred rows per
    street however many cases it has, instead of a scan of its cases."""
    scope = [] if street_ids is None else [ComplaintCount.street_id.in_(street_ids)]
    counts = reads.execute(
        sa.select(ComplaintCount.lead_organisation_id, ComplaintCount.status, sa.func.sum(ComplaintCount.cases),
                  sa.func.sum(ComplaintCount.overdue), sa.func.sum(ComplaintCount.rated),
                  sa.func.sum(ComplaintCount.satisfied), sa.func.sum(ComplaintCount.rating_sum),
                  sa.func.sum(ComplaintCount.supporters))
        .where(*scope).group_by(ComplaintCount.lead_organisation_id, ComplaintCount.status)).all()
    d_scope = [] if street_ids is None else [ComplaintDurationCount.street_id.in_(street_ids)]
    durations = reads.execute(
        sa.select(ComplaintDurationCount.lead_organisation_id, ComplaintDurationCount.measure,
                  ComplaintDurationCount.tenths, sa.func.sum(ComplaintDurationCount.cases))
        .where(*d_scope, ComplaintDurationCount.cases > 0)
        .group_by(ComplaintDurationCount.lead_organisation_id, ComplaintDurationCount.measure,
                  ComplaintDurationCount.tenths)).all()
    return counts, durations


def street_figures(user, organisation_id: int | None = None) -> dict:
    """The figures of every case in the street(s) the user's street centre covers, per lead
    organisation (one :class:`OrgFigures` each, largest first) and in total.

    Returns ``{"centre": Organisation | None, "rows": [OrgFigures], "total": OrgFigures,
    "statuses": STATUSES}``.  Read from the pre-aggregated counts (civic.complaints.counts, kept by
    the jobs after every change: they may trail the cases by the job queue) on the read replica when
    one is configured (civic.core.db.reporting_session: it may lag the primary too).  Medians are
    from durations kept in tenths of an hour (within 0.1 h of the exact median).
    :raises Forbidden: ``not_street_centre``.
    """
    centre, street_ids = _street_ids(user, organisation_id)
    with reporting_session() as reads:
        counts, durations = _aggregates(reads, street_ids)

    rows: dict[int | None, OrgFigures] = {}
    total = OrgFigures(None, "合计")
    sums: dict = {}
    for lead, status, n, overdue, rated, satisfied, rating_sum, supporters in counts:
        if not n:
            continue
        org_id = lead or None  # 0 in the counts: no lead (未派单)
        f = rows.get(org_id)
        if f is None:
            name = registry.get_organisation(org_id).name if org_id else "未派单"
            f = rows[org_id] = OrgFigures(org_id, name)
        for target in (f, total):
            target.by_status[status] = target.by_status.get(status, 0) + int(n)
            target.total += int(n)
            target.overdue += int(overdue or 0)
            target.supporters += int(supporters or 0)
            if status in OPEN_STATUSES:
                target.open += int(n)
                target.open_supporters += int(supporters or 0)
            target.rated += int(rated or 0)
            target.satisfied += int(satisfied or 0)
            sums[id(target)] = sums.get(id(target), 0) + int(rating_sum or 0)
    hist: dict = {}
    for lead, measure, t, n in durations:
        for key in ((lead or None, measure), ("__total__", measure)):
            h = hist.setdefault(key, {})
            h[t] = h.get(t, 0) + int(n)
    for org_id, f in [*rows.items(), ("__total__", total)]:
        f.median_ack_hours = _median_tenths(hist.get((org_id, "ack"), {}))
        f.median_resolve_hours = _median_tenths(hist.get((org_id, "resolve"), {}))
        f.mean_rating = round(sums.get(id(f), 0) / f.rated, 2) if f.rated else None
    ordered = sorted(rows.values(), key=lambda f: (-f.total, f.name))
    return {"centre": centre, "rows": ordered, "total": total, "statuses": STATUSES}


CSV_HEADER = ["组织", *[STATUS_NAMES[s] for s in STATUSES], "合计", "未办结", "超期", "签收时长中位数(小时)",
              "办结时长中位数(小时)", "评价数", "满意数", "满意率(%)", "平均评分", "附议人数", "未办结案件附议人数"]


def csv_rows(figures: dict) -> list[list]:
    """The same figures as rows for a CSV download (header first, the total last)."""
    out = [CSV_HEADER]
    for f in [*figures["rows"], figures["total"]]:
        out.append([f.name, *[f.by_status.get(s, 0) for s in STATUSES], f.total, f.open, f.overdue,
                    "" if f.median_ack_hours is None else f.median_ack_hours,
                    "" if f.median_resolve_hours is None else f.median_resolve_hours,
                    f.rated, f.satisfied, "" if f.satisfaction_pct is None else f.satisfaction_pct,
                    "" if f.mean_rating is None else f.mean_rating, f.supporters, f.open_supporters])
    return out
