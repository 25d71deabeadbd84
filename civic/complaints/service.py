"""The verbs of the complaints domain: intake, routing, the workflow, the resident's side.

Rules applied: RULES.md §3 (六位一体 routing, deadlines in Chinese working days, the residents'
committee as the fallback so no case is dropped, referrals outside the six) and §5 (PIPL: the
complainant's identity goes only to parties the routing table allows, masked by default, never to
the party complained about; every reveal is logged).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from civic.accounts.memberships import acting_memberships
from civic.complaints import routing
from civic.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintContact,
    ComplaintMessage,
    ComplaintParty,
    ComplaintPhoto,
    ComplaintReferral,
    ComplaintReporter,
)
from civic.complaints.suggest import category_names
from civic.core import audit
from civic.core.calendar import work_calendar
from civic.core.db import utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.notifications import notify
from civic.core.pagination import cursor_values, encode_cursor, paginate
from civic.core.photos import StoredPhoto, process_photos
from civic.core.storage import MediaStore, key_for
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry

MAX_DESCRIPTION = 4000
MAX_PHOTOS = 9
DUPLICATE_RADIUS_M = 100
DUPLICATE_WINDOW = dt.timedelta(days=14)
RATING_WINDOW = dt.timedelta(days=7)
UNSATISFIED_MAX = 2  # ratings 1-2 are "unsatisfied" (不满意); 3 is "basically satisfied"

STATUS_NAMES = {
    "submitted": "已提交", "routed": "已派单", "acknowledged": "已签收", "in_progress": "处置中",
    "resolved": "已办结", "closed": "已结案", "returned": "已退回", "reopened": "已重新处理", "merged": "已合并",
}

# The workflow, declared once: action → states it may start from, the state it leads to, and who may
# take it.  Roles are relative to the case: lead / assist (party rows), triage (the community's
# residents' committee), oversight (the street centre), complainant, system.
TRANSITIONS: dict[str, dict] = {
    "route": {"from": ("submitted",), "to": "routed", "by": ("system",)},
    "acknowledge": {"from": ("routed", "reopened"), "to": "acknowledged", "by": ("lead",)},
    "start": {"from": ("acknowledged",), "to": "in_progress", "by": ("lead",)},
    "resolve": {"from": ("acknowledged", "in_progress", "reopened"), "to": "resolved", "by": ("lead",),
                "note_required": True},
    "return": {"from": ("routed", "acknowledged"), "to": "returned", "by": ("lead", "assist"),
               "note_required": True},
    "reroute": {"from": ("returned",), "to": "routed", "by": ("triage", "oversight")},
    "merge": {"from": OPEN_STATUSES, "to": "merged", "by": ("triage", "oversight")},
    "reopen": {"from": ("resolved",), "to": "reopened", "by": ("complainant",)},
    "close": {"from": ("resolved",), "to": "closed", "by": ("complainant", "system")},
}
STAFF_ACTIONS = ("acknowledge", "start", "resolve", "return", "reroute", "merge")


def media_store() -> MediaStore:
    return MediaStore(current_app.config["MEDIA_DIR"])


class _Staged:
    """A store in memory: intake photos are processed into it, and written to the media store only
    once every check of the case passed (a case refused for its location leaves no file behind)."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}

    def put(self, data: bytes, ext: str) -> str:
        key = key_for(data, ext)
        self.blobs[key] = (data, ext)
        return key

    def open(self, key: str) -> bytes:
        return self.blobs[key][0]

    def exists(self, key: str) -> bool:
        return key in self.blobs

    def delete(self, key: str) -> bool:
        return self.blobs.pop(key, None) is not None

    def write_to(self, store: MediaStore) -> None:
        """Write every blob; on a failed write remove what this call created, then re-raise."""
        created = []
        try:
            for key, (data, ext) in self.blobs.items():
                if not store.exists(key):
                    store.put(data, ext)
                    created.append(key)
        except BaseException:
            for key in created:
                store.delete(key)
            raise


# --- intake -------------------------------------------------------------------------------------

@dataclass
class Intake:
    """What the mini-program sends (already parsed by the route's schema)."""

    category: str
    description: str
    photos: Sequence[tuple[str, bytes]]
    place_id: int | None = None
    lat: float | None = None
    lng: float | None = None
    datum: str | None = None
    address: str | None = None
    gps_consent: bool = False
    urgent: bool = False


@dataclass
class IntakeResult:
    complaint: Complaint
    duplicates: list[dict] = field(default_factory=list)


