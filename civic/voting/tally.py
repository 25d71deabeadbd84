"""The tally of an owners' vote (业主共同决定事项的计票).

A pure function: no database, no Flask.  The DB layer freezes the roster (业主名册) and the
ballots (选票) and hands them here as frozen dataclasses; :func:`tally` returns, for each matter
(表决事项), the exact result.

Sources (see ``/work/shared/RULES.md`` §1):

* PRC Civil Code Art. 278 -- the nine matters, the quorum (参与表决 ≥ 2/3 of area and of
  headcount), the special majority (≥ 3/4 of participants) for items 6-8 and the ordinary majority
  (过半数, strictly more than 1/2 of participants) for the others.
* Civil Code Art. 1259 -- "以上" includes the boundary, so exactly 2/3 or 3/4 is enough;
  "过半数" does not, so exactly 1/2 fails.
* SPC interpretation on building distinguished ownership, 法释〔2009〕7号 (amended 2020),
  Art. 8 (area: registry, else survey, else contract; totals over the whole roster) and Art. 9
  (headcount: one exclusive part = one head; all developer-held units together = one head; one
  buyer of several units = one head).
* 上海市住宅物业管理规定 Arts. 16, 18, 69 -- certified roster, written voting and proxies, votes
  scoped to part of the common parts (pass the sub-roster as ``units``: the same thresholds apply).

Exactness: every area is held as an integer number of hundredths of a m²; every decision is a
cross-multiplication on integers (``3·P ≥ 2·T``, ``4·Y ≥ 3·P``, ``2·Y > P``).  Fractions are
reported as exact rationals in lowest terms (``"1827/2000"``); the percentage strings are for
display only and are never used to decide anything.  No binary (IEEE) arithmetic is used anywhere.

Complexity: linear.  The unit→head map is built once; each ballot entry is read once; each head
is visited once per matter: O(units + ballots·matters + heads·matters).

Layout: this module decides (the counting and the thresholds, :func:`tally` and the trusted
:func:`tally_frozen` with :func:`head_votes`) and holds the results (:class:`TallyResult`,
:class:`MatterResult`).  The input types, their checks and :func:`build_heads` are in
:mod:`civic.voting.tally_input`; how figures are written (exact fractions, percentages, areas) and
:func:`building_breakdown` in :mod:`civic.voting.tally_figures`.  Both are re-exported here, so
``from civic.voting import tally`` / ``tally.<name>`` reach every public name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from civic.voting.tally_figures import (
    _area_decimal,
    _fraction_str,
    _percent_str,
    area_from_hundredths,
    building_breakdown,
    share,
)
from civic.voting.tally_input import (
    AREA_SOURCES,
    BALLOT_KINDS,
    CHOICES,
    DEVELOPER_HEAD_KEY,
    SPECIAL_ITEMS,
    BallotEntry,
    Choice,
    Head,
    Matter,
    RosterUnit,
    TallyInputInvalid,
    _check_ballot,
    _check_matters,
    _group,
    build_heads,
)

__all__ = [
    "AREA_SOURCES",
    "BALLOT_KINDS",
    "CHOICES",
    "COUNTING_MODES",
    "DEVELOPER_HEAD_KEY",
    "SPECIAL_ITEMS",
    "BallotEntry",
    "Choice",
    "CountingMode",
    "Head",
    "Matter",
    "MatterResult",
    "RosterUnit",
    "TallyInputInvalid",
    "TallyResult",
    "FrozenRoster",
    "build_heads",
    "tally",
    "building_breakdown",
    "head_votes",
    "tally_frozen",
    "area_from_hundredths",
    "share",
]

CountingMode = Literal["strict", "deemed_abstain", "deemed_majority"]

COUNTING_MODES: frozenset[str] = frozenset({"strict", "deemed_abstain", "deemed_majority"})


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatterResult:
    """The exact result for one matter.

    Areas are in m² (Decimal, two places); heads are integers.  ``participation_*`` fractions are
    participants over all owners; ``approval_*`` fractions are agreeing participants over
    participants and are ``None`` when nobody participated (no division by zero).
    """

    matter_key: str
    matter_number: int
    special: bool
    mode: str
    approval_rule: str  # ">1/2" (过半数) or ">=3/4" (四分之三以上)
    total_area: Decimal
    total_heads: int
    participating_area: Decimal
    participating_heads: int
    agreeing_area: Decimal
    agreeing_heads: int
    deemed_heads: int
    deemed_area: Decimal
    participation_area_fraction: str
    participation_heads_fraction: str
    approval_area_fraction: str | None
    approval_heads_fraction: str | None
    participation_area_percent: str
    participation_heads_percent: str
    approval_area_percent: str | None
    approval_heads_percent: str | None
    quorum_area_met: bool
    quorum_heads_met: bool
    quorum_met: bool
    approval_area_met: bool
    approval_heads_met: bool
    approved: bool
    passed: bool
    excluded_ballots: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "matter_key": self.matter_key,
            "matter_number": self.matter_number,
            "special": self.special,
            "mode": self.mode,
            "approval_rule": self.approval_rule,
            "total_area": f"{self.total_area:.2f}",
            "total_heads": self.total_heads,
            "participating_area": f"{self.participating_area:.2f}",
            "participating_heads": self.participating_heads,
            "agreeing_area": f"{self.agreeing_area:.2f}",
            "agreeing_heads": self.agreeing_heads,
            "deemed_heads": self.deemed_heads,
            "deemed_area": f"{self.deemed_area:.2f}",
            "fractions": {
                "participation_area": self.participation_area_fraction,
                "participation_heads": self.participation_heads_fraction,
                "approval_area": self.approval_area_fraction,
                "approval_heads": self.approval_heads_fraction,
            },
            "percents": {
                "participation_area": self.participation_area_percent,
                "participation_heads": self.participation_heads_percent,
                "approval_area": self.approval_area_percent,
                "approval_heads": self.approval_heads_percent,
            },
            "quorum_area_met": self.quorum_area_met,
            "quorum_heads_met": self.quorum_heads_met,
            "quorum_met": self.quorum_met,
            "approval_area_met": self.approval_area_met,
            "approval_heads_met": self.approval_heads_met,
            "approved": self.approved,
            "passed": self.passed,
            "excluded_ballots": self.excluded_ballots,
        }


@dataclass(frozen=True)
class TallyResult:
    """The whole tally: roster totals, the counting mode, and one :class:`MatterResult` per matter.

    ``excluded_ballots`` counts the entries with ``cast_by_owner=False`` (each matter's result also
    counts those of them that carried a choice on that matter).
    """

    mode: str
    total_units: int
    total_area: Decimal
    total_heads: int
    excluded_ballots: int
    matters: tuple[MatterResult, ...] = field(default_factory=tuple)

    def matter(self, key: str) -> MatterResult:
        for m in self.matters:
            if m.matter_key == key:
                return m
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "total_units": self.total_units,
            "total_area": f"{self.total_area:.2f}",
            "total_heads": self.total_heads,
            "excluded_ballots": self.excluded_ballots,
            "matters": [m.to_dict() for m in self.matters],
        }


# --------------------------------------------------------------------------------------------
# The tally
# --------------------------------------------------------------------------------------------


def _approves(special: bool, yes: int, part: int) -> bool:
    """Approval on one measure (area hundredths or heads), by cross-multiplication.

    Special (items 6-8): ``4·Y ≥ 3·P`` (四分之三以上, boundary included, Civil Code Art. 1259).
    Ordinary: ``2·Y > P`` (过半数, strictly).  ``P = 0`` never approves.
    """
    if part == 0:
        return False
    return 4 * yes >= 3 * part if special else 2 * yes > part


def _check_mode(mode: str, rules_allow_deemed: bool) -> None:
    if mode not in COUNTING_MODES:
        raise TallyInputInvalid(
            "计票方式无效",
            code="counting_mode_invalid",
            details={"mode": mode, "allowed": sorted(COUNTING_MODES)},
        )
    if mode != "strict" and not rules_allow_deemed:
        raise TallyInputInvalid(
            "本次表决的议事规则未规定未投票视为弃权或视为随多数，不能采用该计票方式",
            code="counting_mode_not_enabled",
            details={"mode": mode},
        )


def _conflict_error(
    conflicts: set[tuple[str, str]],
    owner_ballots: list[BallotEntry],
    unit_head: Mapping[int, str],
    head_units: Mapping[str, list[int]],
) -> TallyInputInvalid:
    """Build the ``tally_conflicting_ballots`` error naming every conflicting head (sorted)."""
    listed = []
    for head_key, matter_key in sorted(conflicts):
        entries = sorted(
            (
                {"unit_id": b.unit_id, "kind": b.kind, "choice": b.choices[matter_key]}
                for b in owner_ballots
                if unit_head[b.unit_id] == head_key and matter_key in b.choices
            ),
            key=lambda e: (e["unit_id"], e["kind"], e["choice"]),
        )
        listed.append({
            "head_key": head_key,
            "unit_ids": sorted(head_units[head_key]),
            "matter_key": matter_key,
            "entries": entries,
        })
    first = listed[0]
    return TallyInputInvalid(
        f"同一业主（{first['head_key']}，房屋 {', '.join(map(str, first['unit_ids']))}）"
        f"对表决事项「{first['matter_key']}」的选票不一致，无法计票，请核实后重新录入",
        code="tally_conflicting_ballots",
        details={
            "head_key": first["head_key"],
            "unit_ids": first["unit_ids"],
            "matter_key": first["matter_key"],
            "entries": first["entries"],
            "conflicts": listed,
        },
    )

def tally(
    units: Iterable[RosterUnit],
    matters: Iterable[Matter],
    ballots: Iterable[BallotEntry],
    *,
    mode: CountingMode = "strict",
    delivered_unit_ids: frozenset[int] | set[int] = frozenset(),
    rules_allow_deemed: bool = False,
) -> TallyResult:
    """Tally an owners' vote (Civil Code Art. 278; RULES.md §1).

    Per matter: T = all heads of the roster, P = heads that participated, Y = participants that
    agreed, each measured by exclusive area and by headcount; both measures must hold.

    * quorum: ``area(P)/area(T) ≥ 2/3`` and ``heads(P)/heads(T) ≥ 2/3`` (以上 includes the
      boundary, Civil Code Art. 1259);
    * approval, special items 6-8: ``area(Y)/area(P) ≥ 3/4`` and ``heads(Y)/heads(P) ≥ 3/4``;
    * approval, ordinary items: ``area(Y)/area(P) > 1/2`` and ``heads(Y)/heads(P) > 1/2``
      (过半数: exactly 1/2 fails);
    * ``passed = quorum_met and approved``.  The approval denominator is the participants.  With
      no participant the matter is not quorate, not approved, and the approval fractions are
      ``None``.

    Heads follow :func:`build_heads` (SPC 法释〔2009〕7号 Arts. 8-9).  Ballots:

    * entries with ``cast_by_owner=False`` (e.g. from the buyer of a sold-but-undelivered unit, not
      yet an owner) are excluded and counted in ``excluded_ballots``;
    * each entry is mapped to the head of its unit; one vote per head per matter: entries of one
      head that give the same choice on a matter count once, entries that give different choices
      raise :class:`TallyInputInvalid` ``tally_conflicting_ballots`` naming the head, its units and
      the matter -- the tally does not guess;
    * a head that voted on a matter participates with its whole area; agree, oppose, abstain and
      blank/spoiled all participate; only agree counts toward approval.

    Counting modes for heads that returned no vote on a matter (RULES.md §1 "Unreturned ballots"):

    * ``"strict"`` (default; the text of Art. 278): not returned = not participating.
    * ``"deemed_abstain"``: such a head participates as an abstention.
    * ``"deemed_majority"``: such a head participates and follows the returned majority.  Reading
      chosen: the deemed heads follow the *decision the returned votes alone reach on that matter*
      under that matter's own approval rule (both area and headcount, 3/4 or 过半数): if the returned
      votes alone approve, each deemed head counts as agree; otherwise (including when nobody
      returned a vote) each counts as oppose.  This protects owners' rights: silence can help reach
      the quorum but can never change the approval decision of the owners who actually voted --
      adding agreeing heads to an approving side keeps it approving, adding opposing heads to a
      non-approving side keeps it non-approving -- and it never turns silence into consent for a
      matter the voters themselves did not approve.  (A "plurality choice" reading would let silent
      owners carry a matter that voters approved only by plurality, which we reject.)

    The two deemed modes need ``rules_allow_deemed=True`` (the vote's rules of procedure enable
    them), else :class:`TallyInputInvalid` ``counting_mode_not_enabled``; and they apply only to
    heads ALL of whose units are in ``delivered_unit_ids`` (units whose ballot/notice delivery is
    recorded -- not the hand-over of a sold unit); other non-returning heads do not participate.

    Scoped votes (上海市住宅物业管理规定 Art. 69): pass the sub-roster of the owners of that part.

    Raises :class:`TallyInputInvalid` (a :class:`~civic.core.errors.ValidationFailed`, HTTP 422)
    for any invalid input; codes: ``area_invalid``, ``area_source_invalid``,
    ``roster_owner_missing``, ``roster_unit_duplicate``, ``roster_empty``, ``unit_id_invalid``,
    ``matter_number_invalid``, ``matter_key_duplicate``, ``matters_empty``, ``ballot_unit_unknown``,
    ``ballot_kind_invalid``, ``ballot_owner_flag_invalid``, ``ballot_choices_invalid``,
    ``ballot_matter_unknown``, ``ballot_choice_invalid``, ``delivery_unit_unknown``,
    ``counting_mode_invalid``, ``counting_mode_not_enabled``, ``tally_conflicting_ballots``.
    """
    _check_mode(mode, rules_allow_deemed)

    head_units, head_area, unit_head, unit_count = _group(units)
    if unit_count == 0:
        raise TallyInputInvalid("业主名册为空，无法计票", code="roster_empty")

    matter_list = _check_matters(matters)
    matter_keys = {m.key for m in matter_list}

    unknown_delivered = sorted(u for u in delivered_unit_ids if u not in unit_head)
    if unknown_delivered:
        raise TallyInputInvalid(
            "送达记录中的房屋不在业主名册中",
            code="delivery_unit_unknown",
            details={"unit_ids": unknown_delivered},
        )

    # One pass over the ballots: head -> matter -> choice.
    votes: dict[str, dict[str, str]] = {}
    excluded = 0
    excluded_per_matter: dict[str, int] = dict.fromkeys(matter_keys, 0)
    owner_ballots: list[BallotEntry] = []
    conflicts: set[tuple[str, str]] = set()
    for b in ballots:
        _check_ballot(b, unit_head, matter_keys)
        if not b.cast_by_owner:
            excluded += 1
            for key in b.choices:
                excluded_per_matter[key] += 1
            continue
        owner_ballots.append(b)
        head_key = unit_head[b.unit_id]
        head_votes = votes.setdefault(head_key, {})
        for key, choice in b.choices.items():
            previous = head_votes.setdefault(key, choice)
            if previous != choice:
                conflicts.add((head_key, key))
    if conflicts:
        raise _conflict_error(conflicts, owner_ballots, unit_head, head_units)

    # Heads that may be deemed (deemed modes only): every unit's delivery is recorded.
    deemable: list[str] = []
    if mode != "strict":
        delivered = frozenset(delivered_unit_ids)
        deemable = [k for k, ids in head_units.items() if all(u in delivered for u in ids)]

    positional = {k: [hv.get(m.key) for m in matter_list] for k, hv in votes.items()}
    return _count(head_area, unit_count, matter_list, positional, deemable, mode,
                  excluded, [excluded_per_matter[m.key] for m in matter_list])


def _count(
    head_area: Mapping[Any, int],
    unit_count: int,
    matter_list: list[Matter],
    votes: Mapping[Any, list[str | None]],
    deemable: Iterable[Any],
    mode: str,
    excluded: int,
    excluded_per_matter: list[int],
) -> TallyResult:
    """The counting itself, on checked input: head -> area in hundredths; head -> one choice (or
    ``None``) per matter, in ``matter_list`` order.  Shared by :func:`tally` and
    :func:`tally_frozen`, so both decide by the same code."""
    total_area = sum(head_area.values())
    total_heads = len(head_area)
    deemable = list(deemable)
    results = []
    voted = [(head_area[k], hv) for k, hv in votes.items()]  # (area, choices) of each head that voted
    for j, m in enumerate(matter_list):
        special = m.special
        part = [(area, hv[j]) for area, hv in voted if hv[j] is not None]
        yes = [area for area, choice in part if choice == "agree"]
        part_heads, yes_heads = len(part), len(yes)
        part_area = sum(area for area, _ in part)
        yes_area = sum(yes)

        deemed_heads = deemed_area = 0
        if mode != "strict":
            for head_key in deemable:
                hv = votes.get(head_key)
                if hv is None or hv[j] is None:
                    deemed_heads += 1
                    deemed_area += head_area[head_key]
            if mode == "deemed_majority":
                returned_approve = _approves(special, yes_area, part_area) and _approves(
                    special, yes_heads, part_heads
                )
                if returned_approve:
                    yes_area += deemed_area
                    yes_heads += deemed_heads
            part_area += deemed_area
            part_heads += deemed_heads

        quorum_area = 3 * part_area >= 2 * total_area
        quorum_heads = 3 * part_heads >= 2 * total_heads
        approval_area = _approves(special, yes_area, part_area)
        approval_heads = _approves(special, yes_heads, part_heads)
        quorum = quorum_area and quorum_heads
        approved = approval_area and approval_heads
        results.append(
            MatterResult(
                matter_key=m.key,
                matter_number=m.number,
                special=special,
                mode=mode,
                approval_rule=">=3/4" if special else ">1/2",
                total_area=_area_decimal(total_area),
                total_heads=total_heads,
                participating_area=_area_decimal(part_area),
                participating_heads=part_heads,
                agreeing_area=_area_decimal(yes_area),
                agreeing_heads=yes_heads,
                deemed_heads=deemed_heads,
                deemed_area=_area_decimal(deemed_area),
                participation_area_fraction=_fraction_str(part_area, total_area),
                participation_heads_fraction=_fraction_str(part_heads, total_heads),
                # no participant: no approval ratio (None), not a division by zero
                approval_area_fraction=_fraction_str(yes_area, part_area) if part_heads else None,
                approval_heads_fraction=_fraction_str(yes_heads, part_heads) if part_heads else None,
                participation_area_percent=_percent_str(part_area, total_area),
                participation_heads_percent=_percent_str(part_heads, total_heads),
                approval_area_percent=_percent_str(yes_area, part_area) if part_heads else None,
                approval_heads_percent=_percent_str(yes_heads, part_heads) if part_heads else None,
                quorum_area_met=quorum_area,
                quorum_heads_met=quorum_heads,
                quorum_met=quorum,
                approval_area_met=approval_area,
                approval_heads_met=approval_heads,
                approved=approved,
                passed=quorum and approved,
                excluded_ballots=excluded_per_matter[j],
            )
        )

    return TallyResult(
        mode=mode,
        total_units=unit_count,
        total_area=_area_decimal(total_area),
        total_heads=total_heads,
        excluded_ballots=excluded,
        matters=tuple(results),
    )


# --------------------------------------------------------------------------------------------
# The trusted entry point: a roster frozen (and validated) when the vote opened
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrozenRoster:
    """A roster already grouped into heads and validated, as frozen when the vote opened.

    :param head_area: head key (the DB layer uses the frozen head's id) -> the head's exclusive
        area in integer hundredths of a m² (> 0; the sum of its units' areas, SPC Art. 8).
    :param unit_count: the number of units on the frozen roster.

    Trust: nothing here is re-checked.  Build it only from heads that went through
    :func:`build_heads` (the DB layer does so once, at freeze time: ``service.electorate._freeze``), never
    from user input; untrusted input goes through :func:`tally`.
    """

    head_area: Mapping[Any, int]
    unit_count: int


def head_votes(matters: Iterable[Matter], rows: Iterable[tuple]) -> dict[Any, list[str | None]]:
    """Merge the returned ballot entries into one vote per head per matter (RULES.md §1: one ballot
    per head per matter; paper ballots returned per unit that disagree within one head make the
    input invalid).

    :param rows: one row per owner's ballot entry, ``(head_key, unit_id, c_1, ..., c_n)``, the
        choices positional in ``matters`` order, ``None`` where the entry says nothing on that
        matter.  Rows of one head that give the same choice count once.
    :returns: head key -> ``[choice or None]`` in ``matters`` order.
    :raises TallyInputInvalid: ``ballot_choice_invalid`` (a choice outside the four),
        ``tally_conflicting_ballots`` (naming the head, the entries' units and the matter), the
        matter codes of :func:`tally`.
    """
    matter_list = _check_matters(matters)
    n = len(matter_list)
    votes: dict[Any, list[str | None]] = {}
    several: dict[Any, list[tuple]] = {}  # the rows of heads with more than one entry
    firsts: dict[Any, tuple] = {}
    conflicts: set[tuple[Any, str]] = set()
    seen: set = set()
    for row in rows:
        head = row[0]
        choices = row[2:]
        seen.update(choices)
        previous = votes.get(head)
        if previous is None:
            votes[head] = list(choices)
            firsts[head] = row
            continue
        several.setdefault(head, [firsts[head]]).append(row)
        for j in range(n):
            c = choices[j]
            if c is None:
                continue
            p = previous[j]
            if p is None:
                previous[j] = c
            elif p != c:
                conflicts.add((head, matter_list[j].key))
    seen.discard(None)
    if not seen <= CHOICES:
        raise TallyInputInvalid(
            "选票选项无效：须为同意、反对、弃权或空白/无效票",
            code="ballot_choice_invalid",
            details={"choices": sorted(map(repr, seen - CHOICES)), "allowed": sorted(CHOICES)},
        )
    if conflicts:
        listed = []
        for head, key in sorted(conflicts, key=lambda c: (str(c[0]), c[1])):
            j = next(i for i, m in enumerate(matter_list) if m.key == key)
            entries = sorted(({"unit_id": r[1], "choice": r[2 + j]} for r in several[head] if r[2 + j] is not None),
                             key=lambda e: (e["unit_id"], e["choice"]))
            listed.append({"head_key": head, "unit_ids": sorted({e["unit_id"] for e in entries}),
                           "matter_key": key, "entries": entries})
        first = listed[0]
        raise TallyInputInvalid(
            f"同一业主（{first['head_key']}，房屋 {', '.join(map(str, first['unit_ids']))}）"
            f"对表决事项「{first['matter_key']}」的选票不一致，无法计票，请核实后重新录入",
            code="tally_conflicting_ballots",
            details={**first, "conflicts": listed},
        )
    return votes


def tally_frozen(
    roster: FrozenRoster,
    matters: Iterable[Matter],
    votes: Mapping[Any, list[str | None]],
    *,
    mode: CountingMode = "strict",
    deemable_heads: Iterable[Any] = (),
    rules_allow_deemed: bool = False,
) -> TallyResult:
    """Tally a vote over a frozen, already validated roster: the DB path's lean entry point.

    Same rules, same counting code (``_count``) and the same result as :func:`tally` (Civil Code
    Art. 278, Art. 1259; SPC 法释〔2009〕7号 Arts. 8-9; RULES.md §1) -- but the roster is not
    re-validated or regrouped: it was validated once by :func:`build_heads` when the vote opened.

    :param votes: from :func:`head_votes` (one choice or ``None`` per matter, per head).
    :param deemable_heads: the heads all of whose units have a recorded delivery (deemed modes).
    :raises TallyInputInvalid: ``counting_mode_invalid``, ``counting_mode_not_enabled``,
        ``roster_empty``, the matter codes of :func:`tally`, ``ballot_unit_unknown`` (a vote of a
        head not on the roster).
    """
    _check_mode(mode, rules_allow_deemed)
    if not roster.head_area:
        raise TallyInputInvalid("业主名册为空，无法计票", code="roster_empty")
    matter_list = _check_matters(matters)
    head_area = roster.head_area
    unknown = [h for h in votes if h not in head_area]
    if unknown:
        raise TallyInputInvalid(
            "选票对应的业主不在业主名册中", code="ballot_unit_unknown",
            details={"head_keys": sorted(map(str, unknown))[:100]},
        )
    return _count(head_area, roster.unit_count, matter_list, votes,
                  deemable_heads if mode != "strict" else (), mode, 0, [0] * len(matter_list))
