"""The final score of a contest's ideas: pure and exact (Fractions throughout).

* support score = supports / the most supports any idea in the contest has (0 when nobody supported);
* a juror's score of an idea = Σ weight_c · value_c / Σ weight_c over the contest's criteria (values 0-10);
  only a juror who scored every criterion counts;
* jury mean = the mean of those jurors' scores (0-10); jury score = jury mean / 10 (0 without jurors);
* final = (support_weight · support score + jury_weight · jury score) / (support_weight + jury_weight).

Ties break, in this order (deterministic, documented in the API): higher jury score, more supports,
earlier submission, lower id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

SCALE = Decimal("0.000001")


@dataclass(frozen=True)
class IdeaFacts:
    idea_id: int
    support_count: int
    submitted_at: dt.datetime
    # {juror_id: {criterion_id: value}}
    scores: dict[int, dict[int, int]]


@dataclass(frozen=True)
class Ranked:
    rank: int
    idea_id: int
    support_count: int
    support_score: Fraction
    jury_mean: Fraction
    jury_score: Fraction
    final_score: Fraction
    jurors: int


def as_decimal(value: Fraction) -> Decimal:
    """A Fraction shown with six decimals (half-even), for storage and display only: sorting uses the
    exact Fraction."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(SCALE, rounding=ROUND_HALF_EVEN)


def rank(ideas: list[IdeaFacts], criteria: dict[int, int], *, support_weight: int, jury_weight: int) -> list[Ranked]:
    """Rank ideas.  ``criteria``: ``{criterion_id: weight}`` (positive integers).

    :raises ValueError: both weights zero, or a negative weight.
    """
    if support_weight < 0 or jury_weight < 0 or support_weight + jury_weight == 0:
        raise ValueError("weights must be non-negative and not both zero")
    total_w = sum(criteria.values())
    max_support = max((i.support_count for i in ideas), default=0)
    rows = []
    for idea in ideas:
        juror_scores = [
            Fraction(sum(criteria[c] * v for c, v in s.items()), total_w)
            for s in idea.scores.values()
            if total_w and set(s) == set(criteria)
        ]
        jury_mean = sum(juror_scores, Fraction(0)) / len(juror_scores) if juror_scores else Fraction(0)
        jury_score = jury_mean / 10
        support_score = Fraction(idea.support_count, max_support) if max_support else Fraction(0)
        final = (support_weight * support_score + jury_weight * jury_score) / (support_weight + jury_weight)
        rows.append((idea, support_score, jury_mean, jury_score, final, len(juror_scores)))
    rows.sort(key=lambda r: (-r[4], -r[3], -r[0].support_count, r[0].submitted_at, r[0].idea_id))
    return [Ranked(n, r[0].idea_id, r[0].support_count, r[1], r[2], r[3], r[4], r[5])
            for n, r in enumerate(rows, start=1)]
