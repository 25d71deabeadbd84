"""Complaints API: intake, the case, the workflow, the queue, the resident's side.  HTTP only."""

from __future__ import annotations

from flask.views import MethodView

from civic.complaints import routing, schemas, service
from civic.core import media
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.blur_routes import register_review_routes
from civic.core.errors import Forbidden
from civic.core.pagination import PageArgs
from civic.core.uploads import photo_files

blp = Blueprint("complaints", __name__, url_prefix="/api/v1", description="六方联动：投诉案件与工单队列")


@blp.route("/complaints")
class Complaints(MethodView):
    @require("resident")
    @blp.arguments(schemas.IntakeFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.ComplaintSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, form):
        """居民拍照反映问题（multipart），返回已派单的案件

        Form fields: category, category_detail (optional: its rule routes the case), complained_kind
        (optional: the party complained about never leads the case), description (≤ 4,000 字), one
        of place_id / lat+lng+datum / address (or gps_consent with a photo carrying GPS),
        gps_consent, urgent; files: photos (1-9; 0-9 for a category whose data says
        ``photo_optional``: noise, which no photo can show), or ``upload_ids``: photos sent before by
        resumable upload (``/api/v1/uploads``, tus), each consumed once.
        Send an ``Idempotency-Key`` header: a retried upload returns the first case, never a second.
        Errors: 422 category_unknown, category_detail_unknown, complained_kind_unknown,
        text_required, text_too_long, photos_required (not for photo_optional categories),
        too_many_photos, location_required, location_not_covered; 413/415/422 photo_* (the photo is named);
        for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        files = photo_files("photos", purpose="complaints.photo")
        user = current_actor()
        result = service.submit(user, service.Intake(
            category=form["category"], description=form["description"], photos=files,
            place_id=form.get("place_id"), lat=form.get("lat"), lng=form.get("lng"), datum=form.get("datum"),
            address=form.get("address"), gps_consent=form["gps_consent"], urgent=form["urgent"],
            category_detail=form.get("category_detail"), complained_kind=form.get("complained_kind")))
        c = result.complaint
        return service.present(user, c, service.viewer_for(user, c), duplicates=result.duplicates)


@blp.route("/complaints/suggest")
class ComplaintSuggest(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.SuggestBodySchema)
    @blp.response(200, schemas.SuggestResultSchema)
    def post(self, body):
        """根据描述推荐案件类别（文本分类模型；文字放在请求体中）

        Body ``{"text": "..."}``: the draft, at most 4,000 characters after tidying (a description's
        limit).  The resident's words stay out of the URL and so out of access logs.
        Answer ``{"verdict": likely|mixed|unsure|not_a_complaint, "prompt": 中文提示|null,
        "not_a_complaint": p, "suggestions": [{"category", "name", "score"}]}``: up to three
        categories with calibrated probabilities (civic.complaints.suggest; accuracy in
        docs/suggest-accuracy.md).
        Errors: 422 text_required, text_too_long (details ``{"field", "max", "length"}``);
        413 payload_too_large over the JSON body limit (details ``{"max_bytes"}``).
        """
        return service.suggest(body["text"], max_len=service.MAX_DESCRIPTION)

    @require("resident", "staff", "admin")
    @blp.arguments(schemas.SuggestArgs, location="query")
    @blp.response(200, schemas.SuggestResultSchema)
    @blp.doc(deprecated=True)
    def get(self, args):
        """根据简短描述推荐案件类别（仅限 300 字以内；请改用 POST）

        Kept for short texts: at most 300 characters after tidying, so that the URL stays under a
        front server's request-line limit (gunicorn: 4,094 bytes).  The text is in the URL, which
        access logs record: clients send a resident's draft by POST.  The answer is the POST's.
        Errors: 422 text_required, text_too_long (details ``{"field", "max", "length"}``).
        """
        return service.suggest(args["text"], max_len=service.MAX_SUGGEST_QUERY)


@blp.route("/complaints/<int:complaint_id>")
class ComplaintById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.ComplaintSchema)
    def get(self, complaint_id):
        """案件详情（按查看者身份显示；投诉人信息默认脱敏）

        404 complaint_not_found also when the case exists but is not yours to see.
        """
        user = current_actor()
        c, v = service.get_for(user, complaint_id)
        return service.present(user, c, v)


@blp.route("/complaints/<int:complaint_id>/duplicates")
class ComplaintDuplicates(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DuplicatesSchema)
    def get(self, complaint_id):
        """案件的疑似重复案件及理由（距离、同一楼栋、同一照片、描述相似），不含其他投诉人的任何信息

        For the case's parties, the street's oversight and administrators; its reporters get the
        nearby cases of the same category.  Merge with ``POST /complaints/{id}/transitions``
        ``{"action": "merge", "into_id": ...}`` (``may_merge`` says whether you may).
        404 complaint_not_found also when the case exists but is not yours to see.
        """
        return service.duplicates_for(current_actor(), complaint_id)


@blp.route("/complaints/<int:complaint_id>/transitions")
class ComplaintTransitions(MethodView):
    @require("staff")
    @blp.arguments(schemas.TransitionSchema)
    @blp.response(200, schemas.ComplaintSchema)
    def post(self, data, complaint_id):
        """工作人员操作：签收、开始处置、办结、退回、重新派单、合并

        Errors: 403 transition_not_allowed; 409 complaint_closed, complaint_merged (an ended case
        takes no change), invalid_transition, case_changed (someone acted first); 422 note_required,
        lead_organisation_invalid, merge_target_invalid.
        """
        user = current_actor()
        c = service.transition(user, complaint_id, data["action"], note=data.get("note"),
                               expected_version=data.get("version"),
                               lead_organisation_id=data.get("lead_organisation_id"), into_id=data.get("into_id"))
        return service.present(user, c, service.viewer_for(user, c))


@blp.route("/complaints/<int:complaint_id>/photos")
class ComplaintPhotos(MethodView):
    @require("staff")
    @blp.arguments(schemas.PhotoFilesSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.ComplaintSchema)
    def post(self, _form, complaint_id):
        """主办方上传处置结果照片（与受理同一照片流程）

        Photos: the parts ``photos`` and/or ``upload_ids`` (photos sent before by resumable upload).
        Errors: 403 transition_not_allowed (not the lead); 409 complaint_closed, complaint_merged
        (nothing stored); 413/415/422 photo_*; for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        user = current_actor()
        files = photo_files("photos", purpose="complaints.photo")
        service.add_result_photos(user, complaint_id, files)
        c, v = service.get_for(user, complaint_id, log_view=False)
        return service.present(user, c, v)


