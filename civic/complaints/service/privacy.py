"""Who is who on a case, and what each one may see of the complainant.

Verbs: viewer_for (the user's roles on a case; NotFound when none, so ids reveal nothing), get_for
(the case and those roles; a staff member's look is logged), complainant_for (masked by default,
hidden from parties the routing table does not allow, revealed only with a reason, which is
logged), sees_complainant, location_for and at_reporters_unit (the case's place no finer than its
building where the place would name the complainant's household), contact_of (a partner's contact
for a case), people_of (the reporters and supporters of a list of cases, read once for the list),
identity_terms and text_for (the free text of a case -- description, messages, notes,
rating comment -- with what names the complainant taken out for whoever may not see them).  Rules
applied: RULES.md §5 (PIPL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from civic.accounts.memberships import acting_memberships
from civic.complaints import routing
from civic.complaints.models import (
    Complaint,
    ComplaintContact,
    ComplaintParty,
    ComplaintReporter,
    ComplaintSupporter,
)
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
        return bool(self.roles & {"complainant", "reporter", "supporter"})

    def acting_org(self, roles: Sequence[str]):
        for org_id, org in self.organisations.items():
            if self.org_roles.get(org_id, set()) & set(roles):
                return org
        return None

    org_roles: dict[int, set[str]] = field(default_factory=dict)
    #: The organisation through which the user may see the complainant (None when they may not).
    seeing_org: object | None = None

    def actor_role(self) -> str | None:
        """The audit log's "acting as" for a staff member's look at the case: ``"staff@<org kind>:<org id>"``
        (the organisation that lets them see the complainant, else the first through which they act)."""
        org = self.seeing_org or next(iter(self.organisations.values()), None)
        return f"{self.user.kind}@{org.kind}:{org.id}" if org is not None else None


def viewer_for(user, c: Complaint) -> Viewer:
    """The user's roles on case ``c``.  :raises NotFound: when the user may not see the case at all
    (the same answer as for a case that does not exist, so ids reveal nothing)."""
    roles: set[str] = set()
    orgs: dict[int, object] = {}
    org_roles: dict[int, set[str]] = {}
    may_see = False
    seeing = None
    if user.kind == "resident":
        if c.complainant_id == user.id:
            roles.add("complainant")
        elif db.session.scalar(sa.select(ComplaintReporter.id).where(
                ComplaintReporter.complaint_id == c.id, ComplaintReporter.user_id == user.id)):
            roles.add("reporter")
        elif db.session.scalar(sa.select(ComplaintSupporter.id).where(
                ComplaintSupporter.complaint_id == c.id, ComplaintSupporter.user_id == user.id)):
            roles.add("supporter")  # "me too" (service.supporters): sees the case as a co-complainant does
    elif user.kind == "admin":
        roles.add("admin")
    else:
        rule = routing.rule_for(c.district_id, c.category, c.category_detail)
        parties = {p.organisation_id: p for p in c.parties if p.active}
        for _m, org in acting_memberships(user):
            r: set[str] = set()
            p = parties.get(org.id)
            if p is not None:
                r.add(p.role)
                if p.may_see_complainant:
                    may_see, seeing = True, seeing or org
            if org.kind in ("residents_committee", "village_committee") and c.community_id and \
                    registry.organisation_covers(org.id, c.community_id):
                r.add("triage")
                if rule.may_reveal(org.kind) and org.kind != c.complained_kind:
                    may_see, seeing = True, seeing or org
            if org.kind == "street_centre" and c.street_id and registry.organisation_covers(org.id, c.street_id):
                r.add("oversight")
            if r:
                orgs[org.id], org_roles[org.id] = org, r
                roles |= r
    if not roles:
        raise NotFound("找不到该案件", code="complaint_not_found", details={"complaint_id": c.id})
    return Viewer(user=user, roles=roles, organisations=orgs, may_see_complainant=may_see, org_roles=org_roles,
                  seeing_org=seeing)


def get_for(user, complaint_id: int, *, log_view: bool = True) -> tuple[Complaint, Viewer]:
    """The case and the user's roles on it; a staff member's look is logged (PIPL: who looked at what).

    :raises NotFound: ``complaint_not_found``.
    """
    c = db.session.get(Complaint, complaint_id)
    if c is None:
        raise NotFound("找不到该案件", code="complaint_not_found", details={"complaint_id": complaint_id})
    v = viewer_for(user, c)
    if log_view and user.kind != "resident":
        audit.record("complaint.viewed", "complaint", c.id, actor=user, actor_role=v.actor_role())
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
        # Who revealed, and as which organisation: the case's timeline names them (issue #15 point 14).
        audit.record("complaint.complainant_revealed", "complaint", c.id, actor=user, actor_role=v.actor_role(),
                     note=reason.strip())
        return {"display_name": u.display_name, "phone": u.phone, "masked": False}
    name = u.display_name or ""
    return {"display_name": (name[:1] + "*" * max(len(name) - 1, 1)) if name else None,
            "phone": mask_phone(u.phone), "masked": True}


def sees_complainant(v: Viewer) -> bool:
    """Whether this viewer may know who complained: the complainant themselves, or a party the
    routing table allows (never the party complained about, RULES.md §5).  A co-complainant of a
    merged case, the street's oversight and an administrator see a case without its complainant,
    exactly as :func:`complainant_for` answers them (None)."""
    return "complainant" in v.roles or (not v.is_resident and v.may_see_complainant)


def _is_unit_case(c: Complaint) -> bool:
    # The ladder is copied onto the case: a place beneath its building can only be a unit.
    return bool(c.place_id and c.building_id and c.place_id != c.building_id)


def at_reporters_unit(cases: Iterable[Complaint], *, people: People | None = None) -> set[int]:
    """The ids of the cases among ``cases`` whose place is a unit where one of their reporters (the
    complainant, or a co-complainant merged in) or supporters is registered as owner, co-owner or
    tenant, or was placed at the filer's own unit because only a free address was given: a place
    that names the complainant's household (RULES.md §5).  A unit the resident chose that is not
    theirs (the flat upstairs) is not among them.  Two queries for any number of cases; one when
    the caller has read ``people`` (:func:`people_of` of these cases or more) already."""
    unit_cases = [c for c in cases if _is_unit_case(c)]
    if not unit_cases:
        return set()
    out = {c.id for c in unit_cases if c.location_source == "address"}
    living = {uid: {r.user_id for r in links}
              for uid, links in registry.residents_of_units({c.place_id for c in unit_cases}).items()}
    if people is None:
        people = people_of(c.id for c in unit_cases)
    for c in unit_cases:
        if people.of(c.id) & living.get(c.place_id, set()):
            out.add(c.id)
    return out


@dataclass(frozen=True)
class People:
    """Who stands behind each of a list of cases (:func:`people_of`): ``{case id: {user id}}`` of
    its reporters (the complainant, co-complainants merged in) and of its supporters ("me too")."""

    reporters: dict[int, set[int]]
    supporters: dict[int, set[int]]

    def of(self, case_id: int) -> set[int]:
        """Everyone behind the case: the people it must not name to whoever may not see its
        complainant (a supporter's identity follows the reporter's rule, RULES.md §5)."""
        return self.reporters.get(case_id, set()) | self.supporters.get(case_id, set())

    def supporters_count(self, case_id: int) -> int:
        return len(self.supporters.get(case_id, ()))


def people_of(ids: Iterable[int]) -> People:
    """The reporters and supporters of the cases ``ids``, in one statement (the complaint_id ranges
    of complaint_reporter and of the unique index of complaint_supporter, UNION ALL).  A list page
    reads it once and hands it to :func:`at_reporters_unit`, :func:`identity_terms` and its count
    of supporters, instead of each reading the supporters again.  (Every supporter's row, not a
    grouped count: the redaction needs the people anyway, and a case's supporters are its
    neighbours, tens, not thousands.)"""
    ids = sorted(set(ids))
    reporters: dict[int, set[int]] = {}
    supporters: dict[int, set[int]] = {}
    if ids:
        rows = sa.union_all(
            sa.select(ComplaintReporter.complaint_id, ComplaintReporter.user_id, sa.literal_column("0"))
            .where(ComplaintReporter.complaint_id.in_(ids)),
            sa.select(ComplaintSupporter.complaint_id, ComplaintSupporter.user_id, sa.literal_column("1"))
            .where(ComplaintSupporter.complaint_id.in_(ids)))
        for cid, user_id, supports in db.session.execute(rows):
            (supporters if supports else reporters).setdefault(cid, set()).add(user_id)
    return People(reporters, supporters)


def complainant_seen_in(user, cases: Sequence[Complaint], *, organisations=None) -> set[int]:
    """The ids of the cases among ``cases`` whose complainant ``user`` may see: for each case the
    answer of ``sees_complainant(viewer_for(user, c))``, worked out for a whole list at once (a
    queue page: one query for the party rows, one per distinct routing rule and community) instead
    of case by case.  ``organisations``: the user's acting organisations (every one of
    :func:`~civic.accounts.memberships.acting_memberships`) when the caller has read them already."""
    if not cases:
        return set()
    if user.kind == "resident":
        return {c.id for c in cases if c.complainant_id == user.id}
    if user.kind == "admin":
        return set()
    orgs = organisations if organisations is not None else [org for _m, org in acting_memberships(user)]
    if not orgs:
        return set()
    ids = [c.id for c in cases]
    seen = set(db.session.scalars(sa.select(ComplaintParty.complaint_id).where(
        ComplaintParty.complaint_id.in_(ids), ComplaintParty.organisation_id.in_([o.id for o in orgs]),
        ComplaintParty.active.is_(True), ComplaintParty.may_see_complainant.is_(True))))
    triage = [o for o in orgs if o.kind in ("residents_committee", "village_committee")]
    rules: dict[tuple, routing.Rule] = {}
    covers: dict[tuple[int, int], bool] = {}
    for c in cases:
        if c.id in seen or not c.community_id:
            continue
        for org in triage:
            key = (org.id, c.community_id)
            if key not in covers:
                covers[key] = registry.organisation_covers(org.id, c.community_id)
            if not covers[key]:
                continue
            rkey = (c.district_id, c.category, c.category_detail)
            if rkey not in rules:
                rules[rkey] = routing.rule_for(*rkey)
            if rules[rkey].may_reveal(org.kind) and org.kind != c.complained_kind:
                seen.add(c.id)
                break
    return seen


@dataclass(frozen=True)
class Location:
    place: object | None  # the registry Place shown
    lat: float | None  # WGS-84
    lng: float | None
    coarsened: bool  # True when the place shown is the building instead of the complainant's unit


def _centre(place) -> tuple[float | None, float | None]:
    """The centre of ``place`` or of its nearest ancestor that has one."""
    for p in reversed(registry.ancestors(place)) if place is not None else ():
        if p.centre_lat is not None and p.centre_lng is not None:
            return p.centre_lat, p.centre_lng
    return None, None


def location_for(c: Complaint, v: Viewer, *, at_own_unit: bool | None = None) -> Location:
    """Where case ``c`` is, as this viewer may see it.

    A viewer who may see the complainant (:func:`sees_complainant`) gets the case's place and
    coordinates as filed.  Anyone else — above all the party complained about — gets no place
    finer than the building when the place is a unit of one of the case's reporters
    (:func:`at_reporters_unit`: a unit identifies its household), with the building's centre (or the
    nearest place above it that has one) as coordinates; and never a photo's GPS, which the resident
    consented to for locating the case only (RULES.md §5: precise location from a photo is sensitive
    personal information): the coordinates are then the shown place's centre.  A place the resident
    chose that is not theirs is shown as chosen.  ``at_own_unit``: the answer of
    :func:`at_reporters_unit` when the caller already has it (lists).
    """
    place = registry.get_place(c.place_id) if c.place_id else None
    if sees_complainant(v):
        return Location(place, c.lat, c.lng, False)
    if at_own_unit is None:
        at_own_unit = c.id in at_reporters_unit([c])
    if at_own_unit:
        place = registry.get_place(c.building_id)
    if at_own_unit or c.location_source == "photo_gps":
        lat, lng = _centre(place)
        return Location(place, lat, lng, at_own_unit)
    return Location(place, c.lat, c.lng, False)


def contact_of(c: Complaint) -> ComplaintContact | None:
    """The contact a partner gave for case ``c`` (None for a resident's own case)."""
    return db.session.scalar(sa.select(ComplaintContact).where(ComplaintContact.complaint_id == c.id))


# --- free text -----------------------------------------------------------------------------------

#: What stands in the text for a detail that would name the complainant.
REDACTED = "［已隐去］"
#: A mainland mobile number as residents type it: 13812341234, 138 1234 1234, 138-1234-1234, +86…
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
_MIN_TERM = 2  # a one-character "name" would blank every occurrence of a common character


def identity_terms(cases: Sequence[Complaint], *, people: People | None = None) -> dict[int, list[str]]:
    """``{case id: [text that names one of its reporters]}``, longest first: the display names and
    phones of the complainant, of every co-complainant merged in, of every supporter and of a
    partner's contact, and the names (short, ``101室``, and full, ``滨江花园1号楼101室``) of the
    units where any of them lives.  For many cases at once: a handful of queries, not one per case;
    ``people``: :func:`people_of` of these cases (or more) when the caller has read it already."""
    from civic.accounts.models import User

    if not cases:
        return {}
    if people is None:
        people = people_of(c.id for c in cases)
    # Supporters ("me too") follow the reporter's rule: no party that may not see the complainant
    # sees them either (RULES.md §5).
    behind: dict[int, set[int]] = {c.id: {c.complainant_id} | people.of(c.id) for c in cases}
    everyone = set().union(*behind.values())
    users: dict[int, User] = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(everyone)))}
    own = registry.unit_names_of_residents(everyone)
    # Only a partner's case (Open311: its complainant of record is the partner's system account)
    # carries a contact.
    by_partner = [c.id for c in cases if getattr(users.get(c.complainant_id), "kind", None) == "partner"]
    contacts = {k.complaint_id: k for k in db.session.scalars(
        sa.select(ComplaintContact).where(ComplaintContact.complaint_id.in_(by_partner)))} if by_partner else {}
    out = {}
    for c in cases:
        terms: set[str] = set()
        for uid in behind[c.id]:
            u = users.get(uid)
            if u is not None and u.kind != "partner":  # a partner's system account names no one
                terms |= {u.display_name or "", u.phone or ""}
            terms |= own.get(uid, set())
        k = contacts.get(c.id)
        if k is not None:
            terms |= {k.display_name or "", k.phone or "", k.email or ""}
        out[c.id] = sorted((t.strip() for t in terms if t and len(t.strip()) >= _MIN_TERM), key=len, reverse=True)
    return out


