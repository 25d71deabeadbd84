"""Shapes for the contest and moderation endpoints."""

from __future__ import annotations

import marshmallow as ma

from civic.core.pagination import PageArgs, page_schema
from civic.core.schemas import DecimalString, Integer, ShanghaiDateTime
from civic.core.uploads import files_field, upload_ids_field
from civic.proposals.contests.phases import PHASES

V = ma.validate


class PhaseDatesSchema(ma.Schema):
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)


class PhasesSchema(ma.Schema):
    submission = ma.fields.Nested(PhaseDatesSchema, required=True)
    moderation = ma.fields.Nested(PhaseDatesSchema, required=True)
    support = ma.fields.Nested(PhaseDatesSchema, required=True)
    review = ma.fields.Nested(PhaseDatesSchema, required=True)
    results = ma.fields.Nested(PhaseDatesSchema, required=True)
    implementation = ma.fields.Nested(PhaseDatesSchema, required=True)


class CriterionInSchema(ma.Schema):
    name = ma.fields.String(required=True)
    weight = Integer(required=True, validate=V.Range(min=1, max=100))


class ContestCreateSchema(ma.Schema):
    organisation_id = Integer(required=True)
    theme = ma.fields.String(required=True)
    description = ma.fields.String(load_default=None, allow_none=True)
    categories = ma.fields.List(ma.fields.String(), load_default=list)
    place_ids = ma.fields.List(Integer(), required=True)
    phases = ma.fields.Nested(PhasesSchema, required=True)
    criteria = ma.fields.List(ma.fields.Nested(CriterionInSchema), required=True)
    report_threshold = Integer(load_default=3, validate=V.Range(min=1, max=100))
    support_cap = Integer(load_default=None, allow_none=True, validate=V.Range(min=1))
    support_weight = Integer(load_default=40, validate=V.Range(min=0, max=100))
    jury_weight = Integer(load_default=60, validate=V.Range(min=0, max=100))
    signal_shared_residents = Integer(load_default=3, validate=V.Range(min=2, max=1000), metadata={
        "description": "同一设备或网络支持的不同居民达到该数即提示审核人员（默认 3）"})
    signal_burst_supports = Integer(load_default=5, validate=V.Range(min=2, max=1000), metadata={
        "description": "新注册账号在时间窗内对同一金点子的支持达到该数即提示（默认 5）"})
    signal_burst_minutes = Integer(load_default=60, validate=V.Range(min=1, max=7 * 24 * 60), metadata={
        "description": "集中支持的时间窗，分钟（默认 60）"})
    signal_new_account_days = Integer(load_default=7, validate=V.Range(min=1, max=365), metadata={
        "description": "注册未满该天数的账号视为新账号（默认 7）"})


class ScheduleSchema(ma.Schema):
    phases = ma.fields.Nested(PhasesSchema, required=True)


class CriterionSchema(ma.Schema):
    id = Integer()
    name = ma.fields.String()
    weight = Integer()


class ContestSchema(ma.Schema):
    id = Integer()
    organisation_id = Integer()
    theme = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    categories = ma.fields.List(ma.fields.String())
    place_ids = ma.fields.List(Integer())
    phase = ma.fields.String(metadata={"description": "当前阶段：draft/submission/moderation/support/review/"
                                                      "results/implementation/closed"})
    allowed_actions = ma.fields.List(ma.fields.String())
    phases = ma.fields.Dict()
    criteria = ma.fields.List(ma.fields.Nested(CriterionSchema))
    report_threshold = Integer()
    support_cap = Integer(allow_none=True)
    support_weight = Integer()
    jury_weight = Integer()
    signal_shared_residents = Integer()
    signal_burst_supports = Integer()
    signal_burst_minutes = Integer()
    signal_new_account_days = Integer()
    ranking_published_at = ShanghaiDateTime(allow_none=True)


class JurorInSchema(ma.Schema):
    user_id = Integer(required=True)


class JurorSchema(ma.Schema):
    id = Integer()
    contest_id = Integer()
    user_id = Integer()


class PhotoSchema(ma.Schema):
    display_key = ma.fields.String()
    thumb_key = ma.fields.String()
    width = Integer()
    height = Integer()


class PhotoFormSchema(ma.Schema):
    # Documentation only: the files arrive in request.files, which the route reads.
    photos = files_field("1-9 张照片（JPEG、PNG、WebP、HEIC）")
    upload_ids = upload_ids_field()


class PhotoListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PhotoSchema))


class AttachedPhotoSchema(ma.Schema):
    """A photo of an idea or update, as residents' apps show it (:func:`civic.proposals.contests.service.photo_links`):
    URLs (unguessable; the server checks who may see them), never storage keys; ``blur_status`` says
    which rendition the address serves this viewer, and while the blurred one is being made there is
    no address yet.  ``token`` is what an edit passes to keep the photo."""

    url = ma.fields.String(allow_none=True, metadata={"description": "blur_status 为 pending 或 failed 时为 null"})
    thumbnail_url = ma.fields.String(allow_none=True)
    token = ma.fields.String()
    width = Integer()
    height = Integer()
    blur_status = ma.fields.String(metadata={"description": "original | blurred | pending | failed: the original "
                                                            "(the person who took it), the copy with faces and "
                                                            "number plates blurred, or none yet"})


