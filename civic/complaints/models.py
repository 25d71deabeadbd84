"""Photographed complaints (案件) and the six-party queue.

A :class:`Complaint` is one case.  The organisations handling it are :class:`ComplaintParty` rows
(lead, assist, triage by the residents' committee, oversight by the street centre after
escalation); the queue of an organisation is its party rows.  ``status`` is copied onto each party
row so a queue filtered by status is one index range even with a million cases.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.extensions import db

STATUSES = ("submitted", "routed", "acknowledged", "in_progress", "resolved", "closed",
            "returned", "reopened", "merged")
OPEN_STATUSES = ("submitted", "routed", "acknowledged", "in_progress", "returned", "reopened")
PARTY_ROLES = ("lead", "assist", "triage", "oversight")


class RoutingRule(db.Model):
    """Category → lead party kind, assisting kinds, deadlines, who may see the complainant.

    ``district_id`` NULL is the default for every district; a district's own row overrides it
    (RULES.md §3: routing is data per district).
    """

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("place.id"))
    category: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    lead_kind: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    assist_kinds: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    acknowledge_amount: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    acknowledge_unit: Mapped[str] = mapped_column(sa.String(15), nullable=False)
    urgent_acknowledge_hours: Mapped[int | None] = mapped_column(sa.Integer)
    resolve_amount: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    resolve_unit: Mapped[str] = mapped_column(sa.String(15), nullable=False)
    reveal_kinds: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    complained_kind: Mapped[str | None] = mapped_column(sa.String(30))
    referrals: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    # Issue #18 point 3: who leads, in order, when the lead is absent or is the party complained
    # about; the authority that decides; the hand-over when the lead lets the case run overdue; and
    # the rule's sources (law, article, URL).
    lead_fallbacks: Mapped[list | None] = mapped_column(sa.JSON)
    competent_authority: Mapped[str | None] = mapped_column(sa.String(60))
    escalation: Mapped[dict | None] = mapped_column(sa.JSON)
    basis: Mapped[list | None] = mapped_column(sa.JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    __table_args__ = (sa.UniqueConstraint("district_id", "category"),)


class Complaint(TimestampMixin, db.Model):
    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    # The category's finer kind when one was picked (noise: construction, social_life, decoration),
    # routed by its own rule; and the party kind the complaint is about, which never leads it.
    category_detail: Mapped[str | None] = mapped_column(sa.String(30))
    complained_kind: Mapped[str | None] = mapped_column(sa.String(30))
    description: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(15), nullable=False, default="submitted")
    complainant_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)

    # Where: the registry place (unit, building or compound), and the ladder above it, copied so
    # queues and duplicate checks filter without walking the tree.
    place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("place.id"))
    building_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    compound_id: Mapped[int | None] = mapped_column(sa.Integer)
    community_id: Mapped[int | None] = mapped_column(sa.Integer)
    street_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    district_id: Mapped[int | None] = mapped_column(sa.Integer)
    address_text: Mapped[str | None] = mapped_column(sa.String(300))
    lat: Mapped[float | None] = mapped_column(sa.Float)  # WGS-84
    lng: Mapped[float | None] = mapped_column(sa.Float)
    location_source: Mapped[str] = mapped_column(sa.String(12), nullable=False)  # place|point|photo_gps|address
    gps_consent: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    urgent: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    lead_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    lead_fallback: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    acknowledge_due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolve_due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    deadlines_provisional: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    routed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    overdue: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id"))
    reopen_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(sa.Text)
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    # Loaded when a case is opened, not for queue lists (which never touch them).
    parties: Mapped[list[ComplaintParty]] = relationship(back_populates="complaint", order_by="ComplaintParty.id")
    photos: Mapped[list[ComplaintPhoto]] = relationship(order_by="ComplaintPhoto.id")
    referrals: Mapped[list[ComplaintReferral]] = relationship()

    # Optimistic locking: two staff acting at once → one UPDATE matches, the other gets a 409.
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.Index("ix_complaint_dup", "category", "created_at"),
        sa.Index("ix_complaint_street", "street_id", "id"),
        # Open311's list: a window of created_at, newest first (migration 0025_open311_window).
        sa.Index("ix_complaint_created", "created_at", "id"),
        sa.CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        # PostGIS's GiST index of the cases' points as geography (metres; the duplicate radius,
        # migration 0023_spatial), on PostgreSQL only: SQLite keeps the points in its R*Tree
        # ``complaint_rtree`` (migration 0024_rtree).
        sa.Index("ix_complaint_point_gist",
                 sa.text("postgis.geography(postgis.st_setsrid(postgis.st_makepoint(lng, lat), 4326))"),
                 postgresql_using="gist", postgresql_where=sa.text("lat IS NOT NULL AND lng IS NOT NULL"),
                 ).ddl_if(dialect="postgresql"),
    )


# SQLite's R*Tree of the cases' points (migration 0024_rtree; each point a box of zero size, kept by
# triggers on complaint): a virtual table that exists on SQLite only, so a table clause, not a model.
complaint_rtree = sa.table("complaint_rtree", sa.column("id"), sa.column("min_lat"), sa.column("max_lat"),
                           sa.column("min_lng"), sa.column("max_lng"))


class ComplaintParty(db.Model):
    __tablename__ = "complaint_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    may_see_complainant: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    status: Mapped[str] = mapped_column(sa.String(15), nullable=False)  # copy of the case's status
    overdue: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    complaint: Mapped[Complaint] = relationship(back_populates="parties")

    __table_args__ = (
        sa.UniqueConstraint("complaint_id", "organisation_id"),
        sa.Index("ix_party_queue", "organisation_id", "complaint_id"),
        sa.Index("ix_party_queue_status", "organisation_id", "status", "complaint_id"),
        # counts_by_status (every queue page): an index-only count over the active rows alone.
        sa.Index("ix_party_active_status", "organisation_id", "status",
                 postgresql_where=sa.text("active"), sqlite_where=sa.text("active")),
    )


class ComplaintReferral(db.Model):
    """A referral to a competent authority outside the six (RULES.md §3)."""

    __tablename__ = "complaint_referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False, index=True)
    authority: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    # competent: the authority that decides the case (破坏承重结构: the housing authority);
    # referral: told of it; escalation: added when the lead let the case run overdue.
    role: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="referral", server_default="referral")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ComplaintReporter(db.Model):
    """Everyone who reported this case: the complainant, and the reporters of merged duplicates."""

    __tablename__ = "complaint_reporter"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    via_complaint_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __table_args__ = (sa.UniqueConstraint("complaint_id", "user_id"),)


class ComplaintPhoto(db.Model):
    __tablename__ = "complaint_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False, index=True)
    stage: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # intake | result
    # Served at /api/v1/complaints/<id>/photos/<access_token>: 256 random bits nobody can guess,
    # and every request is still checked against who may see the case.
    access_token: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    display_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media": "complaints.photo"})
    thumb_key: Mapped[str] = mapped_column(sa.String(120), nullable=False, info={"media": "complaints.photo"})
    width: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    height: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ComplaintPhotoHash(db.Model):
    """The perceptual hash of an intake photo (imagehash's pHash, 64 bits, as 16 hex digits), so the
    same photo filed twice is found whatever the category and place (issue #18 point 4).

    Found through :class:`ComplaintPhotoHashBand`: the hash cut into 8 bands of 8 bits; two hashes
    within Hamming distance 7 agree on at least one band (pigeonhole), so the indexed band look-up
    finds every candidate and the exact distance is checked on those few."""

    __tablename__ = "complaint_photo_hash"

    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint_photo.id"), primary_key=True, autoincrement=False)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False, index=True)
    phash: Mapped[str] = mapped_column(sa.String(16), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ComplaintPhotoHashBand(db.Model):
    """One 8-bit band of a photo's pHash (band 0-7, value 0-255), indexed by (band, value)."""

    __tablename__ = "complaint_photo_hash_band"

    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint_photo_hash.photo_id"), primary_key=True,
                                          autoincrement=False)
    band: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)

    __table_args__ = (sa.Index("ix_photo_hash_band", "band", "value"),)


