"""Shapes for the deliberation endpoints (路管会 / 弄管会)."""

from __future__ import annotations

import marshmallow as ma

from civic.core.schemas import Integer, ShanghaiDateTime
from civic.core.uploads import files_field, upload_ids_field
from civic.proposals.deliberation.models import COMMITTEE_KINDS, MEMBER_ROLES, SPEAKS_FOR, VOTE_CHOICES

V = ma.validate


class DelibRulesInSchema(ma.Schema):
    quorum = ma.fields.String(metadata={"description": "分数，如 \"1/2\""})
    quorum_strict = ma.fields.Boolean(metadata={"description": "true: 须超过；false: 达到即可"})
    majority = ma.fields.String()
    majority_strict = ma.fields.Boolean()
    majority_base = ma.fields.String(validate=V.OneOf(("present", "members")))
    abstentions = ma.fields.String(validate=V.OneOf(("present_not_for", "excluded")))
    notice_days = Integer(validate=V.Range(min=0, max=60))
    cosign_required = Integer(validate=V.Range(min=0, max=10000))
    cosign_days = Integer(validate=V.Range(min=1, max=365))
    publish_days = Integer(validate=V.Range(min=0, max=3650))


class DelibRulesSchema(DelibRulesInSchema):
    id = Integer()
    version = Integer()
    created_at = ShanghaiDateTime()


class DelibCommitteeInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=V.OneOf(COMMITTEE_KINDS))
    name = ma.fields.String(required=True)
    place_id = Integer(required=True)
    organisation_id = Integer(required=True)
    rules = ma.fields.Nested(DelibRulesInSchema, load_default=dict)


class DelibCommitteeSchema(ma.Schema):
    id = Integer()
    kind = ma.fields.String()
    name = ma.fields.String()
    place_id = Integer()
    organisation_id = Integer()


class DelibMemberInSchema(ma.Schema):
    user_id = Integer(required=True)
    role = ma.fields.String(required=True, validate=V.OneOf(MEMBER_ROLES))
    speaks_for = ma.fields.String(required=True, validate=V.OneOf(SPEAKS_FOR))
    term_start = ma.fields.Date(required=True)
    term_end = ma.fields.Date(load_default=None, allow_none=True)


class DelibMemberSchema(DelibMemberInSchema):
    id = Integer()


class DelibMemberListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DelibMemberSchema))


class DelibTopicInSchema(ma.Schema):
    title = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    changes_use = ma.fields.Boolean(load_default=False, metadata={"description": "改变场地用途"})
    common_part = ma.fields.Boolean(load_default=False, metadata={"description": "涉及业主共有部分"})


class DelibTopicSchema(ma.Schema):
    id = Integer()
    committee_id = Integer()
    title = ma.fields.String()
    text = ma.fields.String()
    raised_as = ma.fields.String()
    state = ma.fields.String()
    decline_reason = ma.fields.String(allow_none=True)
    cosign_count = Integer()
    cosign_until = ShanghaiDateTime(allow_none=True)
    needs_owners_vote = ma.fields.Boolean()
    moderation_state = ma.fields.String(metadata={"description": "approved，或 hidden/rejected（仅作者和审核人员可见）"})
    created_at = ShanghaiDateTime()


class DelibReasonSchema(ma.Schema):
    reason = ma.fields.String(required=True)


class DelibNoteSchema(ma.Schema):
    note = ma.fields.String(required=True)


class DelibReferralSchema(ma.Schema):
    id = Integer()
    topic_id = Integer()
    compound_id = Integer(allow_none=True)
    note = ma.fields.String()
    vote_id = Integer(allow_none=True)


class DelibCommentInSchema(ma.Schema):
    body = ma.fields.String(required=True)


class DelibCommentSchema(ma.Schema):
    id = Integer()
    topic_id = Integer()
    body = ma.fields.String()
    state = ma.fields.String()
    created_at = ShanghaiDateTime()


class DelibCommentListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DelibCommentSchema))


class DelibMeetingInSchema(ma.Schema):
    title = ma.fields.String(required=True)
    starts_at = ma.fields.AwareDateTime(required=True)
    location = ma.fields.String(load_default="")
    topic_ids = ma.fields.List(Integer(), required=True)