@blp.route("/complaints/<int:complaint_id>/photos/<token>")
class ComplaintPhotoFile(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.PhotoFileArgs, location="query")
    @blp.response(200, content_type="image/jpeg")
    def get(self, args, complaint_id, token):
        """案件照片（仅能查看该案件的人可取；地址不可猜测）。?size=thumb 取缩略图

        The original only to the person who took it and the lead party's staff; everyone else gets
        the photo with faces and number plates blurred, and 409 photo_blur_pending until it is made.
        ?rendition=blurred: the blurred rendition for those who see the original (their review).
        """
        size = args["size"]
        return media.respond(service.photo_for(current_actor(), complaint_id, token, size, args["rendition"]), size)


# The review of a photo's blur: the lead party's staff (service.photos._reviewer).
register_review_routes(blp, service.PHOTO, endpoint="ComplaintPhotoBlur", reviewer="主办方", audited_on="the case",
                       not_reviewer="not the lead party", not_found=("complaint_not_found", "photo_not_found"),
                       account_kinds=("staff", "admin"))


@blp.route("/complaints/<int:complaint_id>/messages")
class ComplaintMessages(MethodView):
    @require("resident", "staff")
    @blp.response(200, schemas.MessageSchema(many=True))
    def get(self, complaint_id):
        """案件留言（居民只看到处置方组织名称）"""
        return service.messages_for(current_actor(), complaint_id)

    @require("resident", "staff")
    @blp.arguments(schemas.MessageInSchema)
    @blp.response(201, schemas.MessageSchema(many=True))
    def post(self, data, complaint_id):
        """发表留言（工作人员可发内部备注）

        Errors: 403 internal_note_forbidden, message_not_allowed; 409 complaint_closed,
        complaint_merged (nobody posts on an ended case); 422 text_required, text_too_long.
        """
        user = current_actor()
        service.add_message(user, complaint_id, data["body"], internal=data["internal"])
        return service.messages_for(user, complaint_id)


