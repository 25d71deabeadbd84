"""Rules of procedure as data: exact fractions, the tally under each base and abstention reading, and
versioned rule-sets (RULES.md §4)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from civic.core.db import commit
from civic.core.errors import ValidationFailed
from civic.proposals.deliberation import service as svc
from civic.proposals.deliberation.models import RuleSet


def rules(**kw) -> RuleSet:
    return RuleSet(version=1, **{**svc.DEFAULT_RULES, **kw})


def test_half_of_those_present_fails_the_default_more_than_half():
    r = svc.tally(svc.Count(agree=3, oppose=3, abstain=0, present=6, members=7), rules())
    assert r == {"agree": 3, "oppose": 3, "abstain": 0, "base": 6, "fraction": "1/2", "threshold": ">1/2",
                 "passed": False, "rule_set_version": 1}


def test_half_passes_an_inclusive_threshold():
    r = svc.tally(svc.Count(3, 3, 0, 6, 7), rules(majority_strict=False))
    assert (r["fraction"], r["threshold"], r["passed"]) == ("1/2", ">=1/2", True)


def test_abstentions_count_as_present_but_not_for():
    r = svc.tally(svc.Count(3, 1, 2, 6, 6), rules())
    assert (r["base"], r["fraction"], r["passed"]) == (6, "1/2", False)


def test_abstentions_excluded_from_the_base():
    r = svc.tally(svc.Count(3, 1, 2, 6, 6), rules(abstentions="excluded"))
    assert (r["base"], r["fraction"], r["passed"]) == (4, "3/4", True)


def test_base_of_all_members():
    r = svc.tally(svc.Count(4, 0, 0, 5, 9), rules(majority_base="members"))
    assert (r["base"], r["fraction"], r["passed"]) == (9, "4/9", False)


def test_two_thirds_threshold_is_exact():
    r = svc.tally(svc.Count(4, 2, 0, 6, 6), rules(majority="2/3", majority_strict=False))
    assert (r["fraction"], r["threshold"], r["passed"]) == ("2/3", ">=2/3", True)


def test_quorum_more_than_half_of_members():
    assert svc.quorum(3, 6, rules()) == {"present": 3, "members": 6, "fraction": "1/2", "threshold": ">1/2",
                                         "met": False}
    assert svc.quorum(4, 6, rules())["met"] is True


@pytest.mark.parametrize("bad", ["0.5", "3/2", "0", "abc", "1/0"])
def test_fractions_refuse_floats_and_out_of_range(bad):
    with pytest.raises(ValidationFailed) as e:
        svc.parse_fraction(bad, "majority")
    assert e.value.code == "fraction_invalid"


def test_parse_fraction_is_exact():
    assert svc.parse_fraction("2/4", "majority") == Fraction(1, 2)


def test_new_rule_set_version_keeps_unchanged_values(world):
    rs, _created = svc.add_rule_set(world.head, world.committee.id, {"majority": "2/3", "majority_strict": False})
    commit()
    assert (rs.version, rs.majority, rs.majority_strict, rs.cosign_required, rs.quorum) == (2, "2/3", False, 3, "1/2")
    assert svc.current_rules(world.committee.id).version == 2


def test_rules_over_http_refuse_a_float(world):
    r = world.client.post(f"/api/v1/committees/{world.committee.id}/rules", json={"majority": "0.5"},
                          headers=world.h(world.head))
    assert r.status_code == 422 and r.json["error"]["code"] == "fraction_invalid"
