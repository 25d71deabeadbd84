"""路管会 / 弄管会 deliberation endpoints.  HTTP only: each view calls one service function.
Topic and comment moderation goes through the shared ``/api/v1/moderation/<item_type>/<id>`` endpoints
(kinds ``topic`` and ``topic_comment``)."""

from __future__ import annotations

from flask.views import MethodView

from civic.core import media
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.blur_routes import register_review_routes
from civic.core.schemas import BlurredMediaFileArgs
from civic.core.uploads import photo_files
from civic.proposals.deliberation import schemas as schemas
from civic.proposals.deliberation import service as service

blp = Blueprint("deliberation", __name__, url_prefix="/api/v1", description="路管会、弄管会议事")


def _files():
    """The form's photos: the parts ``photos`` and the finished resumable uploads ``upload_ids``."""
    return photo_files("photos", purpose="deliberation.photo")


@blp.route("/committees")
class Committees(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.DelibCommitteeInSchema)
    @blp.response(201, schemas.DelibCommitteeSchema)
    def post(self, data):
        """设立路管会、弄管会或议事会（召集的居委会），同时生成第 1 版议事规则

        Errors: 403 ``not_convener``/``out_of_scope``; 422 ``place_kind_invalid``, ``fraction_invalid``.
        """
        return service.create_committee(current_actor(), data)


@blp.route("/committees/<int:committee_id>/members")
class CommitteeMembers(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DelibMemberListSchema)
    def get(self, committee_id):
        """本届成员（任期覆盖今天）"""
        service.get_committee(committee_id)
        return {"items": service.current_members(committee_id)}

    @require("staff", "admin")
    @blp.arguments(schemas.DelibMemberInSchema)
    @blp.response(201, schemas.DelibMemberSchema)
    def post(self, data, committee_id):
        """增补成员：角色、代表方、任期"""
        return service.add_member(current_actor(), committee_id, data)


@blp.route("/committees/<int:committee_id>/rules")
class CommitteeRules(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DelibRulesSchema)
    def get(self, committee_id):
        """现行议事规则（最新版本）"""
        return service.current_rules(committee_id)

    @require("staff", "admin")
    @blp.arguments(schemas.DelibRulesInSchema)
    @blp.response(201, schemas.DelibRulesSchema)
    @blp.alt_response(200, schema=schemas.DelibRulesSchema, description="规则未变：不生成新版本，返回现行版本")
    def post(self, data, committee_id):
        """修订议事规则：生成新版本，已作出的决定不受影响

        201 with the new version; 200 with the current version when the body changes nothing of it
        (an empty body, or the same values): no version is made.
        Errors: 422 ``fraction_invalid``, ``rules_invalid``.
        """
        rules, created = service.add_rule_set(current_actor(), committee_id, data)
        return rules, 201 if created else 200


@blp.route("/committees/<int:committee_id>/topics")
class CommitteeTopics(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibTopicInSchema)
    @blp.response(201, schemas.DelibTopicSchema)
    def post(self, data, committee_id):
        """提出议题（成员，或本路段/弄堂居民经联署）

        Errors: 403 ``not_a_resident_here``.
        """
        return service.raise_topic(current_actor(), committee_id, data)


@blp.route("/committees/<int:committee_id>/results")
class CommitteeResults(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DelibMotionListSchema)
    def get(self, committee_id):
        """公示中的表决结果（在议事规则规定的公示期内）

        Motions whose topic the reader may see (a topic hidden by moderation: its author and the
        moderators only), the same rule as ``GET /motions/{id}``.
        """
        return {"items": service.published_results(committee_id, actor=current_actor())}


@blp.route("/topics/<int:topic_id>")
class TopicById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DelibTopicSchema)
    def get(self, topic_id):
        """议题详情（被隐藏的议题仅作者和审核人员可见，其他人 404）"""
        return service.visible_topic(current_actor(), topic_id)


