"""“我也遇到” (me too, 附议) and "cases near me" (issue #18 point 5, issue #21 point 1).

A resident who sees an open case near them -- of their own compound, or within a radius of a point
they send -- joins it instead of filing the same problem again: they follow it (it is among their
cases), are notified of its steps like its reporters, may add photos through the same pipeline,
and the case counts its supporters.  One row per resident per case; leaving deletes it.

Verbs: nearby (the list, public-safe: no person, no unit, no free text), join, leave, and for the
rest of the package: supporter_counts, supported_by, supporters_of (who follows a case: notifications),
carry_on_merge (a merged case's supporters follow the case it went into), own_compounds.

Rules applied: RULES.md §5 (PIPL): a supporter's identity is shown to nobody else -- not to the
complainant, not to any party (the parties see only the count), the same rule a co-complainant
gets (civic.complaints.service.privacy: their names, phones and units are taken out of any text
shown to a party that may not see the complainant, and a case at a supporter's own unit is shown at
its building).  The nearby list shows no photo: civic has no review that marks a photo public-safe
(faces, door numbers, plates), and when unsure, no photo.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from civic.complaints.models import (
    OPEN_SQL,
    OPEN_STATUSES,
    Complaint,
    ComplaintPhoto,
    ComplaintReporter,
    ComplaintSupporter,
)
from civic.complaints.service.photos import _Staged, media_store
from civic.complaints.service.workflow import STATUS_NAMES, require_open
from civic.complaints.suggest import category_names
from civic.core import audit, blur
from civic.core.errors import Forbidden, NotFound, ValidationFailed
from civic.core.pagination import decode_cursor, encode_cursor
from civic.extensions import db
from civic.property import service as registry

#: The radius of "cases near me" when the resident sends a point without one, and its cap (metres):
#: a neighbourhood, walking distance; beyond it a case is not "near" and the list would grow with
#: the city.
NEARBY_DEFAULT_M = 500
NEARBY_MAX_M = 2000
#: Photos one supporter may add to one case (the reporter's intake allows 9 for the whole case).
MAX_SUPPORT_PHOTOS = 3


@dataclass(frozen=True)
class Point:
    """Where the resident is: WGS-84 ``lat``/``lng`` (decimal degrees) and a radius in metres."""

    lat: float
    lng: float
    radius_m: int


def point_from(lat, lng, datum, radius_m=None) -> Point | None:
    """The resident's point converted to WGS-84, or None when none was sent.

    :raises ValidationFailed: ``location_incomplete`` (lat without lng, or no datum),
        ``radius_invalid`` (not 1..:data:`NEARBY_MAX_M` metres), ``datum_unknown``,
        ``coordinate_invalid`` (civic.core.geo.to_wgs84).
    """
    from civic.core.geo import to_wgs84

    if lat is None and lng is None:
        if radius_m is not None:
            raise ValidationFailed("半径须与坐标一起提供", code="location_incomplete")
        return None
    if lat is None or lng is None or not datum:
        raise ValidationFailed("坐标须同时提供 lat、lng 和坐标系 datum", code="location_incomplete")
    radius = NEARBY_DEFAULT_M if radius_m is None else radius_m
    if isinstance(radius, bool) or not isinstance(radius, int) or not 1 <= radius <= NEARBY_MAX_M:
        raise ValidationFailed(f"半径须为 1 至 {NEARBY_MAX_M} 米", code="radius_invalid",
                               details={"radius_m": radius_m, "max": NEARBY_MAX_M})
    wlat, wlng = to_wgs84(lat, lng, datum)
    return Point(wlat, wlng, radius)


def own_compounds(user) -> list[int]:
    """Ids of the compounds of the units ``user`` is tied to (a confirmed unit claim links the
    resident to the unit: civic.residents.service.confirm_claim → property's ties), lowest first."""
    above = {i for _link, unit in registry.units_of_resident(user.id) for i in unit.ancestor_ids}
    if not above:
        return []
    return list(db.session.scalars(sa.select(registry.Place.id).where(
        registry.Place.id.in_(sorted(above)), registry.Place.kind == "compound").order_by(registry.Place.id)))


def _within(point: Point, radius_m: float) -> list[tuple[int, float, float]]:
    """``(id, lat, lng)`` of the open cases whose point lies within ``radius_m`` of ``point``, read
    through the spatial index: PostGIS ``ST_DWithin`` on the partial GiST index of the open cases'
    points (migration 0027) on PostgreSQL; on SQLite the R*Tree ``complaint_rtree`` (migration 0024_rtree),
    then the exact spherical test.  Never a scan of every case."""
    from civic.core.geo import bbox_around, distance_m

    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        # The literal OPEN_SQL and point expression repeat the partial index's own text (so the
        # planner can use it); 1 % wider than the spherical test below, which has the last word.
        rows = db.session.execute(sa.text(
            "SELECT id, lat, lng FROM complaint WHERE lat IS NOT NULL AND lng IS NOT NULL AND "
            f"{OPEN_SQL} AND postgis.ST_DWithin("
            "postgis.geography(postgis.ST_SetSRID(postgis.ST_MakePoint(lng, lat), 4326)), "
            "postgis.geography(postgis.ST_SetSRID(postgis.ST_MakePoint(:lng, :lat), 4326)), :m)"),
            {"lat": point.lat, "lng": point.lng, "m": radius_m * 1.01}).all()
    else:
        # SQLite's R*Tree of the cases' points (migration 0024_rtree), as for locate and the
        # duplicate radius: the ids in the box around the radius come from the tree, the open ones
        # are kept by primary key.
        a, b, c, d = bbox_around(point.lat, point.lng, radius_m)
        rows = db.session.execute(sa.text(
            "SELECT complaint.id, complaint.lat, complaint.lng FROM complaint_rtree r "
            "JOIN complaint ON complaint.id = r.id WHERE r.max_lat >= :a AND r.min_lat <= :c "
            f"AND r.max_lng >= :b AND r.min_lng <= :d AND {OPEN_SQL.replace('status', 'complaint.status')}"),
            {"a": a, "b": b, "c": c, "d": d}).all()
    return [(r.id, r.lat, r.lng) for r in rows if distance_m((point.lat, point.lng), (r.lat, r.lng)) <= radius_m]


def nearby(user, *, lat=None, lng=None, datum=None, radius_m=None, cursor: str | None = None,
           limit: int = 20) -> tuple[list[dict], str | None]:
    """The OPEN cases near a resident, as anyone may see them (no person, no unit, no free text).

    With a point (``lat``/``lng`` in ``datum``; ``radius_m`` metres, default
    :data:`NEARBY_DEFAULT_M`, at most :data:`NEARBY_MAX_M`): the open cases within the radius,
    nearest first (ties by id).  Without one: the open cases of the resident's own compounds (their
    confirmed units), newest first.  Keyset-paged: ``(items, next_cursor)``.

    Each item: ``{"id", "category", "category_name", "status", "status_name", "title", "place":
    {"id", "kind", "name"} (the compound, or the community for a case placed above any compound),
    "created_at", "distance_m" (metres, integer; None without a point), "supporters" (count),
    "thumbnail_url" (always None: no photo is known to be public-safe), "mine" (the resident
    reported it), "supported" (the resident already joined)}``.
    :raises ValidationFailed: ``location_required`` (no point and no confirmed unit), the errors of
        :func:`point_from`.  :raises BadRequest: ``cursor_invalid``.
    """
    from civic.core.geo import distance_m

    point = point_from(lat, lng, datum, radius_m)
    if point is not None:
        found = sorted(((round(distance_m((point.lat, point.lng), (la, ln)), 1), cid) for cid, la, ln in
                        _within(point, point.radius_m)))
        if cursor:
            last = decode_cursor(cursor, 2)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in last):
                from civic.core.errors import BadRequest

                raise BadRequest("分页游标无效", code="cursor_invalid")
            found = [f for f in found if (f[0], f[1]) > (last[0], last[1])]
        page, more = found[:limit], len(found) > limit
        next_cursor = encode_cursor([page[-1][0], page[-1][1]]) if more else None
        distances = {cid: d for d, cid in page}
        ids = [cid for _d, cid in page]
    else:
        compounds = own_compounds(user)
        if not compounds:
            raise ValidationFailed("请在地图上选点，或先认证您的房屋，再查看附近的问题", code="location_required")
        from civic.core.pagination import cursor_values

        page = sa.select(Complaint.id).where(Complaint.compound_id.in_(compounds),
                                             Complaint.status.in_(OPEN_STATUSES))
        if cursor:
            (last_id,) = cursor_values(cursor, [Complaint.id])
            page = page.where(Complaint.id < last_id)
        # The page's ids (one range of ix_complaint_compound_status, LIMIT inside) and their rows in
        # one statement: a round trip less per request.
        rows = _item_rows(user, Complaint.id.in_(page.order_by(Complaint.id.desc()).limit(limit + 1)),
                          Complaint.id.desc())
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id]) if more else None
        return _public_items([r.id for r in rows], {r.id: r for r in rows}, {}), next_cursor
    rows = {r.id: r for r in _item_rows(user, Complaint.id.in_(ids))} if ids else {}
    return _public_items(ids, rows, distances), next_cursor


