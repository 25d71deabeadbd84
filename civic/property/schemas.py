"""Shapes for the registry's endpoints."""

from __future__ import annotations

import marshmallow as ma

from civic.core.pagination import PageArgs, page_schema
from civic.core.schemas import DecimalString, Integer
from civic.property.models import ORGANISATION_KINDS, PLACE_KINDS


class PlaceSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.String()
    code = ma.fields.String()
    name = ma.fields.String()
    parent_id = Integer(allow_none=True)
    centre_lat = ma.fields.Float(allow_none=True, metadata={"description": "WGS-84"})
    centre_lng = ma.fields.Float(allow_none=True, metadata={"description": "WGS-84"})
    area = DecimalString(allow_none=True, metadata={"description": "专有部分面积，平方米，两位小数"})
    area_source = ma.fields.String(allow_none=True)
    developer_status = ma.fields.String(allow_none=True)


class PlaceListArgs(PageArgs):
    kind = ma.fields.String(validate=ma.validate.OneOf(PLACE_KINDS))
    parent_id = Integer()


class LocateArgs(ma.Schema):
    lat = ma.fields.Float(required=True)
    lng = ma.fields.Float(required=True)
    datum = ma.fields.String(load_default="wgs84", validate=ma.validate.OneOf(["wgs84", "gcj02", "bd09"]),
                             metadata={"description": "坐标系：wgs84（GPS）、gcj02（国内地图、小程序）、bd09"})


class OrganisationSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.String()
    code = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    covers = ma.fields.Method("_covers")

    def _covers(self, org):
        return [c.place_id for c in org.coverage]


class OrganisationListArgs(PageArgs):
    kind = ma.fields.String(validate=ma.validate.OneOf(ORGANISATION_KINDS))


class ImportResultSchema(ma.Schema):
    places = Integer()
    organisations = Integer()


PlacePageSchema = page_schema(PlaceSchema)
OrganisationPageSchema = page_schema(OrganisationSchema)
