"""The registry's endpoints: places, organisations, imports.  HTTP only."""

from __future__ import annotations

from flask.views import MethodView

from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.uploads import csv_upload
from civic.property import importer, queries, schemas, service

blp = Blueprint("registry", __name__, url_prefix="/api/v1", description="地点与组织登记")


@blp.route("/places")
class Places(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.PlaceListArgs, location="query")
    @blp.response(200, schemas.PlacePageSchema)
    def get(self, args):
        """地点列表（按类型、上级筛选，游标分页）"""
        items, cursor = queries.list_places(kind=args.get("kind"), parent_id=args.get("parent_id"),
                                            cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}


@blp.route("/places/<int:place_id>")
class PlaceById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.PlaceSchema)
    def get(self, place_id):
        """单个地点"""
        return service.get_place(place_id)


@blp.route("/places/locate")
class PlaceLocate(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.LocateArgs, location="query")
    @blp.response(200, schemas.PlaceSchema)
    def get(self, args):
        """按坐标定位所在地点（最小的包含该点的边界）

        The point is converted to WGS-84 from its datum first.  404 ``place_not_located``.
        """
        return queries.locate(args["lat"], args["lng"], args["datum"])


@blp.route("/organisations")
class Organisations(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.OrganisationListArgs, location="query")
    @blp.response(200, schemas.OrganisationPageSchema)
    def get(self, args):
        """组织列表（六方及街镇中心、村委会、村务监督委员会）"""
        items, cursor = queries.list_organisations(kind=args.get("kind"), cursor=args["cursor"],
                                                   limit=args["limit"])
        return {"items": items, "next_cursor": cursor}


@blp.route("/organisations/<int:organisation_id>")
class OrganisationById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.OrganisationSchema)
    def get(self, organisation_id):
        """单个组织及其服务范围"""
        return service.get_organisation(organisation_id)


@blp.route("/registry/import/places")
class ImportPlaces(MethodView):
    @require("admin")
    @blp.response(201, schemas.ImportResultSchema)
    def post(self):
        """导入地点 CSV（全部成功或全部不写入）

        422 ``import_invalid`` with ``details.errors``: ``[{"line", "column", "reason"}]``.
        """
        return importer.import_places_csv(csv_upload(), actor=current_actor())


@blp.route("/registry/import/organisations")
class ImportOrganisations(MethodView):
    @require("admin")
    @blp.response(201, schemas.ImportResultSchema)
    def post(self):
        """导入组织 CSV（全部成功或全部不写入）"""
        return importer.import_organisations_csv(csv_upload(), actor=current_actor())
