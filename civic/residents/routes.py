"""Residents' claims to units, the verifiers' queue, ties and the committee's register.  HTTP only."""

from __future__ import annotations

from flask.views import MethodView

from civic.core import media
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.pagination import as_page
from civic.core.schemas import MediaFileArgs
from civic.core.uploads import csv_upload, scan_file
from civic.residents import importer, schemas, service

blp = Blueprint("residents", __name__, url_prefix="/api/v1", description="居民与房屋")


def _document() -> tuple[str, bytes] | None:
    # One document: the part ``document`` or one upload id, never both (the second would be
    # consumed for nothing).
    return scan_file("document", purpose="residents.claim_document", kinds=("scan", "photo"), required=False)


@blp.route("/my/unit-claims")
class MyUnitClaims(MethodView):
    @require("resident")
    @blp.response(200, schemas.ClaimListSchema)
    def get(self):
        """我的房屋认领申请"""
        return {"items": service.my_claims(current_actor())}

    @require("resident")
    @blp.arguments(schemas.ClaimFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.ClaimSchema)
    def post(self, data):
        """认领房屋（业主、共有人或租户；可附不动产权证或租赁合同照片 ``document``）

        Confirmed at once when the unit is on a certified owners' roster and the name and the
        account's phone match an owner there.  The document may instead be a finished resumable
        upload (``upload_ids``, one; /api/v1/uploads), not both.  404 ``unit_not_found``; 409
        ``already_linked``, ``claim_duplicate``; 422 ``relation_invalid``, ``claim_document_required``,
        ``scan_one_only`` (a part and an upload id, or two), photo errors; for ``upload_ids``: 404
        upload_not_found; 409 upload_incomplete, upload_consumed (a retried attach: nothing is stored
        twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        data.pop("upload_ids", None)  # read with the document by _document()
        return service.submit_claim(current_actor(), data, _document())[1]


@blp.route("/unit-claims")
class UnitClaims(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.QueueArgs, location="query")
    @blp.response(200, schemas.ClaimPageSchema)
    def get(self, args):
        """待我审核的房屋认领申请（业委会、居委会、物业；租户申请亦可由该户业主审核）

        Oldest first, a page of ``limit`` (default 20, at most 100) with ``next_cursor``.
        400 ``cursor_invalid``.
        """
        return as_page(service.claim_queue(current_actor(), args["status"], cursor=args["cursor"],
                                           limit=args["limit"]))


@blp.route("/unit-claims/<int:claim_id>")
class UnitClaimById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.ClaimSchema)
    def get(self, claim_id):
        """单个房屋认领申请（申请人及其审核人可见）

        404 ``claim_not_found``.
        """
        return service.claim_for_reader(current_actor(), claim_id)


@blp.route("/unit-claims/<int:claim_id>/confirm")
class UnitClaimConfirm(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.ClaimSchema)
    def post(self, claim_id):
        """确认房屋认领（居民即关联该户）

        404 ``claim_not_found``; 403 ``claim_not_verifier``; 409 ``claim_decided``, ``already_linked``.
        """
        return service.confirm_claim(current_actor(), claim_id)


@blp.route("/unit-claims/<int:claim_id>/refuse")
class UnitClaimRefuse(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.RefuseSchema)
    @blp.response(200, schemas.ClaimSchema)
    def post(self, data, claim_id):
        """驳回房屋认领（须说明理由）

        404 ``claim_not_found``; 403 ``claim_not_verifier``; 409 ``claim_decided``.
        """
        return service.refuse_claim(current_actor(), claim_id, data["reason"])


@blp.route("/unit-claims/<int:claim_id>/document/<token>")
class UnitClaimDocument(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(MediaFileArgs, location="query")
    @blp.response(200, content_type="image/jpeg")
    def get(self, args, claim_id, token):
        """认领证明材料照片（仅审核人可见、仅待审核时；访问记入审计日志）。?size=thumb 取缩略图

        404 ``claim_document_not_found``.
        """
        return media.respond(service.claim_document(current_actor(), claim_id, token, args["size"]), args["size"])


@blp.route("/my/units")
class MyUnits(MethodView):
    @require("resident")
    @blp.response(200, schemas.UnitLinkListSchema)
    def get(self):
        """我关联的房屋"""
        return {"items": service.my_units(current_actor())}


@blp.route("/my/units/<int:link_id>")
class MyUnitById(MethodView):
    @require("resident")
    @blp.response(204)
    def delete(self, link_id):
        """解除我与该户的关联（搬离）；我提交的诉求仍归我

        404 ``link_not_found``.
        """
        service.unlink(current_actor(), link_id, own_only=True)


@blp.route("/unit-residents/<int:link_id>")
class UnitResidentById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(204)
    def delete(self, link_id):
        """解除居民与户的关联（居委会、业委会；租户亦可由该户业主解除）

        404 ``link_not_found``.
        """
        service.unlink(current_actor(), link_id)


@blp.route("/unit-residents/import")
class UnitResidentImport(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.RegisterImportSchema)
    def post(self):
        """按居委会登记册批量关联居民与户（CSV，全部成功才写入；每个错误行报告行、列、原因）

        CSV columns: ``unit_code, name, phone, relation, representative``.  403 ``out_of_scope``;
        422 ``import_invalid`` (``details.errors``: ``[{"line", "column", "reason"}]``).
        """
        return importer.import_register_csv(csv_upload(), actor=current_actor())