class ComplaintMessage(db.Model):
    """The thread between the handling parties and the resident.  The resident sees the party's
    name, never the staff member's (``author_id`` is kept for the audit, not shown to residents)."""

    __tablename__ = "complaint_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    internal: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)  # staff-only note
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ComplaintContact(db.Model):
    """The contact a partner organisation gave for the person behind a case it filed (Open311
    first_name, last_name, phone, email).  The case's complainant of record is the partner's system
    account; these details stand in for the complainant wherever the complainant is shown, under
    the same rules (masked, only to parties the routing table allows, reveals logged; RULES.md §5),
    and never leave through Open311."""

    __tablename__ = "complaint_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False, unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    email: Mapped[str | None] = mapped_column(sa.String(200))


# --- Pre-aggregated oversight counts (issue 21: the street centre's figures over ten years of cases
# without a scan per request).  Kept by the job complaints.counts.recount after every change to a
# case; rebuilt from a scan by ``flask civic recount-complaints``.  Key columns use 0 for "none"
# (no street, no lead) so the unique keys hold on every database (NULLs never collide).

class ComplaintTally(db.Model):
    """What one case contributes to the counts now: the job subtracts this and adds the case's
    present contribution, so running it twice, or for a case that did not change, changes nothing."""

    __tablename__ = "complaint_tally"

    complaint_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    street_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    lead_organisation_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(15), nullable=False)
    overdue: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    ack_tenths: Mapped[int | None] = mapped_column(sa.Integer)  # filing → acknowledged, in 6-minute steps
    resolve_tenths: Mapped[int | None] = mapped_column(sa.Integer)  # filing → resolved
    supporters: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")  # "me too"


