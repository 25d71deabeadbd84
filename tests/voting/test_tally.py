"""Worked examples for the owners' vote tally (Civil Code Art. 278, Art. 1259; SPC 法释〔2009〕7号
Arts. 8-9; RULES.md §1).  Every value is asserted exactly, at each boundary."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest

from civic.core.errors import CivicError, ValidationFailed
from civic.voting.tally import (
    BallotEntry,
    Head,
    Matter,
    RosterUnit,
    TallyInputInvalid,
    build_heads,
    tally,
)
from civic.voting.tally_figures import _percent_str

ORDINARY = Matter(number=4, key="hire_property_company")
SPECIAL = Matter(number=6, key="raise_maintenance_fund")


def unit(uid: int, area: str, owners: set[int] | frozenset[int], *, dev: bool = False,
         source: str = "registry") -> RosterUnit:
    return RosterUnit(unit_id=uid, area=Decimal(area), area_source=source,
                      owner_ids=frozenset(owners), developer_held=dev)


def ballot(uid: int, *, kind: str = "online", owner: bool = True, **choices: str) -> BallotEntry:
    return BallotEntry(unit_id=uid, choices=dict(choices), kind=kind, cast_by_owner=owner)


def one_per_head(areas: list[str]) -> list[RosterUnit]:
    """Units 1..n, each with its own owner (person id = unit id): n heads."""
    return [unit(i, a, {i}) for i, a in enumerate(areas, start=1)]


# ---------------------------------------------------------------- quorum: 2/3 以上 (Art. 1259)


def test_exactly_two_thirds_participation_is_quorate_122_32_of_183_48():
    units = one_per_head(["61.16", "61.16", "61.16"])  # T = 183.48 m², 3 heads
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree")]
    r = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert Fraction(12232, 18348) == Fraction(2, 3)
    assert r.total_area == Decimal("183.48")
    assert r.total_heads == 3
    assert r.participating_area == Decimal("122.32")
    assert r.participating_heads == 2
    assert r.participation_area_fraction == "2/3"
    assert r.participation_heads_fraction == "2/3"
    assert r.participation_area_percent == "66.67%"
    assert r.participation_heads_percent == "66.67%"
    assert r.quorum_area_met is True
    assert r.quorum_heads_met is True
    assert r.quorum_met is True
    assert r.approval_area_fraction == "1/1"
    assert r.approved is True
    assert r.passed is True


def test_exactly_two_thirds_where_binary_arithmetic_misjudges_100_24_of_150_36():
    # 100.24 / 150.36 is exactly 2/3, but IEEE doubles say it is below.
    assert 100.24 / 150.36 < 2 / 3
    assert Fraction(10024, 15036) == Fraction(2, 3)
    units = one_per_head(["50.12", "50.12", "50.12"])
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="oppose"),
               ballot(3, raise_maintenance_fund="agree")]
    r = tally(units, [ORDINARY, SPECIAL], ballots).matter("hire_property_company")
    assert r.participating_area == Decimal("100.24")
    assert r.participation_area_fraction == "2/3"
    assert r.quorum_met is True
    # agree 1 of 2 heads, 50.12 of 100.24: exactly 1/2 is not 过半数.
    assert r.approval_area_fraction == "1/2"
    assert r.approved is False
    assert r.passed is False


def test_one_hundredth_below_two_thirds_fails_quorum():
    units = one_per_head(["61.16", "61.15", "61.16"])  # T = 183.47
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree")]
    r = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert r.participating_area == Decimal("122.31")
    assert r.total_area == Decimal("183.47")
    assert r.participation_area_fraction == "12231/18347"
    assert r.participation_area_percent == "66.66%"
    assert r.quorum_area_met is False
    assert r.quorum_heads_met is True
    assert r.quorum_met is False
    assert r.approved is True
    assert r.passed is False


def test_quorum_by_area_but_not_by_heads_fails():
    units = one_per_head(["300.00", "10.00", "10.00", "10.00"])
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree")]
    r = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert r.participation_area_fraction == "31/33"
    assert r.participation_heads_fraction == "1/2"
    assert r.quorum_area_met is True
    assert r.quorum_heads_met is False
    assert r.quorum_met is False
    assert r.passed is False


# ---------------------------------------------------------------- special items: 3/4 以上


def test_exactly_three_quarters_on_a_special_matter_passes():
    # agree 112.77 of 150.36 m² is exactly 3/4; IEEE doubles say it is below.
    assert 112.77 / 150.36 < 0.75
    units = one_per_head(["37.59", "37.59", "37.59", "37.59"])
    ballots = [ballot(1, raise_maintenance_fund="agree"), ballot(2, raise_maintenance_fund="agree"),
               ballot(3, raise_maintenance_fund="agree"), ballot(4, raise_maintenance_fund="oppose")]
    r = tally(units, [SPECIAL], ballots).matter("raise_maintenance_fund")
    assert r.special is True
    assert r.approval_rule == ">=3/4"
    assert r.agreeing_area == Decimal("112.77")
    assert r.participating_area == Decimal("150.36")
    assert r.approval_area_fraction == "3/4"
    assert r.approval_heads_fraction == "3/4"
    assert r.approval_area_percent == "75.00%"
    assert r.approval_area_met is True
    assert r.approval_heads_met is True
    assert r.approved is True
    assert r.quorum_met is True
    assert r.passed is True


def test_one_hundredth_below_three_quarters_on_a_special_matter_fails():
    units = one_per_head(["37.58", "37.59", "37.59", "37.59"])
    ballots = [ballot(1, raise_maintenance_fund="agree"), ballot(2, raise_maintenance_fund="agree"),
               ballot(3, raise_maintenance_fund="agree"), ballot(4, raise_maintenance_fund="oppose")]
    r = tally(units, [SPECIAL], ballots).matter("raise_maintenance_fund")
    assert r.agreeing_area == Decimal("112.76")
    assert r.participating_area == Decimal("150.35")
    assert r.approval_area_fraction == "11276/15035"
    assert r.approval_area_percent == "75.00%"  # display rounds up to 75.00%, the decision does not
    assert r.approval_area_met is False
    assert r.approval_heads_met is True
    assert r.approved is False
    assert r.passed is False


@pytest.mark.parametrize("number,special", [(1, False), (5, False), (6, True), (7, True), (8, True),
                                            (9, False)])
def test_items_six_to_eight_are_special(number: int, special: bool):
    assert Matter(number=number, key="m").special is special


# ---------------------------------------------------------------- ordinary: 过半数 (strictly)


def test_exactly_half_on_an_ordinary_matter_fails():
    units = one_per_head(["60.00", "60.00"])
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="oppose")]
    r = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert r.approval_rule == ">1/2"
    assert r.approval_area_fraction == "1/2"
    assert r.approval_heads_fraction == "1/2"
    assert r.approval_area_met is False
    assert r.approval_heads_met is False
    assert r.approved is False
    assert r.quorum_met is True
    assert r.passed is False


def test_one_hundredth_above_half_by_area_but_heads_exactly_half_is_not_approved():
    units = one_per_head(["60.01", "60.00"])
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="oppose")]
    r = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert r.approval_area_fraction == "6001/12001"
    assert r.approval_area_percent == "50.00%"
    assert r.approval_area_met is True
    assert r.approval_heads_fraction == "1/2"
    assert r.approval_heads_met is False
    assert r.approved is False
    assert r.passed is False


def test_one_hundredth_above_half_by_area_and_heads_passes():
    units = one_per_head(["60.01", "30.00", "90.00"])
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree"),
               ballot(3, hire_property_company="oppose")]
    r = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert r.agreeing_area == Decimal("90.01")
    assert r.participating_area == Decimal("180.01")
    assert r.approval_area_fraction == "9001/18001"
    assert r.approval_heads_fraction == "2/3"
    assert r.approval_area_met is True
    assert r.approval_heads_met is True
    assert r.approved is True
    assert r.passed is True


def test_heads_pass_but_area_fails_is_not_approved():
    units = one_per_head(["40.00", "40.00", "100.00"])
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree"),
               ballot(3, hire_property_company="oppose")]
    r = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert r.approval_heads_met is True
    assert r.approval_area_fraction == "4/9"
    assert r.approval_area_met is False
    assert r.approved is False


def test_abstain_and_blank_participate_but_do_not_agree():
    units = one_per_head(["50.00", "50.00", "50.00"])
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="abstain"),
               ballot(3, kind="paper", hire_property_company="blank")]
    r = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert r.participating_heads == 3
    assert r.participating_area == Decimal("150.00")
    assert r.agreeing_heads == 1
    assert r.approval_heads_fraction == "1/3"
    assert r.quorum_met is True
    assert r.approved is False


# ---------------------------------------------------------------- heads (SPC Arts. 8-9)


def test_developer_held_units_unsold_and_undelivered_form_one_head():
    units = [
        unit(1, "88.00", {900}, dev=True),                      # unsold: the developer
        unit(2, "92.50", {501}, dev=True, source="contract"),   # sold, not delivered: still the developer's
        unit(3, "70.25", {1}),
    ]
    heads = build_heads(units)
    assert heads == [
        Head(key="developer", unit_ids=(1, 2), area=Decimal("180.50")),
        Head(key="owners:1", unit_ids=(3,), area=Decimal("70.25")),
    ]
    r = tally(units, [ORDINARY], [ballot(1, hire_property_company="oppose")])
    assert r.total_heads == 2
    assert r.total_units == 3
    assert r.total_area == Decimal("250.75")
    m = r.matter("hire_property_company")
    assert m.participating_area == Decimal("180.50")  # the whole developer head
    assert m.participating_heads == 1


def test_an_owner_of_two_units_is_one_head_with_summed_area():
    units = [unit(1, "80.10", {7}), unit(2, "45.05", {7}), unit(3, "100.00", {8})]
    heads = build_heads(units)
    assert heads == [
        Head(key="owners:7", unit_ids=(1, 2), area=Decimal("125.15")),
        Head(key="owners:8", unit_ids=(3,), area=Decimal("100.00")),
    ]
    # a paper ballot for one of the two units makes the head participate with its whole area
    r = tally(units, [ORDINARY], [ballot(2, kind="paper", hire_property_company="agree")])
    m = r.matter("hire_property_company")
    assert m.participating_area == Decimal("125.15")
    assert m.participating_heads == 1
    assert m.participation_area_fraction == "2503/4503"


def test_co_owners_of_one_unit_are_one_head():
    heads = build_heads([unit(1, "90.00", {1, 2})])
    assert heads == [Head(key="owners:1,2", unit_ids=(1,), area=Decimal("90.00"))]


def test_identical_owner_sets_are_one_head_and_overlapping_sets_are_two():
    units = [unit(1, "50.00", {1}), unit(2, "60.00", {1, 2}), unit(3, "70.00", {2, 1})]
    heads = build_heads(units)
    assert heads == [
        Head(key="owners:1", unit_ids=(1,), area=Decimal("50.00")),
        Head(key="owners:1,2", unit_ids=(2, 3), area=Decimal("130.00")),
    ]
    assert tally(units, [ORDINARY], []).total_heads == 2


# ---------------------------------------------------------------- ballots


def test_a_ballot_from_an_undelivered_buyer_is_excluded_and_counted():
    units = [unit(1, "88.00", {900}, dev=True), unit(2, "92.00", {501}, dev=True),
             unit(3, "80.00", {1}), unit(4, "80.00", {2})]
    ballots = [
        ballot(2, owner=False, hire_property_company="agree", raise_maintenance_fund="agree"),
        ballot(3, hire_property_company="agree", raise_maintenance_fund="agree"),
        ballot(4, hire_property_company="agree"),
    ]
    r = tally(units, [ORDINARY, SPECIAL], ballots)
    assert r.excluded_ballots == 1
    m = r.matter("hire_property_company")
    assert m.excluded_ballots == 1
    assert m.participating_heads == 2
    assert m.participating_area == Decimal("160.00")
    assert m.participation_heads_fraction == "2/3"
    assert m.participation_area_fraction == "8/17"
    assert m.quorum_area_met is False
    assert m.passed is False


def test_conflicting_paper_ballots_within_one_head_raise_naming_the_head():
    units = [unit(1, "80.00", {7}), unit(2, "45.00", {7}), unit(3, "100.00", {8})]
    ballots = [ballot(1, kind="paper", hire_property_company="agree"),
               ballot(2, kind="paper", hire_property_company="oppose"),
               ballot(3, kind="paper", hire_property_company="agree")]
    with pytest.raises(TallyInputInvalid) as exc:
        tally(units, [ORDINARY], ballots)
    err = exc.value
    assert isinstance(err, ValidationFailed) and isinstance(err, CivicError)
    assert err.status == 422
    assert err.code == "tally_conflicting_ballots"
    assert "owners:7" in err.message and "不一致" in err.message
    assert err.details["head_key"] == "owners:7"
    assert err.details["unit_ids"] == [1, 2]
    assert err.details["matter_key"] == "hire_property_company"
    assert err.details["entries"] == [
        {"unit_id": 1, "kind": "paper", "choice": "agree"},
        {"unit_id": 2, "kind": "paper", "choice": "oppose"},
    ]
    assert len(err.details["conflicts"]) == 1
    json.dumps(err.to_dict(), ensure_ascii=False)


def test_conflicting_blank_and_agree_is_a_conflict_too():
    units = [unit(1, "80.00", {7}), unit(2, "45.00", {7})]
    with pytest.raises(TallyInputInvalid) as exc:
        tally(units, [ORDINARY], [ballot(1, kind="paper", hire_property_company="blank"),
                                  ballot(2, kind="paper", hire_property_company="agree")])
    assert exc.value.code == "tally_conflicting_ballots"


def test_agreeing_duplicate_paper_entries_count_once():
    units = [unit(1, "80.00", {7}), unit(2, "45.00", {7}), unit(3, "100.00", {8})]
    ballots = [ballot(1, kind="paper", hire_property_company="agree"),
               ballot(2, kind="paper", hire_property_company="agree"),
               ballot(1, kind="online", hire_property_company="agree"),
               ballot(3, kind="proxy", hire_property_company="oppose")]
    m = tally(units, [ORDINARY], ballots).matter("hire_property_company")
    assert m.participating_heads == 2
    assert m.participating_area == Decimal("225.00")
    assert m.agreeing_heads == 1
    assert m.agreeing_area == Decimal("125.00")
    assert m.approval_area_fraction == "5/9"
    assert m.approval_heads_fraction == "1/2"
    assert m.approved is False


def test_a_matter_absent_from_a_ballot_is_not_voted_on():
    units = one_per_head(["50.00", "50.00", "50.00"])
    ballots = [ballot(1, hire_property_company="agree", raise_maintenance_fund="agree"),
               ballot(2, hire_property_company="agree"), ballot(3, hire_property_company="agree")]
    r = tally(units, [ORDINARY, SPECIAL], ballots)
    assert r.matter("hire_property_company").passed is True
    s = r.matter("raise_maintenance_fund")
    assert s.participating_heads == 1
    assert s.quorum_met is False
    assert s.approved is True
    assert s.passed is False


def test_zero_participation():
    units = one_per_head(["50.00", "50.00"])
    r = tally(units, [ORDINARY, SPECIAL], [])
    for m in r.matters:
        assert m.participating_area == Decimal("0.00")
        assert m.participating_heads == 0
        assert m.agreeing_heads == 0
        assert m.participation_area_fraction == "0/1"
        assert m.participation_heads_fraction == "0/1"
        assert m.participation_area_percent == "0.00%"
        assert m.approval_area_fraction is None
        assert m.approval_heads_fraction is None
        assert m.approval_area_percent is None
        assert m.approval_heads_percent is None
        assert m.quorum_met is False
        assert m.approved is False
        assert m.passed is False
    d = r.to_dict()
    assert d["matters"][0]["fractions"]["approval_area"] is None
    assert d["matters"][0]["participating_area"] == "0.00"


# ---------------------------------------------------------------- counting modes


def _deemed_roster() -> list[RosterUnit]:
    # 4 heads of 50 m²; owner 4 holds units 4 and 5 (25 + 25)
    return [unit(1, "50.00", {1}), unit(2, "50.00", {2}), unit(3, "50.00", {3}),
            unit(4, "25.00", {4}), unit(5, "25.00", {4})]


def test_deemed_modes_are_refused_unless_the_rules_enable_them():
    for mode in ("deemed_abstain", "deemed_majority"):
        with pytest.raises(TallyInputInvalid) as exc:
            tally(_deemed_roster(), [ORDINARY], [], mode=mode, delivered_unit_ids=frozenset({1}))
        assert exc.value.code == "counting_mode_not_enabled"
        assert exc.value.details == {"mode": mode}


def test_unknown_mode_is_refused():
    with pytest.raises(TallyInputInvalid) as exc:
        tally(_deemed_roster(), [ORDINARY], [], mode="deemed_agree", rules_allow_deemed=True)
    assert exc.value.code == "counting_mode_invalid"


def test_strict_mode_ignores_delivery():
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree")]
    r = tally(_deemed_roster(), [ORDINARY], ballots, delivered_unit_ids=frozenset({3, 4, 5}),
              rules_allow_deemed=True)
    m = r.matter("hire_property_company")
    assert r.mode == "strict" and m.mode == "strict"
    assert m.deemed_heads == 0
    assert m.participation_heads_fraction == "1/2"
    assert m.quorum_met is False


def test_deemed_abstain_with_delivery():
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree")]
    r = tally(_deemed_roster(), [ORDINARY], ballots, mode="deemed_abstain",
              delivered_unit_ids=frozenset({3, 4, 5}), rules_allow_deemed=True)
    m = r.matter("hire_property_company")
    assert m.mode == "deemed_abstain"
    assert m.deemed_heads == 2
    assert m.deemed_area == Decimal("100.00")
    assert m.participating_heads == 4
    assert m.quorum_met is True
    assert m.agreeing_heads == 2
    assert m.approval_heads_fraction == "1/2"
    assert m.approved is False  # deemed abstentions weigh against 过半数
    assert m.passed is False


def test_deemed_abstain_needs_delivery_to_every_unit_of_the_head():
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree")]
    # unit 5 of head owners:4 has no recorded delivery; head 3 none at all
    r = tally(_deemed_roster(), [ORDINARY], ballots, mode="deemed_abstain",
              delivered_unit_ids=frozenset({1, 2, 4}), rules_allow_deemed=True)
    m = r.matter("hire_property_company")
    assert m.deemed_heads == 0
    assert m.participating_heads == 2
    assert m.quorum_met is False


def test_deemed_majority_follows_an_approving_return_as_agree():
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree")]
    r = tally(_deemed_roster(), [ORDINARY], ballots, mode="deemed_majority",
              delivered_unit_ids=frozenset({3, 4, 5}), rules_allow_deemed=True)
    m = r.matter("hire_property_company")
    assert m.deemed_heads == 2
    assert m.participating_heads == 4
    assert m.agreeing_heads == 4
    assert m.agreeing_area == Decimal("200.00")
    assert m.quorum_met is True
    assert m.approved is True
    assert m.passed is True


def test_deemed_majority_follows_a_non_approving_return_as_oppose():
    # returned: agree 50, oppose 50 -> exactly 1/2, not approved -> deemed heads oppose
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="oppose")]
    r = tally(_deemed_roster(), [ORDINARY], ballots, mode="deemed_majority",
              delivered_unit_ids=frozenset({3, 4, 5}), rules_allow_deemed=True)
    m = r.matter("hire_property_company")
    assert m.deemed_heads == 2
    assert m.participating_heads == 4
    assert m.agreeing_heads == 1
    assert m.approval_heads_fraction == "1/4"
    assert m.quorum_met is True
    assert m.approved is False


def test_deemed_majority_special_matter_uses_its_own_rule():
    # returned: 2 agree of 3 (2/3 < 3/4) -> not approved -> the deemed head opposes
    units = one_per_head(["50.00", "50.00", "50.00", "50.00"])
    ballots = [ballot(1, raise_maintenance_fund="agree"), ballot(2, raise_maintenance_fund="agree"),
               ballot(3, raise_maintenance_fund="oppose")]
    m = tally(units, [SPECIAL], ballots, mode="deemed_majority", delivered_unit_ids=frozenset({4}),
              rules_allow_deemed=True).matter("raise_maintenance_fund")
    assert m.deemed_heads == 1
    assert m.agreeing_heads == 2
    assert m.approval_heads_fraction == "1/2"
    assert m.approved is False


def test_deemed_majority_with_nobody_returning_passes_nothing():
    m = tally(_deemed_roster(), [ORDINARY], [], mode="deemed_majority",
              delivered_unit_ids=frozenset({1, 2, 3, 4, 5}), rules_allow_deemed=True
              ).matter("hire_property_company")
    assert m.deemed_heads == 4
    assert m.participating_heads == 4
    assert m.quorum_met is True
    assert m.agreeing_heads == 0
    assert m.approved is False
    assert m.passed is False


def test_deemed_majority_without_delivery_is_strict():
    ballots = [ballot(1, hire_property_company="agree"), ballot(2, hire_property_company="agree")]
    m = tally(_deemed_roster(), [ORDINARY], ballots, mode="deemed_majority",
              rules_allow_deemed=True).matter("hire_property_company")
    assert m.deemed_heads == 0
    assert m.participating_heads == 2
    assert m.quorum_met is False


def test_a_head_that_voted_is_never_deemed():
    ballots = [ballot(1, hire_property_company="oppose"), ballot(2, hire_property_company="agree")]
    m = tally(_deemed_roster(), [ORDINARY], ballots, mode="deemed_abstain",
              delivered_unit_ids=frozenset({1, 2}), rules_allow_deemed=True
              ).matter("hire_property_company")
    assert m.deemed_heads == 0
    assert m.participating_heads == 2


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("area", ["89.505", "0", "0.00", "-1.00", "NaN", "Infinity"])
def test_invalid_areas_are_refused(area: str):
    with pytest.raises(ValidationFailed) as exc:
        tally([unit(1, area, {1})], [ORDINARY], [])
    assert exc.value.code == "area_invalid"
    assert exc.value.details["unit_id"] == 1


def test_an_area_that_is_not_a_decimal_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        build_heads([RosterUnit(unit_id=1, area=89.5, area_source="registry",  # type: ignore[arg-type]
                                owner_ids=frozenset({1}))])
    assert exc.value.code == "area_invalid"


def test_trailing_zeros_are_still_hundredths():
    assert build_heads([unit(1, "89.500", {1}), unit(2, "0.1", {2})]) == [
        Head(key="owners:1", unit_ids=(1,), area=Decimal("89.50")),
        Head(key="owners:2", unit_ids=(2,), area=Decimal("0.10")),
    ]


@pytest.mark.parametrize(
    "units,matters,ballots,code",
    [
        ([unit(1, "50.00", set())], [ORDINARY], [], "roster_owner_missing"),
        ([unit(1, "50.00", {1}, source="guess")], [ORDINARY], [], "area_source_invalid"),
        ([unit(1, "50.00", {1}), unit(1, "50.00", {2})], [ORDINARY], [], "roster_unit_duplicate"),
        ([], [ORDINARY], [], "roster_empty"),
        ([unit(1, "50.00", {1})], [], [], "matters_empty"),
        ([unit(1, "50.00", {1})], [Matter(number=10, key="x")], [], "matter_number_invalid"),
        ([unit(1, "50.00", {1})], [Matter(number=0, key="x")], [], "matter_number_invalid"),
        ([unit(1, "50.00", {1})], [ORDINARY, Matter(number=9, key=ORDINARY.key)], [],
         "matter_key_duplicate"),
        ([unit(1, "50.00", {1})], [ORDINARY], [ballot(2, hire_property_company="agree")],
         "ballot_unit_unknown"),
        ([unit(1, "50.00", {1})], [ORDINARY], [ballot(1, other="agree")], "ballot_matter_unknown"),
        ([unit(1, "50.00", {1})], [ORDINARY], [ballot(1, hire_property_company="yes")],
         "ballot_choice_invalid"),
        ([unit(1, "50.00", {1})], [ORDINARY], [ballot(1, kind="sms", hire_property_company="agree")],
         "ballot_kind_invalid"),
    ],
)
def test_invalid_input_is_refused_with_a_stable_code(units, matters, ballots, code):
    with pytest.raises(TallyInputInvalid) as exc:
        tally(units, matters, ballots)
    assert exc.value.code == code
    assert exc.value.status == 422
    assert exc.value.message and not exc.value.message.isascii()


def test_delivery_to_an_unknown_unit_is_refused():
    with pytest.raises(TallyInputInvalid) as exc:
        tally([unit(1, "50.00", {1})], [ORDINARY], [], mode="deemed_abstain",
              delivered_unit_ids=frozenset({1, 99}), rules_allow_deemed=True)
    assert exc.value.code == "delivery_unit_unknown"
    assert exc.value.details == {"unit_ids": [99]}


# ---------------------------------------------------------------- display and JSON


@pytest.mark.parametrize(
    "n,d,expected",
    [(1827, 2000, "91.35%"), (2, 3, "66.67%"), (1, 3, "33.33%"), (2469, 20000, "12.35%"),
     (2467, 20000, "12.34%"), (0, 7, "0.00%"), (7, 7, "100.00%"), (1, 200000, "0.00%"),
     (1, 20000, "0.01%")],
)
def test_display_percent_rounds_half_up(n: int, d: int, expected: str):
    assert _percent_str(n, d) == expected


def test_to_dict_is_json_with_two_place_decimal_strings():
    units = [unit(1, "89.5", {1}), unit(2, "100.25", {2}), unit(3, "1827.00", {3}, dev=True)]
    ballots = [ballot(3, hire_property_company="agree"), ballot(1, kind="paper",
                                                                hire_property_company="oppose")]
    d = tally(units, [ORDINARY], ballots).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["total_area"] == "2016.75"
    assert d["total_heads"] == 3
    assert d["mode"] == "strict"
    m = d["matters"][0]
    assert m["matter_key"] == "hire_property_company"
    assert m["matter_number"] == 4
    assert m["special"] is False
    assert m["participating_area"] == "1916.50"
    assert m["agreeing_area"] == "1827.00"
    assert m["deemed_area"] == "0.00"
    assert m["fractions"] == {
        "participation_area": "7666/8067",
        "participation_heads": "2/3",
        "approval_area": "3654/3833",
        "approval_heads": "1/2",
    }
    assert m["percents"] == {
        "participation_area": "95.03%",
        "participation_heads": "66.67%",
        "approval_area": "95.33%",
        "approval_heads": "50.00%",
    }
    assert m["approved"] is False
    assert m["passed"] is False
    assert m["excluded_ballots"] == 0


@pytest.mark.parametrize("module", ["tally", "tally_input", "tally_figures"])
def test_no_binary_floating_point_in_the_module(module):
    # The Art. 278 tally and the two modules split from it (its inputs, its exact figures).
    import importlib

    mod = importlib.import_module(f"civic.voting.{module}")
    with open(mod.__file__, encoding="utf-8") as fh:
        assert "float" not in fh.read()


def test_building_breakdown_counts_a_head_spanning_two_buildings_in_each():
    from civic.voting.tally import building_breakdown, head_votes

    matters = [Matter(number=4, key="m")]
    # head 1 has a unit in each building (80.00 + 70.00); head 2 one unit in building 1 (50.00)
    cells = [("1号楼", 1, 1, 8000), ("2号楼", 1, 1, 7000), ("1号楼", 2, 1, 5000)]
    votes = head_votes(matters, [(1, 11, "agree")])
    out = {b["building"]: b for b in building_breakdown(matters, cells, votes)}
    b1, b2 = out["1号楼"], out["2号楼"]
    assert (b1["heads"], b2["heads"], b1["area"], b2["area"]) == (2, 1, "130.00", "70.00")
    assert (b1["matters"][0]["participating_heads"], b1["matters"][0]["participation_heads_fraction"],
            b1["matters"][0]["participation_area_fraction"], b2["matters"][0]["participation_heads_percent"]) == (
        1, "1/2", "8/13", "100.00%")


def test_conflicting_rows_of_one_head_in_the_trusted_path_are_refused():
    from civic.voting.tally import head_votes

    with pytest.raises(TallyInputInvalid) as err:
        head_votes([Matter(number=4, key="m")], [(7, 1, "agree"), (7, 2, "oppose")])
    assert (err.value.code, err.value.details["head_key"], err.value.details["unit_ids"]) == (
        "tally_conflicting_ballots", 7, [1, 2])