def _place_for_intake(actor, data: Intake, photos: list[StoredPhoto]):
    """Resolve where the case is: (place or None, lat, lng, source).  See :func:`submit`."""
    from civic.core.geo import to_wgs84
    from civic.property.queries import locate

    if data.place_id is not None:
        place = registry.get_place(data.place_id)
        if place.kind not in ("unit", "building", "compound"):
            raise ValidationFailed("地点须为户、楼或小区", code="place_kind_invalid",
                                   details={"place_id": place.id, "kind": place.kind})
        return place, place.centre_lat, place.centre_lng, "place"
    if data.lat is not None or data.lng is not None:
        if data.lat is None or data.lng is None or not data.datum:
            raise ValidationFailed("坐标须同时提供 lat、lng 和坐标系 datum", code="location_incomplete")
        lat, lng = to_wgs84(data.lat, data.lng, data.datum)
        try:
            place = locate(lat, lng, "wgs84")
        except NotFound as exc:
            raise ValidationFailed("该位置不在本系统服务的小区或社区范围内", code="location_not_covered",
                                   details={"lat": lat, "lng": lng}) from exc
        return place, lat, lng, "point"
    gps = next((p.gps for p in photos if p.gps), None) if data.gps_consent else None
    gps_outside = None
    if gps:
        try:
            place = locate(gps[0], gps[1], "wgs84")
            return place, gps[0], gps[1], "photo_gps"
        except NotFound:
            # A photo taken elsewhere says nothing about the case's place: use another location
            # given with it, or refuse naming the photo's position.
            gps_outside = {"lat": gps[0], "lng": gps[1], "source": "photo_gps"}
    if data.address:
        # A free address still needs an organisation: the resident's own community decides it.
        units = registry.units_of_resident(actor.id)
        if units:
            return units[0][1], None, None, "address"
    if gps_outside:
        raise ValidationFailed("照片拍摄位置不在本系统服务的小区或社区范围内，请选择房屋/楼/小区或在地图上选点",
                               code="location_not_covered", details=gps_outside)
    raise ValidationFailed("请选择房屋/楼/小区，或在地图上选点，或填写地址", code="location_required")


def _ladder(place) -> dict:
    out = {}
    for p in registry.ancestors(place):
        if p.kind in ("building", "compound", "community", "street", "district"):
            out[f"{p.kind}_id"] = p.id
        if p.kind == "village":
            out["community_id"] = p.id  # a village plays the community's part in routing
    return out


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


def _deadlines(c: Complaint, rule: routing.Rule, start: dt.datetime) -> None:
    cal = work_calendar()
    if c.urgent and rule.urgent_acknowledge_hours:
        ack = cal.deadline(start, rule.urgent_acknowledge_hours, "hours")
    else:
        ack = cal.deadline(start, rule.acknowledge[0], rule.acknowledge[1])
    res = cal.deadline(start, rule.resolve[0], rule.resolve[1])
    c.acknowledge_due, c.resolve_due = ack.due, res.due
    c.deadlines_provisional = ack.provisional or res.provisional


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


def submit(actor, data: Intake, *, now: dt.datetime | None = None) -> IntakeResult:
    """File a resident's complaint and route it.

    :param data: category (glossary id), description (Chinese, ≤ 4,000 characters after tidying),
        1-9 photos as ``(filename, bytes)``, and where: ``place_id`` (a unit, building or
        compound), or ``lat``/``lng`` with their ``datum`` (wgs84, gcj02, bd09; placed by the
        registry's boundaries), or ``address`` (free text; routed by the resident's own community),
        or, with ``gps_consent``, the first photo's GPS.
    :returns: the routed case and possible duplicates (open cases of the same category within
        100 m or in the same building in the last 14 days).
    :raises ValidationFailed: ``category_unknown``, ``text_required``, ``text_too_long``,
        ``photos_required``, ``too_many_photos``, ``location_required``, ``location_not_covered``,
        ``place_kind_invalid``; photo errors (``photo_format_unsupported``, ``photo_too_large``,
        ``photo_corrupt``, ...) from the pipeline.  Nothing is stored when any check fails: the
        photos are processed in memory and written to the media store only after every check.
        ``location_not_covered`` also when the only location is a consented photo GPS outside the
        registry (a resident's own unit is used for a free address).
    :param now: the filing time (aware; default: now); deadlines count from it (tests set it).
    """
    if data.category not in routing.categories():
        raise ValidationFailed("未知的案件类别", code="category_unknown", details={"category": data.category})
    description = require_text(data.description, "description", MAX_DESCRIPTION)
    if not data.photos:
        raise ValidationFailed("请至少上传 1 张照片", code="photos_required")
    if len(data.photos) > MAX_PHOTOS:
        raise ValidationFailed(f"最多上传 {MAX_PHOTOS} 张照片", code="too_many_photos",
                               details={"max": MAX_PHOTOS, "count": len(data.photos)})
    if data.place_id is None and data.lat is None and data.lng is None and not data.address and not data.gps_consent:
        raise ValidationFailed("请选择房屋/楼/小区，或在地图上选点，或填写地址", code="location_required")
    staged = _Staged()
    stored = process_photos(list(data.photos), store=staged, read_gps=data.gps_consent)
    place, lat, lng, source = _place_for_intake(actor, data, stored)
    now = now or utcnow()
    c = Complaint(category=data.category, description=description, status="submitted",
                  complainant_id=actor.id, place_id=place.id, address_text=(data.address or None),
                  lat=lat, lng=lng, location_source=source, gps_consent=data.gps_consent,
                  urgent=data.urgent, created_at=now, updated_at=now, **_ladder(place))
    db.session.add(c)
    db.session.flush()
    audit.record("complaint.submit", "complaint", c.id, actor=actor, data={"category": c.category})
    for p in stored:
        db.session.add(ComplaintPhoto(complaint_id=c.id, stage="intake", access_token=secrets.token_urlsafe(32),
                                      display_key=p.display_key, thumb_key=p.thumb_key, width=p.width,
                                      height=p.height, uploaded_by=actor.id))
    db.session.add(ComplaintReporter(complaint_id=c.id, user_id=actor.id, via_complaint_id=c.id))
    rule = routing.rule_for(c.district_id, c.category)
    _deadlines(c, rule, now)
    _set_parties(c, place, rule)
    _apply(c, "route", actor=None, note=route_note(c.category), now=now)
    duplicates = possible_duplicates(c)
    db.session.flush()
    staged.write_to(media_store())
    return IntakeResult(c, duplicates)