@blp.route("/topics/<int:topic_id>/cosignatures")
class TopicCosign(MethodView):
    @require("resident")
    @blp.response(200, schemas.DelibTopicSchema)
    def post(self, topic_id):
        """联署议题（本路段/弄堂居民，每人一次）

        Errors: 403 ``not_a_resident_here``/``own_topic``; 409 ``already_cosigned``, ``cosign_window_closed``,
        ``cosign_not_open``.
        """
        return service.cosign(current_actor(), topic_id)


@blp.route("/topics/<int:topic_id>/schedule")
class TopicSchedule(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DelibTopicSchema)
    def post(self, topic_id):
        """列入议程（主任、秘书）"""
        return service.schedule_topic(current_actor(), topic_id)


@blp.route("/topics/<int:topic_id>/decline")
class TopicDecline(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibReasonSchema)
    @blp.response(200, schemas.DelibTopicSchema)
    def post(self, data, topic_id):
        """不予列入议程（须说明理由）"""
        return service.decline_topic(current_actor(), topic_id, data["reason"])


@blp.route("/topics/<int:topic_id>/owners-referral")
class TopicReferral(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibNoteSchema)
    @blp.response(201, schemas.DelibReferralSchema)
    def post(self, data, topic_id):
        """提交业主共同决定（改变共有部分用途，民法典第278条第1款第8项）

        Errors: 409 ``owners_vote_not_needed``.
        """
        return service.refer_to_owners(current_actor(), topic_id, data["note"])


@blp.route("/topics/<int:topic_id>/comments")
class TopicComments(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DelibCommentListSchema)
    def get(self, topic_id):
        """议题讨论（显示中的评论；被隐藏的仅作者和审核人员可见）"""
        return {"items": service.comments(current_actor(), topic_id)}

    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibCommentInSchema)
    @blp.response(201, schemas.DelibCommentSchema)
    def post(self, data, topic_id):
        """发表讨论意见（经统一审核，可被举报）"""
        return service.add_comment(current_actor(), topic_id, data["body"])


@blp.route("/committees/<int:committee_id>/meetings")
class CommitteeMeetings(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibMeetingInSchema)
    @blp.response(201, schemas.DelibMeetingSchema)
    def post(self, data, committee_id):
        """召集会议：连同议程提前通知全体成员

        Errors: 409 ``notice_too_short``, ``topic_not_schedulable``; 422 ``agenda_empty``.
        """
        return service.meeting_view(current_actor(), service.convene(current_actor(), committee_id, data))


@blp.route("/meetings/<int:meeting_id>")
class MeetingById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DelibMeetingSchema)
    def get(self, meeting_id):
        """会议：议程、出席与法定人数（签到码仅主任、秘书可见）"""
        return service.meeting_view(current_actor(), service.get_meeting(meeting_id))


@blp.route("/meetings/<int:meeting_id>/check-in")
class MeetingCheckIn(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibCheckInSchema)
    @blp.response(201, schemas.DelibAttendanceSchema)
    def post(self, data, meeting_id):
        """成员凭签到码签到

        Errors: 403 ``not_a_member``; 409 ``checkin_not_open``, ``already_checked_in``; 422 ``checkin_code_wrong``.
        """
        return service.check_in(current_actor(), meeting_id, data["code"])


@blp.route("/meetings/<int:meeting_id>/attendance")
class MeetingAttendance(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibMarkSchema)
    @blp.response(201, schemas.DelibAttendanceSchema)
    def post(self, data, meeting_id):
        """秘书登记成员出席"""
        return service.mark_attendance(current_actor(), meeting_id, data["user_id"])


@blp.route("/meetings/<int:meeting_id>/minutes")
class MeetingMinutes(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibMinutesSchema)
    @blp.response(200, schemas.DelibMeetingSchema)
    def put(self, data, meeting_id):
        """记录会议纪要"""
        return service.meeting_view(current_actor(), service.record_minutes(current_actor(), meeting_id, data["minutes"]))


