"""村务公开 API: catalogue, disclosures, vouchers, inquiries, compliance.  HTTP only."""

from __future__ import annotations

from flask.views import MethodView

from civic.core import media
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.blur_routes import register_review_routes
from civic.core.schemas import BlurredMediaFileArgs
from civic.core.storage import media_store
from civic.core.uploads import photo_files
from civic.village import jobs as _jobs  # noqa: F401  (registers the periodic job)
from civic.village import schemas, service

blp = Blueprint("village", __name__, url_prefix="/api/v1", description="村务公开")


@blp.route("/villages/<village_code>/catalogue")
class Catalogue(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.CatalogueItemOut(many=True))
    def get(self, village_code):
        """村务公开目录（类别、事项、法律依据、公开周期）"""
        return service.catalogue(service.village_by_code(village_code))

    @require("staff", "admin")
    @blp.arguments(schemas.CatalogueItemIn)
    @blp.response(201, schemas.CatalogueItemOut)
    def post(self, data, village_code):
        """新增公开目录事项（村民委员会）

        409 ``catalogue_item_exists``; 403 ``not_village_committee``.
        """
        return service.add_catalogue_item(service.village_by_code(village_code), data, current_actor())


@blp.route("/villages/<village_code>/catalogue/<int:item_id>")
class CatalogueItemById(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.CatalogueItemPatch)
    @blp.response(200, schemas.CatalogueItemOut)
    def patch(self, data, village_code, item_id):
        """修改公开目录事项（周期、依据、停用）"""
        return service.update_catalogue_item(service.village_by_code(village_code), item_id, data,
                                             current_actor())


@blp.route("/villages/<village_code>/settings")
class Settings(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.SettingsIn)
    @blp.response(200, schemas.SettingsOut)
    def patch(self, data, village_code):
        """村务公开设置（财务往来较多则财务按月公开；起算日期）"""
        return service.update_settings(service.village_by_code(village_code), data, current_actor())


@blp.route("/villages/<village_code>/members")
class Members(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.MemberIn)
    @blp.response(201, schemas.MemberOut)
    def post(self, data, village_code):
        """任命村民委员会或村务监督委员会成员

        409 ``supervision_conflict``: nobody serves on both (组织法 Art. 32).
        """
        return service.add_committee_member(service.village_by_code(village_code), actor=current_actor(), **data)


@blp.route("/villages/<village_code>/disclosures")
class Disclosures(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DisclosureListArgs, location="query")
    @blp.response(200, schemas.DisclosurePage)
    def get(self, args, village_code):
        """本村公开事项列表（村两委、街镇可见草稿），按公开期从新到旧，游标分页（cursor、limit）"""
        items, cursor = service.list_disclosures(service.village_by_code(village_code), current_actor(), **args)
        return {"items": items, "next_cursor": cursor}

    @require("staff", "admin")
    @blp.arguments(schemas.DisclosureIn)
    @blp.response(201, schemas.DisclosureOut)
    def post(self, data, village_code):
        """起草公开事项（村民委员会）

        422 ``catalogue_item_unknown``, ``period_invalid``, ``amount_invalid``.
        """
        return service.disclosure_view(service.create_disclosure(service.village_by_code(village_code), data,
                                                                 current_actor()), current_actor())


@blp.route("/village-disclosures/<int:disclosure_id>")
class DisclosureById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DisclosureOut)
    def get(self, disclosure_id):
        """单个公开事项（含明细、合计）

        Published and corrected disclosures for every signed-in user; one not yet public only for
        the village committee, the supervision committee, the street centre and administrators (as
        the village's list shows them); to anyone else 404 ``disclosure_not_found``.
        """
        return service.disclosure_view(service.view_disclosure(service.get_disclosure(disclosure_id), current_actor()),
                                       current_actor())

    @require("staff", "admin")
    @blp.arguments(schemas.DisclosurePatch)
    @blp.response(200, schemas.DisclosureOut)
    def patch(self, data, disclosure_id):
        """修改草稿（标题、正文、余额；lines 追加明细）

        409 ``disclosure_locked`` once submitted.
        """
        return service.disclosure_view(service.update_disclosure(service.get_disclosure(disclosure_id), data,
                                                                 current_actor()), current_actor())


@blp.route("/village-disclosures/<int:disclosure_id>/lines/<int:line_id>")
class LineById(MethodView):
    @require("staff", "admin")
    @blp.response(204)
    def delete(self, disclosure_id, line_id):
        """删除草稿中的一条明细"""
        service.delete_line(service.get_disclosure(disclosure_id), line_id, current_actor())