def route_note(category: str) -> str:
    """The note of the system's routing step, read in the case history and the resident's
    notification: names the category in Chinese (``按“物业服务”分派规则派单``), never its id."""
    name = category_names().get(category)
    return f"按“{name}”分派规则派单" if name else "按分派规则派单"


def possible_duplicates(c: Complaint) -> list[dict]:
    """Open cases of the same category, filed in the last 14 days, within 100 m (WGS-84 haversine
    after an index-friendly bounding box) or in the same building."""
    from civic.core.geo import bbox_around, distance_m

    since = (c.created_at or utcnow()) - DUPLICATE_WINDOW
    base = sa.select(Complaint).where(
        Complaint.category == c.category, Complaint.created_at >= since,
        Complaint.status.in_(OPEN_STATUSES), Complaint.id != c.id)
    conds = []
    if c.building_id:
        conds.append(Complaint.building_id == c.building_id)
    if c.lat is not None and c.lng is not None:
        a, b, cc, d = bbox_around(c.lat, c.lng, DUPLICATE_RADIUS_M)
        conds.append(sa.and_(Complaint.lat.between(a, cc), Complaint.lng.between(b, d)))
    if not conds:
        return []
    out = []
    for other in db.session.scalars(base.where(sa.or_(*conds)).order_by(Complaint.id.desc()).limit(20)):
        dist = None
        if c.lat is not None and other.lat is not None:
            dist = distance_m((c.lat, c.lng), (other.lat, other.lng))
        same_building = bool(c.building_id and other.building_id == c.building_id)
        if same_building or (dist is not None and dist <= DUPLICATE_RADIUS_M):
            out.append({"id": other.id, "status": other.status, "created_at": other.created_at,
                        "distance_m": round(dist, 1) if dist is not None else None,
                        "same_building": same_building})
    return out


# --- who is who on a case ------------------------------------------------------------------------

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


# --- the workflow ------------------------------------------------------------------------------

def _apply(c: Complaint, action: str, *, actor, note: str | None, now: dt.datetime | None = None,
           org=None, data: dict | None = None) -> None:
    t = TRANSITIONS[action]
    if c.status not in t["from"]:
        raise Conflict(f"案件当前状态为“{STATUS_NAMES[c.status]}”，不能{ACTION_NAMES[action]}",
                       code="invalid_transition",
                       details={"status": c.status, "action": action, "allowed_from": list(t["from"])})
    now = now or utcnow()
    before = c.status
    c.status = t["to"]
    c.updated_at = now
    for p in c.parties:
        p.status = c.status
    stamp = {"routed": "routed_at", "acknowledged": "acknowledged_at", "resolved": "resolved_at",
             "closed": "closed_at"}.get(c.status)
    if stamp:
        setattr(c, stamp, now)
    if c.overdue and c.status in ("acknowledged", "in_progress", "resolved", "closed", "merged"):
        # Late acknowledgement clears the flag unless the resolve deadline has passed too; the
        # escalation and the audit entries keep the history.
        c.overdue = c.status in ("acknowledged", "in_progress") and c.resolve_due is not None and c.resolve_due < now
        for p in c.parties:
            p.overdue = c.overdue
    audit.record(f"complaint.{action}", "complaint", c.id, actor=actor,
                 actor_role=f"{actor.kind}@{org.kind}:{org.id}" if (actor and org) else None,
                 note=note, data={"from": before, "to": c.status, **(data or {})})
    _notify_reporters(c, action, note, org)


ACTION_NAMES = {"route": "派单", "acknowledge": "签收", "start": "开始处置", "resolve": "办结", "return": "退回",
                "reroute": "重新派单", "merge": "合并", "reopen": "重新处理", "close": "结案"}


def _notify_reporters(c: Complaint, action: str, note: str | None, org) -> None:
    reporters = db.session.scalars(sa.select(ComplaintReporter.user_id).where(
        ComplaintReporter.complaint_id == c.id)).all()
    for uid in reporters:
        notify(uid, "complaint_status", f"您反映的问题{STATUS_NAMES[c.status]}",
               {"complaint_id": c.id, "status": c.status, "status_name": STATUS_NAMES[c.status],
                "by": org.name if org else "系统", "note": (note or "")[:100]},
               dedupe_key=f"complaint:{c.id}:v{c.version}:{action}:u{uid}",
               object_type="complaint", object_id=c.id)


