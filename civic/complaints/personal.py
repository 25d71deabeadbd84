"""The complaints' part of a resident's rights over their data (PIPL Arts. 44-47, RULES.md §5).

* export: the resident's cases (facts, place, the GPS they consented to, their rating), the
  messages of those threads they may see, the photos they uploaded, the cases they joined as a
  merged duplicate's reporter, and **the reveal log about them**: who looked at their name and
  phone, as which organisation, when and why (and who opened their case, when);
* :func:`withdraw_gps_consent`: the precise location read from their photos (sensitive personal
  information, PIPL Art. 28-29: used only with separate consent) is removed from every case of
  theirs; the case keeps the registry place it was routed to;
* erase (account deleted): every case keeps its facts (category, description, place no finer than
  the building, photos, handling, rating) and loses the complainant's identity: the account is a
  tombstone, photo GPS is removed, a case placed at their own unit is placed at its building, their
  reporter links and their "me too" supports are removed.
* retention: photo GPS of a closed case is removed 90 days after closing (the job below).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.complaints.models import (
    Complaint,
    ComplaintContact,
    ComplaintMessage,
    ComplaintPhoto,
    ComplaintReporter,
    ComplaintSupporter,
)
from civic.core import audit, personal_data, retention
from civic.core.audit import AuditEntry
from civic.extensions import db

GPS_DAYS_AFTER_CLOSE = 90
CONTACT_DAYS_AFTER_CLOSE = 365
PHOTO_ORIGINAL_DAYS_AFTER_CLOSE = 90
# Who looked: a reveal of their name and phone (with its reason), and each opening of their case by
# staff (who then saw the complainant masked, or not at all: civic.complaints.service.privacy).
LOOK_ACTIONS = ("complaint.complainant_revealed", "complaint.viewed")


def _iso(v):
    return v.isoformat() if v is not None else None


def _export(user_id: int) -> dict:
    cases = list(db.session.scalars(sa.select(Complaint).where(Complaint.complainant_id == user_id)
                                    .order_by(Complaint.id)))
    ids = [c.id for c in cases]
    messages = db.session.scalars(sa.select(ComplaintMessage).where(
        ComplaintMessage.complaint_id.in_(ids), ComplaintMessage.internal.is_(False))
        .order_by(ComplaintMessage.id)) if ids else []
    reveals = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.object_type == "complaint", AuditEntry.object_id.in_([str(i) for i in ids]),
        AuditEntry.action.in_(LOOK_ACTIONS)).order_by(AuditEntry.id)) if ids else []
    from civic.accounts.service import users_by_ids

    reveals = list(reveals)
    lookers = users_by_ids({e.actor_id for e in reveals if e.actor_id})
    return {
        "cases": [{"id": c.id, "category": c.category, "description": c.description, "status": c.status,
                   "created_at": _iso(c.created_at), "place_id": c.place_id, "address": c.address_text,
                   "lat": c.lat, "lng": c.lng, "location_source": c.location_source,
                   "gps_consent": c.gps_consent, "rating": c.rating, "rating_comment": c.rating_comment,
                   "rated_at": _iso(c.rated_at), "closed_at": _iso(c.closed_at)} for c in cases],
        "messages": [{"complaint_id": m.complaint_id, "mine": m.author_id == user_id, "body": m.body,
                      "organisation_id": None if m.author_id == user_id else m.organisation_id,
                      "at": _iso(m.created_at)} for m in messages],
        "photos": [{"complaint_id": p.complaint_id, "stage": p.stage, "width": p.width, "height": p.height,
                    "at": _iso(p.created_at)}
                   for p in db.session.scalars(sa.select(ComplaintPhoto).where(ComplaintPhoto.uploaded_by == user_id)
                                               .order_by(ComplaintPhoto.id))],
        "reported_with": [{"complaint_id": r.complaint_id, "via_complaint_id": r.via_complaint_id}
                          for r in db.session.scalars(sa.select(ComplaintReporter).where(
                              ComplaintReporter.user_id == user_id).order_by(ComplaintReporter.id))],
        # The cases they said "me too" on (service.supporters), and since when.
        "supported": [{"complaint_id": s.complaint_id, "since": _iso(s.created_at)}
                      for s in db.session.scalars(sa.select(ComplaintSupporter).where(
                          ComplaintSupporter.user_id == user_id).order_by(ComplaintSupporter.id))],
        # Who looked at their name and phone: the staff member, as which organisation, when, why.
        "reveals": [_look(e, lookers) for e in reveals if e.action == "complaint.complainant_revealed"],
        # Who opened their case (and saw the complainant masked, or not at all).
        "views": [_look(e, lookers) for e in reveals if e.action == "complaint.viewed"],
    }


def _look(e: AuditEntry, lookers: dict) -> dict:
    return {"complaint_id": int(e.object_id), "at": _iso(e.at),
            "by": lookers[e.actor_id].display_name if e.actor_id in lookers else None,
            "as": e.actor_role, "reason": e.note}


def _drop_gps(cases) -> int:
    for c in cases:
        if c.location_source == "photo_gps":
            # The case keeps the registry place its photo located it in, no finer.
            c.lat, c.lng, c.location_source = None, None, "place"
        c.gps_consent = False
    return len(cases)


def withdraw_gps_consent(user) -> int:
    """Withdraw the consent to use photo GPS (PIPL Art. 15): every case of ``user`` loses the
    coordinates read from its photos and keeps its registry place.  Audited per case, without
    coordinates.  Returns how many cases changed."""
    cases = list(db.session.scalars(sa.select(Complaint).where(
        Complaint.complainant_id == user.id,
        sa.or_(Complaint.gps_consent.is_(True), Complaint.location_source == "photo_gps"))))
    for c in cases:
        _drop_gps([c])
        audit.record("complaint.gps_withdrawn", "complaint", c.id, actor=user)
    db.session.flush()
    return len(cases)


def _erase(user_id: int, now: dt.datetime) -> None:
    from civic.property import service as registry

    cases = list(db.session.scalars(sa.select(Complaint).where(Complaint.complainant_id == user_id)))
    own_units = {p.id for _, p in registry.units_of_resident(user_id)}
    for c in cases:
        _drop_gps([c])
        if c.place_id is not None and (c.place_id in own_units or c.location_source == "address") \
                and c.building_id is not None:
            # A case at the complainant's own unit would name them: placed at its building instead.
            c.place_id = c.building_id
            if c.location_source == "address":
                c.location_source, c.address_text = "place", None
    db.session.execute(sa.delete(ComplaintReporter).where(ComplaintReporter.user_id == user_id))
    # Their "me too"s go: each case's supporters count drops (deleted through the session, so that
    # the oversight counts are recounted: civic.complaints.counts).
    for s in db.session.scalars(sa.select(ComplaintSupporter).where(ComplaintSupporter.user_id == user_id)):
        db.session.delete(s)
    db.session.flush()


def _gps_after_close(now: dt.datetime) -> int:
    cases = list(db.session.scalars(sa.select(Complaint).where(
        Complaint.location_source == "photo_gps",
        Complaint.closed_at < now - dt.timedelta(days=GPS_DAYS_AFTER_CLOSE))))
    _drop_gps(cases)
    return len(cases)


def _contacts_after_close(now: dt.datetime) -> int:
    closed = sa.select(Complaint.id).where(
        Complaint.closed_at < now - dt.timedelta(days=CONTACT_DAYS_AFTER_CLOSE))
    return db.session.execute(sa.delete(ComplaintContact).where(ComplaintContact.complaint_id.in_(closed))).rowcount


def _photo_originals_after_close(now: dt.datetime) -> int:
    """Originals of the photos of cases closed more than the period ago: deleted, the blurred rendition
    kept (civic.core.blur.forget_original).  A photo whose identical file another case still needs
    (the store is content-addressed) keeps its original until that case's period ends too."""
    from civic.complaints.models import ComplaintPhoto
    from civic.core import blur, media

    cutoff = now - dt.timedelta(days=PHOTO_ORIGINAL_DAYS_AFTER_CLOSE)
    done = sa.select(Complaint.id).where(Complaint.closed_at < cutoff)
    photos = db.session.scalars(sa.select(ComplaintPhoto).join(
        blur.PhotoBlur, blur.PhotoBlur.display_key == ComplaintPhoto.display_key).where(
        ComplaintPhoto.complaint_id.in_(done), blur.PhotoBlur.status == "done",
        blur.PhotoBlur.original_deleted_at.is_(None))).all()
    n = 0
    for p in photos:
        still_needed = db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintPhoto).join(
            Complaint, Complaint.id == ComplaintPhoto.complaint_id).where(
            ComplaintPhoto.display_key == p.display_key,
            sa.or_(Complaint.closed_at.is_(None), Complaint.closed_at >= cutoff)))
        if still_needed:
            continue
        # Another domain's row may hold the same file (the store is content-addressed): it stays.
        held = media.keys_in_use({p.display_key, p.thumb_key}, skip_tables={"complaint_photo"})
        if blur.forget_original(p.display_key, p.thumb_key, held_elsewhere=held):
            n += 1
    return n


