"""Exact thresholds (RULES.md §4): quorum and majority as :class:`~fractions.Fraction` values, strict or not, under a committee's rule-set version."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from civic.core.errors import ValidationFailed
from civic.proposals.deliberation.models import (
    RuleSet,
)

# --- exact thresholds ----------------------------------------------------------------------------

def parse_fraction(value: str, field: str) -> Fraction:
    """``"1/2"`` → ``Fraction(1, 2)``; must lie in (0, 1].  Floats are refused (``"0.5"`` is not a
    fraction of people).

    :raises ValidationFailed: ``fraction_invalid``.
    """
    try:
        if not isinstance(value, str) or "." in value:
            raise ValueError
        f = Fraction(value.strip())
    except (ValueError, ZeroDivisionError):
        raise ValidationFailed("比例须写成分数，如 1/2", code="fraction_invalid",
                               details={"field": field, "value": value}) from None
    if not 0 < f <= 1:
        raise ValidationFailed("比例须大于 0 且不超过 1", code="fraction_invalid", details={"field": field, "value": value})
    return f


def threshold_text(fraction: str, strict: bool) -> str:
    return (">" if strict else ">=") + str(Fraction(fraction))


def meets(part: int, whole: int, fraction: str, strict: bool) -> tuple[Fraction, bool]:
    """``(part/whole, whether it meets the threshold)``; an empty whole meets nothing."""
    if whole <= 0:
        return Fraction(0), False
    share = Fraction(part, whole)
    need = Fraction(fraction)
    return share, (share > need if strict else share >= need)


@dataclass(frozen=True)
class Count:
    agree: int
    oppose: int
    abstain: int
    present: int
    members: int


def tally(count: Count, rules: RuleSet) -> dict:
    """Whether a motion passes under ``rules``, with the figures shown.

    Base: ``present`` (members present) or ``members`` (all current members); abstentions either
    count as present but not for (they stay in the base) or are ``excluded`` from the base.
    Returns e.g. ``{"agree": 3, "oppose": 3, "abstain": 0, "base": 6, "fraction": "1/2",
    "threshold": ">1/2", "passed": false, "rule_set_version": 1}``.  RULES.md §4.
    """
    base = count.present if rules.majority_base == "present" else count.members
    if rules.abstentions == "excluded":
        base -= count.abstain
    share, passed = meets(count.agree, base, rules.majority, rules.majority_strict)
    return {"agree": count.agree, "oppose": count.oppose, "abstain": count.abstain, "base": base,
            "fraction": str(share), "threshold": threshold_text(rules.majority, rules.majority_strict),
            "passed": passed, "rule_set_version": rules.version}


def quorum(present: int, members: int, rules: RuleSet) -> dict:
    share, met = meets(present, members, rules.quorum, rules.quorum_strict)
    return {"present": present, "members": members, "fraction": str(share),
            "threshold": threshold_text(rules.quorum, rules.quorum_strict), "met": met}