def transition(user, complaint_id: int, action: str, *, note: str | None = None,
               expected_version: int | None = None, lead_organisation_id: int | None = None,
               into_id: int | None = None, now: dt.datetime | None = None) -> Complaint:
    """A staff action on a case: acknowledge, start, resolve, return, reroute, merge.

    Who may act is declared in :data:`TRANSITIONS`.  ``expected_version`` (the ``version`` the
    client last saw): when given and stale, 409 ``case_changed``; two staff acting at once — one
    wins, the other gets 409 (optimistic lock on the row).  ``now``: when it happened (default now).
    :raises Conflict: ``invalid_transition``, ``case_changed``.  :raises Forbidden:
        ``transition_not_allowed``.  :raises ValidationFailed: ``note_required``,
        ``lead_organisation_invalid``, ``merge_target_invalid``.
    """
    if action not in STAFF_ACTIONS:
        raise ValidationFailed("未知的操作", code="action_unknown", details={"action": action,
                                                                          "allowed": list(STAFF_ACTIONS)})
    c, v = get_for(user, complaint_id, log_view=False)
    if expected_version is not None and expected_version != c.version:
        raise Conflict("案件已被他人更新，请刷新后重试", code="case_changed",
                       details={"expected_version": expected_version, "version": c.version})
    t = TRANSITIONS[action]
    org = v.acting_org(t["by"])
    if org is None:
        raise Forbidden(f"您所在的组织不能对该案件{ACTION_NAMES[action]}", code="transition_not_allowed",
                        details={"action": action, "your_roles": sorted(v.roles), "required": list(t["by"])})
    if t.get("note_required") and not (note and note.strip()):
        raise ValidationFailed(f"{ACTION_NAMES[action]}须填写说明", code="note_required")
    data = {}
    if action == "reroute":
        data = _reroute(c, lead_organisation_id)
    elif action == "merge":
        data = _merge(c, into_id, user)
    elif action == "return":
        # Back to the residents' committee to route again (RULES.md §3: it triages).
        for p in c.parties:
            if p.role == "triage":
                p.active = True
    _apply(c, action, actor=user, note=note, org=org, data=data, now=now)
    if action == "resolve":
        enqueue_auto_close(c)
    db.session.flush()  # surface a lost optimistic-lock race here, as a 409
    return c


def _reroute(c: Complaint, lead_organisation_id: int | None) -> dict:
    if lead_organisation_id is None:
        raise ValidationFailed("重新派单须指定主办组织", code="lead_organisation_required")
    org = registry.get_organisation(lead_organisation_id)
    place = registry.get_place(c.place_id)
    if not registry.organisation_covers(org.id, place.id) or org.kind not in routing.SIX_PARTIES:
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


def _merge(c: Complaint, into_id: int | None, user) -> dict:
    if into_id is None:
        raise ValidationFailed("须指定要并入的案件（into_id）", code="merge_target_invalid")
    if into_id == c.id:
        raise ValidationFailed("不能把案件并入它自己", code="merge_target_invalid", details={"into_id": into_id})
    target = db.session.get(Complaint, into_id)
    if target is None or target.status not in OPEN_STATUSES or target.street_id != c.street_id:
        raise ValidationFailed("目标案件不存在、已办结或不在同一街道", code="merge_target_invalid",
                               details={"into_id": into_id})
    viewer_for(user, target)  # must be visible to the one merging
    c.merged_into_id = target.id
    have = set(db.session.scalars(sa.select(ComplaintReporter.user_id).where(
        ComplaintReporter.complaint_id == target.id)))
    for r in db.session.scalars(sa.select(ComplaintReporter).where(ComplaintReporter.complaint_id == c.id)):
        if r.user_id not in have:
            db.session.add(ComplaintReporter(complaint_id=target.id, user_id=r.user_id, via_complaint_id=c.id))
            have.add(r.user_id)
    audit.record("complaint.merged_in", "complaint", target.id, actor=user, data={"merged": c.id})
    return {"into": target.id}


# --- messages, photos, privacy ------------------------------------------------------------------

def add_message(user, complaint_id: int, body: str, *, internal: bool = False) -> ComplaintMessage:
    """Post to the case's thread.  Residents (complainant or reporter) and staff of the handling
    parties may post; ``internal`` notes are staff-only.  :raises ValidationFailed:
    ``text_required``/``text_too_long`` (2,000 characters)."""
    c, v = get_for(user, complaint_id, log_view=False)
    body = require_text(body, "body", 2000)
    org = None
    if v.is_resident:
        if internal:
            raise Forbidden("居民不能发布内部备注", code="internal_note_forbidden")
        if c.status in ("closed", "merged"):
            raise Conflict("案件已结束，不能再留言", code="complaint_closed")
    else:
        org = v.acting_org(("lead", "assist", "triage", "oversight"))
        if org is None:
            raise Forbidden("您不能在该案件留言", code="message_not_allowed")
    m = ComplaintMessage(complaint_id=c.id, author_id=user.id, organisation_id=org.id if org else None,
                         body=body, internal=internal)
    db.session.add(m)
    db.session.flush()
    audit.record("complaint.message", "complaint", c.id, actor=user,
                 actor_role=f"{user.kind}@{org.kind}:{org.id}" if org else None,
                 data={"message_id": m.id, "internal": internal})
    if org is not None and not internal:
        for uid in db.session.scalars(sa.select(ComplaintReporter.user_id).where(
                ComplaintReporter.complaint_id == c.id)):
            notify(uid, "complaint_message", f"{org.name}回复了您反映的问题",
                   {"complaint_id": c.id, "by": org.name, "text": body[:100]},
                   dedupe_key=f"complaint-message:{m.id}:u{uid}", object_type="complaint", object_id=c.id)
    return m


