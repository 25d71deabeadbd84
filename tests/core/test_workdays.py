"""Tests for civic.core.workdays: Chinese working-time deadlines (RULES.md §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lunardate import LunarDate

from civic.core.errors import ValidationFailed
from civic.core.workdays import (
    LIBRARY_LAST_YEAR,
    TZ,
    Deadline,
    WorkCalendar,
    YearNotice,
    parse_notice,
    statutory_holidays,
)


def sh(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def eod(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=TZ)


@pytest.fixture(scope="module")
def cal():
    return WorkCalendar()


# An illustrative 2027 notice (not the real one, which is not yet published): New Year 1–3 Jan,
# Spring Festival 5–12 Feb with make-up Sundays 31 Jan and 20 Feb ... only the early part matters.
NOTICE_2027 = {
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04"],
    "workdays": ["2027-01-09"],
}


# -- assumptions about the installed library ---------------------------------------------------


def test_library_does_not_know_2027():
    # The premise of the fallback: chinese-calendar 1.11 stops at 2026.
    assert LIBRARY_LAST_YEAR == 2026
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


# -- the fallback ------------------------------------------------------------------------------


def test_statutory_holidays_2027():
    assert statutory_holidays(2027) == frozenset(
        {
            date(2027, 1, 1),  # 元旦
            date(2027, 2, 5),  # 除夕 (正月初一 is 6 Feb 2027)
            date(2027, 2, 6),
            date(2027, 2, 7),
            date(2027, 2, 8),  # 正月初一至初三
            date(2027, 4, 5),  # 清明
            date(2027, 5, 1),
            date(2027, 5, 2),  # 劳动节, 2 days since 2025
            date(2027, 6, 9),  # 端午, 五月初五
            date(2027, 9, 15),  # 中秋, 八月十五
            date(2027, 10, 1),
            date(2027, 10, 2),
            date(2027, 10, 3),  # 国庆
        }
    )


@pytest.mark.parametrize("year", range(2027, 2100))
def test_statutory_holidays_shape(year):
    days = statutory_holidays(year)
    # 13 days, less one when 中秋 coincides with 1–3 October (e.g. 2028-10-03): the Measures give
    # no extra day for that, and the fallback invents none.
    mid_autumn = LunarDate(year, 8, 15).to_solar_date()
    assert mid_autumn in days
    assert len(days) == (12 if mid_autumn in {date(year, 10, i) for i in (1, 2, 3)} else 13)
    assert all(d.year == year for d in days)
    assert sum(1 for d in days if d.month == 4) == 1
    assert next(d for d in days if d.month == 4).day in (4, 5, 6)


@pytest.mark.parametrize("year", [2025, 2026])
def test_fallback_days_are_holidays_in_library_years_under_the_2025_measures(year):
    # For the years the amended Measures already governed, every day they fix is a day off in
    # the State Council's own arrangement (as the library records it).
    for d in statutory_holidays(year):
        assert chinese_calendar.is_holiday(d), d


@pytest.mark.parametrize("year", range(2008, 2025))
def test_lunar_and_solar_term_days_match_library_history(year):
    # 2008–2024 (the earlier Measures): every day the 2025 Measures fix except 除夕 and 2 May was
    # statutory then too, so it must be a day off in the library's data.  This checks the lunar
    # dates (春节, 端午, 中秋) and the 清明 solar term against 17 years of State Council notices.
    days = statutory_holidays(year)
    chuxi = min(d for d in days if d != date(year, 1, 1) and d.month <= 2)
    for d in days - {chuxi, date(year, 5, 2)}:
        assert chinese_calendar.is_holiday(d), d


def test_mid_autumn_on_national_day_gives_no_extra_day(cal):
    # 中秋 2028 is 3 October: the holidays overlap, and no day is added for it.
    assert date(2028, 10, 3) in statutory_holidays(2028)
    assert len(statutory_holidays(2028)) == 12
    assert cal.is_workday(date(2028, 10, 4)) == (True, True)


def test_statutory_holidays_out_of_range():
    with pytest.raises(ValueError):
        statutory_holidays(2100)
    with pytest.raises(ValueError):
        statutory_holidays(1899)


def test_fallback_is_workday(cal):
    assert cal.is_workday(date(2027, 2, 5)) == (False, True)  # 除夕, a Friday
    assert cal.is_workday(date(2027, 2, 9)) == (True, True)  # Tuesday after 初三
    assert cal.is_workday(date(2027, 5, 1)) == (False, True)  # Saturday and Labour Day
    assert cal.is_workday(date(2027, 5, 3)) == (True, True)  # no invented bridge day
    assert cal.is_workday(date(2027, 1, 9)) == (False, True)  # no invented 调休 Saturday


# -- known years -------------------------------------------------------------------------------


def test_known(cal):
    assert cal.known(2026)
    assert cal.known(2004)
    assert not cal.known(2027)
    assert WorkCalendar([parse_notice(2027, NOTICE_2027)]).known(2027)


def test_library_year_is_workday(cal):
    assert cal.is_workday(date(2026, 10, 1)) == (False, False)
    assert cal.is_workday(date(2026, 10, 10)) == (True, False)  # Saturday, 调休上班
    assert cal.is_workday(date(2026, 9, 20)) == (True, False)  # Sunday, 调休上班
    assert cal.is_workday(date(2026, 9, 19)) == (False, False)  # ordinary Saturday
    assert cal.is_workday(date(2026, 9, 29)) == (True, False)


def test_year_before_library_rejected(cal):
    with pytest.raises(ValueError):
        cal.is_workday(date(2003, 6, 2))


def test_is_workday_rejects_datetime(cal):
    with pytest.raises(TypeError):
        cal.is_workday(sh(2026, 6, 1))


# -- add_working_days --------------------------------------------------------------------------


def test_new_year_2027_fallback(cal):
    # Thursday 31 Dec 2026; 1 Jan 2027 New Year's Day (fallback), 2–3 Jan weekend.
    assert cal.add_working_days(sh(2026, 12, 31, 9), 1) == Deadline(eod(2027, 1, 4), True)


def test_national_day_2026(cal):
    # Wed 30 Sep 2026: 1–7 Oct off, Thu 8 Oct is the first working day after.
    assert cal.add_working_days(sh(2026, 9, 30), 1) == Deadline(eod(2026, 10, 8), False)
    # 8 Oct Thu, 9 Oct Fri, 10 Oct Saturday is a make-up working day.
    assert cal.add_working_days(sh(2026, 9, 30), 3) == Deadline(eod(2026, 10, 10), False)
    assert cal.add_working_days(sh(2026, 10, 9, 17), 1) == Deadline(eod(2026, 10, 10), False)
    # Saturday 19 Sep 2026 (day off) -> Sunday 20 Sep make-up working day.
    assert cal.add_working_days(sh(2026, 9, 19), 1) == Deadline(eod(2026, 9, 20), False)


def test_known_span_not_provisional(cal):
    # Mon 1 Jun 2026 + 10 working days: 19 Jun (Fri) is 端午 in 2026, 20–21 weekend.
    d = cal.add_working_days(sh(2026, 6, 1), 10)
    assert d == Deadline(eod(2026, 6, 15), False)
    assert cal.working_days_between(date(2026, 6, 1), date(2026, 6, 15)) == 10


def test_spring_festival_2027_fallback(cal):
    # Thu 4 Feb 2027 + 1: 5 Feb 除夕 (Fri), 6–8 Feb 初一–初三 (Sat–Mon) -> Tue 9 Feb.
    assert cal.add_working_days(sh(2027, 2, 4), 1) == Deadline(eod(2027, 2, 9), True)


def test_fallback_single_days_2027(cal):
    # Fri 2 Apr -> 5 Apr (Mon) is 清明 -> Tue 6 Apr.
    assert cal.add_working_days(sh(2027, 4, 2), 1).due == eod(2027, 4, 6)
    # Tue 8 Jun -> 9 Jun 端午 -> Thu 10 Jun.
    assert cal.add_working_days(sh(2027, 6, 8), 1).due == eod(2027, 6, 10)
    # Tue 14 Sep -> 15 Sep 中秋 -> Thu 16 Sep.
    assert cal.add_working_days(sh(2027, 9, 14), 1).due == eod(2027, 9, 16)
    # Thu 30 Sep -> 1 Oct Fri national day, 2–3 weekend -> Mon 4 Oct (no 7-day guess).
    assert cal.add_working_days(sh(2027, 9, 30), 1).due == eod(2027, 10, 4)


def test_notice_overrides_fallback_and_clears_provisional():
    notice = parse_notice(2027, NOTICE_2027)
    cal = WorkCalendar([notice])
    # 4 Jan (Mon) is now a holiday: 31 Dec 2026 + 1 -> Tue 5 Jan, no longer provisional.
    assert cal.add_working_days(sh(2026, 12, 31), 1) == Deadline(eod(2027, 1, 5), False)
    # The make-up Saturday 9 Jan counts: Fri 8 Jan + 1 -> Sat 9 Jan.
    assert cal.add_working_days(sh(2027, 1, 8), 1) == Deadline(eod(2027, 1, 9), False)
    # Notice overrides the fallback: 5 Feb 2027 (除夕) is not in this notice, so a working day.
    assert cal.is_workday(date(2027, 2, 5)) == (True, False)
    # 2028 still unknown.
    assert cal.add_working_days(sh(2027, 12, 30), 2).provisional


def test_notice_overrides_library():
    # A notice for a library year takes precedence: make 1 Oct 2026 a working day (fiction).
    notice = YearNotice(2026, frozenset({date(2026, 10, 2)}), frozenset())
    cal = WorkCalendar([notice])
    assert cal.is_workday(date(2026, 10, 1)) == (True, False)
    assert cal.is_workday(date(2026, 10, 10)) == (False, False)


def test_duplicate_notice_years_rejected():
    n = parse_notice(2027, NOTICE_2027)
    with pytest.raises(ValueError):
        WorkCalendar([n, n])


def test_provisional_only_when_an_unknown_day_is_touched(cal):
    # Counting stays inside 2026: not provisional, even though the start is near the year end.
    assert cal.add_working_days(sh(2026, 12, 28), 3) == Deadline(eod(2026, 12, 31), False)
    assert cal.add_working_days(sh(2026, 12, 28), 4).provisional


def test_start_day_never_counts_and_time_of_day_is_irrelevant(cal):
    early = cal.add_working_days(sh(2026, 6, 2, 0, 1), 1)
    late = cal.add_working_days(sh(2026, 6, 2, 23, 59), 1)
    assert early == late == Deadline(eod(2026, 6, 3), False)


def test_zero_days(cal):
    assert cal.add_working_days(sh(2026, 6, 2), 0) == Deadline(eod(2026, 6, 2), False)
    # On a day off: the end of the next working day.
    assert cal.add_working_days(sh(2026, 6, 6), 0) == Deadline(eod(2026, 6, 8), False)


def test_utc_input_converted_to_shanghai(cal):
    start = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # Sunday in UTC, Monday 04:00 in Shanghai
    d = cal.add_working_days(start, 1)
    assert d == Deadline(eod(2026, 12, 1), False)
    assert d.due.utcoffset() == timedelta(hours=8)
    assert d.due.tzinfo is TZ


def test_naive_rejected(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(datetime(2026, 6, 1, 9), 1)
    with pytest.raises(ValueError):
        cal.add_hours(datetime(2026, 6, 1, 9), 24)
    with pytest.raises(ValueError):
        cal.deadline(datetime(2026, 6, 1, 9), 1, "working_days")


def test_bad_amounts(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(sh(2026, 6, 1), -1)
    with pytest.raises(ValueError):
        cal.add_hours(sh(2026, 6, 1), -1)
    with pytest.raises(TypeError):
        cal.add_working_days(sh(2026, 6, 1), 1.5)
    with pytest.raises(TypeError):
        cal.add_working_days(date(2026, 6, 1), 1)


# -- hours and dispatch ------------------------------------------------------------------------


def test_add_hours(cal):
    # Natural hours run straight through the National Day holiday.
    assert cal.add_hours(sh(2026, 9, 30, 18), 24) == Deadline(sh(2026, 10, 1, 18), False)
    d = cal.add_hours(datetime(2026, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))), 2)
    assert d == Deadline(datetime(2027, 1, 1, 14, 0, tzinfo=TZ), False)
    assert d.due.tzinfo is TZ


def test_deadline_dispatch(cal):
    assert cal.deadline(sh(2026, 9, 30), 2, "hours") == cal.add_hours(sh(2026, 9, 30), 2)
    assert cal.deadline(sh(2026, 9, 30), 1, "working_days") == cal.add_working_days(sh(2026, 9, 30), 1)
    with pytest.raises(ValueError):
        cal.deadline(sh(2026, 9, 30), 1, "days")


# -- working_days_between ----------------------------------------------------------------------


def test_working_days_between(cal):
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert cal.working_days_between(date(2026, 10, 10), date(2026, 9, 30)) == -3
    assert cal.working_days_between(date(2026, 6, 1), date(2026, 6, 1)) == 0
    # 2027 by the fallback: 365 days, 261 weekdays, minus weekday holidays
    # (1 Jan, 5 Feb, 8 Feb, 5 Apr, 9 Jun, 15 Sep, 1 Oct) = 254.
    assert cal.working_days_between(date(2026, 12, 31), date(2027, 12, 31)) == 254


def test_working_days_between_whole_years_match_day_by_day(cal):
    # The per-year shortcut agrees with counting day by day, library years and fallback alike.
    a, b = date(2024, 3, 15), date(2028, 8, 1)
    slow = 0
    d = a
    while d < b:
        d += timedelta(days=1)
        slow += cal.is_workday(d)[0]
    assert cal.working_days_between(a, b) == slow
    # A library year count agrees with chinese-calendar itself.
    assert cal.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == len(
        chinese_calendar.get_workdays(date(2026, 1, 1), date(2026, 12, 31))
    )


# -- parse_notice ------------------------------------------------------------------------------


def test_parse_notice_ok():
    n = parse_notice(2027, NOTICE_2027)
    assert n == YearNotice(
        2027,
        frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3), date(2027, 1, 4)}),
        frozenset({date(2027, 1, 9)}),
    )
    assert parse_notice(2027, {"holidays": [], "workdays": []}) == YearNotice(2027, frozenset(), frozenset())


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"holidays": ["2027-01-01"]},
        {"workdays": []},
        {"holidays": "2027-01-01", "workdays": []},
        {"holidays": ["2027-13-01"], "workdays": []},
        {"holidays": ["20270101"], "workdays": []},
        {"holidays": [20270101], "workdays": []},
        {"holidays": ["2026-12-31"], "workdays": []},  # wrong year
        {"holidays": [], "workdays": ["2028-01-08"]},  # wrong year
        {"holidays": ["2027-01-09"], "workdays": ["2027-01-09"]},  # in both
        {"holidays": [], "workdays": ["2027-01-06"]},  # a Wednesday cannot be 调休
        {"holidays": [], "workdays": [], "holiday": []},  # unknown key
    ],
)
def test_parse_notice_invalid(data):
    with pytest.raises(ValidationFailed) as exc:
        parse_notice(2027, data)
    assert exc.value.code == "holiday_notice_invalid"
    assert exc.value.status == 422
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)


def test_parse_notice_bad_year():
    with pytest.raises(ValidationFailed) as exc:
        parse_notice("2027", {"holidays": [], "workdays": []})
    assert exc.value.code == "holiday_notice_invalid"


# -- property ----------------------------------------------------------------------------------

PROPERTY_CAL = WorkCalendar()


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1),
        max_value=datetime(2029, 12, 1),
        timezones=st.sampled_from([TZ, UTC]),
    ),
    n=st.integers(min_value=0, max_value=30),
)
def test_property_due_is_nth_working_day(start, n):
    cal = PROPERTY_CAL
    result = cal.add_working_days(start, n)
    start_date = start.astimezone(TZ).date()
    due_date = result.due.date()
    assert result.due.timetz().replace(tzinfo=None).isoformat() == "23:59:59"
    assert cal.is_workday(due_date)[0]
    start_is_workday = cal.is_workday(start_date)[0]
    expected = 1 if (n == 0 and not start_is_workday) else n
    assert cal.working_days_between(start_date, due_date) == expected
    # Minimal: no earlier working day would do.
    assert due_date >= start_date
    if expected:
        assert cal.working_days_between(start_date, due_date - timedelta(days=1)) == expected - 1
    # Provisional exactly when counting looked at an unknown year.
    first_looked = start_date if n == 0 else start_date + timedelta(days=1)
    touched_unknown = any(not cal.known(y) for y in range(first_looked.year, due_date.year + 1))
    assert result.provisional == touched_unknown
