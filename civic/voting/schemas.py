"""Shapes for the owners' votes endpoints.  Areas are Decimal strings (m²); times Asia/Shanghai;
phones masked (PIPL)."""

from __future__ import annotations

import marshmallow as ma

from civic.core.pagination import PageArgs, page_schema
from civic.core.schemas import DecimalString, Integer, ShanghaiDateTime
from civic.core.uploads import file_field, files_field, upload_ids_field
from civic.voting.models import DELIVERY_METHODS, SIGNER_KINDS
from civic.voting.tally import COUNTING_MODES


class RosterCreateSchema(ma.Schema):
    place_id = Integer(required=True, metadata={"description": "小区，或小区内的楼（部分共有，第69条）"})
    name = ma.fields.String(load_default=None)
    source = ma.fields.String(load_default="registry", validate=ma.validate.OneOf(["registry", "csv"]))


class RosterSchema(ma.Schema):
    id = Integer()
    compound_id = Integer()
    scope_place_id = Integer()
    name = ma.fields.String()
    version = Integer()
    previous_id = Integer(allow_none=True)
    change_reason = ma.fields.String(allow_none=True)
    source = ma.fields.String()
    status = ma.fields.String()
    certified_at = ShanghaiDateTime(allow_none=True)
    published_on = ma.fields.Date(allow_none=True)


class RosterSummarySchema(ma.Schema):
    roster = ma.fields.Nested(RosterSchema)
    units = Integer()
    area = DecimalString()


class CertifySchema(ma.Schema):
    published_on = ma.fields.Date(load_default=None, metadata={"description": "公布日期，默认今天"})


class NewVersionSchema(ma.Schema):
    reason = ma.fields.String(required=True, metadata={"description": "变更理由"})


class RosterOwnerOutSchema(ma.Schema):
    person_id = Integer()
    name = ma.fields.String()
    phone = ma.fields.String(allow_none=True, metadata={"description": "脱敏手机号"})
    kind = ma.fields.String()
    role = ma.fields.String()
    representative = ma.fields.Boolean()
    verified = ma.fields.Boolean()


class RosterUnitOutSchema(ma.Schema):
    id = Integer()
    unit_code = ma.fields.String()
    building = ma.fields.String()
    area = DecimalString()
    area_source = ma.fields.String()
    developer_status = ma.fields.String(allow_none=True)
    owners = ma.fields.List(ma.fields.Nested(RosterOwnerOutSchema))


RosterUnitPageSchema = page_schema(RosterUnitOutSchema)


class ImportOutSchema(ma.Schema):
    units = Integer()
    persons = Integer()


class VoteCreateSchema(ma.Schema):
    roster_id = Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(load_default="")
    notice_days = Integer(load_default=15, validate=ma.validate.Range(min=1, max=90),
                                    metadata={"description": "公告期（天），默认 15"})
    counting_mode = ma.fields.String(load_default="strict", validate=ma.validate.OneOf(sorted(COUNTING_MODES)))
    rules_allow_deemed = ma.fields.Boolean(load_default=False,
                                           metadata={"description": "议事规则是否规定未投票视为弃权/随多数"})


class AttachmentSchema(ma.Schema):
    """A stored image as shown to a viewer entitled to it: its unguessable address (civic.core.media),
    never its store key."""

    url = ma.fields.String(metadata={"description": "图片地址（不可猜测；仅有权查看者可取，每次访问记入审计日志）"})
    thumbnail_url = ma.fields.String()
    width = Integer()
    height = Integer()


class MatterCreateSchema(ma.Schema):
    number = Integer(required=True, validate=ma.validate.Range(min=1, max=9),
                               metadata={"description": "《民法典》第二百七十八条第一款第几项（1-9）"})
    title = ma.fields.String(required=True)
    text = ma.fields.String(load_default="")


class MatterSchema(ma.Schema):
    id = Integer()
    number = Integer()
    special = ma.fields.Method("_special")
    title = ma.fields.String()
    text = ma.fields.String()
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema))

    @ma.pre_dump
    def _links(self, m, **_kw):
        # The attachments' addresses (civic.core.media), never their store keys.
        from civic.voting.service import attachment_links

        if isinstance(m, dict):
            return m
        return {"id": m.id, "number": m.number, "title": m.title, "text": m.text,
                "attachments": attachment_links(m)}

    def _special(self, m):
        return m["number"] in (6, 7, 8)


class VoteSchema(ma.Schema):
    id = Integer()
    roster_id = Integer()
    compound_id = Integer()
    scope_place_id = Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    state = ma.fields.String()
    notice_days = Integer()
    counting_mode = ma.fields.String()
    rules_allow_deemed = ma.fields.Boolean()
    announced_at = ShanghaiDateTime(allow_none=True)
    voting_opens_at = ShanghaiDateTime(allow_none=True)
    opened_at = ShanghaiDateTime(allow_none=True)
    closed_at = ShanghaiDateTime(allow_none=True)
    published_at = ShanghaiDateTime(allow_none=True)