def messages_for(user, complaint_id: int) -> list[dict]:
    """The thread as the user may see it: residents see the party's name, never a staff member's,
    and no internal notes."""
    c, v = get_for(user, complaint_id, log_view=False)
    rows = db.session.scalars(sa.select(ComplaintMessage).where(ComplaintMessage.complaint_id == c.id)
                              .order_by(ComplaintMessage.id)).all()
    org_names = {}
    out = []
    for m in rows:
        if m.internal and v.is_resident:
            continue
        if m.organisation_id:
            if m.organisation_id not in org_names:
                org_names[m.organisation_id] = registry.get_organisation(m.organisation_id).name
            author = org_names[m.organisation_id]
            if not v.is_resident:
                from civic.accounts.models import User

                author = f"{author}（{db.session.get(User, m.author_id).display_name}）"
        else:
            author = "您" if m.author_id == user.id else "居民"
        out.append({"id": m.id, "author": author, "from_resident": m.organisation_id is None,
                    "body": m.body, "internal": m.internal, "created_at": m.created_at})
    return out


def add_result_photos(user, complaint_id: int, files: Sequence[tuple[str, bytes]]) -> list[ComplaintPhoto]:
    """The lead party attaches photos of the result, through the same pipeline as intake."""
    c, v = get_for(user, complaint_id, log_view=False)
    org = v.acting_org(("lead",))
    if org is None:
        raise Forbidden("只有主办方可以上传处置照片", code="transition_not_allowed")
    if not files:
        raise ValidationFailed("请至少上传 1 张照片", code="photos_required")
    have = sum(1 for p in c.photos if p.stage == "result")
    if have + len(files) > MAX_PHOTOS:
        raise ValidationFailed(f"处置照片最多 {MAX_PHOTOS} 张", code="too_many_photos",
                               details={"max": MAX_PHOTOS, "count": have + len(files)})
    org = v.acting_org(("lead",))
    stored = process_photos(list(files), store=media_store(), read_gps=False)
    rows = []
    for p in stored:
        row = ComplaintPhoto(complaint_id=c.id, stage="result", access_token=secrets.token_urlsafe(32),
                             display_key=p.display_key, thumb_key=p.thumb_key, width=p.width, height=p.height,
                             uploaded_by=user.id)
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    audit.record("complaint.result_photos", "complaint", c.id, actor=user,
                 actor_role=f"{user.kind}@{org.kind}:{org.id}", data={"count": len(rows)})
    return rows


def photo_for(user, complaint_id: int, token: str) -> ComplaintPhoto:
    """A case photo, only for those who may see the case.  :raises NotFound: ``photo_not_found``."""
    c, _v = get_for(user, complaint_id, log_view=False)
    photo = db.session.scalar(sa.select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == c.id,
                                                              ComplaintPhoto.access_token == token))
    if photo is None:
        raise NotFound("找不到该照片", code="photo_not_found")
    return photo


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


# --- the resident's side --------------------------------------------------------------------------

def rate(user, complaint_id: int, rating: int, comment: str | None = None, *,
         now: dt.datetime | None = None) -> Complaint:
    """The complainant rates a resolved case 1-5 within 7 days of resolution.

    1-2 (unsatisfied) reopens the case once (back to the lead party); a second unsatisfied rating,
    or 3-5, closes it.  :raises Conflict: ``rating_not_open`` (not resolved, already rated, or the
    7 days are over).  :raises Forbidden: ``not_complainant``.
    """
    c, v = get_for(user, complaint_id, log_view=False)
    if "complainant" not in v.roles:
        raise Forbidden("只有投诉人可以评价", code="not_complainant")
    if not 1 <= rating <= 5:
        raise ValidationFailed("评分须为 1 至 5", code="rating_invalid")
    now = now or utcnow()
    if c.status != "resolved" or c.resolved_at is None or now - c.resolved_at > RATING_WINDOW:
        raise Conflict("该案件当前不能评价（须在办结后 7 日内）", code="rating_not_open")
    comment = require_text(comment, "comment", 500) if comment and comment.strip() else None
    c.rating, c.rating_comment, c.rated_at = rating, comment, now
    if rating <= UNSATISFIED_MAX and c.reopen_count == 0:
        c.reopen_count += 1
        c.rating, c.rated_at = None, None  # the final rating comes after the second resolution
        _apply(c, "reopen", actor=user, note=comment or f"评分 {rating}，不满意", data={"rating": rating},
               now=now)
    else:
        _apply(c, "close", actor=user, note=comment, data={"rating": rating}, now=now)
    audit.record("complaint.rated", "complaint", c.id, actor=user, data={"rating": rating})
    db.session.flush()
    return c


def enqueue_auto_close(c: Complaint) -> None:
    """Close the case 7 days after its resolution if nobody rated it (a deferred job)."""
    from civic.core.jobs import enqueue_at

    enqueue_at(c.resolved_at + RATING_WINDOW, "civic.complaints.jobs.auto_close_one", c.id)


