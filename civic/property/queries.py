"""Read-side queries of the registry (lists, location lookup)."""

from __future__ import annotations

import sqlalchemy as sa

from civic.core.errors import NotFound
from civic.core.pagination import paginate
from civic.extensions import db
from civic.property.models import Organisation, Place


def list_places(*, kind=None, parent_id=None, cursor=None, limit=20):
    stmt = sa.select(Place)
    if kind:
        stmt = stmt.where(Place.kind == kind)
    if parent_id is not None:
        stmt = stmt.where(Place.parent_id == parent_id)
    return paginate(stmt, [Place.id], cursor=cursor, limit=limit, descending=False)


def list_organisations(*, kind=None, cursor=None, limit=20):
    stmt = sa.select(Organisation)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    return paginate(stmt, [Organisation.id], cursor=cursor, limit=limit, descending=False)


def locate(lat: float, lng: float, datum: str = "wgs84") -> Place:
    """The smallest registered place whose boundary contains the point.

    ``(lat, lng)`` in ``datum`` (wgs84, gcj02, bd09) is converted to WGS-84 first.  Only the places
    whose bounding box holds the point are read, through the spatial index
    (:mod:`civic.property.spatial`: PostGIS on PostgreSQL, SQLite's R*Tree on SQLite), then tested
    exactly; intake by coordinates, by a photo's GPS and Open311's lat/long all come here.
    :raises NotFound: ``place_not_located``.
    """
    from civic.core.geo import locate as geo_locate
    from civic.core.geo import to_wgs84
    from civic.property.spatial import candidate_boundaries

    wlat, wlng = to_wgs84(lat, lng, datum)
    found = geo_locate(wlat, wlng, candidate_boundaries(wlat, wlng))
    if found is None:
        raise NotFound("该位置不在已登记的任何小区或社区内", code="place_not_located",
                       details={"lat": wlat, "lng": wlng})
    return db.session.get(Place, found)
