"""Periods in days as the Civil Code counts them (issue #15.9): Arts. 201, 203 (the start day does
not count, the period ends at 24:00 of its last day, a last day off moves to the first working day
after it), on real 2025-2026 dates, for the shared function and for every domain's period."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from civic.core.workdays import TZ, WorkCalendar

CAL = WorkCalendar()  # 2025-2026: the State Council's notices as chinese-calendar records them
ROOT = Path(__file__).resolve().parents[2]


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def end_of(y, m, d) -> dt.datetime:
    return sh(y, m, d, 23, 59, 59)


# (start, days, last day, why)
CASES = [
    (sh(2026, 3, 2, 8, 0), 15, dt.date(2026, 3, 17), "an ordinary Tuesday"),
    (sh(2026, 3, 2, 23, 50), 15, dt.date(2026, 3, 17), "the time of day does not matter"),
    (dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC), 15, dt.date(2026, 3, 17),
     "16:30 UTC on 1 March is 00:30 on 2 March in Shanghai: counting starts on the 3rd"),
    (sh(2026, 3, 6, 9, 0), 15, dt.date(2026, 3, 23), "a Saturday last day moves to Monday"),
    (sh(2026, 1, 30, 9, 12), 15, dt.date(2026, 2, 14), "14 Feb 2026 is a Saturday worked (调休): it stands"),
    (sh(2026, 2, 1, 10, 0), 15, dt.date(2026, 2, 24), "16 Feb 2026 is in the Spring Festival (15-23 Feb)"),
    (sh(2026, 2, 2, 10, 0), 7, dt.date(2026, 2, 9), "9 Feb 2026 is a Monday worked: it stands"),
    (sh(2025, 1, 13, 10, 0), 15, dt.date(2025, 2, 5), "除夕 28 Jan 2025 is a statutory holiday (28 Jan-4 Feb off)"),
    (sh(2025, 1, 20, 10, 0), 15, dt.date(2025, 2, 5), "4 Feb 2025 is the last day of the Spring Festival"),
    (sh(2025, 9, 13, 10, 0), 15, dt.date(2025, 9, 28), "28 Sep 2025 is a Sunday worked (调休): it stands"),
    (sh(2025, 9, 16, 10, 0), 15, dt.date(2025, 10, 9), "1 Oct 2025: National Day and 中秋 (1-8 Oct off)"),
    (sh(2025, 9, 24, 18, 0), 7, dt.date(2025, 10, 9), "a 7-day window ending on 1 Oct 2025"),
    (sh(2026, 9, 16, 10, 0), 15, dt.date(2026, 10, 8), "1 Oct 2026: National Day (1-7 Oct off)"),
    (sh(2026, 9, 20, 10, 0), 15, dt.date(2026, 10, 8), "5 Oct 2026 is inside National Day"),
    (sh(2025, 12, 17, 10, 0), 15, dt.date(2026, 1, 4), "1 Jan 2026 off, 2-3 Jan off, 4 Jan a Sunday worked"),
    (sh(2026, 4, 16, 10, 0), 15, dt.date(2026, 5, 6), "1 May 2026: Labour Day (1-5 May off)"),
]


@pytest.mark.parametrize(("start", "days", "last", "why"), CASES, ids=[c[3] for c in CASES])
def test_a_period_in_days_ends_at_24_00_of_its_last_day(start, days, last, why):
    due = CAL.legal_period_end(start, days)
    assert due.due == end_of(last.year, last.month, last.day), why
    assert due.provisional is False
    assert CAL.legal_period_last_day(start.astimezone(TZ).date(), days) == (last, False)
    assert CAL.legal_period_over(start, days).due == sh(last.year, last.month, last.day) + dt.timedelta(days=1)


def test_a_period_into_an_unknown_year_is_provisional():
    # 2027 is not known (no notice, not in the library): the statutory 1 January still moves it.
    due = CAL.legal_period_end(sh(2026, 12, 17, 10, 0), 15)
    assert (due.due, due.provisional) == (end_of(2027, 1, 4), True)  # 1 Jan holiday, 2-3 Jan weekend


def test_zero_days_is_the_start_day_itself_moved_past_days_off():
    assert CAL.legal_period_last_day(dt.date(2026, 3, 2), 0) == (dt.date(2026, 3, 2), False)
    assert CAL.legal_period_last_day(dt.date(2026, 10, 1), 0) == (dt.date(2026, 10, 8), False)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "15"])
def test_bad_day_counts_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        CAL.legal_period_end(sh(2026, 3, 2), bad)


def test_naive_start_is_refused():
    with pytest.raises(ValueError):
        CAL.legal_period_end(dt.datetime(2026, 3, 2, 10, 0), 15)


# --- every domain's period in days uses it -----------------------------------------------------

def test_villagers_inquiry_reply_is_due_at_the_end_of_the_15th_day(app):
    """The issue's instance: not 15×24 hours to the minute, and past the Spring Festival."""
    from civic.village.service.inquiries import reply_due

    assert reply_due(sh(2026, 3, 2, 9, 12)) == end_of(2026, 3, 17)
    assert reply_due(sh(2026, 2, 1, 10, 0)) == end_of(2026, 2, 24)
    assert reply_due(sh(2025, 9, 16, 10, 0)) == end_of(2025, 10, 9)


