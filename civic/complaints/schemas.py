"""Shapes of the complaints API."""

from __future__ import annotations

import marshmallow as ma

from civic.core.pagination import PageArgs
from civic.core.schemas import (  # noqa: F401  (the review shapes are the core's, shared by every blurred kind)
    BlurRegionInSchema,
    BlurRegionSchema,
    BlurReviewSchema,
    Integer,
    ShanghaiDateTime,
)
from civic.core.uploads import upload_ids_field


class IntakeFormSchema(ma.Schema):
    category = ma.fields.String(required=True, metadata={"description": "案件类别（见术语表，如 group_renting）"})
    category_detail = ma.fields.String(validate=ma.validate.Length(max=30), metadata={
        "description": "类别细分（可选），按细分的分派规则派单：noise 可选 construction（建筑施工，城管主办）、"
                       "social_life（社会生活，公安主办）、decoration（室内装修，物业先行）；"
                       "public_space_occupation 可选 street_vending（占道经营，城管主办）"})
    complained_kind = ma.fields.String(validate=ma.validate.Length(max=30), metadata={
        "description": "被投诉的一方（可选，组织类型，如 property_company）：被投诉方不主办该案件，也看不到投诉人"})
    description = ma.fields.String(required=True, validate=ma.validate.Length(max=20000),
                                   metadata={"description": "问题描述，整理空白后不超过 4,000 字"})
    place_id = Integer(metadata={"description": "户、楼或小区的 id"})
    lat = ma.fields.Float(validate=ma.validate.Range(-90, 90))
    lng = ma.fields.Float(validate=ma.validate.Range(-180, 180))
    datum = ma.fields.String(validate=ma.validate.OneOf(["wgs84", "gcj02", "bd09"]),
                             metadata={"description": "坐标系：小程序选点一般为 gcj02"})
    address = ma.fields.String(validate=ma.validate.Length(max=300))
    gps_consent = ma.fields.Boolean(load_default=False,
                                    metadata={"description": "是否同意使用照片中的位置信息（单独同意）"})
    urgent = ma.fields.Boolean(load_default=False, metadata={"description": "正在发生（如正在施工的违法搭建）"})
    # Documentation only: the files arrive in request.files, which the route reads.
    photos = ma.fields.List(ma.fields.Raw(metadata={"type": "string", "format": "binary"}), metadata={
        "description": "1-9 张照片（JPEG、PNG、WebP、HEIC）；照片拍不出问题的类别（photo_optional，"
                       "如 noise 噪声扰民）可以不传照片（0-9 张）"})
    upload_ids = upload_ids_field()


class PhotoFilesSchema(ma.Schema):
    photos = ma.fields.List(ma.fields.Raw(metadata={"type": "string", "format": "binary"}),
                            metadata={"description": "1-9 张照片（JPEG、PNG、WebP、HEIC）"})
    upload_ids = upload_ids_field()


class OrgRefSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    active = ma.fields.Boolean()
    may_see_complainant = ma.fields.Boolean()


class PlaceRefSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.String()
    name = ma.fields.String()


class PhotoRefSchema(ma.Schema):
    stage = ma.fields.String(metadata={"description": "intake | result | support（附议居民上传）"})
    width = Integer()
    height = Integer()
    url = ma.fields.String(allow_none=True, metadata={"description": "None while blur_status is pending or failed"})
    thumbnail_url = ma.fields.String(allow_none=True)
    blur_status = ma.fields.String(metadata={"description": "original | blurred | pending | failed: the "
                                             "original only for the person who took it and the lead party"})


class PhotoFileArgs(ma.Schema):
    size = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["thumb"]))
    rendition = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["blurred"]),
                                 metadata={"description": "blurred: the rendition others see (the lead's review)"})
    v = Integer(load_default=None, metadata={"description": "the rendition's version (cache key), ignored"})