@blp.route("/complaints/<int:complaint_id>/history")
class ComplaintHistory(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.HistorySchema(many=True))
    def get(self, complaint_id):
        """案件进度（来自审计日志；居民看不到工作人员个人信息）"""
        return service.history_for(current_actor(), complaint_id)


@blp.route("/complaints/<int:complaint_id>/rating")
class ComplaintRating(MethodView):
    @require("resident")
    @blp.arguments(schemas.RatingSchema)
    @blp.response(200, schemas.ComplaintSchema)
    def post(self, data, complaint_id):
        """投诉人满意度评价（办结后 7 日内；1-2 分不满意，重新处理一次）

        Errors: 403 not_complainant; 409 rating_not_open.
        """
        user = current_actor()
        c = service.rate(user, complaint_id, data["rating"], data.get("comment"))
        return service.present(user, c, service.viewer_for(user, c))


@blp.route("/complaints/<int:complaint_id>/complainant")
class ComplaintComplainant(MethodView):
    @require("staff")
    @blp.arguments(schemas.RevealSchema)
    @blp.response(200, schemas.ComplainantSchema)
    def post(self, data, complaint_id):
        """查看投诉人完整信息（须填写事由，记入审计日志）

        Errors: 403 complainant_hidden (this party may not see the complainant; always for the
        party complained about).
        """
        user = current_actor()
        c, v = service.get_for(user, complaint_id)
        return service.complainant_for(user, c, v, reveal=True, reason=data["reason"])


@blp.route("/my/complaints")
class MyComplaints(MethodView):
    @require("resident")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, schemas.ComplaintPageSchema)
    def get(self, args):
        """我反映的问题（含合并后跟随的案件）"""
        items, cursor = service.my_complaints(current_actor(), cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}


@blp.route("/my/complaints/gps-consent")
class MyGpsConsent(MethodView):
    @require("resident")
    @blp.response(200, schemas.GpsWithdrawnSchema)
    def delete(self):
        """撤回照片定位授权：从本人全部案件中删除照片 GPS 坐标

        PIPL Arts. 15, 28-29: a photo's precise location is used only with separate consent; once
        withdrawn, every case of the resident keeps the registry place it was routed to and loses the
        coordinates.  Answers how many cases changed.  Errors: 401; 403 for staff.
        """
        from civic.complaints.personal import withdraw_gps_consent

        return {"cases": withdraw_gps_consent(current_actor())}


@blp.route("/queue")
class Queue(MethodView):
    @require("staff")
    @blp.arguments(schemas.QueueArgs, location="query")
    @blp.response(200, schemas.QueuePageSchema)
    def get(self, args):
        """本组织工单队列（按状态、类别、超期、地点筛选；游标分页）；街镇中心看全街道"""
        user = current_actor()
        org, items, cursor = service.queue(
            user, organisation_id=args.get("organisation_id"), status=args.get("status"),
            category=args.get("category"), overdue=args.get("overdue"), place_id=args.get("place_id"),
            cursor=args["cursor"], limit=args["limit"])
        out = {"organisation": org, "items": items, "next_cursor": cursor}
        if args["counts"]:
            out["counts"] = service.counts_by_status(user, org.id)
        return out


@blp.route("/routing-rules")
class RoutingRules(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.RoutingArgs, location="query")
    @blp.response(200, schemas.RoutingRuleSchema(many=True))
    def get(self, args):
        """分派规则（某区的规则；未单独设置的类别用默认）"""
        return [r.as_dict() for r in routing.list_rules(args.get("district_id"))]


@blp.route("/routing-rules/<category>")
class RoutingRuleByCategory(MethodView):
    @require("admin")
    @blp.arguments(schemas.RoutingArgs, location="query")
    @blp.arguments(schemas.RoutingRuleSchema)
    @blp.response(200, schemas.RoutingRuleSchema)
    def put(self, args, data, category):
        """设置某区（district_id）或默认的分派规则（管理员）"""
        user = current_actor()
        if user.kind != "admin":
            raise Forbidden()
        return routing.set_rule(args.get("district_id"), category, data, actor=user).as_dict()


# "Me too" and "cases near me": their routes live in their own module, on this blueprint.
from civic.complaints import supporter_routes as _supporter_routes  # noqa: E402, F401
