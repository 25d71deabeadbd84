"""Possible duplicates of a case as its handling parties see them (issue #18 point 4), with the
reasons each candidate is one, and the perceptual hashes of intake photos that find the same photo
filed twice.

Verbs: duplicates_for (``GET /complaints/{id}/duplicates`` and the console's case page),
record_photo_hashes (intake), photo_hash, text_similarity.  Merging is the workflow's ``merge``
transition (:func:`civic.complaints.service.workflow.transition`: triage or oversight, audited, a
retried request is answered from its Idempotency-Key record and a second merge is 409
``complaint_merged``).

A candidate is an open case (it can still be merged into, or be merged) that is, for a party of the
case:

* **near**: in the same building, or within :data:`DUPLICATE_RADIUS_M` metres (WGS-84), filed within
  :data:`DUPLICATE_WINDOW` before or after the case, and of the same category, or of any category
  when the two descriptions are alike (an ``other`` case is compared by its words, not as one
  category).  Two cases placed by a registry place (a unit or building picked from the list) are
  near only when they are in the same building: a building without registry coordinates stands at
  its compound's centre (civic.property.service.building_centre), so its distance to another such
  building says nothing; against a pin dropped on the map, the distance counts;
* **the same photo**: an intake photo whose pHash is within :data:`PHASH_MAX_DISTANCE` bits of one
  of the case's, whatever the category, place and date.

Nothing of another case's reporters is shown (no name, phone, unit or description): the candidate's
id, category, status, filing time and the reasons.  A resident who reported the case gets the near
candidates of the same category only, as at filing (``possible_duplicates``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

import sqlalchemy as sa

from civic.complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintPhoto,
    ComplaintPhotoHash,
    ComplaintPhotoHashBand,
)
from civic.complaints.service.privacy import get_for
from civic.complaints.suggest import category_names
from civic.extensions import db

#: Two photos whose 64-bit pHashes differ in at most this many bits are the same photo (a
#: re-encoded, resized or lightly cropped copy differs in 0-4; unrelated photos in ~32).  Below 8,
#: so every such pair shares one of the 8 bands the index holds.
PHASH_MAX_DISTANCE = 6
#: Character-bigram Jaccard similarity from which two descriptions are alike.  Measured on the 128
#: real messages of shared/data/messages_community_unlabeled.csv (8,128 pairs): 99 % of pairs are
#: under 0.05, and every pair above 0.10 is about one problem (the same 两证合一 request, 0.81-0.94;
#: one mixing plant's noise told twice, 0.14); 0.15 leaves room for short texts, whose few bigrams
#: overlap by chance more easily.  Only cases already near each other are compared.
TEXT_MIN_SIMILARITY = 0.15
#: A photo whose grey levels vary less than this (standard deviation, 0-255) is blank (a black or
#: white frame, a lens cap): every such photo has the same hash, which says nothing.
FLAT_STDDEV = 6.0
BANDS = 8

_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def photo_hash(data: bytes) -> str | None:
    """The pHash (imagehash.phash, 8×8 = 64 bits) of an image as 16 hex digits, or None for a blank
    image (:data:`FLAT_STDDEV`)."""
    import imagehash
    from PIL import Image, ImageStat

    with Image.open(io.BytesIO(data)) as im:
        # pHash looks at a 32×32 grey thumbnail: let libjpeg decode at 1/8 scale and in grey (the
        # display copy is a JPEG), a fraction of a full decode (bench/photo_hash.py).
        im.draft("L", (128, 128))
        grey = im.convert("L")
    if ImageStat.Stat(grey).stddev[0] < FLAT_STDDEV:
        return None
    return str(imagehash.phash(grey))


def _bands(phash: str) -> list[tuple[int, int]]:
    value = int(phash, 16)
    return [(i, (value >> (8 * (BANDS - 1 - i))) & 0xFF) for i in range(BANDS)]


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def record_photo_hashes(photos: Iterable[tuple[ComplaintPhoto, bytes]]) -> int:
    """Store the pHash of each ``(photo row, display JPEG bytes)`` (rows flushed, with ids) and its
    bands.  Returns how many were hashed (blank photos are not)."""
    n = 0
    for row, data in photos:
        h = photo_hash(data)
        if h is None:
            continue
        db.session.add(ComplaintPhotoHash(photo_id=row.id, complaint_id=row.complaint_id, phash=h))
        db.session.flush()
        for band, value in _bands(h):
            db.session.add(ComplaintPhotoHashBand(photo_id=row.id, band=band, value=value))
        n += 1
    db.session.flush()
    return n


def _bigrams(text: str) -> set[str]:
    s = _NOT_TEXT.sub("", (text or "").lower())
    return {s[i:i + 2] for i in range(len(s) - 1)} or ({s} if s else set())


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity (0..1) of the two texts' character bigrams, punctuation and spaces left
    out: Chinese needs no word splitting for it, and a typo costs two bigrams, not the word."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def _same_photo(c: Complaint) -> dict[int, int]:
    """``{other case id: smallest Hamming distance}`` of open cases with a photo like one of ``c``'s."""
    mine = db.session.scalars(sa.select(ComplaintPhotoHash.phash).where(ComplaintPhotoHash.complaint_id == c.id)).all()
    if not mine:
        return {}
    conds = [sa.and_(ComplaintPhotoHashBand.band == b, ComplaintPhotoHashBand.value == v)
             for h in mine for b, v in _bands(h)]
    rows = db.session.execute(
        sa.select(ComplaintPhotoHash.complaint_id, ComplaintPhotoHash.phash)
        .join(ComplaintPhotoHashBand, ComplaintPhotoHashBand.photo_id == ComplaintPhotoHash.photo_id)
        .join(Complaint, Complaint.id == ComplaintPhotoHash.complaint_id)
        .where(sa.or_(*conds), ComplaintPhotoHash.complaint_id != c.id, Complaint.status.in_(OPEN_STATUSES))
        .distinct()).all()
    out: dict[int, int] = {}
    for cid, h in rows:
        d = min(_distance(h, m) for m in mine)
        if d <= PHASH_MAX_DISTANCE:
            out[cid] = min(d, out.get(cid, d))
    return out


