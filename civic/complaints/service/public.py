"""What is read of cases outside the handling parties: the public-safe projection (Open311 and
open data: nothing about the complainant, no location finer than a compound) and a filer's own
words read back (a partner through Open311).

Verbs: public_cases, public_view, descriptions_filed_by.  Rules applied: RULES.md §5.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from civic.complaints.models import Complaint, ComplaintMessage
from civic.extensions import db
from civic.property import service as registry


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
                 statuses: Sequence[str] | None = None, limit: int = 1000, offset: int = 0) -> list[dict]:
    """Cases as anyone may see them (the public-safe projection for Open311 and open data), newest
    first, at most ``limit`` after skipping ``offset``.  ``ids`` overrides every other filter;
    ``since``/``until`` bound ``created_at`` (aware datetimes, inclusive): a range of the index
    ``ix_complaint_created`` (created_at, id), read from its newest end.  Each item is
    :func:`public_view`'s dict."""
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
    cases = db.session.scalars(stmt.order_by(Complaint.created_at.desc(), Complaint.id.desc())
                               .limit(limit).offset(offset)).all()
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
    # The lead organisations, the public places and every place above them, for the whole list at
    # once (three queries, not three per case: a page of Open311's list at city scale).
    orgs = registry.organisations_by_ids(c.lead_organisation_id for c in cases if c.lead_organisation_id)
    places = registry.places_by_ids(c.compound_id or c.community_id for c in cases
                                    if c.compound_id or c.community_id)
    above = {i for p in places.values() for i in p.ancestor_ids} - places.keys()
    places.update(registry.places_by_ids(above))
    addresses: dict[int, str] = {}

    out = []
    for c in cases:
        lead = orgs.get(c.lead_organisation_id) if c.lead_organisation_id else None
        public_id = c.compound_id or c.community_id
        public_place = places.get(public_id) if public_id else None
        lat = lng = None
        if c.compound_id and public_place is not None and public_place.centre_lat is not None:
            lat, lng = public_place.centre_lat, public_place.centre_lng
        elif c.location_source == "point" and c.lat is not None:
            lat, lng = round(c.lat, PUBLIC_COORD_DECIMALS), round(c.lng, PUBLIC_COORD_DECIMALS)
        elif public_place is not None and public_place.centre_lat is not None:
            lat, lng = public_place.centre_lat, public_place.centre_lng
        address = None
        if public_place is not None:
            if public_place.id not in addresses:  # most specific first, as Open311 asks
                addresses[public_place.id] = "，".join(
                    p.name for p in (places[i] for i in reversed(public_place.ancestor_ids) if i in places)
                    if p.kind in ("compound", "community", "village", "street", "district"))
            address = addresses[public_place.id]
        out.append({"id": c.id, "category": c.category, "status": c.status, "created_at": c.created_at,
                    "updated_at": c.updated_at, "closed_at": c.closed_at or c.resolved_at,
                    "resolve_due": c.resolve_due, "lead_name": lead.name if lead else None,
                    "note": notes[c.id][2] if c.id in notes else None, "address": address,
                    "place_id": public_place.id if public_place else None, "lat": lat, "lng": lng})
    return out


# --- the public photo (Open311's media_url) ---------------------------------------------------------

def _public_photo_token(photo) -> str:
    """The public address's token of a case photo: derived from its private token with the app's
    secret (HMAC-SHA-256), so it opens the blurred rendition at the public address and nothing else."""
    import base64
    import hashlib
    import hmac

    from flask import current_app

    mac = hmac.new(current_app.config["SECRET_KEY"].encode(), f"public-photo:{photo.access_token}".encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def public_photo_paths(ids: Sequence[int]) -> dict[int, str]:
    """``{case id: "<case id>/<token>"}`` for cases whose first intake photo has its blurred rendition:
    the path of the photo anyone may see (Open311's ``media_url``; issue #19).  A case whose photo is
    still being blurred has none yet: the original is never public."""
    from civic.complaints.models import ComplaintPhoto
    from civic.core import blur

    out: dict[int, str] = {}
    rows = db.session.scalars(sa.select(ComplaintPhoto).where(ComplaintPhoto.complaint_id.in_(list(ids)),
                                                              ComplaintPhoto.stage == "intake")
                              .order_by(ComplaintPhoto.id)).all()
    # The blur states of the whole page's photos in one query (was one query per photo: 27
    # statements for Open311's first page on the bench city).
    states = blur.states((p.display_key for p in rows), original=False)
    for p in rows:
        if p.complaint_id not in out and states[p.display_key] == "blurred":
            out[p.complaint_id] = f"{p.complaint_id}/{_public_photo_token(p)}"
    return out


def public_photo(complaint_id: int, token: str, size: str | None = None) -> tuple[str, str]:
    """The store keys ``(display, thumb)`` of a case's intake photo at its public address: the blurred
    rendition only (:func:`civic.core.blur.keys_for` with ``original=False``), for anyone.

    :raises NotFound: ``photo_not_found`` (unknown case or token).
    :raises Conflict: 409 ``photo_blur_pending`` (not blurred yet).
    """
    import hmac

    from civic.complaints.models import ComplaintPhoto
    from civic.core import blur
    from civic.core.errors import NotFound

    for p in db.session.scalars(sa.select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == complaint_id,
                                                                ComplaintPhoto.stage == "intake")):
        if hmac.compare_digest(_public_photo_token(p).encode(), str(token).encode()):
            return blur.keys_for(p.display_key, p.thumb_key, original=False)
    raise NotFound("找不到该照片", code="photo_not_found")