class ReferralSchema(ma.Schema):
    authority = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String(metadata={"description": "competent：主管部门（作出处理决定）；referral：告知；"
                                                     "escalation：主办方逾期未处置后升级移送"})


class ComplainantSchema(ma.Schema):
    display_name = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    masked = ma.fields.Boolean()


class DuplicateSchema(ma.Schema):
    id = Integer()
    status = ma.fields.String()
    created_at = ShanghaiDateTime()
    distance_m = ma.fields.Float(allow_none=True)
    same_building = ma.fields.Boolean()


class ComplaintSchema(ma.Schema):
    id = Integer()
    version = Integer(metadata={"description": "乐观锁版本号，操作时可带上以防并发覆盖"})
    category = ma.fields.String()
    category_detail = ma.fields.String(allow_none=True, metadata={"description": "类别细分（如 noise 的 construction）"})
    complained_kind = ma.fields.String(allow_none=True, metadata={"description": "被投诉的一方（组织类型）"})
    description = ma.fields.String()
    status = ma.fields.String()
    status_name = ma.fields.String()
    place = ma.fields.Nested(PlaceRefSchema, allow_none=True)
    address = ma.fields.String(allow_none=True)
    location_source = ma.fields.String()
    lat = ma.fields.Float(allow_none=True, metadata={"description": "WGS-84；仅工作人员可见"})
    lng = ma.fields.Float(allow_none=True)
    lead = ma.fields.Nested(OrgRefSchema, allow_none=True)
    lead_fallback = ma.fields.Boolean(metadata={"description": "无对应主办方，由居委会兜底"})
    assisting = ma.fields.List(ma.fields.Nested(OrgRefSchema))
    parties = ma.fields.List(ma.fields.Nested(OrgRefSchema))
    referrals = ma.fields.List(ma.fields.Nested(ReferralSchema))
    acknowledge_due = ShanghaiDateTime(allow_none=True)
    resolve_due = ShanghaiDateTime(allow_none=True)
    deadlines_provisional = ma.fields.Boolean(metadata={"description": "期限涉及国务院尚未公布放假安排的年份"})
    overdue = ma.fields.Boolean()
    escalated = ma.fields.Boolean()
    created_at = ShanghaiDateTime()
    acknowledged_at = ShanghaiDateTime(allow_none=True)
    resolved_at = ShanghaiDateTime(allow_none=True)
    closed_at = ShanghaiDateTime(allow_none=True)
    merged_into_id = Integer(allow_none=True)
    rating = Integer(allow_none=True)
    rating_comment = ma.fields.String(allow_none=True)
    photos = ma.fields.List(ma.fields.Nested(PhotoRefSchema))
    complainant = ma.fields.Nested(ComplainantSchema, allow_none=True)
    supporters_count = Integer(metadata={"description": "附议（我也遇到）的居民人数；附议人身份不向任何人显示"})
    your_roles = ma.fields.List(ma.fields.String())
    allowed_actions = ma.fields.List(ma.fields.String())
    possible_duplicates = ma.fields.List(ma.fields.Nested(DuplicateSchema))


class ComplaintSummarySchema(ma.Schema):
    id = Integer()
    category = ma.fields.String()
    status = ma.fields.String()
    overdue = ma.fields.Boolean()
    created_at = ShanghaiDateTime()
    acknowledge_due = ShanghaiDateTime(allow_none=True)
    resolve_due = ShanghaiDateTime(allow_none=True)
    urgent = ma.fields.Boolean()
    description = ma.fields.String(metadata={"description": "问题描述的前 80 字"})
    place_id = Integer(allow_none=True, metadata={
        "description": "地点 id；不能查看投诉人的一方看到的是楼，而不是投诉人自己的户"})
    supporters = Integer(metadata={"description": "附议（我也遇到）的居民人数"})
    supported = ma.fields.Boolean(metadata={
        "description": "仅“我反映的问题”：true 表示本人是附议该案件（而非反映）"})


class ComplaintPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ComplaintSummarySchema))
    next_cursor = ma.fields.String(allow_none=True)


