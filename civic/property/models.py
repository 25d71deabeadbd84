"""The registry: places on the administrative ladder, the parties that serve them, and who lives
in which unit.

Places form one tree (district → street → community → compound → building → unit; villages sit
under a street/town; grid cells, road sections and lanes under a street or community).  Each row
keeps its materialised ``path`` ("/1/4/9/") so "everything under this community" is one indexed
prefix query and a place's ancestors need no recursion.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from civic.core.auth import principals_if_made
from civic.core.db import TimestampMixin, UTCDateTime, utcnow
from civic.extensions import db

PLACE_KINDS = (
    "district",
    "street",
    "community",
    "village",
    "compound",
    "building",
    "unit",
    "grid",
    "road_section",
    "lane",
)

# Which kind may sit under which: the ladder, plus villages, grids, road sections and lanes.
PARENT_KINDS: dict[str, tuple[str | None, ...]] = {
    "district": (None,),
    "street": ("district",),
    "community": ("street",),
    "village": ("street",),
    "compound": ("community", "village"),
    "building": ("compound",),
    "unit": ("building",),
    "grid": ("street", "community", "village"),
    "road_section": ("street", "community"),
    "lane": ("street", "community", "compound"),
}

AREA_SOURCES = ("registry", "survey", "contract")  # SPC 法释〔2009〕7号 Art. 8, in this order
DEVELOPER_STATUSES = ("unsold", "sold_undelivered")  # units the developer still holds

ORGANISATION_KINDS = (
    "urban_management",
    "property_company",
    "police",
    "residents_committee",
    "owners_committee",
    "resident_representatives",
    "street_centre",
    "village_committee",
    "village_supervision",
)
SIX_PARTIES = ORGANISATION_KINDS[:6]

# The place kinds an organisation of each kind is bound to (it covers everything beneath them).
COVERAGE_KINDS: dict[str, tuple[str, ...]] = {
    "urban_management": ("street",),
    "property_company": ("compound", "building"),
    "police": ("community", "village"),
    "residents_committee": ("community",),
    "owners_committee": ("compound", "building"),
    "resident_representatives": ("compound", "building", "lane", "road_section"),
    "street_centre": ("street",),
    "village_committee": ("village",),
    "village_supervision": ("village",),
}

RESIDENT_RELATIONS = ("owner", "co_owner", "tenant")


class Place(TimestampMixin, db.Model):
    __tablename__ = "place"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False, index=True)
    code: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("place.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="", index=True)
    # WGS-84 decimal degrees (converted on the way in; see civic.core.geo).
    centre_lat: Mapped[float | None] = mapped_column(sa.Float)
    centre_lng: Mapped[float | None] = mapped_column(sa.Float)
    boundary: Mapped[str | None] = mapped_column(sa.Text)  # GeoJSON Polygon/MultiPolygon, WGS-84
    # Units only: the exclusive area in m² (two places) and where that figure comes from.
    area: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    area_source: Mapped[str | None] = mapped_column(sa.String(10))
    developer_status: Mapped[str | None] = mapped_column(sa.String(20))

    parent: Mapped[Place | None] = relationship(remote_side=[id])

    __table_args__ = (
        sa.CheckConstraint("area IS NULL OR area > 0", name="area_positive"),
        sa.CheckConstraint(
            "area_source IS NULL OR area_source IN ('registry', 'survey', 'contract')",
            name="area_source_known",
        ),
        # PostGIS's GiST index of the boundaries (migration 0023_spatial; civic.property.spatial), on
        # PostgreSQL only: SQLite keeps the boxes in its R*Tree ``place_rtree`` (migration 0024_rtree).
        sa.Index("ix_place_boundary_gist", sa.text("postgis.st_geomfromgeojson(boundary)"),
                 postgresql_using="gist", postgresql_where=sa.text("boundary IS NOT NULL")).ddl_if(dialect="postgresql"),
    )

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this place, inclusive."""
        return [int(p) for p in self.path.strip("/").split("/") if p]


class Organisation(TimestampMixin, db.Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30), nullable=False, index=True)
    code: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    phone: Mapped[str | None] = mapped_column(sa.String(30))  # the office line, not a person's

    coverage: Mapped[list[OrganisationCoverage]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )


class OrganisationCoverage(db.Model):
    """An organisation is bound to the places it covers (and so to everything under them)."""

    __tablename__ = "organisation_coverage"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), nullable=False
    )
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, index=True)

    organisation: Mapped[Organisation] = relationship(back_populates="coverage")

    __table_args__ = (sa.UniqueConstraint("organisation_id", "place_id"),)


class UnitResident(db.Model):
    """A resident's tie to a unit: owner, co-owner or tenant (a registry fact, verified by staff
    or imported; voting rosters are built from it but never trust a resident's own claim)."""

    __tablename__ = "unit_resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    relation: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    # For co-owned units: the co-owner who represents the unit.
    representative: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("unit_id", "user_id"),
        sa.CheckConstraint("relation IN ('owner', 'co_owner', 'tenant')", name="relation_known"),
    )


@event.listens_for(Session, "after_flush")
def _organisation_changed(session, flush_context):
    # An organisation's name or kind shows in every member's /me: a change to one empties this
    # process's principal cache (civic.core.auth.PrincipalCache) rather than tracking its members.
    cache = principals_if_made()
    if cache is not None and any(isinstance(obj, Organisation)
                                 for obj in (*session.new, *session.dirty, *session.deleted)):
        cache.clear()
