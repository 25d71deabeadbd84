"""金点子 contests' endpoints.  HTTP only: each view calls one service function."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from civic.core import media
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.blur_routes import register_review_routes
from civic.core.pagination import as_page
from civic.core.schemas import BlurredMediaFileArgs
from civic.core.uploads import photo_files
from civic.proposals.contests import queries, schemas, service
from civic.proposals.moderation import schemas as moderation_schemas

blp = Blueprint("contests", __name__, url_prefix="/api/v1", description="金点子征集")

TIE_BREAK = "最终得分高者在前；相同时依次比较：评委得分高、支持数多、提交早、编号小"
DEVICE_HEADER = "X-Device-Id"


def _client():
    return {"ip": request.remote_addr, "device_id": request.headers.get(DEVICE_HEADER)}


@blp.route("/contests")
class Contests(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.PageArgs, location="query")
    @blp.response(200, schemas.ContestPageSchema)
    def get(self, args):
        """金点子征集列表"""
        items, cursor = queries.list_contests(cursor=args["cursor"], limit=args["limit"])
        return {"items": [service.contest_view(c) for c in items], "next_cursor": cursor}

    @require("staff", "admin")
    @blp.arguments(schemas.ContestCreateSchema)
    @blp.response(201, schemas.ContestSchema)
    def post(self, data):
        """发起金点子征集（居委会或街镇中心）

        Errors: 403 ``not_organiser``/``out_of_scope``; 422 ``organiser_kind_invalid``, ``phases_incomplete``,
        ``phases_overlap``, ``phase_dates_invalid``, ``criteria_required``, ``criteria_duplicate``.
        """
        return service.contest_view(service.create_contest(current_actor(), data))


@blp.route("/contests/<int:contest_id>")
class ContestById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.ContestSchema)
    def get(self, contest_id):
        """单个征集：阶段、当前可进行的操作、评审标准"""
        return service.contest_view(service.get_contest(contest_id))


@blp.route("/contests/<int:contest_id>/schedule")
class ContestSchedule(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.ScheduleSchema)
    @blp.response(200, schemas.ContestSchema)
    def put(self, data, contest_id):
        """调整各阶段时间（主办方）

        评审开始后（或排名公布后）不能把日程改回之前的阶段。
        Errors: 409 ``schedule_reopens_phase``, ``contest_changed``.
        """
        return service.contest_view(service.set_schedule(current_actor(), contest_id, data["phases"]))


@blp.route("/contests/<int:contest_id>/jurors")
class ContestJurors(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.JurorInSchema)
    @blp.response(201, schemas.JurorSchema)
    def post(self, data, contest_id):
        """聘请评委（工作人员或居民）"""
        return service.appoint_juror(current_actor(), contest_id, data["user_id"])


@blp.route("/contest-photos")
class ContestPhotos(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.PhotoFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.PhotoListSchema)
    def post(self, _form):
        """上传照片（multipart，字段 photos，最多 9 张），返回 display_key 供提交金点子或进度时引用

        Or the form field ``upload_ids``: photos sent before by resumable upload (/api/v1/uploads,
        tus), each consumed once.
        Errors: the photo pipeline's (413 ``photo_too_large``, 415 ``photo_format_unsupported``,
        422 ``photo_corrupt``), 422 ``photos_required``/``too_many_photos``;
        for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        files = photo_files("photos", purpose="contests.photo")
        return {"items": service.upload_photos(current_actor(), files)}