class QueueArgs(PageArgs):
    organisation_id = Integer()
    status = ma.fields.String(validate=ma.validate.OneOf(
        ["submitted", "routed", "acknowledged", "in_progress", "resolved", "closed", "returned", "reopened",
         "merged"]))
    category = ma.fields.String()
    overdue = ma.fields.Boolean()
    place_id = Integer()
    counts = ma.fields.Boolean(load_default=False, metadata={"description": "同时返回各状态数量（稍慢）"})


class QueuePageSchema(ComplaintPageSchema):
    organisation = ma.fields.Nested(OrgRefSchema)
    counts = ma.fields.Dict(keys=ma.fields.String(), values=Integer())


class TransitionSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["acknowledge", "start", "resolve", "return", "reroute", "merge"]))
    note = ma.fields.String(validate=ma.validate.Length(max=2000))
    version = Integer(metadata={"description": "上次看到的 version；不一致则 409"})
    lead_organisation_id = Integer(metadata={"description": "reroute 时的新主办组织"})
    into_id = Integer(metadata={"description": "merge 时并入的案件"})


class MessageInSchema(ma.Schema):
    body = ma.fields.String(required=True, validate=ma.validate.Length(max=10000))
    internal = ma.fields.Boolean(load_default=False)


class MessageSchema(ma.Schema):
    id = Integer()
    author = ma.fields.String(metadata={"description": "居民只看到组织名称"})
    from_resident = ma.fields.Boolean()
    body = ma.fields.String()
    internal = ma.fields.Boolean()
    created_at = ShanghaiDateTime()


class HistorySchema(ma.Schema):
    at = ShanghaiDateTime()
    action = ma.fields.String(metadata={"description": "submit, route, acknowledge, resolve, complainant_revealed…"})
    action_name = ma.fields.String(metadata={"description": "操作的中文名称；合作平台（如 12345 热线）转来的案件为“合作平台转来”"})
    actor = ma.fields.String(metadata={
        "description": "工作人员看到“组织（姓名）”；居民只看到组织名称；合作平台转来的案件为平台名称，如“12345市民服务热线”"})
    channel = ma.fields.String(metadata={"description": "system | resident | partner | staff"})
    note = ma.fields.String(allow_none=True)


class RatingSchema(ma.Schema):
    # strict: 4.5 stars is not 4 (marshmallow would truncate it), and "5" is not a JSON number.
    rating = Integer(required=True, strict=True, validate=ma.validate.Range(1, 5))
    comment = ma.fields.String(validate=ma.validate.Length(max=2000))


class RevealSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class SuggestArgs(ma.Schema):
    """The query of ``GET /complaints/suggest``: a short text only (the URL is logged and bounded)."""

    text = ma.fields.String(required=True, metadata={"description": "草稿文字，整理空白后不超过 300 字；更长请用 POST"})


class SuggestBodySchema(ma.Schema):
    """The body of ``POST /complaints/suggest``: the whole draft, as long as a description may be."""

    text = ma.fields.String(required=True, metadata={"description": "草稿文字（标题与正文），整理空白后不超过 4,000 字"})


class SuggestionSchema(ma.Schema):
    category = ma.fields.String(metadata={"description": "类别 id（GLOSSARY）"})
    name = ma.fields.String(metadata={"description": "类别中文名"})
    score = ma.fields.Float(metadata={"description": "校准后的概率 0..1（三位小数）"})


class SuggestResultSchema(ma.Schema):
    """What ``/complaints/suggest`` answers (civic.complaints.suggest.suggest)."""

    verdict = ma.fields.String(
        validate=ma.validate.OneOf(["likely", "mixed", "unsure", "not_a_complaint"]),
        metadata={"description": "likely：第一个类别很可能；mixed：两个问题（前两个类别）；unsure：不确定；"
                                 "not_a_complaint：看起来不是投诉（感谢、咨询、广告等）"})
    prompt = ma.fields.String(allow_none=True, metadata={"description": "请居民自己选择类别的提示（likely 时为 null）"})
    not_a_complaint = ma.fields.Float(metadata={"description": "不是投诉的校准概率 0..1"})
    suggestions = ma.fields.List(ma.fields.Nested(SuggestionSchema),
                                 metadata={"description": "最多 3 个类别，按概率从高到低；mixed 时正好 2 个"})


