"""Who handles a case: the lead party, the assisting parties, the residents' committee that
triages, and referrals outside the six — planned from the routing table (civic/complaints/routing.py,
which owns the table and its rules) and the organisations covering the case's place.

Verbs: _set_parties (at intake), _reroute (a triage/oversight reroute), route_note (the routing
step's note).  RULES.md §3: no case is ever dropped, the residents' committee is the fallback lead;
§5: whether each party may see the complainant comes from the rule.
"""

from __future__ import annotations

from civic.complaints import routing
from civic.complaints.models import Complaint, ComplaintParty, ComplaintReferral
from civic.complaints.suggest import category_names
from civic.core.errors import ValidationFailed
from civic.extensions import db
from civic.property import service as registry


def _plan(place, rule: routing.Rule) -> tuple[object, bool, list, object | None]:
    """(lead organisation, lead_fallback, assisting organisations, residents' committee)."""
    covering = registry.organisations_covering(place)
    by_kind: dict[str, object] = {}
    for org in covering:  # nearest first
        by_kind.setdefault(org.kind, org)
    rc = by_kind.get("residents_committee") or by_kind.get("village_committee")
    lead, fallback = by_kind.get(rule.lead_kind), False
    if lead is None:
        # RULES.md §3: no case is ever dropped; the residents' committee triages it.
        lead, fallback = rc or by_kind.get("street_centre"), True
    if lead is None:
        raise ValidationFailed("该地点尚无任何可受理的组织，请联系街道", code="no_organisation",
                               details={"place_id": place.id})
    assists = [by_kind[k] for k in rule.assist_kinds if k in by_kind and by_kind[k].id != lead.id]
    return lead, fallback, assists, rc


def _set_parties(c: Complaint, place, rule: routing.Rule) -> None:
    lead, fallback, assists, rc = _plan(place, rule)
    c.lead_organisation_id, c.lead_fallback = lead.id, fallback
    existing = {p.organisation_id: p for p in c.parties}
    for p in existing.values():
        if p.role in ("lead", "assist"):
            p.active = False

    def add(org, role):
        p = existing.get(org.id)
        if p is None:
            p = ComplaintParty(complaint=c, organisation_id=org.id, role=role, status=c.status)
            db.session.add(p)
            existing[org.id] = p
        p.role, p.active = role, True
        p.may_see_complainant = rule.may_reveal(org.kind)

    add(lead, "lead")
    for org in assists:
        add(org, "assist")
    if rc is not None and rc.id not in existing:
        add(rc, "triage")
    for authority in rule.referrals:
        if not any(r.authority == authority for r in c.referrals):
            c.referrals.append(ComplaintReferral(authority=authority))


def route_note(category: str) -> str:
    """The note of the system's routing step, read in the case history and the resident's
    notification: names the category in Chinese (``按“物业服务”分派规则派单``), never its id."""
    name = category_names().get(category)
    return f"按“{name}”分派规则派单" if name else "按分派规则派单"


def _reroute(c: Complaint, lead_organisation_id: int | None) -> dict:
    if lead_organisation_id is None:
        raise ValidationFailed("重新派单须指定主办组织", code="lead_organisation_required")
    org = registry.get_organisation(lead_organisation_id)
    place = registry.get_place(c.place_id)
    if not registry.organisation_covers(org.id, place.id) or org.kind not in routing.LEAD_KINDS:
        raise ValidationFailed("该组织不负责该地点", code="lead_organisation_invalid",
                               details={"organisation_id": org.id})
    rule = routing.rule_for(c.district_id, c.category)
    old = c.lead_organisation_id
    for p in c.parties:
        if p.role == "lead":
            p.role, p.active = "assist", False
    party = next((p for p in c.parties if p.organisation_id == org.id), None)
    if party is None:
        party = ComplaintParty(complaint=c, organisation_id=org.id, role="lead", status=c.status)
        db.session.add(party)
    party.role, party.active = "lead", True
    party.may_see_complainant = rule.may_reveal(org.kind)
    c.lead_organisation_id, c.lead_fallback = org.id, False
    return {"from_lead": old, "to_lead": org.id}
