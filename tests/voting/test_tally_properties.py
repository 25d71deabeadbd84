"""Properties of the owners' vote tally (Civil Code Art. 278; SPC 法释〔2009〕7号 Arts. 8-9;
RULES.md §1), checked with hypothesis on small random rosters."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from civic.voting.tally import (
    BALLOT_KINDS,
    BallotEntry,
    Matter,
    RosterUnit,
    build_heads,
    tally,
)

SETTINGS = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class Case:
    units: tuple[RosterUnit, ...]
    matters: tuple[Matter, ...]
    ballots: tuple[BallotEntry, ...]
    mode: str
    delivered: frozenset[int]


# Few, compact draws keep 200 examples fast: a unit is (area in hundredths, owner bitmask over
# persons 0-5, a code for area source and developer-held); a head's ballot plan is one integer whose
# base-5 digits are its choices per matter (0 = no vote) and one integer for its entries.
_UNIT = st.tuples(st.integers(1, 50_000), st.integers(1, 63), st.integers(0, 17))
_SOURCES = ("registry", "survey", "contract")
_CHOICE_DIGITS = (None, "agree", "oppose", "abstain", "blank")
_KINDS = sorted(BALLOT_KINDS)


def _owners(mask: int) -> frozenset[int]:
    return frozenset(p for p in range(6) if mask >> p & 1)


def _choices(code: int, keys: list[str]) -> dict[str, str]:
    out = {}
    for k in keys:
        code, digit = divmod(code, 5)
        if _CHOICE_DIGITS[digit] is not None:
            out[k] = _CHOICE_DIGITS[digit]
    return out


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A small roster, 1-3 matters, consistent owner ballots per head, a few non-owner ballots."""
    units = tuple(
        RosterUnit(unit_id=uid, area=Decimal(h).scaleb(-2), area_source=_SOURCES[code % 3],
                   owner_ids=_owners(mask), developer_held=code >= 15)  # 1 in 6 developer-held
        for uid, (h, mask, code) in enumerate(draw(st.lists(_UNIT, min_size=1, max_size=10)), 1)
    )
    n_units = len(units)
    numbers = draw(st.lists(st.integers(1, 9), min_size=1, max_size=3))
    matters = tuple(Matter(number=n, key=f"m{i}") for i, n in enumerate(numbers))
    keys = [m.key for m in matters]
    heads = build_heads(units)
    plans = draw(st.lists(st.tuples(st.integers(0, 5 ** len(keys) - 1), st.integers(0, 59)),
                          min_size=len(heads), max_size=len(heads)))
    ballots: list[BallotEntry] = []
    for head, (choice_code, entry_code) in zip(heads, plans, strict=True):
        choices = _choices(choice_code, keys)
        if not choices:  # not returned
            continue
        # one or two entries for the head, on its units, all with the same choices
        for i in range(1 + entry_code // 30):
            ballots.append(BallotEntry(
                unit_id=head.unit_ids[(entry_code // 3 + i) % len(head.unit_ids)],
                choices=dict(choices), kind=_KINDS[(entry_code + i) % 3]))
    for uid, choice_code in draw(st.lists(  # non-owners' ballots, to be excluded
            st.tuples(st.integers(1, n_units), st.integers(0, 5 ** len(keys) - 1)), max_size=2)):
        ballots.append(BallotEntry(unit_id=uid, choices=_choices(choice_code, keys), kind="online",
                                   cast_by_owner=False))
    mode = draw(st.sampled_from(["strict", "deemed_abstain", "deemed_majority"]))
    delivered = frozenset(u.unit_id for u, bit in zip(
        units, draw(st.lists(st.booleans(), min_size=n_units, max_size=n_units)), strict=True) if bit)
    return Case(units, matters, tuple(ballots), mode, delivered)


def run(case: Case, ballots: tuple[BallotEntry, ...] | list[BallotEntry] | None = None):
    return tally(case.units, case.matters, case.ballots if ballots is None else ballots,
                 mode=case.mode, delivered_unit_ids=case.delivered, rules_allow_deemed=True)


@SETTINGS
@given(cases(), st.integers(0, 2**32 - 1))
def test_ballot_order_never_changes_the_result(case: Case, seed: int):
    shuffled = list(case.ballots)
    random.Random(seed).shuffle(shuffled)
    assert run(case, shuffled) == run(case)
    assert run(case, shuffled).to_dict() == run(case).to_dict()


@SETTINGS
@given(cases(), st.data())
def test_turning_an_oppose_into_an_agree_never_turns_a_pass_into_a_fail(case: Case, data):
    opposed = sorted({
        (b.unit_id, k) for b in case.ballots if b.cast_by_owner for k, c in b.choices.items()
        if c == "oppose"
    })
    if not opposed:
        return
    uid, key = data.draw(st.sampled_from(opposed))
    head_units = next(h.unit_ids for h in build_heads(case.units) if uid in h.unit_ids)
    # flip every owner entry of that head on that matter, so the head's entries stay consistent
    flipped = tuple(
        replace(b, choices={**b.choices, key: "agree"})
        if b.cast_by_owner and b.unit_id in head_units and key in b.choices else b
        for b in case.ballots
    )
    before, after = run(case), run(case, flipped)
    for m_before, m_after in zip(before.matters, after.matters, strict=True):
        if m_before.passed:
            assert m_after.passed
        if m_before.approved:
            assert m_after.approved
        assert m_after.agreeing_heads >= m_before.agreeing_heads
        assert m_after.participating_heads == m_before.participating_heads


@SETTINGS
@given(cases())
def test_totals_are_the_roster_sums_and_counts_are_nested(case: Case):
    result = run(case)
    heads = build_heads(case.units)
    roster_area = sum((u.area for u in case.units), Decimal(0))
    assert result.total_area == roster_area
    assert sum((h.area for h in heads), Decimal(0)) == roster_area
    assert result.total_heads == len(heads)
    assert result.total_units == len(case.units)
    assert sorted(u for h in heads for u in h.unit_ids) == [u.unit_id for u in case.units]
    assert result.excluded_ballots == sum(1 for b in case.ballots if not b.cast_by_owner)
    for m in result.matters:
        assert m.total_area == roster_area
        assert m.total_heads == len(heads)
        assert Decimal(0) <= m.agreeing_area <= m.participating_area <= m.total_area
        assert 0 <= m.agreeing_heads <= m.participating_heads <= m.total_heads
        assert m.deemed_heads <= m.participating_heads
        assert m.passed == (m.quorum_met and m.approved)
        if m.participating_heads == 0:
            assert m.approval_area_fraction is None and not m.approved


def reference(case: Case) -> dict[str, tuple[bool, bool]]:
    """A slow, obvious reading of RULES.md §1 with Fractions, for strict mode."""
    heads = build_heads(case.units)
    unit_head = {u: h for h in heads for u in h.unit_ids}
    total_area = sum(Fraction(h.area) for h in heads)
    out = {}
    for m in case.matters:
        choice = {unit_head[b.unit_id].key: b.choices[m.key] for b in case.ballots
                  if b.cast_by_owner and m.key in b.choices}
        part = [h for h in heads if h.key in choice]
        yes = [h for h in part if choice[h.key] == "agree"]
        p_area = sum(Fraction(h.area) for h in part)
        y_area = sum(Fraction(h.area) for h in yes)
        quorum = p_area / total_area >= Fraction(2, 3) and Fraction(len(part), len(heads)) >= Fraction(2, 3)
        if not part:
            approved = False
        elif m.number in (6, 7, 8):
            approved = y_area / p_area >= Fraction(3, 4) and Fraction(len(yes), len(part)) >= Fraction(3, 4)
        else:
            approved = y_area / p_area > Fraction(1, 2) and Fraction(len(yes), len(part)) > Fraction(1, 2)
        out[m.key] = (quorum, approved)
    return out


@SETTINGS
@given(cases())
def test_strict_mode_agrees_with_a_fraction_reference(case: Case):
    case = replace(case, mode="strict")
    expected = reference(case)
    for m in run(case).matters:
        assert (m.quorum_met, m.approved) == expected[m.matter_key]


@SETTINGS
@given(cases())
def test_deemed_majority_never_changes_the_returned_decision(case: Case):
    strict = run(replace(case, mode="strict"))
    deemed = run(replace(case, mode="deemed_majority"))
    for s, d in zip(strict.matters, deemed.matters, strict=True):
        assert d.approved == s.approved
        assert d.participating_heads == s.participating_heads + d.deemed_heads


def _without_excluded(d: dict) -> dict:
    return {**d, "excluded_ballots": 0,
            "matters": [{**m, "excluded_ballots": 0} for m in d["matters"]]}


@SETTINGS
@given(cases())
def test_trusted_frozen_entry_point_gives_the_same_result_as_tally(case: Case):
    from civic.voting.tally import FrozenRoster, head_votes, tally_frozen

    heads = build_heads(case.units)
    head_of = {u: h.key for h in heads for u in h.unit_ids}
    roster = FrozenRoster(head_area={h.key: int(h.area.scaleb(2)) for h in heads}, unit_count=len(case.units))
    rows = [(head_of[b.unit_id], b.unit_id, *[b.choices.get(m.key) for m in case.matters])
            for b in case.ballots if b.cast_by_owner]
    deemable = [h.key for h in heads if all(u in case.delivered for u in h.unit_ids)]
    frozen = tally_frozen(roster, case.matters, head_votes(case.matters, rows), mode=case.mode,
                          deemable_heads=deemable, rules_allow_deemed=True)
    assert frozen.to_dict() == _without_excluded(run(case).to_dict())