def _item_rows(user, where, order_by=None) -> list:
    """The columns of a nearby item for the cases matching ``where``, with their supporters' count
    and whether ``user`` supports / reported each, in ONE statement (correlated sub-selects on the
    unique indexes (complaint_id, user_id) of complaint_supporter and complaint_reporter: a few
    index probes per case of a page; they were three more round trips per request)."""
    cid = Complaint.id
    stmt = sa.select(
        cid, Complaint.category, Complaint.status, Complaint.compound_id, Complaint.community_id,
        Complaint.created_at,
        sa.select(sa.func.count()).where(ComplaintSupporter.complaint_id == cid)
        .correlate(Complaint).scalar_subquery().label("supporters"),
        sa.exists().where(ComplaintSupporter.complaint_id == cid, ComplaintSupporter.user_id == user.id)
        .correlate(Complaint).label("supported"),
        sa.exists().where(ComplaintReporter.complaint_id == cid, ComplaintReporter.user_id == user.id)
        .correlate(Complaint).label("mine"),
    ).where(where)
    if order_by is not None:
        stmt = stmt.order_by(order_by)
    return list(db.session.execute(stmt).all())


def _public_items(ids: list[int], rows: dict, distances: dict[int, float]) -> list[dict]:
    """The items of :func:`nearby` in the order of ``ids``, from :func:`_item_rows`' rows; the
    page's compounds and communities read in one query (property's ``places_by_ids``)."""
    if not ids:
        return []
    places = registry.places_by_ids({rows[i].compound_id or rows[i].community_id for i in ids} - {None})
    names = category_names()
    out = []
    for cid in ids:
        c = rows[cid]
        pid = c.compound_id or c.community_id
        place = places.get(pid) if pid else None
        cat = names.get(c.category, c.category)
        out.append({"id": c.id, "category": c.category, "category_name": cat, "status": c.status,
                    "status_name": STATUS_NAMES[c.status],
                    "title": f"{cat}（{place.name}）" if place is not None else cat,
                    "place": {"id": place.id, "kind": place.kind, "name": place.name} if place is not None else None,
                    "created_at": c.created_at,
                    "distance_m": round(distances[cid]) if cid in distances else None,
                    "supporters": c.supporters or 0, "thumbnail_url": None,
                    "mine": bool(c.mine), "supported": bool(c.supported)})
    return out