def _near(c: Complaint) -> list[Complaint]:
    """Open cases in the same building or within the radius, filed within the window around ``c``."""
    from civic.complaints.service.intake import DUPLICATE_RADIUS_M, DUPLICATE_WINDOW
    from civic.core.geo import bbox_around

    conds = []
    if c.building_id:
        conds.append(Complaint.building_id == c.building_id)
    if c.lat is not None and c.lng is not None:
        a, b, cc, d = bbox_around(c.lat, c.lng, DUPLICATE_RADIUS_M)
        conds.append(sa.and_(Complaint.lat.between(a, cc), Complaint.lng.between(b, d)))
    if not conds:
        return []
    return list(db.session.scalars(sa.select(Complaint).where(
        sa.or_(*conds), Complaint.id != c.id, Complaint.status.in_(OPEN_STATUSES),
        Complaint.created_at.between(c.created_at - DUPLICATE_WINDOW, c.created_at + DUPLICATE_WINDOW),
    ).order_by(Complaint.id.desc()).limit(200)))


def candidates(c: Complaint, *, staff: bool = True) -> list[dict]:
    """The possible duplicates of ``c`` with their reasons, most likely first (see the module's
    docstring).  ``staff`` False: a reporter's view (near cases of the same category only).

    :returns: ``[{"id", "category", "category_name", "status", "created_at" (aware UTC),
        "mergeable" (open and in the same street: the workflow's merge accepts it),
        "reasons": {"distance_m" (metres, 1 decimal, or None), "same_building",
        "photo_distance" (bits, or None), "text_similarity" (0..1, 2 decimals)},
        "reason_names": [中文]}]``.
    """
    from civic.complaints.service.intake import DUPLICATE_RADIUS_M
    from civic.core.geo import distance_m

    photos = _same_photo(c) if staff else {}
    found: dict[int, dict] = {}
    for other in _near(c):
        same_building = bool(c.building_id and other.building_id == c.building_id)
        dist = None
        if c.lat is not None and other.lat is not None and not (
                c.location_source == "place" and other.location_source == "place"):
            dist = distance_m((c.lat, c.lng), (other.lat, other.lng))
        near = same_building or (dist is not None and dist <= DUPLICATE_RADIUS_M)
        if not near:
            continue
        sim = text_similarity(c.description, other.description)
        same_kind = other.category == c.category and c.category != "other"
        alike = sim >= TEXT_MIN_SIMILARITY
        if not staff and not same_kind:
            continue
        if same_kind or alike:
            found[other.id] = _entry(other, c, dist, same_building, photos.get(other.id), sim)
    missing = [i for i in photos if i not in found]
    if missing:
        for other in db.session.scalars(sa.select(Complaint).where(Complaint.id.in_(missing))):
            found[other.id] = _entry(other, c, None, bool(c.building_id and other.building_id == c.building_id),
                                     photos[other.id], text_similarity(c.description, other.description))
    return sorted(found.values(), key=_rank)


def _entry(other: Complaint, c: Complaint, dist, same_building: bool, photo_d, sim: float) -> dict:
    from civic.complaints.service.intake import DUPLICATE_RADIUS_M

    names = []
    if photo_d is not None:
        names.append("照片相同" if photo_d == 0 else f"照片几乎相同（差 {photo_d} 位）")
    if same_building:
        names.append("同一楼栋")
    if dist is not None and dist <= DUPLICATE_RADIUS_M:
        names.append(f"相距约 {round(dist)} 米")
    if sim >= TEXT_MIN_SIMILARITY:
        names.append(f"描述相似（{round(sim * 100)}%）")
    if other.category == c.category and c.category != "other":
        names.append("同一类别")
    return {"id": other.id, "category": other.category, "category_name": category_names().get(other.category),
            "status": other.status, "created_at": other.created_at,
            "mergeable": other.status in OPEN_STATUSES and c.status in OPEN_STATUSES
            and other.street_id == c.street_id,
            "reasons": {"distance_m": round(dist, 1) if dist is not None else None, "same_building": same_building,
                        "photo_distance": photo_d, "text_similarity": round(sim, 2)},
            "reason_names": names}


def _rank(e: dict) -> tuple:
    r = e["reasons"]
    return (r["photo_distance"] is None, not r["same_building"], r["distance_m"] if r["distance_m"] is not None
            else 1e9, -r["text_similarity"], -e["id"])


def duplicates_for(user, complaint_id: int) -> dict:
    """``GET /complaints/{id}/duplicates``: the case's possible duplicates for whoever may see the
    case (its parties' staff, the street's oversight, administrators, its reporters), 404
    ``complaint_not_found`` to anyone else, as for the case itself.

    :returns: ``{"complaint_id", "may_merge" (the viewer may merge this case into another: triage or
        oversight on an open case), "candidates": [...]}`` (:func:`candidates`; a resident gets the
        near cases of the same category only).
    """
    from civic.complaints.service.workflow import TRANSITIONS

    c, v = get_for(user, complaint_id, log_view=False)
    staff = user.kind != "resident"
    may_merge = staff and c.status in OPEN_STATUSES and v.acting_org(TRANSITIONS["merge"]["by"]) is not None
    return {"complaint_id": c.id, "may_merge": bool(may_merge), "candidates": candidates(c, staff=staff)}