@blp.route("/contest-photos/<string:token>")
class ContestPhotoFile(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(BlurredMediaFileArgs, location="query")
    @blp.response(200, content_type="image/jpeg")
    def get(self, args, token):
        """金点子及实施进度的照片（地址不可猜测）。?size=thumb 取缩略图

        Approved ideas' photos: staff and residents of the contest's places; pending/hidden ideas':
        the author and the organiser's moderators only.  The original only to the author (who took
        it); everyone else gets faces and number plates blurred, 409 ``photo_blur_pending`` until the
        rendition is made.  ?rendition=blurred: the blurred rendition for the author too.
        Errors: 404 ``photo_not_found``.
        """
        return media.respond(service.photo_for(current_actor(), token, args["size"], args["rendition"]), args["size"])


# The review of a photo's blur: the organiser's moderators (service.photos._reviewer).
register_review_routes(blp, service.PHOTO, endpoint="ContestPhotoBlur", reviewer="审核人员",
                       viewer="征集主办方的审核人员", audited_on="the idea", not_found=("photo_not_found",),
                       not_reviewer="sees the photo, is not a moderator of the contest's organiser")


@blp.route("/contests/<int:contest_id>/ideas")
class ContestIdeas(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.IdeaListArgs, location="query")
    @blp.response(200, schemas.IdeaPageSchema)
    def get(self, args, contest_id):
        """金点子列表：最新、最多支持、随机（对每位居民固定的顺序）；支持中文搜索"""
        actor = current_actor()
        return as_page(service.idea_page(actor, queries.list_ideas(actor, contest_id, sort=args["sort"], q=args["q"],
                                                                   cursor=args["cursor"], limit=args["limit"])))

    @require("resident")
    @blp.arguments(schemas.IdeaInSchema)
    @blp.response(201, schemas.IdeaSchema)
    def post(self, data, contest_id):
        """提交金点子（征集阶段，限本次征集范围内的居民）

        Errors: 403 ``not_a_participant``; 409 ``phase_forbids_action``; 422 ``text_required``,
        ``text_too_long``, ``category_invalid``, ``photo_unknown``, ``too_many_photos``.
        """
        return service.idea_view(current_actor(), service.submit_idea(current_actor(), contest_id, data))


@blp.route("/ideas/<int:idea_id>")
class IdeaById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.IdeaSchema)
    def get(self, idea_id):
        """单个金点子"""
        return service.idea_view(current_actor(), service.visible_idea(current_actor(), idea_id))

    @require("resident")
    @blp.arguments(schemas.IdeaEditSchema)
    @blp.response(200, schemas.IdeaSchema)
    def patch(self, data, idea_id):
        """作者修改金点子（仅征集阶段；保留历史版本）"""
        return service.idea_view(current_actor(), service.edit_idea(current_actor(), idea_id, data))


@blp.route("/ideas/<int:idea_id>/versions")
class IdeaVersions(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, moderation_schemas.VersionListSchema)
    def get(self, idea_id):
        """金点子的历史版本

        For whoever sees the idea (``GET /ideas/{id}``; others 404 ``idea_not_found``): the author and
        the organiser's moderators read every version; anyone else the versions from the latest
        moderator's edit on (what a moderator took out is not read back from the history).
        """
        return {"items": service.idea_versions(current_actor(), idea_id)}


@blp.route("/ideas/<int:idea_id>/comments")
class IdeaComments(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.PageArgs, location="query")
    @blp.response(200, schemas.CommentPageSchema)
    def get(self, args, idea_id):
        """评论列表"""
        return as_page(queries.list_comments(current_actor(), idea_id, cursor=args["cursor"], limit=args["limit"]))

    @require("resident", "staff", "admin")
    @blp.arguments(schemas.CommentInSchema)
    @blp.response(201, schemas.CommentSchema)
    def post(self, data, idea_id):
        """发表评论"""
        return service.add_comment(current_actor(), idea_id, data["body"])


@blp.route("/ideas/<int:idea_id>/support")
class IdeaSupport(MethodView):
    @require("resident")
    @blp.response(200, schemas.SupportResultSchema)
    def put(self, idea_id):
        """支持（点赞）金点子：每人每个点子一次，仅支持阶段

        Records the client IP and the optional ``X-Device-Id`` header.  Errors: 403 ``not_a_participant``;
        409 ``phase_forbids_action``, ``idea_not_open``, ``support_cap_reached``.
        """
        return service.support(current_actor(), idea_id, **_client())

    @require("resident")
    @blp.response(200, schemas.SupportResultSchema)
    def delete(self, idea_id):
        """撤回支持（支持阶段内）"""
        return service.withdraw_support(current_actor(), idea_id, **_client())


@blp.route("/ideas/<int:idea_id>/scores")
class IdeaScores(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.ScoresInSchema)
    @blp.response(200, schemas.ScoreListSchema)
    def put(self, data, idea_id):
        """评委评分（评审阶段，每项 0-10 分）

        Errors: 403 ``not_a_juror``, ``juror_conflict`` (same household as the author); 409
        ``phase_forbids_action``; 422 ``scores_incomplete``, ``score_out_of_range``.
        """
        return {"items": service.score_idea(current_actor(), idea_id, data["scores"])}


