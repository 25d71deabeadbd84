"""Shapes of the partner-key admin API (the Open311 endpoints themselves speak GeoReport v2)."""

from __future__ import annotations

import marshmallow as ma

from civic.core.schemas import Integer, ShanghaiDateTime


class PartnerKeyInSchema(ma.Schema):
    partner_name = ma.fields.String(required=True, metadata={"description": "合作机构名称，如 “12345市民服务热线”"})
    media_hosts = ma.fields.List(ma.fields.String(), load_default=list,
                                 metadata={"description": "允许获取 media_url 的主机名"})


class PartnerKeySchema(ma.Schema):
    id = Integer()
    partner_name = ma.fields.String()
    key_prefix = ma.fields.String(metadata={"description": "密钥前 12 位，用于辨认"})
    media_hosts = ma.fields.List(ma.fields.String())
    created_at = ShanghaiDateTime()
    revoked_at = ShanghaiDateTime(allow_none=True)


class IssuedKeySchema(PartnerKeySchema):
    api_key = ma.fields.String(metadata={"description": "完整密钥：仅此一次显示，civic 只保存其哈希"})
