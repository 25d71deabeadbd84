"""Owners' votes endpoints (业主共同决定事项).  HTTP only: each view parses, calls one service
function, and returns what the schema serialises.  Rules: Civil Code Arts. 278, 1259; SPC
法释〔2009〕7号 Arts. 8-9; 上海市住宅物业管理规定 Arts. 16, 18, 69 (RULES.md §1)."""

from __future__ import annotations

import json

from flask.views import MethodView

from civic.core import media
from civic.core.api import Blueprint
from civic.core.auth import current_actor, require
from civic.core.errors import ValidationFailed
from civic.core.http import code_check_limit
from civic.core.schemas import MediaFileArgs
from civic.core.uploads import csv_upload, photo_files, scan_file
from civic.voting import roster, schemas, service

blp = Blueprint("voting", __name__, url_prefix="/api/v1", description="业主表决")


def _choices_json(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed("choices 须为 JSON 对象", code="ballot_choices_invalid") from exc
    if not isinstance(value, dict):
        raise ValidationFailed("choices 须为 JSON 对象", code="ballot_choices_invalid")
    return value


# --- rosters ---------------------------------------------------------------------------------------

@blp.route("/rosters")
class Rosters(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.RosterListArgs, location="query")
    @blp.response(200, schemas.RosterPageSchema)
    def get(self, args):
        """小区的业主名册列表（各版本，最新在前，游标分页）

        403 ``not_owners_committee`` (only the owners' committee and street centre of the compound).
        """
        items, cursor = service.list_rosters(current_actor(), compound_id=args["compound_id"],
                                             cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}

    @require("staff", "admin")
    @blp.arguments(schemas.RosterCreateSchema)
    @blp.response(201, schemas.RosterSummarySchema)
    def post(self, data):
        """建立业主名册（从登记信息生成，或空名册待导入 CSV）

        403 ``not_owners_committee``; 422 ``roster_place_invalid``.
        """
        r = roster.create_roster(place_id=data["place_id"], name=data["name"], source=data["source"],
                                 actor=current_actor())
        return roster.roster_summary(r)


@blp.route("/rosters/<int:roster_id>")
class RosterById(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.RosterSummarySchema)
    def get(self, roster_id):
        """业主名册（版本、状态、公布日期、户数与总面积）

        For the owners' committee and the street centre covering the roster's compound, and
        administrators.  Errors: 404 ``roster_not_found``; 403 ``not_owners_committee``.
        """
        return roster.roster_summary(roster.roster_for_reader(roster_id, current_actor()))


@blp.route("/rosters/<int:roster_id>/units")
class RosterUnits(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.RosterUnitListArgs, location="query")
    @blp.response(200, schemas.RosterUnitPageSchema)
    def get(self, args, roster_id):
        """名册中的房屋与业主（手机号脱敏，游标分页）"""
        items, cursor = roster.list_units(roster_id, current_actor(), cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}


@blp.route("/rosters/<int:roster_id>/import")
class RosterImport(MethodView):
    @require("staff", "admin")
    @blp.response(201, schemas.ImportOutSchema)
    def post(self, roster_id):
        """导入名册 CSV（全部成功或全部不写入）

        422 ``import_invalid`` with ``details.errors``: ``[{"line", "column", "reason"}]``;
        409 ``roster_certified``.
        """
        return roster.import_csv(roster_id, csv_upload(), current_actor())


@blp.route("/rosters/<int:roster_id>/certify")
class RosterCertify(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.CertifySchema)
    @blp.response(200, schemas.RosterSummarySchema)
    def post(self, data, roster_id):
        """确认并公布业主名册（《上海市住宅物业管理规定》第十六条）

        409 ``roster_certified``; 422 ``roster_empty``, ``roster_invalid``.
        """
        return roster.roster_summary(roster.certify(roster_id, published_on=data["published_on"],
                                                    actor=current_actor()))


@blp.route("/rosters/<int:roster_id>/versions")
class RosterVersions(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.NewVersionSchema)
    @blp.response(201, schemas.RosterSummarySchema)
    def post(self, data, roster_id):
        """名册变更：建立新版本并说明理由（已公布的版本不变）"""
        return roster.roster_summary(roster.new_version(roster_id, reason=data["reason"], actor=current_actor()))


# --- votes -----------------------------------------------------------------------------------------

@blp.route("/votes")
class Votes(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(schemas.VoteListArgs, location="query")
    @blp.response(200, schemas.VotePageSchema)
    def get(self, args):
        """表决列表（按小区、阶段筛选，最新在前，游标分页）

        Staff: the compounds their owners' committee / street centre covers (``compound_id``
        required: 422 ``compound_required``; 403 ``not_owners_committee``).  Residents: the votes
        of compounds where they are on the roster (drafts not shown).
        """
        items, cursor = service.list_votes(current_actor(), compound_id=args["compound_id"], status=args["status"],
                                           cursor=args["cursor"], limit=args["limit"])
        return {"items": items, "next_cursor": cursor}

    @require("staff", "admin")
    @blp.arguments(schemas.VoteCreateSchema)
    @blp.response(201, schemas.VoteSchema)
    def post(self, data):
        """发起业主表决（草稿）

        422 ``counting_mode_not_enabled``; 403 ``not_owners_committee``.
        """
        return service.create_vote(data, current_actor())


@blp.route("/votes/<int:vote_id>")
class VoteById(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200, schemas.VoteDetailSchema)
    def get(self, vote_id):
        """表决详情及其事项

        Visible to whoever finds the vote in ``GET /votes``: residents verified on the compound's
        roster (not drafts), the owners' committee and street centre covering it, administrators;
        to anyone else 404 ``vote_not_found``, as for an id that does not exist.
        """
        return service.vote_detail(vote_id, current_actor())


@blp.route("/votes/<int:vote_id>/transition")
class VoteTransition(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.VoteTransitionSchema)
    @blp.response(200, schemas.VoteSchema)
    def post(self, data, vote_id):
        """表决阶段变更：公告、开始投票（冻结名册）、结束、公布结果

        409 ``transition_not_allowed``, ``notice_period_running``, ``roster_not_certified``,
        ``paper_ballots_contested`` (同一业主的纸质选票不一致，须先撤回录入有误的一张),
        ``paper_ballots_unconfirmed``; 422 ``tally_conflicting_ballots``; 403 ``not_owners_committee``.
        """
        return service.transition(vote_id, data["action"], current_actor(), note=data["note"])


@blp.route("/votes/<int:vote_id>/matters")
class VoteMatters(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.MatterCreateSchema)
    @blp.response(201, schemas.MatterSchema)
    def post(self, data, vote_id):
        """添加表决事项（《民法典》第二百七十八条第一款第1-9项）"""
        return service.add_matter(vote_id, data, current_actor())


@blp.route("/votes/<int:vote_id>/matters/<int:matter_id>/attachments")
class MatterAttachments(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.MatterAttachmentFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.MatterSchema)
    def post(self, _form, vote_id, matter_id):
        """上传事项附件图片（multipart ``files``，或 ``upload_ids``：已断点续传完成的照片或扫描件；经照片处理流程）

        Errors: 413/415/422 photo_* (the file is named); for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        files = photo_files("files", "attachment", purpose="voting.matter_attachment", kinds=("photo", "scan"))
        return service.add_attachments(vote_id, matter_id, files, current_actor())


# Stored files, by unguessable address, to those entitled, every access audited (civic.core.media;
# who is entitled: civic.voting.service.media).  404 for anyone else: no hint the file exists.

@blp.route("/votes/<int:vote_id>/matters/<int:matter_id>/attachments/<token>")
class MatterAttachmentFile(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(MediaFileArgs, location="query")
    @blp.response(200, content_type="image/jpeg")
    def get(self, args, vote_id, matter_id, token):
        """表决事项附件图片（能查看该表决者可取；地址不可猜测，访问记入审计日志）。?size=thumb 取缩略图

        404 ``attachment_not_found``.
        """
        return media.respond(service.matter_attachment(current_actor(), vote_id, matter_id, token, args["size"]),
                             args["size"])


@blp.route("/votes/<int:vote_id>/proxy-scans/<token>")
class ProxyScanFile(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(MediaFileArgs, location="query")
    @blp.response(200, content_type="image/jpeg")
    def get(self, args, vote_id, token):
        """委托书扫描件（业委会、街道、委托人本人可取；地址不可猜测，访问记入审计日志）。?size=thumb 取缩略图

        404 ``proxy_scan_not_found``.
        """
        return media.respond(service.proxy_scan(current_actor(), vote_id, token, args["size"]), args["size"])


@blp.route("/votes/<int:vote_id>/paper-scans/<token>")
class PaperScanFile(MethodView):
    @require("resident", "staff", "admin")
    @blp.arguments(MediaFileArgs, location="query")
    @blp.response(200, content_type="image/jpeg")
    def get(self, args, vote_id, token):
        """纸质选票扫描件（业委会、街道、该户业主本人可取；地址不可猜测，访问记入审计日志）。?size=thumb 取缩略图

        404 ``paper_scan_not_found``.
        """
        return media.respond(service.paper_scan(current_actor(), vote_id, token, args["size"]), args["size"])


@blp.route("/votes/<int:vote_id>/deliveries")
class VoteDeliveries(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.DeliverySchema)
    @blp.response(201, schemas.DeliveryOutSchema)
    def post(self, data, vote_id):
        """登记表决票送达（按户）"""
        return service.record_deliveries(vote_id, data, current_actor())


@blp.route("/votes/<int:vote_id>/verify")
class VoteVerify(MethodView):
    decorators = [code_check_limit]

    @require("resident")
    @blp.arguments(schemas.VerifySchema)
    @blp.response(200, schemas.VerifyOutSchema)
    def post(self, data, vote_id):
        """业主身份验证：名册上的手机号 + 短信验证码

        Without ``code`` a code is sent; with it the account is linked.  403 ``roster_phone_unknown``;
        401 ``otp_invalid``; 409 ``roster_person_linked``.
        """
        return service.verify_owner(vote_id, data, current_actor())


@blp.route("/votes/<int:vote_id>/proxies")
class VoteProxies(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.ProxyFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.ProxyOutSchema)
    def post(self, data, vote_id):
        """登记委托代理人（书面委托书扫描件 ``scan``，或一个 ``upload_ids``，第十八条）

        The scan: the file part ``scan`` or one finished resumable upload (``upload_ids``; kind scan
        or photo), not both.  Errors: 422 scan_required (neither), scan_one_only (both, or two);
        413/415/422 photo_*; for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        return service.register_proxy(vote_id, data, scan_file("scan", purpose="voting.proxy_scan"), current_actor())


@blp.route("/votes/<int:vote_id>/ballot")
class VoteBallot(MethodView):
    @require("resident")
    @blp.arguments(schemas.BallotInSchema)
    @blp.response(201, schemas.BallotOutSchema)
    def post(self, data, vote_id):
        """投票（每位业主一票，覆盖其全部房屋；返回只显示一次的回执码）

        403 ``owner_not_verified``, ``ballot_not_owner``, ``ballot_not_representative``;
        409 ``ballot_already_cast``, ``vote_not_open``; 422 ``ballot_choices_incomplete``.
        """
        return service.cast_ballot(vote_id, data, current_actor())

    @require("resident")
    @blp.response(200, schemas.OwnBallotsSchema)
    def get(self, vote_id):
        """我的选票（本人所在业主的选票及其记录的选项）

        404 ``vote_not_found`` on a vote the resident does not see in ``GET /votes``.
        """
        return {"items": service.my_ballots(vote_id, current_actor())}


@blp.route("/votes/<int:vote_id>/paper-ballots")
class PaperBallots(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.PaperFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, schemas.PaperOutSchema)
    def post(self, data, vote_id):
        """录入纸质选票（按户，附扫描件 ``scan``；须另一名委员复核后计入）

        409 ``ballot_already_cast``, ``paper_ballot_duplicate``.  同一业主另一户的纸质选票所选不同时
        仍录入，但 ``contested`` 为 true：该业主的选票存在争议，两张都不能复核，结果不能公布，
        直至撤回录入有误的一张（一名业主只有一票）.  422 ``paper_signer_not_entitled``：签署人无权为该房屋
        投票（如已购未交付房屋的买受人尚不是业主；非代表的共有人未登记委托），``details.reason`` 与该人在线
        投票时得到的错误代码相同；``paper_signer_required``.  The scan: the file part ``scan`` or one
        finished resumable upload (``upload_ids``; kind scan or photo), not both: 422 scan_required
        (neither), scan_one_only (both, or two); 413/415/422 photo_*; for ``upload_ids``: 404 upload_not_found; 409 upload_incomplete, upload_consumed (a retried
        attach: nothing is stored twice); 410 upload_expired; 422 upload_ids_invalid, upload_kind_mismatch.
        """
        data = {**data, "choices": _choices_json(data["choices"])}
        return service.enter_paper_ballot(vote_id, data, scan_file("scan", purpose="voting.paper_scan"),
                                          current_actor())


@blp.route("/paper-ballots/<int:entry_id>/confirm")
class PaperBallotConfirm(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.PaperOutSchema)
    def post(self, entry_id):
        """复核纸质选票（须为录入人以外的委员）

        403 ``paper_confirm_same_user``; 409 ``paper_already_confirmed``, ``paper_already_withdrawn``,
        ``paper_ballot_conflicts_head``.
        """
        return service.confirm_paper_ballot(entry_id, current_actor())


@blp.route("/paper-ballots/<int:entry_id>/withdraw")
class PaperBallotWithdraw(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.WithdrawSchema)
    @blp.response(200, schemas.PaperOutSchema)
    def post(self, data, entry_id):
        """撤回录入有误的纸质选票（未复核的：录入人或业委会主任；已复核的：仅业委会主任，且须在结果公布前；扫描件保留在记录中）

        403 ``paper_withdraw_not_allowed``; 409 ``paper_already_confirmed``, ``paper_already_withdrawn``,
        ``vote_state_invalid``.
        """
        return service.withdraw_paper_ballot(entry_id, data, current_actor())


@blp.route("/votes/<int:vote_id>/turnout")
class VoteTurnout(MethodView):
    @require("staff", "admin")
    @blp.arguments(schemas.TurnoutArgs, location="query")
    @blp.response(200, schemas.TurnoutSchema)
    def get(self, args, vote_id):
        """投票情况：谁已投票（用于提醒），不显示如何投票

        ``show`` (all, voted, not_voted) filters the heads; ``offset`` / ``limit`` take one page of
        them (``count``: how many match); without ``limit``, all.  Each head is named by its units'
        names (``滨江花园1号楼101室``).  For the owners' committee and street centre covering the
        vote; 404 ``vote_not_found`` to whoever does not see the vote in ``GET /votes``; 409
        ``vote_not_open`` before voting opens.
        """
        return service.turnout(vote_id, current_actor(), **args)


@blp.route("/votes/<int:vote_id>/results")
class VoteResults(MethodView):
    @require("resident", "staff", "admin")
    @blp.response(200)
    def get(self, vote_id):
        """表决结果（分数以 "1827/2000" 形式给出精确值，百分比仅供显示；含分楼统计）

        For whoever sees the vote in ``GET /votes`` (others: 404 ``vote_not_found``); before
        publication 409 ``results_not_published`` (a preview once closed for the owners'
        committee and street centre).
        """
        return service.results(vote_id, current_actor())


@blp.route("/votes/<int:vote_id>/record")
class VoteRecord(MethodView):
    @require("staff", "admin")
    @blp.response(200, schemas.RecordSchema)
    def get(self, vote_id):
        """全部选票记录（在线、纸质、委托；录入与复核人；时间），限业委会与街镇中心

        404 ``vote_not_found`` to whoever does not see the vote in ``GET /votes``; 409
        ``record_not_available`` before voting closes.
        """
        return service.full_record(vote_id, current_actor())


@blp.route("/receipts/<string:code>")
class ReceiptByCode(MethodView):
    decorators = [code_check_limit]

    @require("resident", "staff", "admin")
    @blp.response(200, schemas.ReceiptSchema)
    def get(self, code):
        """凭回执码查看选票记录的选项（核对是否按所投计入）

        The code is the voter's secret, shown once and stored only as a hash: whoever holds it may
        check the record (a voter may show it to anyone they choose); 404 ``receipt_not_found``
        otherwise.  Rate-limited.
        """
        return service.receipt(code, current_actor())