@blp.route("/contests/<int:contest_id>/ranking")
class ContestRanking(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.RankingArgs, location="query")
    @blp.response(200, schemas.RankingSchema)
    def get(self, args, contest_id):
        """排名及每个金点子的得分构成（公布后公开；主办方可预览）"""
        rows = service.published_ranking(current_actor(), contest_id, preview=args["preview"])
        return {"tie_break": TIE_BREAK, "items": rows}

    @require("staff", "admin")
    @blp.response(201, schemas.RankingSchema)
    def post(self, contest_id):
        """公布排名（结果公示阶段，主办方）

        Errors: 409 ``ranking_already_published``, ``phase_forbids_action``.
        """
        service.publish_ranking(current_actor(), contest_id)
        return {"tie_break": TIE_BREAK, "items": service.published_ranking(current_actor(), contest_id)}


@blp.route("/contests/<int:contest_id>/signals")
class ContestSignals(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.SignalListSchema)
    def get(self, contest_id):
        """刷票迹象（同一设备或网络的多个账号、新账号集中支持），供审核人员参考"""
        return {"items": service.signals(current_actor(), contest_id)}


@blp.route("/ideas/<int:idea_id>/adopt")
class IdeaAdopt(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.AdoptSchema)
    @blp.response(201, schemas.ImplementationSchema)
    def post(self, data, idea_id):
        """采纳金点子并指定负责实施的组织（须为服务范围覆盖该金点子所在地点的组织）

        Errors: 409 ``ranking_not_published``, ``idea_not_ranked``, ``already_adopted``;
        422 ``organisation_out_of_scope``.
        """
        service.adopt(current_actor(), idea_id, data["organisation_id"], data["note"])
        return service.implementation_view(current_actor(), idea_id)


@blp.route("/ideas/<int:idea_id>/implementation")
class IdeaImplementation(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.ImplementationSchema)
    def get(self, idea_id):
        """实施情况：负责组织、状态、节点与进度"""
        return service.implementation_view(current_actor(), idea_id)


@blp.route("/ideas/<int:idea_id>/implementation/status")
class IdeaImplementationStatus(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.StatusInSchema)
    @blp.response(200, schemas.ImplementationSchema)
    def post(self, data, idea_id):
        """变更实施状态（通知作者和支持者）

        Errors: 409 ``implementation_transition_invalid``, ``implementation_changed``.
        """
        service.set_implementation_status(current_actor(), idea_id, data["status"], data["note"])
        return service.implementation_view(current_actor(), idea_id)


@blp.route("/ideas/<int:idea_id>/milestones")
class IdeaMilestones(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.MilestoneInSchema)
    @blp.response(201, schemas.MilestoneSchema)
    def post(self, data, idea_id):
        """新增实施节点"""
        return service.add_milestone(current_actor(), idea_id, data["title"], data["due_on"])


@blp.route("/milestones/<int:milestone_id>/updates")
class MilestoneUpdates(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.MilestoneUpdateInSchema)
    @blp.response(201, schemas.MilestoneUpdateSchema)
    def post(self, data, milestone_id):
        """报告节点进度（整数百分比、说明、照片）

        Errors: 409 ``progress_backwards``, ``milestone_changed``; 422 ``progress_out_of_range``.
        """
        return service.milestone_update_view(current_actor(), service.update_milestone(
            current_actor(), milestone_id, data["progress"], data["note"], data["photos"]))


@blp.route("/me/ideas")
class MyIdeas(MethodView):
    @require("resident")
    @blp.arguments(schemas.PageArgs, location="query")
    @blp.response(200, schemas.IdeaPageSchema)
    def get(self, args):
        """我的金点子"""
        return as_page(service.idea_page(current_actor(), queries.my_ideas(current_actor(), cursor=args["cursor"],
                                                                           limit=args["limit"])))


@blp.route("/me/supports")
class MySupports(MethodView):
    @require("resident")
    @blp.arguments(schemas.PageArgs, location="query")
    @blp.response(200, schemas.SupportPageSchema)
    def get(self, args):
        """我支持的金点子"""
        return as_page(queries.my_supports(current_actor(), cursor=args["cursor"], limit=args["limit"]))