personal_data.register(
    "complaints", order=10,
    columns=("complaint.complainant_id", "complaint_reporter.user_id", "complaint_photo.uploaded_by",
             "complaint_message.author_id", "complaint_supporter.user_id"),
    export=_export, erase=_erase)

retention.register(
    "complaint", tables=(), keep="indefinitely, without the complainant's identity",
    then="the facts stay (category, description, place no finer than the building, photos, handling); "
         "at account deletion the complainant becomes a tombstone",
    source="12345 hotline rules (国办发〔2020〕53号: work orders kept for analysis and supervision); "
           "PIPL Art. 47 for the identity")
retention.register(
    "complaint_supporter", tables=(), keep="while the resident supports the case (until they leave it or delete the account)",
    then="deleted when they leave or delete the account: the case's supporters count drops; photos they added stay "
         "with the case as its facts",
    source="PIPL Arts. 19, 47; civic's choice (law silent): the tie is the resident's to end, the count needs no name")
retention.register(
    "complaint.photo_gps", tables=(), keep=f"{GPS_DAYS_AFTER_CLOSE} days after the case closes, "
    "or until consent is withdrawn or the account deleted", period_days=GPS_DAYS_AFTER_CLOSE,
    then="coordinates removed by the retention job; the case keeps its registry place",
    enforce=_gps_after_close,
    source="PIPL Arts. 28-29 (sensitive: separate consent), Art. 19; civic's choice (law silent): "
           "the rating and reopening window with a margin, then no precise location")
retention.register(
    "complaint_photo.original", tables=(),
    keep=f"{PHOTO_ORIGINAL_DAYS_AFTER_CLOSE} days after the case closes (the blurred rendition: as the case)",
    period_days=PHOTO_ORIGINAL_DAYS_AFTER_CLOSE, enforce=_photo_originals_after_close,
    then="the original (faces and number plates as taken) deleted by the retention job; the blurred "
         "rendition stays and is what everyone sees; a photo not yet blurred keeps its original until it is",
    source="PIPL Arts. 6, 19, 26 (images in public places; kept no longer than the purpose needs); "
           "civic's choice (law silent): the lead party needs the original while it handles the case and "
           "through the rating and reopening window, as the photo GPS")
retention.register(
    "complaint_contact", tables=(), keep=f"{CONTACT_DAYS_AFTER_CLOSE} days after the case closes",
    period_days=CONTACT_DAYS_AFTER_CLOSE, enforce=_contacts_after_close,
    then="deleted by the retention job: the case stays, the partner's caller is no longer named",
    source="12345 hotline rules (callback and satisfaction survey after closing); PIPL Art. 19; "
           "civic's choice (law silent): a year covers reopening and any complaint about the handling")
