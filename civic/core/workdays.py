"""Deadlines in Chinese working time (Asia/Shanghai).

Legal basis (RULES.md §3): deadlines that the rules give in working days (工作日) count Chinese
working time: Saturdays, Sundays and the public holidays fixed by the State Council are days off;
the make-up working days (调休, "上班" days in a State Council notice) that fall on a weekend are
working days.  Deadlines given in hours count natural clock hours.

Where each day's status comes from, in order of precedence:

1. A loaded State Council notice (国务院办公厅关于某年部分节假日安排的通知) for that year, as data
   (:class:`YearNotice`, built by :func:`parse_notice`).  An administrator loads it the day it is
   published; from then on the year is *known*.
2. The ``chinese-calendar`` library, for the years its data cover (2004 to the year of its last
   release: 1.11 knows up to 2026).  Such years are *known*.
3. For any later year: the fallback.  Only weekends and the days that 《全国年节及纪念日放假办法》
   (as amended by State Council Decree No. 795 of 2024-11-10, in force 2025-01-01), Article 2,
   fixes in advance (see :func:`statutory_holidays`).  No 调休 is invented: a holiday that falls on
   a weekend is simply a day off, with no compensation guessed.  Such a year is *unknown*, and any
   deadline whose counting looked at one of its days is ``provisional``.

All dates are calendar dates in Asia/Shanghai (UTC+8, no DST since 1991); every datetime taken or
returned is timezone-aware.  Lunar dates come from ``lunardate`` (table 1900–2099); the 清明 solar
term from ``chinese_calendar.get_solar_terms`` (both cross-checked for 2004–2099 against
``lunar-python``'s astronomical tables when this module was written).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as _cc
from lunardate import LunarDate

from civic.core.errors import ValidationFailed

__all__ = [
    "TZ",
    "Deadline",
    "WorkCalendar",
    "YearNotice",
    "parse_notice",
    "require_complete",
    "statutory_holiday_names",
    "statutory_holidays",
]

TZ = ZoneInfo("Asia/Shanghai")

#: Years the installed chinese-calendar has State Council data for (inclusive).
LIBRARY_FIRST_YEAR: int = min(_cc.holidays).year
LIBRARY_LAST_YEAR: int = max(_cc.holidays).year

#: Years the fallback can compute (lunardate's table ends with lunar year 2099).
FALLBACK_FIRST_YEAR = 1900
FALLBACK_LAST_YEAR = 2099

#: The clock time a working-day deadline falls due at, on its last working day.
END_OF_DAY = time(23, 59, 59)

UNITS = ("hours", "working_days")


@dataclass(frozen=True)
class YearNotice:
    """One State Council holiday notice, as data.

    :param year: the Gregorian year the notice arranges.
    :param holidays: every day off the notice lists (放假), weekends inside a holiday included or not.
    :param workdays: the make-up working days (调休上班), normally Saturdays or Sundays.

    Build it with :func:`parse_notice` from admin input; it does the validation.
    """

    year: int
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Deadline:
    """A computed deadline.

    :param due: the moment the deadline falls due, aware, in Asia/Shanghai.
    :param provisional: True when the counting looked at a day of a year that neither the
        library nor a loaded notice knows (fallback rules were used; the State Council may still
        add 调休 that move it).
    """

    due: datetime
    provisional: bool


# --------------------------------------------------------------------------------------------
# The fallback: 全国年节及纪念日放假办法 (2024 amendment), Article 2
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def statutory_holidays(year: int) -> frozenset[date]:
    """The public holidays that 《全国年节及纪念日放假办法》 fixes in advance for ``year``.

    The Measures as amended 2024-11-10 (in force 2025-01-01), Article 2 (全体公民放假的节日):

    * 元旦 New Year's Day: 1 January, 1 day;
    * 春节 Spring Festival: 农历除夕 and 正月初一 to 初三, 4 days;
    * 清明节 Qingming: the day of the 清明 solar term (4 or 5 April), 1 day;
    * 劳动节 Labour Day: 1 and 2 May, 2 days;
    * 端午节 Dragon Boat: 农历五月初五, 1 day;
    * 中秋节 Mid-Autumn: 农历八月十五, 1 day;
    * 国庆节 National Day: 1 to 3 October, 3 days.

    Only these 13 days: no weekends, no 调休 (which only a State Council notice can fix).  The
    result is what the Measures in force since 2025 say; for earlier years it is not what applied
    then (use the library or a notice for those).

    :param year: Gregorian year, 1900 ≤ year ≤ 2099 (the lunar table's range).
    :returns: 13 dates, all in ``year``; 12 when 中秋 falls on 1–3 October (as in 2028): the
        holidays then overlap and the Measures add no day for it.
    :raises ValueError: ``year`` outside that range.
    """
    if not FALLBACK_FIRST_YEAR <= year <= FALLBACK_LAST_YEAR:
        raise ValueError(
            f"statutory holidays can be computed for {FALLBACK_FIRST_YEAR}–{FALLBACK_LAST_YEAR} only, not {year}"
        )
    return frozenset(_statutory_holiday_names(year))


def statutory_holiday_names(year: int) -> dict[date, str]:
    """:func:`statutory_holidays` with each day's festival (``{date(2026, 2, 16): "春节", ...}``); a
    day two festivals share (中秋 on 1–3 October) is named for both ("国庆节、中秋节").  A new dict
    each call (the memoised one stays unchanged).

    :raises ValueError: as :func:`statutory_holidays`.
    """
    return dict(_statutory_holiday_names(year))


@functools.lru_cache(maxsize=256)
def _statutory_holiday_names(year: int) -> dict[date, str]:
    if not FALLBACK_FIRST_YEAR <= year <= FALLBACK_LAST_YEAR:
        raise ValueError(
            f"statutory holidays can be computed for {FALLBACK_FIRST_YEAR}–{FALLBACK_LAST_YEAR} only, not {year}"
        )
    new_year = LunarDate(year, 1, 1).to_solar_date()  # 正月初一: always 21 Jan – 20 Feb of `year`
    qingming = next(
        d
        for d, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
        if name == "清明"
    )
    days: dict[date, str] = {}
    for d, name in [
        (date(year, 1, 1), "元旦"),
        (new_year - timedelta(days=1), "春节"),  # 除夕: the last day of the lunar year, whether 29th or 30th
        (new_year, "春节"),
        (new_year + timedelta(days=1), "春节"),
        (new_year + timedelta(days=2), "春节"),
        (qingming, "清明节"),
        (date(year, 5, 1), "劳动节"),
        (date(year, 5, 2), "劳动节"),
        (LunarDate(year, 5, 5).to_solar_date(), "端午节"),  # in the ordinary (not leap) fifth month
        (date(year, 10, 1), "国庆节"),
        (date(year, 10, 2), "国庆节"),
        (date(year, 10, 3), "国庆节"),
        (LunarDate(year, 8, 15).to_solar_date(), "中秋节"),
    ]:
        days[d] = f"{days[d]}、{name}" if d in days else name
    return days


#: The first year the Measures as amended in 2024 (13 statutory days) govern.
MEASURES_2024_FROM = 2025


# --------------------------------------------------------------------------------------------
# Notices
# --------------------------------------------------------------------------------------------

_NOTICE_CODE = "holiday_notice_invalid"


def _invalid(message: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message, code=_NOTICE_CODE, details=details)


def parse_notice(year: int, data: dict) -> YearNotice:
    """Turn an administrator's upload of one State Council notice into a :class:`YearNotice`.

    :param year: the year the notice arranges (e.g. 2027).
    :param data: ``{"holidays": ["2027-01-01", ...], "workdays": ["2027-02-20", ...]}``: ISO dates
        (``YYYY-MM-DD``) of the days off and of the make-up working days (调休上班).  Both keys
        are required (a list may be empty); no other key is accepted.
    Whether the notice is complete is :func:`require_complete`'s check (loading calls both).

    :raises ValidationFailed: code ``holiday_notice_invalid``, a Chinese message, and ``details``
        naming the field and value, when: ``data`` is not an object, a key is missing or unknown,
        a list is not a list of ISO date strings, a date lies outside ``year``, a date is both a
        holiday and a make-up working day, or a make-up working day is not a Saturday or Sunday
        (调休 only ever moves work onto a weekend; a weekday there is a data-entry mistake).
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
        raise _invalid("年份无效", field="year", value=repr(year))
    if not isinstance(data, dict):
        raise _invalid("放假通知须为对象，含 holidays 与 workdays 两个日期列表", field=None)
    unknown = sorted(str(k) for k in data if k not in ("holidays", "workdays"))
    if unknown:
        raise _invalid("放假通知含有未知字段", fields=unknown)
    parsed: dict[str, frozenset[date]] = {}
    labels = {"holidays": "放假日期", "workdays": "调休上班日期"}
    for key in ("holidays", "workdays"):
        if key not in data:
            raise _invalid(f"放假通知缺少{labels[key]}（{key}）", field=key)
        raw = data[key]
        if not isinstance(raw, list):
            raise _invalid(f"{labels[key]}须为日期列表", field=key)
        days = set()
        for item in raw:
            try:
                if not isinstance(item, str):
                    raise ValueError
                d = date.fromisoformat(item)
                if len(item) != 10:  # reject the compact 20270101 form that fromisoformat accepts
                    raise ValueError
            except ValueError:
                raise _invalid(
                    f"{labels[key]}中有无效日期，应为 YYYY-MM-DD", field=key, value=repr(item)
                ) from None
            if d.year != year:
                raise _invalid(f"{labels[key]} {item} 不属于 {year} 年", field=key, value=item)
            if key == "workdays" and d.weekday() < 5:
                raise _invalid(f"调休上班日期 {item} 不是周六或周日", field=key, value=item)
            days.add(d)
        parsed[key] = frozenset(days)
    both = sorted(parsed["holidays"] & parsed["workdays"])
    if both:
        raise _invalid(
            "同一日期不能既是放假日又是调休上班日",
            field="holidays,workdays",
            values=[d.isoformat() for d in both],
        )
    return YearNotice(year=year, holidays=parsed["holidays"], workdays=parsed["workdays"])


def require_complete(notice: YearNotice) -> YearNotice:
    """Refuse a notice that leaves out a statutory holiday of its year; returns ``notice``.

    A loaded notice replaces the whole year's days off, so one that names only some holidays would
    silently turn the others into working days.  civic refuses it rather than merging it over the
    statutory list: every State Council notice lists all of them, so a missing one is an entry
    mistake the administrator should see, and a merge would hide it (or a notice typed under the
    wrong year).  Checked for 2025 (the Measures as amended in 2024, Art. 2: 13 days) to 2099;
    earlier years had another list and are not checked.

    :raises ValidationFailed: code ``holiday_notice_incomplete``, a Chinese message naming the
        missing days and festivals; ``details``: ``field`` ("holidays"), ``missing`` (ISO dates),
        ``festivals`` (their names).
    """
    year = notice.year
    if not MEASURES_2024_FROM <= year <= FALLBACK_LAST_YEAR:
        return notice
    named = statutory_holiday_names(year)
    missing = sorted(set(named) - notice.holidays)
    if missing:
        festivals = list(dict.fromkeys(named[d] for d in missing))
        raise ValidationFailed(
            f"放假通知不完整：缺少法定节假日 {'、'.join(d.isoformat() for d in missing)}"
            f"（{'、'.join(festivals)}）。通知须列出全部法定节假日（《全国年节及纪念日放假办法》第二条），未作任何改动",
            code="holiday_notice_incomplete",
            details={"field": "holidays", "missing": [d.isoformat() for d in missing], "festivals": festivals},
        )
    return notice


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------


def _library_knows(year: int) -> bool:
    return LIBRARY_FIRST_YEAR <= year <= LIBRARY_LAST_YEAR


@functools.lru_cache(maxsize=64)
def _library_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """chinese-calendar's (days off, make-up working days) for one year it knows; memoised."""
    return (
        frozenset(d for d in _cc.holidays if d.year == year),
        frozenset(d for d in _cc.workdays if d.year == year),
    )


def _to_shanghai(moment: datetime, name: str = "start") -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (naive datetimes are ambiguous)")
    return moment.astimezone(TZ)


class WorkCalendar:
    """Chinese working days, from loaded notices, then chinese-calendar, then the fallback.

    :param notices: State Council notices loaded by administrators (at most one per year).  A
        notice's year is known, and its data override the library and the fallback for that year.
    :raises ValueError: two notices for the same year.

    Instances are immutable after construction and safe to share between threads; build a new
    one when a notice is loaded.  Per-year tables are memoised, so each day costs one lookup.
    """

    def __init__(self, notices: Iterable[YearNotice] = ()) -> None:
        by_year: dict[int, YearNotice] = {}
        for notice in notices:
            if notice.year in by_year:
                raise ValueError(f"two notices for {notice.year}")
            by_year[notice.year] = notice
        self._notices = by_year
        self._year_cache: dict[int, tuple[frozenset[date], frozenset[date], bool]] = {}
        self._year_count_cache: dict[int, int] = {}

    # -- per-year data ------------------------------------------------------------------------

    def known(self, year: int) -> bool:
        """Whether ``year`` is known: a loaded notice or the library's data cover it."""
        return year in self._notices or _library_knows(year)

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date], bool]:
        """(weekday days off, weekend working days, provisional) for ``year``; memoised."""
        cached = self._year_cache.get(year)
        if cached is not None:
            return cached
        if year in self._notices:
            n = self._notices[year]
            # parse_notice guarantees the dates lie in the year; a hand-built notice may not.
            result = (
                frozenset(d for d in n.holidays if d.year == year),
                frozenset(d for d in n.workdays if d.year == year),
                False,
            )
        elif _library_knows(year):
            result = (*_library_year(year), False)
        elif year > LIBRARY_LAST_YEAR:
            result = (statutory_holidays(year), frozenset(), True)
        else:
            raise ValueError(
                f"no working-day data for {year}: the library starts at {LIBRARY_FIRST_YEAR} "
                "and the 2025 fallback rules do not apply to past years; load that year's notice"
            )
        self._year_cache[year] = result
        return result

    def is_workday(self, d: date) -> tuple[bool, bool]:
        """Whether ``d`` (a Shanghai calendar date) is a working day.

        :returns: ``(is_working_day, provisional)``; provisional is True when ``d``'s year is not
            known and the fallback decided.
        :raises TypeError: ``d`` is a datetime (convert it to a Shanghai date first) or not a date.
        :raises ValueError: a year before the library's data with no notice, or after 2099.
        """
        if isinstance(d, datetime) or not isinstance(d, date):
            raise TypeError("is_workday takes a date (in Asia/Shanghai), not a datetime")
        off, on, provisional = self._year(d.year)
        if d in on:
            return True, provisional
        if d in off:
            return False, provisional
        return d.weekday() < 5, provisional

    # -- deadlines ----------------------------------------------------------------------------

    def add_working_days(self, start: datetime, days: int) -> Deadline:
        """The deadline ``days`` working days after ``start`` (RULES.md §3).

        Semantics, chosen to be simple, checkable and in the resident's favour:

        * ``start`` is converted to Asia/Shanghai; its calendar date there is the start date.
          The start day never counts, whatever the time of day or whether it is a working day.
        * ``due`` is 23:59:59 Asia/Shanghai at the end of the ``days``-th working day strictly
          after the start date.  So a deadline always ends on a working day, and the whole of
          that working day is available; weekends, holidays (library, notice, or the 2025
          Measures' fallback) are skipped and weekend 调休 working days count.
        * ``days == 0``: the end of the start date if it is a working day, else the end of the
          first working day after it (a deadline may not fall on a day off).

        Example: filed Thursday 2026-12-31, 1 working day: 1 Jan 2027 is New Year's Day, 2–3 Jan
        the weekend, so due 2027-01-04T23:59:59+08:00, provisional (2027 not yet known).

        :param start: aware datetime (any zone).
        :param days: working days, ≥ 0.
        :returns: :class:`Deadline`; ``provisional`` when any day looked at (after the start date,
            up to the due date; the start date too when ``days == 0``) is in an unknown year.
        :raises ValueError: naive ``start``, negative ``days``, or a day outside the data (see
            :meth:`is_workday`).
        :raises TypeError: ``start`` not a datetime or ``days`` not an int.
        """
        local = _to_shanghai(start)
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError("days must be an int")
        if days < 0:
            raise ValueError("days must be ≥ 0")
        d = local.date()
        provisional = False
        if days == 0:
            working, prov = self.is_workday(d)
            provisional |= prov
            if working:
                return Deadline(datetime.combine(d, END_OF_DAY, tzinfo=TZ), provisional)
            days = 1
        one = timedelta(days=1)
        remaining = days
        while remaining:
            d += one
            working, prov = self.is_workday(d)
            provisional |= prov
            if working:
                remaining -= 1
        return Deadline(datetime.combine(d, END_OF_DAY, tzinfo=TZ), provisional)

    def add_hours(self, start: datetime, hours: int) -> Deadline:
        """The deadline ``hours`` natural clock hours after ``start`` (RULES.md §3).

        Days off are not skipped (e.g. 24 h for a property company to acknowledge, 2 h while
        illegal construction is going on).  Arithmetic is on absolute time, so it is right in any
        zone; the result is expressed in Asia/Shanghai.

        :param start: aware datetime (any zone).
        :param hours: ≥ 0.
        :returns: :class:`Deadline` with ``provisional`` False (no calendar is involved).
        :raises ValueError: naive ``start`` or negative ``hours``.
        :raises TypeError: ``start`` not a datetime or ``hours`` not an int.
        """
        local = _to_shanghai(start)
        if isinstance(hours, bool) or not isinstance(hours, int):
            raise TypeError("hours must be an int")
        if hours < 0:
            raise ValueError("hours must be ≥ 0")
        return Deadline((local + timedelta(hours=hours)).astimezone(TZ), False)

    def legal_period_last_day(self, start: date, days: int) -> tuple[date, bool]:
        """The last day of a period of ``days`` days that starts on ``start`` (Shanghai dates).

        PRC Civil Code Arts. 200-204 (期间的计算), for every period the rules give in days (日/天)
        rather than working days:

        * Art. 201: the day the period starts (the question asked, the notice given, the case
          resolved) does not count; counting begins the next day.  So the last day is
          ``start + days``.
        * Art. 203 para. 1: when that last day is a 法定休假日, the period ends on the day after the
          rest days end.  civic reads 法定休假日 as every day the working calendar has off:
          Saturdays and Sundays and the State Council's holidays, while a 调休 Saturday or Sunday is
          a working day (the reading courts give Art. 203 and Civil Procedure Law Art. 85, and the
          one that keeps a whole working day for the act).  So the last day is the first working
          day on or after ``start + days``.
        * Art. 203 para. 2: the period ends at 24:00 of its last day (see :meth:`legal_period_end`).
        * Art. 204: these rules hold unless a law or the parties' agreement says otherwise; civic's
          local rules (a committee's charter, a village catalogue) do not.

        Examples: 15 days from 2026-01-30 → 2026-02-14, a Saturday but a 调休 working day, so it
        stands; 15 days from 2025-09-16 → 2025-10-01, National Day, extended to 2025-10-09.

        :param start: the day the period starts (not counted).
        :param days: ≥ 0 (0: the start day itself, still extended past days off).
        :returns: ``(last_day, provisional)``; provisional when a day looked at (the nominal last day
            and the days off after it) is in a year neither a notice nor the library knows.
        :raises TypeError: ``start`` a datetime or not a date, ``days`` not an int.
        :raises ValueError: ``days`` < 0, or a day outside the data (see :meth:`is_workday`).
        """
        if isinstance(start, datetime) or not isinstance(start, date):
            raise TypeError("legal_period_last_day takes a date (in Asia/Shanghai), not a datetime")
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError("days must be an int")
        if days < 0:
            raise ValueError("days must be ≥ 0")
        d = start + timedelta(days=days)
        provisional = False
        while True:
            working, prov = self.is_workday(d)
            provisional |= prov
            if working:
                return d, provisional
            d += timedelta(days=1)

    def legal_period_end(self, start: datetime, days: int) -> Deadline:
        """The moment a period of ``days`` days from ``start`` ends (Civil Code Arts. 200-204): 24:00
        (as 23:59:59, like every working-day deadline) Asia/Shanghai of its last day, counted from
        the day after ``start``'s Shanghai date and moved past days off (:meth:`legal_period_last_day`).

        Example: a villager asks on 2026-01-30 at 09:12; the 15-day reply is due
        2026-02-14T23:59:59+08:00 (not 2026-02-14T09:12, 15×24 hours later).

        :param start: aware datetime (any zone).
        :param days: ≥ 0.
        :returns: :class:`Deadline` (``provisional`` as in :meth:`legal_period_last_day`).
        :raises ValueError: naive ``start``, negative ``days``, a day outside the data.
        :raises TypeError: ``start`` not a datetime or ``days`` not an int.
        """
        local = _to_shanghai(start)
        last, provisional = self.legal_period_last_day(local.date(), days)
        return Deadline(datetime.combine(last, END_OF_DAY, tzinfo=TZ), provisional)

    def legal_period_over(self, start: datetime, days: int) -> Deadline:
        """The first moment after a period of ``days`` days from ``start``: 00:00 Asia/Shanghai of
        the day after its last day (:meth:`legal_period_end`).  For a notice period that must run
        in full before something may happen (voting opens, a meeting meets).

        :raises: as :meth:`legal_period_end`.
        """
        end = self.legal_period_end(start, days)
        return Deadline(datetime.combine(end.due.date() + timedelta(days=1), time(0), tzinfo=TZ), end.provisional)

    def deadline(self, start: datetime, amount: int, unit: str) -> Deadline:
        """Dispatch on ``unit``: ``"hours"`` → :meth:`add_hours`, ``"working_days"`` →
        :meth:`add_working_days`.

        :raises ValueError: any other unit, plus whatever the chosen method raises.
        """
        if unit == "hours":
            return self.add_hours(start, amount)
        if unit == "working_days":
            return self.add_working_days(start, amount)
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")

    def working_days_between(self, a: date, b: date) -> int:
        """How many working days lie in the half-open span ``(a, b]`` (Shanghai dates).

        This matches :meth:`add_working_days`: for ``due = add_working_days(start, n)``,
        ``working_days_between(start_date, due.date()) == n`` (n ≥ 1).  ``a == b`` gives 0;
        ``b < a`` gives minus the count over ``(b, a]``.  For statistics; unknown years count by
        the fallback without saying so (use :meth:`known` if that matters).

        :raises TypeError: a datetime or non-date argument.
        :raises ValueError: a day outside the data (see :meth:`is_workday`).
        """
        for x in (a, b):
            if isinstance(x, datetime) or not isinstance(x, date):
                raise TypeError("working_days_between takes dates (in Asia/Shanghai), not datetimes")
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        # Whole years in the middle go by per-year arithmetic; edges day by day.
        d = a + timedelta(days=1)
        while d <= b:
            year_end = date(d.year, 12, 31)
            if d == date(d.year, 1, 1) and year_end <= b:
                count += self._working_days_in_year(d.year)
                d = year_end + timedelta(days=1)
                continue
            if self.is_workday(d)[0]:
                count += 1
            d += timedelta(days=1)
        return count

    def _working_days_in_year(self, year: int) -> int:
        cached = self._year_count_cache.get(year)
        if cached is not None:
            return cached
        off, on, _ = self._year(year)
        first = date(year, 1, 1)
        n_days = (date(year + 1, 1, 1) - first).days
        weekdays = sum(1 for i in range(n_days) if (first.weekday() + i) % 7 < 5)
        count = (
            weekdays
            - sum(1 for d in off if d.weekday() < 5 and d not in on)
            + sum(1 for d in on if d.weekday() >= 5)
        )
        self._year_count_cache[year] = count
        return count