# --- who supports what -------------------------------------------------------------------------

def supporter_counts(ids: Iterable[int]) -> dict[int, int]:
    """``{case id: supporters}`` for the cases in ``ids`` that have any: one grouped read of the
    unique index (complaint_id, user_id) -- a page of cases, not a scan."""
    ids = list(ids)
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(ComplaintSupporter.complaint_id, sa.func.count()).where(
        ComplaintSupporter.complaint_id.in_(ids)).group_by(ComplaintSupporter.complaint_id)).all())


def supported_by(user, ids: Iterable[int]) -> set[int]:
    """The ids among ``ids`` of the cases ``user`` supports."""
    ids = list(ids)
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(ComplaintSupporter.complaint_id).where(
        ComplaintSupporter.complaint_id.in_(ids), ComplaintSupporter.user_id == user.id)))


def supporters_of(complaint_id: int) -> list[int]:
    """The user ids of the case's supporters (for notifications), lowest first."""
    return list(db.session.scalars(sa.select(ComplaintSupporter.user_id).where(
        ComplaintSupporter.complaint_id == complaint_id).order_by(ComplaintSupporter.user_id)))


def carry_on_merge(source: Complaint, target: Complaint) -> None:
    """A case merged into another: its supporters follow the target (as its reporters do), except
    those who report or already support the target.  A target's supporter who became one of its
    reporters through this merge is a supporter no more (a reporter follows it anyway)."""
    reporters = set(db.session.scalars(sa.select(ComplaintReporter.user_id).where(
        ComplaintReporter.complaint_id == target.id)))
    have = set(supporters_of(target.id))
    for uid in supporters_of(source.id):
        if uid not in reporters and uid not in have:
            db.session.add(ComplaintSupporter(complaint_id=target.id, user_id=uid))
            have.add(uid)
    for s in db.session.scalars(sa.select(ComplaintSupporter).where(
            ComplaintSupporter.complaint_id == target.id, ComplaintSupporter.user_id.in_(reporters))):
        db.session.delete(s)


