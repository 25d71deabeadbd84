"""社区微更新 budget rounds API.  HTTP only: each view parses, calls one service verb, returns."""

from __future__ import annotations

from flask.views import MethodView

from civic.budgets import schemas, service
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require

blp = Blueprint("budgets", __name__, url_prefix="/api/v1", description="社区微更新：预算轮次与居民投票")


@blp.route("/budget-rounds")
class BudgetRounds(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.PageArgs, location="query")
    @blp.response(200, schemas.BudgetRoundPageSchema)
    def get(self, args):
        """预算轮次列表（新的在前，游标分页）"""
        items, cursor = service.list_rounds(cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}

    @require("staff", "admin")
    @blp.arguments(schemas.BudgetRoundCreateSchema)
    @blp.response(201, schemas.BudgetRoundSchema)
    def post(self, data):
        """设立预算轮次（居委会或街镇中心）：预算总额（分）、地点、计票规则、投票方式、投票时间

        403 ``not_organiser``/``out_of_scope``; 422 ``organiser_kind_invalid``, ``max_choices_required``,
        ``place_kind_invalid``, ``voting_window_invalid``.
        """
        return service.round_view(service.create_round(current_actor(), data))


@blp.route("/budget-rounds/<int:round_id>")
class BudgetRoundById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.BudgetRoundSchema)
    def get(self, round_id):
        """单个预算轮次（合计支出在结果公布后显示）"""
        return service.round_view(service.get_round(round_id))


@blp.route("/budget-rounds/<int:round_id>/window")
class BudgetRoundWindow(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.BudgetWindowSchema)
    @blp.response(200, schemas.BudgetRoundSchema)
    def put(self, data, round_id):
        """调整投票时间（投票开始前）

        409 ``phase_forbids_action``; 422 ``voting_window_invalid``.
        """
        return service.round_view(service.set_window(current_actor(), round_id, data["voting_opens_at"],
                                                     data["voting_closes_at"]))


@blp.route("/budget-rounds/<int:round_id>/transitions")
class BudgetRoundTransitions(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.BudgetTransitionSchema)
    @blp.response(200, schemas.BudgetRoundSchema)
    def post(self, data, round_id):
        """转入下一阶段（筹备→测算→审核→投票→结果→实施）；转入结果即截止投票并计票

        409 ``transition_invalid``, ``no_projects``, ``project_cost_not_reviewed``, ``result_not_published``,
        ``round_changed``.
        """
        return service.round_view(service.transition(current_actor(), round_id, data["to"], data["note"]))


@blp.route("/budget-rounds/<int:round_id>/projects")
class BudgetRoundProjects(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.BudgetProjectSchema(many=True))
    def get(self, round_id):
        """本轮次的项目：来源、审核后的费用（分）、可行性说明、实施单位；票数在结果公布后显示"""
        return service.project_list(round_id)

    @require("staff", "admin")
    @blp.arguments(schemas.BudgetProjectInSchema)
    @blp.response(201, schemas.BudgetProjectSchema)
    def post(self, data, round_id):
        """把已采纳的金点子或议事会决议列为项目

        404 ``implementation_not_found`` (未采纳), ``resolution_not_found``; 409 ``project_exists``,
        ``phase_forbids_action``.
        """
        p = service.add_project(current_actor(), round_id, data["source"], data["source_id"])
        return service.project_view(p, published=False)


@blp.route("/budget-projects/<int:project_id>/cost")
class BudgetProjectCost(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.BudgetCostInSchema)
    @blp.response(200, schemas.BudgetProjectSchema)
    def put(self, data, project_id):
        """审核项目费用：费用（分）、可行性说明、实施单位；投票开始后冻结

        409 ``cost_frozen``, ``phase_forbids_action``; 422 ``cost_over_budget``, ``organisation_out_of_scope``.
        """
        return service.project_view(service.review_cost(current_actor(), project_id, data), published=False)


@blp.route("/budget-projects/<int:project_id>/milestones")
class BudgetProjectMilestones(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.BudgetMilestoneInSchema)
    @blp.response(201, schemas.BudgetMilestoneOutSchema)
    def post(self, data, project_id):
        """为获资助的项目设实施节点（金点子的实施节点，或决议的督办事项）

        409 ``project_not_funded``, ``phase_forbids_action``; 422 ``due_on_required``.
        """
        return service.add_milestone(current_actor(), project_id, data["title"], data["due_on"])


@blp.route("/budget-rounds/<int:round_id>/ballot")
class BudgetRoundBallot(MethodView):
    @require("resident")
    @blp.response(200, schemas.BudgetMyBallotSchema)
    def get(self, round_id):
        """我的选票（本户或本人）

        404 ``ballot_not_found``.
        """
        return service.my_ballot(current_actor(), round_id)

    @require("resident")
    @blp.arguments(schemas.BudgetBallotInSchema)
    @blp.response(201, schemas.BudgetBallotOutSchema)
    def post(self, data, round_id):
        """投票或改票（截止前可改）；返回回执码，仅显示一次

        403 ``not_eligible``; 409 ``voting_not_open``; 422 ``ballot_over_budget``, ``ballot_over_limit``,
        ``project_not_in_round``, ``choices_required``.
        """
        return service.cast(current_actor(), round_id, data["project_ids"], data["unit_id"])


@blp.route("/budget-receipts/<string:code>")
class BudgetReceipt(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.BudgetReceiptSchema)
    def get(self, code):
        """凭回执码查看选票记录（改票后旧回执显示“已更改”）

        404 ``receipt_not_found``.
        """
        return service.receipt(code)


@blp.route("/budget-rounds/<int:round_id>/paper-ballots")
class BudgetPaperBallots(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.BudgetPaperEntrySchema(many=True))
    def get(self, round_id):
        """待确认的纸质选票"""
        return [service.entry_view(e) for e in service.pending_entries(current_actor(), round_id)]

    @require("staff", "admin")
    @blp.arguments(schemas.BudgetPaperInSchema)
    @blp.response(201, schemas.BudgetPaperEntrySchema)
    def post(self, data, round_id):
        """录入纸质选票（须另一名工作人员确认后计入）

        403 ``not_eligible``; 409 ``voting_not_open``; 422 ``ballot_over_budget``, ``ballot_over_limit``.
        """
        return service.entry_view(service.enter_paper(current_actor(), round_id, data))


@blp.route("/budget-paper-ballots/<int:entry_id>/confirmation")
class BudgetPaperConfirmation(MethodView):
    @require("staff", "admin")
    @blp.response(201, schemas.BudgetPaperEntrySchema)
    def post(self, entry_id):
        """确认纸质选票（录入人以外的工作人员）

        409 ``same_staff``, ``already_confirmed``, ``voting_not_open``.
        """
        return service.entry_view(service.confirm_paper(current_actor(), entry_id))


@blp.route("/budget-rounds/<int:round_id>/publication")
class BudgetRoundPublication(MethodView):
    @require("staff", "admin")
    @blp.response(201, schemas.BudgetRoundSchema)
    def post(self, round_id):
        """公布结果

        409 ``phase_forbids_action``, ``already_published``.
        """
        return service.round_view(service.publish_result(current_actor(), round_id))


@blp.route("/budget-rounds/<int:round_id>/result")
class BudgetRoundResult(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.BudgetResultSchema)
    def get(self, round_id):
        """公布的结果：各项目票数、费用、是否资助、实施进度；预算使用情况

        404 ``round_not_found`` (尚未公布).
        """
        return service.public_result(round_id)