def test_owners_vote_opens_after_the_full_notice(app):
    from civic.voting.service.phases import voting_opens_at

    assert voting_opens_at(sh(2026, 3, 2, 15, 0), 15) == sh(2026, 3, 18)
    assert voting_opens_at(sh(2025, 9, 16, 15, 0), 15) == sh(2025, 10, 10)  # notice ran past National Day


def test_rating_window_closes_at_the_end_of_the_7th_day(app):
    from civic.complaints.models import Complaint
    from civic.complaints.service.workflow import rating_closes_at

    assert rating_closes_at(Complaint(resolved_at=sh(2026, 3, 2, 17, 0))) == end_of(2026, 3, 9)
    assert rating_closes_at(Complaint(resolved_at=sh(2025, 9, 24, 18, 0))) == end_of(2025, 10, 9)


def test_cosign_window_and_publication_period(app):
    from civic.proposals.deliberation.service.meetings import publication_end
    from civic.proposals.deliberation.service.topics import cosign_closes_at

    assert cosign_closes_at(sh(2026, 1, 17, 10, 0), 30) == end_of(2026, 2, 24)  # 16 Feb: Spring Festival
    assert publication_end(sh(2025, 9, 1, 18, 0), 30) == end_of(2025, 10, 9)  # 1 Oct: National Day
    assert publication_end(sh(2025, 9, 1, 18, 0), 0) == sh(2025, 9, 1, 18, 0)  # 0: not published


def test_village_disclosure_due_date(app):
    """A quarter's disclosure is due ``due_days`` after the quarter, as a period in days."""
    from civic.core.calendar import legal_period_last_day

    assert legal_period_last_day(dt.date(2025, 12, 31), 10) == dt.date(2026, 1, 12)  # 10 Jan: a Saturday
    assert legal_period_last_day(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 9)


# Every `timedelta(days=...)` left in civic (outside the calendar itself and the demos) is not a
# period the law counts; each file says why here.  A new one must use civic.core.calendar's
# legal_period_* functions, or be added with its reason.
NOT_LEGAL_PERIODS = {
    "civic/village/service/periods.py": "calendar arithmetic: the last day of a month",
    "civic/open311/service.py": "a default query window for listing requests",
    "civic/complaints/service/intake.py": "how far back to look for possible duplicates (a heuristic)",
    "civic/complaints/service/workflow.py": "RATING_WINDOW: the nominal length, a prefilter only",
    "civic/proposals/contests/service/supports.py": "an account's age for a manipulation signal",
    # Retention periods (docs/privacy.md): how long civic keeps personal data, civic's own choice
    # where the law is silent, applied by a daily job; a day more or less by the clock keeps data a
    # little longer or shorter, it moves no deadline a resident must meet.
    "civic/accounts/privacy.py": "retention: notifications, one-time codes",
    "civic/budgets/personal.py": "retention: a round's ballots after its result is published",
    "civic/complaints/personal.py": "retention: photo GPS and a partner's contact after closing",
    "civic/proposals/contests/personal.py": "retention: support clicks' origin",
    "civic/proposals/deliberation/personal.py": "the day before deletion, when a deleted account's seats end",
    "civic/voting/personal.py": "retention: a deleted account's vote records after the vote closes",
}


def test_no_other_period_in_days_counts_by_clock():
    found = {}
    for path in (ROOT / "civic").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("civic/core/") or rel.endswith("/demo.py") or rel == "civic/demo.py":
            continue
        if re.search(r"timedelta\(\s*days\s*=", path.read_text(encoding="utf-8")):
            found[rel] = True
    assert set(found) == set(NOT_LEGAL_PERIODS)
