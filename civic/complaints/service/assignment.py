"""Who handles a case: the lead party, the assisting parties, the residents' committee that
triages, and referrals outside the six — planned from the routing table (civic/complaints/routing.py,
which owns the table and its rules) and the organisations covering the case's place.

Verbs: _set_parties (at intake), _reroute (a triage/oversight reroute), route_note (the routing
step's note), plan_lead (who would lead).  RULES.md §3: no case is ever dropped, the residents'
committee is the fallback lead; §5: whether each party may see the complainant comes from the rule.
Issue #18 point 3: a case is never led by the party it complains about (the case's
``complained_kind`` or the rule's): the lead is the first kind of :meth:`routing.Rule.lead_order`
with an organisation covering the place, and a reroute to that party is refused.
"""

from __future__ import annotations

from civic.complaints import routing
from civic.complaints.models import Complaint, ComplaintParty, ComplaintReferral
from civic.complaints.suggest import category_names
from civic.core.errors import ValidationFailed
from civic.extensions import db
from civic.property import service as registry


def _plan(place, rule: routing.Rule, complained_kind: str | None = None) -> tuple[object, bool, list, object | None]:
    """(lead organisation, lead_fallback, assisting organisations, residents' committee).

    The lead is the first kind of ``rule.lead_order(complained_kind)`` (the rule's lead, its
    fallbacks in order, the residents' committee, the street centre; never the complained party)
    that has an organisation covering ``place``; ``lead_fallback`` is true when it is not the rule's
    own lead.
    """
    covering = registry.organisations_covering(place)
    by_kind: dict[str, object] = {}
    for org in covering:  # nearest first
        by_kind.setdefault(org.kind, org)
    rc = by_kind.get("residents_committee") or by_kind.get("village_committee")
    lead = fallback = None
    for kind in rule.lead_order(complained_kind):
        if kind in by_kind:
            lead, fallback = by_kind[kind], kind != rule.lead_kind
            break
    if lead is None:
        raise ValidationFailed("该地点尚无任何可受理的组织，请联系街道", code="no_organisation",
                               details={"place_id": place.id})
    assists = [by_kind[k] for k in rule.assist_kinds if k in by_kind and by_kind[k].id != lead.id]
    return lead, fallback, assists, rc


def plan_lead(place, rule: routing.Rule, complained_kind: str | None = None):
    """The organisation that would lead a case at ``place`` under ``rule`` about ``complained_kind``
    (never an organisation of that kind).  :raises ValidationFailed: ``no_organisation``."""
    return _plan(place, rule, complained_kind)[0]


def _set_parties(c: Complaint, place, rule: routing.Rule) -> None:
    lead, fallback, assists, rc = _plan(place, rule, c.complained_kind)
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
        p.may_see_complainant = rule.may_reveal(org.kind) and org.kind != c.complained_kind

    add(lead, "lead")
    for org in assists:
        add(org, "assist")
    if rc is not None and rc.id not in existing:
        add(rc, "triage")
    for authority in rule.referrals:
        if not any(r.authority == authority for r in c.referrals):
            c.referrals.append(ComplaintReferral(authority=authority, role="referral"))
    if rule.competent_authority:
        have = next((r for r in c.referrals if r.authority == rule.competent_authority), None)
        if have is None:
            c.referrals.append(ComplaintReferral(authority=rule.competent_authority, role="competent"))
        else:
            have.role = "competent"


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
    rule = routing.rule_for(c.district_id, c.category, c.category_detail)
    if org.kind in {c.complained_kind, rule.complained_kind} - {None}:
        raise ValidationFailed("被投诉方不能主办针对它的案件", code="lead_organisation_invalid",
                               details={"organisation_id": org.id, "complained_kind": org.kind})
    old = c.lead_organisation_id
    for p in c.parties:
        if p.role == "lead":
            p.role, p.active = "assist", False
    party = next((p for p in c.parties if p.organisation_id == org.id), None)
    if party is None:
        party = ComplaintParty(complaint=c, organisation_id=org.id, role="lead", status=c.status)
        db.session.add(party)
    party.role, party.active = "lead", True
    party.may_see_complainant = rule.may_reveal(org.kind) and org.kind != c.complained_kind
    c.lead_organisation_id, c.lead_fallback = org.id, False
    return {"from_lead": old, "to_lead": org.id}


def escalate_lead(c: Complaint) -> dict | None:
    """Hand the case to the rule's escalation lead when the lead let it run overdue (issue #18
    point 3: occupied corridors and fire exits go to 城管 and the fire authority when the property
    company does not act; 上海市住宅物业管理规定 Art. 59, 消防法 Arts. 28, 60: sources in
    ``data/routing.json``).  Called by the daily overdue job (civic.complaints.jobs).

    The old lead stays as an assisting party; the new lead is the escalation kind's organisation
    covering the place, never the party complained about; the escalation's authorities are added
    as referrals with role ``escalation``.  Returns ``{"from_lead", "to_lead", "referrals"}``, or
    None when the rule has no escalation, the lead is not of the rule's lead kind (a fallback lead
    keeps the case), or no organisation of the escalation kind covers the place.
    """
    rule = routing.rule_for(c.district_id, c.category, c.category_detail)
    esc = rule.escalation
    if not esc or c.place_id is None:
        return None
    lead_now = next((p for p in c.parties if p.role == "lead" and p.active), None)
    if c.lead_organisation_id is None or registry.get_organisation(c.lead_organisation_id).kind != rule.lead_kind:
        return None  # only the rule's own lead (the property company) is taken off a case it let lapse
    kind = esc["lead_kind"]
    if kind in {c.complained_kind, rule.complained_kind} - {None}:
        return None
    place = registry.get_place(c.place_id)
    org = next(iter(registry.organisations_covering(place, [kind])), None)
    if org is None or (lead_now is not None and lead_now.organisation_id == org.id):
        return None
    old = c.lead_organisation_id
    if lead_now is not None:
        lead_now.role = "assist"
    party = next((p for p in c.parties if p.organisation_id == org.id), None)
    if party is None:
        party = ComplaintParty(complaint=c, organisation_id=org.id, role="lead", status=c.status, overdue=c.overdue)
        db.session.add(party)
    party.role, party.active = "lead", True
    party.may_see_complainant = rule.may_reveal(org.kind) and org.kind != c.complained_kind
    c.lead_organisation_id, c.lead_fallback = org.id, False
    added = []
    for authority in esc.get("referrals", []):
        if not any(r.authority == authority for r in c.referrals):
            c.referrals.append(ComplaintReferral(authority=authority, role="escalation"))
            added.append(authority)
    return {"from_lead": old, "to_lead": org.id, "referrals": added}
