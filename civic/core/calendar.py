"""State Council holiday notices as data, and the working calendar built from them.

chinese-calendar lags the State Council; an administrator loads a year's notice (放假安排通知) the
day it is published.  Loading a notice sends :data:`notice_loaded`, on which domains recompute
their provisional deadlines (complaints do).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from blinker import Namespace
from sqlalchemy.orm import Mapped, mapped_column

from civic.core import audit
from civic.core.db import UTCDateTime, utcnow
from civic.core.workdays import WorkCalendar, YearNotice, parse_notice
from civic.extensions import db

signals = Namespace()
notice_loaded = signals.signal("holiday-notice-loaded")


class HolidayNotice(db.Model):
    __tablename__ = "holiday_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False, unique=True)
    holidays: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    workdays: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    source: Mapped[str | None] = mapped_column(sa.String(300))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    loaded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))


def work_calendar() -> WorkCalendar:
    """The calendar with every loaded notice (one small query)."""
    notices = [
        YearNotice(year=n.year, holidays=frozenset(dt.date.fromisoformat(d) for d in n.holidays),
                   workdays=frozenset(dt.date.fromisoformat(d) for d in n.workdays))
        for n in db.session.scalars(sa.select(HolidayNotice))
    ]
    return WorkCalendar(notices)


def load_notice(year: int, data: dict, *, actor=None, source: str | None = None) -> tuple[HolidayNotice, int]:
    """Store (or replace) the State Council notice for ``year``: ``{"holidays": ["2027-01-01", ...],
    "workdays": ["2027-02-20", ...]}`` (workdays = 调休 make-up days), then send ``notice_loaded``.
    Returns the row and how many objects the receivers recomputed (the sum of their int results).

    :raises ValidationFailed: ``holiday_notice_invalid``.
    """
    notice = parse_notice(year, data)
    row = db.session.scalar(sa.select(HolidayNotice).where(HolidayNotice.year == year))
    if row is None:
        row = HolidayNotice(year=year)
        db.session.add(row)
    row.holidays = sorted(d.isoformat() for d in notice.holidays)
    row.workdays = sorted(d.isoformat() for d in notice.workdays)
    row.source, row.loaded_at, row.loaded_by = source, utcnow(), getattr(actor, "id", None)
    db.session.flush()
    audit.record("calendar.notice_loaded", "holiday_notice", year, actor=actor,
                 data={"holidays": len(row.holidays), "workdays": len(row.workdays)})
    results = notice_loaded.send(year, calendar=work_calendar(), actor=actor)
    return row, sum(r for _fn, r in results if isinstance(r, int))