class ComplaintCount(db.Model):
    """Cases per street, lead organisation and status, with their overdue and rating sums."""

    __tablename__ = "complaint_count"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    lead_organisation_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(15), nullable=False)
    cases: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    overdue: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rated: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    satisfied: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rating_sum: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    supporters: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")  # "me too"

    __table_args__ = (sa.UniqueConstraint("street_id", "lead_organisation_id", "status", name="uq_complaint_count_key"),)


class ComplaintDurationCount(db.Model):
    """How many cases of a street and lead organisation took ``tenths`` tenths of an hour to be
    acknowledged (``measure`` "ack") or resolved ("resolve"): the histogram the medians come from."""

    __tablename__ = "complaint_duration_count"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    lead_organisation_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    measure: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    tenths: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    cases: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    __table_args__ = (sa.UniqueConstraint("street_id", "lead_organisation_id", "measure", "tenths",
                                          name="uq_complaint_duration_count_key"),)


# --- "Me too" (issue #18 point 5): residents who joined a nearby open case instead of filing again.

#: The open statuses as a literal SQL condition: the partial indexes below are used only by queries
#: that repeat this very text (SQLite and PostgreSQL cannot prove a bound parameter implies them).
OPEN_SQL = "status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"


class ComplaintSupporter(db.Model):
    """A resident who said "me too" on a case (附议): they follow it and are notified like its
    reporters, may add photos, and count among its supporters.  One row per resident per case; leaving
    deletes the row.  Their identity is shown to nobody but themselves (civic.complaints.service.privacy:
    the same rule as a co-complainant's)."""

    __tablename__ = "complaint_supporter"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    # (complaint_id, user_id): one per resident per case, and the index the counts per case read.
    __table_args__ = (sa.UniqueConstraint("complaint_id", "user_id", name="uq_complaint_supporter"),)


# "Cases near me": the open cases of a compound, and the open cases' points (the SQLite path of the
# radius search: a range on lat, lng checked inside the index; PostgreSQL uses the GiST index below).
sa.Index("ix_complaint_compound_status", Complaint.compound_id, Complaint.status)
sa.Index("ix_complaint_open_point", Complaint.lat, Complaint.lng,
         sqlite_where=sa.text(f"lat IS NOT NULL AND lng IS NOT NULL AND {OPEN_SQL}"),
         postgresql_where=sa.text(f"lat IS NOT NULL AND lng IS NOT NULL AND {OPEN_SQL}"))


# The PostGIS GiST index of the OPEN cases' points (geography, metres) that migration
# 0027_complaint_supporters makes on PostgreSQL: "cases near me" reads only open cases, so its index holds
# them alone and does not grow with ten years of closed ones.  PostgreSQL only (ddl_if).
sa.Index("ix_complaint_open_point_gist",
         sa.text("postgis.geography(postgis.st_setsrid(postgis.st_makepoint(lng, lat), 4326))"),
         postgresql_using="gist",
         postgresql_where=sa.text(f"lat IS NOT NULL AND lng IS NOT NULL AND {OPEN_SQL}"),
         _table=Complaint.__table__).ddl_if(dialect="postgresql")
