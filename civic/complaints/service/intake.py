"""Filing a case: a resident's complaint (submit) or a partner's on a resident's behalf
(submit_on_behalf, Open311), with its checks, where it is, its photos, its routing and the possible
duplicates shown to the one filing.

Rules applied: RULES.md §3 (六位一体 routing by the routing table, deadlines in working days) and §5
(a photo's GPS only with the resident's consent; a partner cannot give it).  Retried uploads are
made idempotent by the HTTP layer (civic.core.idempotency), not here.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from civic.complaints import routing
from civic.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintContact,
    ComplaintPhoto,
    ComplaintReporter,
    complaint_rtree,
)
from civic.complaints.service.assignment import _set_parties, route_note
from civic.complaints.service.duplicates import record_photo_hashes
from civic.complaints.service.photos import MAX_PHOTOS, _Staged, media_store
from civic.complaints.service.workflow import _apply, _deadlines
from civic.complaints.suggest import suggest as suggest_categories
from civic.core import audit, blur
from civic.core.db import utcnow
from civic.core.errors import Forbidden, NotFound, ValidationFailed
from civic.core.photos import StoredPhoto, process_photos
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry

MAX_DESCRIPTION = 4000
# The longest text ``GET /complaints/suggest?text=`` takes: a character percent-encodes to at most 12
# bytes (4 UTF-8 bytes), and 300 of them stay under gunicorn's 4,094-byte request line.  Longer texts,
# and any text a resident would rather keep out of access logs, go by POST (in the body).
MAX_SUGGEST_QUERY = 300
DUPLICATE_RADIUS_M = 100
DUPLICATE_WINDOW = dt.timedelta(days=14)


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
    #: The category's finer kind (routing.details: noise → construction, social_life, decoration).
    category_detail: str | None = None
    #: The party kind the complaint is about (e.g. the property company that cut the hedge): it
    #: never leads the case nor sees the complainant (issue #18 point 3).
    complained_kind: str | None = None


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
        # A unit stands where its building is (its registry point, footprint or compound: issue #18
        # point 4), so that a case filed from the list meets one pinned on the map.
        lat, lng = registry.coordinates_of(place)
        return place, lat, lng, "place"
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


def submit(actor, data: Intake, *, now: dt.datetime | None = None) -> IntakeResult:
    """File a resident's complaint and route it.

    :param data: category (glossary id) and optionally its ``category_detail`` (routed by the
        detail's rule) and ``complained_kind`` (the party complained about, never the lead),
        description (Chinese, ≤ 4,000 characters after tidying), 1-9 photos as ``(filename, bytes)``
        (0-9 for a ``photo_optional`` category: noise), and where: ``place_id`` (a unit, building or
        compound), or ``lat``/``lng`` with their ``datum`` (wgs84, gcj02, bd09; placed by the
        registry's boundaries), or ``address`` (free text; routed by the resident's own community),
        or, with ``gps_consent``, the first photo's GPS.
    :returns: the routed case and possible duplicates (open cases of the same category within
        100 m or in the same building in the last 14 days).
    :raises ValidationFailed: ``category_unknown``, ``category_detail_unknown``,
        ``complained_kind_unknown``, ``text_required``, ``text_too_long``, ``photos_required``, ``too_many_photos``, ``location_required``, ``location_not_covered``,
        ``place_kind_invalid``; photo errors (``photo_format_unsupported``, ``photo_too_large``,
        ``photo_corrupt``, ...) from the pipeline.  Nothing is stored when any check fails: the
        photos are processed in memory and written to the media store only after every check.
        ``location_not_covered`` also when the only location is a consented photo GPS outside the
        registry (a resident's own unit is used for a free address).
    :param now: the filing time (aware; default: now); deadlines count from it (tests set it).
    """
    if data.category not in routing.categories():
        raise ValidationFailed("未知的案件类别", code="category_unknown", details={"category": data.category})
    _check_detail(data)
    description = require_text(data.description, "description", MAX_DESCRIPTION)
    if not data.photos and not routing.photo_optional(data.category):
        raise ValidationFailed("请至少上传 1 张照片", code="photos_required",
                               details={"category": data.category})
    if len(data.photos) > MAX_PHOTOS:
        raise ValidationFailed(f"最多上传 {MAX_PHOTOS} 张照片", code="too_many_photos",
                               details={"max": MAX_PHOTOS, "count": len(data.photos)})
    if data.place_id is None and data.lat is None and data.lng is None and not data.address and not data.gps_consent:
        raise ValidationFailed("请选择房屋/楼/小区，或在地图上选点，或填写地址", code="location_required")
    staged = _Staged()
    stored = process_photos(list(data.photos), store=staged, read_gps=data.gps_consent)
    place, lat, lng, source = _place_for_intake(actor, data, stored)
    now = now or utcnow()
    c = Complaint(category=data.category, category_detail=data.category_detail or None,
                  complained_kind=data.complained_kind or None, description=description, status="submitted",
                  complainant_id=actor.id, place_id=place.id, address_text=(data.address or None),
                  lat=lat, lng=lng, location_source=source, gps_consent=data.gps_consent,
                  urgent=data.urgent, created_at=now, updated_at=now, **_ladder(place))
    db.session.add(c)
    db.session.flush()
    audit.record("complaint.submit", "complaint", c.id, actor=actor, data={"category": c.category})
    rows = []
    for p in stored:
        row = ComplaintPhoto(complaint_id=c.id, stage="intake", access_token=secrets.token_urlsafe(32),
                             display_key=p.display_key, thumb_key=p.thumb_key, width=p.width,
                             height=p.height, uploaded_by=actor.id)
        db.session.add(row)
        rows.append((row, staged.open(p.display_key)))
    # Faces and plates are found in the queue after the commit: intake never waits for the detector.
    blur.request_all(stored)
    db.session.add(ComplaintReporter(complaint_id=c.id, user_id=actor.id, via_complaint_id=c.id))
    db.session.flush()
    record_photo_hashes(rows)
    rule = routing.rule_for(c.district_id, c.category, c.category_detail)
    _deadlines(c, rule, now)
    _set_parties(c, place, rule)
    _apply(c, "route", actor=None, note=route_note(c.category), now=now)
    duplicates = possible_duplicates(c)
    db.session.flush()
    staged.write_to(media_store())
    return IntakeResult(c, duplicates)


def _check_detail(data: Intake) -> None:
    if data.category_detail and data.category_detail not in routing.details(data.category):
        raise ValidationFailed("该类别没有这一细分", code="category_detail_unknown",
                               details={"category": data.category, "category_detail": data.category_detail,
                                        "allowed": list(routing.details(data.category))})
    if data.complained_kind and data.complained_kind not in routing.LEAD_KINDS:
        raise ValidationFailed("被投诉方须为六方或村民委员会之一", code="complained_kind_unknown",
                               details={"complained_kind": data.complained_kind, "allowed": list(routing.LEAD_KINDS)})


def possible_duplicates(c: Complaint) -> list[dict]:
    """Open cases of the same category, filed in the last 14 days, within 100 m (WGS-84 haversine
    after PostGIS's ST_DWithin on PostgreSQL, after SQLite's R*Tree ``complaint_rtree`` on SQLite) or
    in the same building."""
    from civic.core.geo import bbox_around, distance_m

    since = (c.created_at or utcnow()) - DUPLICATE_WINDOW
    base = sa.select(Complaint).where(
        Complaint.category == c.category, Complaint.created_at >= since,
        Complaint.status.in_(OPEN_STATUSES), Complaint.id != c.id)
    conds = []
    if c.building_id:
        conds.append(Complaint.building_id == c.building_id)
    if c.lat is not None and c.lng is not None:
        if db.session.connection().dialect.name == "postgresql":
            # PostGIS's index of the cases' points (migration 0023_spatial): ST_DWithin in metres on
            # the spheroid, widened by 1 % so it holds every point the spherical test below keeps
            # (the two differ by under 0.5 %).
            conds.append(sa.text(
                "lat IS NOT NULL AND lng IS NOT NULL AND postgis.ST_DWithin("
                "postgis.geography(postgis.ST_SetSRID(postgis.ST_MakePoint(lng, lat), 4326)), "
                "postgis.geography(postgis.ST_SetSRID(postgis.ST_MakePoint(:dup_lng, :dup_lat), 4326)), "
                ":dup_m)").bindparams(dup_lng=c.lng, dup_lat=c.lat, dup_m=DUPLICATE_RADIUS_M * 1.01))
        else:
            # SQLite's R*Tree of the cases' points (migration 0024_rtree): the ids in the box around
            # the radius, read from the tree, never a scan of the cases' coordinates.
            a, b, cc, d = bbox_around(c.lat, c.lng, DUPLICATE_RADIUS_M)
            conds.append(Complaint.id.in_(sa.select(complaint_rtree.c.id).where(
                complaint_rtree.c.max_lat >= a, complaint_rtree.c.min_lat <= cc,
                complaint_rtree.c.max_lng >= b, complaint_rtree.c.min_lng <= d)))
    if not conds:
        return []
    out = []
    for other in db.session.scalars(base.where(sa.or_(*conds)).order_by(Complaint.id.desc()).limit(20)):
        dist = None
        if c.lat is not None and other.lat is not None:
            dist = distance_m((c.lat, c.lng), (other.lat, other.lng))
        same_building = bool(c.building_id and other.building_id == c.building_id)
        if c.location_source == "place" and other.location_source == "place":
            dist = None  # both placed from the registry list: their buildings decide (service.duplicates)
        if same_building or (dist is not None and dist <= DUPLICATE_RADIUS_M):
            out.append({"id": other.id, "status": other.status, "created_at": other.created_at,
                        "distance_m": round(dist, 1) if dist is not None else None,
                        "same_building": same_building})
    return out


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


def suggest(text: str | None, *, max_len: int = MAX_DESCRIPTION) -> dict:
    """Suggest up to three categories for a complaint's text, tidied as a description is.

    :param text: the resident's draft (title and body together); tidied (civic.core.text.tidy).
    :param max_len: the longest tidied text taken: :data:`MAX_DESCRIPTION` (4,000 characters, the
        description's own limit) for a text sent in a body, :data:`MAX_SUGGEST_QUERY` (300) in a URL.
    :returns: ``{"verdict", "prompt", "not_a_complaint", "suggestions": [{"category", "name", "score"}]}``
        (civic.complaints.suggest.suggest: calibrated probabilities, up to three categories).
    :raises ValidationFailed: 422 ``text_required`` (nothing left after tidying), ``text_too_long``
        (details ``{"field": "text", "max", "length"}``).
    """
    return suggest_categories(require_text(text, "text", max_len), limit=3)
