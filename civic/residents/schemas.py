"""Shapes of the residents' claims and ties."""

from __future__ import annotations

import marshmallow as ma

from civic.core.pagination import PageArgs, page_schema
from civic.core.schemas import Integer, ShanghaiDateTime
from civic.core.uploads import file_field, upload_ids_field
from civic.property.models import RESIDENT_RELATIONS
from civic.residents.models import CLAIM_STATUSES, DECIDED_VIA


class ClaimFormSchema(ma.Schema):
    """multipart/form-data; the document (optional for a tenant) is the file field ``document``."""

    unit_id = Integer(required=True, metadata={"description": "户（地点 id）"})
    relation = ma.fields.String(required=True, validate=ma.validate.OneOf(RESIDENT_RELATIONS))
    claimed_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100),
                                    metadata={"description": "不动产权证或租赁合同上的姓名"})
    # Documentation only: the file arrives in request.files, which the route reads.
    document = file_field("不动产权证或租赁合同的照片或扫描件（租户可不附）；或一个 upload_ids，二者选一")
    upload_ids = upload_ids_field("不动产权证或租赁合同照片（代替 document）", most=1)


class ClaimSchema(ma.Schema):
    id = Integer()
    unit_id = Integer()
    unit_name = ma.fields.String()
    relation = ma.fields.String(validate=ma.validate.OneOf(RESIDENT_RELATIONS))
    claimed_name = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(CLAIM_STATUSES))
    decided_via = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(DECIDED_VIA))
    decided_at = ShanghaiDateTime(allow_none=True)
    refusal_reason = ma.fields.String(allow_none=True)
    created_at = ShanghaiDateTime()
    claimant_phone_masked = ma.fields.String(allow_none=True, metadata={"description": "仅审核人可见（掩码）"})
    document_url = ma.fields.String(allow_none=True,
                                    metadata={"description": "证明材料地址：仅审核人可见、仅待审核时存在，访问记入审计日志"})


class ClaimListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ClaimSchema))


ClaimPageSchema = page_schema(ClaimSchema, "ClaimPageSchema")


class QueueArgs(PageArgs):
    status = ma.fields.String(load_default="pending", validate=ma.validate.OneOf(CLAIM_STATUSES))


class RefuseSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class UnitLinkSchema(ma.Schema):
    id = Integer()
    unit_id = Integer()
    unit_name = ma.fields.String()
    relation = ma.fields.String(validate=ma.validate.OneOf(RESIDENT_RELATIONS))
    since = ShanghaiDateTime()


class UnitLinkListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UnitLinkSchema))


class RegisterImportSchema(ma.Schema):
    links = Integer(metadata={"description": "新建的房屋关联数"})
    residents_created = Integer(metadata={"description": "新建的居民账号数"})