class IdeaInSchema(ma.Schema):
    title = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    photos = ma.fields.List(ma.fields.String(), load_default=list, metadata={"description": "上传后得到的 display_key"})


class IdeaEditSchema(ma.Schema):
    title = ma.fields.String()
    text = ma.fields.String()
    category = ma.fields.String()
    photos = ma.fields.List(ma.fields.String(), metadata={
        "description": "全部照片：新上传的 display_key，或保留已有照片的 token"})


class IdeaSchema(ma.Schema):
    id = Integer()
    contest_id = Integer()
    author_id = Integer()
    title = ma.fields.String()
    text = ma.fields.String()
    category = ma.fields.String()
    photos = ma.fields.List(ma.fields.Nested(AttachedPhotoSchema))
    state = ma.fields.String()
    version = Integer()
    support_count = Integer()
    created_at = ShanghaiDateTime()
    updated_at = ShanghaiDateTime()


class IdeaListArgs(PageArgs):
    sort = ma.fields.String(load_default="newest", validate=V.OneOf(["newest", "supported", "shuffle"]))
    q = ma.fields.String(load_default=None, metadata={"description": "中文搜索（分词后逐词匹配）"})


class CommentInSchema(ma.Schema):
    body = ma.fields.String(required=True)


class CommentSchema(ma.Schema):
    id = Integer()
    idea_id = Integer()
    author_id = Integer()
    body = ma.fields.String()
    state = ma.fields.String()
    created_at = ShanghaiDateTime()


class SupportResultSchema(ma.Schema):
    idea_id = Integer()
    supported = ma.fields.Boolean()
    changed = ma.fields.Boolean()
    support_count = Integer()


class SupportSchema(ma.Schema):
    id = Integer()
    idea_id = Integer()
    contest_id = Integer()
    created_at = ShanghaiDateTime()


class SignalSchema(ma.Schema):
    kind = ma.fields.String()
    key = ma.fields.String()
    residents = Integer()
    idea_ids = ma.fields.List(Integer())
    events = Integer()
    first_at = ShanghaiDateTime()
    last_at = ShanghaiDateTime()


class SignalListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SignalSchema))


class ScoresInSchema(ma.Schema):
    # Keys are JSON object keys (strings of ids); a score must be a JSON integer: 7.5 is refused, not
    # cut to 7 (marshmallow's lenient Integer would).
    scores = ma.fields.Dict(keys=Integer(), values=Integer(strict=True), required=True,
                            metadata={"description": "{评审标准 id: 0-10 分}"})


class ScoreSchema(ma.Schema):
    criterion_id = Integer()
    value = Integer()


class ScoreListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ScoreSchema))


class RankingArgs(ma.Schema):
    preview = ma.fields.Boolean(load_default=False)


class RankingRowSchema(ma.Schema):
    rank = Integer()
    idea_id = Integer()
    title = ma.fields.String()
    support_count = Integer()
    support_score = DecimalString(metadata={"description": "支持数 / 本次最高支持数"})
    jury_mean = DecimalString(metadata={"description": "评委加权平均分（0-10）"})
    jury_score = DecimalString(metadata={"description": "评委平均分 / 10"})
    final_score = DecimalString()
    jurors = Integer()


class RankingSchema(ma.Schema):
    tie_break = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(RankingRowSchema))


class AdoptSchema(ma.Schema):
    organisation_id = Integer(required=True)
    note = ma.fields.String(load_default=None, allow_none=True)


class StatusInSchema(ma.Schema):
    status = ma.fields.String(required=True)
    note = ma.fields.String(load_default=None, allow_none=True)


class MilestoneInSchema(ma.Schema):
    title = ma.fields.String(required=True)
    due_on = ma.fields.Date(load_default=None, allow_none=True)


class MilestoneUpdateInSchema(ma.Schema):
    progress = Integer(required=True)
    note = ma.fields.String(load_default=None, allow_none=True)
    photos = ma.fields.List(ma.fields.String(), load_default=list)


class MilestoneUpdateSchema(ma.Schema):
    id = Integer()
    progress = Integer()
    note = ma.fields.String(allow_none=True)
    photos = ma.fields.List(ma.fields.Nested(AttachedPhotoSchema))
    created_at = ShanghaiDateTime()


class MilestoneSchema(ma.Schema):
    id = Integer()
    title = ma.fields.String()
    due_on = ma.fields.Date(allow_none=True)
    progress = Integer()
    updates = ma.fields.List(ma.fields.Nested(MilestoneUpdateSchema))


class ImplementationSchema(ma.Schema):
    idea_id = Integer()
    organisation_id = Integer()
    status = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    milestones = ma.fields.List(ma.fields.Nested(MilestoneSchema))



ContestPageSchema = page_schema(ContestSchema)
IdeaPageSchema = page_schema(IdeaSchema)
CommentPageSchema = page_schema(CommentSchema)
SupportPageSchema = page_schema(SupportSchema)
__all__ = ["PHASES"]
