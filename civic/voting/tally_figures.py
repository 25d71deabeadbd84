"""How the tally's figures are written: areas held as integer hundredths of a m² as two-place
strings and Decimal m², shares as exact fractions in lowest terms (``"n/d"``) and as display
percentages (rounded half-up, never used to decide anything), and the per-building breakdown of a
vote's returned ballots (for information: a building's figures decide nothing unless the vote
itself is scoped to it, 上海市住宅物业管理规定 Art. 69).

Pure, like :mod:`civic.voting.tally` (which re-exports the public names here): integers,
:class:`~fractions.Fraction` and :class:`~decimal.Decimal` only, no binary (IEEE) arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civic.voting.tally_input import Matter

_HUNDRED = 100


def _area_str(hundredths: int) -> str:
    sign = "-" if hundredths < 0 else ""
    whole, frac = divmod(abs(hundredths), _HUNDRED)
    return f"{sign}{whole}.{frac:02d}"


def _area_decimal(hundredths: int) -> Decimal:
    return Decimal(_area_str(hundredths))


def _fraction_str(numerator: int, denominator: int) -> str:
    """``"n/d"`` in lowest terms, always with a denominator (``"1/1"``, ``"0/1"``); ``denominator > 0``."""
    f = Fraction(numerator, denominator)
    return f"{f.numerator}/{f.denominator}"


def _percent_str(numerator: int, denominator: int) -> str:
    """``numerator/denominator`` as a percentage rounded half-up to 2 places, e.g. ``"91.35%"``.

    Computed on integers and written with Decimal; for display only, never for a decision.
    ``numerator >= 0``, ``denominator > 0``.
    """
    # floor(10000·n/d + 1/2) = the percentage in hundredths, rounded half-up (n, d ≥ 0).
    hundredths_of_percent = (20000 * numerator + denominator) // (2 * denominator)
    return f"{Decimal(hundredths_of_percent).scaleb(-2)}%"


def area_from_hundredths(hundredths: int) -> Decimal:
    """An area held as integer hundredths of a m² (as the tally holds it) as a two-place Decimal m²."""
    return _area_decimal(hundredths)


def share(numerator: int, denominator: int) -> tuple[str, str]:
    """``numerator/denominator`` (integers, ``denominator > 0``) as the exact fraction ``"n/d"`` in
    lowest terms and the display percentage (``"91.35%"``, rounded half-up), as the tally reports
    its own shares."""
    return _fraction_str(numerator, denominator), _percent_str(numerator, denominator)


def building_breakdown(
    matters: Iterable[Matter],
    cells: Iterable[tuple[str, Any, int, int]],
    votes: Mapping[Any, list[str | None]],
) -> list[dict[str, Any]]:
    """Per building: units, heads and area, and per matter how many of them took part and agreed,
    with the participation fractions (for information: a building's figures decide nothing unless
    the vote itself is scoped to it, 上海市住宅物业管理规定 Art. 69).

    :param cells: ``(building, head_key, units, area_hundredths)``, one per head per building.
    :param votes: from :func:`head_votes`.  Returned ballots only (deemed heads are not shown here).

    Counting: a unit counts in its building with its own area.  A head counts once in every
    building where it has a unit: a head whose units span two buildings is one head in EACH, so
    the buildings' heads can add up to more than the vote's total heads (units and area always
    add up).  Participation per building: participating area / building area and participating
    heads / building heads, exact fractions (``"n/d"``) and display percentages.
    """
    matter_list = list(matters)
    n = len(matter_list)
    acc: dict[str, list[int]] = {}
    # per building: units, heads, area, then per matter 6 counters:
    # part units, part heads, part area, yes units, yes heads, yes area
    for building, head, units, area in cells:
        a = acc.get(building)
        if a is None:
            a = acc[building] = [0] * (3 + 6 * n)
        a[0] += units
        a[1] += 1
        a[2] += area
        hv = votes.get(head)
        if hv is None:
            continue
        for j in range(n):
            c = hv[j]
            if c is None:
                continue
            o = 3 + 6 * j
            a[o] += units
            a[o + 1] += 1
            a[o + 2] += area
            if c == "agree":
                a[o + 3] += units
                a[o + 4] += 1
                a[o + 5] += area
    out = []
    for building in sorted(acc):
        a = acc[building]
        rows = []
        for j, m in enumerate(matter_list):
            o = 3 + 6 * j
            rows.append({
                "matter_key": m.key,
                "participating_units": a[o], "participating_heads": a[o + 1],
                "participating_area": _area_str(a[o + 2]),
                "agreeing_units": a[o + 3], "agreeing_heads": a[o + 4], "agreeing_area": _area_str(a[o + 5]),
                "participation_area_fraction": _fraction_str(a[o + 2], a[2]),
                "participation_heads_fraction": _fraction_str(a[o + 1], a[1]),
                "participation_area_percent": _percent_str(a[o + 2], a[2]),
                "participation_heads_percent": _percent_str(a[o + 1], a[1]),
            })
        out.append({"building": building, "units": a[0], "heads": a[1], "area": _area_str(a[2]), "matters": rows})
    return out
