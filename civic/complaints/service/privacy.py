"""Who is who on a case, and what each one may see of the complainant.

Verbs: viewer_for (the user's roles on a case; NotFound when none, so ids reveal nothing), get_for
(the case and those roles; a staff member's look is logged), complainant_for (masked by default,
hidden from parties the routing table does not allow, revealed only with a reason, which is
logged), contact_of (a partner's contact for a case).  Rules applied: RULES.md §5 (PIPL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.complaints import routing
from civic.complaints.models import Complaint, ComplaintContact, ComplaintReporter
from civic.core import audit
from civic.core.errors import Forbidden, NotFound, ValidationFailed
from civic.extensions import db
from civic.property import service as registry


@dataclass
class Viewer:
    user: object
    roles: set[str]
    organisations: dict[int, object]  # org id → Organisation through which the user acts here
    may_see_complainant: bool

    @property
    def is_resident(self) -> bool:
        return "complainant" in self.roles or "reporter" in self.roles

    def acting_org(self, roles: Sequence[str]):
        for org_id, org in self.organisations.items():
            if self.org_roles.get(org_id, set()) & set(roles):
                return org
        return None

    org_roles: dict[int, set[str]] = field(default_factory=dict)


def viewer_for(user, c: Complaint) -> Viewer:
    """The user's roles on case ``c``.  :raises NotFound: when the user may not see the case at all
    (the same answer as for a case that does not exist, so ids reveal nothing)."""
    roles: set[str] = set()
    orgs: dict[int, object] = {}
    org_roles: dict[int, set[str]] = {}
    may_see = False
    if user.kind == "resident":
        if c.complainant_id == user.id:
            roles.add("complainant")
        elif db.session.scalar(sa.select(ComplaintReporter.id).where(
                ComplaintReporter.complaint_id == c.id, ComplaintReporter.user_id == user.id)):
            roles.add("reporter")
    elif user.kind == "admin":
        roles.add("admin")
    else:
        rule = routing.rule_for(c.district_id, c.category)
        parties = {p.organisation_id: p for p in c.parties if p.active}
        for _m, org in acting_memberships(user):
            r: set[str] = set()
            p = parties.get(org.id)
            if p is not None:
                r.add(p.role)
                may_see = may_see or p.may_see_complainant
            if org.kind in ("residents_committee", "village_committee") and c.community_id and \
                    registry.organisation_covers(org.id, c.community_id):
                r.add("triage")
                may_see = may_see or rule.may_reveal(org.kind)
            if org.kind == "street_centre" and c.street_id and registry.organisation_covers(org.id, c.street_id):
                r.add("oversight")
            if r:
                orgs[org.id], org_roles[org.id] = org, r
                roles |= r
    if not roles:
        raise NotFound("找不到该案件", code="complaint_not_found", details={"complaint_id": c.id})
    return Viewer(user=user, roles=roles, organisations=orgs, may_see_complainant=may_see, org_roles=org_roles)


def get_for(user, complaint_id: int, *, log_view: bool = True) -> tuple[Complaint, Viewer]:
    """The case and the user's roles on it; a staff member's look is logged (PIPL: who looked at what).

    :raises NotFound: ``complaint_not_found``.
    """
    c = db.session.get(Complaint, complaint_id)
    if c is None:
        raise NotFound("找不到该案件", code="complaint_not_found", details={"complaint_id": complaint_id})
    v = viewer_for(user, c)
    if log_view and user.kind != "resident":
        audit.record("complaint.viewed", "complaint", c.id, actor=user)
    return c, v


def complainant_for(user, c: Complaint, v: Viewer, *, reveal: bool = False, reason: str | None = None):
    """The complainant as this viewer may see them: None for parties the routing table does not
    allow (and always for the party complained about); masked name and phone by default; in full
    only on ``reveal`` with a reason, which is written to the audit log (RULES.md §5, PIPL)."""
    from civic.accounts.models import User
    from civic.core.text import mask_phone

    # A partner's case: the contact it gave stands in for its system account (same rules).
    u = contact_of(c) or db.session.get(User, c.complainant_id)
    if v.is_resident:
        return {"display_name": u.display_name, "phone": mask_phone(u.phone)} if "complainant" in v.roles else None
    if not v.may_see_complainant:
        if reveal:
            raise Forbidden("您所在的组织无权查看投诉人信息", code="complainant_hidden")
        return None
    if reveal:
        if not (reason and reason.strip()):
            raise ValidationFailed("查看投诉人完整信息须填写事由", code="reason_required")
        audit.record("complaint.complainant_revealed", "complaint", c.id, actor=user, note=reason.strip())
        return {"display_name": u.display_name, "phone": u.phone, "masked": False}
    name = u.display_name or ""
    return {"display_name": (name[:1] + "*" * max(len(name) - 1, 1)) if name else None,
            "phone": mask_phone(u.phone), "masked": True}


def contact_of(c: Complaint) -> ComplaintContact | None:
    """The contact a partner gave for case ``c`` (None for a resident's own case)."""
    return db.session.scalar(sa.select(ComplaintContact).where(ComplaintContact.complaint_id == c.id))
