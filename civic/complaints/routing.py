"""The routing table: category → lead party kind, assisting kinds, deadlines, and who may see the
complainant.  Data per district, defaults from ``data/routing.json`` (RULES.md §3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import sqlalchemy as sa

from civic.complaints.models import RoutingRule
from civic.core import audit
from civic.core.errors import ValidationFailed
from civic.extensions import db
from civic.property.models import SIX_PARTIES

UNITS = ("hours", "working_days")
#: The village bodies (GLOSSARY: 村委会 ``village_committee``, 村务监督委员会 ``village_supervision``):
#: in a village the villagers' committee plays the residents' committee's part (it triages and is
#: the fallback lead), so the routing table may let it see the villager who complained.
VILLAGE_BODIES = ("village_committee", "village_supervision")
#: Who the routing table may let see the complainant: the six parties and the village bodies.
REVEAL_KINDS = SIX_PARTIES + VILLAGE_BODIES
#: Who may lead a case rerouted by hand: the six parties, and in a village its villagers' committee
#: (the residents' committee's counterpart, already the fallback lead there).
LEAD_KINDS = SIX_PARTIES + ("village_committee",)


@dataclass(frozen=True)
class Rule:
    category: str
    lead_kind: str
    assist_kinds: tuple[str, ...]
    acknowledge: tuple[int, str]
    resolve: tuple[int, str]
    reveal_kinds: tuple[str, ...]
    complained_kind: str | None = None
    referrals: tuple[str, ...] = ()
    urgent_acknowledge_hours: int | None = None
    district_id: int | None = None
    source: str = "file"  # file | default | district

    def may_reveal(self, org_kind: str) -> bool:
        """Whether a party of ``org_kind`` may see the complainant (masked by default).  Never the
        party complained about (RULES.md §5)."""
        return org_kind in self.reveal_kinds and org_kind != self.complained_kind

    def as_dict(self) -> dict:
        return {"category": self.category, "district_id": self.district_id, "lead_kind": self.lead_kind,
                "assist_kinds": list(self.assist_kinds),
                "acknowledge": {"amount": self.acknowledge[0], "unit": self.acknowledge[1]},
                "urgent_acknowledge_hours": self.urgent_acknowledge_hours,
                "resolve": {"amount": self.resolve[0], "unit": self.resolve[1]},
                "reveal_kinds": list(self.reveal_kinds), "complained_kind": self.complained_kind,
                "referrals": list(self.referrals), "source": self.source}


@cache
def defaults_file() -> dict:
    text = resources.files("civic.complaints").joinpath("data/routing.json").read_text(encoding="utf-8")
    return json.loads(text)


def authority_name(code: str) -> str:
    return defaults_file()["authorities"].get(code, code)


def categories() -> tuple[str, ...]:
    return tuple(defaults_file()["rules"])


def _from_file(category: str) -> Rule:
    r = defaults_file()["rules"][category]
    return Rule(category=category, lead_kind=r["lead_kind"], assist_kinds=tuple(r["assist_kinds"]),
                acknowledge=tuple(r["acknowledge"]), resolve=tuple(r["resolve"]),
                reveal_kinds=tuple(r["reveal_kinds"]), complained_kind=r.get("complained_kind"),
                referrals=tuple(r.get("referrals", ())),
                urgent_acknowledge_hours=r.get("urgent_acknowledge_hours"))


def _from_row(row: RoutingRule, source: str) -> Rule:
    return Rule(category=row.category, lead_kind=row.lead_kind, assist_kinds=tuple(row.assist_kinds),
                acknowledge=(row.acknowledge_amount, row.acknowledge_unit),
                resolve=(row.resolve_amount, row.resolve_unit), reveal_kinds=tuple(row.reveal_kinds),
                complained_kind=row.complained_kind, referrals=tuple(row.referrals),
                urgent_acknowledge_hours=row.urgent_acknowledge_hours, district_id=row.district_id,
                source=source)


def rule_for(district_id: int | None, category: str) -> Rule:
    """The rule in force: the district's own row, else the default row, else the data file."""
    rows = db.session.scalars(
        sa.select(RoutingRule).where(
            RoutingRule.category == category,
            sa.or_(RoutingRule.district_id == district_id, RoutingRule.district_id.is_(None)),
        )
    ).all()
    own = [r for r in rows if r.district_id is not None and r.district_id == district_id]
    if own:
        return _from_row(own[0], "district")
    default = [r for r in rows if r.district_id is None]
    if default:
        return _from_row(default[0], "default")
    return _from_file(category)