def my_complaints(user, *, cursor=None, limit=20):
    """The resident's cases (filed or followed after a merge), newest first."""
    stmt = sa.select(Complaint).where(Complaint.id.in_(
        sa.select(ComplaintReporter.complaint_id).where(ComplaintReporter.user_id == user.id)))
    return paginate(stmt, [Complaint.id], cursor=cursor, limit=limit)


# --- the queue ---------------------------------------------------------------------------------

def queue(user, *, organisation_id: int | None = None, status: str | None = None, category: str | None = None,
          overdue: bool | None = None, place_id: int | None = None, cursor=None, limit=20):
    """One organisation's queue, newest first: the cases where it is an active party; the street
    centre sees every case in its street.

    ``organisation_id`` picks which of the user's organisations (default: the first).
    :raises Forbidden: ``not_a_member``, ``no_queue``.
    """
    memberships = [org for _m, org in acting_memberships(user)]
    if organisation_id is not None:
        memberships = [o for o in memberships if o.id == organisation_id]
        if not memberships:
            raise Forbidden("您不是该组织的工作人员", code="not_a_member",
                            details={"organisation_id": organisation_id})
    if not memberships:
        raise Forbidden("您没有可查看的工单队列", code="no_queue")
    org = memberships[0]
    # Keyset on the case id, in two steps: first the ids from one index range (the party rows, or the
    # street's cases), then those rows.  A join ordered by id would make PostgreSQL walk the
    # complaint index from the top to reach a deep cursor.
    if org.kind == "street_centre":
        key = Complaint.id
        ids = sa.select(Complaint.id).where(Complaint.street_id.in_(_street_ids(org.id)))
        if status:
            ids = ids.where(Complaint.status == status)
        if overdue is not None:
            ids = ids.where(Complaint.overdue.is_(overdue))
    else:
        key = ComplaintParty.complaint_id
        ids = sa.select(ComplaintParty.complaint_id).where(
            ComplaintParty.organisation_id == org.id, ComplaintParty.active.is_(True))
        if status:
            ids = ids.where(ComplaintParty.status == status)
        if overdue is not None:
            ids = ids.where(ComplaintParty.overdue.is_(overdue))
        if category or place_id is not None:
            ids = ids.join(Complaint, Complaint.id == ComplaintParty.complaint_id)
    if category:
        ids = ids.where(Complaint.category == category)
    if place_id is not None:
        place = registry.get_place(place_id)
        ids = ids.where(Complaint.place_id.in_(registry.descendant_ids_stmt(place)))
    if cursor:
        (last,) = cursor_values(cursor, [key])
        ids = ids.where(key < last)
        if key is ComplaintParty.complaint_id and (category or place_id is not None):
            ids = ids.where(Complaint.id < last)
    page_ids = list(db.session.scalars(ids.order_by(key.desc()).limit(limit + 1)))
    next_cursor = None
    if len(page_ids) > limit:
        page_ids = page_ids[:limit]
        next_cursor = encode_cursor([page_ids[-1]])
    rows = {c.id: c for c in db.session.scalars(sa.select(Complaint).where(Complaint.id.in_(page_ids)))}
    return org, [rows[i] for i in page_ids], next_cursor


def counts_by_status(user, organisation_id: int | None = None) -> dict[str, int]:
    org_list = [org for _m, org in acting_memberships(user) if organisation_id in (None, org.id)]
    if not org_list:
        raise Forbidden("您没有可查看的工单队列", code="no_queue")
    org = org_list[0]
    if org.kind == "street_centre":  # the street centre's queue is every case in its street
        rows = db.session.execute(sa.select(Complaint.status, sa.func.count()).where(
            Complaint.street_id.in_(_street_ids(org.id))).group_by(Complaint.status))
        return dict(rows.all())
    rows = db.session.execute(sa.select(ComplaintParty.status, sa.func.count()).where(
        ComplaintParty.organisation_id == org.id, ComplaintParty.active.is_(True)).group_by(ComplaintParty.status))
    return dict(rows.all())


def _street_ids(org_id: int) -> list[int]:
    return [p.id for p in db.session.scalars(sa.select(registry.Place).where(
        registry.Place.path.in_(registry.covered_place_paths(org_id))))]


def history_for(user, complaint_id: int) -> list[dict]:
    """The case's timeline from the audit log.  Residents see who acted as the party's name (or
    "系统"), never a staff member; views and reveals are left out for them."""
    c, v = get_for(user, complaint_id, log_view=False)
    entries = audit.entries_for("complaint", c.id)
    out = []
    for e in entries:
        if e.action in ("complaint.viewed", "complaint.complainant_revealed", "complaint.message") and v.is_resident:
            continue
        actor = "系统"
        if e.actor_role and "@" in e.actor_role:
            org_id = int(e.actor_role.rsplit(":", 1)[1])
            actor = registry.get_organisation(org_id).name
        elif e.actor_id == c.complainant_id:
            actor = "投诉人" if not v.is_resident else "您"
        out.append({"at": e.at, "action": e.action.removeprefix("complaint."), "actor": actor,
                    "note": e.note})
    return out


