"""Complaints API, "me too" and "cases near me" (issue #18 point 5): routes on the complaints
blueprint, kept in their own module.  HTTP only: civic.complaints.service.supporters decides."""

from __future__ import annotations

from flask.views import MethodView

from civic.complaints import schemas, service
from civic.complaints.routes import blp
from civic.core.auth import current_actor, require
from civic.core.uploads import photo_files


@blp.route("/my/nearby-complaints")
class MyNearbyComplaints(MethodView):
    @require("resident")
    @blp.arguments(schemas.NearbyArgs, location="query")
    @blp.response(200, schemas.NearbyPageSchema)
    def get(self, args):
        """附近未办结的问题（本小区，或所给位置周边；不含任何个人信息）

        With ``lat``/``lng``/``datum`` (and ``radius_m``: metres, default 500, at most 2,000): the
        open cases within that radius, nearest first, through the spatial index (PostGIS on
        PostgreSQL, an index of the open cases' points on SQLite).  Without: the open cases of the
        compounds of your confirmed units, newest first.  Each item names the category, the status,
        the compound, the distance and the supporters' count: never a person, a unit, a phone or the
        resident's own words; no photo (none is reviewed as public-safe).  Keyset-paged.
        Errors: 422 location_required (no point and no confirmed unit), location_incomplete,
        radius_invalid, datum_unknown; 400 cursor_invalid; 403 for staff.
        """
        items, cursor = service.nearby(current_actor(), lat=args.get("lat"), lng=args.get("lng"),
                                       datum=args.get("datum"), radius_m=args.get("radius_m"),
                                       cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}


@blp.route("/complaints/<int:complaint_id>/supporters")
class ComplaintSupporters(MethodView):
    @require("resident")
    @blp.arguments(schemas.ComplaintSupportFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.ComplaintSupportSchema)
    @blp.alt_response(200, schema=schemas.ComplaintSupportSchema, description="已附议过：返回同一条附议记录")
    def post(self, form, complaint_id):
        """我也遇到（附议）：关注附近的这个问题，不再重复反映；可附照片

        Multipart: optional ``lat``/``lng``/``datum`` (where you are, as for the nearby list; not
        needed for a case of your own compound) and 0-3 ``photos`` or ``upload_ids`` (photos sent
        before by resumable upload, /api/v1/uploads).  201 when you join; 200 with the
        same record when you already support the case (a retry).  Send an ``Idempotency-Key``.
        You then follow the case ("my cases"), are notified of its steps, and count among its
        supporters; nobody else sees who you are.
        Errors: 404 complaint_not_found (also a case not near you); 403 own_case; 409
        complaint_closed, complaint_merged; 422 too_many_photos, photo_*, location_incomplete;
        429 rate_limited; for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        user = current_actor()
        _row, created = service.join(user, complaint_id, lat=form.get("lat"), lng=form.get("lng"),
                                     datum=form.get("datum"), photos=photo_files("photos", purpose="complaints.support_photo"))
        from civic.complaints.service.supporters import view

        return view(complaint_id, user), 201 if created else 200

    @require("resident")
    @blp.response(204)
    def delete(self, complaint_id):
        """取消附议（不再关注；已上传的照片作为案件材料保留）

        Leaving a case you do not support changes nothing (204).  Errors: 404 complaint_not_found;
        403 own_case.
        """
        service.leave(current_actor(), complaint_id)