def _validate(category: str, data: dict) -> dict:
    errors = {}
    if category not in categories():
        raise ValidationFailed("未知的案件类别", code="category_unknown", details={"category": category})
    if data["lead_kind"] not in SIX_PARTIES:
        errors["lead_kind"] = "主办方须为六方之一"
    bad = [k for k in data.get("assist_kinds", []) if k not in SIX_PARTIES]
    if bad:
        errors["assist_kinds"] = f"协办方须为六方之一，未知的组织类型：{', '.join(bad)}"
    bad = [k for k in data.get("reveal_kinds", []) if k not in REVEAL_KINDS]
    if bad:
        errors["reveal_kinds"] = f"可查看投诉人的须为六方或村民委员会、村务监督委员会，未知的组织类型：{', '.join(bad)}"
    for key in ("acknowledge", "resolve"):
        amount, unit = data[key]["amount"], data[key]["unit"]
        if unit not in UNITS or not (0 < amount <= 365):
            errors[key] = "时限须为 1-365 的 hours 或 working_days"
    if data.get("complained_kind") and data["complained_kind"] in data.get("reveal_kinds", []):
        errors["reveal_kinds"] = "被投诉方不得查看投诉人信息"
    if errors:
        raise ValidationFailed("分派规则无效", code="routing_rule_invalid", details={"fields": errors})
    return data


def set_rule(district_id: int | None, category: str, data: dict, *, actor) -> Rule:
    """Create or replace the rule for (district, category).  ``district_id`` None = the default.

    ``data``: lead_kind, assist_kinds (the six parties), acknowledge {amount, unit}, resolve
    {amount, unit}, urgent_acknowledge_hours, reveal_kinds (who may see the complainant: the six
    parties or a village body, :data:`REVEAL_KINDS`), complained_kind, referrals.
    :raises ValidationFailed: ``routing_rule_invalid``, ``category_unknown``, ``district_invalid``
        (the place is not a district).  :raises NotFound: ``place_not_found``.
    """
    data = _validate(category, data)
    if district_id is not None:
        from civic.property import service as registry

        place = registry.get_place(district_id)
        if place.kind != "district":
            raise ValidationFailed("district_id 须为区", code="district_invalid",
                                   details={"district_id": district_id, "kind": place.kind})
    row = db.session.scalar(sa.select(RoutingRule).where(
        RoutingRule.category == category,
        RoutingRule.district_id.is_(None) if district_id is None else RoutingRule.district_id == district_id))
    if row is None:
        row = RoutingRule(district_id=district_id, category=category)
        db.session.add(row)
    row.lead_kind = data["lead_kind"]
    row.assist_kinds = list(data.get("assist_kinds", []))
    row.acknowledge_amount, row.acknowledge_unit = data["acknowledge"]["amount"], data["acknowledge"]["unit"]
    row.resolve_amount, row.resolve_unit = data["resolve"]["amount"], data["resolve"]["unit"]
    row.urgent_acknowledge_hours = data.get("urgent_acknowledge_hours")
    row.reveal_kinds = list(data.get("reveal_kinds", []))
    row.complained_kind = data.get("complained_kind")
    row.referrals = list(data.get("referrals", []))
    db.session.flush()
    audit.record("routing.rule_set", "routing_rule", row.id, actor=actor,
                 data={"district_id": district_id, "category": category})
    return _from_row(row, "district" if district_id else "default")


def seed_defaults() -> int:
    """Write the data file's rules as the default rows (district NULL) where missing.  Returns how
    many rows were added."""
    have = set(db.session.scalars(sa.select(RoutingRule.category).where(RoutingRule.district_id.is_(None))))
    n = 0
    for category in categories():
        if category in have:
            continue
        r = _from_file(category)
        db.session.add(RoutingRule(
            district_id=None, category=category, lead_kind=r.lead_kind, assist_kinds=list(r.assist_kinds),
            acknowledge_amount=r.acknowledge[0], acknowledge_unit=r.acknowledge[1],
            resolve_amount=r.resolve[0], resolve_unit=r.resolve[1],
            urgent_acknowledge_hours=r.urgent_acknowledge_hours, reveal_kinds=list(r.reveal_kinds),
            complained_kind=r.complained_kind, referrals=list(r.referrals)))
        n += 1
    db.session.flush()
    return n


def list_rules(district_id: int | None) -> list[Rule]:
    return [rule_for(district_id, c) for c in categories()]