def present(user, c: Complaint, v: Viewer, *, duplicates: list[dict] | None = None) -> dict:
    """The case as this viewer may see it (see :class:`civic.complaints.schemas.ComplaintSchema`)."""
    org_ids = {p.organisation_id for p in c.parties} | ({c.lead_organisation_id} if c.lead_organisation_id else set())
    orgs = {o.id: o for o in (registry.get_organisation(i) for i in org_ids)}
    lead = orgs.get(c.lead_organisation_id)
    place = registry.get_place(c.place_id) if c.place_id else None
    out = {
        "id": c.id, "version": c.version, "category": c.category, "description": c.description,
        "status": c.status, "status_name": STATUS_NAMES[c.status],
        "place": {"id": place.id, "kind": place.kind, "name": place.name} if place else None,
        "address": c.address_text, "location_source": c.location_source,
        "lead": {"id": lead.id, "kind": lead.kind, "name": lead.name} if lead else None,
        "lead_fallback": c.lead_fallback,
        "assisting": [{"id": p.organisation_id, "kind": orgs[p.organisation_id].kind,
                       "name": orgs[p.organisation_id].name}
                      for p in c.parties if p.active and p.role == "assist"],
        "referrals": [{"authority": r.authority, "name": routing.authority_name(r.authority)} for r in c.referrals],
        "acknowledge_due": c.acknowledge_due, "resolve_due": c.resolve_due,
        "deadlines_provisional": c.deadlines_provisional, "overdue": c.overdue,
        "escalated": c.escalated_at is not None, "created_at": c.created_at,
        "acknowledged_at": c.acknowledged_at, "resolved_at": c.resolved_at, "closed_at": c.closed_at,
        "merged_into_id": c.merged_into_id, "rating": c.rating, "rating_comment": c.rating_comment,
        "photos": [{"stage": p.stage, "width": p.width, "height": p.height,
                    "url": f"/api/v1/complaints/{c.id}/photos/{p.access_token}",
                    "thumbnail_url": f"/api/v1/complaints/{c.id}/photos/{p.access_token}?size=thumb"}
                   for p in c.photos],
        "complainant": complainant_for(user, c, v),
        "your_roles": sorted(v.roles),
        "allowed_actions": allowed_actions(c, v),
    }
    if not v.is_resident:
        out["parties"] = [{"id": p.organisation_id, "kind": orgs[p.organisation_id].kind,
                           "name": orgs[p.organisation_id].name, "role": p.role, "active": p.active,
                           "may_see_complainant": p.may_see_complainant} for p in c.parties]
        out["lat"], out["lng"] = c.lat, c.lng
    if duplicates is not None:
        out["possible_duplicates"] = duplicates
    return out


def allowed_actions(c: Complaint, v: Viewer) -> list[str]:
    """What this viewer may do now (the console shows exactly these buttons)."""
    acts = []
    for name, t in TRANSITIONS.items():
        if c.status in t["from"] and set(t["by"]) & v.roles and name != "route":
            acts.append(name)
    if "complainant" in v.roles and c.status == "resolved":
        acts.append("rate")
    return acts


# --- partners (Open311, civic/open311) --------------------------------------------------------------

@dataclass
class PartnerContact:
    """Who to contact about a case a partner filed: what the partner was given (all optional)."""

    display_name: str | None = None
    phone: str | None = None
    email: str | None = None


def submit_on_behalf(partner, data: Intake, contact: PartnerContact | None = None) -> IntakeResult:
    """File a case for a partner organisation (Open311 POST requests): exactly :func:`submit` —
    the same checks, photo pipeline, routing, deadlines and duplicate search — with the partner's
    system account (kind ``partner``) as the complainant of record, and ``contact`` kept as the
    complainant's contact (:class:`ComplaintContact`), shown masked to the parties the routing
    table allows and never to the party complained about (RULES.md §5).

    A partner cannot give a resident's separate consent to read a photo's GPS (PIPL; RULES.md §5),
    so ``gps_consent`` is always off; and a free address alone cannot be placed (no resident's
    community to fall back on): ``location_required``.
    :raises Forbidden: ``not_a_partner``.  Everything :func:`submit` raises.
    """
    import dataclasses

    if partner.kind != "partner":
        raise Forbidden("仅合作机构账号可代为提交", code="not_a_partner")
    result = submit(partner, dataclasses.replace(data, gps_consent=False))
    if contact and (contact.display_name or contact.phone or contact.email):
        db.session.add(ComplaintContact(complaint_id=result.complaint.id, display_name=contact.display_name,
                                        phone=contact.phone, email=contact.email))
        db.session.flush()
    return result


def contact_of(c: Complaint) -> ComplaintContact | None:
    """The contact a partner gave for case ``c`` (None for a resident's own case)."""
    return db.session.scalar(sa.select(ComplaintContact).where(ComplaintContact.complaint_id == c.id))


def descriptions_filed_by(user, ids: Sequence[int]) -> dict[int, str]:
    """``{case id: description}`` for the cases in ``ids`` whose complainant of record is ``user``:
    a filer (a partner reading back through Open311) may always read its own words."""
    rows = db.session.execute(sa.select(Complaint.id, Complaint.description).where(
        Complaint.id.in_(list(ids)), Complaint.complainant_id == user.id))
    return dict(rows.all())