class VoteDetailSchema(ma.Schema):
    vote = ma.fields.Nested(VoteSchema)
    matters = ma.fields.List(ma.fields.Nested(MatterSchema))


class VoteTransitionSchema(ma.Schema):
    action = ma.fields.String(required=True, metadata={"description": "announce / open / close / publish"})
    note = ma.fields.String(load_default=None)


class DeliverySchema(ma.Schema):
    roster_unit_ids = ma.fields.List(Integer(), required=True, validate=ma.validate.Length(min=1, max=20000))
    method = ma.fields.String(required=True, validate=ma.validate.OneOf(DELIVERY_METHODS))
    delivered_at = ma.fields.AwareDateTime(load_default=None)


class DeliveryOutSchema(ma.Schema):
    recorded = Integer()
    already = Integer()


class VerifySchema(ma.Schema):
    phone = ma.fields.String(required=True)
    code = ma.fields.String(load_default=None)


class HeadBriefSchema(ma.Schema):
    head_id = Integer()
    label = ma.fields.String()
    area = DecimalString()
    units = Integer()
    representative = ma.fields.Boolean()


class VerifyOutSchema(ma.Schema):
    sent = ma.fields.Boolean()
    expires_at = ShanghaiDateTime()
    verified = ma.fields.Boolean()
    person_id = Integer()
    name = ma.fields.String()
    phone = ma.fields.String()
    heads = ma.fields.List(ma.fields.Nested(HeadBriefSchema))


_choice = ma.fields.String(validate=ma.validate.OneOf(["agree", "oppose", "abstain", "blank"]))


class BallotInSchema(ma.Schema):
    choices = ma.fields.Dict(keys=ma.fields.String(), values=_choice, required=True,
                             metadata={"description": "{表决事项 id: agree|oppose|abstain}"})
    head_id = Integer(load_default=None)


class BallotOutSchema(ma.Schema):
    ballot_id = Integer()
    head_id = Integer()
    kind = ma.fields.String()
    cast_at = ShanghaiDateTime()
    receipt_code = ma.fields.String(metadata={"description": "回执码，只显示这一次"})


class ChoiceOutSchema(ma.Schema):
    matter_id = Integer()
    number = Integer()
    title = ma.fields.String()
    choice = ma.fields.String(allow_none=True)


class OwnBallotSchema(ma.Schema):
    head_id = Integer()
    kind = ma.fields.String()
    recorded_at = ShanghaiDateTime()
    counted = ma.fields.Boolean()
    withdrawn = ma.fields.Boolean(dump_default=False)
    choices = ma.fields.List(ma.fields.Nested(ChoiceOutSchema))


class OwnBallotsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(OwnBallotSchema))


class ReceiptSchema(OwnBallotSchema):
    vote_id = Integer()
    vote_title = ma.fields.String()


class MatterAttachmentFormSchema(ma.Schema):
    """multipart/form-data: the files ``files`` and/or finished resumable uploads ``upload_ids``."""

    # Documentation only: the files arrive in request.files, which the route reads.
    files = files_field("附件图片（JPEG、PNG、WebP、HEIC；公告、图纸、报价单的照片或扫描件），与反映问题同一照片流程")
    upload_ids = upload_ids_field("附件图片（照片或扫描件）")


_SCAN = ("扫描件图片（JPEG、PNG、WebP、HEIC）：文件字段 scan 或一个 upload_ids（断点续传的 scan 或 photo），"
         "二者选一")


class PaperFormSchema(ma.Schema):
    roster_unit_id = Integer(required=True)
    choices = ma.fields.String(required=True, metadata={"description": 'JSON：{"表决事项 id": "agree"}；未填写的事项记为 blank'})
    signer_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(SIGNER_KINDS), metadata={
        "description": "签署人：owner 业主本人（共有房屋为代表业主）、proxy 已登记的委托代理人、developer 开发建设单位（仅开发商持有的房屋）"})
    signer_person_id = Integer(load_default=None, metadata={"description": "签署选票的业主（名册上的人员 id），signer_kind 为 owner 时必填"})
    # Documentation only: the file arrives in request.files, which the route reads.
    scan = file_field("纸质选票的" + _SCAN)
    upload_ids = upload_ids_field("纸质选票扫描件（代替 scan）", most=1)


class PaperConflictSchema(ma.Schema):
    message = ma.fields.String()
    other_entry_id = Integer()
    other_roster_unit_id = Integer()
    other_unit_code = ma.fields.String()
    other_unit_name = ma.fields.String()
    other_state = ma.fields.String(metadata={"description": "pending 待复核 | confirmed 已复核"})