class DelibMeetingSchema(ma.Schema):
    id = Integer()
    committee_id = Integer()
    title = ma.fields.String()
    location = ma.fields.String()
    starts_at = ShanghaiDateTime()
    notice_sent_at = ShanghaiDateTime()
    minutes = ma.fields.String(allow_none=True)
    agenda = ma.fields.List(ma.fields.Nested(DelibTopicSchema))
    quorum = ma.fields.Dict()
    checkin_code = ma.fields.String(metadata={"description": "仅主任、秘书可见"})


class DelibCheckInSchema(ma.Schema):
    code = ma.fields.String(required=True)


class DelibMarkSchema(ma.Schema):
    user_id = Integer(required=True)


class DelibAttendanceSchema(ma.Schema):
    id = Integer()
    user_id = Integer()
    method = ma.fields.String()


class DelibMinutesSchema(ma.Schema):
    minutes = ma.fields.String(required=True)


class DelibMotionInSchema(ma.Schema):
    topic_id = Integer(required=True)
    text = ma.fields.String(required=True)


class DelibMotionSchema(ma.Schema):
    id = Integer()
    meeting_id = Integer()
    topic_id = Integer()
    text = ma.fields.String()
    state = ma.fields.String()
    rule_set_version = Integer()
    result = ma.fields.Dict(allow_none=True)
    passed = ma.fields.Boolean(allow_none=True)
    closed_at = ShanghaiDateTime(allow_none=True)
    published_until = ShanghaiDateTime(allow_none=True)
    resolution_id = Integer(allow_none=True)


class DelibMotionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DelibMotionSchema))


class DelibVoteInSchema(ma.Schema):
    choice = ma.fields.String(required=True, validate=V.OneOf(VOTE_CHOICES))


class DelibVoteSchema(ma.Schema):
    id = Integer()
    motion_id = Integer()
    choice = ma.fields.String()


class DelibCloseMotionSchema(ma.Schema):
    resolution_text = ma.fields.String(load_default=None, allow_none=True)


class DelibActionItemInSchema(ma.Schema):
    title = ma.fields.String(required=True)
    organisation_id = Integer(required=True)
    due_on = ma.fields.Date(required=True)


class DelibPhotoSchema(ma.Schema):
    """A progress or closing photo as shown to whoever may see the topic: its unguessable address
    (civic.core.media), never its store key; ``blur_status`` says which rendition the address serves
    this viewer, and while the blurred one is being made there is no address yet."""

    url = ma.fields.String(allow_none=True, metadata={
        "description": "照片地址（不可猜测；访问记入审计日志）；blur_status 为 pending 或 failed 时为 null"})
    thumbnail_url = ma.fields.String(allow_none=True)
    width = Integer()
    height = Integer()
    blur_status = ma.fields.String(metadata={"description": "original | blurred | pending | failed: the "
                                                            "original (the responsible organisation), the copy "
                                                            "with faces and number plates blurred, or none yet"})


class DelibActionItemSchema(ma.Schema):
    """An action item (:func:`civic.proposals.deliberation.service.action_item_view`)."""

    id = Integer()
    resolution_id = Integer()
    title = ma.fields.String()
    organisation_id = Integer()
    due_on = ma.fields.Date()
    state = ma.fields.String()
    overdue = ma.fields.Boolean()
    closed_at = ShanghaiDateTime(allow_none=True)
    evidence_note = ma.fields.String(allow_none=True)
    evidence_photos = ma.fields.List(ma.fields.Nested(DelibPhotoSchema))


class DelibActionUpdateSchema(ma.Schema):
    """A progress update (:func:`civic.proposals.deliberation.service.action_update_view`)."""

    id = Integer()
    note = ma.fields.String()
    photos = ma.fields.List(ma.fields.Nested(DelibPhotoSchema))
    created_at = ShanghaiDateTime()


class DelibNoteFormSchema(ma.Schema):
    note = ma.fields.String(load_default="")
    # Documentation only: the files arrive in request.files, which the route reads.
    photos = files_field("0-9 张照片（JPEG、PNG、WebP、HEIC），与反映问题同一照片流程")
    upload_ids = upload_ids_field()
