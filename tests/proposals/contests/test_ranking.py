"""The pure ranking: exact arithmetic and the documented tie-break."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from civic.proposals.contests.ranking import IdeaFacts, rank

T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def test_thirds_are_exact_not_floats():
    # One juror's 1/3-weighted scores: Fraction keeps 20/3 exactly.
    ideas = [IdeaFacts(1, 3, T0, {9: {1: 5, 2: 5, 3: 10}})]
    (r,) = rank(ideas, {1: 1, 2: 1, 3: 1}, support_weight=1, jury_weight=2)
    assert r.jury_mean == Fraction(20, 3)
    assert r.final_score == (1 * Fraction(1) + 2 * Fraction(2, 3)) / 3


def test_ties_break_by_jury_then_supports_then_earlier_then_lower_id():
    later = T0 + dt.timedelta(hours=1)
    ideas = [
        IdeaFacts(5, 2, later, {}), IdeaFacts(4, 2, T0, {}), IdeaFacts(3, 2, T0, {}),
        IdeaFacts(2, 4, T0, {9: {1: 0}}),
    ]
    # support-only weights: 2 (4 supports) first; then 3, 4 (same time: lower id), then 5 (later).
    assert [r.idea_id for r in rank(ideas, {1: 1}, support_weight=1, jury_weight=0)] == [2, 3, 4, 5]


def test_equal_final_prefers_higher_jury_score():
    ideas = [IdeaFacts(1, 2, T0, {}), IdeaFacts(2, 0, T0, {9: {1: 10}})]
    # both finals are 1/2: idea 1 from support, idea 2 from the jury
    ranked = rank(ideas, {1: 1}, support_weight=1, jury_weight=1)
    assert [r.final_score for r in ranked] == [Fraction(1, 2), Fraction(1, 2)]
    assert [r.idea_id for r in ranked] == [2, 1]


def test_juror_who_skipped_a_criterion_does_not_count():
    ideas = [IdeaFacts(1, 0, T0, {7: {1: 10, 2: 10}, 8: {1: 0}})]
    (r,) = rank(ideas, {1: 1, 2: 1}, support_weight=0, jury_weight=1)
    assert (r.jurors, r.jury_mean) == (1, 10)