@blp.route("/village-disclosures/<int:disclosure_id>/lines/<int:line_id>/vouchers")
class Vouchers(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.VoucherFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.VoucherOut(many=True))
    def post(self, _form, disclosure_id, line_id):
        """上传凭证照片（multipart，字段 photos，可多张；或 upload_ids：已断点续传完成的照片或扫描件）

        Photos go through the photo pipeline (format sniffed, metadata stripped): 415/413/422 photo_*.
        for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        files = photo_files("photos", purpose="village.voucher", kinds=("scan", "photo"))
        d = service.get_disclosure(disclosure_id)
        return service.voucher_links(current_actor(), d, service.add_vouchers(d, line_id, files, current_actor(),
                                                                              media_store()))


@blp.route("/village-disclosures/<int:disclosure_id>/vouchers/<token>")
class VoucherFile(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(BlurredMediaFileArgs, location="query")
    @blp.response(200, content_type="image/jpeg")
    def get(self, args, disclosure_id, token):
        """凭证照片（能查看该公开事项者可取；地址不可猜测，访问记入审计日志）。?size=thumb 取缩略图

        The original only to the village's committees and the town; everyone else gets faces and
        number plates blurred, 409 ``photo_blur_pending`` until the rendition is made.
        ?rendition=blurred: the blurred rendition for them too.  404 ``voucher_not_found``.
        """
        return media.respond(service.voucher_file(current_actor(), disclosure_id, token, args["size"],
                                                  args["rendition"]), args["size"])


# The review of a voucher's blur: the village committee (service.disclosures._voucher_reviewer).
register_review_routes(blp, service.VOUCHER, endpoint="VoucherBlur", reviewer="村民委员会", photo="凭证照片",
                       add_note="已公开的凭证也可", audited_on="the disclosure", not_found=("voucher_not_found",),
                       not_reviewer="views the disclosure, is not the village committee")


@blp.route("/village-disclosures/<int:disclosure_id>/transitions")
class Transitions(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.TransitionIn)
    @blp.response(200, schemas.DisclosureOut)
    def post(self, data, disclosure_id):
        """提交、退回、审核签字、公开

        Finance disclosures are checked on submit, sign_off and publish: 422 ``balance_required``
        (details.missing), 409 ``balance_mismatch`` (details in 分: opening_balance, income, expense,
        closing_balance, expected_closing, difference).  ``return`` needs a reason in ``note`` (422
        ``note_required``) and is open from submitted and signed_off (the supervision committee
        withdraws its signature).  409 ``transition_invalid``; 403 ``supervision_conflict``.
        409 ``disclosure_changed``: someone else acted on the disclosure at the same moment (e.g. a
        publish and a return at once); exactly one of them is carried out.
        """
        return service.disclosure_view(service.transition(service.get_disclosure(disclosure_id), data["action"],
                                                          current_actor(), data.get("note")), current_actor())


@blp.route("/village-disclosures/<int:disclosure_id>/corrections")
class Corrections(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.CorrectionIn)
    @blp.response(201, schemas.DisclosureOut)
    def post(self, data, disclosure_id):
        """更正已公开事项（生成新版本，旧版本保留并标注已更正）

        409 ``correction_pending``, ``disclosure_changed`` (a correction drafted at the same moment).
        """
        return service.disclosure_view(service.create_correction(service.get_disclosure(disclosure_id), data,
                                                                 current_actor()), current_actor())


@blp.route("/village-disclosures/<int:disclosure_id>/inquiries")
class Inquiries(MethodView):
    @require("resident")
    @blp.arguments(schemas.InquiryIn)
    @blp.response(201, schemas.InquiryOut)
    def post(self, data, disclosure_id):
        """本村村民就已公开事项提出查询（15 日内答复）

        403 ``not_villager``: only residents the registry ties to a home in the village may ask.
        """
        return service.ask(service.get_disclosure(disclosure_id), data["question"], current_actor())


@blp.route("/village-inquiries/<int:inquiry_id>/answer")
class InquiryAnswer(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.AnswerIn)
    @blp.response(200, schemas.InquiryOut)
    def post(self, data, inquiry_id):
        """村民委员会答复查询（公开页面显示）

        409 ``already_answered`` (also when two answers are sent at once: the first is kept).
        """
        return service.answer(inquiry_id, data["answer"], current_actor())


@blp.route("/villages/<village_code>/inquiries")
class VillageInquiries(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.InquiryListArgs, location="query")
    @blp.response(200, schemas.InquiryPage)
    def get(self, args, village_code):
        """本村查询，从新到旧（overdue=true：逾期未答复，从最早的起），游标分页（cursor、limit）"""
        items, cursor = service.list_inquiries(service.village_by_code(village_code), current_actor(), **args)
        return {"items": items, "next_cursor": cursor}


@blp.route("/villages/<village_code>/compliance")
class Compliance(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.ComplianceArgs, location="query")
    @blp.response(200, schemas.ComplianceOut)
    def get(self, args, village_code):
        """应公开、逾期未公开事项（按公开期）"""
        return service.village_compliance(service.village_by_code(village_code), current_actor(), **args)


@blp.route("/streets/<street_code>/village-overview")
class StreetOverview(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.StreetOverviewArgs, location="query")
    @blp.response(200, schemas.StreetOverviewOut)
    def get(self, args, street_code):
        """街镇所辖各村村务公开概况（逾期事项、逾期查询）"""
        return service.street_overview(street_code, current_actor(), **args)