@blp.route("/meetings/<int:meeting_id>/motions")
class MeetingMotions(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibMotionInSchema)
    @blp.response(201, schemas.DelibMotionSchema)
    def post(self, data, meeting_id):
        """对议程中的议题提出动议并开始表决

        Errors: 409 ``needs_owners_vote``, ``quorum_not_met``, ``topic_not_on_agenda``, ``motion_already_open``.
        """
        return service.motion_view(service.open_motion(current_actor(), meeting_id, data["topic_id"], data["text"]))


@blp.route("/motions/<int:motion_id>")
class MotionById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.DelibMotionSchema)
    def get(self, motion_id):
        """动议及表决结果（精确分数）

        For whoever may see the motion's topic (everyone while it is shown; once moderation hides
        it, its author and the convening organisation's moderators); to anyone else 404
        ``motion_not_found``, as for a motion that does not exist.
        """
        return service.motion_view(service.visible_motion(current_actor(), motion_id))


@blp.route("/motions/<int:motion_id>/votes")
class MotionVotes(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibVoteInSchema)
    @blp.response(201, schemas.DelibVoteSchema)
    def post(self, data, motion_id):
        """出席成员表决：同意、反对或弃权（每人一次）

        Errors: 403 ``not_present``; 409 ``already_voted``, ``motion_closed``.
        """
        return service.cast(current_actor(), motion_id, data["choice"])


@blp.route("/motions/<int:motion_id>/close")
class MotionClose(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibCloseMotionSchema)
    @blp.response(200, schemas.DelibMotionSchema)
    def post(self, data, motion_id):
        """结束表决并按议事规则计票；通过则形成决议"""
        return service.motion_view(service.close_motion(current_actor(), motion_id, data["resolution_text"]))


@blp.route("/resolutions/<int:resolution_id>/action-items")
class ResolutionActionItems(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibActionItemInSchema)
    @blp.response(201, schemas.DelibActionItemSchema)
    def post(self, data, resolution_id):
        """决议分解为督办事项：责任单位、完成期限"""
        return service.action_item_view(current_actor(), service.add_action_item(current_actor(), resolution_id, data))


@blp.route("/action-items/<int:item_id>/updates")
class ActionItemUpdates(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibNoteFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.DelibActionUpdateSchema)
    def post(self, form, item_id):
        """报告进展（multipart：note，照片 photos 0-9 张，或 upload_ids：已断点续传完成的照片）

        Errors: 413/415/422 photo_*; for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        return service.action_update_view(current_actor(),
                                          service.update_action_item(current_actor(), item_id, form["note"], _files()))


@blp.route("/action-items/<int:item_id>/close")
class ActionItemClose(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.DelibNoteFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(200, schemas.DelibActionItemSchema)
    def post(self, form, item_id):
        """办结：须附说明和至少一张照片（photos 或 upload_ids）

        Errors: 422 ``evidence_required``; 409 ``action_item_closed``; 413/415/422 photo_*;
        for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        return service.action_item_view(current_actor(),
                                        service.close_action_item(current_actor(), item_id, form["note"], _files()))


@blp.route("/action-items/<int:item_id>/photos/<token>")
class ActionItemPhotoFile(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(BlurredMediaFileArgs, location="query")
    @blp.response(200, content_type="image/jpeg")
    def get(self, args, item_id, token):
        """督办事项的进展、办结照片（能查看该议题者可取；地址不可猜测，访问记入审计日志）。?size=thumb 取缩略图

        The original only to the responsible organisation's staff; everyone else gets faces and number
        plates blurred, 409 ``photo_blur_pending`` until the rendition is made.  ?rendition=blurred:
        the blurred rendition for the organisation's staff too.  Errors: 404 ``photo_not_found``.
        """
        return media.respond(service.action_photo(current_actor(), item_id, token, args["size"], args["rendition"]),
                             args["size"])


# The review of a photo's blur: the responsible organisation's staff (service.follow_up._photo_reviewer).
register_review_routes(blp, service.ACTION_PHOTO, endpoint="ActionItemPhotoBlur", reviewer="责任单位",
                       audited_on="the action item", not_found=("photo_not_found",),
                       not_reviewer="sees the topic, does not act for the responsible organisation")