# Staff actions whose note is written for the public (a reopen or close note is the complainant's
# own words, and the route note is internal).
PUBLIC_NOTE_ACTIONS = tuple(f"complaint.{a}" for a in ("acknowledge", "start", "resolve", "return", "reroute",
                                                        "merge"))
PUBLIC_COORD_DECIMALS = 3  # ~100 m: no finer than a compound


def public_cases(*, ids: Sequence[int] | None = None, categories: Sequence[str] | None = None,
                 since: dt.datetime | None = None, until: dt.datetime | None = None,
                 statuses: Sequence[str] | None = None, limit: int = 1000) -> list[dict]:
    """Cases as anyone may see them (the public-safe projection for Open311 and open data), newest
    first, at most ``limit``.  ``ids`` overrides every other filter; ``since``/``until`` bound
    ``created_at`` (aware datetimes, inclusive).  Each item is :func:`public_view`'s dict."""
    stmt = sa.select(Complaint)
    if ids is not None:
        stmt = stmt.where(Complaint.id.in_(list(ids)))
    else:
        if categories:
            stmt = stmt.where(Complaint.category.in_(list(categories)))
        if since is not None:
            stmt = stmt.where(Complaint.created_at >= since)
        if until is not None:
            stmt = stmt.where(Complaint.created_at <= until)
        if statuses is not None:
            stmt = stmt.where(Complaint.status.in_(list(statuses)))
    cases = db.session.scalars(stmt.order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(limit)).all()
    return _public_views(cases)


def public_view(c: Complaint) -> dict:
    """One case with nothing about the complainant and no location finer than its compound.

    ``{"id", "category", "status", "created_at", "updated_at", "closed_at", "resolve_due",
    "lead_name", "note", "address", "place_id", "lat", "lng"}`` — ``note`` is the latest public
    note (a staff action's note or a party's public message; never the complainant's words);
    ``address`` names the compound (or community) up to the district; ``place_id`` is that
    compound's id; ``lat``/``lng`` (WGS-84) are the compound's centre, or the reported point
    rounded to 3 decimals (~100 m), never a photo's GPS.  The description is not included: it is
    the complainant's own text (RULES.md §5)."""
    return _public_views([c])[0]


def _public_views(cases: Sequence[Complaint]) -> list[dict]:
    from civic.core.audit import AuditEntry

    ids = [c.id for c in cases]
    notes: dict[int, tuple[dt.datetime, int, str]] = {}

    def keep(cid: int, at: dt.datetime, order: int, text: str | None) -> None:
        if text and text.strip() and (cid not in notes or (at, order) >= notes[cid][:2]):
            notes[cid] = (at, order, text.strip())

    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for e in db.session.scalars(sa.select(AuditEntry).where(
                AuditEntry.object_type == "complaint", AuditEntry.object_id.in_([str(x) for x in chunk]),
                AuditEntry.action.in_(PUBLIC_NOTE_ACTIONS))):
            keep(int(e.object_id), e.at, e.id, e.note)
        for m in db.session.scalars(sa.select(ComplaintMessage).where(
                ComplaintMessage.complaint_id.in_(chunk), ComplaintMessage.internal.is_(False),
                ComplaintMessage.organisation_id.is_not(None))):
            keep(m.complaint_id, m.created_at, m.id, m.body)
    orgs: dict[int, object] = {}
    places: dict[int, object] = {}
    addresses: dict[int, str] = {}

    def place(pid):
        if pid not in places:
            places[pid] = registry.get_place(pid)
        return places[pid]

    out = []
    for c in cases:
        lead = None
        if c.lead_organisation_id:
            if c.lead_organisation_id not in orgs:
                orgs[c.lead_organisation_id] = registry.get_organisation(c.lead_organisation_id)
            lead = orgs[c.lead_organisation_id]
        public_place = place(c.compound_id) if c.compound_id else (place(c.community_id) if c.community_id else None)
        lat = lng = None
        if c.compound_id and public_place.centre_lat is not None:
            lat, lng = public_place.centre_lat, public_place.centre_lng
        elif c.location_source == "point" and c.lat is not None:
            lat, lng = round(c.lat, PUBLIC_COORD_DECIMALS), round(c.lng, PUBLIC_COORD_DECIMALS)
        elif public_place is not None and public_place.centre_lat is not None:
            lat, lng = public_place.centre_lat, public_place.centre_lng
        address = None
        if public_place is not None:
            if public_place.id not in addresses:  # most specific first, as Open311 asks
                addresses[public_place.id] = "，".join(
                    p.name for p in reversed(registry.ancestors(public_place))
                    if p.kind in ("compound", "community", "village", "street", "district"))
            address = addresses[public_place.id]
        out.append({"id": c.id, "category": c.category, "status": c.status, "created_at": c.created_at,
                    "updated_at": c.updated_at, "closed_at": c.closed_at or c.resolved_at,
                    "resolve_due": c.resolve_due, "lead_name": lead.name if lead else None,
                    "note": notes[c.id][2] if c.id in notes else None, "address": address,
                    "place_id": public_place.id if public_place else None, "lat": lat, "lng": lng})
    return out
