"""What the tally counts, and its checks: the input types (:class:`RosterUnit`, :class:`Head`,
:class:`Matter`, :class:`BallotEntry`), the allowed choices, area sources and ballot kinds, the
error every check raises (:class:`TallyInputInvalid`), the checks of units, matters and ballots,
and :func:`build_heads` -- the roster grouped into heads.

Pure, like :mod:`civic.voting.tally` (which re-exports every public name here, and decides): no
database, no Flask.

Sources (RULES.md §1): SPC 法释〔2009〕7号 (amended 2020) Art. 8 (area: registry, else survey,
else contract) and Art. 9 (headcount: one exclusive part = one head; all developer-held units
together = one head; one buyer of several units = one head); Civil Code Art. 278 (the nine
matters; items 6-8 need the special majority).

Exactness: an area must be a whole number of hundredths of a m² and is held as that integer; no
binary (IEEE) arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from civic.core.errors import ValidationFailed
from civic.voting.tally_figures import _area_decimal

Choice = Literal["agree", "oppose", "abstain", "blank"]
AreaSource = Literal["registry", "survey", "contract"]
BallotKind = Literal["online", "paper", "proxy"]

CHOICES: frozenset[str] = frozenset({"agree", "oppose", "abstain", "blank"})
AREA_SOURCES: frozenset[str] = frozenset({"registry", "survey", "contract"})
BALLOT_KINDS: frozenset[str] = frozenset({"online", "paper", "proxy"})
#: Civil Code Art. 278 items that need ≥ 3/4 of participants: (6) raising the maintenance fund,
#: (7) rebuilding or reconstructing, (8) changing the use of common parts / using them commercially.
SPECIAL_ITEMS: frozenset[int] = frozenset({6, 7, 8})
#: The key of the one head formed by all developer-held units (SPC 法释〔2009〕7号 Art. 9).
DEVELOPER_HEAD_KEY = "developer"


class TallyInputInvalid(ValidationFailed):
    """The roster, matters or ballots handed to :func:`tally` break a counting rule.

    ``code`` says which rule (e.g. ``"tally_conflicting_ballots"``, ``"area_invalid"``,
    ``"counting_mode_not_enabled"``); ``details`` names the units, head or matter concerned.
    The tally never guesses: invalid input raises, it is not repaired.
    """

    default_code = "tally_input_invalid"
    default_message = "计票数据不符合规则，无法计票"


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterUnit:
    """One exclusive part (专有部分) on the frozen roster.

    :param unit_id: the unit's id.
    :param area: exclusive area in m², a :class:`~decimal.Decimal` that is a whole number of
        hundredths (``Decimal("89.50")``; ``Decimal("89.5")`` and ``Decimal("89.500")`` are the same
        value and accepted; ``Decimal("89.505")`` is refused), and > 0.
    :param area_source: ``"registry"``, ``"survey"`` or ``"contract"`` -- which area was used
        (SPC 法释〔2009〕7号 Art. 8: registry, else survey, else contract).  The choice is the
        roster's; the tally only checks the value and keeps it.
    :param owner_ids: the persons who own the unit; never empty.  Units with the identical set of
        owners form one head; overlapping but different sets are different heads.
    :param developer_held: the developer still holds it (unsold, or sold and not yet delivered to
        the buyer); all such units together form ONE head, whatever ``owner_ids`` say.
    """

    unit_id: int
    area: Decimal
    area_source: AreaSource
    owner_ids: frozenset[int]
    developer_held: bool = False


@dataclass(frozen=True)
class Head:
    """One owner for headcount purposes (业主人数中的一人), derived by :func:`build_heads`.

    :param key: stable key: ``"developer"`` for the developer-held units, otherwise
        ``"owners:<sorted person ids>"`` (e.g. ``"owners:7,12"``).
    :param unit_ids: the head's units, ascending.
    :param area: the sum of its units' areas (SPC 法释〔2009〕7号 Art. 8).
    """

    key: str
    unit_ids: tuple[int, ...]
    area: Decimal


@dataclass(frozen=True)
class Matter:
    """One matter put to the vote.

    :param number: the Civil Code Art. 278 item, 1-9.  Items 6, 7 and 8 are special (≥ 3/4).
    :param key: the matter's unique key in this vote; ballots refer to it.
    """

    number: int
    key: str

    @property
    def special(self) -> bool:
        return self.number in SPECIAL_ITEMS


@dataclass(frozen=True)
class BallotEntry:
    """One returned ballot as entered: per head for online voting, per unit for paper ballots.

    :param unit_id: a unit of the head that voted (any unit of the head: the tally maps it).
    :param choices: matter key -> ``"agree" | "oppose" | "abstain" | "blank"``.  ``"blank"`` is a
        returned blank or spoiled ballot: it participates.  A matter *absent* from the mapping means
        this entry says nothing on that matter (the head did not vote on it through this entry); the
        DB layer must write ``"blank"`` for a returned paper ballot left unmarked on a matter.
    :param kind: ``"online"``, ``"paper"`` or ``"proxy"`` (a proxy with a written authorisation
        votes as the owner instructs: 上海市住宅物业管理规定 Art. 18 -- it counts as the owner's).
    :param cast_by_owner: ``False`` for a ballot that is not an owner's, e.g. cast by the buyer of a
        sold-but-undelivered unit (not yet an owner).  Such entries are excluded and counted.
    """

    unit_id: int
    choices: Mapping[str, Choice]
    kind: BallotKind
    cast_by_owner: bool = True


# --------------------------------------------------------------------------------------------
# Validation and heads
# --------------------------------------------------------------------------------------------


def _area_hundredths(unit: RosterUnit) -> int:
    """The unit's area as integer hundredths of a m², or :class:`TallyInputInvalid` ``area_invalid``."""
    area = unit.area
    ok = isinstance(area, Decimal) and area.is_finite() and area > 0
    if ok:
        scaled = area.scaleb(2)
        ok = scaled == scaled.to_integral_value()
    if not ok:
        raise TallyInputInvalid(
            "专有部分面积无效：面积须为大于零、最多两位小数的十进制数（平方米）",
            code="area_invalid",
            details={"unit_id": unit.unit_id, "area": str(area)},
        )
    return int(scaled)


def _check_unit(unit: RosterUnit) -> None:
    if not isinstance(unit.unit_id, int) or isinstance(unit.unit_id, bool):
        raise TallyInputInvalid(
            "房屋编号无效", code="unit_id_invalid", details={"unit_id": repr(unit.unit_id)}
        )
    if unit.area_source not in AREA_SOURCES:
        raise TallyInputInvalid(
            "面积来源无效：须为不动产登记、测绘或合同面积之一",
            code="area_source_invalid",
            details={"unit_id": unit.unit_id, "area_source": unit.area_source,
                     "allowed": sorted(AREA_SOURCES)},
        )
    if not isinstance(unit.owner_ids, frozenset) or not unit.owner_ids:
        raise TallyInputInvalid(
            "业主名册中该房屋没有业主",
            code="roster_owner_missing",
            details={"unit_id": unit.unit_id},
        )


def _head_key(unit: RosterUnit) -> str:
    if unit.developer_held:
        return DEVELOPER_HEAD_KEY
    return "owners:" + ",".join(str(p) for p in sorted(unit.owner_ids))


def _group(units: Iterable[RosterUnit]) -> tuple[dict[str, list[int]], dict[str, int], dict[int, str], int]:
    """One pass over the roster: head key -> unit ids, head key -> area hundredths, unit -> head."""
    head_units: dict[str, list[int]] = {}
    head_area: dict[str, int] = {}
    unit_head: dict[int, str] = {}
    count = 0
    for unit in units:
        _check_unit(unit)
        hundredths = _area_hundredths(unit)
        if unit.unit_id in unit_head:
            raise TallyInputInvalid(
                "业主名册中房屋重复", code="roster_unit_duplicate", details={"unit_id": unit.unit_id}
            )
        key = _head_key(unit)
        unit_head[unit.unit_id] = key
        head_units.setdefault(key, []).append(unit.unit_id)
        head_area[key] = head_area.get(key, 0) + hundredths
        count += 1
    return head_units, head_area, unit_head, count


def build_heads(units: Iterable[RosterUnit]) -> list[Head]:
    """Group the roster into heads (SPC 法释〔2009〕7号 Arts. 8-9; RULES.md §1 "Counting").

    * all developer-held units (unsold, or sold and not yet delivered) are ONE head, ``"developer"``;
    * every other unit belongs to the head of its exact set of owners: co-owners of one unit are
      one head, one buyer of several units is one head, identical owner sets are one head, and
      overlapping but different sets (``{A}`` and ``{A, B}``) are different heads;
    * a head's area is the sum of its units' areas.

    Heads are returned ordered by their smallest unit id.  Raises :class:`TallyInputInvalid`
    (``area_invalid``, ``area_source_invalid``, ``roster_owner_missing``, ``roster_unit_duplicate``).
    """
    head_units, head_area, _, _ = _group(units)
    heads = [
        Head(key=key, unit_ids=tuple(sorted(ids)), area=_area_decimal(head_area[key]))
        for key, ids in head_units.items()
    ]
    heads.sort(key=lambda h: h.unit_ids[0])
    return heads


def _check_matters(matters: Iterable[Matter]) -> list[Matter]:
    out: list[Matter] = []
    seen: set[str] = set()
    for m in matters:
        if not isinstance(m.number, int) or isinstance(m.number, bool) or not 1 <= m.number <= 9:
            raise TallyInputInvalid(
                "表决事项编号无效：须为《民法典》第二百七十八条第一款第（一）至（九）项之一",
                code="matter_number_invalid",
                details={"matter_key": m.key, "number": repr(m.number)},
            )
        if m.key in seen:
            raise TallyInputInvalid(
                "表决事项重复", code="matter_key_duplicate", details={"matter_key": m.key}
            )
        seen.add(m.key)
        out.append(m)
    if not out:
        raise TallyInputInvalid("没有表决事项", code="matters_empty")
    return out


def _check_ballot(b: BallotEntry, unit_head: Mapping[int, str], matter_keys: set[str]) -> None:
    if b.unit_id not in unit_head:
        raise TallyInputInvalid(
            "选票对应的房屋不在业主名册中", code="ballot_unit_unknown", details={"unit_id": b.unit_id}
        )
    if b.kind not in BALLOT_KINDS:
        raise TallyInputInvalid(
            "选票类型无效",
            code="ballot_kind_invalid",
            details={"unit_id": b.unit_id, "kind": b.kind, "allowed": sorted(BALLOT_KINDS)},
        )
    if not isinstance(b.cast_by_owner, bool):
        raise TallyInputInvalid(
            "选票的投票人身份标记无效", code="ballot_owner_flag_invalid", details={"unit_id": b.unit_id}
        )
    if not isinstance(b.choices, Mapping):
        raise TallyInputInvalid(
            "选票内容无效", code="ballot_choices_invalid", details={"unit_id": b.unit_id}
        )
    for key, choice in b.choices.items():
        if key not in matter_keys:
            raise TallyInputInvalid(
                "选票包含不属于本次表决的事项",
                code="ballot_matter_unknown",
                details={"unit_id": b.unit_id, "matter_key": key},
            )
        if choice not in CHOICES:
            raise TallyInputInvalid(
                "选票选项无效：须为同意、反对、弃权或空白/无效票",
                code="ballot_choice_invalid",
                details={"unit_id": b.unit_id, "matter_key": key, "choice": repr(choice),
                         "allowed": sorted(CHOICES)},
            )
