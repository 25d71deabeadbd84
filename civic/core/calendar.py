"""State Council holiday notices as data, the working calendar built from them, and the one
function for periods counted in days.

chinese-calendar lags the State Council; an administrator loads a year's notice (放假安排通知) the
day it is published (:func:`load_notice`).  Every domain that stores a deadline computed with the
calendar (working days, or a period in days moved past days off) registers, at import, a hook with
:func:`recomputes_deadlines`; loading or correcting a notice for year Y calls each hook, which
recomputes every *open* deadline whose counting touched Y.  The core imports no domain.

Periods given in days (日/天: a reply within 15 days, a 15-day notice, a 7-day rating window) are
counted by :func:`legal_period_end` and its siblings (PRC Civil Code Arts. 200-204); deadlines
given in working days or hours by :meth:`WorkCalendar.deadline`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from civic.core import audit
from civic.core.db import UTCDateTime, utcnow
from civic.core.workdays import TZ, Deadline, WorkCalendar, YearNotice, parse_notice, require_complete
from civic.extensions import db

#: name → hook(year, calendar) → how many open deadlines it changed.  Filled at import by the
#: domains (:func:`recomputes_deadlines`), in registration order.
_RECOMPUTE_HOOKS: dict[str, Callable[[int, WorkCalendar], int]] = {}


def recomputes_deadlines(name: str):
    """Register ``fn(year, calendar) -> int`` as the hook that recomputes a domain's open deadlines
    when a notice for ``year`` is loaded or corrected; ``name`` is the domain's (it keys the counts
    :func:`load_notice` returns).  Registering a name again replaces its hook.

    The hook must recompute every open deadline (not only provisional ones) whose counting looked at
    a day of ``year`` (:func:`year_bounds` gives the UTC bounds to filter on), with ``calendar``,
    audit each change with the before and after, leave closed ones alone, and return how many it
    changed."""
    def register(fn):
        _RECOMPUTE_HOOKS[name] = fn
        return fn
    return register


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """``(start, end)``: 00:00 Asia/Shanghai of 1 January of ``year`` and of the next year, aware.
    A deadline counted from ``s`` to ``due`` looked at a day of ``year`` when ``s < end`` and
    ``due >= start``."""
    return (dt.datetime(year, 1, 1, tzinfo=TZ), dt.datetime(year + 1, 1, 1, tzinfo=TZ))


def move_deadline(obj, attr: str, after: dt.datetime, *, year: int, action: str, object_type: str,
                  write: Callable[[dt.datetime], None] | None = None) -> bool:
    """For a :func:`recomputes_deadlines` hook: set ``obj.<attr>`` to ``after`` when it differs and
    audit the move (``action`` on ``object_type`` ``obj.id``, with the notice's ``year`` and the
    before and after).  ``write`` sets the value another way (a plain UPDATE where the row's
    optimistic lock must not be bumped).  Returns whether it moved."""
    before = getattr(obj, attr)
    if after == before:
        return False
    if write is None:
        setattr(obj, attr, after)
    else:
        write(after)
    audit.record(action, object_type, obj.id,
                 data={"year": year, "before": before.isoformat(), "after": after.isoformat()})
    return True


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


def legal_period_end(start: dt.datetime, days: int, calendar: WorkCalendar | None = None) -> Deadline:
    """The end of a period of ``days`` days from ``start`` (Civil Code Arts. 200-204): 23:59:59
    Asia/Shanghai of the ``days``-th day after ``start``'s date, or of the first working day after
    it when that day is off (Art. 203).  The one function every domain uses for periods in days;
    see :meth:`WorkCalendar.legal_period_last_day` for the reading and examples.

    :param start: aware datetime.  :param days: ≥ 0.  :param calendar: default :func:`work_calendar`.
    :raises ValueError: naive ``start``, negative ``days``.  :raises TypeError: wrong types.
    """
    return (calendar or work_calendar()).legal_period_end(start, days)


def legal_period_over(start: dt.datetime, days: int, calendar: WorkCalendar | None = None) -> Deadline:
    """00:00 Asia/Shanghai of the day after a period of ``days`` days from ``start`` ends: when
    what the period gives notice of may happen (voting opens, a meeting meets).  As
    :func:`legal_period_end`."""
    return (calendar or work_calendar()).legal_period_over(start, days)


def legal_period_last_day(start: dt.date, days: int, calendar: WorkCalendar | None = None) -> dt.date:
    """The last day (a Shanghai date) of a period of ``days`` days from the date ``start``, as
    :func:`legal_period_end`."""
    return (calendar or work_calendar()).legal_period_last_day(start, days)[0]


def load_notice(year: int, data: dict, *, actor=None, source: str | None = None) -> tuple[HolidayNotice, int]:
    """Store (or replace: a corrected notice) the State Council notice for ``year``:
    ``{"holidays": ["2027-01-01", ...], "workdays": ["2027-02-20", ...]}`` (workdays = 调休 make-up
    days), then call every domain's recompute hook (:func:`recomputes_deadlines`) with the new
    calendar: every open deadline whose counting touched ``year`` is recomputed, provisional or not.

    A notice must list every statutory holiday of its year (the 13 days of the Measures, Art. 2):
    an incomplete one is refused, not merged (see :func:`civic.core.workdays.require_complete`).

    :returns: the row and how many open deadlines the hooks changed (their sum).
    :raises ValidationFailed: ``holiday_notice_invalid``, ``holiday_notice_incomplete``; nothing
        is written.
    """
    notice = require_complete(parse_notice(year, data))
    row = db.session.scalar(sa.select(HolidayNotice).where(HolidayNotice.year == year))
    replaced = row is not None
    if row is None:
        row = HolidayNotice(year=year)
        db.session.add(row)
    row.holidays = sorted(d.isoformat() for d in notice.holidays)
    row.workdays = sorted(d.isoformat() for d in notice.workdays)
    row.source, row.loaded_at, row.loaded_by = source, utcnow(), getattr(actor, "id", None)
    db.session.flush()
    calendar = work_calendar()
    counts = {name: int(hook(year, calendar) or 0) for name, hook in _RECOMPUTE_HOOKS.items()}
    audit.record("calendar.notice_loaded", "holiday_notice", year, actor=actor,
                 data={"holidays": len(row.holidays), "workdays": len(row.workdays), "replaced": replaced,
                       "recomputed": counts})
    return row, sum(counts.values())