class RuleAmountSchema(ma.Schema):
    amount = Integer(required=True)
    unit = ma.fields.String(required=True, validate=ma.validate.OneOf(["hours", "working_days"]))


class BasisSchema(ma.Schema):
    law = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200),
                           metadata={"description": "法规名称"})
    article = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200),
                               metadata={"description": "条款"})
    url = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500),
                           metadata={"description": "原文网址"})
    seen = ma.fields.Boolean(load_default=False, metadata={"description": "条文原文已在该网址读到并核对"})
    quote = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=500),
                             metadata={"description": "条文中本规则所依据的原句（仅 seen 为 true 时有）"})
    note = ma.fields.String(validate=ma.validate.Length(max=1000), metadata={"description": "要点；未核对的写明缺什么"})


class EscalationSchema(ma.Schema):
    lead_kind = ma.fields.String(required=True, metadata={"description": "主办方逾期未处置时改由谁主办"})
    referrals = ma.fields.List(ma.fields.String(), load_default=list,
                               metadata={"description": "同时移送的主管部门（如 fire_authority）"})


class RoutingRuleSchema(ma.Schema):
    category = ma.fields.String(dump_only=True, metadata={"description": "类别，或“类别.细分”（如 noise.construction）"})
    lead_fallbacks = ma.fields.List(ma.fields.String(), load_default=list, metadata={
        "description": "后备主办方（按顺序）：主办方在该地点没有组织，或正是被投诉方时依次选用；"
                       "最后为居委会（村委会）、街镇中心。被投诉方永远不主办"})
    competent_authority = ma.fields.String(allow_none=True, load_default=None,
                                           metadata={"description": "作出处理决定的主管部门（六方之外）"})
    escalation = ma.fields.Nested(EscalationSchema, allow_none=True, load_default=None)
    basis = ma.fields.List(ma.fields.Nested(BasisSchema), load_default=list,
                           metadata={"description": "规则依据：法规、条款、原文网址"})
    district_id = Integer(dump_only=True, allow_none=True)
    source = ma.fields.String(dump_only=True)
    lead_kind = ma.fields.String(required=True)
    assist_kinds = ma.fields.List(ma.fields.String(), load_default=list)
    acknowledge = ma.fields.Nested(RuleAmountSchema, required=True)
    urgent_acknowledge_hours = Integer(allow_none=True, load_default=None)
    resolve = ma.fields.Nested(RuleAmountSchema, required=True)
    reveal_kinds = ma.fields.List(ma.fields.String(), load_default=list, metadata={
        "description": "可查看投诉人（默认脱敏，查看完整信息记入审计日志）的组织类型：六方之一，"
                       "或 village_committee（村民委员会）、village_supervision（村务监督委员会）；"
                       "被投诉方（complained_kind）除外"})
    complained_kind = ma.fields.String(allow_none=True, load_default=None)
    referrals = ma.fields.List(ma.fields.String(), load_default=list)


class DuplicateReasonsSchema(ma.Schema):
    distance_m = ma.fields.Float(allow_none=True, metadata={"description": "两案相距（米，WGS-84）；同在名录选点的两案不算距离"})
    same_building = ma.fields.Boolean()
    photo_distance = Integer(allow_none=True, metadata={"description": "最相近的两张照片感知哈希相差的位数（0 为同一张）"})
    text_similarity = ma.fields.Float(metadata={"description": "描述的字二元组 Jaccard 相似度 0..1"})