# --- joining and leaving ------------------------------------------------------------------------

def _is_reporter(c: Complaint, user) -> bool:
    return c.complainant_id == user.id or db.session.scalar(sa.select(ComplaintReporter.id).where(
        ComplaintReporter.complaint_id == c.id, ComplaintReporter.user_id == user.id)) is not None


def _row(c: Complaint, user) -> ComplaintSupporter | None:
    return db.session.scalar(sa.select(ComplaintSupporter).where(
        ComplaintSupporter.complaint_id == c.id, ComplaintSupporter.user_id == user.id))


def may_see_nearby(user, c: Complaint, point: Point | None) -> bool:
    """Whether ``c`` is near ``user`` as "cases near me" finds cases: in one of their compounds,
    or with its point within :data:`NEARBY_MAX_M` of the point they sent.  The case's state is not
    part of it: a closed case near them is refused for its state (409), after this check."""
    from civic.core.geo import distance_m

    if c.compound_id and c.compound_id in own_compounds(user):
        return True
    return (point is not None and c.lat is not None and c.lng is not None
            and distance_m((point.lat, point.lng), (c.lat, c.lng)) <= NEARBY_MAX_M)


def _case_for(user, complaint_id: int, point: Point | None) -> tuple[Complaint, ComplaintSupporter | None]:
    """The case as a resident acting on it sees it (permission before state, issue #15): 404 unless
    it is near them, theirs, or already supported by them; 403 ``own_case`` for its reporters."""
    c = db.session.get(Complaint, complaint_id)
    not_found = NotFound("找不到该案件", code="complaint_not_found", details={"complaint_id": complaint_id})
    if c is None or user.kind != "resident":
        raise not_found
    row = _row(c, user)
    reporter = _is_reporter(c, user)
    if row is None and not reporter and not may_see_nearby(user, c, point):
        raise not_found
    if reporter:
        raise Forbidden("这是您自己反映的问题，无需附议", code="own_case", details={"complaint_id": c.id})
    return c, row