def redact(text: str | None, terms: Sequence[str]) -> str | None:
    """``text`` with every one of ``terms`` and every mobile number replaced by :data:`REDACTED`."""
    if not text:
        return text
    for t in terms:
        text = text.replace(t, REDACTED)
    return _MOBILE.sub(REDACTED, text)


def text_for(c: Complaint, v: Viewer, text: str | None, terms: Sequence[str] | None = None) -> str | None:
    """Free text of case ``c`` (its description, a message, a note, the rating comment) as viewer
    ``v`` may read it: as written for whoever may see the complainant (:func:`sees_complainant`);
    for anyone else -- above all the party complained about, and a co-complainant -- with the
    reporters' names, phones and own units' names and any mobile number taken out
    (:func:`redact`), since a resident writes "我是101室的张小红，电话138…" and a party that may
    see them may write the same in a note (RULES.md §5, PIPL Art. 28: what identifies the
    complainant is not shown to those who may not know it).  A nickname or a description of the
    person ("楼上的王阿姨") cannot be recognised and stays: staff who may see the complainant are
    told in the console not to write one.  ``terms``: :func:`identity_terms` of ``c`` when the caller
    has them (lists)."""
    if text is None or sees_complainant(v):
        return text
    return redact(text, identity_terms([c])[c.id] if terms is None else terms)