class DuplicateCandidateSchema(ma.Schema):
    id = Integer()
    category = ma.fields.String()
    category_name = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    created_at = ShanghaiDateTime()
    mergeable = ma.fields.Boolean(metadata={"description": "可合并（两案均未办结且在同一街道）"})
    reasons = ma.fields.Nested(DuplicateReasonsSchema)
    reason_names = ma.fields.List(ma.fields.String(), metadata={"description": "理由的中文说明"})


class DuplicatesSchema(ma.Schema):
    complaint_id = Integer()
    may_merge = ma.fields.Boolean(metadata={"description": "查看者可以把本案并入其他案件（居委会分拨或街镇督办）"})
    candidates = ma.fields.List(ma.fields.Nested(DuplicateCandidateSchema))


class RoutingArgs(ma.Schema):
    district_id = Integer()


class GpsWithdrawnSchema(ma.Schema):
    cases = Integer(metadata={"description": "删除了照片定位的案件数"})


# --- "me too" and "cases near me" (civic.complaints.service.supporters) ---------------------------

class NearbyArgs(PageArgs):
    lat = ma.fields.Float(validate=ma.validate.Range(-90, 90), metadata={"description": "您所在位置的纬度"})
    lng = ma.fields.Float(validate=ma.validate.Range(-180, 180))
    datum = ma.fields.String(validate=ma.validate.OneOf(["wgs84", "gcj02", "bd09"]),
                             metadata={"description": "坐标系：小程序定位一般为 gcj02"})
    radius_m = Integer(validate=ma.validate.Range(1, 2000),
                       metadata={"description": "半径（米），默认 500，最大 2000；须与坐标一起提供"})


class NearbyPlaceSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.String(metadata={"description": "compound（小区），案件不在任何小区时为 community"})
    name = ma.fields.String()


class NearbyComplaintSchema(ma.Schema):
    id = Integer()
    category = ma.fields.String()
    category_name = ma.fields.String()
    status = ma.fields.String()
    status_name = ma.fields.String()
    title = ma.fields.String(metadata={"description": "类别与小区名，如“噪声扰民（滨江花园）”；不含居民写的文字"})
    place = ma.fields.Nested(NearbyPlaceSchema, allow_none=True)
    created_at = ShanghaiDateTime()
    distance_m = Integer(allow_none=True, metadata={"description": "与所给位置的距离（米）；未给位置时为 null"})
    supporters = Integer(metadata={"description": "附议人数"})
    thumbnail_url = ma.fields.String(allow_none=True, metadata={
        "description": "始终为 null：尚无照片经审核可公开（人脸、门牌、车牌），宁缺毋滥"})
    mine = ma.fields.Boolean(metadata={"description": "本人反映的问题（不能附议）"})
    supported = ma.fields.Boolean(metadata={"description": "本人已附议"})


class NearbyPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NearbyComplaintSchema))
    next_cursor = ma.fields.String(allow_none=True)


class ComplaintSupportFormSchema(ma.Schema):
    lat = ma.fields.Float(validate=ma.validate.Range(-90, 90),
                          metadata={"description": "您所在位置（查看附近问题时的位置）；本小区的案件可不填"})
    lng = ma.fields.Float(validate=ma.validate.Range(-180, 180))
    datum = ma.fields.String(validate=ma.validate.OneOf(["wgs84", "gcj02", "bd09"]))
    # Documentation only: the files arrive in request.files, which the route reads.
    photos = ma.fields.List(ma.fields.Raw(metadata={"type": "string", "format": "binary"}),
                            metadata={"description": "0-3 张照片（JPEG、PNG、WebP、HEIC），与反映问题同一照片流程"})
    upload_ids = upload_ids_field(most=3)


class ComplaintSupportSchema(ma.Schema):
    complaint_id = Integer()
    supported = ma.fields.Boolean()
    since = ShanghaiDateTime(allow_none=True)
    supporters = Integer(metadata={"description": "该案件当前的附议人数"})
    photos = Integer(metadata={"description": "本人为该案件上传的照片数"})