class PaperOutSchema(ma.Schema):
    id = Integer()
    vote_id = Integer()
    head_id = Integer()
    roster_unit_id = Integer()
    unit_code = ma.fields.String()
    unit_name = ma.fields.String(metadata={"description": "房屋名称，如 滨江花园1号楼101室"})
    entered_at = ShanghaiDateTime()
    confirmed = ma.fields.Boolean()
    confirmed_at = ShanghaiDateTime()
    receipt_code = ma.fields.String()
    withdrawn = ma.fields.Boolean()
    withdrawn_at = ShanghaiDateTime()
    scan_url = ma.fields.String(metadata={"description": "扫描件地址（不可猜测；每次访问记入审计日志）"})
    signer_kind = ma.fields.String(allow_none=True)
    signer_person_id = Integer(allow_none=True)
    proxy_id = Integer(allow_none=True)
    contested = ma.fields.Boolean(metadata={"description": "同一业主另一户的纸质选票所选不同：选票存在争议，不能复核，结果不能公布"})
    conflict = ma.fields.Nested(PaperConflictSchema, allow_none=True)


class WithdrawSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class ProxyFormSchema(ma.Schema):
    principal_person_id = Integer(required=True)
    holder_name = ma.fields.String(required=True)
    holder_phone = ma.fields.String(required=True)
    # Documentation only: the file arrives in request.files, which the route reads.
    scan = file_field("书面委托书的" + _SCAN)
    upload_ids = upload_ids_field("委托书扫描件（代替 scan）", most=1)


class ProxyOutSchema(ma.Schema):
    id = Integer()
    vote_id = Integer()
    head_id = Integer()
    principal_person_id = Integer()
    holder_name = ma.fields.String()
    holder_phone = ma.fields.Function(lambda p: _mask(p.holder_phone))
    registered_at = ShanghaiDateTime()
    scan_url = ma.fields.Function(lambda p: _proxy_scan_url(p),
                                  metadata={"description": "委托书扫描件地址（不可猜测；每次访问记入审计日志）"})


def _proxy_scan_url(p):
    from civic.voting.service import proxy_scan_url

    return proxy_scan_url(p)


def _mask(phone):
    from civic.core.text import mask_phone

    return mask_phone(phone)


class TurnoutItemSchema(ma.Schema):
    head_id = Integer()
    label = ma.fields.String(metadata={"description": "业主名下房屋的名称，如 滨江花园1号楼101室、滨江花园1号楼102室"})
    units = Integer()
    area = DecimalString()
    voted = ma.fields.Boolean()
    channel = ma.fields.String(allow_none=True)


class TurnoutArgs(ma.Schema):
    show = ma.fields.String(load_default="all", validate=ma.validate.OneOf(("all", "voted", "not_voted")))
    offset = Integer(load_default=0, validate=ma.validate.Range(min=0))
    limit = Integer(load_default=None, validate=ma.validate.Range(min=1, max=1000))


class TurnoutSchema(ma.Schema):
    vote_id = Integer()
    state = ma.fields.String()
    heads = Integer()
    voted = Integer()
    count = Integer(metadata={"description": "符合 show 条件的业主人数（分页前）"})
    items = ma.fields.List(ma.fields.Nested(TurnoutItemSchema))


class RecordItemSchema(ma.Schema):
    ballot_id = Integer()
    head_id = Integer()
    head = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    owner = ma.fields.String(allow_none=True)
    cast_by = ma.fields.String(allow_none=True)
    at = ShanghaiDateTime()
    unit_code = ma.fields.String(allow_none=True)
    unit_name = ma.fields.String(allow_none=True, metadata={"description": "房屋名称，如 滨江花园1号楼101室"})
    entered_by = ma.fields.String(allow_none=True)
    confirmed_by = ma.fields.String(allow_none=True)
    confirmed_at = ShanghaiDateTime(allow_none=True)
    counted = ma.fields.Boolean()
    withdrawn_at = ShanghaiDateTime(allow_none=True)
    withdrawn_by = ma.fields.String(allow_none=True)
    withdrawal_reason = ma.fields.String(allow_none=True)
    scan_url = ma.fields.String(allow_none=True)
    signer_kind = ma.fields.String(allow_none=True, metadata={"description": "纸质选票签署人：owner、proxy、developer"})
    signer = ma.fields.String(allow_none=True, metadata={"description": "签署人在名册上的姓名（委托代理时为委托人）"})
    choices = ma.fields.List(ma.fields.Nested(ChoiceOutSchema))


class RecordSchema(ma.Schema):
    vote_id = Integer()
    state = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(RecordItemSchema))


class RosterUnitListArgs(PageArgs):
    pass


class RosterListArgs(PageArgs):
    compound_id = Integer(required=True)


class VoteListArgs(PageArgs):
    compound_id = Integer(load_default=None)
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(
        ["draft", "announced", "open", "closed", "published"]))


RosterPageSchema = page_schema(RosterSchema, "VotingRosterPageSchema")
VotePageSchema = page_schema(VoteSchema, "VotingVotePageSchema")