def join(user, complaint_id: int, *, lat=None, lng=None, datum=None,
         photos: Sequence[tuple[str, bytes]] = ()) -> tuple[ComplaintSupporter, bool]:
    """“我也遇到”: ``user`` (a resident) joins case ``complaint_id`` instead of filing it again.

    The case must be one "cases near me" shows them (their compound, or within
    :data:`NEARBY_MAX_M` of the point ``lat``/``lng``/``datum`` they send), not theirs, and open.
    Up to :data:`MAX_SUPPORT_PHOTOS` photos (``(filename, bytes)``) go through the intake's photo
    pipeline (civic.core.photos: sniffed, upright, EXIF and GPS stripped, shrunk; GPS never read),
    processed in memory and stored only once every check passed (fail closed: one bad photo, nothing
    stored).  A photo already added by them (the same processed file) is not added twice.

    :returns: ``(row, created)``: ``created`` False when they already support it (a retry returns
        the same row; photos sent with it are added).
    :raises NotFound: ``complaint_not_found`` (unknown, or not near them).  :raises Forbidden:
        ``own_case``.  :raises Conflict: ``complaint_closed``, ``complaint_merged``.
        :raises ValidationFailed: ``too_many_photos``, the pipeline's photo errors, the errors of
        :func:`point_from`.  :raises RateLimited: ``rate_limited`` (``RATELIMIT_COMPLAINT_SUPPORT``
        new joins per resident, default 10 an hour and 20 a day: "me too" is a signal staff weigh, not a vote to
        stuff).
    """
    from civic.core.http import count_attempt
    from civic.core.photos import process_photos

    point = point_from(lat, lng, datum)
    c, row = _case_for(user, complaint_id, point)
    if row is not None and not photos:
        return row, False  # a retry: the same row, nothing changes (even if the case closed since)
    require_open(c, "附议")
    have = db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintPhoto).where(
        ComplaintPhoto.complaint_id == c.id, ComplaintPhoto.stage == "support",
        ComplaintPhoto.uploaded_by == user.id)) or 0
    staged = _Staged()
    stored = process_photos(list(photos), store=staged, read_gps=False) if photos else []
    known = set(db.session.scalars(sa.select(ComplaintPhoto.display_key).where(
        ComplaintPhoto.complaint_id == c.id, ComplaintPhoto.uploaded_by == user.id)))
    fresh = []
    for p in stored:
        if p.display_key not in known:
            known.add(p.display_key)
            fresh.append(p)
    if have + len(fresh) > MAX_SUPPORT_PHOTOS:
        raise ValidationFailed(f"每位附议居民最多上传 {MAX_SUPPORT_PHOTOS} 张照片", code="too_many_photos",
                               details={"max": MAX_SUPPORT_PHOTOS, "count": have + len(fresh)})
    created = False
    if row is None:
        count_attempt("complaint_support", current_app.config["RATELIMIT_COMPLAINT_SUPPORT"], f"user:{user.id}")
        try:
            with db.session.begin_nested():
                row = ComplaintSupporter(complaint_id=c.id, user_id=user.id)
                db.session.add(row)
                db.session.flush()
            created = True
        except IntegrityError:
            row = _row(c, user)  # the same resident's other request joined first: that row
        if created:
            audit.record("complaint.supported", "complaint", c.id, actor=user, actor_role="resident")
    for p in fresh:
        db.session.add(ComplaintPhoto(complaint_id=c.id, stage="support", access_token=secrets.token_urlsafe(32),
                                      display_key=p.display_key, thumb_key=p.thumb_key, width=p.width,
                                      height=p.height, uploaded_by=user.id))
    if fresh:
        audit.record("complaint.support_photos", "complaint", c.id, actor=user, actor_role="resident",
                     data={"count": len(fresh)})
    db.session.flush()
    staged.write_to(media_store())
    blur.request_all(stored)  # faces and plates found in the queue, before anyone beyond the circle sees it
    return row, created


def leave(user, complaint_id: int) -> None:
    """Stop supporting a case: the row is deleted (the count drops, notifications stop).  Leaving a
    case one does not support changes nothing.  Allowed whatever the case's state: following it is
    the resident's own choice.  Photos they added stay with the case (facts of the case, as intake
    photos do).  :raises NotFound: ``complaint_not_found``.  :raises Forbidden: ``own_case``."""
    c, row = _case_for(user, complaint_id, None)
    if row is not None:
        db.session.delete(row)
        audit.record("complaint.unsupported", "complaint", c.id, actor=user, actor_role="resident")
        db.session.flush()


def view(c_id: int, user) -> dict:
    """What ``POST .../supporters`` answers: ``{"complaint_id", "supported": True, "since",
    "supporters" (the case's count now), "photos" (how many the resident added)}``."""
    row = db.session.scalar(sa.select(ComplaintSupporter).where(
        ComplaintSupporter.complaint_id == c_id, ComplaintSupporter.user_id == user.id))
    photos = db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintPhoto).where(
        ComplaintPhoto.complaint_id == c_id, ComplaintPhoto.stage == "support",
        ComplaintPhoto.uploaded_by == user.id)) or 0
    return {"complaint_id": c_id, "supported": row is not None, "since": row.created_at if row else None,
            "supporters": supporter_counts([c_id]).get(c_id, 0), "photos": photos}
