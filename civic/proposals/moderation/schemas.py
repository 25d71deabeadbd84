"""Schemas of the shared moderation endpoints (``/api/v1/moderation``) and of content versions."""

from __future__ import annotations

import marshmallow as ma

from civic.core.pagination import PageArgs, page_schema
from civic.core.schemas import Integer, ShanghaiDateTime

V = ma.validate


class VersionSchema(ma.Schema):
    version = Integer()
    content = ma.fields.Dict()
    editor_id = Integer()
    edit_kind = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    created_at = ShanghaiDateTime()


class VersionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(VersionSchema))


# --- moderation ---------------------------------------------------------------------------------

class ReportInSchema(ma.Schema):
    reason = ma.fields.String(required=True)


class DecisionInSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=V.OneOf(["approve", "hide", "reject"]))
    reason = ma.fields.String(load_default=None, allow_none=True)


class AppealInSchema(ma.Schema):
    text = ma.fields.String(required=True)


class AppealDecisionInSchema(ma.Schema):
    outcome = ma.fields.String(required=True, validate=V.OneOf(["upheld", "overturned"]))
    note = ma.fields.String(load_default=None, allow_none=True)


class ModeratorEditInSchema(ma.Schema):
    content = ma.fields.Dict(required=True)
    reason = ma.fields.String(required=True)


class ModeratedItemSchema(ma.Schema):
    item_type = ma.fields.String()
    item_id = Integer()
    author_id = Integer()
    organisation_id = Integer()
    state = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    decided_by_id = Integer(allow_none=True)
    awaiting_review = ma.fields.Boolean()
    report_count = Integer()


class AppealSchema(ma.Schema):
    id = Integer()
    appellant_id = Integer()
    text = ma.fields.String()
    created_at = ShanghaiDateTime()
    decided_by_id = Integer(allow_none=True)
    outcome = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)


class ReportSchema(ma.Schema):
    reporter_id = Integer()
    reason = ma.fields.String()
    created_at = ShanghaiDateTime()


class DecisionSchema(ma.Schema):
    action = ma.fields.String()
    from_state = ma.fields.String()
    to_state = ma.fields.String()
    actor_id = Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    at = ShanghaiDateTime()


class ModerationDetailSchema(ma.Schema):
    item = ma.fields.Nested(ModeratedItemSchema)
    reports = ma.fields.List(ma.fields.Nested(ReportSchema))
    appeal = ma.fields.Nested(AppealSchema, allow_none=True)
    decisions = ma.fields.List(ma.fields.Nested(DecisionSchema))
    versions = ma.fields.List(ma.fields.Nested(VersionSchema))


class QueueArgs(PageArgs):
    organisation_id = Integer(required=True)


QueueSchema = page_schema(ModeratedItemSchema, name="ModerationQueuePageSchema")
