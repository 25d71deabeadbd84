"""The shared moderation endpoints (``/api/v1/moderation/<item_type>/<item_id>``) for every moderated
kind: ``idea`` and ``comment`` (contests), ``topic`` and ``topic_comment`` (deliberation).  HTTP only:
each view calls one service function of :mod:`civic.proposals.moderation`."""

from __future__ import annotations

from flask.views import MethodView

from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.pagination import as_page
from civic.proposals import moderation
from civic.proposals.moderation import schemas

mod_blp = Blueprint("moderation", __name__, url_prefix="/api/v1/moderation", description="内容审核（通用）")


# --- moderation (generic: item_type is "idea", "comment", later "topic") ---------------------------

@mod_blp.route("/queue")
class ModerationQueue(MethodView):
    @require("staff", "admin")
    @mod_blp.arguments(schemas.QueueArgs, location="query")
    @mod_blp.response(200, schemas.QueueSchema)
    def get(self, args):
        """审核队列：待审、因举报隐藏、已申诉的内容"""
        return as_page(moderation.queue(current_actor(), args["organisation_id"], cursor=args["cursor"],
                                      limit=args["limit"]))


@mod_blp.route("/<string:item_type>/<int:item_id>")
class ModerationItem(MethodView):
    @require("staff", "admin")
    @mod_blp.response(200, schemas.ModerationDetailSchema)
    def get(self, item_type, item_id):
        """审核详情：举报、申诉、处理记录、全部版本（含原文）

        For the moderators of the item's organisation and administrators.  Anyone else: 404
        ``item_not_found`` for content not shown (pending, hidden, rejected), as for an item that
        does not exist; 403 ``not_a_moderator`` for shown content.
        """
        return moderation.detail_view(current_actor(), item_type, item_id)


@mod_blp.route("/<string:item_type>/<int:item_id>/reports")
class ModerationReports(MethodView):
    @require("resident")
    @mod_blp.arguments(schemas.ReportInSchema)
    @mod_blp.response(201, schemas.ModeratedItemSchema)
    def post(self, data, item_type, item_id):
        """举报内容（达到举报次数后自动隐藏待审）

        Errors: 403 ``own_content``, ``not_a_participant``; 409 ``already_reported``, ``item_not_visible``.
        """
        return moderation.report(current_actor(), item_type, item_id, data["reason"])


@mod_blp.route("/<string:item_type>/<int:item_id>/decisions")
class ModerationDecisions(MethodView):
    @require("staff", "admin")
    @mod_blp.arguments(schemas.DecisionInSchema)
    @mod_blp.response(200, schemas.ModeratedItemSchema)
    def post(self, data, item_type, item_id):
        """审核：通过、隐藏（须说明原因）、不予采用

        Errors: 403 ``not_a_moderator``, ``own_content``; 409 ``moderation_transition_invalid``,
        ``appeal_pending``, ``moderation_changed`` (someone else decided meanwhile).
        """
        return moderation.decide(current_actor(), item_type, item_id, data["action"], data["reason"])


@mod_blp.route("/<string:item_type>/<int:item_id>/edits")
class ModerationEdits(MethodView):
    @require("staff", "admin")
    @mod_blp.arguments(schemas.ModeratorEditInSchema)
    @mod_blp.response(201, schemas.VersionSchema)
    @mod_blp.alt_response(200, schema=schemas.VersionSchema, description="内容未变：不生成新版本，返回最新版本")
    def post(self, data, item_type, item_id):
        """审核人员修改内容（原文保留在历史版本中）

        201 with the new version; 200 with the latest version when the content sent is what the item
        already holds (no version is made, nothing is written).
        """
        version, created = moderation.moderator_edit(current_actor(), item_type, item_id, data["content"],
                                                     data["reason"])
        return moderation.version_views(current_actor(), item_type, item_id, [version])[0], 201 if created else 200


@mod_blp.route("/<string:item_type>/<int:item_id>/appeal")
class ModerationAppeal(MethodView):
    @require("resident", "staff")
    @mod_blp.arguments(schemas.AppealInSchema)
    @mod_blp.response(201, schemas.AppealSchema)
    def post(self, data, item_type, item_id):
        """作者申诉（仅一次）"""
        return moderation.appeal(current_actor(), item_type, item_id, data["text"])


@mod_blp.route("/<string:item_type>/<int:item_id>/appeal/decision")
class ModerationAppealDecision(MethodView):
    @require("staff", "admin")
    @mod_blp.arguments(schemas.AppealDecisionInSchema)
    @mod_blp.response(200, schemas.AppealSchema)
    def post(self, data, item_type, item_id):
        """处理申诉（须由原决定人以外的审核人员）

        Errors: 403 ``same_moderator``; 409 ``no_pending_appeal``, ``moderation_changed``.
        """
        return moderation.decide_appeal(current_actor(), item_type, item_id, data["outcome"], data["note"])


