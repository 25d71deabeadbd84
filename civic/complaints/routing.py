"""The routing table: category (or category detail) → lead party kind, the leads to fall back on,
assisting kinds, deadlines, who may see the complainant, referrals, the escalation when the lead does
not act, and the legal basis of each rule.  Data per district, defaults from ``data/routing.json``
(RULES.md §3; every rule's sources, law, article and URL, in its ``basis``: docs/routing.md).

A rule's key is a category id (``noise``) or a category's detail (``noise.construction``, the
details are listed in ``data/categories.json``); a case with a detail is routed by the detail's rule
when there is one, else by its category's.

**Never led by the party complained about** (issue #18 point 3; RULES.md §5 keeps that party from
the complainant too): :func:`lead_order` drops the complained kind from the rule's order of leads
(``lead_kind``, then ``lead_fallbacks``, then the residents' committee, then the street centre), and
:func:`set_rule` refuses a rule whose lead is its own complained kind.
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
#: The end of every order of leads (RULES.md §3: no case is ever dropped): the residents' committee
#: (in a village its villagers' committee), then the street centre.
LAST_LEADS = ("residents_committee", "village_committee", "street_centre")


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
    key: str = ""  # the category, or "category.detail"
    lead_fallbacks: tuple[str, ...] = ()
    competent_authority: str | None = None
    escalation: dict | None = None  # {"lead_kind", "referrals"}: when the lead lets the case run overdue
    basis: tuple[dict, ...] = ()  # [{"law", "article", "url", "seen", "quote", "note"}]

    def lead_order(self, complained_kind: str | None = None) -> list[str]:
        """The kinds that may lead, in order: the rule's lead, its fallbacks, then the residents'
        committee (a village's committee), then the street centre; never ``complained_kind`` nor the
        rule's own complained kind (a complaint about a party is never led by it)."""
        banned = {k for k in (complained_kind, self.complained_kind) if k}
        out: list[str] = []
        for k in (self.lead_kind, *self.lead_fallbacks, *LAST_LEADS):
            if k not in banned and k not in out:
                out.append(k)
        return out

    def may_reveal(self, org_kind: str) -> bool:
        """Whether a party of ``org_kind`` may see the complainant (masked by default).  Never the
        party complained about (RULES.md §5)."""
        return org_kind in self.reveal_kinds and org_kind != self.complained_kind

    def as_dict(self) -> dict:
        return {"category": self.key or self.category, "district_id": self.district_id, "lead_kind": self.lead_kind,
                "lead_fallbacks": list(self.lead_fallbacks), "competent_authority": self.competent_authority,
                "escalation": self.escalation, "basis": [dict(b) for b in self.basis],
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
    """The case categories (GLOSSARY ids), without their details."""
    return tuple(k for k in defaults_file()["rules"] if "." not in k)


def rule_keys() -> tuple[str, ...]:
    """Every key of the routing table: each category and each ``category.detail`` with its own rule."""
    return tuple(defaults_file()["rules"])


def details(category: str) -> dict[str, str]:
    """``{detail id: Chinese name}`` of a category (``data/categories.json``; empty for most)."""
    from civic.complaints.suggest import load_categories

    return dict(load_categories()["categories"].get(category, {}).get("details", {}))


def photo_optional(category: str) -> bool:
    """Whether a case of ``category`` may be filed without a photo (the category's ``photo_optional``
    in ``data/categories.json``: noise, which no photo can show)."""
    from civic.complaints.suggest import load_categories

    return bool(load_categories()["categories"].get(category, {}).get("photo_optional", False))


def rule_key(category: str, detail: str | None) -> str:
    return f"{category}.{detail}" if detail else category


def _from_file(key: str) -> Rule:
    r = defaults_file()["rules"][key]
    return Rule(category=key.split(".")[0], key=key, lead_kind=r["lead_kind"], assist_kinds=tuple(r["assist_kinds"]),
                acknowledge=tuple(r["acknowledge"]), resolve=tuple(r["resolve"]),
                reveal_kinds=tuple(r["reveal_kinds"]), complained_kind=r.get("complained_kind"),
                referrals=tuple(r.get("referrals", ())),
                urgent_acknowledge_hours=r.get("urgent_acknowledge_hours"),
                lead_fallbacks=tuple(r.get("lead_fallbacks", ())), competent_authority=r.get("competent_authority"),
                escalation=r.get("escalation"), basis=tuple(r.get("basis", ())))


def _from_row(row: RoutingRule, source: str) -> Rule:
    return Rule(category=row.category.split(".")[0], key=row.category, lead_kind=row.lead_kind,
                assist_kinds=tuple(row.assist_kinds),
                acknowledge=(row.acknowledge_amount, row.acknowledge_unit),
                resolve=(row.resolve_amount, row.resolve_unit), reveal_kinds=tuple(row.reveal_kinds),
                complained_kind=row.complained_kind, referrals=tuple(row.referrals),
                urgent_acknowledge_hours=row.urgent_acknowledge_hours, district_id=row.district_id,
                source=source, lead_fallbacks=tuple(row.lead_fallbacks or ()),
                competent_authority=row.competent_authority, escalation=row.escalation,
                basis=tuple(row.basis or ()))


def rule_for(district_id: int | None, category: str, detail: str | None = None) -> Rule:
    """The rule in force for a case of ``category`` (and its ``detail``, if one was picked): for the
    detail's key, then for the category, the district's own row, else the default row, else the
    data file."""
    keys = [rule_key(category, detail), category] if detail else [category]
    keys = [k for k in keys if k in rule_keys()] or [category]
    rows = db.session.scalars(
        sa.select(RoutingRule).where(
            RoutingRule.category.in_(keys),
            sa.or_(RoutingRule.district_id == district_id, RoutingRule.district_id.is_(None)),
        )
    ).all()
    key = keys[0]
    own = [r for r in rows if r.category == key and r.district_id is not None and r.district_id == district_id]
    if own:
        return _from_row(own[0], "district")
    default = [r for r in rows if r.category == key and r.district_id is None]
    if default:
        return _from_row(default[0], "default")
    return _from_file(key)


def _validate(category: str, data: dict) -> dict:
    errors = {}
    if category not in rule_keys():
        raise ValidationFailed("未知的案件类别", code="category_unknown", details={"category": category})
    if data["lead_kind"] not in SIX_PARTIES:
        errors["lead_kind"] = "主办方须为六方之一"
    elif data.get("complained_kind") and data["lead_kind"] == data["complained_kind"]:
        errors["lead_kind"] = "被投诉方不得主办针对它的案件"
    bad = [k for k in data.get("lead_fallbacks", []) if k not in LEAD_KINDS]
    if bad:
        errors["lead_fallbacks"] = f"后备主办方须为六方或村民委员会，未知的组织类型：{', '.join(bad)}"
    if data.get("complained_kind") and data["complained_kind"] not in LEAD_KINDS:
        errors["complained_kind"] = "被投诉方须为六方或村民委员会之一"
    authorities = defaults_file()["authorities"]
    bad = [a for a in (*data.get("referrals", []), data.get("competent_authority")) if a and a not in authorities]
    esc = data.get("escalation")
    if esc:
        if esc.get("lead_kind") not in LEAD_KINDS:
            errors["escalation"] = "升级后的主办方须为六方或村民委员会之一"
        bad += [a for a in esc.get("referrals", []) if a not in authorities]
    if bad:
        errors["referrals"] = f"未知的主管部门：{', '.join(bad)}（可选：{', '.join(authorities)}）"
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

    ``category``: a category id or a detail's key (``noise.construction``, :func:`rule_keys`).
    ``data``: lead_kind, lead_fallbacks (in order), assist_kinds (the six parties), acknowledge
    {amount, unit}, resolve {amount, unit}, urgent_acknowledge_hours, reveal_kinds (who may see the
    complainant: the six parties or a village body, :data:`REVEAL_KINDS`), complained_kind (never
    the lead: 422), referrals, competent_authority, escalation {lead_kind, referrals}, basis
    [{law, article, url, seen, quote, note}] (the rule's sources; quote only where seen).
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
    row.lead_fallbacks = list(data.get("lead_fallbacks", []))
    row.competent_authority = data.get("competent_authority")
    row.escalation = data.get("escalation")
    row.basis = list(data.get("basis", []))
    db.session.flush()
    audit.record("routing.rule_set", "routing_rule", row.id, actor=actor,
                 data={"district_id": district_id, "category": category})
    return _from_row(row, "district" if district_id else "default")


def seed_defaults() -> int:
    """Write the data file's rules as the default rows (district NULL) where missing.  Returns how
    many rows were added."""
    have = set(db.session.scalars(sa.select(RoutingRule.category).where(RoutingRule.district_id.is_(None))))
    n = 0
    for category in rule_keys():
        if category in have:
            continue
        r = _from_file(category)
        db.session.add(RoutingRule(
            district_id=None, category=category, lead_kind=r.lead_kind, assist_kinds=list(r.assist_kinds),
            acknowledge_amount=r.acknowledge[0], acknowledge_unit=r.acknowledge[1],
            resolve_amount=r.resolve[0], resolve_unit=r.resolve[1],
            urgent_acknowledge_hours=r.urgent_acknowledge_hours, reveal_kinds=list(r.reveal_kinds),
            complained_kind=r.complained_kind, referrals=list(r.referrals), lead_fallbacks=list(r.lead_fallbacks),
            competent_authority=r.competent_authority, escalation=r.escalation, basis=[dict(b) for b in r.basis]))
        n += 1
    db.session.flush()
    return n


def list_rules(district_id: int | None) -> list[Rule]:
    """Every rule in force for the district: each category's, then its details' (``noise.construction``)."""
    return [rule_for(district_id, *k.split(".", 1)) for k in rule_keys()]
